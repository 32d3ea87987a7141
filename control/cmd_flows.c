/* sluicectl flows [-n N] [--dataplane NAME]...: each dataplane's top flows by bytes, from
 * its `flows` op (listed by the workers between bursts). A sluice-dp too old to serve the
 * op is named as such ("not built" there) rather than shown with anything made up. */
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
		printf("%s\n  %-40s %-40s %-8s %12s %12s %9s %9s %7s %6s\n", dp, "CLIENT", "SERVER", "STATE",
		       "BYTES IN", "BYTES OUT", "AGE s", "IDLE s", "BUNDLE", "WORKER");
		size_t i;
		json_t *f;
		json_array_foreach(json_object_get(v, "flows"), i, f)
			printf("  %-40s %-40s %-8s %12lld %12lld %9.1f %9.1f %7lld %6lld\n",
			       json_string_value(json_object_get(f, "client")),
			       json_string_value(json_object_get(f, "server")),
			       json_string_value(json_object_get(f, "state")),
			       (long long)json_integer_value(json_object_get(f, "bytes_in")),
			       (long long)json_integer_value(json_object_get(f, "bytes_out")),
			       (double)json_integer_value(json_object_get(f, "age_ms")) / 1000.0,
			       (double)json_integer_value(json_object_get(f, "idle_ms")) / 1000.0,
			       (long long)json_integer_value(json_object_get(f, "bundle")),
			       (long long)json_integer_value(json_object_get(f, "worker")));
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
