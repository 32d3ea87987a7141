/* sluicectl stats [--json] [--dataplane NAME]...: each dataplane's counters (its stats
 * op: the /sluice/stats JSON, docs/dataplane.md), as a summary or whole. */
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "commands.h"

static long long num(const json_t *o, const char *a, const char *b)
{
	const json_t *v = json_object_get(o, a);
	if (b)
		v = json_object_get(v, b);
	return (long long)json_integer_value(v);
}

/* The non-zero members of one object of counters, "name n, name n". */
static void nonzero(const char *label, const json_t *o)
{
	const char *k;
	json_t *v;
	bool first = true;
	json_object_foreach((json_t *)o, k, v)
		if (json_integer_value(v)) {
			printf("%s%s %lld", first ? label : ", ", k, (long long)json_integer_value(v));
			first = false;
		}
	if (!first)
		printf("\n");
}

static void summary(const char *dp, const json_t *s)
{
	printf("%s\n", dp);
	const char *role;
	json_t *p;
	json_object_foreach(json_object_get(s, "ports"), role, p)
		printf("  port %-8s rx %lld packets %lld bytes, tx %lld packets %lld bytes\n", role,
		       num(p, "rx_packets", NULL), num(p, "rx_bytes", NULL), num(p, "tx_packets", NULL),
		       num(p, "tx_bytes", NULL));
	printf("  flows          %lld active, %lld created, %lld smtp\n", num(s, "flows", "active"),
	       num(s, "flows", "created"), num(s, "flows", "smtp_detected"));
	printf("  messages       %lld (rejected %lld, quarantined %lld)\n", num(s, "messages", "total"),
	       num(s, "messages", "enforced_reject"), num(s, "messages", "enforced_quarantine"));
	printf("  journal        %lld kept, %lld failed, %lld dropped (sink queue full), %lld queued now\n",
	       num(s, "messages", "journal_ok"), num(s, "messages", "journal_failed"),
	       num(s, "messages", "journal_overflow"), num(s, "messages", "journal_backlog"));
	nonzero("  verdicts       ", json_object_get(s, "verdicts"));
	nonzero("  drops          ", json_object_get(s, "drops"));
	nonzero("  starttls       ", json_object_get(s, "starttls"));
}

int cmd_stats(int argc, char **argv)
{
	json_t *req = client_request("stats");
	bool json = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (!client_dataplane_opt(req, argc, argv, &i)) {
			fprintf(stderr, "usage: sluicectl stats [--json] [--dataplane NAME]...\n");
			json_decref(req);
			return CLIENT_USAGE;
		}
	}
	int status;
	json_t *a = client_query("stats", req, NULL, NULL, &status);
	if (!a)
		return status;
	const char *dp;
	json_t *s;
	if (json) {
		json_dumpf(json_object_get(a, "dataplanes"), stdout, JSON_INDENT(2));
		printf("\n");
	} else {
		json_object_foreach(json_object_get(a, "dataplanes"), dp, s)
			summary(dp, s);
	}
	status = client_print_errors("stats", a) ? CLIENT_FAILED : CLIENT_OK;
	json_decref(a);
	return status;
}
