/* sluicectl rules push FILE [--comment TEXT] [--dataplane NAME]... [--timeout SECONDS]:
 * send the rules file and every list it names to sluice-control, which compiles, signs,
 * keeps and pushes it (docs/control.md). */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "rpc.h"
#include "rules.h"
#include "sluice/policy.h"

/* The rules file travels as "policy.rules" whatever it is called here, so versions
 * compare file by file and their digests do not depend on a local name. */
#define MAIN_NAME "policy.rules"

struct gathered {
	json_t *files;           /* [{name, size}] */
	struct sl_strbuf body;   /* their bytes, in that order */
};

static void gather(void *ctx, const char *name, const uint8_t *data, size_t len)
{
	struct gathered *g = ctx;
	json_t *f = json_object();
	/* lists go by the names the policy gives them */
	json_object_set_new(f, "name", rpc_str(json_array_size(g->files) == 0 ? MAIN_NAME : name));
	json_object_set_new(f, "size", json_integer((json_int_t)len));
	json_array_append_new(g->files, f);
	sl_strbuf_put(&g->body, data, len);
}

/* A diagnostic from sluice-control names files as sent; show them where they are here. */
static void print_diag(const json_t *diag, const char *policy, const char *dir)
{
	const char *file = json_string_value(json_object_get(diag, "file"));
	char where[8192];
	if (file && strcmp(file, MAIN_NAME) == 0)
		snprintf(where, sizeof where, "%s", policy);
	else
		snprintf(where, sizeof where, "%s/%s", dir, file ? file : "?");
	json_int_t line = json_integer_value(json_object_get(diag, "line"));
	json_int_t col = json_integer_value(json_object_get(diag, "col"));
	const char *msg = json_string_value(json_object_get(diag, "message"));
	if (line)
		fprintf(stderr, "%s:%lld:%lld: %s\n", where, (long long)line, (long long)col, msg ? msg : "");
	else
		fprintf(stderr, "%s: %s\n", where, msg ? msg : "");
}

static int usage(void)
{
	fprintf(stderr, "usage: sluicectl rules push POLICY [--comment TEXT] [--dataplane NAME]... "
	                "[--timeout SECONDS]\n");
	return CLIENT_USAGE;
}

int rules_push(int argc, char **argv)
{
	const char *file = NULL;
	int timeout_s = 600;
	json_t *req = client_request("rules.push");
	for (int i = 0; i < argc; i++) {
		if (client_change_opt(req, argc, argv, &i, &timeout_s))
			continue;
		else if (!file && argv[i][0] != '-')
			file = argv[i];
		else
			return json_decref(req), usage();
	}
	if (!file || timeout_s <= 0)
		return json_decref(req), usage();
	char *dircopy = strdup(file);
	if (!dircopy)
		abort();
	const char *dir = dirname(dircopy);
	struct gathered g = {.files = json_array()};
	sl_strbuf_init(&g.body);
	/* what it names is read even when it does not parse here: sluice-control, which
	 * compiles it, says what is wrong */
	struct sl_policy_diag d;
	sl_policy_sources(file, gather, &g, &d);
	int status = CLIENT_FAILED;
	json_t *a = NULL;
	if (json_array_size(g.files) == 0) {
		rules_print_diag(&d);
		goto out;
	}
	if (sl_strbuf_failed(&g.body)) {
		fprintf(stderr, "sluicectl rules push: out of memory\n");
		goto out;
	}
	json_object_set_new(req, "files", json_incref(g.files));
	a = client_call("rules push", req, g.body.s, g.body.len, timeout_s * 1000, NULL, NULL, &status);
	if (!a)
		goto out;
	json_t *diag = json_object_get(a, "diag");
	if (diag) {
		print_diag(diag, file, dir);
		fprintf(stderr, "sluicectl rules push: refused: the policy does not compile; the running version stays\n");
		status = CLIENT_FAILED;
		goto out;
	}
	json_t *meta = json_object_get(a, "meta");
	long long id = (long long)json_integer_value(json_object_get(a, "version"));
	if (meta)
		printf("version %lld: %lld rules, digest %.16s, compiled in %.2f s\n", id,
		       (long long)json_integer_value(json_object_get(meta, "rules")),
		       json_string_value(json_object_get(meta, "digest")),
		       json_number_value(json_object_get(meta, "compile_seconds")));
	client_print_results(json_object_get(a, "dataplanes"), id);
	status = client_change_status(a);
	if (status == CLIENT_FAILED)
		client_fail("rules push", a);
out:
	json_decref(a);
	json_decref(req);
	json_decref(g.files);
	sl_strbuf_free(&g.body);
	free(dircopy);
	return status;
}
