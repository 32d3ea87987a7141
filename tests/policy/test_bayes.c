/* The statistical classifier (sluice/bayes.h): the tokens of a message behind the real
 * MIME parser (which words, case, HTML rendered, header fields apart, the per-message
 * bound), the same tokens wherever the message is split, model files refused when
 * broken, Robinson-Fisher probabilities on a hand-made model checked against the
 * closed forms of the chi-square tail for one and two decisive tokens, and a model
 * override in the policy's digest. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cunit_run.h"
#include "sluice/bayes.h"
#include "sluice/digest.h"
#include "sluice/mime.h"
#include "sluice/policy.h"
#include "sluice/strbuf.h"

#include <openssl/evp.h>

static const char msg[] =
	"From: Bob Seller <bob@pharma.example>\r\n"
	"To: alice@example.org\r\n"
	"Subject: Cheap PILLS now\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/alternative; boundary=\"b1\"\r\n"
	"\r\n"
	"--b1\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"Don't wait, buy today. Price $99.95 -- offer.\r\n"
	"an ox is no word\r\n"
	"--b1\r\n"
	"Content-Type: text/html\r\n"
	"\r\n"
	"<p>Click <b>here</b></p><script>hiddenscript()</script>\r\n"
	"--b1--\r\n";

static struct sl_bayes_tokens *tok;

static void tokens_cb(void *ctx, const struct sl_event *ev)
{
	sl_bayes_tokens_event(ctx, ev);
}

static void feed(const char *m, size_t len, size_t split)
{
	struct sl_envelope env;
	memset(&env, 0, sizeof env);
	struct sl_mime *mime = sl_mime_new(NULL, tokens_cb, tok);
	CU_ASSERT_PTR_NOT_NULL_FATAL(mime);
	sl_mime_reset(mime, 0);
	struct sl_event begin = {.type = SL_EV_MESSAGE_BEGIN, .envelope = &env};
	sl_bayes_tokens_event(tok, &begin);
	if (split && split < len) {
		sl_mime_feed(mime, (const uint8_t *)m, split);
		sl_mime_feed(mime, (const uint8_t *)m + split, len - split);
	} else {
		sl_mime_feed(mime, (const uint8_t *)m, len);
	}
	sl_mime_finish(mime);
	struct sl_event end = {.type = SL_EV_MESSAGE_END, .envelope = &env};
	sl_bayes_tokens_event(tok, &end);
	sl_mime_free(mime);
}

static bool has(const char *word)
{
	size_t n;
	const uint32_t *t = sl_bayes_tokens_list(tok, &n);
	uint32_t h = sl_bayes_hash_word(word);
	for (size_t i = 0; i < n; i++)
		if (t[i] == h)
			return true;
	return false;
}

static void test_words(void)
{
	feed(msg, sizeof msg - 1, 0);
	/* Subject and text, lowercased; the HTML part rendered */
	const char *in[] = {"cheap", "pills", "now", "don't", "wait", "buy", "today", "price",
	                    "$99.95", "offer", "word", "click", "here"};
	for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
		if (!has(in[i]))
			fprintf(stderr, "\nmissing token %s\n", in[i]);
		CU_ASSERT(has(in[i]));
	}
	/* short words, script text, tags, and header words (kept apart from body words) */
	const char *out[] = {"an", "ox", "is", "no", "hiddenscript", "script", "b", "bob", "pharma.example",
	                     "alice", "PILLS", "offer.", "--"};
	for (size_t i = 0; i < sizeof out / sizeof out[0]; i++) {
		if (has(out[i]))
			fprintf(stderr, "\nunexpected token %s\n", out[i]);
		CU_ASSERT(!has(out[i]));
	}
	size_t n;
	sl_bayes_tokens_list(tok, &n);
	/* 13 body words + From's "bob" "seller" "pharma.example" + Content-Type's
	 * "multipart" "alternative" "boundary" (and "b1": too short) */
	CU_ASSERT_EQUAL(n, 13 + 3 + 3);
	CU_ASSERT(!sl_bayes_tokens_saturated(tok));
}

