/* The shipped policy (docs/examples/policy.rules): each rule id does what the policy
 * says, on synthesized messages. tests/policy/test_rules_cli.sh runs it over real .eml
 * files through the MIME parser. */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"


static const char eicar[] = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

static int init(void)
{
	const char *root = getenv("SLUICE_SOURCE_ROOT");
	char path[4096];
	snprintf(path, sizeof path, "%s/docs/examples/policy.rules", root ? root : ".");
	struct sl_policy_diag d;
	tp_pol = sl_policy_load(path, &d);
	if (!tp_pol)
		fprintf(stderr, "%s:%u:%u: %s\n", d.file, d.line, d.col, d.msg);
	tp_sc = sl_scanner_new();
	return tp_pol && tp_sc ? 0 : 1;
}

enum way { OUT, IN };

/* Envelope and the header fields every real message has (the imported SpamAssassin
 * rules score their absence: MISSING_DATE, MISSING_FROM, MISSING_MID, NO_RECEIVED). */
static void start(struct tp_msg *t, enum way w)
{
	tp_begin(t, tp_sc, tp_pol, SL_DIR_UNKNOWN);
	if (w == OUT) {
		tp_envelope(t, "mail.example.com", "alice@example.com", "192.0.2.25", "bob@partner.example.net", NULL);
		tp_header(t, "", "Received", "from mail.example.com (mail.example.com [192.0.2.25]) by "
		          "gw.example.com (Postfix) with ESMTP id 4F2A1; Mon, 7 Dec 2026 10:00:00 +0000");
		tp_header(t, "", "From", "Alice Example <alice@example.com>");
		tp_header(t, "", "To", "Bob Partner <bob@partner.example.net>");
	} else {
		tp_envelope(t, "mx.sender.example.org", "carol@example.org", "198.51.100.20", "alice@example.com", NULL);
		tp_header(t, "", "Received", "from mx.sender.example.org (mx.sender.example.org [198.51.100.20]) "
		          "by mail.example.com (Postfix) with ESMTP id 4F2A1; Mon, 7 Dec 2026 10:00:00 +0000");
		tp_header(t, "", "From", "Carol Sender <carol@example.org>");
		tp_header(t, "", "To", "Alice Example <alice@example.com>");
	}
	tp_header(t, "", "Date", "Mon, 7 Dec 2026 10:00:00 +0000");
	tp_header(t, "", "Message-ID", "<20261207100000.4F2A1@example.org>");
}

/* verdict action and the set of the policy's own rules that fired (NULL-terminated).
 * The imported SpamAssassin rules (sa.*) are left out of the set: spam_agreement checks
 * them against SpamAssassin, test_spam_scoring how they add up here. */
static void expect(const struct sl_verdict *v, enum sl_action a, ...)
{
	if (v->action != a)
		fprintf(stderr, "\naction %s, want %s\n", sl_action_name(v->action), sl_action_name(a));
	CU_ASSERT_EQUAL(v->action, a);
	struct sl_rule_hit kept[64];
	struct sl_verdict mine = *v;
	mine.nhits = 0;
	for (size_t i = 0; i < v->nhits && mine.nhits < 64; i++)
		if (strncmp(v->hits[i].id, "sa.", 3) != 0)
			kept[mine.nhits++] = v->hits[i];
	mine.hits = kept;
	va_list ap;
	va_start(ap, a);
	tp_vexpect_hits(&mine, ap);
	va_end(ap);
}

static const struct sl_verdict *body(struct tp_msg *t, enum way w, const char *text)
{
	start(t, w);
	tp_header(t, "", "Subject", "hello");
	tp_text(t, "1", text);
	return tp_end(t);
}

static void test_clean(void)
{
	struct tp_msg t = {0};
	expect(body(&t, IN, "Meeting moved to 14:30 on 2024-05-06, room 4111. Call +886 2 1234 5678."), SL_ACT_PASS, NULL);
	tp_free(&t);
	expect(body(&t, OUT, "Order 4111 1111 1111 1112 shipped; invoice 20240506-1234567."), SL_ACT_PASS, NULL);
	tp_free(&t);
}

