/* sluicectl knob set starttls allow|strip|block [--dataplane NAME]...: a runtime knob on
 * the running dataplanes (new flows); sluice-control keeps it and sets it again on a
 * dataplane that restarts. */
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "commands.h"
#include "rpc.h"

int cmd_knob(int argc, char **argv)
{
	json_t *req = client_request("knob.set");
	bool ok = argc >= 4 && strcmp(argv[1], "set") == 0 && strcmp(argv[2], "starttls") == 0;
	if (ok)
		json_object_set_new(req, "starttls", rpc_str(argv[3]));
	for (int i = 4; ok && i < argc; i++)
		ok = client_dataplane_opt(req, argc, argv, &i);
	if (!ok) {
		fprintf(stderr, "usage: sluicectl knob set starttls allow|strip|block [--dataplane NAME]...\n");
		json_decref(req);
		return CLIENT_USAGE;
	}
	int status;
	json_t *a = client_call("knob set", req, NULL, 0, 120000, NULL, NULL, &status);
	json_decref(req);
	if (!a)
		return status;
	json_t *results = json_object_get(a, "dataplanes");
	if (results) {
		printf("starttls %s\n", argv[3]);
		client_print_results(results, -1);
	}
	status = client_change_status(a);
	if (status == CLIENT_FAILED)
		client_fail("knob set", a);
	json_decref(a);
	return status;
}
