/* sluicectl status [--json]: sluice-control and each dataplane: up or down, the version it
 * runs and the one it should, uptime, mode, STARTTLS, port counters. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "commands.h"

static void print_version(const json_t *v, char *out, size_t len)
{
	if (json_is_integer(v))
		snprintf(out, len, "%lld", (long long)json_integer_value(v));
	else
		snprintf(out, len, "-");
}

static void print_ports(const json_t *ports)
{
	const char *role;
	json_t *p;
	json_object_foreach((json_t *)ports, role, p)
		printf(" %s rx %lld tx %lld", role, (long long)json_integer_value(json_object_get(p, "rx_packets")),
		       (long long)json_integer_value(json_object_get(p, "tx_packets")));
}

static void print_dataplane(const json_t *d)
{
	const json_t *hello = json_object_get(d, "hello");
	bool up = json_is_true(json_object_get(d, "up"));
	char running[32], wanted[32], uptime[32];
	print_version(json_object_get(json_object_get(hello, "bundle"), "id"), running, sizeof running);
	print_version(json_object_get(d, "wanted"), wanted, sizeof wanted);
	if (!up)
		snprintf(running, sizeof running, "-");
	client_duration(up ? (long long)json_integer_value(json_object_get(hello, "uptime_s")) : -1, uptime,
	                sizeof uptime);
	const char *mode = up ? json_string_value(json_object_get(hello, "mode")) : NULL;
	const char *starttls = up ? json_string_value(json_object_get(hello, "starttls")) : NULL;
	bool synced = up && strcmp(running, wanted) == 0;
	printf("%-12s %-5s %-8s %-8s %-8s %-8s %-8s", json_string_value(json_object_get(d, "name")),
	       up ? "up" : "DOWN", running, wanted, uptime, mode ? mode : "-", starttls ? starttls : "-");
	if (up)
		print_ports(json_object_get(d, "ports"));
	const char *err = json_string_value(json_object_get(d, "error"));
	if (!up)
		printf(" (%s; since %lld s)", err ? err : "unreachable",
		       (long long)(time(NULL) - json_integer_value(json_object_get(d, "since"))));
	else if (!synced && strcmp(wanted, "-") != 0)
		printf(" (PENDING: not yet on version %s%s%s)", wanted, err ? ": " : "", err ? err : "");
	printf("\n");
}

int cmd_status(int argc, char **argv)
{
	bool json = argc == 2 && strcmp(argv[1], "--json") == 0;
	if (argc > 1 && !json) {
		fprintf(stderr, "usage: sluicectl status [--json]\n");
		return CLIENT_USAGE;
	}
	int status;
	json_t *a = client_query("status", client_request("status"), NULL, NULL, &status);
	if (!a)
		return status;
	if (json) {
		json_dumpf(a, stdout, JSON_INDENT(2));
		printf("\n");
		json_decref(a);
		return CLIENT_OK;
	}
	const json_t *c = json_object_get(a, "control");
	char uptime[32];
	client_duration((long long)json_integer_value(json_object_get(c, "uptime_s")), uptime, sizeof uptime);
	printf("sluice-control pid %lld, up %s, state %s, audit log %lld lines\n",
	       (long long)json_integer_value(json_object_get(c, "pid")), uptime,
	       json_string_value(json_object_get(c, "state")),
	       (long long)json_integer_value(json_object_get(c, "audit_lines")));
	printf("%-12s %-5s %-8s %-8s %-8s %-8s %-8s %s\n", "DATAPLANE", "STATE", "RUNNING", "WANTED", "UPTIME",
	       "MODE", "STARTTLS", "PORTS (packets)");
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(a, "dataplanes"), i, d)
		print_dataplane(d);
	json_decref(a);
	return CLIENT_OK;
}
