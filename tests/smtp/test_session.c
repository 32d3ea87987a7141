/* Commands, replies, transactions: the hand-written transcripts in tests/data/smtp/hand. */
#include <stdlib.h>
#include <string.h>

#include "tests.h"

static void test_basic(void)
{
	struct run *r = run_file("hand/basic.txt");
	CU_ASSERT_STRING_EQUAL(r->trace.s,
		"220 EHLO 250 NOOP 250 VRFY 252 EXPN 502 HELP 214 MAIL 250 RCPT 250 RCPT 550 "
		"RCPT 250 DATA 354 begin0 end0 250 result0=250 RSET 250 QUIT 221 ");
	CU_ASSERT_EQUAL_FATAL(r->nmsgs, 1);
	const struct msg_rec *m = &r->msgs[0];
	assert_raw_file(m, "tests/data/smtp/hand/basic.eml");
	CU_ASSERT_STRING_EQUAL(m->env.helo, "client.example.org");
	CU_ASSERT_STRING_EQUAL(m->env.mail_from, "sender@example.org");
	CU_ASSERT_EQUAL(m->env.size_param, 321);
	CU_ASSERT(m->env.body_8bitmime);
	CU_ASSERT(m->env.smtputf8);
	CU_ASSERT(!m->env.bdat);
	CU_ASSERT(!m->env.tls);
	CU_ASSERT_EQUAL_FATAL(m->env.nrcpt, 3);
	CU_ASSERT_STRING_EQUAL(m->rcpt[0].addr, "alice@example.net");
	CU_ASSERT_EQUAL(m->rcpt[0].status, SL_RCPT_ACCEPTED);
	CU_ASSERT_STRING_EQUAL(m->rcpt[1].addr, "nobody@example.net");
	CU_ASSERT_EQUAL(m->rcpt[1].status, SL_RCPT_REFUSED);
	CU_ASSERT_EQUAL(m->rcpt[1].reply_code, 550);
	CU_ASSERT(!sl_rcpt_counts(&m->rcpt[1]));
	CU_ASSERT_EQUAL(m->rcpt[2].status, SL_RCPT_ACCEPTED);
	CU_ASSERT_EQUAL(m->code, 250);
	/* content starts after "DATA\r\n", ends just past the terminator */
	CU_ASSERT_EQUAL(m->begin_off, client_offset_after("hand/basic.txt", "DATA\r\n", 6));
	CU_ASSERT_EQUAL(m->end_off, client_offset_after("hand/basic.txt", "\r\n.\r\n", 5));
	CU_ASSERT_EQUAL(r->nsigs, 0);
	run_free(r);
}

static void test_pipelining(void)
{
	struct run *r = run_file("hand/pipelining.txt");
	CU_ASSERT_STRING_EQUAL(r->trace.s,
		"220 EHLO 250 MAIL RCPT RCPT RCPT DATA 250 250 450 250 354 begin0 end0 MAIL RCPT "
		"DATA 250 result0=250 250 250 354 begin1 end1 QUIT 250 result1=250 221 ");
	CU_ASSERT_EQUAL_FATAL(r->nmsgs, 2);
	assert_raw(&r->msgs[0], "Subject: one\r\n\r\nbody one\r\n");
	assert_raw(&r->msgs[1], "Subject: two\r\n\r\nbody two\r\n");
	CU_ASSERT_STRING_EQUAL(r->msgs[0].env.mail_from, "a@example.org");
	CU_ASSERT_EQUAL_FATAL(r->msgs[0].env.nrcpt, 3);
	CU_ASSERT_EQUAL(r->msgs[0].rcpt[1].status, SL_RCPT_REFUSED);
	CU_ASSERT_EQUAL(r->msgs[0].rcpt[1].reply_code, 450);
	CU_ASSERT_EQUAL(r->msgs[0].rcpt[2].status, SL_RCPT_ACCEPTED);
	/* the second transaction was pipelined before the first's result: kept apart */
	CU_ASSERT_STRING_EQUAL(r->msgs[1].env.mail_from, "b@example.org");
	CU_ASSERT_EQUAL_FATAL(r->msgs[1].env.nrcpt, 1);
	CU_ASSERT_STRING_EQUAL(r->msgs[1].rcpt[0].addr, "w@example.net");
	CU_ASSERT_EQUAL(r->nsigs, 0);
	run_free(r);
}

