/* The dataplanes' connection-level protection (docs/protection.md) through sluice-control:
 *   sluicectl block|allow add PREFIX... [--for DURATION] [--comment TEXT] [--dataplane NAME]...
 *   sluicectl block|allow del PREFIX... [--dataplane NAME]...
 *   sluicectl block|allow list [--dataplane NAME]...
 *   sluicectl bans [del SOURCE...] [--dataplane NAME]...
 *   sluicectl top sources [-n N] [--by KEY] [--net] [--dataplane NAME]...   (cmd_top.c)
 * A change goes to every dataplane at once (the next SYN meets it); reads are shown per
 * dataplane. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "commands.h"
#include "rpc.h"

/* "90", "90s", "30m", "1h", "2d" in seconds; -1 when it is none of these. */
static long long duration(const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 10);
	if (end == s || v < 0)
		return -1;
	long long unit = !*end ? 1 : strcmp(end, "s") == 0 ? 1 : strcmp(end, "m") == 0 ? 60 :
	                 strcmp(end, "h") == 0 ? 3600 : strcmp(end, "d") == 0 ? 86400 : -1;
	return unit < 0 || v > (1ll << 40) ? -1 : v * unit;
}

static void when(json_t *v, char *out, size_t len)
{
	if (!json_is_integer(v)) {
		snprintf(out, len, "never");
		return;
	}
	time_t t = (time_t)json_integer_value(v);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int list_show(const char *what, json_t *req)
{
	int status;
	json_t *a = client_query(what, req, NULL, NULL, &status);
	if (!a)
		return status;
	const char *dp;
	json_t *v;
	json_object_foreach(json_object_get(a, "dataplanes"), dp, v) {
		printf("%s (lists version %lld, %lld of at most %lld prefixes)\n  %-43s %-6s %-21s %s\n", dp,
		       (long long)json_integer_value(json_object_get(v, "version")),
		       (long long)json_integer_value(json_object_get(v, "count")),
		       (long long)json_integer_value(json_object_get(v, "max")), "PREFIX", "LIST", "EXPIRES",
		       "COMMENT");
		size_t i;
		json_t *e;
		json_array_foreach(json_object_get(v, "entries"), i, e) {
			char exp[32];
			when(json_object_get(e, "expires"), exp, sizeof exp);
			printf("  %-43s %-6s %-21s %s\n", json_string_value(json_object_get(e, "prefix")),
			       json_string_value(json_object_get(e, "list")), exp,
			       json_string_value(json_object_get(e, "comment")));
		}
	}
	status = client_print_errors(what, a) ? CLIENT_FAILED : CLIENT_OK;
	json_decref(a);
	return status;
}

/* block|allow add|del|list ... */
int cmd_list(int argc, char **argv)
{
	const char *list = argv[0];
	const char *sub = argc >= 2 ? argv[1] : "";
	bool add = strcmp(sub, "add") == 0, del = strcmp(sub, "del") == 0, show = strcmp(sub, "list") == 0;
	char what[32];
	snprintf(what, sizeof what, "%s %s", list, sub);
	json_t *req = client_request(add ? "list.add" : del ? "list.del" : "list.get");
	json_object_set_new(req, "list", rpc_str(list));
	json_t *prefixes = json_array();
	bool ok = add || del || show;
	for (int i = 2; ok && i < argc; i++) {
		if (add && strcmp(argv[i], "--for") == 0 && i + 1 < argc) {
			long long s = duration(argv[++i]);
			ok = s >= 0;
			json_object_set_new(req, "for", json_integer(s));
		} else if (add && strcmp(argv[i], "--comment") == 0 && i + 1 < argc) {
			json_object_set_new(req, "comment", rpc_str(argv[++i]));
		} else if (!client_dataplane_opt(req, argc, argv, &i)) {
			ok = !show && argv[i][0] != '-';
			json_array_append_new(prefixes, rpc_str(argv[i]));
		}
	}
	if (!ok || (!show && !json_array_size(prefixes))) {
		fprintf(stderr, "usage: sluicectl %s add PREFIX... [--for DURATION] [--comment TEXT] [--dataplane NAME]...\n"
		        "       sluicectl %s del PREFIX... [--dataplane NAME]...\n"
		        "       sluicectl %s list [--dataplane NAME]...\n"
		        "DURATION: seconds, or with s, m, h, d (1h); PREFIX: 203.0.113.0/24, 2001:db8::/48, "
		        "an address\n", list, list, list);
		json_decref(prefixes);
		json_decref(req);
		return CLIENT_USAGE;
	}
	if (show) {
		json_decref(prefixes);
		return list_show(what, req);
	}
	json_object_set_new(req, "prefixes", prefixes);
	return client_change(what, req);
}

static int bans_show(json_t *req)
{
	int status;
	json_t *a = client_query("bans", req, NULL, NULL, &status);
	if (!a)
		return status;
	const char *dp;
	json_t *v;
	json_object_foreach(json_object_get(a, "dataplanes"), dp, v) {
		printf("%s\n  %-40s %-15s %-9s %-21s %8s %9s %9s\n", dp, "SOURCE", "REASON", "LEFT", "UNTIL",
		       "REFUSED", "RCPT 5XX", "AUTH 5XX");
		size_t i;
		json_t *b;
		json_array_foreach(json_object_get(v, "bans"), i, b) {
			char left[32], until[32];
			client_duration(json_integer_value(json_object_get(b, "remaining_s")), left, sizeof left);
			when(json_object_get(b, "until"), until, sizeof until);
			printf("  %-40s %-15s %-9s %-21s %8lld %9lld %9lld\n",
			       json_string_value(json_object_get(b, "source")),
			       json_string_value(json_object_get(b, "reason")), left, until,
			       (long long)json_integer_value(json_object_get(b, "refused")),
			       (long long)json_integer_value(json_object_get(b, "refused_recipients")),
			       (long long)json_integer_value(json_object_get(b, "auth_failures")));
		}
	}
	status = client_print_errors("bans", a) ? CLIENT_FAILED : CLIENT_OK;
	json_decref(a);
	return status;
}

int cmd_bans(int argc, char **argv)
{
	bool del = argc >= 2 && strcmp(argv[1], "del") == 0;
	json_t *req = client_request(del ? "bans.del" : "bans");
	json_t *sources = json_array();
	bool ok = true;
	for (int i = del ? 2 : 1; ok && i < argc; i++)
		if (!client_dataplane_opt(req, argc, argv, &i)) {
			ok = del && argv[i][0] != '-';
			json_array_append_new(sources, rpc_str(argv[i]));
		}
	if (!ok || (del && !json_array_size(sources))) {
		fprintf(stderr, "usage: sluicectl bans [--dataplane NAME]...\n"
		        "       sluicectl bans del SOURCE... [--dataplane NAME]...   (lifted at its next connection)\n");
		json_decref(sources);
		json_decref(req);
		return CLIENT_USAGE;
	}
	if (!del) {
		json_decref(sources);
		return bans_show(req);
	}
	json_object_set_new(req, "sources", sources);
	return client_change("bans del", req);
}

int cmd_top_sources(int argc, char **argv)
{
	json_t *req = client_request("top.sources");
	bool ok = true;
	for (int i = 2; ok && i < argc; i++) {
		if (strcmp(argv[i], "-n") == 0 && i + 1 < argc && atoi(argv[i + 1]) > 0)
			json_object_set_new(req, "limit", json_integer(atoi(argv[++i])));
		else if (strcmp(argv[i], "--by") == 0 && i + 1 < argc)
			json_object_set_new(req, "by", rpc_str(argv[++i]));
		else if (strcmp(argv[i], "--net") == 0)
			json_object_set_new(req, "level", json_string("net"));
		else
			ok = client_dataplane_opt(req, argc, argv, &i);
	}
	if (!ok) {
		fprintf(stderr, "usage: sluicectl top sources [-n N] [--by connections|refused|messages|"
		        "recipients|refused_recipients|auth_failures|bytes|closed] [--net] [--dataplane NAME]...\n");
		json_decref(req);
		return CLIENT_USAGE;
	}
	int status;
	json_t *a = client_query("top sources", req, NULL, NULL, &status);
	if (!a)
		return status;
	const char *dp;
	json_t *v;
	json_object_foreach(json_object_get(a, "dataplanes"), dp, v) {
		printf("%s (by %s)\n  %-40s %5s %9s %8s %8s %8s %9s %8s %12s %7s %s\n", dp,
		       json_string_value(json_object_get(v, "by")), "SOURCE", "SESS", "CONNECTS", "REFUSED",
		       "MESSAGES", "RCPTS", "RCPT 5XX", "AUTH 5XX", "BYTES", "CLOSED", "BANNED");
		size_t i;
		json_t *s;
		json_array_foreach(json_object_get(v, "sources"), i, s) {
			char until[32];
			when(json_object_get(s, "banned_until"), until, sizeof until);
#define N(k) (long long)json_integer_value(json_object_get(s, k))
			printf("  %-40s %5lld %9lld %8lld %8lld %8lld %9lld %8lld %12lld %7lld %s\n",
			       json_string_value(json_object_get(s, "source")), N("sessions"), N("connections"),
			       N("refused"), N("messages"), N("recipients"), N("refused_recipients"),
			       N("auth_failures"), N("bytes"), N("closed"),
			       json_is_null(json_object_get(s, "banned_until")) ? "-" : until);
#undef N
		}
	}
	status = client_print_errors("top sources", a) ? CLIENT_FAILED : CLIENT_OK;
	json_decref(a);
	return status;
}
