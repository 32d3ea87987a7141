/* sluice-control's configuration file (control/daemon/conf.c): defaults, dataplane
 * sections, and every error named with its line. */
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "cunit_run.h"

static struct ctl_config c;
static char err[512];

static int parse(const char *text)
{
	err[0] = 0;
	return ctl_config_parse(&c, "t.conf", text, err, sizeof err);
}

static void test_defaults(void)
{
	CU_ASSERT_EQUAL(parse("# nothing but a comment\n\n"), 0);
	CU_ASSERT_STRING_EQUAL(c.state, "/var/lib/sluice-control");
	CU_ASSERT_STRING_EQUAL(c.socket, "/run/sluice/control.sock");
	CU_ASSERT_STRING_EQUAL(c.group, "sluice");
	CU_ASSERT_STRING_EQUAL(c.private_key, "/etc/sluice/control.key");
	CU_ASSERT_STRING_EQUAL(c.metrics_listen, "127.0.0.1:9469");
	CU_ASSERT_EQUAL(c.push_timeout_ms, 30000);
	CU_ASSERT_EQUAL(c.ndp, 0);
}

static void test_full(void)
{
	const char *text =
		"[control]\n"
		"state = /srv/ctl   # trailing comment\n"
		"socket=/run/x.sock\n"
		"group =\n"
		"private_key = /etc/k.key\n"
		"push_timeout = 2m\n"
		"request_timeout = 1500ms\n"
		"reconnect = 3\n"
		"heartbeat = 1s\n"
		"[metrics]\n"
		"listen = [::1]:9100\n"
		"[dataplane dp0]\n"
		"socket = /run/sluice/dp0.sock\n"
		"[ dataplane  edge-1.b ]\n"
		"socket = /run/sluice/edge.sock\n";
	CU_ASSERT_EQUAL_FATAL(parse(text), 0);
	CU_ASSERT_STRING_EQUAL(c.state, "/srv/ctl");
	CU_ASSERT_STRING_EQUAL(c.socket, "/run/x.sock");
	CU_ASSERT_STRING_EQUAL(c.group, "");
	CU_ASSERT_EQUAL(c.push_timeout_ms, 120000);
	CU_ASSERT_EQUAL(c.request_timeout_ms, 1500);
	CU_ASSERT_EQUAL(c.reconnect_ms, 3000);
	CU_ASSERT_EQUAL(c.heartbeat_ms, 1000);
	CU_ASSERT_STRING_EQUAL(c.metrics_listen, "[::1]:9100");
	CU_ASSERT_EQUAL_FATAL(c.ndp, 2);
	CU_ASSERT_STRING_EQUAL(c.dp[0].name, "dp0");
	CU_ASSERT_STRING_EQUAL(c.dp[0].socket, "/run/sluice/dp0.sock");
	CU_ASSERT_STRING_EQUAL(c.dp[1].name, "edge-1.b");
	CU_ASSERT_STRING_EQUAL(c.dp[1].socket, "/run/sluice/edge.sock");
	/* an empty listen turns the endpoint off */
	CU_ASSERT_EQUAL(parse("[metrics]\nlisten =\n"), 0);
	CU_ASSERT_STRING_EQUAL(c.metrics_listen, "");
}

static void expect_error(const char *text, const char *want)
{
	CU_ASSERT_EQUAL(parse(text), -1);
	if (!strstr(err, want)) {
		fprintf(stderr, "\n  error '%s' lacks '%s'\n", err, want);
		CU_FAIL("wrong error");
	}
}

static void test_errors(void)
{
	expect_error("[control]\nbogus = 1\n", "t.conf:2: unknown key 'bogus' in [control]");
	expect_error("[nope]\n", "t.conf:1: unknown section [nope]");
	expect_error("state = /x\n", "t.conf:1: 'state' outside any [section]");
	expect_error("[control]\nstate = /a\nstate = /b\n", "t.conf:3: 'state' set twice");
	expect_error("[control]\nstate = relative/dir\n", "t.conf:2: state: expected an absolute path");
	expect_error("[control]\npush_timeout = soon\n", "t.conf:2: push_timeout: expected a duration");
	expect_error("[control]\npush_timeout = 0s\n", "t.conf:2: push_timeout: expected a duration");
	expect_error("[control]\npush_timeout = 5 s\n", "t.conf:2: push_timeout");
	expect_error("[control]\nstate /x\n", "t.conf:2: expected key = value");
	expect_error("[control\n", "t.conf:1: expected [section]");
	expect_error("[dataplane]\n", "t.conf:1: expected [dataplane NAME]");
	expect_error("[control extra]\n", "t.conf:1: [control] takes no name");
	expect_error("[dataplane a/b]\n", "t.conf:1: dataplane name 'a/b'");
	expect_error("[dataplane a]\nsocket = /s1\n[dataplane a]\n", "t.conf:3: [dataplane a] twice");
	expect_error("[dataplane a]\nsocket = /s1\nsocket = /s2\n", "t.conf:3: 'socket' set twice");
	expect_error("[dataplane a]\n", "t.conf: [dataplane a] has no socket");
	expect_error("[dataplane a]\nsocket = /s\n[dataplane b]\nsocket = /s\n", "dataplanes a and b have the same socket");
	expect_error("[metrics]\nlisten = 9469\n", "t.conf:2: listen: expected HOST:PORT");
	expect_error("[metrics]\nlisten = 127.0.0.1:99999\n", "t.conf:2: listen");
	expect_error("[control]\ngroup = bad group\n", "t.conf:2: group: expected a name");
	char longsock[300];
	snprintf(longsock, sizeof longsock, "[control]\nsocket = /%0150d\n", 0);
	expect_error(longsock, "t.conf:2: socket: longer than 107 bytes");
}

static void test_public_key_path(void)
{
	char out[256];
	ctl_public_key_path("/etc/sluice/control.key", out, sizeof out);
	CU_ASSERT_STRING_EQUAL(out, "/etc/sluice/control.pub");
	ctl_public_key_path("/etc/sluice/signing.pem", out, sizeof out);
	CU_ASSERT_STRING_EQUAL(out, "/etc/sluice/signing.pem.pub");
}

int main(void)
{
	static const struct cu_test tests[] = {
		{"defaults", test_defaults},
		{"every key and two dataplanes", test_full},
		{"errors name their line", test_errors},
		{"public key path", test_public_key_path},
		{NULL, NULL},
	};
	return cu_run_suite("control_conf", NULL, NULL, tests);
}