static void test_multiline_reply(void)
{
	struct run *r = run_text(
		"S 220-mx.example.net ESMTP\\r\\n220-second greeting line\\r\\n\n"
		"S 220 last\\r\\n\n"
		"C EHLO a\\r\\n\n"
		"S 250-mx\\r\\n250-PIPE\nS LINING\\r\\n250-SIZE\\r\\n\n"
		"S 250 HELP\\r\\n\n"
		"C NOOP\\r\\n\n"
		"S 250\\r\\n\n");
	/* one reply per code: the lines before the last do not answer a command */
	CU_ASSERT_STRING_EQUAL(r->trace.s, "220 EHLO 250 NOOP 250 ");
	CU_ASSERT_EQUAL(r->nsigs, 0);
	run_free(r);
}

static void test_refused_data(void)
{
	struct run *r = run_file("hand/refused-data.txt");
	CU_ASSERT_STRING_EQUAL(r->trace.s,
		"220 EHLO 250 MAIL 250 RCPT 554 DATA 554 result0=554 QUIT 221 ");
	CU_ASSERT_EQUAL(r->nmsgs, 0);
	CU_ASSERT_EQUAL(r->refused, 1);
	CU_ASSERT_EQUAL(r->refused_code, 554);
	CU_ASSERT_STRING_EQUAL(r->last_env.mail_from, "spammer@example.org");
	run_free(r);
}

static void test_refused_data_retry(void)
{
	struct run *r = run_file("hand/refused-data-retry.txt");
	CU_ASSERT_STRING_EQUAL(r->trace.s,
		"220 EHLO 250 MAIL 250 RCPT 550 DATA 554 result0=554 RCPT 250 DATA 354 begin1 end1 "
		"250 result1=250 ");
	CU_ASSERT_EQUAL_FATAL(r->nmsgs, 1);
	CU_ASSERT_STRING_EQUAL(r->msgs[0].env.mail_from, "a@example.org");
	CU_ASSERT_EQUAL_FATAL(r->msgs[0].env.nrcpt, 2);
	CU_ASSERT_EQUAL(r->msgs[0].rcpt[0].status, SL_RCPT_REFUSED);
	CU_ASSERT_EQUAL(r->msgs[0].rcpt[1].status, SL_RCPT_ACCEPTED);
	run_free(r);
}

static void test_refused_message(void)
{
	struct run *r = run_file("hand/refused-message.txt");
	CU_ASSERT_EQUAL_FATAL(r->nmsgs, 1);
	CU_ASSERT_EQUAL(r->msgs[0].code, 550);
	CU_ASSERT_STRING_EQUAL(r->msgs[0].env.helo, "client.example.org");
	assert_raw(&r->msgs[0], "Subject: virus\r\n\r\nX5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR\r\n");
	run_free(r);
}

static void test_rset(void)
{
	struct run *r = run_file("hand/rset.txt");
	CU_ASSERT_STRING_EQUAL(r->trace.s,
		"220 EHLO 250 MAIL 250 RCPT 250 RSET 250 MAIL 250 RCPT 250 DATA 354 begin1 end1 "
		"250 result1=250 QUIT 221 ");
	CU_ASSERT_EQUAL_FATAL(r->nmsgs, 1);
	CU_ASSERT_STRING_EQUAL(r->msgs[0].env.mail_from, "second@example.org");
	CU_ASSERT_EQUAL_FATAL(r->msgs[0].env.nrcpt, 1);
	CU_ASSERT_STRING_EQUAL(r->msgs[0].rcpt[0].addr, "y@example.net");
	CU_ASSERT_EQUAL(r->refused, 0);
	run_free(r);
}

static void test_nested_mail(void)
{
	struct run *r = run_file("hand/nested-mail.txt");
	CU_ASSERT_EQUAL_FATAL(r->nmsgs, 1);
	CU_ASSERT_STRING_EQUAL(r->msgs[0].env.mail_from, "evil@example.org");
	CU_ASSERT_EQUAL(r->msgs[0].env.size_param, 100);
	CU_ASSERT_EQUAL(r->msgs[0].code, 250);
	const struct sig_rec *sg = run_find_signal(r, "smtp.bad_command");
	CU_ASSERT_PTR_NOT_NULL_FATAL(sg);
	CU_ASSERT_STRING_EQUAL(sg->detail,
		"MAIL refused inside an open transaction; the sender stays <evil@example.org>");
	CU_ASSERT_EQUAL(r->nsigs, 1);
	run_free(r);
}

