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

/* The scanner loses its scratch: every scan of the message fails. */
static void break_scratch(struct sl_scanner *sc)
{
	hs_free_scratch(sc->scratch);
	sc->scratch = NULL;
}

static void restore_scratch(struct sl_scanner *sc, struct sl_policy *p)
{
	for (uint32_t d = 0; d < p->ndbs; d++)
		if (p->dbs[d].db)
			CU_ASSERT_EQUAL_FATAL(hs_alloc_scratch(p->dbs[d].db, &sc->scratch), HS_SUCCESS);
}

static void test_hyperscan_error_tempfails(void)
{
	struct sl_policy *p = tp_policy(kw_policy, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	struct sl_scanner *sc = sl_scanner_new();
	struct tp_msg t = {0};
	tp_begin(&t, sc, p, SL_DIR_OUTBOUND);
	break_scratch(sc);
	tp_text(&t, "1", "the secret plan");
	const struct sl_verdict *v = tp_end(&t);
	CU_ASSERT(sl_msgscan_failed(t.m));
	CU_ASSERT_EQUAL_FATAL(v->action, SL_ACT_TEMPFAIL);
	CU_ASSERT_STRING_EQUAL(v->reply, "451 4.3.0 Gateway could not scan the message, try again later");
	CU_ASSERT_STRING_EQUAL(v->decided_by, "engine.scan_error");
	CU_ASSERT_EQUAL(v->nhits, 0); /* the keyword was never seen */

	/* the same msgscan, scratch back: the next message scans (streams were renewed) */
	restore_scratch(sc, p);
	sl_msgscan_reset(t.m, SL_DIR_OUTBOUND);
	tp_text(&t, "1", "the secret plan");
	v = tp_end(&t);
	CU_ASSERT(!sl_msgscan_failed(t.m));
	CU_ASSERT_EQUAL(v->action, SL_ACT_REJECT);
	CU_ASSERT_PTR_NOT_NULL(tp_hit(v, "kw"));
	tp_free(&t);
	sl_scanner_free(sc);
	sl_policy_unref(p);
}

static void test_block_scan_error(void)
{
	/* a header (block database): the same */
	struct sl_policy *p = tp_policy("rule subj { match header:subject \"offer\" action alert }\n", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	struct sl_scanner *sc = sl_scanner_new();
	struct tp_msg t = {0};
	tp_begin(&t, sc, p, SL_DIR_INBOUND);
	break_scratch(sc);
	tp_header(&t, "", "Subject", "special offer");
	const struct sl_verdict *v = tp_end(&t);
	CU_ASSERT(sl_msgscan_failed(t.m));
	CU_ASSERT_EQUAL(v->action, SL_ACT_TEMPFAIL);
	tp_free(&t);
	sl_scanner_free(sc);
	sl_policy_unref(p);
}

static void test_policy_decides(void)
{
	/* a policy with a rule on the signal decides itself: here, let it through, reported */
	struct sl_policy *p = tp_policy("rule kw { match body \"secret\" action reject }\n"
	                                "rule unscanned { match signal engine.scan_error action alert }\n",
	                                NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	struct sl_scanner *sc = sl_scanner_new();
	struct tp_msg t = {0};
	tp_begin(&t, sc, p, SL_DIR_OUTBOUND);
	break_scratch(sc);
	tp_text(&t, "1", "the secret plan");
	const struct sl_verdict *v = tp_end(&t);
	CU_ASSERT(sl_msgscan_failed(t.m));
	CU_ASSERT_EQUAL(v->action, SL_ACT_ALERT);
	CU_ASSERT_PTR_NOT_NULL(tp_hit(v, "unscanned"));
	tp_free(&t);
	sl_scanner_free(sc);
	sl_policy_unref(p);
}

static void test_engine_memory_signal(void)
{
	/* the session ran out of memory inside the message: deferred by default */
	struct sl_policy *p = tp_policy(kw_policy, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	struct sl_scanner *sc = sl_scanner_new();
	struct tp_msg t = {0};
	tp_begin(&t, sc, p, SL_DIR_OUTBOUND);
	tp_text(&t, "1", "harmless");
	tp_signal(&t, "engine.memory");
	const struct sl_verdict *v = tp_end(&t);
	CU_ASSERT(sl_msgscan_failed(t.m));
	CU_ASSERT_EQUAL_FATAL(v->action, SL_ACT_TEMPFAIL);
	CU_ASSERT_STRING_EQUAL(v->decided_by, "engine.memory");
	/* a rule that already rejects keeps its verdict */
	sl_msgscan_reset(t.m, SL_DIR_OUTBOUND);
	tp_text(&t, "1", "secret");
	tp_signal(&t, "engine.memory");
	v = tp_end(&t);
	CU_ASSERT_EQUAL(v->action, SL_ACT_REJECT);
	tp_free(&t);
	sl_scanner_free(sc);
	sl_policy_unref(p);
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
	struct sl_policy *p = tp_policy("rule h { match header /X-Tag: evil/ action reject }\n", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	struct sl_scanner *sc = sl_scanner_new();
	struct tp_msg t = {0};
	tp_begin(&t, sc, p, SL_DIR_INBOUND);
	struct sl_memacct acct = {.charge = refuse, .release = release};
	sl_msgscan_set_acct(t.m, &acct);
	tp_header(&t, "", "X-Tag", "evil");
	const struct sl_verdict *v = tp_end(&t);
	CU_ASSERT(sl_msgscan_failed(t.m));
	CU_ASSERT_EQUAL_FATAL(v->action, SL_ACT_TEMPFAIL);
	CU_ASSERT_STRING_EQUAL(v->decided_by, "engine.memory");
	tp_free(&t);
	sl_scanner_free(sc);
	sl_policy_unref(p);
}

int main(void)
{
	static const struct cu_test tests[] = {
		{"Hyperscan stream error: tempfail, then recovery", test_hyperscan_error_tempfails},
		{"Hyperscan block error: tempfail", test_block_scan_error},
		{"a rule on engine.scan_error decides", test_policy_decides},
		{"engine.memory in the message: tempfail", test_engine_memory_signal},
		{"header buffer refused by the account", test_header_buffer_refused},
		{NULL, NULL},
	};
	return cu_run_suite("policy_scanfail", NULL, NULL, tests);
}
