/* Messages each rule fired on (pipeline/rulehits.h): counted per bundle by rule number,
 * summed by id across a live swap -- a message that began on the old bundle counts
 * there, a rule the new bundle dropped keeps its count, a rule in both sums, and
 * nothing is lost when the old bundle is freed. A reader summing while bundles come
 * and go never reads a freed array (ASan) and never sees a total go down. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cunit_run.h"

#include "flowharness.h"
#include "pipeline/rulehits.h"

/* Rule numbers differ between the bundles: t.keep is 0 in A and 1 in B. */
static const char policy_a[] =
	"rule t.keep { match raw \"KEEPWORD\" score 1 }\n"
	"rule t.gone { match raw \"GONEWORD\" score 1 }\n";
static const char policy_b[] =
	"rule t.new { match raw \"NEWWORD\" score 1 }\n"
	"rule t.keep { match raw \"KEEPWORD\" score 1 }\n";

static struct dp_ruleset *grave[4];
static unsigned ngrave;

/* As sluice-dp's control thread: a retired bundle nobody uses is handed over, freed later. */
static bool to_grave(void *arg, struct dp_ruleset *rs)
{
	(void)arg;
	CU_ASSERT_FATAL(ngrave < 4);
	grave[ngrave++] = rs;
	return true;
}

static uint64_t total_of(struct dp_rulehits *book, const char *id)
{
	struct dp_rule_totals t;
	CU_ASSERT_FATAL(dp_rulehits_totals(book, &t));
	uint64_t n = 0;
	for (size_t i = 0; i < t.n; i++) {
		CU_ASSERT(t.v[i].hits > 0); /* only rules that fired */
		if (strcmp(t.v[i].id, id) == 0)
			n = t.v[i].hits;
	}
	dp_rule_totals_free(&t);
	return n;
}

static void message(struct harness *h, const char *words)
{
	char body[256];
	snprintf(body, sizeof body, "Subject: x\r\n\r\n%s\r\n", words);
	h_say(h, true, body);
	h_say(h, true, ".\r\n");
	h_say(h, false, "250 2.0.0 Ok\r\n");
}

static void test_counts_across_a_swap(void)
{
	struct harness h;
	h_init(&h, policy_a, NULL);
	struct dp_rulehits *book = dp_rulehits_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(book);
	struct dp_ruleset *ra = h.in.ctx.rules.cur;
	CU_ASSERT_FATAL(dp_rulehits_enter(book, ra));
	h.in.ctx.rules.dispose = to_grave;
	ngrave = 0;

	/* on A: both rules */
	h_to_data(&h);
	message(&h, "KEEPWORD and GONEWORD");
	CU_ASSERT_EQUAL(total_of(book, "t.keep"), 1);
	CU_ASSERT_EQUAL(total_of(book, "t.gone"), 1);

	/* a message begins on A, B is swapped in before it ends: it counts on A */
	h_use_port(&h, 40001, 5000);
	h_to_data(&h);
	h_say(&h, true, "Subject: y\r\n\r\n");
	struct sl_policy *pb = h_policy(policy_b);
	struct dp_ruleset *rb = dp_ruleset_new(pb, 2);
	sl_policy_unref(pb);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rb);
	CU_ASSERT_FATAL(dp_rulehits_enter(book, rb));
	dp_rules_switch(&h.in.ctx.rules, rb);
	CU_ASSERT_PTR_EQUAL(h.in.ctx.rules.retired, ra); /* still held by the messages' flows */
	message(&h, "KEEPWORD again");
	CU_ASSERT_EQUAL(ra->hits[0], 2); /* t.keep is A's rule 0 */
	CU_ASSERT_EQUAL(rb->hits[1], 0);

	/* on B: the rule in both, and the new one */
	h_use_port(&h, 40002, 9000);
	h_to_data(&h);
	message(&h, "KEEPWORD NEWWORD");
	CU_ASSERT_EQUAL(rb->hits[0], 1);
	CU_ASSERT_EQUAL(rb->hits[1], 1); /* t.keep is B's rule 1 */
	CU_ASSERT_EQUAL(total_of(book, "t.keep"), 3);
	CU_ASSERT_EQUAL(total_of(book, "t.gone"), 1);
	CU_ASSERT_EQUAL(total_of(book, "t.new"), 1);
	CU_ASSERT_EQUAL(h.ctr.messages, 3);

	/* the flows expire: A's last scanner goes, A is handed over and freed (folded in) */
	h_tick(&h, 24ull * 3600 * 1000);
	CU_ASSERT_EQUAL_FATAL(ngrave, 1);
	CU_ASSERT_PTR_EQUAL(grave[0], ra);
	dp_ruleset_free(ra);
	CU_ASSERT_EQUAL(total_of(book, "t.keep"), 3);
	CU_ASSERT_EQUAL(total_of(book, "t.gone"), 1); /* removed in B, its count kept */
	CU_ASSERT_EQUAL(total_of(book, "t.new"), 1);

	struct dp_rule_totals t;
	CU_ASSERT_FATAL(dp_rulehits_totals(book, &t));
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	dp_counters_json(&h.ctr, &t, &b);
	CU_ASSERT_FATAL(!sl_strbuf_failed(&b));
	CU_ASSERT_PTR_NOT_NULL(strstr(b.s, "\"rules\":{\"t.gone\":1,\"t.keep\":3,\"t.new\":1}"));
	sl_strbuf_free(&b);
	dp_rule_totals_free(&t);

	/* the worker stops: B goes too, nothing lost */
	h.in.ctx.rules.dispose = NULL;
	h_free(&h);
	CU_ASSERT_EQUAL(total_of(book, "t.keep"), 3);
	CU_ASSERT_EQUAL(total_of(book, "t.new"), 1);
	dp_rulehits_free(book);
}

