/* sl_smtp_reset: a session reused for another connection (the dataplane's per-worker
 * pool) behaves exactly like a new one on the same input (the same events, results and
 * signals) and holds what a new one holds plus what it keeps for the next connection
 * (KEPT_MAX at most, charged to its account), whatever the last connection left: here a
 * message cut inside a nested part, never closed. sl_smtp_set_acct moves the charges. */
#include <stdlib.h>
#include <string.h>

#include "testacct.h"
#include "tests.h"

/* What a reset session keeps for the next connection: its two line buffers (up to
 * 1 KiB each, smtp_line_reset), one released transaction with room for up to 16
 * recipients (SMTP_SPARE_RCPTS; the transaction is an envelope and a few fields), its
 * parser's four shallowest MIME frames with their boundary and filename buffers
 * (KEPT_FRAMES; under 2 KiB each with the default limits), its seven header buffers
 * (up to 1 KiB each, sl_hdrs_reset), the header parser's stash of temporary strings
 * (STR_STASH_BYTES, 4 KiB) and its extraction stage's first level (X_KEPT_LEVELS;
 * under 10 KiB). */
#define KEPT_MAX (2 * 1024 + sizeof(struct sl_envelope) + 64 + 16 * sizeof(struct sl_rcpt) + \
                  4 * 2048 + 7 * 1024 + 4096 + 10 * 1024)

/* held by a reset session: what a new one held (new) plus what it keeps */
static bool held_as_reset(size_t held, size_t new)
{
	return held >= new && held - new <= KEPT_MAX;
}

/* t up to the middle of its first long client record (the message), a shallow copy. */
static struct transcript cut_in_message(const struct transcript *t)
{
	struct transcript c = {calloc(t->n, sizeof *t->rec), 0, t->n};
	for (size_t i = 0; i < t->n; i++) {
		c.rec[c.n++] = t->rec[i];
		if (t->rec[i].dir == SL_CLIENT && t->rec[i].len > 4000) {
			c.rec[c.n - 1].len = t->rec[i].len * 2 / 3;
			break;
		}
	}
	return c;
}

static void same_as_new(struct run *fresh, struct run *r)
{
	CU_ASSERT_STRING_EQUAL(r->error, "");
	CU_ASSERT_STRING_EQUAL(sl_eventlog_text(&fresh->log_smtp), sl_eventlog_text(&r->log_smtp));
	CU_ASSERT_STRING_EQUAL(sl_eventlog_text(&fresh->log_mime), sl_eventlog_text(&r->log_mime));
	CU_ASSERT_STRING_EQUAL(fresh->trace.s, r->trace.s);
	CU_ASSERT(held_as_reset(r->base_memory, fresh->base_memory));
	CU_ASSERT_EQUAL(fresh->nsigs, r->nsigs);
	CU_ASSERT_EQUAL_FATAL(fresh->nmsgs, r->nmsgs);
	for (size_t i = 0; i < r->nmsgs; i++) {
		CU_ASSERT_EQUAL(fresh->msgs[i].code, r->msgs[i].code);
		CU_ASSERT(r->msgs[i].ended && r->msgs[i].has_result);
		CU_ASSERT_EQUAL(fresh->msgs[i].raw.len, r->msgs[i].raw.len);
	}
}

