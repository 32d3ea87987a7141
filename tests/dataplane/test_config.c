/* The configuration file and the command line of sluice-dp. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/args.h"
#include "config/config.h"
#include "cunit_run.h"

static int parse(struct dp_config *c, const char *text, char *err)
{
	dp_config_default(c);
	return dp_config_parse(c, "t.conf", text, err, 256);
}

static void test_defaults(void)
{
	struct dp_config c;
	dp_config_default(&c);
	CU_ASSERT_EQUAL(c.outside.id, 0);
	CU_ASSERT_EQUAL(c.inside.id, 1);
	CU_ASSERT_EQUAL(c.mode, DP_MODE_ENFORCE);
	CU_ASSERT_EQUAL(c.nsmtp_ports, 3);
	CU_ASSERT_TRUE(dp_config_is_smtp_port(&c, 25));
	CU_ASSERT_TRUE(dp_config_is_smtp_port(&c, 587));
	CU_ASSERT_TRUE(dp_config_is_smtp_port(&c, 2525));
	CU_ASSERT_FALSE(dp_config_is_smtp_port(&c, 80));
	CU_ASSERT_EQUAL(c.starttls, DP_STARTTLS_ALLOW);
	/* in enforce mode an SMTP-port flow that cannot be inspected is refused; one found
	 * by content detection, or any in monitor mode, passes */
	CU_ASSERT_EQUAL(c.on_overload, DP_OVERLOAD_AUTO);
	CU_ASSERT_TRUE(dp_config_fail_closed(&c, true));
	CU_ASSERT_FALSE(dp_config_fail_closed(&c, false));
	CU_ASSERT_TRUE(dp_config_midstream_reset(&c));
	CU_ASSERT_TRUE(c.direction_check);
	CU_ASSERT_EQUAL(c.max_embryonic, 4096);
	c.mode = DP_MODE_SMTP;
	CU_ASSERT_FALSE(dp_config_fail_closed(&c, true));
	CU_ASSERT_FALSE(dp_config_midstream_reset(&c));
	CU_ASSERT_FALSE(c.detect);
}

static void test_all_keys(void)
{
	struct dp_config c;
	char err[256] = "";
	const char *text =
		"# comment\n"
		"[ports]\n outside = net_af_packet1 \ninside=0\nrx_descriptors=512\n"
		"tx_descriptors = 256 # trailing comment\nmbufs = 8191\npromiscuous = off\n"
		"direction_check = no\n"
		"[workers]\ncount = 2\ndistribution = software\nburst = 64\n"
		"[dataplane]\nmode = smtp\n"
		"[smtp]\nports = 25, 10025\ndetect = yes\nstarttls = strip\n"
		"[flows]\nmax_flows = 1024\nidle_timeout = 5m\nclosed_timeout = 500ms\n"
		"max_flow_memory = 256k\nmax_ooo_segments = 8\nmax_memory = 1g\non_overload = closed\n"
		"midstream = pass\nmax_embryonic = 100\nembryonic_timeout = 2s\nevict_idle = 90s\n"
		"[policy]\nrules = /etc/sluice/policy.rules\n"
		"[journal]\ndir = /var/spool/j\n";
	CU_ASSERT_EQUAL_FATAL(parse(&c, text, err), 0);
	CU_ASSERT_STRING_EQUAL(c.outside.name, "net_af_packet1");
	CU_ASSERT_EQUAL(c.inside.id, 0);
	CU_ASSERT_STRING_EQUAL(c.inside.name, "");
	CU_ASSERT_EQUAL(c.rx_descriptors, 512);
	CU_ASSERT_EQUAL(c.tx_descriptors, 256);
	CU_ASSERT_EQUAL(c.mbufs, 8191);
	CU_ASSERT_FALSE(c.promiscuous);
	CU_ASSERT_EQUAL(c.workers, 2);
	CU_ASSERT_EQUAL(c.distribution, DP_DIST_SOFTWARE);
	CU_ASSERT_EQUAL(c.burst, 64);
	CU_ASSERT_EQUAL(c.mode, DP_MODE_SMTP);
	CU_ASSERT_EQUAL(c.nsmtp_ports, 2);
	CU_ASSERT_TRUE(dp_config_is_smtp_port(&c, 10025));
	CU_ASSERT_FALSE(dp_config_is_smtp_port(&c, 587));
	CU_ASSERT_TRUE(c.detect);
	CU_ASSERT_EQUAL(c.starttls, DP_STARTTLS_STRIP);
	CU_ASSERT_EQUAL(c.max_flows, 1024);
	CU_ASSERT_EQUAL(c.idle_timeout_ms, 300000);
	CU_ASSERT_EQUAL(c.closed_timeout_ms, 500);
	CU_ASSERT_EQUAL(c.max_flow_memory, 256 * 1024);
	CU_ASSERT_EQUAL(c.max_ooo_segments, 8);
	CU_ASSERT_EQUAL(c.max_memory, 1ull << 30);
	CU_ASSERT_EQUAL(c.on_overload, DP_OVERLOAD_CLOSED);
	CU_ASSERT_TRUE(dp_config_fail_closed(&c, false)); /* closed means closed, even in smtp mode */
	CU_ASSERT_EQUAL(c.midstream, DP_MIDSTREAM_PASS);
	CU_ASSERT_FALSE(c.direction_check);
	CU_ASSERT_EQUAL(c.max_embryonic, 100);
	CU_ASSERT_EQUAL(c.embryonic_timeout_ms, 2000);
	CU_ASSERT_EQUAL(c.evict_idle_ms, 90000);
	CU_ASSERT_STRING_EQUAL(c.rules, "/etc/sluice/policy.rules");
	CU_ASSERT_STRING_EQUAL(c.journal_dir, "/var/spool/j");
}

