/* Bundles: a compiled policy written and loaded back gives the same verdicts without a
 * recompile; damaged bundles and bundles for another Hyperscan or CPU are refused. */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

static const char *policy_text =
	"internal { domain example.com }\n"
	"rule card { direction outbound match body /[2-6](?:[ -]?[0-9]){12,18}\\b/ validate luhn action quarantine }\n"
	"rule kw { match text keywords \"kw.txt\" action alert }\n"
	"rule pf { match body /pay(?=ment)/ action alert }\n"
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
	expect_refused(NULL, NULL, "bundle checksum mismatch");
	expect_refused("sha256 ", "sha256 xyz", "bundle header is damaged");
}

int main(void)
{
	static const struct cu_test tests[] = {
		{"roundtrip", test_roundtrip},
		{"refused", test_refused},
		{NULL, NULL},
	};
	return cu_run_suite("policy_bundle", NULL, NULL, tests);
}