/* The stats reply lists the rules with the most hits; the others' hits as one sum. */
static void test_top_keeps_the_sum(void)
{
	static const char *ids[] = {"r.a", "r.b", "r.c", "r.d", "r.e"};
	static const uint64_t hits[] = {5, 9, 1, 9, 2};
	struct dp_rule_totals t = {calloc(5, sizeof *t.v), 5, 5, 0};
	CU_ASSERT_PTR_NOT_NULL_FATAL(t.v);
	for (int i = 0; i < 5; i++)
		t.v[i] = (struct dp_rule_total){strdup(ids[i]), hits[i]};
	dp_rule_totals_top(&t, 3);
	CU_ASSERT_EQUAL_FATAL(t.n, 3);
	CU_ASSERT_STRING_EQUAL(t.v[0].id, "r.a"); /* by id again */
	CU_ASSERT_STRING_EQUAL(t.v[1].id, "r.b");
	CU_ASSERT_STRING_EQUAL(t.v[2].id, "r.d");
	CU_ASSERT_EQUAL(t.other, 3);
	dp_rule_totals_top(&t, 3); /* nothing more to leave out */
	CU_ASSERT_EQUAL(t.n, 3);
	CU_ASSERT_EQUAL(t.other, 3);
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	static struct dp_counters c;
	dp_counters_json(&c, &t, &b);
	CU_ASSERT_FATAL(!sl_strbuf_failed(&b));
	CU_ASSERT_PTR_NOT_NULL(strstr(b.s, "\"rules\":{\"r.a\":5,\"r.b\":9,\"r.d\":9,\"(other)\":3}"));
	sl_strbuf_free(&b);
	dp_rule_totals_free(&t);
}

/* ---- a reader while bundles come and go ------------------------------------------- */

#define CHURN 60

struct reader {
	struct dp_rulehits *book;
	volatile bool stop;
	unsigned reads, went_down, failed;
};

static void *read_loop(void *arg)
{
	struct reader *r = arg;
	uint64_t last = 0;
	while (!r->stop) { /* no CUnit assertion off the main thread */
		struct dp_rule_totals t;
		if (!dp_rulehits_totals(r->book, &t)) {
			r->failed++;
			continue;
		}
		uint64_t n = 0;
		for (size_t i = 0; i < t.n; i++)
			if (strcmp(t.v[i].id, "t.keep") == 0)
				n = t.v[i].hits;
		dp_rule_totals_free(&t);
		r->went_down += n < last;
		last = n;
		r->reads++;
	}
	return NULL;
}

static void test_reader_during_churn(void)
{
	struct sl_policy *pa = h_policy(policy_a), *pb = h_policy(policy_b);
	struct reader r = {.book = dp_rulehits_new()};
	CU_ASSERT_PTR_NOT_NULL_FATAL(r.book);
	pthread_t th;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, read_loop, &r), 0);
	for (unsigned i = 0; i < CHURN; i++) {
		struct sl_policy *p = i % 2 ? pb : pa;
		struct dp_ruleset *rs = dp_ruleset_new(p, i);
		CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
		CU_ASSERT_FATAL(dp_rulehits_enter(r.book, rs));
		/* as a worker would: t.keep is rule 0 in A, 1 in B */
		__atomic_store_n(&rs->hits[i % 2], 1, __ATOMIC_RELAXED);
		usleep(200);
		dp_ruleset_free(rs);
	}
	r.stop = true;
	pthread_join(th, NULL);
	CU_ASSERT(r.reads > 0);
	CU_ASSERT_EQUAL(r.went_down, 0);
	CU_ASSERT_EQUAL(r.failed, 0);
	CU_ASSERT_EQUAL(total_of(r.book, "t.keep"), CHURN);
	CU_ASSERT_EQUAL(total_of(r.book, "t.gone"), 0);
	dp_rulehits_free(r.book);
	sl_policy_unref(pa);
	sl_policy_unref(pb);
}

int main(void)
{
	static const struct cu_test tests[] = {
		{"counts by rule across a live swap", test_counts_across_a_swap},
		{"a reader while bundles come and go", test_reader_during_churn},
		{"the top rules and the sum of the others", test_top_keeps_the_sum},
		{NULL, NULL},
	};
	return cu_run_suite("dataplane rule hits", NULL, NULL, tests);
}