static void expect_error(const char *text, const char *want)
{
	struct dp_config c;
	char err[256] = "";
	CU_ASSERT_EQUAL(parse(&c, text, err), -1);
	if (!strstr(err, want))
		fprintf(stderr, "\n  got error '%s', want '%s'\n", err, want);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, want));
}

static void test_errors_have_line_numbers(void)
{
	expect_error("[ports]\noutside = 0\n[nope]\n", "t.conf:3: unknown section [nope]");
	expect_error("[smtp]\n\nporst = 25\n", "t.conf:3: unknown key 'porst' in [smtp]");
	expect_error("mode = bridge\n", "t.conf:1: 'mode' outside any [section]");
	expect_error("[smtp]\nports = 25, 0\n", "t.conf:2: ports: '0' is not a TCP port");
	expect_error("[smtp]\nports = 25, 70000\n", "t.conf:2: ports: '70000'");
	expect_error("[smtp]\nports = ,\n", "t.conf:2: ports: at least one TCP port");
	expect_error("[smtp]\nstarttls = maybe\n", "t.conf:2: starttls: expected one of allow, strip, block");
	expect_error("[flows]\nidle_timeout = 3 days\n", "t.conf:2: idle_timeout: expected a duration");
	expect_error("[flows]\nmax_memory = 12q\n", "t.conf:2: max_memory: expected a size");
	expect_error("[flows]\nmax_flow_memory = 100\n", "t.conf:2: max_flow_memory: expected a size");
	expect_error("[workers]\ncount = 0\n", "t.conf:2: count: expected a number from 1 to 64");
	expect_error("[workers]\ncount = -1\n", "t.conf:2: count");
	expect_error("[workers]\ncount = 99999999999999999999999\n", "t.conf:2: count");
	expect_error("[dataplane]\nmode = bridge\nmode = smtp\n", "t.conf:3: 'mode' set twice");
	expect_error("[dataplane]\nmode\n", "t.conf:2: expected key = value");
	expect_error("[dataplane]\nmode =\n", "t.conf:2: mode: missing value");
	expect_error("[ports\n", "t.conf:1: expected [section]");
	expect_error("[ports]\noutside = 1\ninside = 1\n", "outside and inside are the same port");
	expect_error("[ports]\nmbufs = 10\n", "t.conf:2: mbufs");
	expect_error("[journal]\narchive = archive.example.net\n", "t.conf:2: archive: expected HOST:PORT");
	expect_error("[journal]\narchive = 192.0.2.9:0\n", "t.conf:2: archive: expected HOST:PORT");
	expect_error("[journal]\narchive = 192.0.2.9:7000\n", "[journal] archive needs a spool directory");
	expect_error("[journal]\ndir = /a\nspool = /b\n", "exclude each other");
	expect_error("[journal]\ntls_ca = /a\ntls_cert = /b\n", "tls_ca, tls_cert and tls_key go together");
	expect_error("[journal]\nrequired = yes\n", "required and spool_max are for the archive sink");
	expect_error("[journal]\ndir = /a\nspool_max = 1m\n", "required and spool_max are for the archive sink");
}

static void test_journal_archive(void)
{
	struct dp_config c;
	char err[256];
	CU_ASSERT_EQUAL_FATAL(parse(&c, "[journal]\narchive = [2001:db8::9]:7000\nspool = /var/spool/j\n", err), 0);
	CU_ASSERT_STRING_EQUAL(c.journal_archive, "[2001:db8::9]:7000");
	CU_ASSERT_STRING_EQUAL(c.journal_spool, "/var/spool/j");
	CU_ASSERT_FALSE(c.journal_required); /* default: mail flows, a lost copy is counted */
	CU_ASSERT_EQUAL(c.journal_spool_max, 0);
	CU_ASSERT_EQUAL_FATAL(parse(&c, "[journal]\nspool = /s\nspool_max = 64m\nrequired = yes\n", err), 0);
	CU_ASSERT_TRUE(c.journal_required);
	CU_ASSERT_EQUAL(c.journal_spool_max, 64u << 20);
	/* the command line's directory sink cannot be added to an archive journal */
	struct dp_args a;
	char *v[] = {"sluice-dp", "--", "--journal-dir", "/tmp/j", NULL};
	CU_ASSERT_EQUAL_FATAL(dp_args_parse(4, v, &a, err, sizeof err), 0);
	CU_ASSERT_EQUAL(dp_args_apply(&a, &c, err, sizeof err), -1);
}

