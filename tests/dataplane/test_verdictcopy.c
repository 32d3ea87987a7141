/* The verdicts held for the sinks between a message's end and the server's answer
 * (dataplane/smtp/verdictcopy.h) come from the worker's pool and go back to it: a flow's
 * messages one after another use one copy, its buffers reused, and every commit still
 * carries its own message's verdict and rule ids; messages waiting at once take a copy
 * each; the pool keeps at most DP_VERDICT_COPIES_KEPT, and no copy grown past
 * DP_VERDICT_COPY_KEEP_BYTES. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_run.h"
#include "flowharness.h"

static const char policy[] =
	"rule t.red {\n"
	"	description \"reported, passed\"\n"
	"	match raw \"RED\"\n"
	"	action alert\n"
	"}\n"
	"rule t.blue {\n"
	"	description \"reported, passed\"\n"
	"	match raw \"BLUE\"\n"
	"	action alert\n"
	"}\n";

/* What each commit carried, by value (the copy goes back to the pool right after). */
struct commit_log {
	unsigned n;
	struct {
		char verdict[512], rules[64];
		enum dp_msg_outcome outcome;
	} c[8];
};

static void *log_begin(void *impl)
{
	return impl; /* any non-NULL handle: the messages are not kept */
}

static void log_write(void *impl, void *msg, const uint8_t *p, size_t n)
{
	(void)impl, (void)msg, (void)p, (void)n;
}

static int log_commit(void *impl, void *msg, const struct dp_msg_meta *meta)
{
	(void)msg;
	struct commit_log *l = impl;
	if (l->n == sizeof l->c / sizeof l->c[0])
		return -1;
	snprintf(l->c[l->n].verdict, sizeof l->c[0].verdict, "%s", meta->verdict_json);
	char *r = l->c[l->n].rules;
	r[0] = 0;
	for (size_t i = 0; i < meta->nrules; i++)
		snprintf(r + strlen(r), sizeof l->c[0].rules - strlen(r), "%s%s", i ? " " : "", meta->rules[i]);
	l->c[l->n++].outcome = meta->outcome;
	return 1;
}

static void log_free(void *impl)
{
	(void)impl;
}

static const struct dp_sink_ops log_ops = {log_begin, log_write, log_commit, log_free, NULL, NULL, NULL};

/* A flow after EHLO whose journal is the log. */
struct fixture {
	struct harness h;
	struct commit_log log;
	struct dp_sink sink;
};

static struct dp_verdict_pool *start(struct fixture *f)
{
	h_init(&f->h, policy, NULL);
	memset(&f->log, 0, sizeof f->log);
	f->sink = (struct dp_sink){&log_ops, &f->log};
	f->h.in.ctx.journal = &f->sink;
	h_ehlo(&f->h, "250 mx\r\n");
	return &f->h.in.ctx.verdicts;
}

static void message(struct harness *h, const char *body)
{
	h_envelope(h);
	h_say(h, true, "DATA\r\n");
	h_say(h, false, "354 go\r\n");
	h_say(h, true, body);
}

static void test_one_flow_reuses_one_copy(void)
{
	static const struct {
		const char *body, *rules;
	} msgs[] = {
		{"Subject: a\r\n\r\nRED and BLUE\r\n.\r\n", "t.red t.blue"},
		{"Subject: b\r\n\r\nBLUE only\r\n.\r\n", "t.blue"},
		{"Subject: c\r\n\r\nnothing\r\n.\r\n", ""},
		{"Subject: d\r\n\r\nRED again\r\n.\r\n", "t.red"},
	};
	static struct fixture f;
	struct dp_verdict_pool *pool = start(&f);
	struct harness *h = &f.h;
	struct commit_log *log = &f.log;
	const struct dp_verdict_copy *first = NULL;
	for (unsigned i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
		message(h, msgs[i].body);
		CU_ASSERT_EQUAL(pool->nfree, 0); /* held until the answer */
		h_say(h, false, "250 2.0.0 Ok: queued\r\n");
		CU_ASSERT_EQUAL_FATAL(log->n, i + 1);
		CU_ASSERT_EQUAL(pool->nfree, 1);
		if (!first)
			first = pool->free;
		CU_ASSERT_PTR_EQUAL(pool->free, first);
		CU_ASSERT_STRING_EQUAL(log->c[i].rules, msgs[i].rules);
		CU_ASSERT_EQUAL(log->c[i].outcome, DP_MSG_DELIVERED);
		CU_ASSERT_PTR_NOT_NULL(strstr(log->c[i].verdict, "\"verdict\":\"pass\""));
		CU_ASSERT_EQUAL(strstr(log->c[i].verdict, "\"t.red\"") != NULL, strstr(msgs[i].rules, "t.red") != NULL);
		CU_ASSERT_EQUAL(strstr(log->c[i].verdict, "\"t.blue\"") != NULL, strstr(msgs[i].rules, "t.blue") != NULL);
	}
	h_free(h);
}

