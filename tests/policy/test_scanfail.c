/* Messages the matcher could not scan completely are not passed silently: a Hyperscan
 * error (forced here by taking the scanner's scratch away, which every hs_scan and
 * hs_scan_stream refuses with HS_INVALID), an engine.memory signal, a header buffer the
 * account refuses. Before, hs_scan's result was ignored and such a message passed. */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "matcher.h"

static const char *kw_policy = "rule kw { match body \"secret\" action reject }\n";

/* A policy, its scanner, and a message begun. */
struct fixture {
	struct sl_policy *p;
	struct sl_scanner *sc;
	struct tp_msg t;
};

static void setup(struct fixture *f, const char *rules, enum sl_direction dir)
{
	f->p = tp_policy(rules, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f->p);
	f->sc = sl_scanner_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(f->sc);
	memset(&f->t, 0, sizeof f->t);
	tp_begin(&f->t, f->sc, f->p, dir);
}

static void teardown(struct fixture *f)
{
	tp_free(&f->t);
	sl_scanner_free(f->sc);
	sl_policy_unref(f->p);
}

/* The scanner loses its scratch: every scan of the message fails. */
static void break_scratch(struct fixture *f)
{
	hs_free_scratch(f->sc->scratch);
	f->sc->scratch = NULL;
}

static void restore_scratch(struct fixture *f)
{
	for (uint32_t d = 0; d < f->p->ndbs; d++)
		if (f->p->dbs[d].db)
			CU_ASSERT_EQUAL_FATAL(hs_alloc_scratch(f->p->dbs[d].db, &f->sc->scratch), HS_SUCCESS);
}

static void assert_deferred(const struct sl_verdict *v, const char *by)
{
	CU_ASSERT_EQUAL_FATAL(v->action, SL_ACT_TEMPFAIL);
	CU_ASSERT_STRING_EQUAL(v->reply, "451 4.3.0 Gateway could not scan the message, try again later");
	CU_ASSERT_STRING_EQUAL(v->decided_by, by);
}

static void test_hyperscan_error_tempfails(void)
{
	struct fixture f;
	setup(&f, kw_policy, SL_DIR_OUTBOUND);
	break_scratch(&f);
	tp_text(&f.t, "1", "the secret plan");
	const struct sl_verdict *v = tp_end(&f.t);
	CU_ASSERT(sl_msgscan_failed(f.t.m));
	assert_deferred(v, "engine.scan_error");
	CU_ASSERT_EQUAL(v->nhits, 0); /* the keyword was never seen */

	/* the same msgscan, scratch back: the next message scans (streams were renewed) */
	restore_scratch(&f);
	sl_msgscan_reset(f.t.m, SL_DIR_OUTBOUND);
	tp_text(&f.t, "1", "the secret plan");
	v = tp_end(&f.t);
	CU_ASSERT(!sl_msgscan_failed(f.t.m));
	CU_ASSERT_EQUAL(v->action, SL_ACT_REJECT);
	CU_ASSERT_PTR_NOT_NULL(tp_hit(v, "kw"));
	teardown(&f);
}

static void test_block_scan_error(void)
{
	/* a header (block database): the same */
	struct fixture f;
	setup(&f, "rule subj { match header:subject \"offer\" action alert }\n", SL_DIR_INBOUND);
	break_scratch(&f);
	tp_header(&f.t, "", "Subject", "special offer");
	const struct sl_verdict *v = tp_end(&f.t);
	CU_ASSERT(sl_msgscan_failed(f.t.m));
	assert_deferred(v, "engine.scan_error");
	teardown(&f);
}

static void test_policy_decides(void)
{
	/* a policy with a rule on the signal decides itself: here, let it through, reported */
	struct fixture f;
	setup(&f, "rule kw { match body \"secret\" action reject }\n"
	          "rule unscanned { match signal engine.scan_error action alert }\n", SL_DIR_OUTBOUND);
	break_scratch(&f);
	tp_text(&f.t, "1", "the secret plan");
	const struct sl_verdict *v = tp_end(&f.t);
	CU_ASSERT(sl_msgscan_failed(f.t.m));
	CU_ASSERT_EQUAL(v->action, SL_ACT_ALERT);
	CU_ASSERT_PTR_NOT_NULL(tp_hit(v, "unscanned"));
	teardown(&f);
}

static void test_rule_for_other_direction(void)
{
	/* a rule on the signal that does not apply to this message decides nothing */
	struct fixture f;
	setup(&f, "rule unscanned { direction outbound match signal engine.scan_error action alert }\n"
	          "rule kw { match body \"secret\" action reject }\n", SL_DIR_INBOUND);
	break_scratch(&f);
	tp_text(&f.t, "1", "hello");
	const struct sl_verdict *v = tp_end(&f.t);
	assert_deferred(v, "engine.scan_error");
	teardown(&f);
}

static void test_engine_memory_signal(void)
{
	/* the session ran out of memory inside the message: deferred by default */
	struct fixture f;
	setup(&f, kw_policy, SL_DIR_OUTBOUND);
	tp_text(&f.t, "1", "harmless");
	tp_signal(&f.t, "engine.memory");
	const struct sl_verdict *v = tp_end(&f.t);
	CU_ASSERT(sl_msgscan_failed(f.t.m));
	assert_deferred(v, "engine.memory");
	/* a rule that already rejects keeps its verdict */
	sl_msgscan_reset(f.t.m, SL_DIR_OUTBOUND);
	tp_text(&f.t, "1", "secret");
	tp_signal(&f.t, "engine.memory");
	v = tp_end(&f.t);
	CU_ASSERT_EQUAL(v->action, SL_ACT_REJECT);
	teardown(&f);
}

static bool refuse(void *ctx, size_t n)
{
	(void)ctx;
	(void)n;
	return false;
}

static void release(void *ctx, size_t n)
{
	(void)ctx;
	(void)n;
	CU_FAIL("released what was never charged");
}

static void test_header_buffer_refused(void)
{
	struct fixture f;
	setup(&f, "rule h { match header /X-Tag: evil/ action reject }\n", SL_DIR_INBOUND);
	struct sl_memacct acct = {.charge = refuse, .release = release};
	sl_msgscan_set_acct(f.t.m, &acct);
	tp_header(&f.t, "", "X-Tag", "evil");
	const struct sl_verdict *v = tp_end(&f.t);
	CU_ASSERT(sl_msgscan_failed(f.t.m));
	assert_deferred(v, "engine.memory");
	teardown(&f);
}

int main(void)
{
	static const struct cu_test tests[] = {
		{"Hyperscan stream error: tempfail, then recovery", test_hyperscan_error_tempfails},
		{"Hyperscan block error: tempfail", test_block_scan_error},
		{"a rule on engine.scan_error decides", test_policy_decides},
		{"a rule on it for the other direction does not", test_rule_for_other_direction},
		{"engine.memory in the message: tempfail", test_engine_memory_signal},
		{"header buffer refused by the account", test_header_buffer_refused},
		{NULL, NULL},
	};
	return cu_run_suite("policy_scanfail", NULL, NULL, tests);
}
