/* Counts, boolean combinations, direction, actions, scores and thresholds, and the
 * verdict's JSON. */
#include <CUnit/Basic.h>
#include <string.h>

#include "helpers.h"

static struct sl_scanner *sc;

static int init(void)
{
	sc = sl_scanner_new();
	return sc ? 0 : 1;
}

static int fini(void)
{
	sl_scanner_free(sc);
	return 0;
}

static struct sl_policy *must(struct sl_policy *p)
{
	if (!p)
		fprintf(stderr, "\n%s\n", tp_last_error);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	return p;
}

static void test_counts(void)
{
	struct sl_policy *p = must(tp_policy(
		"rule cards { match body /[0-9](?:[ -]?[0-9]){12,18}\\b/ validate luhn count >= 3 distinct action reject }\n"
		"rule words { match body \"spam\" count >= 3 action alert }\n"
		"rule kws { match body keywords \"kw.txt\" count >= 2 distinct action quarantine }\n",
		"kw.txt", "red\ngreen\nblue\n", NULL));
	struct tp_msg t = {0};
	/* the same card three times is one distinct card */
	const struct sl_verdict *v = tp_body(&t, sc, p, "4111111111111111 4111 1111 1111 1111 4111-1111-1111-1111");
	CU_ASSERT_PTR_NULL(tp_hit(v, "cards"));
	tp_free(&t);
	v = tp_body(&t, sc, p, "4111111111111111, 5555 5555 5555 4444 and 6011111111111117");
	CU_ASSERT_PTR_NOT_NULL(tp_hit(v, "cards"));
	CU_ASSERT_EQUAL(tp_hit(v, "cards")->count, 3);
	CU_ASSERT_EQUAL(v->action, SL_ACT_REJECT);
	tp_free(&t);
	/* invalid numbers do not count */
	v = tp_body(&t, sc, p, "4111111111111112, 5555 5555 5555 4444 and 6011111111111117");
	CU_ASSERT_PTR_NULL(tp_hit(v, "cards"));
	tp_free(&t);
	/* non-distinct counts every match */
	v = tp_body(&t, sc, p, "spam spam spam");
	CU_ASSERT_EQUAL(tp_hit(v, "words") ? tp_hit(v, "words")->count : 0, 3);
	tp_free(&t);
	v = tp_body(&t, sc, p, "spam spam");
	CU_ASSERT_PTR_NULL(tp_hit(v, "words"));
	tp_free(&t);
	/* distinct keywords: two different ones needed */
	v = tp_body(&t, sc, p, "red red red red");
	CU_ASSERT_PTR_NULL(tp_hit(v, "kws"));
	tp_free(&t);
	v = tp_body(&t, sc, p, "red and blue");
	CU_ASSERT_PTR_NOT_NULL(tp_hit(v, "kws"));
	tp_free(&t);
	/* counts add up across parts */
	tp_begin(&t, sc, p, SL_DIR_OUTBOUND);
	tp_text(&t, "1", "spam");
	tp_leaf(&t, "2", "text/html", NULL, NULL, "spam spam", 9, NULL, 0);
	v = tp_end(&t);
	CU_ASSERT_PTR_NOT_NULL(tp_hit(v, "words"));
	tp_free(&t);
	sl_policy_unref(p);
}