static void test_split_everywhere(void)
{
	feed(msg, sizeof msg - 1, 0);
	size_t n;
	const uint32_t *t = sl_bayes_tokens_list(tok, &n);
	uint32_t *ref = malloc(n * sizeof *ref);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ref);
	memcpy(ref, t, n * sizeof *ref);
	size_t bad = 0, refn = n;
	for (size_t k = 1; k < sizeof msg - 1; k++) {
		feed(msg, sizeof msg - 1, k);
		t = sl_bayes_tokens_list(tok, &n);
		if ((n != refn || memcmp(t, ref, n * sizeof *ref) != 0) && bad++ == 0)
			fprintf(stderr, "\nsplit at %zu: %zu tokens, want %zu\n", k, n, refn);
	}
	CU_ASSERT_EQUAL(bad, 0);
	free(ref);
}

static void test_bounded(void)
{
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	sl_strbuf_puts(&b, "Subject: many\r\n\r\n");
	for (unsigned i = 0; i < 3000; i++)
		sl_strbuf_printf(&b, "w%05u ", i);
	sl_strbuf_puts(&b, "\r\n");
	CU_ASSERT_FATAL(!sl_strbuf_failed(&b));
	feed(b.s, b.len, 0);
	size_t n;
	sl_bayes_tokens_list(tok, &n);
	CU_ASSERT_EQUAL(n, 2048);
	CU_ASSERT(sl_bayes_tokens_saturated(tok));
	CU_ASSERT(has("w00000"));
	CU_ASSERT(!has("w02999"));
	/* the next message starts empty */
	feed(msg, sizeof msg - 1, 0);
	CU_ASSERT(!sl_bayes_tokens_saturated(tok));
	CU_ASSERT(!has("w00000"));
	sl_strbuf_free(&b);
}

/* ---- models ---- */

struct entry {
	const char *word;
	uint32_t spam, ham;
};

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static int by_hash(const void *a, const void *b)
{
	uint32_t x = sl_bayes_hash_word(((const struct entry *)a)->word);
	uint32_t y = sl_bayes_hash_word(((const struct entry *)b)->word);
	return x < y ? -1 : x > y;
}

