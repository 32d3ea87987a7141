/* sluicectl events [-n N] [--dataplane NAME]...: the last events of each dataplane's event
 * log (eve.json-style JSON lines, docs/control.md), read by sluice-control from the path
 * the dataplane's hello names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "commands.h"

int cmd_events(int argc, char **argv)
{
	json_t *req = client_request("events");
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-n") == 0 && i + 1 < argc && atoi(argv[i + 1]) > 0)
			json_object_set_new(req, "n", json_integer(atoi(argv[++i])));
		else if (!client_dataplane_opt(req, argc, argv, &i)) {
			fprintf(stderr, "usage: sluicectl events [-n N] [--dataplane NAME]...\n");
			json_decref(req);
			return CLIENT_USAGE;
		}
	}
	int status;
	uint8_t *body = NULL;
	size_t blen = 0;
	json_t *a = client_query("events", req, &body, &blen, &status);
	if (!a)
		return status;
	if (blen && fwrite(body, 1, blen, stdout) != blen)
		status = CLIENT_FAILED;
	else
		status = client_print_errors("events", a) ? CLIENT_FAILED : CLIENT_OK;
	free(body);
	json_decref(a);
	return status;
}