static void test_combinations(void)
{
	struct sl_policy *p = must(tp_policy(
		"rule combo {\n"
		"  match inv: header:subject \"invoice\" nocase\n"
		"  match zip: filename /\\.zip$/\n"
		"  match known: mail-from /@partner\\.test$/\n"
		"  when inv and zip and not known\n"
		"  action quarantine\n"
		"}\n"
		"rule either { match a: body \"alpha\" match b: body \"beta\" when a or b action alert }\n"
		"rule both { match a: body \"alpha\" match b: body \"beta\" action tempfail }\n"
		"rule absent { match x: header:x-ok \"yes\" when not x action alert }\n",
		NULL));
	struct tp_msg t = {0};
	tp_begin(&t, sc, p, SL_DIR_INBOUND);
	tp_envelope(&t, "h", "a@other.test", NULL, "b@example.com", NULL);
	tp_header(&t, "", "Subject", "Your Invoice");
	tp_leaf(&t, "2", "application/zip", "inv.zip", "attachment", "PK", 2, NULL, 0);
	const struct sl_verdict *v = tp_end(&t);
	CU_ASSERT_PTR_NOT_NULL(tp_hit(v, "combo"));
	CU_ASSERT_PTR_NOT_NULL(tp_hit(v, "absent"));   /* holds with no match at all */
	CU_ASSERT_EQUAL(v->action, SL_ACT_QUARANTINE);
	tp_free(&t);

	tp_begin(&t, sc, p, SL_DIR_INBOUND);
	tp_envelope(&t, "h", "a@partner.test", NULL, "b@example.com", NULL);
	tp_header(&t, "", "Subject", "Your Invoice");
	tp_header(&t, "", "X-OK", "yes");
	tp_leaf(&t, "2", "application/zip", "inv.zip", "attachment", "PK", 2, NULL, 0);
	v = tp_end(&t);
	CU_ASSERT_PTR_NULL(tp_hit(v, "combo"));
	CU_ASSERT_PTR_NULL(tp_hit(v, "absent"));
	CU_ASSERT_EQUAL(v->action, SL_ACT_PASS);
	tp_free(&t);

	v = tp_body(&t, sc, p, "beta only");
	CU_ASSERT_PTR_NOT_NULL(tp_hit(v, "either"));
	CU_ASSERT_PTR_NULL(tp_hit(v, "both"));
	CU_ASSERT_EQUAL(v->action, SL_ACT_ALERT);
	tp_free(&t);
	v = tp_body(&t, sc, p, "beta and alpha");
	CU_ASSERT_PTR_NOT_NULL(tp_hit(v, "both"));
	CU_ASSERT_EQUAL(v->action, SL_ACT_TEMPFAIL);
	CU_ASSERT_STRING_EQUAL(v->reply, "451 4.7.1 Message deferred by policy, try again later");
	tp_free(&t);
	sl_policy_unref(p);
}

static void test_direction(void)
{
	struct sl_policy *p = must(tp_policy(
		"internal { domain example.com\n network 192.0.2.0/24, 2001:db8::/32 }\n"
		"rule out { direction outbound match body \"x\" action alert }\n"
		"rule in { direction inbound match body \"x\" action alert }\n"
		"rule int { direction internal match body \"x\" action alert }\n"
		"rule any { match body \"x\" action alert }\n",
		NULL));
	static const struct {
		const char *from, *client, *rcpt, *rcpt2;
		enum sl_direction want;
	} cases[] = {
		{"a@example.com", "198.51.100.1", "b@example.net", NULL, SL_DIR_OUTBOUND},    /* internal domain */
		{"a@other.test", "192.0.2.7", "b@example.net", NULL, SL_DIR_OUTBOUND},        /* internal network */
		{"a@other.test", "2001:db8::25", "b@example.net", NULL, SL_DIR_OUTBOUND},
		{"a@mail.EXAMPLE.com", "198.51.100.1", "b@example.net", NULL, SL_DIR_OUTBOUND}, /* subdomain */
		{"a@example.com", "192.0.2.7", "b@example.com", NULL, SL_DIR_INTERNAL},
		{"a@example.com", "192.0.2.7", "b@example.com", "c@example.net", SL_DIR_OUTBOUND},
		{"a@other.test", "198.51.100.1", "b@example.com", NULL, SL_DIR_INBOUND},
		{"a@notexample.com", "198.51.100.1", "b@example.com", NULL, SL_DIR_INBOUND},
		{"", "203.0.113.5", "b@example.com", NULL, SL_DIR_INBOUND},                   /* null sender */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct tp_msg t = {0};
		tp_begin(&t, sc, p, SL_DIR_UNKNOWN);
		tp_envelope(&t, "h", cases[i].from, cases[i].client, cases[i].rcpt, cases[i].rcpt2, NULL);
		tp_text(&t, "1", "x");
		const struct sl_verdict *v = tp_end(&t);
		if (v->direction != cases[i].want)
			fprintf(stderr, "\ncase %zu: direction %s\n", i, sl_direction_name(v->direction));
		CU_ASSERT_EQUAL(v->direction, cases[i].want);
		CU_ASSERT_EQUAL(v->nhits, 2);
		CU_ASSERT_PTR_NOT_NULL(tp_hit(v, "any"));
		const char *want_rule = cases[i].want == SL_DIR_OUTBOUND ? "out" :
		                        cases[i].want == SL_DIR_INBOUND ? "in" : "int";
		CU_ASSERT_PTR_NOT_NULL(tp_hit(v, want_rule));
		tp_free(&t);
	}
	/* forced direction wins */
	struct tp_msg t = {0};
	tp_begin(&t, sc, p, SL_DIR_INBOUND);
	tp_envelope(&t, "h", "a@example.com", "192.0.2.7", "b@example.net", NULL);
	tp_text(&t, "1", "x");
	CU_ASSERT_EQUAL(tp_end(&t)->direction, SL_DIR_INBOUND);
	tp_free(&t);
	sl_policy_unref(p);
}

