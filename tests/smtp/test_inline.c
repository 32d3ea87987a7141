/* Inline sessions (sl_limits.inline_mode) never assume a reply: the client's bytes wait
 * (sl_smtp_client_room) until real replies free room. Each case runs twice: as a capture
 * (the old behaviour, still the capture behaviour: the engine assumes a reply and reads
 * the bytes by that assumption) and inline, the way sluice-dp feeds it. Before inline
 * mode existed the dataplane got the capture behaviour, so each inline half failed. */
#include <stdlib.h>
#include <string.h>

#include "tests.h"

static struct sl_limits inline_limits(size_t max_pending)
{
	struct sl_limits lim;
	sl_limits_default(&lim);
	lim.max_pending = max_pending;
	lim.inline_mode = true;
	return lim;
}

/* "C " + n bytes of TLS records (16 03 01 ...), as a transcript line. */
static void put_tls_bytes(struct sl_strbuf *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sl_strbuf_printf(b, "\\x%02x", i % 64 == 0 ? 0x16 : i % 64 == 1 ? 0x03 : 0x01);
}

static struct transcript *starttls_flood(size_t tls_bytes)
{
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	sl_strbuf_puts(&b, "S 220 mx ESMTP\\r\\n\nC EHLO a\\r\\n\nS 250-mx\\r\\n250 STARTTLS\\r\\n\n"
	                   "C STARTTLS\\r\\n");
	put_tls_bytes(&b, tls_bytes);
	sl_strbuf_puts(&b, "\nS 454 4.7.0 TLS not available due to local problem\\r\\n\n");
	struct transcript *t = transcript_parse(b.s, b.len);
	sl_strbuf_free(&b);
	return t;
}

static void test_starttls_refused_after_flood(void)
{
	struct transcript *t = starttls_flood(3 * 4096);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	struct sl_limits lim = inline_limits(4096);

	/* capture: past max_pending the engine assumed the 220 and saw TLS: opaque */
	lim.inline_mode = false;
	struct run *c = run_transcript(t, CH_WHOLE, 0, &lim, false);
	CU_ASSERT(sl_smtp_encrypted(c->s));
	CU_ASSERT_EQUAL(run_count_signal(c, "smtp.reply_assumed"), 1);
	run_free(c);

	/* inline: the device kept the bytes back; the 454 came; they are plaintext */
	lim.inline_mode = true;
	struct run *r = run_inline(t, &lim, false);
	CU_ASSERT_STRING_EQUAL(r->error, "");
	CU_ASSERT_EQUAL(r->backlog_left, 0);
	CU_ASSERT(!sl_smtp_encrypted(r->s));
	CU_ASSERT(!sl_smtp_failed(r->s));
	CU_ASSERT(r->backlog_peak >= 2 * 4096);
	CU_ASSERT_EQUAL(run_count_signal(r, "smtp.reply_assumed"), 0);
	CU_ASSERT_EQUAL(run_count_signal(r, "smtp.pending_overflow"), 0);
	CU_ASSERT_EQUAL(run_count_signal(r, "smtp.data_before_reply"), 1);
	/* everything was read, as (junk) command bytes, none as TLS */
	CU_ASSERT_EQUAL(sl_smtp_client_consumed(r->s), r->client_fed);
	CU_ASSERT_STRING_EQUAL(r->trace.s, "220 EHLO 250 STARTTLS !smtp.data_before_reply 454 "
	                                   "!smtp.line_too_long ");
	run_free(r);
	transcript_free(t);
}