static void test_reset_is_new(void)
{
	struct transcript *t = realistic_transcript();
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	struct test_acct fa = {0}, a = {0};
	struct sl_memacct facct = test_acct(&fa), acct = test_acct(&a);
	struct run *fresh = run_transcript_acct(t, CH_WHOLE, 0, NULL, true, &facct);
	CU_ASSERT_STRING_EQUAL(fresh->error, "");
	CU_ASSERT_EQUAL_FATAL(fresh->nmsgs, 2);
	CU_ASSERT(fresh->mime_events > 20);

	struct transcript half = cut_in_message(t);
	CU_ASSERT_FATAL(half.n < t->n);
	struct run *dirty = run_transcript_acct(&half, CH_RANDOM, 1, NULL, false, &acct);
	CU_ASSERT_STRING_EQUAL(dirty->error, "");
	CU_ASSERT_PTR_NOT_NULL_FATAL(dirty->s);
	CU_ASSERT_EQUAL(dirty->nmsgs, 1);
	CU_ASSERT(!dirty->msgs[0].ended); /* left inside the message */
	CU_ASSERT(a.total > fresh->base_memory);
	struct sl_smtp *s = dirty->s;
	dirty->s = NULL;
	run_free(dirty);

	/* reset after the cut connection, then after a whole one, in other chunkings
	 * (the logs are the same in every chunking: run_invariance) */
	static const enum chunking ch[] = {CH_WHOLE, CH_RANDOM, CH_BYTE};
	for (size_t i = 0; i < sizeof ch / sizeof ch[0]; i++) {
		struct run *r = run_transcript_reset(t, s, ch[i], 2, true);
		CU_ASSERT_PTR_NOT_NULL_FATAL(r->s);
		same_as_new(fresh, r);
		CU_ASSERT(held_as_reset(a.total, fa.total)); /* after the close */
		CU_ASSERT_EQUAL(a.total, sl_smtp_memory(r->s));
		s = r->s;
		r->s = NULL;
		run_free(r);
	}
	CU_ASSERT_TRUE(sl_smtp_reset(s, NULL, NULL));
	CU_ASSERT(held_as_reset(a.total, fresh->base_memory)); /* the account back to its start */
	CU_ASSERT(a.total > fresh->base_memory); /* lines, a transaction, frames kept */
	CU_ASSERT_EQUAL(a.total, sl_smtp_memory(s));
	sl_smtp_free(s);
	CU_ASSERT_EQUAL(a.total, 0);
	free(half.rec);
	run_free(fresh);
	CU_ASSERT_EQUAL(fa.total, 0);
	transcript_free(t);
}

/* A gzip attachment (3,586 bytes of words, base64): level 0 of the extraction stage
 * inflates it. The first client record ends halfway through it. */
static const char gz_head[] =
	"S 220 mx.example.net ESMTP\\r\\n\n"
	"C EHLO client.example.org\\r\\n\n"
	"S 250-mx.example.net\\r\\n250 PIPELINING\\r\\n\n"
	"C MAIL FROM:<a@example.org>\\r\\nRCPT TO:<b@example.net>\\r\\nDATA\\r\\n\n"
	"S 250 Ok\\r\\n250 Ok\\r\\n354 go\\r\\n\n"
	"C Subject: archive\\r\\nMIME-Version: 1.0\\r\\n"
	"Content-Type: multipart/mixed; boundary=b\\r\\n\\r\\n--b\\r\\n"
	"Content-Type: text/plain\\r\\n\\r\\nsee attached\\r\\n--b\\r\\n"
	"Content-Type: application/gzip\\r\\n"
	"Content-Disposition: attachment; filename=words.txt.gz\\r\\n"
	"Content-Transfer-Encoding: base64\\r\\n\\r\\n"
	"H4sIAAAAAAACA01XUXYkNwi8yhxBIITgOM6uN3YyifP2OXl7/NCioP3l8bRaQFFVMD8+fn3+/Pj0\\r\\n"
	"PR7f3l5+Pt9fZcjjz/fnh/jjt58v/32YjMf739/fX1wfP/L0io8vz3/eXnxSPmPy/Mbs8fvH84ew\\r\\n"
	"5dssmh+Wynmi4/HHvxHmk1gf31+fny8q6wTsW5fXGRkVyD0Py86Atr0S5njvupnqGXG9P2nh+MwY\\r\\n"
	"ZAvp+MIZXZJXT6NKdTye739FYnWE8IFpPN4+Pl+fGjHPxTJ3oSJbccyjonNsBqyv394+OGIg2x0p\\r\\n"
	"nXA2K8mBvNdohHfAdm5gryS2IDtOIEmtTtNCPIl+JF6W9QZKebX11VPsVDeX4eY16pMRwkbeJ5jr\\r\\n"
	"PgVI3HcgMTxQPv9vsvNc439g5bsyp4zjmcqMJDM3nUAnPgAV5erLwCnmeW6mmZF4zWTWQAuMm7HL\\r\\n"
	"z6MVSVyv+Gi0bSYfzQRERSESAQGIer7uUdvpDC1ATdaq4OjzVQXHhSc/8eo2BbanyYZHJMhHmhvK\\r\\n"
	"1cYZtC8qVON9Fxc0gD99WxthNOMa4awMAg5ZGQ20TBE1QE1ZGRSzqAIScSdEwJkCrFTdXewq7fum\\r\\n"
	"uwJUtxn3MxJYnMgsuy9vtkkJjoIpydENgkgQ48LNducXuSQ1U4Ac4bPX4Cwp9Mwo8kLufDFvA9sD\\r\\n"
	"2vQJ99gb38yRXLzocLLalJRZc1TGPvumqbCGJYi7HW2YxQdu7UzQx7gVvg9CVzPPFzyklC630oEr\\r\\n"
	"G5QG3nuWrOGshWXck/A0rwzNuJDLboeJpZsJspB2EOfyMQuHA4sHxJlNDCofm2RO2YzU8G4yWduu\\r\\n"
	"\n";