/* A model file's bytes for these words (sorted here), as `spam train` writes them. */
static uint8_t *model_of(struct entry *e, size_t n, uint32_t nspam, uint32_t nham, size_t *len)
{
	qsort(e, n, sizeof *e, by_hash);
	*len = SL_BAYES_HEADER + n * SL_BAYES_ENTRY;
	uint8_t *b = calloc(1, *len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	memcpy(b, "SLBAYES\0", 8);
	put32(b + 8, SL_BAYES_VERSION);
	put32(b + 12, 5200 | 178u << 16); /* x 0.52, s 0.0178 */
	put32(b + 28, 3750);              /* min_dev 0.375 */
	put32(b + 16, nspam);
	put32(b + 20, nham);
	put32(b + 24, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		uint8_t *x = b + SL_BAYES_HEADER + i * SL_BAYES_ENTRY;
		put32(x, sl_bayes_hash_word(e[i].word));
		put32(x + 4, e[i].spam);
		put32(x + 8, e[i].ham);
	}
	unsigned int dl;
	CU_ASSERT_FATAL(EVP_Digest(b + SL_BAYES_HEADER, n * SL_BAYES_ENTRY, b + 32, &dl, sl_md_sha256(), NULL));
	return b;
}

/* Robinson's f(w) with the constants of bayes_model.c (x 0.52, s 0.0178). */
static double f_of(double s, double h, double nspam, double nham)
{
	double b = s / nspam, g = h / nham;
	return (0.0178 * 0.52 + (s + h) * (b / (b + g))) / (0.0178 + s + h);
}

static struct entry words4[] = {
	{"cheap", 4, 0},  /* f 0.99787: decides */
	{"meeting", 0, 3}, /* f 0.00308: decides */
	{"today", 2, 2},   /* f 0.5: ignored */
	{"pills", 3, 1},
};

static double classify(const struct sl_bayes_model *m, const char *const *w, size_t n, uint32_t *used)
{
	uint32_t h[8];
	for (size_t i = 0; i < n; i++)
		h[i] = sl_bayes_hash_word(w[i]);
	struct sl_bayes_score s;
	sl_bayes_classify(m, h, n, &s);
	*used = s.used;
	CU_ASSERT_EQUAL(s.tokens, n);
	return s.probability;
}

static void test_scoring(void)
{
	size_t len;
	uint8_t *b = model_of(words4, 4, 4, 4, &len);
	struct sl_bayes_model m;
	const char *err = NULL;
	CU_ASSERT_FATAL(sl_bayes_model_parse(b, len, &m, &err));
	CU_ASSERT_EQUAL(m.ntokens, 4);
	uint32_t s, h, used;
	CU_ASSERT(sl_bayes_lookup(&m, sl_bayes_hash_word("pills"), &s, &h) && s == 3 && h == 1);
	CU_ASSERT(!sl_bayes_lookup(&m, sl_bayes_hash_word("absent"), &s, &h));

	/* one decisive token: the chi-square tail with 2 degrees is e^(-x/2), so the
	 * probability is f(w) itself */
	double fc = f_of(4, 0, 4, 4), fm = f_of(0, 3, 4, 4), fp = f_of(3, 1, 4, 4);
	const char *one[] = {"cheap", "today", "absent"};
	CU_ASSERT_DOUBLE_EQUAL(classify(&m, one, 3, &used), fc, 1e-12);
	CU_ASSERT_EQUAL(used, 1);
	CU_ASSERT(fc > 0.9978 && fc < 0.9979);
	/* "pills" (3 of 4 spam, 1 of 4 ham): f 0.7497, not decisive */
	CU_ASSERT(fabs(fp - 0.5) < 0.375);
	const char *mixed[] = {"pills", "meeting"};
	CU_ASSERT_DOUBLE_EQUAL(classify(&m, mixed, 2, &used), fm, 1e-12);
	CU_ASSERT_EQUAL(used, 1);
	/* two: tail with 4 degrees is e^(-m)(1 + m), m = x/2 */
	const char *two[] = {"cheap", "meeting"};
	double x1 = -log(fc) - log(fm), x2 = -log(1 - fc) - log(1 - fm);
	double hq = exp(-x1) * (1 + x1), sq = exp(-x2) * (1 + x2);
	CU_ASSERT_DOUBLE_EQUAL(classify(&m, two, 2, &used), (1 + hq - sq) / 2, 1e-12);
	CU_ASSERT_EQUAL(used, 2);
	/* nothing decisive: 0.5 */
	const char *none[] = {"today", "absent"};
	CU_ASSERT_DOUBLE_EQUAL(classify(&m, none, 2, &used), 0.5, 0);
	CU_ASSERT_EQUAL(used, 0);
	free(b);
}

/* The constants come from the model: a version-1 file has bogofilter's defaults, a
 * version-2 file its own (here min_dev 0.15, x 0.4, s 1). */
static void test_model_constants(void)
{
	size_t len;
	uint8_t *b = model_of(words4, 4, 4, 4, &len);
	struct sl_bayes_model m;
	const char *err = NULL;
	uint32_t used;
	const char *mixed[] = {"pills", "meeting"};
	CU_ASSERT_FATAL(sl_bayes_model_parse(b, len, &m, &err));
	double p2 = classify(&m, mixed, 2, &used);
	b[8] = 1;
	put32(b + 12, 0);
	put32(b + 28, 0);
	CU_ASSERT_FATAL(sl_bayes_model_parse(b, len, &m, &err));
	CU_ASSERT(m.robx == 0.52 && m.robs == 0.0178 && m.min_dev == 0.375);
	CU_ASSERT_DOUBLE_EQUAL(classify(&m, mixed, 2, &used), p2, 0);
	CU_ASSERT_EQUAL(used, 1);

	b[8] = 2;
	put32(b + 12, 4000 | 10000u << 16);
	put32(b + 28, 1500);
	CU_ASSERT_FATAL(sl_bayes_model_parse(b, len, &m, &err));
	CU_ASSERT_DOUBLE_EQUAL(m.robx, 0.4, 1e-12);
	CU_ASSERT_DOUBLE_EQUAL(m.robs, 1.0, 1e-12);
	CU_ASSERT_DOUBLE_EQUAL(m.min_dev, 0.15, 1e-12);
	/* f(w) = (s x + n p) / (s + n): "pills" (3 of 4, 1 of 4: p 0.75, n 4) is 3.4 / 5 =
	 * 0.68, now decisive; "meeting" (p 0, n 3) is 0.4 / 4 = 0.1 */
	double fp = 3.4 / 5, fm = 0.1;
	double x1 = -log(fp) - log(fm), x2 = -log(1 - fp) - log(1 - fm);
	double hq = exp(-x1) * (1 + x1), sq = exp(-x2) * (1 + x2);
	CU_ASSERT_DOUBLE_EQUAL(classify(&m, mixed, 2, &used), (1 + hq - sq) / 2, 1e-12);
	CU_ASSERT_EQUAL(used, 2);
	free(b);

	/* the smallest s (0.0001), x 0.9999 and a token in 4e9 of 4e9 spam messages: f would
	 * round to 1 (log 0); the probability stays a number */
	struct entry huge[] = {{"cheap", 4000000000u, 0}, {"meeting", 0, 1}};
	b = model_of(huge, 2, 4000000000u, 1, &len);
	put32(b + 12, 9999 | 1u << 16);
	CU_ASSERT_FATAL(sl_bayes_model_parse(b, len, &m, &err));
	const char *one[] = {"cheap"};
	double p = classify(&m, one, 1, &used);
	CU_ASSERT(used == 1 && p >= 0 && p <= 1 && p > 0.99);
	free(b);
}

static void refused(uint8_t *b, size_t len, const char *want)
{
	struct sl_bayes_model m;
	const char *err = NULL;
	CU_ASSERT(!sl_bayes_model_parse(b, len, &m, &err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(err);
	if (!strstr(err, want))
		fprintf(stderr, "\nerror '%s', want '%s'\n", err, want);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, want));
}

static void test_bad_models(void)
{
	size_t len;
	uint8_t *b = model_of(words4, 4, 4, 4, &len);
	refused(b, 10, "not a Sluice spam model");
	refused(b, len - 1, "truncated");
	b[len - 1] ^= 1;
	refused(b, len, "checksum");
	b[len - 1] ^= 1;
	b[8] = 3;
	refused(b, len, "version");
	b[8] = 2;
	put32(b + 12, 0 | 178u << 16);
	refused(b, len, "constants out of range"); /* x 0 */
	put32(b + 12, 5200);
	refused(b, len, "constants out of range"); /* s 0 */
	put32(b + 12, 5200 | 178u << 16);
	put32(b + 28, 5000);
	refused(b, len, "constants out of range"); /* min_dev 0.5: nothing could decide */
	free(b);
	b = model_of(words4, 4, 0, 4, &len);
	refused(b, len, "without spam");
	free(b);
	b = model_of(words4, 4, 2, 4, &len); /* "cheap" in 4 of 2 spam messages */
	refused(b, len, "counts above");
	free(b);
	/* a token in no message (fuzz_bayes_model found it): f(w) would be 0/0, a NaN
	 * probability that no `>=` matches and the verdict's JSON cannot hold */
	struct entry nowhere[] = {{"cheap", 4, 0}, {"ghost", 0, 0}};
	b = model_of(nowhere, 2, 4, 4, &len);
	refused(b, len, "zero");
	free(b);
}

static void write_file(const char *dir, const char *name, const void *p, size_t n)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fwrite(p, 1, n, f), n);
	CU_ASSERT_EQUAL(fclose(f), 0);
}