static void test_fed_beyond_room_fails(void)
{
	/* a caller that ignores the room: the inline session fails, it does not assume */
	struct transcript *t = starttls_flood(3 * 4096);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	struct sl_limits lim = inline_limits(4096);
	struct run *r = run_transcript(t, CH_WHOLE, 0, &lim, true);
	CU_ASSERT_STRING_EQUAL(r->error, "");
	CU_ASSERT(sl_smtp_failed(r->s));
	CU_ASSERT(!sl_smtp_encrypted(r->s));
	CU_ASSERT_EQUAL(run_count_signal(r, "smtp.reply_assumed"), 0);
	/* the overflow, then the failure itself, both smtp.pending_overflow */
	CU_ASSERT_EQUAL(run_count_signal(r, "smtp.pending_overflow"), 2);
	const struct sig_rec *last = &r->sigs[r->nsigs - 1];
	CU_ASSERT_STRING_EQUAL(last->detail, "inline: client bytes fed beyond sl_smtp_client_room()");
	/* nothing more is read: the 454 (and anything else) is ignored */
	CU_ASSERT_PTR_NULL(strstr(r->trace.s, "454"));
	CU_ASSERT_EQUAL(sl_smtp_client_room(r->s), SIZE_MAX);
	run_free(r);
	transcript_free(t);
}

/* DATA refused, with the message pipelined behind it: 40 lines of 300 bytes. */
static struct transcript *refused_data_flood(void)
{
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	sl_strbuf_puts(&b, "S 220 mx\\r\\n\nC EHLO a\\r\\n\nS 250 mx\\r\\n\n"
	                   "C MAIL FROM:<evil@example.org>\\r\\nRCPT TO:<nobody@example.net>\\r\\n"
	                   "DATA\\r\\nSubject: hidden\\r\\n\\r\\n");
	for (int i = 0; i < 40; i++) {
		sl_strbuf_printf(&b, "RCPT TO:<victim%d@example.net> ", i);
		for (int k = 0; k < 270; k++)
			sl_strbuf_putc(&b, 'x');
		sl_strbuf_puts(&b, "\\r\\n");
	}
	sl_strbuf_puts(&b, ".\\r\\n\nS 250 Ok\\r\\n550 5.1.1 no such user\\r\\n"
	                   "554 5.5.1 No valid recipients\\r\\n\nS ");
	/* the server reads the "content" as commands and answers each of the 43 */
	for (int i = 0; i < 43; i++)
		sl_strbuf_puts(&b, "503 5.5.1 Error: need MAIL command\\r\\n");
	sl_strbuf_puts(&b, "\n");
	struct transcript *t = transcript_parse(b.s, b.len);
	sl_strbuf_free(&b);
	return t;
}

static void test_refused_data_after_flood(void)
{
	struct transcript *t = refused_data_flood();
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	struct sl_limits lim = inline_limits(4096);

	/* capture: 354 assumed, the commands the server read were taken as a message */
	lim.inline_mode = false;
	struct run *c = run_transcript(t, CH_WHOLE, 0, &lim, true);
	CU_ASSERT_EQUAL(c->nmsgs, 1);
	CU_ASSERT_EQUAL(run_count_signal(c, "smtp.reply_assumed"), 1);
	CU_ASSERT_EQUAL(run_count_signal(c, "smtp.desync"), 1);
	run_free(c);

	lim.inline_mode = true;
	struct run *r = run_inline(t, &lim, true);
	CU_ASSERT_STRING_EQUAL(r->error, "");
	CU_ASSERT_EQUAL(r->backlog_left, 0);
	CU_ASSERT(r->backlog_peak > 4096);
	/* no message, no content: the refusal is the transaction's result */
	CU_ASSERT_EQUAL(r->nmsgs, 0);
	CU_ASSERT_EQUAL(r->raw_events, 0);
	CU_ASSERT_EQUAL(r->mime_events, 0);
	CU_ASSERT_EQUAL(r->refused, 1);
	CU_ASSERT_EQUAL(r->refused_code, 554);
	CU_ASSERT_EQUAL(run_count_signal(r, "smtp.reply_assumed"), 0);
	CU_ASSERT_EQUAL(run_count_signal(r, "smtp.desync"), 0);
	CU_ASSERT_EQUAL(run_count_signal(r, "smtp.pending_overflow"), 0);
	CU_ASSERT(!sl_smtp_failed(r->s));
	/* the pipelined lines are commands (as the server read them), each matched to its 503 */
	CU_ASSERT_PTR_NOT_NULL(strstr(r->trace.s, "DATA !smtp.data_before_reply 250 550 554 "
	                                          "result0=554 SUBJECT: !smtp.bad_command  "
	                                          "!smtp.bad_command RCPT RCPT "));
	CU_ASSERT_PTR_NULL(strstr(r->trace.s, "!smtp.unsolicited_reply"));
	run_free(r);
	transcript_free(t);
}