/* Rules naming rules (SpamAssassin's meta): boolean and arithmetic, in any file order,
 * and scores in thousandths. */
static void test_meta_rules(void)
{
	struct sl_policy *p = must(tp_policy(
		"threshold 5 quarantine\n"
		"rule both { when a and not b score 1.5 }\n"
		"rule a { match body \"alpha\" score 0 }\n"
		"rule b { match body \"beta\" score 0 }\n"
		"rule c { match body \"gamma\" score 0.001 }\n"
		"rule two { when a + b + c >= 2 score 2.499 }\n"
		"rule chain { when two and both score -0.25 }\n"
		"rule weighted { when (a + b) * 2 > 3 score 1 }\n"
		"rule mixed { match d: body \"delta\" when d and (c or b) score 3 }\n",
		NULL));
	struct tp_msg t = {0};
	const struct sl_verdict *v = tp_body(&t, sc, p, "alpha gamma");
	CU_ASSERT_PTR_NOT_NULL(tp_hit(v, "both"));
	CU_ASSERT_PTR_NOT_NULL(tp_hit(v, "two"));
	CU_ASSERT_PTR_NOT_NULL(tp_hit(v, "chain"));
	CU_ASSERT_PTR_NULL(tp_hit(v, "weighted"));
	CU_ASSERT(v->score > 3.7495 && v->score < 3.7505); /* 1.5 + 0.001 + 2.499 - 0.25 */
	tp_free(&t);
	v = tp_body(&t, sc, p, "alpha beta");
	CU_ASSERT_PTR_NULL(tp_hit(v, "both"));
	CU_ASSERT_PTR_NULL(tp_hit(v, "chain"));
	CU_ASSERT_PTR_NOT_NULL(tp_hit(v, "weighted"));
	CU_ASSERT_EQUAL(v->nhits, 4); /* a, b, two, weighted, in file order */
	CU_ASSERT_STRING_EQUAL(v->hits[0].id, "a");
	CU_ASSERT_STRING_EQUAL(v->hits[3].id, "weighted");
	tp_free(&t);
	v = tp_body(&t, sc, p, "delta gamma");
	CU_ASSERT_PTR_NOT_NULL(tp_hit(v, "mixed"));
	CU_ASSERT(v->score > 3.0005 && v->score < 3.0015);
	tp_free(&t);
	/* the next message starts with nothing fired */
	v = tp_body(&t, sc, p, "nothing");
	CU_ASSERT_EQUAL(v->nhits, 0);
	tp_free(&t);
	sl_policy_unref(p);
}