static void test_auth_login(void)
{
	struct run *r = run_file("hand/auth-login.txt");
	CU_ASSERT_STRING_EQUAL(r->trace.s,
		"220 EHLO 250 AUTH 334 AUTH-RESPONSE 334 AUTH-RESPONSE 235 MAIL 250 RCPT 250 DATA "
		"354 begin0 end0 250 result0=250 QUIT 221 ");
	CU_ASSERT_EQUAL_FATAL(r->nmsgs, 1);
	CU_ASSERT_STRING_EQUAL(r->msgs[0].env.auth_user, "alice@example.org");
	/* credentials never appear in events */
	const char *log = sl_eventlog_text(&r->log_smtp);
	CU_ASSERT_PTR_NULL(strstr(log, "YWxpY2VAZXhhbXBsZS5vcmc"));
	CU_ASSERT_PTR_NULL(strstr(log, "c2VjcmV0"));
	CU_ASSERT_EQUAL(r->nsigs, 0);
	run_free(r);
}

static void test_auth_plain(void)
{
	struct run *r = run_file("hand/auth-plain.txt");
	CU_ASSERT_EQUAL_FATAL(r->nmsgs, 1);
	/* the failed attempt's identity (mallory) is not taken */
	CU_ASSERT_STRING_EQUAL(r->msgs[0].env.auth_user, "bob");
	const char *log = sl_eventlog_text(&r->log_smtp);
	CU_ASSERT_PTR_NULL(strstr(log, "AG1hbGxvcnkAd3Jvbmc"));
	CU_ASSERT_PTR_NULL(strstr(log, "AGJvYgBzZWNyZXQ"));
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "value=\"PLAIN *\""));
	run_free(r);
}

static void test_starttls_tls(void)
{
	struct transcript *t = transcript_load("hand/starttls-tls.txt");
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	struct run *r = run_transcript(t, CH_WHOLE, 0, NULL, false);
	CU_ASSERT_STRING_EQUAL(r->error, "");
	CU_ASSERT(sl_smtp_encrypted(r->s));
	/* nothing after the ClientHello is read as SMTP, on either side */
	CU_ASSERT_STRING_EQUAL(r->trace.s, "220 EHLO 250 STARTTLS 220 ");
	struct sl_strbuf c = client_stream(t);
	CU_ASSERT_EQUAL(sl_smtp_client_consumed(r->s), c.len);
	sl_strbuf_free(&c);
	run_free(r);
	transcript_free(t);
}

static void test_starttls_refused(void)
{
	struct run *r = run_text(
		"S 220 mx ESMTP\\r\\n\nC STARTTLS\\r\\n\nS 454 4.7.0 TLS not available\\r\\n\n"
		"C MAIL FROM:<a@b>\\r\\n\nS 250 Ok\\r\\n\n");
	CU_ASSERT(!sl_smtp_encrypted(r->s));
	CU_ASSERT_STRING_EQUAL(r->trace.s, "220 STARTTLS 454 MAIL 250 ");
	CU_ASSERT_EQUAL(r->nsigs, 0);
	run_free(r);
}

static void test_starttls_plaintext(void)
{
	struct run *r = run_file("hand/starttls-plaintext.txt");
	CU_ASSERT(!sl_smtp_encrypted(r->s));
	CU_ASSERT_EQUAL(run_count_signal(r, "smtp.plaintext_after_starttls"), 1);
	CU_ASSERT_EQUAL_FATAL(r->nmsgs, 1);
	CU_ASSERT(!r->msgs[0].env.tls);
	assert_raw(&r->msgs[0], "Subject: in the clear\r\n\r\nsecret plan\r\n");
	run_free(r);
}

static void test_starttls_injection(void)
{
	struct run *r = run_file("hand/starttls-injection.txt");
	CU_ASSERT_STRING_EQUAL(r->trace.s,
		"220 EHLO 250 STARTTLS !smtp.data_before_reply 220 "
		"!smtp.plaintext_after_starttls RSET 250 ");
	run_free(r);
}