#define FLOOD_RCPTS 5000

static bool rcpt_refused(int i)
{
	return i % 7 == 3;
}

static struct transcript *rcpt_flood(void)
{
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	sl_strbuf_puts(&b, "S 220 mx\\r\\n\nC MAIL FROM:<a@example.org>\\r\\n");
	for (int i = 0; i < FLOOD_RCPTS; i++)
		sl_strbuf_printf(&b, "RCPT TO:<r%d@example.net>\\r\\n", i);
	sl_strbuf_puts(&b, "DATA\\r\\n\nS 250 2.1.0 Ok\\r\\n");
	for (int i = 0; i < FLOOD_RCPTS; i++)
		sl_strbuf_puts(&b, rcpt_refused(i) ? "550 5.1.1 unknown\\r\\n" : "250 2.1.5 Ok\\r\\n");
	sl_strbuf_puts(&b, "354 go\\r\\n\nC Subject: flood\\r\\n\\r\\nbody\\r\\n.\\r\\n\n"
	                   "S 250 2.0.0 queued\\r\\n\n");
	struct transcript *t = transcript_parse(b.s, b.len);
	sl_strbuf_free(&b);
	return t;
}

static void test_rcpt_flood(void)
{
	struct transcript *t = rcpt_flood();
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	struct sl_limits lim = inline_limits(256 * 1024);
	lim.max_rcpts = FLOOD_RCPTS;

	/* capture: beyond 4096 queued commands the oldest were assumed answered: their
	 * replies were skipped, so those recipients never got a status */
	lim.inline_mode = false;
	struct run *c = run_transcript(t, CH_WHOLE, 0, &lim, true);
	CU_ASSERT_EQUAL(run_count_signal(c, "smtp.pending_overflow"), 1);
	CU_ASSERT_EQUAL_FATAL(c->nmsgs, 1);
	CU_ASSERT_EQUAL(c->msgs[0].rcpt[3].status, SL_RCPT_PENDING);
	run_free(c);

	lim.inline_mode = true;
	struct run *r = run_inline(t, &lim, true);
	CU_ASSERT_STRING_EQUAL(r->error, "");
	CU_ASSERT_EQUAL(r->backlog_left, 0);
	CU_ASSERT(r->backlog_peak == 0); /* under max_pending: held by the session, not the device */
	CU_ASSERT_EQUAL(run_count_signal(r, "smtp.pending_overflow"), 0);
	CU_ASSERT_EQUAL(run_count_signal(r, "smtp.reply_assumed"), 0);
	CU_ASSERT_EQUAL(run_count_signal(r, "smtp.unsolicited_reply"), 0);
	CU_ASSERT_EQUAL_FATAL(r->nmsgs, 1);
	const struct msg_rec *m = &r->msgs[0];
	assert_raw(m, "Subject: flood\r\n\r\nbody\r\n");
	CU_ASSERT_EQUAL(m->code, 250);
	CU_ASSERT_EQUAL_FATAL(m->env.nrcpt, FLOOD_RCPTS);
	size_t wrong = 0;
	for (int i = 0; i < FLOOD_RCPTS; i++) {
		enum sl_rcpt_status want = rcpt_refused(i) ? SL_RCPT_REFUSED : SL_RCPT_ACCEPTED;
		wrong += m->rcpt[i].status != want || m->rcpt[i].reply_code != (rcpt_refused(i) ? 550 : 250);
	}
	CU_ASSERT_EQUAL(wrong, 0);
	run_free(r);
	transcript_free(t);
}

