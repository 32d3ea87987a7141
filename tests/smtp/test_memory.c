/* Memory accounts (sluice/memacct.h): every byte charged when allocated, released when
 * freed, and an account that refuses fails the one session cleanly (engine.memory),
 * wherever the refusal falls: the sweep refuses each charge of a realistic session in
 * turn (headers through the Python-compatible parser, RFC 2047/2231, iconv charsets,
 * nested multiparts and message/rfc822, base64 and QP). */
#include <stdlib.h>
#include <string.h>

#include "sluice/mime.h"
#include "testacct.h"
#include "tests.h"

static const char message[] =
	"From: =?utf-8?q?Alice_M=C3=BCller?= <alice@example.org>\r\n"
	"To: Bob <bob@example.net>, \"Carol, C.\" <carol@example.net>, (team) dev@example.net\r\n"
	"Subject: =?iso-8859-1?q?R=E9union?= =?big5?b?pbuk6Q==?= =?koi8-r?b?8NLJ18XU?=\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
	"\r\n"
	"preamble\r\n"
	"--outer\r\n"
	"Content-Type: text/plain; charset=iso-8859-1\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n"
	"\r\n"
	"R=E9union =E0 14h, salle 4.\r\n"
	"--outer\r\n"
	"Content-Type: text/html; charset=windows-1252\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"PGh0bWw+PGJvZHk+kyBxdW90ZWQglDwvYm9keT48L2h0bWw+\r\n"
	"--outer\r\n"
	"Content-Type: application/octet-stream; name*=utf-8''r%C3%A9sum%C3%A9.pdf\r\n"
	"Content-Disposition: attachment; filename*0*=utf-8''r%C3%A9;\r\n"
	" filename*1*=sum%C3%A9.pdf\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"JVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3RoIDMgMCBSPj4Kc3RyZWFtCg==\r\n"
	"--outer\r\n"
	"Content-Type: message/rfc822\r\n"
	"\r\n"
	"From: inner@example.org\r\n"
	"Subject: =?gb2312?b?xOO6ww==?=\r\n"
	"Content-Type: multipart/alternative; boundary=inner\r\n"
	"\r\n"
	"--inner\r\n"
	"Content-Type: text/plain; charset=koi8-r\r\n"
	"\r\n"
	"\xf0\xd2\xc9\xd7\xc5\xd4\r\n"
	"--inner\r\n"
	"Content-Type: text/plain; charset=big5\r\n"
	"\r\n"
	"\xa5\xbb\xa4\xe9\r\n"
	"--inner--\r\n"
	"--outer--\r\n";

static void put_escaped(struct sl_strbuf *b, const char *p)
{
	for (; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '\\')
			sl_strbuf_puts(b, "\\\\");
		else if (c < 0x20 || c >= 0x7f)
			sl_strbuf_printf(b, "\\x%02x", c);
		else
			sl_strbuf_putc(b, (char)c);
	}
}

/* The session: pipelined envelope, the message above (after a Cc: whose parse tree
 * outgrows the header parser's first arena block), a second transaction. */
struct transcript *realistic_transcript(void)
{
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	sl_strbuf_puts(&b, "S 220 mx.example.net ESMTP\\r\\n\nC EHLO client.example.org\\r\\n\n"
	                   "S 250-mx.example.net\\r\\n250-PIPELINING\\r\\n250 8BITMIME\\r\\n\n"
	                   "C MAIL FROM:<alice@example.org>\\r\\nRCPT TO:<bob@example.net>\\r\\n"
	                   "RCPT TO:<carol@example.net>\\r\\nDATA\\r\\n\n"
	                   "S 250 Ok\\r\\n250 Ok\\r\\n250 Ok\\r\\n354 go\\r\\n\nC ");
	sl_strbuf_puts(&b, "Cc: ");
	for (int i = 0; i < 150; i++)
		sl_strbuf_printf(&b, "%s=?utf-8?q?N=C3=A4me_%d?= (c) <u%d@example.net>", i ? "," : "", i, i);
	sl_strbuf_puts(&b, "\\r\\n");
	put_escaped(&b, message);
	sl_strbuf_puts(&b, ".\\r\\n\nS 250 queued\\r\\n\n"
	                   "C MAIL FROM:<x@example.org>\\r\\nRCPT TO:<y@example.net>\\r\\nDATA\\r\\n\n"
	                   "S 250 Ok\\r\\n250 Ok\\r\\n354 go\\r\\n\n"
	                   "C Subject: two\\r\\n\\r\\nsecond\\r\\n.\\r\\nQUIT\\r\\n\n"
	                   "S 250 queued\\r\\n221 bye\\r\\n\n");
	struct transcript *t = transcript_parse(b.s, b.len);
	sl_strbuf_free(&b);
	return t;
}

/* Runs t against a; checks what every run must show; returns the run (freed). */
static void run_checked(const struct transcript *t, struct test_acct *a, enum chunking ch, unsigned seed)
{
	struct sl_memacct acct = test_acct(a);
	struct run *r = run_transcript_acct(t, ch, seed, NULL, true, &acct);
	CU_ASSERT_STRING_EQUAL(r->error, "");
	if (!r->s) {
		CU_ASSERT(a->refusals > 0);
		CU_ASSERT_EQUAL(a->total, 0);
	} else {
		CU_ASSERT_EQUAL(a->total, sl_smtp_memory(r->s));
		CU_ASSERT_EQUAL(sl_smtp_failed(r->s), a->refusals > 0);
		CU_ASSERT_EQUAL(run_count_signal(r, "engine.memory"), a->refusals > 0 ? 1 : 0);
		if (a->refusals == 0)
			CU_ASSERT_EQUAL(r->nmsgs, 2);
		for (size_t i = 0; i < r->nmsgs; i++)
			CU_ASSERT(r->msgs[i].ended && r->msgs[i].has_result);
	}
	run_free(r);
	CU_ASSERT_EQUAL(a->total, 0);
}

