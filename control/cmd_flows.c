/* sluicectl flows [-n N] [--dataplane NAME]...: the dataplanes' top flows, from their
 * `flows` op. sluice-dp does not serve that op yet (docs/control.md): this command then
 * says "not built" for each dataplane rather than print anything made up. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "commands.h"

int cmd_flows(int argc, char **argv)
{
	json_t *req = client_request("flows");
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-n") == 0 && i + 1 < argc && atoi(argv[i + 1]) > 0)
			json_object_set_new(req, "n", json_integer(atoi(argv[++i])));
		else if (!client_dataplane_opt(req, argc, argv, &i)) {
			fprintf(stderr, "usage: sluicectl flows [-n N] [--dataplane NAME]...\n");
			json_decref(req);
			return CLIENT_USAGE;
		}
	}
	int status;
	json_t *a = client_query("flows", req, NULL, NULL, &status);
	if (!a)
		return status;
	const char *dp;
	json_t *v;
	json_object_foreach(json_object_get(a, "dataplanes"), dp, v) {
		printf("%s\n", dp);
		json_dumpf(v, stdout, JSON_INDENT(2));
		printf("\n");
	}
	status = CLIENT_OK;
	json_object_foreach(json_object_get(a, "errors"), dp, v) {
		const char *e = json_string_value(v);
		if (e && strstr(e, "unknown op"))
			fprintf(stderr, "sluicectl flows: dataplane %s: not built: this sluice-dp has no 'flows' "
			        "operation (it answered: %s)\n", dp, e);
		else
			fprintf(stderr, "sluicectl flows: dataplane %s: %s\n", dp, e ? e : "?");
		status = CLIENT_FAILED;
	}
	json_decref(a);
	return status;
}