static void test_dlp_credit_card(void)
{
	struct tp_msg t = {0};
	const struct sl_verdict *v = body(&t, OUT, "Here is my card: 4111 1111 1111 1111, exp 12/29");
	expect(v, SL_ACT_QUARANTINE, "dlp.credit-card", NULL);
	CU_ASSERT_STRING_EQUAL(v->reply, "250 2.0.0 Ok: queued");
	CU_ASSERT_EQUAL(v->direction, SL_DIR_OUTBOUND);
	tp_free(&t);
	/* in a decoded attachment */
	start(&t, OUT);
	tp_text(&t, "1", "see attached");
	const char *csv = "name,card\nalice,5555555555554444\n";
	tp_leaf(&t, "2", "text/csv", "cards.csv", "attachment", csv, strlen(csv), NULL, 0);
	v = tp_end(&t);
	expect(v, SL_ACT_QUARANTINE, "dlp.credit-card", NULL);
	CU_ASSERT_STRING_EQUAL(tp_hit(v, "dlp.credit-card")->evidence[0].scope, "attachment-text");
	tp_free(&t);
	/* in the subject */
	start(&t, OUT);
	tp_header(&t, "", "Subject", "card 5555-5555-5555-4444");
	tp_text(&t, "1", "see subject");
	expect(tp_end(&t), SL_ACT_QUARANTINE, "dlp.credit-card", NULL);
	tp_free(&t);
	/* inbound mail is not DLP's business */
	expect(body(&t, IN, "Your card 4111 1111 1111 1111 was charged"), SL_ACT_PASS, NULL);
	tp_free(&t);
	/* five distinct cards: a card dump, rejected */
	v = body(&t, OUT, "4111111111111111 5555555555554444 6011111111111117 378282246310005 "
	                  "4012888888881881 4111111111111111");
	expect(v, SL_ACT_REJECT, "dlp.credit-card", "dlp.card-dump", NULL);
	CU_ASSERT_EQUAL(tp_hit(v, "dlp.card-dump")->count, 5);
	tp_free(&t);
}

static void test_dlp_tw_id(void)
{
	struct tp_msg t = {0};
	expect(body(&t, OUT, "身分證字號：A123456789，請查收"), SL_ACT_QUARANTINE, "dlp.tw-national-id", NULL);
	tp_free(&t);
	expect(body(&t, OUT, "身分證字號：A123456788"), SL_ACT_PASS, NULL);
	tp_free(&t);
	start(&t, OUT);
	tp_header(&t, "", "Subject", "ID F131104093 attached");
	tp_text(&t, "1", "hi");
	expect(tp_end(&t), SL_ACT_QUARANTINE, "dlp.tw-national-id", NULL);
	tp_free(&t);
	expect(body(&t, IN, "A123456789"), SL_ACT_PASS, NULL);
	tp_free(&t);
}

static void test_av(void)
{
	struct tp_msg t = {0};
	start(&t, IN);
	tp_text(&t, "1", "see attachment");
	tp_leaf(&t, "2", "application/octet-stream", "test.txt", "attachment", eicar, strlen(eicar), NULL, 0);
	const struct sl_verdict *v = tp_end(&t);
	expect(v, SL_ACT_REJECT, "av.eicar", "av.known-bad", NULL);
	CU_ASSERT_STRING_EQUAL(v->reply, "554 5.7.1 Message rejected: virus found (EICAR test file)");
	tp_free(&t);
	/* EICAR pasted in the body text, with text around it */
	char buf[256];
	snprintf(buf, sizeof buf, "test: %s end\n", eicar);
	expect(body(&t, OUT, buf), SL_ACT_REJECT, "av.eicar", NULL);
	tp_free(&t);
}

static void test_attach_executable(void)
{
	static const struct {
		const char *name;
		bool bad;
	} names[] = {
		{"invoice.exe", true}, {"INVOICE.PDF.EXE", true}, {"x.scr", true}, {"x.com", true},
		{"x.pif", true}, {"x.js", true}, {"x.vbs", true}, {"x.bat", true}, {"x.cmd", true},
		{"x.ps1", true}, {"x.jar", true}, {"setup.exe.", true}, {"setup.exe  ", true},
		{"報告.scr", true}, {"report.pdf", false}, {"notes.txt", false}, {"archive.js.txt", false},
		{"example.com.pdf", false}, {"exe", false},
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		struct tp_msg t = {0};
		start(&t, IN);
		tp_leaf(&t, "2", "application/octet-stream", names[i].name, "attachment", "data", 4, NULL, 0);
		const struct sl_verdict *v = tp_end(&t);
		if ((tp_hit(v, "attach.executable") != NULL) != names[i].bad)
			fprintf(stderr, "\nfilename '%s'\n", names[i].name);
		CU_ASSERT_EQUAL(tp_hit(v, "attach.executable") != NULL, names[i].bad);
		CU_ASSERT_EQUAL(v->action, names[i].bad ? SL_ACT_REJECT : SL_ACT_PASS);
		tp_free(&t);
	}
}