static const char gz_tail[] =
	"C "
	"SM6JKbAE4+yajHIjyrddQactrVnardEovFwgqoC2YddBRGQsJTeBtfny2//K5rS5znBCI+Co5TDT\\r\\n"
	"M6ulX0vJjhVoaAZT2t8i8G1b+dyc2ae1ssl2Wzy8ccbfVOa+OSI1NjBUaYLAl4dnDYF9Zu7wyR1C\\r\\n"
	"6asnKO1yQ3kXYve04BpmmMxXwmfMVuilUKSNCbk3P9FugkQFB1aQ8byy9ippYdBL+HNbBUSijFAM\\r\\n"
	"YbOhpFVPjGFf19UJcc9sT/BdkJVTtUkxAyi4dzwIM1EW37pKfUouB1vKFWE6A/g4Nf0cjdMo/zD7\\r\\n"
	"C0dX894dwZmzKN9glgw4G2nKyFbJUzF1BPuSUKN1zexUrPZIcvjghjdPqXVD0YDNUPD0vmmx90rB\\r\\n"
	"gMxm2S+Y7Y5sa2pt+I9z+zDfjLKZU8Ui8ClpwqZofZ0WYA3ku6kNKpaAoxL4t6VYnLAVcvFIe93k\\r\\n"
	"XJms9jPb2gPtPKiSRBudmo2cjNH5Rdow7to2XWu18TYj1prcViiFms9NApULDOBaNsFXxkaZE6TX\\r\\n"
	"G16YOjVh92rB1Tgp0vPCgKNhDe9ZviVvXzXLLns5yHkNPEpKMWPsXEMz1bGwmwnMXHJz6gxt3RMX\\r\\n"
	"c1AlvdtHon8RtdqLVqnl4mEODisYpG2Ow/NlVEf3sLj6nDtfgrVbpxcfMVFLB6nQawEsf7ddnZ4w\\r\\n"
	"W+BneFk3Xr42bUxqqd8oSZuJOq6fCflDpGbggKfOgYJ6HPRCb2VX+15Z4+MF2eUkUJ33BrRnWcHK\\r\\n"
	"8Fuof2/YF3Ie0Ak9VWEsDDk4rX5ekUDPexeXrKYEurxqX3BvE8siapNsuuvtkm78P2cJCUACDgAA\\r\\n"
	"--b--\\r\\n.\\r\\nQUIT\\r\\n\n"
	"S 250 queued\\r\\n221 bye\\r\\n\n";

static struct transcript *gz_transcript(bool whole)
{
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	sl_strbuf_puts(&b, gz_head);
	if (whole)
		sl_strbuf_puts(&b, gz_tail);
	struct transcript *t = transcript_parse(b.s, b.len);
	sl_strbuf_free(&b);
	return t;
}

/* A session left inside an archive it was inflating, reset: its kept extraction level
 * reads the next connection's archive as a new one would. */