static void test_actions_and_scores(void)
{
	struct sl_policy *p = must(tp_policy(
		"threshold 5 quarantine \"250 2.0.0 held\"\n"
		"threshold 10 reject \"554 5.7.1 spam score\"\n"
		"rule s3 { match body \"three\" score 3 }\n"
		"rule s4 { match body \"four\" score 4 }\n"
		"rule s8 { match body \"eight\" score 8 }\n"
		"rule ham { match body \"ham\" score -6 }\n"
		"rule trusted { match mail-from \"@trusted.test\" action pass }\n"
		"rule virus { match body \"virus\" action reject \"554 5.7.1 virus\" }\n"
		"rule alert { match body \"note\" action alert }\n"
		"rule hold { match body \"hold\" action quarantine }\n",
		NULL));
	struct tp_msg t = {0};
	const struct sl_verdict *v = tp_body(&t, sc, p, "three");
	CU_ASSERT_EQUAL(v->score, 3);
	CU_ASSERT_EQUAL(v->action, SL_ACT_PASS);
	CU_ASSERT_PTR_NULL(v->reply);
	tp_free(&t);
	v = tp_body(&t, sc, p, "three four");
	CU_ASSERT_EQUAL(v->score, 7);
	CU_ASSERT_EQUAL(v->action, SL_ACT_QUARANTINE);
	CU_ASSERT_STRING_EQUAL(v->reply, "250 2.0.0 held");
	CU_ASSERT_STRING_EQUAL(v->decided_by, "threshold");
	tp_free(&t);
	v = tp_body(&t, sc, p, "three eight");
	CU_ASSERT_EQUAL(v->score, 11);
	CU_ASSERT_EQUAL(v->action, SL_ACT_REJECT);
	CU_ASSERT_STRING_EQUAL(v->reply, "554 5.7.1 spam score");
	tp_free(&t);
	v = tp_body(&t, sc, p, "three eight ham");
	CU_ASSERT_EQUAL(v->score, 5);
	CU_ASSERT_EQUAL(v->action, SL_ACT_QUARANTINE);
	tp_free(&t);
	v = tp_body(&t, sc, p, "note");
	CU_ASSERT_EQUAL(v->action, SL_ACT_ALERT);
	tp_free(&t);
	v = tp_body(&t, sc, p, "hold note");
	CU_ASSERT_EQUAL(v->action, SL_ACT_QUARANTINE);
	CU_ASSERT_STRING_EQUAL(v->reply, "250 2.0.0 Ok: queued");
	CU_ASSERT_STRING_EQUAL(v->decided_by, "hold");
	tp_free(&t);
	/* the most severe action wins */
	v = tp_body(&t, sc, p, "hold virus eight four");
	CU_ASSERT_EQUAL(v->action, SL_ACT_REJECT);
	CU_ASSERT_STRING_EQUAL(v->reply, "554 5.7.1 virus");
	CU_ASSERT_STRING_EQUAL(v->decided_by, "virus");
	tp_free(&t);
	/* a pass rule exempts from the thresholds, not from other rules */
	tp_begin(&t, sc, p, SL_DIR_INBOUND);
	tp_envelope(&t, "h", "news@trusted.test", NULL, "b@example.com", NULL);
	tp_text(&t, "1", "eight four three");
	v = tp_end(&t);
	CU_ASSERT_EQUAL(v->score, 15);
	CU_ASSERT_EQUAL(v->action, SL_ACT_PASS);
	tp_free(&t);
	tp_begin(&t, sc, p, SL_DIR_INBOUND);
	tp_envelope(&t, "h", "news@trusted.test", NULL, "b@example.com", NULL);
	tp_text(&t, "1", "virus");
	CU_ASSERT_EQUAL(tp_end(&t)->action, SL_ACT_REJECT);
	tp_free(&t);
	sl_policy_unref(p);
}

static void test_json_and_evidence(void)
{
	struct sl_policy *p = must(tp_policy(
		"rule dlp.card { match body, attachment /[0-9](?:[ -]?[0-9]){12,18}\\b/ validate luhn action quarantine }\n"
		"rule kw { match body keywords \"kw.txt\" score 2 }\n",
		"kw.txt", "say \"hi\"\n", NULL));
	struct tp_msg t = {0};
	tp_begin(&t, sc, p, SL_DIR_OUTBOUND);
	tp_text(&t, "1", "card 4111 1111 1111 1111 and say \"hi\"");
	tp_leaf(&t, "2", "application/pdf", "a.pdf", "attachment", "x5555555555554444x 5555555555554444", 35, NULL, 0);
	const struct sl_verdict *v = tp_end(&t);
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	sl_verdict_json(v, &b);
	const char *want =
		"{\"verdict\":\"quarantine\",\"reply\":\"250 2.0.0 Ok: queued\",\"score\":2,"
		"\"direction\":\"outbound\",\"alert\":false,\"decided_by\":\"dlp.card\",\"rules\":["
		"{\"id\":\"dlp.card\",\"action\":\"quarantine\",\"score\":0,\"count\":2,\"evidence\":["
		"{\"scope\":\"body\",\"part\":\"1\",\"offset\":24},"
		"{\"scope\":\"attachment\",\"part\":\"2\",\"offset\":35}]},"
		"{\"id\":\"kw\",\"action\":\"pass\",\"score\":2,\"count\":1,\"evidence\":["
		"{\"scope\":\"body\",\"part\":\"1\",\"offset\":37,\"match\":\"say \\\"hi\\\"\"}]}]}";
	if (strcmp(b.s, want) != 0)
		fprintf(stderr, "\ngot:  %s\nwant: %s\n", b.s, want);
	CU_ASSERT_STRING_EQUAL(b.s, want);
	sl_strbuf_free(&b);
	tp_free(&t);
	sl_policy_unref(p);
}

