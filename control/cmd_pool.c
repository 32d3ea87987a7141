/* sluicectl pool [--json]: the mail-host pool's hosts (health, state, weight, counters);
 * sluicectl pool drain|up|remove HOST, pool weight HOST W, pool add HOST ADDR [ADDR]
 * [--weight W]: live changes on every dataplane (docs/pool.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "commands.h"
#include "rpc.h"

static const char usage[] =
	"usage: sluicectl pool [--json]\n"
	"       sluicectl pool drain|up|remove HOST\n"
	"       sluicectl pool weight HOST WEIGHT\n"
	"       sluicectl pool add HOST ADDRESS [ADDRESS] [--weight WEIGHT]\n";

static long long num(const json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

static int show(bool json)
{
	int status;
	json_t *a = client_query("pool", client_request("pool.get"), NULL, NULL, &status);
	if (!a)
		return status;
	if (json) {
		json_dumpf(a, stdout, JSON_INDENT(2));
		printf("\n");
	} else {
		const json_t *chk = json_object_get(a, "checks");
		if (json_is_true(json_object_get(chk, "on")))
			printf("health checks every %lld ms (timeout %lld ms, rise %lld, fall %lld)\n",
			       num(chk, "interval_ms"), num(chk, "timeout_ms"), num(chk, "rise"), num(chk, "fall"));
		else
			printf("health checks off (no [pool] in sluice-control's configuration)\n");
		printf("%-12s %-8s %-10s %-6s %-7s %11s %7s %9s %12s %12s  %s\n", "HOST", "HEALTH", "DATAPLANE",
		       "STATE", "WEIGHT", "CONNECTIONS", "ACTIVE", "MESSAGES", "BYTES IN", "BYTES OUT", "LAST ERROR");
		const char *name, *dp;
		json_t *h, *d;
		json_object_foreach(json_object_get(a, "hosts"), name, h) {
			const char *health = json_string_value(json_object_get(h, "health"));
			json_object_foreach(json_object_get(h, "dataplanes"), dp, d)
				printf("%-12s %-8s %-10s %-6s %-7lld %11lld %7lld %9lld %12lld %12lld  %s\n", name,
				       health ? health : "?", dp, json_string_value(json_object_get(d, "state")),
				       num(d, "weight"), num(d, "connections"), num(d, "active"), num(d, "messages"),
				       num(d, "bytes_in"), num(d, "bytes_out"),
				       strcmp(health ? health : "", "up") ? json_string_value(json_object_get(h, "error")) ?: "" : "");
		}
	}
	status = client_print_errors("pool", a) ? CLIENT_FAILED : CLIENT_OK;
	json_decref(a);
	return status;
}

static bool weight_arg(const char *s, json_int_t *w)
{
	char *end;
	long v = strtol(s, &end, 10);
	*w = v;
	return *s && !*end && v >= 0 && v <= 1000;
}

int cmd_pool(int argc, char **argv)
{
	if (argc == 1 || (argc == 2 && strcmp(argv[1], "--json") == 0))
		return show(argc == 2);
	const char *sub = argv[1];
	json_int_t w;
	if (argc == 3 && (strcmp(sub, "drain") == 0 || strcmp(sub, "up") == 0)) {
		json_t *q = client_request("pool.set");
		json_object_set_new(q, "name", rpc_str(argv[2]));
		json_object_set_new(q, "state", rpc_str(sub));
		return client_change(strcmp(sub, "drain") == 0 ? "pool drain" : "pool up", q);
	}
	if (argc == 3 && strcmp(sub, "remove") == 0) {
		json_t *q = client_request("pool.remove");
		json_object_set_new(q, "name", rpc_str(argv[2]));
		return client_change("pool remove", q);
	}
	if (argc == 4 && strcmp(sub, "weight") == 0 && weight_arg(argv[3], &w)) {
		json_t *q = client_request("pool.set");
		json_object_set_new(q, "name", rpc_str(argv[2]));
		json_object_set_new(q, "weight", json_integer(w));
		return client_change("pool weight", q);
	}
	if (argc >= 4 && strcmp(sub, "add") == 0) {
		json_t *q = client_request("pool.add"), *addrs = json_array();
		json_object_set_new(q, "name", rpc_str(argv[2]));
		bool ok = true;
		for (int i = 3; i < argc && ok; i++) {
			if (strcmp(argv[i], "--weight") == 0)
				ok = i + 1 < argc && weight_arg(argv[++i], &w) &&
				     json_object_set_new(q, "weight", json_integer(w)) == 0;
			else
				json_array_append_new(addrs, rpc_str(argv[i]));
		}
		json_object_set_new(q, "addresses", addrs);
		if (ok && json_array_size(addrs) >= 1 && json_array_size(addrs) <= 2)
			return client_change("pool add", q);
		json_decref(q);
	}
	fputs(usage, stderr);
	return CLIENT_USAGE;
}