/* Ten pipelined BDAT transactions: more than the 8 open at once. */
static void test_bdat_transactions_wait(void)
{
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	sl_strbuf_puts(&b, "S 220 mx\\r\\n\nC ");
	for (int i = 0; i < 10; i++)
		sl_strbuf_printf(&b, "MAIL FROM:<s%d@example.org>\\r\\nRCPT TO:<r@example.net>\\r\\n"
		                     "BDAT 7 LAST\\r\\nmsg %d\\r\\n", i, i);
	sl_strbuf_puts(&b, "\nS ");
	for (int i = 0; i < 10; i++)
		sl_strbuf_puts(&b, "250 Ok\\r\\n250 Ok\\r\\n250 queued\\r\\n");
	sl_strbuf_puts(&b, "\n");
	struct transcript *t = transcript_parse(b.s, b.len);
	sl_strbuf_free(&b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	struct sl_limits lim = inline_limits(4096);

	lim.inline_mode = false;
	struct run *c = run_transcript(t, CH_WHOLE, 0, &lim, true);
	CU_ASSERT_EQUAL(run_count_signal(c, "smtp.pending_overflow"), 1);
	run_free(c);

	lim.inline_mode = true;
	struct run *r = run_inline(t, &lim, true);
	CU_ASSERT_STRING_EQUAL(r->error, "");
	CU_ASSERT_EQUAL(r->backlog_left, 0);
	CU_ASSERT_EQUAL(run_count_signal(r, "smtp.pending_overflow"), 0);
	CU_ASSERT_EQUAL_FATAL(r->nmsgs, 10);
	for (int i = 0; i < 10; i++) {
		char want[32];
		snprintf(want, sizeof want, "msg %d\r\n", i);
		assert_raw(&r->msgs[i], want);
		CU_ASSERT_EQUAL(r->msgs[i].code, 250);
	}
	run_free(r);
	transcript_free(t);
}

static void test_close_still_assumes(void)
{
	/* nothing is forwarded after the close: an inline session reads the held bytes the
	 * assumed way there, as a capture does (documented) */
	struct sl_limits lim = inline_limits(4096);
	const char *text =
		"S 220 mx\\r\\n\nC MAIL FROM:<a@b>\\r\\nRCPT TO:<c@d>\\r\\nDATA\\r\\nSubject: s\\r\\n\\r\\nx\\r\\n.\\r\\n\n"
		"S 250 Ok\\r\\n250 Ok\\r\\n\n";
	struct transcript *t = transcript_parse(text, strlen(text));
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	struct run *r = run_inline(t, &lim, false);
	CU_ASSERT_EQUAL(r->nmsgs, 0);
	CU_ASSERT_EQUAL(sl_smtp_client_room(r->s), 4096 - strlen("Subject: s\r\n\r\nx\r\n.\r\n"));
	sl_smtp_close(r->s);
	CU_ASSERT_EQUAL_FATAL(r->nmsgs, 1);
	assert_raw(&r->msgs[0], "Subject: s\r\n\r\nx\r\n");
	CU_ASSERT_EQUAL(run_count_signal(r, "smtp.reply_assumed"), 1);
	run_free(r);
	transcript_free(t);
}

void register_inline_tests(void)
{
	static const struct test_def tests[] = {
		{"STARTTLS refused after a flood of TLS bytes", test_starttls_refused_after_flood},
		{"fed beyond the room: failed, nothing assumed", test_fed_beyond_room_fails},
		{"DATA refused with a pipelined flood behind it", test_refused_data_after_flood},
		{"RCPT flood beyond the command queue", test_rcpt_flood},
		{"more pipelined transactions than slots", test_bdat_transactions_wait},
		{"close assumes, inline too", test_close_still_assumes},
	};
	add_suite("inline", tests, sizeof tests / sizeof tests[0]);
}