static void test_data_before_354(void)
{
	struct transcript *t = transcript_load("hand/data-before-354.txt");
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	/* feed by hand to watch what an inline device may forward */
	struct run *r = run_transcript(t, CH_WHOLE, 0, NULL, false);
	CU_ASSERT_STRING_EQUAL(r->error, "");
	CU_ASSERT_EQUAL_FATAL(r->nmsgs, 1);
	assert_raw(&r->msgs[0], "Subject: early\r\n\r\nbody\r\n");
	CU_ASSERT_EQUAL(r->msgs[0].begin_off,
	                client_offset_after("hand/data-before-354.txt", "DATA\r\n", 6));
	CU_ASSERT_EQUAL(run_count_signal(r, "smtp.data_before_reply"), 1);
	run_free(r);

	struct sl_eventlog log;
	sl_eventlog_init(&log);
	struct sl_smtp *s = sl_smtp_new(NULL, sl_eventlog_cb, &log);
	uint64_t after_data = client_offset_after("hand/data-before-354.txt", "DATA\r\n", 6);
	size_t fed = 0;
	for (size_t i = 0; i < t->n; i++) {
		sl_smtp_feed(s, t->rec[i].dir, t->rec[i].data, t->rec[i].len);
		if (t->rec[i].dir == SL_CLIENT)
			fed += t->rec[i].len;
		if (i == 3) /* the client segment with DATA and the content: content held */
			CU_ASSERT_EQUAL(sl_smtp_client_consumed(s), after_data);
		if (i == 4) /* the 354 arrived: everything interpreted */
			CU_ASSERT_EQUAL(sl_smtp_client_consumed(s), fed);
	}
	sl_smtp_free(s);
	sl_eventlog_free(&log);
	transcript_free(t);
}

static void test_data_before_554(void)
{
	struct run *r = run_file("hand/data-before-554.txt");
	CU_ASSERT_STRING_EQUAL(r->trace.s,
		"220 EHLO 250 MAIL RCPT DATA !smtp.data_before_reply 250 554 554 result0=554 "
		"RSET MAIL RCPT DATA 250 250 250 354 begin1 end1 250 result1=250 ");
	CU_ASSERT_EQUAL_FATAL(r->nmsgs, 1);
	CU_ASSERT_STRING_EQUAL(r->msgs[0].env.mail_from, "evil@example.org");
	assert_raw(&r->msgs[0], "Subject: evil\r\n\r\nevil\r\n");
	run_free(r);
}

static void test_smuggling_transcript(void)
{
	struct run *r = run_file("hand/smuggling.txt");
	CU_ASSERT_EQUAL_FATAL(r->nmsgs, 1);
	CU_ASSERT_EQUAL(run_count_signal(r, "smtp.smuggling"), 1);
	const struct sig_rec *sg = run_find_signal(r, "smtp.smuggling");
	CU_ASSERT_PTR_NOT_NULL_FATAL(sg);
	CU_ASSERT_STRING_EQUAL(sg->detail, "LF.LF does not end the message");
	CU_ASSERT_EQUAL(sg->off, strlen("Subject: innocent\r\n\r\nhello\n"));
	/* the smuggled transaction is content of the one message, scanned with it */
	assert_raw(&r->msgs[0],
		"Subject: innocent\r\n\r\nhello\n.\nMAIL FROM:<ceo@example.net>\nRCPT "
		"TO:<b@example.net>\nDATA\nSubject: urgent wire transfer\n\npay now\r\n");
	CU_ASSERT_PTR_NULL(strstr(r->trace.s, "MAIL MAIL"));
	run_free(r);
}

static void test_unknown(void)
{
	struct run *r = run_file("hand/unknown.txt");
	CU_ASSERT_STRING_EQUAL(r->trace.s,
		"220 EHLO 250 XYZZY !smtp.bad_command 502  !smtp.bad_command 500 !smtp.nul NO?OP "
		"!smtp.bad_command 502 !smtp.bad_reply 421 !smtp.unsolicited_reply QUIT 221 ");
	run_free(r);
}

static void test_line_too_long(void)
{
	struct sl_limits lim;
	sl_limits_default(&lim);
	lim.max_line = 64;
	char text[2048];
	char addr[201];
	memset(addr, 'a', 200);
	addr[200] = '\0';
	snprintf(text, sizeof text,
		"S 220 mx\\r\\n\nC MAIL FROM:<%s@example.org>\\r\\n\nS 250 Ok\\r\\n\n"
		"S 250 %s\\r\\n\nC NOOP\\r\\n\nS 250 Ok\\r\\n\n", addr, addr);
	struct transcript *t = transcript_parse(text, strlen(text));
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	struct run *r = run_transcript(t, CH_WHOLE, 0, &lim, true);
	/* each over-long line: one signal, truncated, still one command / reply */
	CU_ASSERT_STRING_EQUAL(r->trace.s,
		"220 !smtp.line_too_long MAIL 250 !smtp.line_too_long 250 "
		"!smtp.unsolicited_reply NOOP 250 ");
	CU_ASSERT(r->max_memory - r->base_memory < 16384);
	CU_ASSERT_STRING_EQUAL(run_invariance(t, &lim), "");
	run_free(r);
	transcript_free(t);
}