static void test_print_roundtrip(void)
{
	struct dp_config c, d;
	char err[256];
	const char *text = "[smtp]\nports = 26\nstarttls = block\n[flows]\nclosed_timeout = 1500ms\n"
	                   "max_flow_memory = 65537\n[ports]\noutside = net_ring0\n";
	CU_ASSERT_EQUAL_FATAL(parse(&c, text, err), 0);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	dp_config_print(&c, f);
	fclose(f);
	CU_ASSERT_EQUAL_FATAL(parse(&d, buf, err), 0);
	CU_ASSERT_EQUAL(memcmp(&c, &d, sizeof c), 0);
	free(buf);
}

static void test_load_file_errors(void)
{
	struct dp_config c;
	char err[256];
	dp_config_default(&c);
	CU_ASSERT_EQUAL(dp_config_load(&c, "/nonexistent/sluice.conf", err, sizeof err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/sluice.conf: No such file"));
}

static void test_args(void)
{
	struct dp_args a;
	char err[256];
	char *v1[] = {"sluice-dp", "--no-huge", "-l", "0", "--", "--config", "x.conf",
	              "--rules", "p.rules", "--mode", "smtp", "--duration", "2.5", "--quiet", NULL};
	CU_ASSERT_EQUAL_FATAL(dp_args_parse(14, v1, &a, err, sizeof err), 0);
	CU_ASSERT_EQUAL(a.eal_argc, 4);
	CU_ASSERT_STRING_EQUAL(a.config, "x.conf");
	CU_ASSERT_STRING_EQUAL(a.rules, "p.rules");
	CU_ASSERT_DOUBLE_EQUAL(a.duration, 2.5, 1e-9);
	CU_ASSERT_TRUE(a.quiet);

	struct dp_config c;
	dp_config_default(&c);
	CU_ASSERT_EQUAL(dp_args_apply(&a, &c, err, sizeof err), 0);
	CU_ASSERT_EQUAL(c.mode, DP_MODE_SMTP);
	CU_ASSERT_STRING_EQUAL(c.rules, "p.rules");

	/* no `--`: ours when the first argument is ours */
	char *v2[] = {"sluice-dp", "--offline", "c.pcap", "--dump-messages", "out", NULL};
	CU_ASSERT_EQUAL_FATAL(dp_args_parse(5, v2, &a, err, sizeof err), 0);
	CU_ASSERT_EQUAL(a.eal_argc, 1);
	CU_ASSERT_STRING_EQUAL(a.offline, "c.pcap");
	dp_config_default(&c);
	CU_ASSERT_EQUAL(dp_args_apply(&a, &c, err, sizeof err), 0);
	CU_ASSERT_TRUE(c.detect); /* offline default */

	char *v3[] = {"sluice-dp", "--", "--offline", "c.pcap", NULL};
	CU_ASSERT_EQUAL(dp_args_parse(4, v3, &a, err, sizeof err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "--dump-messages"));
	/* inline: --dump-messages is a test/debug option there too */
	char *v3b[] = {"sluice-dp", "-l", "0", "--", "--dump-messages", "out", NULL};
	CU_ASSERT_EQUAL_FATAL(dp_args_parse(6, v3b, &a, err, sizeof err), 0);
	CU_ASSERT_PTR_NULL(a.offline);
	CU_ASSERT_STRING_EQUAL(a.dump_dir, "out");
	char *v4[] = {"sluice-dp", "--", "--bogus", NULL};
	CU_ASSERT_EQUAL(dp_args_parse(3, v4, &a, err, sizeof err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "unknown option '--bogus'"));
	char *v5[] = {"sluice-dp", "--", "--rules", NULL};
	CU_ASSERT_EQUAL(dp_args_parse(3, v5, &a, err, sizeof err), -1);
	char *v6[] = {"sluice-dp", "--", "--duration", "0", NULL};
	CU_ASSERT_EQUAL(dp_args_parse(4, v6, &a, err, sizeof err), -1);
	char *v7[] = {"sluice-dp", "--", "--mode", "fast", NULL};
	CU_ASSERT_EQUAL_FATAL(dp_args_parse(4, v7, &a, err, sizeof err), 0);
	CU_ASSERT_EQUAL(dp_args_apply(&a, &c, err, sizeof err), -1);
}

int main(void)
{
	static const struct cu_test tests[] = {
		{"defaults", test_defaults},
		{"every key", test_all_keys},
		{"errors name file and line", test_errors_have_line_numbers},
		{"printed config parses back", test_print_roundtrip},
		{"missing file", test_load_file_errors},
		{"command line", test_args},
		{"archive journal keys", test_journal_archive},
		{NULL, NULL},
	};
	return cu_run_suite("dataplane config", NULL, NULL, tests);
}
