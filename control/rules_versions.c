/* sluicectl rules list | diff A B | rollback [ID]: the versions sluice-control keeps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "rpc.h"
#include "rules.h"

static void names(const json_t *list, char *out, size_t len)
{
	size_t i, k = 0;
	json_t *v;
	out[0] = 0;
	json_array_foreach(list, i, v)
		if (k < len)
			k += (size_t)snprintf(out + k, len - k, "%s%s", i ? "," : "", json_string_value(v));
}

int rules_list(int argc, char **argv)
{
	bool json = argc == 1 && strcmp(argv[0], "--json") == 0;
	if (argc > 0 && !json) {
		fprintf(stderr, "usage: sluicectl rules list [--json]\n");
		return CLIENT_USAGE;
	}
	int status;
	json_t *req = client_request("rules.list");
	json_t *a = client_call("rules list", req, NULL, 0, 30000, NULL, NULL, &status);
	json_decref(req);
	if (!a)
		return status;
	if (!json_is_true(json_object_get(a, "ok"))) {
		status = client_fail("rules list", a);
		json_decref(a);
		return status;
	}
	json_t *versions = json_object_get(a, "versions");
	if (json) {
		json_dumpf(versions, stdout, JSON_INDENT(2));
		printf("\n");
	} else {
		printf("%-5s %-24s %-10s %6s %-16s %-14s %-14s %s\n", "ID", "TIME", "AUTHOR", "RULES", "DIGEST",
		       "WANTED BY", "RUNNING ON", "COMMENT");
		size_t i;
		json_t *m;
		json_array_foreach(versions, i, m) {
			char wanted[256], running[256];
			names(json_object_get(m, "wanted_by"), wanted, sizeof wanted);
			names(json_object_get(m, "running_on"), running, sizeof running);
			printf("%-5lld %-24s %-10s %6lld %-16.16s %-14s %-14s %s\n",
			       (long long)json_integer_value(json_object_get(m, "id")),
			       json_string_value(json_object_get(m, "time")),
			       json_string_value(json_object_get(m, "author")),
			       (long long)json_integer_value(json_object_get(m, "rules")),
			       json_string_value(json_object_get(m, "digest")), wanted[0] ? wanted : "-",
			       running[0] ? running : "-", json_string_value(json_object_get(m, "comment")));
		}
	}
	json_decref(a);
	return CLIENT_OK;
}

static bool version_arg(const char *s, long long *v)
{
	char *end;
	*v = strtoll(s, &end, 10);
	return *s && !*end && *v > 0;
}

int rules_diff(int argc, char **argv)
{
	long long va, vb;
	if (argc != 2 || !version_arg(argv[0], &va) || !version_arg(argv[1], &vb)) {
		fprintf(stderr, "usage: sluicectl rules diff A B   (version numbers, see rules list)\n");
		return CLIENT_USAGE;
	}
	int status;
	uint8_t *body = NULL;
	size_t blen = 0;
	json_t *req = client_request("rules.diff");
	json_object_set_new(req, "a", json_integer(va));
	json_object_set_new(req, "b", json_integer(vb));
	json_t *a = client_call("rules diff", req, NULL, 0, 30000, &body, &blen, &status);
	json_decref(req);
	if (!a)
		return status;
	if (!json_is_true(json_object_get(a, "ok")))
		status = client_fail("rules diff", a);
	else if (blen == 0)
		printf("versions %lld and %lld have the same files\n", va, vb), status = CLIENT_OK;
	else
		status = fwrite(body, 1, blen, stdout) == blen ? CLIENT_OK : CLIENT_FAILED;
	free(body);
	json_decref(a);
	return status;
}

int rules_rollback(int argc, char **argv)
{
	json_t *req = client_request("rules.rollback");
	long long id;
	int timeout_s = 600;
	for (int i = 0; i < argc; i++) {
		if (client_change_opt(req, argc, argv, &i, &timeout_s))
			continue;
		else if (!json_object_get(req, "id") && version_arg(argv[i], &id))
			json_object_set_new(req, "id", json_integer(id));
		else {
			fprintf(stderr, "usage: sluicectl rules rollback [ID] [--comment TEXT] [--dataplane NAME]...\n"
			                "  without ID: back to the version before the one running now\n");
			json_decref(req);
			return CLIENT_USAGE;
		}
	}
	int status;
	json_t *a = client_call("rules rollback", req, NULL, 0, timeout_s > 0 ? timeout_s * 1000 : 600000,
	                        NULL, NULL, &status);
	json_decref(req);
	if (!a)
		return status;
	long long to = (long long)json_integer_value(json_object_get(a, "version"));
	json_t *results = json_object_get(a, "dataplanes");
	if (results) {
		json_t *from = json_object_get(a, "from");
		if (json_is_integer(from))
			printf("rollback from version %lld to %lld\n", (long long)json_integer_value(from), to);
		else
			printf("rollback to version %lld\n", to);
		client_print_results(results, to);
	}
	status = client_change_status(a);
	if (status == CLIENT_FAILED)
		client_fail("rules rollback", a);
	json_decref(a);
	return status;
}