static void test_too_many_rcpts(void)
{
	struct sl_limits lim;
	sl_limits_default(&lim);
	lim.max_rcpts = 5;
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	sl_strbuf_puts(&b, "S 220 mx\\r\\n\nC MAIL FROM:<a@b>\\r\\n");
	for (int i = 0; i < 20; i++)
		sl_strbuf_printf(&b, "RCPT TO:<r%d@example.net>\\r\\n", i);
	sl_strbuf_puts(&b, "DATA\\r\\n\nS 250 Ok\\r\\n");
	for (int i = 0; i < 20; i++)
		sl_strbuf_puts(&b, i == 1 ? "550 no\\r\\n" : "250 Ok\\r\\n");
	sl_strbuf_puts(&b, "354 go\\r\\n\nC x\\r\\n.\\r\\n\nS 250 Ok\\r\\n\n");
	struct transcript *t = transcript_parse(b.s, b.len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	struct run *r = run_transcript(t, CH_WHOLE, 0, &lim, true);
	CU_ASSERT_STRING_EQUAL(r->error, "");
	CU_ASSERT_EQUAL(run_count_signal(r, "smtp.too_many_rcpts"), 1);
	CU_ASSERT_EQUAL_FATAL(r->nmsgs, 1);
	CU_ASSERT_EQUAL_FATAL(r->msgs[0].env.nrcpt, 5);
	CU_ASSERT_STRING_EQUAL(r->msgs[0].rcpt[4].addr, "r4@example.net");
	CU_ASSERT_EQUAL(r->msgs[0].rcpt[1].status, SL_RCPT_REFUSED);
	CU_ASSERT_EQUAL(r->msgs[0].rcpt[4].status, SL_RCPT_ACCEPTED);
	/* replies still matched in order after the cap: the 354 began the message */
	CU_ASSERT_EQUAL(r->msgs[0].code, 250);
	run_free(r);
	transcript_free(t);
	sl_strbuf_free(&b);
}

static void test_pending_overflow(void)
{
	struct sl_limits lim;
	sl_limits_default(&lim);
	lim.max_pending = 1024;
	/* DATA, then 3 KiB of content with no 354 in sight */
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	sl_strbuf_puts(&b, "S 220 mx\\r\\n\nC MAIL FROM:<a@b>\\r\\nRCPT TO:<c@d>\\r\\nDATA\\r\\n");
	for (int i = 0; i < 64; i++)
		sl_strbuf_puts(&b, "0123456789012345678901234567890123456789012345\\r\\n");
	sl_strbuf_puts(&b, ".\\r\\n\nS 250 Ok\\r\\n250 Ok\\r\\n354 go\\r\\n250 Ok\\r\\n\n");
	struct transcript *t = transcript_parse(b.s, b.len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	struct run *r = run_transcript(t, CH_WHOLE, 0, &lim, true);
	CU_ASSERT_STRING_EQUAL(r->error, "");
	CU_ASSERT_EQUAL(run_count_signal(r, "smtp.pending_overflow"), 1);
	CU_ASSERT_EQUAL(run_count_signal(r, "smtp.reply_assumed"), 1);
	/* the engine went on as if the 354 had come: the content is the message; the late
	 * replies are matched to the assumed commands, the last one is the result */
	CU_ASSERT_EQUAL_FATAL(r->nmsgs, 1);
	CU_ASSERT_EQUAL(r->msgs[0].raw.len, 64 * 48);
	CU_ASSERT(r->max_memory - r->base_memory < 16384);
	CU_ASSERT_EQUAL(r->msgs[0].code, 250);
	CU_ASSERT_STRING_EQUAL(run_invariance(t, &lim), "");
	run_free(r);
	transcript_free(t);
	sl_strbuf_free(&b);
}

static void test_pending_overflow_refused(void)
{
	struct sl_limits lim;
	sl_limits_default(&lim);
	lim.max_pending = 32;
	/* the engine must assume the 354; the server then refuses DATA: smtp.desync */
	const char *text =
		"S 220 mx\\r\\n\nC MAIL FROM:<a@b>\\r\\nRCPT TO:<c@d>\\r\\nDATA\\r\\n"
		"RSET\\r\\nMAIL FROM:<evil@b>\\r\\nRCPT TO:<c@d>\\r\\nDATA\\r\\nSubject: hidden\\r\\n\n"
		"S 250 Ok\\r\\n550 no\\r\\n554 no valid recipients\\r\\n\n";
	struct transcript *t = transcript_parse(text, strlen(text));
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	struct run *r = run_transcript(t, CH_WHOLE, 0, &lim, true);
	CU_ASSERT_STRING_EQUAL(r->error, "");
	CU_ASSERT_EQUAL(run_count_signal(r, "smtp.pending_overflow"), 1);
	CU_ASSERT_EQUAL(run_count_signal(r, "smtp.reply_assumed"), 1);
	CU_ASSERT_EQUAL(run_count_signal(r, "smtp.desync"), 1);
	/* the RCPT reply still reached its recipient */
	CU_ASSERT_EQUAL_FATAL(r->nmsgs, 1);
	CU_ASSERT_EQUAL_FATAL(r->msgs[0].env.nrcpt, 1);
	CU_ASSERT_EQUAL(r->msgs[0].rcpt[0].status, SL_RCPT_REFUSED);
	CU_ASSERT_STRING_EQUAL(run_invariance(t, &lim), "");
	run_free(r);
	transcript_free(t);
}

static void test_close_mid_message(void)
{
	struct run *r = run_text(
		"S 220 mx\\r\\n\nC MAIL FROM:<a@b>\\r\\n\nS 250 Ok\\r\\n\nC RCPT TO:<c@d>\\r\\n\n"
		"S 250 Ok\\r\\n\nC DATA\\r\\n\nS 354 go\\r\\n\nC Subject: cut\\r\\n\\r\\nhalf a li\n");
	CU_ASSERT_STRING_EQUAL(r->trace.s,
		"220 MAIL 250 RCPT 250 DATA 354 begin0 !smtp.incomplete end0 result0=0 ");
	CU_ASSERT_EQUAL_FATAL(r->nmsgs, 1);
	assert_raw(&r->msgs[0], "Subject: cut\r\n\r\nhalf a li");
	CU_ASSERT_EQUAL(r->msgs[0].end_off, sl_smtp_client_consumed(r->s));
	run_free(r);
}

static void test_close_without_result(void)
{
	/* the message ended but its reply never came: TXN_RESULT with code 0 at close */
	struct run *r = run_text(
		"S 220 mx\\r\\n\nC MAIL FROM:<a@b>\\r\\n\nS 250 Ok\\r\\n\nC RCPT TO:<c@d>\\r\\n\n"
		"S 250 Ok\\r\\n\nC DATA\\r\\n\nS 354 go\\r\\n\nC x\\r\\n.\\r\\n\n");
	CU_ASSERT_STRING_EQUAL(r->trace.s,
		"220 MAIL 250 RCPT 250 DATA 354 begin0 end0 result0=0 ");
	run_free(r);
}

static void test_gap_in_commands(void)
{
	struct run *r = run_text(
		"S 220 mx\\r\\n\nC MAIL FROM:<a@b>\\r\\nRCPT TO:<c\nG C 30\nC NOOP\\r\\n\n"
		"S 250 Ok\\r\\n250 Ok\\r\\n250 Ok\\r\\n\n");
	/* the partial RCPT is dropped; parsing resumes at the first byte after the hole */
	CU_ASSERT_STRING_EQUAL(r->trace.s,
		"220 MAIL !smtp.gap NOOP 250 250 250 !smtp.unsolicited_reply ");
	CU_ASSERT_EQUAL(sl_smtp_client_consumed(r->s),
	                strlen("MAIL FROM:<a@b>\r\nRCPT TO:<c") + 30 + strlen("NOOP\r\n"));
	run_free(r);
}

static void test_gap_in_data(void)
{
	/* the terminator fell into the hole: the server's reply ends the message */
	struct run *r = run_text(
		"S 220 mx\\r\\n\nC MAIL FROM:<a@b>\\r\\n\nS 250 Ok\\r\\n\nC RCPT TO:<c@d>\\r\\n\n"
		"S 250 Ok\\r\\n\nC DATA\\r\\n\nS 354 go\\r\\n\nC Subject: x\\r\\n\\r\\nbody\nG C 100\n"
		"S 250 Ok queued\\r\\n\nC QUIT\\r\\n\nS 221 Bye\\r\\n\n");
	CU_ASSERT_STRING_EQUAL(r->trace.s,
		"220 MAIL 250 RCPT 250 DATA 354 begin0 !smtp.gap 250 !smtp.incomplete end0 "
		"result0=250 QUIT 221 ");
	run_free(r);
}

static void test_server_gap(void)
{
	/* the 250s to MAIL and RCPT are lost: the 354 still begins the message */
	struct run *r = run_text(
		"S 220 mx\\r\\n\nC MAIL FROM:<a@b>\\r\\nRCPT TO:<c@d>\\r\\nDATA\\r\\n\nG S 16\n"
		"S 354 go\\r\\n\nC x\\r\\n.\\r\\n\nS 250 Ok\\r\\n\n");
	CU_ASSERT_STRING_EQUAL(r->trace.s,
		"220 MAIL RCPT DATA !smtp.gap 354 begin0 end0 250 result0=250 ");
	CU_ASSERT_EQUAL_FATAL(r->nmsgs, 1);
	CU_ASSERT_EQUAL(r->msgs[0].rcpt[0].status, SL_RCPT_PENDING);
	run_free(r);
}

static void test_one_sided(void)
{
	/* only the client side was captured: the close interprets what it sent */
	struct run *r = run_text(
		"C EHLO a\\r\\nMAIL FROM:<a@b>\\r\\nRCPT TO:<c@d>\\r\\nDATA\\r\\n\n"
		"C Subject: s\\r\\n\\r\\nbody\\r\\n.\\r\\nQUIT\\r\\n\n");
	CU_ASSERT_EQUAL_FATAL(r->nmsgs, 1);
	assert_raw(&r->msgs[0], "Subject: s\r\n\r\nbody\r\n");
	CU_ASSERT_EQUAL(r->msgs[0].code, 0);
	CU_ASSERT_EQUAL(r->msgs[0].rcpt[0].status, SL_RCPT_PENDING);
	CU_ASSERT_EQUAL(run_count_signal(r, "smtp.reply_assumed"), 1);
	run_free(r);
}

static void test_unterminated_ehlo_reply(void)
{
	/* seen on a real capture: the EHLO reply ends with a "250-" line, so the server's
	 * next 250 completes it and every later reply answered the command before its own;
	 * the 354 shows which command it answers: the RCPT's reply was the one lost */
	struct run *r = run_text(
		"S 220 mx.example.net ESMTP\\r\\n\nC EHLO client.example.org\\r\\n\n"
		"S 250-mx.example.net\\r\\n250-PIPELINING\\r\\n250-SIZE 10240000\\r\\n\n"
		"C MAIL FROM:<a@example.org>\\r\\n\nS 250 2.1.0 Ok\\r\\n\n"
		"C RCPT TO:<b@example.net>\\r\\n\nS 250 2.1.5 Ok\\r\\n\n"
		"C DATA\\r\\n\nS 354 End data with <CR><LF>.<CR><LF>\\r\\n\n"
		"C Subject: accepted\\r\\n\\r\\nthe server stored this\\r\\n.\\r\\n\n"
		"S 250 2.0.0 Ok: queued as 4Q\\r\\n\nC QUIT\\r\\n\nS 221 2.0.0 Bye\\r\\n\n");
	CU_ASSERT_STRING_EQUAL(r->trace.s,
		"220 EHLO MAIL 250 RCPT 250 DATA 354 begin0 !smtp.desync end0 250 result0=250 QUIT 221 ");
	CU_ASSERT_EQUAL_FATAL(r->nmsgs, 1);
	assert_raw(&r->msgs[0], "Subject: accepted\r\n\r\nthe server stored this\r\n");
	CU_ASSERT_EQUAL(r->msgs[0].code, 250);
	CU_ASSERT_EQUAL_FATAL(r->msgs[0].env.nrcpt, 1);
	CU_ASSERT_EQUAL(r->msgs[0].rcpt[0].status, SL_RCPT_PENDING); /* its reply was lost */
	/* raised inside the message it concerns: the verdict sees it */
	const struct sig_rec *sg = run_find_signal(r, "smtp.desync");
	CU_ASSERT_PTR_NOT_NULL_FATAL(sg);
	CU_ASSERT_EQUAL(sg->txn, r->msgs[0].txn);
	CU_ASSERT_STRING_EQUAL(sg->detail, "reply 354 answers a later command: 1 earlier command(s) lost their replies");
	run_free(r);
}

static void test_multiline_code_change(void)
{
	/* a continuation line with another code ends the reply before it */
	struct run *r = run_text(
		"S 220 mx\\r\\n\nC EHLO a\\r\\nMAIL FROM:<a@b>\\r\\n\n"
		"S 250-mx\\r\\n250-PIPELINING\\r\\n553 5.1.8 sender rejected\\r\\n\n"
		"C RCPT TO:<c@d>\\r\\nDATA\\r\\n\nS 503 need MAIL\\r\\n503 need RCPT\\r\\n\n");
	/* EHLO got the 250, MAIL the 553, so DATA got the second 503: refused */
	CU_ASSERT_STRING_EQUAL(r->trace.s,
		"220 EHLO MAIL !smtp.desync 553 RCPT DATA 503 503 result0=503 ");
	CU_ASSERT_EQUAL(r->refused, 1);
	const struct sig_rec *sg = run_find_signal(r, "smtp.desync");
	CU_ASSERT_PTR_NOT_NULL_FATAL(sg);
	CU_ASSERT_STRING_EQUAL(sg->detail, "multi-line reply 250 ended without a last line; 553 follows");
	run_free(r);
}

static void test_memory_bounded(void)
{
	/* 200 KiB of one command line and of one reply line: memory stays at the cap */
	struct sl_eventlog log;
	sl_eventlog_init(&log);
	struct sl_smtp *s = sl_smtp_new(NULL, sl_eventlog_cb, &log);
	size_t base = sl_smtp_memory(s);
	uint8_t junk[4096];
	memset(junk, 'x', sizeof junk);
	size_t peak = 0;
	for (int i = 0; i < 50; i++) {
		sl_smtp_feed(s, SL_CLIENT, junk, sizeof junk);
		sl_smtp_feed(s, SL_SERVER, junk, sizeof junk);
		size_t m = sl_smtp_memory(s);
		peak = m > peak ? m : peak;
	}
	CU_ASSERT(peak - base < 64 * 1024);
	CU_ASSERT_EQUAL(sl_smtp_client_consumed(s), 50 * sizeof junk);
	sl_smtp_free(s);
	sl_eventlog_free(&log);
}

void register_session_tests(void)
{
	static const struct test_def tests[] = {
		{"basic session", test_basic},
		{"pipelining", test_pipelining},
		{"multi-line replies", test_multiline_reply},
		{"refused DATA", test_refused_data},
		{"refused DATA, then a retry", test_refused_data_retry},
		{"refused message", test_refused_message},
		{"RSET mid-transaction", test_rset},
		{"refused MAIL inside a transaction", test_nested_mail},
		{"AUTH LOGIN", test_auth_login},
		{"AUTH PLAIN", test_auth_plain},
		{"STARTTLS then TLS", test_starttls_tls},
		{"STARTTLS refused", test_starttls_refused},
		{"STARTTLS then plaintext", test_starttls_plaintext},
		{"STARTTLS injection", test_starttls_injection},
		{"data before 354", test_data_before_354},
		{"data before 554", test_data_before_554},
		{"smuggling transcript", test_smuggling_transcript},
		{"unknown commands, bad replies", test_unknown},
		{"line cap", test_line_too_long},
		{"recipient cap", test_too_many_rcpts},
		{"pending cap", test_pending_overflow},
		{"pending cap, then DATA refused", test_pending_overflow_refused},
		{"close mid-message", test_close_mid_message},
		{"close without result", test_close_without_result},
		{"client gap in commands", test_gap_in_commands},
		{"client gap in DATA", test_gap_in_data},
		{"server gap", test_server_gap},
		{"one-sided capture", test_one_sided},
		{"memory bounded", test_memory_bounded},
		{"EHLO reply with an unterminated 250- line", test_unterminated_ehlo_reply},
		{"multi-line reply whose code changes", test_multiline_code_change},
	};
	add_suite("session", tests, sizeof tests / sizeof tests[0]);
}