/* Two flows each with a message waiting for its answer: a copy each; both come back
 * when the flows expire (committed unanswered). */
static void test_waiting_messages_take_a_copy_each(void)
{
	static struct fixture f;
	struct dp_verdict_pool *pool = start(&f);
	struct harness *h = &f.h;
	struct commit_log *log = &f.log;
	message(h, "Subject: a\r\n\r\nRED\r\n.\r\n");
	h_use_port(h, 40001, 5000000);
	h_ehlo(h, "250 mx\r\n");
	message(h, "Subject: b\r\n\r\nBLUE\r\n.\r\n");
	CU_ASSERT_EQUAL(log->n, 0);
	CU_ASSERT_EQUAL(pool->nfree, 0);
	h_tick(h, 3600 * 1000);
	CU_ASSERT_EQUAL_FATAL(log->n, 2);
	CU_ASSERT_EQUAL(pool->nfree, 2);
	CU_ASSERT_EQUAL(log->c[0].outcome, DP_MSG_UNANSWERED);
	CU_ASSERT_STRING_EQUAL(log->c[0].rules, "t.red");
	CU_ASSERT_STRING_EQUAL(log->c[1].rules, "t.blue");
	h_free(h);
}

/* The pool's bounds, and a reused copy that names fewer rules than before. */
static void test_pool_bounds(void)
{
	static char ids[2000][40];
	static struct sl_rule_hit hits[2000];
	for (unsigned i = 0; i < 2000; i++) {
		snprintf(ids[i], sizeof ids[i], "rule.%04u.with.a.long.enough.name", i);
		hits[i] = (struct sl_rule_hit){.id = ids[i], .action = SL_ACT_ALERT, .count = 1};
	}
	struct sl_verdict small = {.action = SL_ACT_ALERT, .spam_probability = -1, .nhits = 3, .hits = hits};
	struct dp_verdict_pool pool = {0};
	static struct dp_verdict_copy *out[DP_VERDICT_COPIES_KEPT + 10];
	for (unsigned i = 0; i < DP_VERDICT_COPIES_KEPT + 10; i++)
		CU_ASSERT_PTR_NOT_NULL_FATAL(out[i] = dp_verdict_copy_take(&pool, &small));
	for (unsigned i = 0; i < DP_VERDICT_COPIES_KEPT + 10; i++)
		dp_verdict_copy_give(&pool, out[i]);
	CU_ASSERT_EQUAL(pool.nfree, DP_VERDICT_COPIES_KEPT);
	/* a copy reused for a verdict with fewer rules: none left over */
	struct sl_verdict one = small;
	one.nhits = 1;
	struct dp_verdict_copy *c = dp_verdict_copy_take(&pool, &one);
	CU_ASSERT_EQUAL_FATAL(c->nrules, 1);
	CU_ASSERT_STRING_EQUAL(c->rules[0], ids[0]);
	CU_ASSERT_PTR_NULL(strstr(dp_verdict_copy_json(c), ids[1]));
	dp_verdict_copy_give(&pool, c);
	/* 2000 long ids: over DP_VERDICT_COPY_KEEP_BYTES, freed rather than kept */
	struct sl_verdict big = small;
	big.nhits = 2000;
	c = dp_verdict_copy_take(&pool, &big);
	CU_ASSERT_EQUAL_FATAL(c->nrules, 2000);
	CU_ASSERT_STRING_EQUAL(c->rules[1999], ids[1999]);
	CU_ASSERT_EQUAL(pool.nfree, DP_VERDICT_COPIES_KEPT - 1);
	dp_verdict_copy_give(&pool, c);
	CU_ASSERT_EQUAL(pool.nfree, DP_VERDICT_COPIES_KEPT - 1);
	dp_verdict_pool_free(&pool);
	CU_ASSERT_EQUAL(pool.nfree, 0);
	CU_ASSERT_PTR_NULL(pool.free);
}

int main(void)
{
	static const struct cu_test tests[] = {
		{"one flow's messages reuse one copy", test_one_flow_reuses_one_copy},
		{"messages waiting at once take a copy each", test_waiting_messages_take_a_copy_each},
		{"the pool's bounds", test_pool_bounds},
		{NULL, NULL},
	};
	return cu_run_suite("dataplane verdict copies", NULL, NULL, tests);
}
