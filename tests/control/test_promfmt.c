/* The Prometheus formatter (control/daemon/promfmt.c): a dataplane's stats JSON becomes
 * sluice_dp_* families with labels, grouped by family whatever order the samples come
 * in, with label values escaped. Every output is checked by a small parser of the text
 * format written here from the format's description (the lab test runs promtool too). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_run.h"
#include "promfmt.h"

/* ---- an independent check of exposition format 0.0.4 --------------------------------- */

#define MAXF 256

static bool name_ok(const char *s, size_t n, bool label)
{
	if (n == 0 || isdigit((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && (label || s[i] != ':'))
			return false;
	return true;
}

/* One checked exposition: families in order, with their type; samples counted. Returns
 * NULL when valid, else what is wrong. */
static const char *check_exposition(const char *text, int *samples)
{
	static char why[300];
	char fam[MAXF][128], type[MAXF][16], seen[4096][256];
	int nf = 0, ns = 0, cur = -1;
	*samples = 0;
	for (const char *l = text; *l;) {
		const char *e = strchr(l, '\n');
		if (!e)
			return "the last line has no newline";
		size_t n = (size_t)(e - l);
		char line[2048];
		if (n >= sizeof line)
			return "line too long";
		memcpy(line, l, n);
		line[n] = 0;
		l = e + 1;
		char name[128], rest[1900];
		if (sscanf(line, "# HELP %127s", name) == 1) {
			for (int i = 0; i < nf; i++)
				if (strcmp(fam[i], name) == 0)
					return snprintf(why, sizeof why, "family %.120s appears twice", name), why;
			if (nf == MAXF)
				return "too many families";
			snprintf(fam[nf], sizeof fam[nf], "%s", name);
			type[nf][0] = 0;
			cur = nf++;
			continue;
		}
		if (sscanf(line, "# TYPE %127s %15s", name, rest) == 2) {
			if (cur < 0 || strcmp(fam[cur], name) != 0 || type[cur][0])
				return snprintf(why, sizeof why, "TYPE %.120s not right after its HELP", name), why;
			if (strcmp(rest, "counter") && strcmp(rest, "gauge") && strcmp(rest, "untyped"))
				return "unknown type";
			snprintf(type[cur], sizeof type[cur], "%.15s", rest);
			continue;
		}
		if (line[0] == '#')
			return "unknown comment line";
		/* a sample: name{labels} value */
		size_t k = strcspn(line, "{ ");
		if (cur < 0 || k != strlen(fam[cur]) || strncmp(line, fam[cur], k) != 0 || !type[cur][0])
			return snprintf(why, sizeof why, "sample outside its family: %.200s", line), why;
		if (!name_ok(line, k, false))
			return "bad metric name";
		if (strcmp(type[cur], "counter") == 0 && (k < 6 || strncmp(line + k - 6, "_total", 6) != 0))
			return snprintf(why, sizeof why, "counter %.120s does not end in _total", fam[cur]), why;
		const char *p = line + k;
		if (*p == '{') {
			p++;
			while (*p != '}') {
				size_t ln = strcspn(p, "=");
				if (!name_ok(p, ln, true) || p[ln] != '=' || p[ln + 1] != '"')
					return snprintf(why, sizeof why, "bad label in %.200s", line), why;
				p += ln + 2;
				while (*p != '"') {
					if (!*p)
						return "unterminated label value";
					if (*p == '\\') {
						if (p[1] != '\\' && p[1] != '"' && p[1] != 'n')
							return "bad escape in a label value";
						p++;
					}
					p++;
				}
				p++;
				if (*p == ',')
					p++;
				else if (*p != '}')
					return "expected , or } after a label";
			}
			p++;
		}
		size_t series_len = (size_t)(p - line);
		if (*p++ != ' ')
			return "no space before the value";
		char *end;
		if (strcmp(p, "+Inf") && strcmp(p, "-Inf") && strcmp(p, "NaN")) {
			strtod(p, &end);
			if (end == p || *end)
				return snprintf(why, sizeof why, "bad value in %.200s", line), why;
		}
		if (ns == 4096 || series_len >= sizeof seen[0])
			return "too many series";
		memcpy(seen[ns], line, series_len);
		seen[ns][series_len] = 0;
		for (int i = 0; i < ns; i++)
			if (strcmp(seen[i], seen[ns]) == 0)
				return snprintf(why, sizeof why, "series twice: %.200s", seen[ns]), why;
		ns++;
		++*samples;
	}
	return NULL;
}

static char *render(struct prom *p)
{
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	CU_ASSERT_TRUE(prom_write(p, &b));
	return b.s;
}

static void expect_valid(const char *text, int want_samples)
{
	int n;
	const char *why = check_exposition(text, &n);
	if (why)
		fprintf(stderr, "\n  invalid exposition: %s\n%s\n", why, text);
	CU_ASSERT_PTR_NULL(why);
	if (want_samples >= 0)
		CU_ASSERT_EQUAL(n, want_samples);
}

static void expect_line(const char *text, const char *line)
{
	char want[512];
	snprintf(want, sizeof want, "\n%s\n", line);
	if (!strstr(text, want) && strncmp(text, want + 1, strlen(want + 1)) != 0) {
		fprintf(stderr, "\n  missing line: %s\n", line);
		CU_FAIL("line missing");
	}
}

/* the shape of sluice-dp's stats (dataplane/pipeline/counters.c) */
static const char *stats_json =
	"{\"ports\":{\"outside\":{\"rx_packets\":10,\"rx_bytes\":1000,\"tx_packets\":9,\"tx_bytes\":900,"
	"\"injected\":1,\"resegmented\":0},\"inside\":{\"rx_packets\":8,\"rx_bytes\":800,\"tx_packets\":9,"
	"\"tx_bytes\":950,\"injected\":0,\"resegmented\":2}},"
	"\"flows\":{\"active\":3,\"created\":40,\"closed\":37,\"embryonic\":1,"
	"\"uninspected\":{\"starttls\":2,\"table_full\":0}},"
	"\"messages\":{\"total\":12,\"enforced_reject\":2},"
	"\"verdicts\":{\"pass\":10,\"reject\":2},"
	"\"rules\":{\"av.eicar\":1,\"lab.\\\"odd\\\\rule\":1},"
	"\"drops\":{\"bad_checksum\":0,\"no_ack\":4},"
	"\"starttls\":{\"seen\":2,\"stripped\":2},"
	"\"signals_overlap\":0,\"loop\":{\"iterations\":900,\"p50_ns\":255,\"p99_ns\":4095,\"max_ns\":65535},"
	"\"memory_bytes\":123456,\"new_counter\":{\"deep\":{\"x\":7}}}";

static void test_dataplane_stats(void)
{
	json_error_t je;
	json_t *s = json_loads(stats_json, 0, &je);
	CU_ASSERT_FATAL(s != NULL);
	struct prom *p = prom_new();
	prom_add_dp_stats(p, "dp0", s);
	char *t = render(p);
	expect_valid(t, 35);
	expect_line(t, "# TYPE sluice_dp_port_rx_packets_total counter");
	expect_line(t, "sluice_dp_port_rx_packets_total{dataplane=\"dp0\",port=\"outside\"} 10");
	expect_line(t, "sluice_dp_port_resegmented_total{dataplane=\"dp0\",port=\"inside\"} 2");
	expect_line(t, "# TYPE sluice_dp_flows_active gauge");
	expect_line(t, "sluice_dp_flows_active{dataplane=\"dp0\"} 3");
	expect_line(t, "sluice_dp_flows_created_total{dataplane=\"dp0\"} 40");
	expect_line(t, "sluice_dp_flows_uninspected_total{dataplane=\"dp0\",reason=\"starttls\"} 2");
	expect_line(t, "sluice_dp_messages_total{dataplane=\"dp0\"} 12");
	expect_line(t, "sluice_dp_messages_enforced_reject_total{dataplane=\"dp0\"} 2");
	expect_line(t, "sluice_dp_verdicts_total{dataplane=\"dp0\",action=\"reject\"} 2");
	expect_line(t, "sluice_dp_rule_hits_total{dataplane=\"dp0\",rule=\"av.eicar\"} 1");
	/* a rule id with a quote and a backslash, escaped */
	expect_line(t, "sluice_dp_rule_hits_total{dataplane=\"dp0\",rule=\"lab.\\\"odd\\\\rule\"} 1");
	expect_line(t, "sluice_dp_drops_total{dataplane=\"dp0\",reason=\"no_ack\"} 4");
	expect_line(t, "sluice_dp_starttls_stripped_total{dataplane=\"dp0\"} 2");
	expect_line(t, "# TYPE sluice_dp_memory_bytes gauge");
	expect_line(t, "sluice_dp_memory_bytes{dataplane=\"dp0\"} 123456");
	expect_line(t, "# TYPE sluice_dp_loop_p99_seconds gauge");
	char p99[128]; /* nanoseconds as seconds, as the formatter computes them */
	snprintf(p99, sizeof p99, "sluice_dp_loop_p99_seconds{dataplane=\"dp0\"} %.17g", 4095.0 * 1e-9);
	expect_line(t, p99);
	expect_line(t, "sluice_dp_loop_iterations_total{dataplane=\"dp0\"} 900");
	/* a counter the formatter does not know is still exported */
	expect_line(t, "sluice_dp_new_counter_deep_x_total{dataplane=\"dp0\"} 7");
	free(t);
	prom_free(p);
	json_decref(s);
}

static void test_grouping(void)
{
	json_error_t je;
	json_t *s = json_loads(stats_json, 0, &je);
	struct prom *p = prom_new();
	const char *l0[] = {"dataplane", "dp0", NULL};
	const char *l1[] = {"dataplane", "dp1", NULL};
	/* interleaved: dp0's, the control's, dp1's; each family still comes out once */
	prom_add(p, "sluice_dp_up", "gauge", "up", l0, 1);
	prom_add_dp_stats(p, "dp0", s);
	prom_add(p, "sluice_control_uptime_seconds", "gauge", "uptime\nwith a \\ newline", NULL, 5);
	prom_add(p, "sluice_dp_up", "gauge", "up", l1, 0);
	prom_add_dp_stats(p, "dp1", s);
	char *t = render(p);
	expect_valid(t, 2 * 35 + 3);
	const char *a = strstr(t, "sluice_dp_up{dataplane=\"dp0\"} 1\n");
	const char *b = strstr(t, "sluice_dp_up{dataplane=\"dp1\"} 0\n");
	CU_ASSERT(a && b && b > a && !memchr(a, '#', (size_t)(b - a)));
	expect_line(t, "# HELP sluice_control_uptime_seconds uptime\\nwith a \\\\ newline");
	free(t);
	prom_free(p);
	json_decref(s);
}

static void test_values_and_names(void)
{
	struct prom *p = prom_new();
	const char *lv[] = {"weird-label", "line\nbreak", NULL};
	prom_add(p, "x_total", "counter", "h", NULL, 18446744073709551615.0);
	prom_add(p, "y", "gauge", "h", lv, 0.25);
	prom_add(p, "z", "gauge", "h", NULL, NAN);
	prom_add(p, "w", "gauge", "h", NULL, -1);
	char *t = render(p);
	expect_valid(t, 4);
	expect_line(t, "y{weird_label=\"line\\nbreak\"} 0.25");
	expect_line(t, "z NaN");
	expect_line(t, "w -1");
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "x_total 1.8446744073709552e+19\n"));
	free(t);
	prom_free(p);
	char n[64];
	prom_name("9lives.and-more", n, sizeof n);
	CU_ASSERT_STRING_EQUAL(n, "_9lives_and_more");
}

