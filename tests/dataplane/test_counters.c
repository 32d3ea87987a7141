/* The counters are declared once (dataplane/pipeline/counters.h): every uint64_t of
 * struct dp_counters shows in the stats JSON under a name, names do not collide within
 * a JSON object or a telemetry command, and the sum over workers adds every one. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cunit_run.h"
#include "sluice/frame.h"

#include "pipeline/counters.h"
#include "pipeline/rulehits.h"

#define NSLOTS (sizeof(struct dp_counters) / sizeof(uint64_t))
#define BASE 7000000000ull /* ten digits each: no value is part of another */
/* 18 digits: wide, yet the loop's iterations (a sum of 32 buckets) stay within
 * INT64_MAX, past which jansson (op_stats reads the JSON back) refuses an integer */
#define WIDE 123456789012345678ull

static void fill(struct dp_counters *c)
{
	memset(c, 0, sizeof *c);
	uint64_t *v = (uint64_t *)c;
	for (size_t i = 0; i < NSLOTS; i++)
		v[i] = BASE + i;
}

/* v as a whole JSON number (after ':' '[' or ',', before ',' '}' or ']') in s. */
static unsigned occurrences(const char *s, uint64_t v)
{
	char num[32];
	snprintf(num, sizeof num, "%llu", (unsigned long long)v);
	unsigned n = 0;
	for (const char *p = strstr(s, num); p; p = strstr(p + 1, num)) {
		char before = p > s ? p[-1] : 0, after = p[strlen(num)];
		if (strchr(":[,", before) && before && after && strchr(",}]", after))
			n++;
	}
	return n;
}

static void test_every_counter_in_json(void)
{
	static struct dp_counters c;
	fill(&c);
	struct dp_rule_total r[] = {{"t.one", BASE + NSLOTS}, {"t.two", BASE + NSLOTS + 1}};
	struct dp_rule_totals rules = {r, 2, 2, 0};
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	dp_counters_json(&c, &rules, &b);
	CU_ASSERT_FATAL(!sl_strbuf_failed(&b));
	char want[128];
	snprintf(want, sizeof want, "\"rules\":{\"t.one\":%llu,\"t.two\":%llu}",
	         BASE + NSLOTS, BASE + NSLOTS + 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(b.s, want));
	const uint64_t *v = (const uint64_t *)&c;
	size_t loop = offsetof(struct dp_counters, loop_ns_log2) / sizeof(uint64_t);
	for (size_t i = 0; i < NSLOTS; i++) {
		unsigned n = occurrences(b.s, v[i]);
		/* exactly once (the loop quantiles are bucket edges 2^k - 1, never these) */
		if (n != 1)
			printf("slot %zu (offset %zu%s): %u times\n", i, i * sizeof(uint64_t),
			       i >= loop ? ", loop histogram" : "", n);
		CU_ASSERT_EQUAL(n, 1);
	}
	sl_strbuf_free(&b);
}

static void test_names_unique(void)
{
	for (unsigned i = 0; i < dp_nscalar_fields; i++)
		for (unsigned j = i + 1; j < dp_nscalar_fields; j++) {
			const struct dp_counter_field *a = &dp_scalar_fields[i], *b = &dp_scalar_fields[j];
			CU_ASSERT(a->off != b->off);
			if (a->group == b->group && strcmp(a->name, b->name) == 0)
				printf("JSON name %s twice\n", a->name);
			CU_ASSERT(a->group != b->group || strcmp(a->name, b->name) != 0);
			CU_ASSERT(a->tel != b->tel || strcmp(a->tel_name, b->tel_name) != 0);
		}
	for (int i = 0; i < DP_STAGE_COUNT; i++)
		CU_ASSERT(dp_stage_names[i] && dp_stage_names[i][0] && dp_stage_docs[i][0]);
}

static void test_add_sums_all(void)
{
	static struct dp_counters a, b;
	fill(&a);
	memset(&b, 0, sizeof b);
	dp_counters_add(&b, &a);
	dp_counters_add(&b, &a);
	const uint64_t *va = (const uint64_t *)&a, *vb = (const uint64_t *)&b;
	for (size_t i = 0; i < NSLOTS; i++)
		CU_ASSERT_EQUAL(vb[i], 2 * va[i]);
}

/* The largest stats JSON there can be (every counter WIDE, DP_STATS_RULES_MAX rules with
 * ids at the policy's length cap, 128, the "(other)" line) is valid JSON and leaves room
 * in one control-socket frame for the reply around it (dataplane/control.c op_stats:
 * json_loads, then one frame). */
static void test_fullest_stats_fit_a_frame(void)
{
	static struct dp_counters c;
	memset(&c, 0, sizeof c);
	uint64_t *v = (uint64_t *)&c;
	for (size_t i = 0; i < NSLOTS; i++)
		v[i] = WIDE;
	static struct dp_rule_total r[DP_STATS_RULES_MAX];
	static char ids[DP_STATS_RULES_MAX][129];
	for (unsigned i = 0; i < DP_STATS_RULES_MAX; i++) {
		memset(ids[i], 'x', 128);
		snprintf(ids[i], 129, "%05u", i); /* unique, then x up to 128 */
		ids[i][5] = 'x';
		r[i] = (struct dp_rule_total){ids[i], WIDE};
	}
	struct dp_rule_totals rules = {r, DP_STATS_RULES_MAX, DP_STATS_RULES_MAX, WIDE};
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	dp_counters_json(&c, &rules, &b);
	CU_ASSERT_FATAL(!sl_strbuf_failed(&b));
	json_error_t e;
	json_t *j = json_loads(b.s, 0, &e);
	if (!j)
		printf("not JSON: %s at %d\n", e.text, e.position);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_EQUAL(json_object_size(json_object_get(j, "rules")), DP_STATS_RULES_MAX + 1); /* and "(other)" */
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(j, "messages"), "dump_failed")),
	                (json_int_t)WIDE);
	CU_ASSERT(b.len + 4096 < SL_FRAME_JSON_MAX);
	printf("the fullest stats JSON: %zu bytes (frame cap %u)\n", b.len, SL_FRAME_JSON_MAX);
	json_decref(j);
	sl_strbuf_free(&b);
}

int main(void)
{
	static const struct cu_test tests[] = {
		{"every counter in the stats JSON", test_every_counter_in_json},
		{"names unique per object and command", test_names_unique},
		{"the sum over workers adds every counter", test_add_sums_all},
		{"the fullest stats JSON fits one control frame", test_fullest_stats_fit_a_frame},
		{NULL, NULL},
	};
	return cu_run_suite("dataplane counters", NULL, NULL, tests);
}