static void test_reset_inside_archive(void)
{
	struct transcript *whole = gz_transcript(true), *half = gz_transcript(false);
	CU_ASSERT_PTR_NOT_NULL_FATAL(whole);
	CU_ASSERT_PTR_NOT_NULL_FATAL(half);
	struct test_acct fa = {0}, a = {0};
	struct sl_memacct facct = test_acct(&fa), acct = test_acct(&a);
	struct run *fresh = run_transcript_acct(whole, CH_WHOLE, 0, NULL, true, &facct);
	CU_ASSERT_STRING_EQUAL(fresh->error, "");
	CU_ASSERT_EQUAL_FATAL(fresh->nmsgs, 1);
	/* the archive was opened: its member's 3,586 bytes came out (extraction events
	 * are in the session's log) */
	CU_ASSERT_PTR_NOT_NULL(strstr(sl_eventlog_text(&fresh->log_smtp), "len=3586 "));

	struct run *dirty = run_transcript_acct(half, CH_RANDOM, 1, NULL, false, &acct);
	CU_ASSERT_STRING_EQUAL(dirty->error, "");
	CU_ASSERT_PTR_NOT_NULL_FATAL(dirty->s);
	CU_ASSERT_EQUAL(dirty->nmsgs, 1);
	struct sl_smtp *s = dirty->s;
	dirty->s = NULL;
	run_free(dirty);
	for (unsigned seed = 2; seed < 5; seed++) {
		struct run *r = run_transcript_reset(whole, s, seed == 2 ? CH_BYTE : CH_RANDOM, seed, true);
		CU_ASSERT_PTR_NOT_NULL_FATAL(r->s);
		same_as_new(fresh, r);
		CU_ASSERT_EQUAL(a.total, sl_smtp_memory(r->s));
		s = r->s;
		r->s = NULL;
		run_free(r);
	}
	sl_smtp_free(s);
	CU_ASSERT_EQUAL(a.total, 0);
	run_free(fresh);
	CU_ASSERT_EQUAL(fa.total, 0);
	transcript_free(whole);
	transcript_free(half);
}

static void test_charges_move(void)
{
	struct transcript *t = realistic_transcript();
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	struct test_acct a = {0}, b = {0}, tight = {.limit = 64};
	struct sl_memacct acct = test_acct(&a), bacct = test_acct(&b), tacct = test_acct(&tight);
	struct run *r = run_transcript_acct(t, CH_WHOLE, 0, NULL, false, &acct);
	size_t held = sl_smtp_memory(r->s);
	CU_ASSERT_EQUAL(a.total, held);
	CU_ASSERT_TRUE(sl_smtp_set_acct(r->s, &bacct));
	CU_ASSERT_EQUAL(a.total, 0);
	CU_ASSERT_EQUAL(b.total, held);
	CU_ASSERT_FALSE(sl_smtp_set_acct(r->s, &tacct)); /* refused: charged to nobody */
	CU_ASSERT_EQUAL(b.total, 0);
	CU_ASSERT_EQUAL(tight.total, 0);
	CU_ASSERT_TRUE(sl_smtp_set_acct(r->s, NULL));
	run_free(r); /* releases to no account (test_acct aborts on a release it never saw) */
	CU_ASSERT_EQUAL(b.total, 0);
	transcript_free(t);
}

static void test_failed_not_reset(void)
{
	struct transcript *t = realistic_transcript();
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	struct test_acct count = {0};
	struct sl_memacct cacct = test_acct(&count);
	run_free(run_transcript_acct(t, CH_WHOLE, 0, NULL, true, &cacct));
	struct test_acct a = {.refuse_at = count.charges / 2};
	struct sl_memacct acct = test_acct(&a);
	struct run *r = run_transcript_acct(t, CH_WHOLE, 0, NULL, false, &acct);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r->s);
	CU_ASSERT_TRUE_FATAL(sl_smtp_failed(r->s));
	struct sl_smtp *s = r->s;
	r->s = NULL;
	run_free(r);
	struct run *again = run_transcript_reset(t, s, CH_WHOLE, 0, true);
	CU_ASSERT_PTR_NULL(again->s); /* freed: nothing fed */
	CU_ASSERT_EQUAL(again->nmsgs, 0);
	CU_ASSERT_EQUAL(a.total, 0);
	run_free(again);
	transcript_free(t);
}

void register_reset_tests(void)
{
	static const struct test_def tests[] = {
		{"a reset session behaves as a new one", test_reset_is_new},
		{"a session reset inside an archive", test_reset_inside_archive},
		{"charges move to another account", test_charges_move},
		{"a failed session is not reset", test_failed_not_reset},
	};
	add_suite("reset", tests, sizeof tests / sizeof tests[0]);
}
