/* sluicectl top rules [-n N] [--dataplane NAME]...: the rules that fired most, over the
 * dataplanes' counters since they started. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "commands.h"

int cmd_top(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "sources") == 0)
		return cmd_top_sources(argc, argv);
	json_t *req = client_request("rules.top");
	bool ok = argc >= 2 && strcmp(argv[1], "rules") == 0;
	for (int i = 2; ok && i < argc; i++) {
		if (strcmp(argv[i], "-n") == 0 && i + 1 < argc && atoi(argv[i + 1]) > 0)
			json_object_set_new(req, "n", json_integer(atoi(argv[++i])));
		else
			ok = client_dataplane_opt(req, argc, argv, &i);
	}
	if (!ok) {
		fprintf(stderr, "usage: sluicectl top rules [-n N] [--dataplane NAME]...\n"
		        "       sluicectl top sources [-n N] [--by KEY] [--net] [--dataplane NAME]...\n");
		json_decref(req);
		return CLIENT_USAGE;
	}
	int status;
	json_t *a = client_query("top rules", req, NULL, NULL, &status);
	if (!a)
		return status;
	printf("%-32s %10s  %s\n", "RULE", "HITS", "BY DATAPLANE");
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(a, "rules"), i, r) {
		printf("%-32s %10lld ", json_string_value(json_object_get(r, "rule")),
		       (long long)json_integer_value(json_object_get(r, "hits")));
		const char *dp;
		json_t *n;
		json_object_foreach(json_object_get(r, "dataplanes"), dp, n)
			printf(" %s %lld", dp, (long long)json_integer_value(n));
		printf("\n");
	}
	status = client_print_errors("top rules", a) ? CLIENT_FAILED : CLIENT_OK;
	json_decref(a);
	return status;
}