static void test_accounted_exactly(void)
{
	struct transcript *t = realistic_transcript();
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	for (unsigned seed = 1; seed <= 3; seed++) {
		struct test_acct a = {0};
		struct sl_memacct acct = test_acct(&a);
		struct run *r = run_transcript_acct(t, CH_RANDOM, seed, NULL, false, &acct);
		CU_ASSERT_STRING_EQUAL(r->error, "");
		CU_ASSERT_EQUAL_FATAL(r->nmsgs, 2);
		/* the message was parsed for real: decoded parts, charsets, nesting */
		CU_ASSERT(r->mime_events > 20);
		CU_ASSERT_EQUAL(a.total, sl_smtp_memory(r->s));
		CU_ASSERT(a.peak >= r->max_memory);
		CU_ASSERT(a.peak > a.total); /* header parses, held lines came and went */
		sl_smtp_close(r->s);
		CU_ASSERT_EQUAL(a.total, sl_smtp_memory(r->s));
		run_free(r);
		CU_ASSERT_EQUAL(a.total, 0);
	}
	transcript_free(t);
}

static void test_rcpts_charged_when_read(void)
{
	/* recipients are charged as they come, not when a message ends */
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	sl_strbuf_puts(&b, "S 220 mx\\r\\n\nC MAIL FROM:<a@b>\\r\\n");
	for (int i = 0; i < 1000; i++)
		sl_strbuf_printf(&b, "RCPT TO:<r%d@example.net>\\r\\n", i);
	sl_strbuf_puts(&b, "\n");
	struct transcript *t = transcript_parse(b.s, b.len);
	sl_strbuf_free(&b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	struct test_acct a = {0};
	struct sl_memacct acct = test_acct(&a);
	struct run *r = run_transcript_acct(t, CH_WHOLE, 0, NULL, false, &acct);
	CU_ASSERT_EQUAL(r->nmsgs, 0);
	CU_ASSERT(a.total >= r->base_memory + 1000 * sizeof(struct sl_rcpt));
	CU_ASSERT_EQUAL(a.total, sl_smtp_memory(r->s));
	run_free(r);
	CU_ASSERT_EQUAL(a.total, 0);
	transcript_free(t);
}

static void test_refuse_each_charge(void)
{
	struct transcript *t = realistic_transcript();
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	/* twice unlimited: the first run on this thread allocates its shared buffers */
	struct test_acct a = {0};
	run_checked(t, &a, CH_WHOLE, 0);
	a = (struct test_acct){0};
	run_checked(t, &a, CH_WHOLE, 0);
	size_t n = a.charges, peak = a.peak;
	CU_ASSERT(n > 50);
	for (size_t k = 1; k <= n; k++) {
		struct test_acct b = {.refuse_at = k};
		run_checked(t, &b, CH_WHOLE, 0);
		CU_ASSERT_EQUAL(b.refusals, 1);
	}
	/* and budgets: every 1/200th of the peak, fed in random pieces */
	for (size_t i = 0; i < 200; i++) {
		struct test_acct b = {.limit = peak * i / 200 + 1};
		run_checked(t, &b, CH_RANDOM, (unsigned)i);
	}
	transcript_free(t);
}

static void mime_event(void *ctx, const struct sl_event *ev)
{
	size_t *signals = ctx;
	if (ev->type == SL_EV_SIGNAL && strcmp(ev->name, "engine.memory") == 0)
		signals[0]++;
	else if (signals[0])
		signals[1]++; /* events after the failure */
}

static void test_mime_refuse_each_charge(void)
{
	size_t n = 0;
	for (size_t k = 0; k == 0 || k <= n; k++) {
		struct test_acct a = {.refuse_at = k};
		struct sl_memacct acct = test_acct(&a);
		size_t signals[2] = {0, 0};
		struct sl_mime *m = sl_mime_new_acct(NULL, mime_event, signals, &acct);
		if (m) {
			sl_mime_reset(m, 7);
			for (size_t i = 0; i < sizeof message - 1; i += 13)
				sl_mime_feed(m, (const uint8_t *)message + i,
				             sizeof message - 1 - i < 13 ? sizeof message - 1 - i : 13);
			sl_mime_finish(m);
			CU_ASSERT_EQUAL(a.total, sl_mime_memory(m));
			CU_ASSERT_EQUAL(sl_mime_failed(m), a.refusals > 0);
			CU_ASSERT_EQUAL(signals[0], a.refusals > 0 ? 1 : 0);
			CU_ASSERT_EQUAL(signals[1], 0);
			sl_mime_free(m);
		} else {
			CU_ASSERT(a.refusals > 0);
		}
		CU_ASSERT_EQUAL(a.total, 0);
		if (k == 0)
			n = a.charges;
	}
	CU_ASSERT(n > 20);
}

void register_memory_tests(void)
{
	static const struct test_def tests[] = {
		{"account equals sl_smtp_memory", test_accounted_exactly},
		{"recipients charged when read", test_rcpts_charged_when_read},
		{"each charge refused in turn", test_refuse_each_charge},
		{"MIME parser: each charge refused in turn", test_mime_refuse_each_charge},
	};
	add_suite("memory", tests, sizeof tests / sizeof tests[0]);
}