/* the checker itself must reject what is wrong, or the tests above prove nothing */
static void test_checker_rejects(void)
{
	int n;
	CU_ASSERT_PTR_NOT_NULL(check_exposition("# HELP a h\n# TYPE a counter\na 1\n", &n));
	CU_ASSERT_PTR_NOT_NULL(check_exposition("# HELP a h\n# TYPE a gauge\nb 1\n", &n));
	CU_ASSERT_PTR_NOT_NULL(check_exposition("# HELP a h\n# TYPE a gauge\na{x=\"1\"} 1\na{x=\"1\"} 2\n", &n));
	CU_ASSERT_PTR_NOT_NULL(check_exposition("# HELP a h\n# TYPE a gauge\na{x=\"\\t\"} 1\n", &n));
	CU_ASSERT_PTR_NOT_NULL(check_exposition("# HELP a h\n# TYPE a gauge\na one\n", &n));
	CU_ASSERT_PTR_NOT_NULL(check_exposition("# HELP a h\n# TYPE a gauge\na 1\n# HELP a h\n# TYPE a gauge\n", &n));
	CU_ASSERT_PTR_NULL(check_exposition("# HELP a h\n# TYPE a gauge\na{x=\"\\\"\"} 1\n", &n));
}

int main(void)
{
	static const struct cu_test tests[] = {
		{"a dataplane's stats as families", test_dataplane_stats},
		{"families grouped across dataplanes", test_grouping},
		{"values, escapes and names", test_values_and_names},
		{"the format checker rejects bad text", test_checker_rejects},
		{NULL, NULL},
	};
	return cu_run_suite("control_promfmt", NULL, NULL, tests);
}