/* Evidence is bounded per rule and per message; counts are not. */
static void test_evidence_bounded(void)
{
	struct sl_policy *p = must(tp_policy("rule w { match body \"w\" count >= 1000 action alert }\n", NULL));
	char body[3000];
	for (int i = 0; i < 1500; i++) {
		body[2 * i] = 'w';
		body[2 * i + 1] = ' ';
	}
	body[2999] = '\0';
	struct tp_msg t = {0};
	const struct sl_verdict *v = tp_body(&t, sc, p, body);
	CU_ASSERT_PTR_NOT_NULL_FATAL(tp_hit(v, "w"));
	CU_ASSERT_EQUAL(tp_hit(v, "w")->count, 1500);
	CU_ASSERT_EQUAL(tp_hit(v, "w")->nevidence, 8);
	tp_free(&t);
	sl_policy_unref(p);
}

/* A msgscan reused with reset gives the same verdicts as a fresh one. */
static void test_reset_reuse(void)
{
	struct sl_policy *p = must(tp_policy(
		"rule c { match body /[0-9](?:[ -]?[0-9]){12,18}\\b/ validate luhn count >= 2 distinct action reject }\n"
		"rule pf { match body /pay(?=ment)/ action alert }\n", NULL));
	struct tp_msg t = {0};
	tp_begin(&t, sc, p, SL_DIR_OUTBOUND);
	for (int round = 0; round < 3; round++) {
		tp_text(&t, "1", round == 1 ? "4111111111111111 5555555555554444 payment" : "4111111111111111 pay");
		const struct sl_verdict *v = tp_end(&t);
		CU_ASSERT_EQUAL(v->action, round == 1 ? SL_ACT_REJECT : SL_ACT_PASS);
		CU_ASSERT_EQUAL(v->nhits, round == 1 ? 2u : 0u);
		sl_msgscan_reset(t.m, SL_DIR_OUTBOUND);
	}
	tp_free(&t);
	sl_policy_unref(p);
}

/* A quiet rule fires for the `when` of others but no verdict lists it. */
static void test_quiet_rules(void)
{
	struct sl_policy *p = must(tp_policy(
		"rule t.__part { match body \"alpha\" quiet }\n"
		"rule t.__other { match body \"beta\" quiet }\n"
		"rule both { when t.__part and t.__other score 2 }\n"
		"rule seen { match body \"alpha\" score 0 }\n",
		NULL));
	struct tp_msg t = {0};
	const struct sl_verdict *v = tp_body(&t, sc, p, "alpha and beta");
	CU_ASSERT_PTR_NOT_NULL(tp_hit(v, "both"));
	CU_ASSERT_PTR_NOT_NULL(tp_hit(v, "seen")); /* score 0 but not quiet: listed */
	CU_ASSERT_PTR_NULL(tp_hit(v, "t.__part"));
	CU_ASSERT_PTR_NULL(tp_hit(v, "t.__other"));
	CU_ASSERT_EQUAL(v->nhits, 2);
	CU_ASSERT_DOUBLE_EQUAL(v->score, 2.0, 1e-9);
	tp_free(&t);
	v = tp_body(&t, sc, p, "alpha alone");
	CU_ASSERT_PTR_NULL(tp_hit(v, "both"));
	CU_ASSERT_EQUAL(v->nhits, 1);
	tp_free(&t);
	sl_policy_unref(p);
}

int main(void)
{
	static const struct cu_test tests[] = {
		{"counts", test_counts},
		{"combinations", test_combinations},
		{"direction", test_direction},
		{"actions and scores", test_actions_and_scores},
		{"meta rules", test_meta_rules},
		{"quiet rules", test_quiet_rules},
		{"json and evidence", test_json_and_evidence},
		{"evidence bounded", test_evidence_bounded},
		{"reset reuse", test_reset_reuse},
		{NULL, NULL},
	};
	return cu_run_suite("policy_verdict", init, fini, tests);
}