static void digests(struct sl_policy *p, uint8_t digest[32], uint8_t own[32])
{
	struct sl_policy_info info;
	sl_policy_info(p, &info);
	memcpy(digest, info.digest, 32);
	memcpy(own, info.own_digest, 32);
	uint64_t version;
	memcpy(&version, info.digest, sizeof version);
	CU_ASSERT_EQUAL(info.version, version);
}

/* A --spam-model override is part of the digest verdicts report (so they say which model
 * judged them) and not of the policy's own digest (what was compiled and pushed): the
 * same override file gives the same digest, another model another, and the policy's own
 * model given as an override still differs from no override. */
static void test_override_digest(void)
{
	char dir[] = "/tmp/sluice-bayes-XXXXXX";
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	size_t la, lb;
	uint8_t *a = model_of(words4, 4, 4, 4, &la), *b = model_of(words4, 4, 5, 4, &lb);
	write_file(dir, "a.model", a, la);
	write_file(dir, "b.model", b, lb);
	static const char rules[] = "spam-model \"a.model\"\n"
	                            "rule bayes { match spam-probability >= 0.9 score 1 }\n";
	write_file(dir, "p.rules", rules, sizeof rules - 1);
	char policy[512], path_a[512], path_b[512];
	snprintf(policy, sizeof policy, "%s/p.rules", dir);
	snprintf(path_a, sizeof path_a, "%s/a.model", dir);
	snprintf(path_b, sizeof path_b, "%s/b.model", dir);
	struct sl_policy_diag diag;
	struct sl_policy *p = sl_policy_load(policy, &diag), *q = sl_policy_load(policy, &diag);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_PTR_NOT_NULL_FATAL(q);
	uint8_t plain[32], plain_own[32], with_a[32], own_a[32], with_b[32], own_b[32], again[32], own_q[32];
	digests(p, plain, plain_own);
	CU_ASSERT_EQUAL(memcmp(plain, plain_own, 32), 0);
	CU_ASSERT_FATAL(sl_policy_set_spam_model(p, path_a, &diag));
	digests(p, with_a, own_a);
	CU_ASSERT_FATAL(sl_policy_set_spam_model(p, path_b, &diag));
	digests(p, with_b, own_b);
	CU_ASSERT_FATAL(sl_policy_set_spam_model(q, path_a, &diag));
	digests(q, again, own_q);
	CU_ASSERT_NOT_EQUAL(memcmp(with_a, plain, 32), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(with_b, with_a, 32), 0);
	CU_ASSERT_EQUAL(memcmp(again, with_a, 32), 0); /* a function of the files, not of history */
	CU_ASSERT_EQUAL(memcmp(own_a, plain_own, 32), 0);
	CU_ASSERT_EQUAL(memcmp(own_b, plain_own, 32), 0);
	CU_ASSERT_EQUAL(memcmp(own_q, plain_own, 32), 0);
	sl_policy_unref(p);
	sl_policy_unref(q);
	for (const char *n = "a.model\0b.model\0p.rules\0"; *n; n += strlen(n) + 1) {
		char path[512];
		snprintf(path, sizeof path, "%s/%s", dir, n);
		unlink(path);
	}
	rmdir(dir);
	free(a);
	free(b);
}

static int init(void)
{
	tok = sl_bayes_tokens_new();
	return tok ? 0 : -1;
}

static int fini(void)
{
	sl_bayes_tokens_free(tok);
	return 0;
}

int main(void)
{
	static const struct cu_test tests[] = {
		{"words", test_words},
		{"split at every offset", test_split_everywhere},
		{"bounded per message", test_bounded},
		{"scoring", test_scoring},
		{"bad models", test_bad_models},
		{"constants from the model", test_model_constants},
		{"override in the digest", test_override_digest},
		{NULL, NULL},
	};
	return cu_run_suite("policy_bayes", init, fini, tests);
}
