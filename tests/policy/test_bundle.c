/* Bundles: a compiled policy written and loaded back gives the same verdicts without a
 * recompile; damaged bundles and bundles for another Hyperscan or CPU are refused. */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "helpers.h"
#include "internal.h"

static const char *policy_text =
	"internal { domain example.com }\n"
	"rule card { direction outbound match body /[2-6](?:[ -]?[0-9]){12,18}\\b/ validate luhn action quarantine }\n"
	"rule kw { match text keywords \"kw.txt\" action alert }\n"
	"rule pf { match body /pay(?=ment)/ action alert }\n"
	"rule wide { match body /w(?=x)[a-z]{0,40}z/ action alert }\n"
	"rule subj { match header:Subject \"win\" score 7 }\n"
	"threshold 5 reject\n";

static void write_all(const char *path, const char *b, size_t len)
{
	FILE *f = fopen(path, "wb");
	fwrite(b, 1, len, f);
	fclose(f);
}

static char *json_of(struct sl_policy *p, struct sl_scanner *sc)
{
	struct tp_msg t = {0};
	tp_begin(&t, sc, p, SL_DIR_UNKNOWN);
	tp_envelope(&t, "h", "a@example.com", NULL, "b@example.net", NULL);
	tp_header(&t, "", "Subject", "you win");
	tp_text(&t, "1", "card 4111 1111 1111 1111, payment, 機密");
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	sl_verdict_json(tp_end(&t), &b);
	tp_free(&t);
	if (!b.s)
		abort();
	return b.s;
}

static char bundle[512];