static void test_smuggling(void)
{
	struct tp_msg t = {0};
	start(&t, IN);
	tp_text(&t, "1", "hello");
	tp_signal(&t, "smtp.smuggling");
	const struct sl_verdict *v = tp_end(&t);
	expect(v, SL_ACT_REJECT, "smtp.smuggling", NULL);
	CU_ASSERT_STRING_EQUAL(v->reply, "554 5.7.0 Message rejected: ambiguous end of data (bare CR or LF)");
	tp_free(&t);
}

/* Every signal that says part of the message was not scanned gets a verdict that does
 * not pass (docs/rules.md lists them). */
static void test_unscanned_signals(void)
{
	static const struct {
		const char *signal;
		const char *rule;
		enum sl_action action;
	} cases[] = {
		{"mime.depth_exceeded", "unscanned.structure", SL_ACT_REJECT},
		{"mime.too_many_parts", "unscanned.structure", SL_ACT_REJECT},
		{"mime.boundary_too_long", "unscanned.structure", SL_ACT_REJECT},
		{"mime.structure_truncated", "unscanned.structure", SL_ACT_REJECT},
		{"mime.header_too_long", "unscanned.structure", SL_ACT_REJECT},
		{"mime.line_too_long", "unscanned.structure", SL_ACT_REJECT},
		{"mime.too_many_headers", "unscanned.structure", SL_ACT_REJECT},
		{"mime.filename_truncated", "unscanned.structure", SL_ACT_REJECT},
		{"smtp.pending_overflow", "unscanned.session", SL_ACT_TEMPFAIL},
		{"smtp.reply_assumed", "unscanned.session", SL_ACT_TEMPFAIL},
		{"smtp.desync", "unscanned.session", SL_ACT_TEMPFAIL},
		{"smtp.gap", "unscanned.session", SL_ACT_TEMPFAIL},
		{"tcp.overlap", "evasion.tcp-overlap", SL_ACT_ALERT},
		{"engine.memory", "unscanned.engine", SL_ACT_TEMPFAIL},
		{"engine.scan_error", "unscanned.engine", SL_ACT_TEMPFAIL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct tp_msg t = {0};
		start(&t, IN);
		tp_text(&t, "1", "hello");
		tp_signal(&t, cases[i].signal);
		const struct sl_verdict *v = tp_end(&t);
		if (v->action != cases[i].action || !tp_hit(v, cases[i].rule))
			fprintf(stderr, "\n%s: %s\n", cases[i].signal, sl_action_name(v->action));
		expect(v, cases[i].action, cases[i].rule, NULL);
		tp_free(&t);
	}
}

/* base64 of the EICAR test file, one line */
static void put_eicar_attachment(struct sl_strbuf *b, const char *boundary)
{
	sl_strbuf_printf(b, "--%s\r\nContent-Type: application/octet-stream; name=\"eicar.com\"\r\n"
	                    "Content-Disposition: attachment; filename=\"eicar.com\"\r\n"
	                    "Content-Transfer-Encoding: base64\r\n\r\n"
	                    "WDVPIVAlQEFQWzRcUFpYNTQoUF4pN0NDKTd9JEVJQ0FSLVNUQU5EQVJELUFOVElWSVJVUy1URVNULUZJTEUhJEgrSCo=\r\n",
	                 boundary);
}

static char *shipped_verdict(const struct sl_strbuf *msg)
{
	return tp_mime_verdict(tp_sc, tp_pol, SL_DIR_INBOUND, (const uint8_t *)msg->s, msg->len, 0);
}

static void test_nested_33_deep(void)
{
	/* EICAR, base64, named eicar.com, inside 33 nested multiparts. Before: the parser
	 * reads the 32nd level's body as one opaque leaf (mime.depth_exceeded), so the
	 * attachment is never base64-decoded (av.eicar sees base64 text) nor named
	 * (attach.executable sees no filename), and the shipped policy had no rule on the
	 * signal: the message passed. */
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	sl_strbuf_puts(&b, "From: a@example.org\r\nSubject: nested\r\nMIME-Version: 1.0\r\n"
	                   "Content-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n");
	for (int d = 1; d <= 33; d++)
		sl_strbuf_printf(&b, "--b%d\r\nContent-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n", d - 1, d);
	char inner[8];
	snprintf(inner, sizeof inner, "b%d", 33);
	put_eicar_attachment(&b, inner);
	for (int d = 33; d >= 0; d--)
		sl_strbuf_printf(&b, "--b%d--\r\n", d);
	char *v = shipped_verdict(&b);
	CU_ASSERT_PTR_NOT_NULL(strstr(v, "\"verdict\":\"reject\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(v, "\"decided_by\":\"unscanned.structure\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(v, "\"match\":\"mime.depth_exceeded\""));
	CU_ASSERT_PTR_NULL(strstr(v, "av.eicar")); /* indeed never decoded */
	free(v);

	/* the same attachment 30 deep is decoded and caught as what it is */
	sl_strbuf_clear(&b);
	sl_strbuf_puts(&b, "From: a@example.org\r\nSubject: nested\r\nMIME-Version: 1.0\r\n"
	                   "Content-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n");
	for (int d = 1; d <= 30; d++)
		sl_strbuf_printf(&b, "--b%d\r\nContent-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n", d - 1, d);
	put_eicar_attachment(&b, "b30");
	for (int d = 30; d >= 0; d--)
		sl_strbuf_printf(&b, "--b%d--\r\n", d);
	v = shipped_verdict(&b);
	CU_ASSERT_PTR_NOT_NULL(strstr(v, "\"id\":\"av.eicar\""));
	CU_ASSERT_PTR_NULL(strstr(v, "unscanned"));
	free(v);
	sl_strbuf_free(&b);
}

static void test_oversized_content_type(void)
{
	/* A Content-Type folded over 70 lines, 70 KiB unfolded, its boundary parameter last.
	 * Before: the field is cut at max_header_bytes (64 KiB, mime.header_too_long), the
	 * boundary is lost, the multipart is read as one leaf (mime.missing_boundary) and
	 * the base64 EICAR attachment inside is never decoded; no shipped rule acted on
	 * either signal: the message passed. A mail client with no such cap shows the
	 * attachment. */
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	sl_strbuf_puts(&b, "From: a@example.org\r\nSubject: big header\r\nMIME-Version: 1.0\r\n"
	                   "Content-Type: multipart/mixed; x-pad=\"");
	for (int i = 0; i < 70; i++) {
		for (int k = 0; k < 1024; k++)
			sl_strbuf_putc(&b, 'A');
		sl_strbuf_puts(&b, "\r\n ");
	}
	sl_strbuf_puts(&b, "\"; boundary=\"sep\"\r\n\r\n");
	put_eicar_attachment(&b, "sep");
	sl_strbuf_puts(&b, "--sep--\r\n");
	char *v = shipped_verdict(&b);
	CU_ASSERT_PTR_NOT_NULL(strstr(v, "\"verdict\":\"reject\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(v, "\"decided_by\":\"unscanned.structure\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(v, "\"match\":\"mime.header_too_long\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(v, "\"match\":\"mime.structure_truncated\""));
	free(v);

	/* one physical line of 70 KiB: cut at max_line (mime.line_too_long), the same */
	sl_strbuf_clear(&b);
	sl_strbuf_puts(&b, "From: a@example.org\r\nSubject: big header\r\nMIME-Version: 1.0\r\n"
	                   "Content-Type: multipart/mixed; x-pad=\"");
	for (int k = 0; k < 70 * 1024; k++)
		sl_strbuf_putc(&b, 'A');
	sl_strbuf_puts(&b, "\"; boundary=\"sep\"\r\n\r\n");
	put_eicar_attachment(&b, "sep");
	sl_strbuf_puts(&b, "--sep--\r\n");
	v = shipped_verdict(&b);
	CU_ASSERT_PTR_NOT_NULL(strstr(v, "\"verdict\":\"reject\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(v, "\"match\":\"mime.structure_truncated\""));
	free(v);
	sl_strbuf_free(&b);
}

static void test_spam_scoring(void)
{
	struct tp_msg t = {0};
	/* a subject alone: 4 points, below the quarantine threshold */
	start(&t, IN);
	tp_header(&t, "", "Subject", "You have WON the lottery");
	tp_text(&t, "1", "hello");
	const struct sl_verdict *v = tp_end(&t);
	expect(v, SL_ACT_PASS, "spam.subject", NULL);
	CU_ASSERT_EQUAL(v->score, 4);
	tp_free(&t);
	/* + three spam phrases (one in Chinese): 8 points, quarantine */
	start(&t, IN);
	tp_header(&t, "", "Subject", "You have WON the lottery");
	tp_text(&t, "1", "Click HERE for a limited time offer! 免費 gifts");
	v = tp_end(&t);
	expect(v, SL_ACT_QUARANTINE, "spam.subject", "spam.body-phrases", NULL);
	CU_ASSERT_EQUAL(v->score, 8);
	CU_ASSERT_STRING_EQUAL(v->decided_by, "threshold");
	tp_free(&t);
	/* + an encoding trick and a numeric HELO: 12 points, reject; the imported rules add
	 * theirs: no Date, From, Message-ID or Received field, and "risk free" */
	tp_begin(&t, tp_sc, tp_pol, SL_DIR_UNKNOWN);
	tp_envelope(&t, "[203.0.113.7]", "x@spam.example.org", "203.0.113.7", "alice@example.com", NULL);
	tp_header(&t, "", "Subject", "casino bonus");
	tp_text(&t, "1", "click here, risk free, work from home");
	tp_signal(&t, "mime.bad_base64");
	v = tp_end(&t);
	expect(v, SL_ACT_REJECT, "spam.subject", "spam.body-phrases", "spam.encoding-tricks",
	       "spam.numeric-helo", NULL);
	double sa = 0;
	const char *sa_ids[] = {"sa.MISSING_DATE", "sa.MISSING_FROM", "sa.MISSING_MID", "sa.NO_RECEIVED",
	                        "sa.RISK_FREE"};
	for (size_t i = 0; i < sizeof sa_ids / sizeof *sa_ids; i++) {
		const struct sl_rule_hit *h = tp_hit(v, sa_ids[i]);
		CU_ASSERT_PTR_NOT_NULL(h);
		sa += h ? h->score : 0;
	}
	CU_ASSERT_DOUBLE_EQUAL(v->score, 12 + sa, 0.0005);
	CU_ASSERT_STRING_EQUAL(v->reply, "554 5.7.1 Message rejected: it looks like spam");
	tp_free(&t);
	/* the imported rules alone: the same message without the local rules' reasons
	 * (real host name, clean encoding, other words) still reaches SpamAssassin's 5 */
	tp_begin(&t, tp_sc, tp_pol, SL_DIR_UNKNOWN);
	tp_envelope(&t, "mx.sender.example.org", "x@spam.example.org", "198.51.100.20", "alice@example.com", NULL);
	tp_header(&t, "", "Subject", "hello");
	tp_text(&t, "1", "Risk free! Guaranteed results for you.\n");
	v = tp_end(&t);
	expect(v, SL_ACT_QUARANTINE, NULL);
	CU_ASSERT(v->score >= 5);
	CU_ASSERT_STRING_EQUAL(v->decided_by, "threshold");
	CU_ASSERT_PTR_NOT_NULL(tp_hit(v, "sa.MISSING_DATE"));
	tp_free(&t);
}

static void test_alert_rules(void)
{
	struct tp_msg t = {0};
	const struct sl_verdict *v = body(&t, OUT, "Please pay to GB82 WEST 1234 5698 7654 32.");
	expect(v, SL_ACT_ALERT, "dlp.iban", NULL);
	tp_free(&t);
	v = body(&t, OUT, "附件為極機密文件");
	expect(v, SL_ACT_ALERT, "dlp.confidential", NULL);
	tp_free(&t);
	v = body(&t, OUT, "Company Confidential - do not forward");
	expect(v, SL_ACT_ALERT, "dlp.confidential", NULL);
	tp_free(&t);
}

int main(void)
{
	static const struct cu_test tests[] = {
		{"clean", test_clean},
		{"dlp.credit-card", test_dlp_credit_card},
		{"dlp.tw-national-id", test_dlp_tw_id},
		{"av", test_av},
		{"attach.executable", test_attach_executable},
		{"smtp.smuggling", test_smuggling},
		{"spam scoring", test_spam_scoring},
		{"alert rules", test_alert_rules},
		{"signals that say the message was not scanned", test_unscanned_signals},
		{"attachment nested 33 deep", test_nested_33_deep},
		{"64 KiB+ Content-Type that cuts off its boundary", test_oversized_content_type},
		{NULL, NULL},
	};
	return cu_run_suite("policy_shipped", init, tp_fixture_fini, tests);
}