static void test_roundtrip(void)
{
	struct sl_scanner *sc = sl_scanner_new();
	struct sl_policy *p = tp_policy(policy_text, "kw.txt", "機密\n", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	snprintf(bundle, sizeof bundle, "%s/policy.bundle", tp_last_dir);
	struct sl_policy_diag d;
	CU_ASSERT_EQUAL(sl_policy_save(p, bundle, &d), 0);

	/* the bundle carries its list files: remove them from disk */
	char kw[512];
	snprintf(kw, sizeof kw, "%s/kw.txt", tp_last_dir);
	remove(kw);
	struct sl_policy *q = sl_policy_load(bundle, &d);
	if (!q)
		fprintf(stderr, "\n%s\n", d.msg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(q);
	struct sl_policy_info a, b;
	sl_policy_info(p, &a);
	sl_policy_info(q, &b);
	CU_ASSERT_EQUAL(a.version, b.version);
	CU_ASSERT_EQUAL(a.rules, b.rules);
	CU_ASSERT_EQUAL(a.database_bytes, b.database_bytes);
	CU_ASSERT_EQUAL(b.compile_seconds, 0);
	char *ja = json_of(p, sc), *jb = json_of(q, sc);
	CU_ASSERT_STRING_EQUAL(ja, jb);
	CU_ASSERT_PTR_NOT_NULL(strstr(jb, "\"verdict\":\"reject\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(jb, "\"id\":\"kw\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(jb, "\"id\":\"pf\""));
	free(ja);
	free(jb);
	/* a message in flight keeps the policy it started with */
	struct tp_msg t = {0};
	tp_begin(&t, sc, q, SL_DIR_OUTBOUND);
	sl_policy_unref(q);
	tp_text(&t, "1", "4111111111111111");
	CU_ASSERT_EQUAL(tp_end(&t)->action, SL_ACT_QUARANTINE);
	tp_free(&t);
	sl_policy_unref(p);
	sl_scanner_free(sc);
}

static void expect_refused(const char *from, const char *to, const char *want)
{
	size_t len = 0;
	char *b = (char *)sl_read_file(bundle, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	char *at = from ? strstr(b, from) : b + len - 10;
	CU_ASSERT_PTR_NOT_NULL_FATAL(at);
	char path[600];
	snprintf(path, sizeof path, "%s.bad", bundle);
	if (from) {
		/* rewrite one header line */
		char *eol = strchr(at, '\n');
		FILE *f = fopen(path, "wb");
		fwrite(b, 1, (size_t)(at - b), f);
		fputs(to, f);
		fwrite(eol, 1, len - (size_t)(eol - b), f);
		fclose(f);
	} else {
		at[0] ^= 0x55; /* flip bits in the payload */
		write_all(path, b, len);
	}
	free(b);
	struct sl_policy_diag d;
	struct sl_policy *p = sl_policy_load(path, &d);
	CU_ASSERT_PTR_NULL(p);
	if (!strstr(d.msg, want))
		fprintf(stderr, "\nwant '%s' in '%s'\n", want, d.msg);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, want));
	sl_policy_unref(p);
	remove(path);
}

static void test_refused(void)
{
	expect_refused("hyperscan ", "hyperscan 9.9.9 2030-01-01", "bundle was built for Hyperscan '9.9.9 2030-01-01'");
	expect_refused("platform ", "platform 10000000000", "bundle was built for a CPU with features this host lacks");
	expect_refused("format ", "format 7", "bundle format 'format 7' is not supported");
	/* format 2 asked Hyperscan again at load; its bundles are refused, naming the fix */
	expect_refused("format ", "format 2", "bundle format 'format 2' is not supported (this build "
	               "reads format 3); recompile it with 'sluicectl rules compile'");
	expect_refused(NULL, NULL, "bundle checksum mismatch");
	expect_refused("sha256 ", "sha256 xyz", "bundle header is damaged");
}

/* The loaded policy is the compiled one: same digests, and every pattern compiled and
 * confirmed the same way (format 3 records Hyperscan's analysis instead of asking again). */
static void test_same_policy(void)
{
	struct sl_policy *p = tp_policy(policy_text, "kw.txt", "機密\n", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	char path[600];
	snprintf(path, sizeof path, "%s/same.bundle", tp_last_dir);
	struct sl_policy_diag d;
	CU_ASSERT_EQUAL_FATAL(sl_policy_save(p, path, &d), 0);
	struct sl_policy *q = sl_policy_load(path, &d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(q);

	uint8_t pa[32], pb[32];
	pol_pattern_digest(p, pa);
	pol_pattern_digest(q, pb);
	CU_ASSERT_EQUAL(memcmp(pa, pb, 32), 0);
	CU_ASSERT_EQUAL(memcmp(p->own_digest, q->own_digest, 32), 0);
	CU_ASSERT_EQUAL_FATAL(p->npatterns, q->npatterns);
	unsigned literal = 0, confirmed = 0, widened = 0;
	for (uint32_t i = 0; i < p->npatterns; i++) {
		const struct pol_pattern *a = &p->patterns[i], *b = &q->patterns[i];
		CU_ASSERT_EQUAL(a->needs_confirm, b->needs_confirm);
		CU_ASSERT_EQUAL(a->singlematch, b->singlematch);
		CU_ASSERT_EQUAL(a->window, b->window);
		CU_ASSERT_STRING_EQUAL(a->hs_expr, b->hs_expr);
		CU_ASSERT_EQUAL(memcmp(&a->hs, &b->hs, sizeof a->hs), 0);
		CU_ASSERT_EQUAL(a->confirm != NULL, b->confirm != NULL);
		literal += a->literal;
		confirmed += a->needs_confirm;
		widened += a->hs.widened;
	}
	/* the policy has each kind of pattern the record describes */
	CU_ASSERT(literal > 0);
	CU_ASSERT(confirmed >= 2);
	CU_ASSERT(widened == 1);
	for (uint32_t k = 0; k < p->ndbs; k++)
		CU_ASSERT_EQUAL(p->dbs[k].window, q->dbs[k].window);

	/* verdicts: PCRE2 confirms "pay(?=ment)" and the widened "w(?=x)...z" */
	static const struct {
		const char *text, *hit;
	} msgs[] = {
		{"payment due", "pf"}, {"pay day", NULL}, {"say wxyz now", "wide"}, {"say wyz now", NULL},
	};
	struct sl_scanner *sc = sl_scanner_new();
	for (size_t m = 0; m < sizeof msgs / sizeof msgs[0]; m++) {
		char *j[2];
		struct sl_policy *pols[2] = {p, q};
		for (int k = 0; k < 2; k++) {
			struct tp_msg t = {0};
			tp_begin(&t, sc, pols[k], SL_DIR_INBOUND);
			tp_text(&t, "1", msgs[m].text);
			const struct sl_verdict *v = tp_end(&t);
			if (msgs[m].hit)
				tp_expect_hits(v, msgs[m].hit, NULL);
			else
				tp_expect_hits(v, NULL);
			struct sl_strbuf b;
			sl_strbuf_init(&b);
			sl_verdict_json(v, &b);
			tp_free(&t);
			CU_ASSERT_PTR_NOT_NULL_FATAL(b.s);
			j[k] = b.s;
		}
		CU_ASSERT_STRING_EQUAL(j[0], j[1]);
		free(j[0]);
		free(j[1]);
	}
	sl_scanner_free(sc);
	sl_policy_unref(q);
	sl_policy_unref(p);
}

/* Offset of the analysis section (u32 count, then 9-byte records) in bundle bytes b. */
static size_t analysis_at(const uint8_t *b, size_t len)
{
	const uint8_t *s = (const uint8_t *)strstr((const char *)b, "\n\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	size_t at = (size_t)(s + 2 - b);
	uint32_t nsrc, nl;
	uint64_t sl;
	memcpy(&nsrc, b + at, 4);
	at += 4;
	for (uint32_t i = 0; i < nsrc; i++) {
		memcpy(&nl, b + at, 4);
		at += 4 + nl;
		memcpy(&sl, b + at, 8);
		at += 8 + sl;
	}
	at += 32; /* the pattern digest */
	CU_ASSERT_FATAL(at + 4 <= len);
	return at;
}

/* Rewrites the bundle with `edit` applied to its analysis section and a checksum that
 * fits (so only the analysis check can refuse it); expects `want` in the error, or with
 * want NULL that it loads. */
static void expect_analysis_refused(void (*edit)(uint8_t *analysis, const struct sl_policy *p),
                                    const struct sl_policy *p, const char *want)
{
	size_t len = 0;
	uint8_t *b = (uint8_t *)sl_read_file(bundle, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	edit(b + analysis_at(b, len), p);
	char *sum = strstr((char *)b, "sha256 ") + 7;
	uint8_t *payload = (uint8_t *)strstr((char *)b, "\n\n") + 2;
	uint8_t md[32];
	unsigned mdlen = 32;
	EVP_Digest(payload, len - (size_t)(payload - b), md, &mdlen, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++) {
		char two[3];
		snprintf(two, sizeof two, "%02x", md[i]);
		memcpy(sum + 2 * i, two, 2);
	}
	char path[600];
	snprintf(path, sizeof path, "%s.analysis", bundle);
	write_all(path, (const char *)b, len);
	free(b);
	struct sl_policy_diag d;
	struct sl_policy *q = sl_policy_load(path, &d);
	if (want) {
		CU_ASSERT_PTR_NULL(q);
		if (!strstr(d.msg, want))
			fprintf(stderr, "\nwant '%s' in '%s'\n", want, d.msg);
		CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, want));
	} else {
		CU_ASSERT_PTR_NOT_NULL(q);
	}
	sl_policy_unref(q);
	remove(path);
}

static uint8_t *record(uint8_t *analysis, uint32_t i)
{
	return analysis + 4 + 9 * (size_t)i;
}

static uint32_t first_pattern(const struct sl_policy *p, bool literal, bool confirmed)
{
	for (uint32_t i = 0; i < p->npatterns; i++)
		if (p->patterns[i].literal == literal && p->patterns[i].needs_confirm == confirmed &&
		    !p->patterns[i].hs.widened)
			return i;
	CU_FAIL_FATAL("the policy has no such pattern");
	return 0;
}

static void unchanged(uint8_t *a, const struct sl_policy *p)
{
	(void)a;
	(void)p;
}

static void count_plus_one(uint8_t *a, const struct sl_policy *p)
{
	uint32_t n = p->npatterns + 1;
	memcpy(a, &n, 4);
}

static void unknown_flag(uint8_t *a, const struct sl_policy *p)
{
	(void)p;
	record(a, 0)[0] |= 0x80;
}

static void literal_with_width(uint8_t *a, const struct sl_policy *p)
{
	record(a, first_pattern(p, true, false))[1] = 5;
}

static void exact_min_width_zero(uint8_t *a, const struct sl_policy *p)
{
	memset(record(a, first_pattern(p, false, false)) + 1, 0, 4);
}

static void min_above_max(uint8_t *a, const struct sl_policy *p)
{
	uint8_t *r = record(a, first_pattern(p, false, false));
	uint32_t min = 100, max = 99;
	memcpy(r + 1, &min, 4);
	memcpy(r + 5, &max, 4);
}

static void widened_without_repeat(uint8_t *a, const struct sl_policy *p)
{
	record(a, first_pattern(p, false, true))[0] |= 2; /* pay(?=ment): nothing to widen */
}

static void widened_exact(uint8_t *a, const struct sl_policy *p)
{
	record(a, first_pattern(p, false, false))[0] = 2;
}

static void test_damaged_analysis(void)
{
	struct sl_policy *p = sl_policy_load(bundle, &(struct sl_policy_diag){0});
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	/* the rewrite itself is sound: the analysis unchanged, with its checksum redone, loads */
	size_t len = 0;
	uint8_t *b = (uint8_t *)sl_read_file(bundle, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	uint32_t n;
	memcpy(&n, b + analysis_at(b, len), 4);
	CU_ASSERT_EQUAL(n, p->npatterns);
	free(b);
	expect_analysis_refused(unchanged, p, NULL);
	expect_analysis_refused(count_plus_one, p, "bundle is damaged (analysis: ");
	expect_analysis_refused(unknown_flag, p, "bundle is damaged (analysis of pattern 0: flags 0x");
	expect_analysis_refused(literal_with_width, p, "bundle is damaged (analysis of pattern");
	expect_analysis_refused(exact_min_width_zero, p, "bundle is damaged (analysis of pattern");
	expect_analysis_refused(min_above_max, p, "bundle is damaged (analysis of pattern");
	expect_analysis_refused(widened_without_repeat, p, "bundle is damaged (analysis of pattern");
	expect_analysis_refused(widened_exact, p, "bundle is damaged (analysis of pattern");
	sl_policy_unref(p);
}

int main(void)
{
	static const struct cu_test tests[] = {
		{"roundtrip", test_roundtrip},
		{"refused", test_refused},
		{"same_policy", test_same_policy},
		{"damaged_analysis", test_damaged_analysis},
		{NULL, NULL},
	};
	return cu_run_suite("policy_bundle", NULL, NULL, tests);
}
