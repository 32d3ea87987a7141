/* Every scope and every matcher, on synthesized event streams. */
#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"


static const char *policy_text =
	"rule s.mail-from { match mail-from /@spammer\\.test$/ action reject }\n"
	"rule s.rcpt-to { match rcpt-to \"ceo@\" nocase action alert }\n"
	"rule s.helo { match helo \"evil-helo\" action reject }\n"
	"rule s.client-ip { match client-ip in 203.0.113.0/24, 2001:db8:bad::/48 action reject }\n"
	"rule s.header-any { match header \"X-Bad: yes\" action reject }\n"
	"rule s.header-subject { match header:Subject \"buy now\" nocase action reject }\n"
	"rule s.header-from-reply { match header:From, header:Reply-To /@phish\\.test/ action reject }\n"
	"rule s.body { match body \"body-secret\" action reject }\n"
	"rule s.text { match text \"text-secret\" action reject }\n"
	"rule s.attachment { match attachment \"attach-secret\" action reject }\n"
	"rule s.part { match part \"part-secret\" action reject }\n"
	"rule s.content { match content \"content-secret\" action reject }\n"
	"rule s.filename { match filename /\\.exe$/i action reject }\n"
	"rule s.raw { match raw \"X-Raw-Marker\" action reject }\n"
	"rule s.signal { match signal smtp.smuggling action reject }\n"
	"rule s.hash { match attachment sha256 "
	"275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f action reject }\n"
	"rule s.hashfile { match attachment hashes \"bad.hdb\" action reject }\n"
	"rule s.keywords { match body keywords \"kw.txt\" action alert }\n"
	"rule s.ndb { match part ndb \"sig.ndb\" action reject }\n"
	"rule s.regex-utf8 { match body /\\p{Han}{2}銀行/u action alert }\n"
	"rule s.pcre { match body /pay(?=ment due)/ action alert }\n"
	"rule s.pcre-explodes { match body /(?:a|a)+(?=b)y/ action alert }\n";

static const char eicar[] = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

static int init(void)
{
	return tp_fixture_init(policy_text,
	                "bad.hdb", "# ClamAV .hdb: MD5:size:name\n44d88612fea8a8f36de82e1278abb02f:68:Eicar-MD5\n",
	                "kw.txt", "alpha keyword\n機密\n",
	                "sig.ndb", "Eicar-Ndb:0:*:" "58354f2150254041505b345c505a58353428505e2937434329377d24"
	                           "45494341522d5354414e444152442d414e544956495255532d544553542d46494c452124482b482a\n"
	                           "Wild:0:*:deadbeef??{2-3}cafe(01|0203)!(ff)99\n"
	                           "AtZero:0:0:4d5a9000\n",
	                NULL);
}


static void clean_envelope(struct tp_msg *t)
{
	tp_envelope(t, "mail.example.org", "alice@example.org", "198.51.100.1", "bob@example.com", NULL);
}

static void test_clean_message_passes(void)
{
	struct tp_msg t = {0};
	tp_begin(&t, tp_sc, tp_pol, SL_DIR_UNKNOWN);
	clean_envelope(&t);
	tp_raw(&t, "Subject: hello\r\n\r\nhello\r\n", 25);
	tp_header(&t, "", "Subject", "hello");
	tp_header(&t, "", "From", "alice@example.org");
	tp_text(&t, "1", "hello, nothing to see");
	const struct sl_verdict *v = tp_end(&t);
	CU_ASSERT_EQUAL(v->action, SL_ACT_PASS);
	tp_expect_hits(v, NULL);
	tp_free(&t);
}

static void test_envelope_scopes(void)
{
	struct tp_msg t = {0};
	tp_begin(&t, tp_sc, tp_pol, SL_DIR_UNKNOWN);
	tp_envelope(&t, "evil-helo", "x@spammer.test", "203.0.113.9", "CEO@example.com", NULL);
	tp_expect_hits(tp_end(&t), "s.mail-from", "s.rcpt-to", "s.helo", "s.client-ip", NULL);
	tp_free(&t);

	tp_begin(&t, tp_sc, tp_pol, SL_DIR_UNKNOWN);
	tp_envelope(&t, "ok", "x@ok.test", "2001:db8:bad::1", "a@b.test", NULL);
	tp_expect_hits(tp_end(&t), "s.client-ip", NULL);
	tp_free(&t);

	/* a refused recipient is not part of the message */
	tp_begin(&t, tp_sc, tp_pol, SL_DIR_UNKNOWN);
	tp_envelope(&t, "ok", "x@ok.test", "2001:db8:1::1", "ceo@example.com", NULL);
	t.rcpt[0].status = SL_RCPT_REFUSED;
	tp_expect_hits(tp_end(&t), NULL);
	tp_free(&t);
}

static void test_header_scopes(void)
{
	struct tp_msg t = {0};
	tp_begin(&t, tp_sc, tp_pol, SL_DIR_UNKNOWN);
	clean_envelope(&t);
	tp_header(&t, "", "SUBJECT", "Please BUY NOW");   /* names are case-insensitive */
	tp_header(&t, "", "Reply-To", "x@phish.test");
	tp_header(&t, "", "X-Bad", "yes");
	tp_expect_hits(tp_end(&t), "s.header-subject", "s.header-from-reply", "s.header-any", NULL);
	tp_free(&t);

	/* a named-header rule does not look at other headers */
	tp_begin(&t, tp_sc, tp_pol, SL_DIR_UNKNOWN);
	clean_envelope(&t);
	tp_header(&t, "", "Comments", "buy now x@phish.test");
	tp_expect_hits(tp_end(&t), NULL);
	tp_free(&t);
}

static void test_part_scopes(void)
{
	struct tp_msg t = {0};
	/* body text: body, text, part, content; not attachment */
	const char *s = "body-secret text-secret part-secret attach-secret content-secret";
	tp_begin(&t, tp_sc, tp_pol, SL_DIR_UNKNOWN);
	clean_envelope(&t);
	tp_text(&t, "1", s);
	tp_expect_hits(tp_end(&t), "s.body", "s.text", "s.part", "s.content", NULL);
	tp_free(&t);

	/* a text attachment: text, attachment, part, content; not body */
	tp_begin(&t, tp_sc, tp_pol, SL_DIR_UNKNOWN);
	clean_envelope(&t);
	tp_leaf(&t, "2", "text/plain", "notes.txt", "attachment", s, strlen(s), NULL, 0);
	const struct sl_verdict *v = tp_end(&t);
	tp_expect_hits(v, "s.text", "s.attachment", "s.part", "s.content", NULL);
	CU_ASSERT_STRING_EQUAL(tp_hit(v, "s.content")->evidence[0].scope, "attachment-text");
	CU_ASSERT_STRING_EQUAL(tp_hit(v, "s.attachment")->evidence[0].scope, "attachment");
	tp_free(&t);

	/* a text attachment whose bytes differ from its UTF-8 text (another charset):
	 * content and text see the text, attachment and part the bytes */
	tp_begin(&t, tp_sc, tp_pol, SL_DIR_UNKNOWN);
	clean_envelope(&t);
	tp_leaf(&t, "2", "text/plain", "notes.txt", "attachment", "attach-secret part-secret", 25,
	        "content-secret text-secret", 26);
	tp_expect_hits(tp_end(&t), "s.text", "s.attachment", "s.part", "s.content", NULL);
	tp_free(&t);
	tp_begin(&t, tp_sc, tp_pol, SL_DIR_UNKNOWN);
	clean_envelope(&t);
	tp_leaf(&t, "2", "text/plain", "notes.txt", "attachment", "content-secret", 14, "attach-secret", 13);
	tp_expect_hits(tp_end(&t), NULL);
	tp_free(&t);

	/* a binary attachment: attachment, part, content; never text */
	tp_begin(&t, tp_sc, tp_pol, SL_DIR_UNKNOWN);
	clean_envelope(&t);
	tp_leaf(&t, "2", "application/octet-stream", NULL, NULL, s, strlen(s), NULL, 0);
	tp_expect_hits(tp_end(&t), "s.attachment", "s.part", "s.content", NULL);
	tp_free(&t);

	/* filename */
	tp_begin(&t, tp_sc, tp_pol, SL_DIR_UNKNOWN);
	clean_envelope(&t);
	tp_leaf(&t, "2", "application/octet-stream", "invoice.pdf.EXE", "attachment", "x", 1, NULL, 0);
	tp_expect_hits(tp_end(&t), "s.filename", NULL);
	tp_free(&t);

	/* raw */
	tp_begin(&t, tp_sc, tp_pol, SL_DIR_UNKNOWN);
	clean_envelope(&t);
	tp_raw(&t, "X-Raw-Marker: 1\r\n\r\nx\r\n", 22);
	tp_expect_hits(tp_end(&t), "s.raw", NULL);
	tp_free(&t);

	/* signal */
	tp_begin(&t, tp_sc, tp_pol, SL_DIR_UNKNOWN);
	clean_envelope(&t);
	tp_signal(&t, "mime.bad_qp");
	tp_signal(&t, "smtp.smuggling");
	v = tp_end(&t);
	tp_expect_hits(v, "s.signal", NULL);
	CU_ASSERT_STRING_EQUAL(tp_hit(v, "s.signal")->evidence[0].match, "smtp.smuggling");
	tp_free(&t);
}

static void test_hashes_and_signatures(void)
{
	struct tp_msg t = {0};
	tp_begin(&t, tp_sc, tp_pol, SL_DIR_UNKNOWN);
	clean_envelope(&t);
	tp_leaf(&t, "2", "application/octet-stream", "eicar.com", "attachment", eicar, strlen(eicar), NULL, 0);
	const struct sl_verdict *v = tp_end(&t);
	tp_expect_hits(v, "s.hash", "s.hashfile", "s.ndb", NULL);
	CU_ASSERT_STRING_EQUAL(tp_hit(v, "s.hashfile")->evidence[0].match, "Eicar-MD5");
	CU_ASSERT_STRING_EQUAL(tp_hit(v, "s.ndb")->evidence[0].match, "Eicar-Ndb");
	CU_ASSERT_STRING_EQUAL(tp_hit(v, "s.ndb")->evidence[0].part, "2");
	CU_ASSERT_EQUAL(tp_hit(v, "s.ndb")->evidence[0].offset, 68);
	tp_free(&t);

	/* EICAR inside other bytes: the body signature finds it, the hashes do not */
	char buf[200];
	snprintf(buf, sizeof buf, "prefix %s suffix", eicar);
	tp_begin(&t, tp_sc, tp_pol, SL_DIR_UNKNOWN);
	clean_envelope(&t);
	tp_text(&t, "1", buf);
	tp_expect_hits(tp_end(&t), "s.ndb", NULL);
	tp_free(&t);

	/* wildcards, jumps, alternatives, negation */
	static const uint8_t wild_ok[] = {0xde, 0xad, 0xbe, 0xef, 0x11, 0x22, 0x33, 0xca, 0xfe, 0x02, 0x03, 0x00, 0x99};
	static const uint8_t wild_neg[] = {0xde, 0xad, 0xbe, 0xef, 0x11, 0x22, 0x33, 0xca, 0xfe, 0x01, 0xff, 0x99};
	tp_begin(&t, tp_sc, tp_pol, SL_DIR_UNKNOWN);
	clean_envelope(&t);
	tp_leaf(&t, "2", "application/octet-stream", NULL, NULL, wild_ok, sizeof wild_ok, NULL, 0);
	tp_expect_hits(tp_end(&t), "s.ndb", NULL);
	tp_free(&t);
	tp_begin(&t, tp_sc, tp_pol, SL_DIR_UNKNOWN);
	clean_envelope(&t);
	tp_leaf(&t, "2", "application/octet-stream", NULL, NULL, wild_neg, sizeof wild_neg, NULL, 0);
	tp_expect_hits(tp_end(&t), NULL);
	tp_free(&t);

	/* offset 0 means at the start of the part only */
	tp_begin(&t, tp_sc, tp_pol, SL_DIR_UNKNOWN);
	clean_envelope(&t);
	tp_leaf(&t, "2", "application/octet-stream", NULL, NULL, "MZ\x90\x00rest", 8, NULL, 0);
	tp_leaf(&t, "3", "application/octet-stream", NULL, NULL, "xMZ\x90\x00rest", 9, NULL, 0);
	v = tp_end(&t);
	tp_expect_hits(v, "s.ndb", NULL);
	CU_ASSERT_EQUAL(tp_hit(v, "s.ndb")->count, 1);
	CU_ASSERT_STRING_EQUAL(tp_hit(v, "s.ndb")->evidence[0].part, "2");
	tp_free(&t);
}

static void test_keywords_and_utf8(void)
{
	struct tp_msg t = {0};
	tp_begin(&t, tp_sc, tp_pol, SL_DIR_UNKNOWN);
	clean_envelope(&t);
	tp_text(&t, "1", "這是機密文件");
	const struct sl_verdict *v = tp_end(&t);
	tp_expect_hits(v, "s.keywords", NULL);
	CU_ASSERT_STRING_EQUAL(tp_hit(v, "s.keywords")->evidence[0].match, "機密");
	tp_free(&t);

	tp_begin(&t, tp_sc, tp_pol, SL_DIR_UNKNOWN);
	clean_envelope(&t);
	tp_text(&t, "1", "請匯款到台灣銀行");
	tp_expect_hits(tp_end(&t), "s.regex-utf8", NULL);
	tp_free(&t);
}

/* Hyperscan cannot do look-ahead; the rule runs as a prefilter confirmed by PCRE2. */
static void test_pcre2_confirmation(void)
{
	struct tp_msg t = {0};
	const struct sl_verdict *v = tp_body(&t, tp_sc, tp_pol, "payment due tomorrow");
	tp_expect_hits(v, "s.pcre", NULL);
	CU_ASSERT_EQUAL(tp_hit(v, "s.pcre")->count, 1);
	CU_ASSERT_EQUAL(tp_hit(v, "s.pcre")->evidence[0].offset, 3);
	tp_free(&t);
	v = tp_body(&t, tp_sc, tp_pol, "payment overdue, pay now");
	tp_expect_hits(v, NULL);
	tp_free(&t);
	v = tp_body(&t, tp_sc, tp_pol, "payment due; another payment due");
	CU_ASSERT_EQUAL(tp_hit(v, "s.pcre")->count, 2);
	tp_free(&t);
}

/* A confirmation that would backtrack for ages is cut off and counts (fail closed). */
/* The dataplane's MIME parser leaves part->sha256 alone (skip_part_sha256): the
 * policy hashes attachments for its lists itself, and every leaf when a hash condition
 * reads the part or content scope. */
static void test_hashes_without_mime_digest(void)
{
	struct sl_limits lim;
	sl_limits_default(&lim);
	lim.skip_part_sha256 = true;
	static const char att[] =
		"Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
		"--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
		"--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; "
		"filename=e.com\r\nContent-Transfer-Encoding: base64\r\n\r\n"
		"WDVPIVAlQEFQWzRcUFpYNTQoUF4pN0NDKTd9JEVJQ0FSLVNUQU5EQVJELUFOVElWSVJVUy1URVNU\r\n"
		"LUZJTEUhJEgrSCo=\r\n--b--\r\n";
	for (size_t split = 0; split < sizeof att - 1; split += 37) {
		char *j = tp_mime_verdict_lim(tp_sc, tp_pol, SL_DIR_UNKNOWN, (const uint8_t *)att,
		                              sizeof att - 1, split, &lim);
		CU_ASSERT_PTR_NOT_NULL(strstr(j, "\"s.hash\""));
		CU_ASSERT_PTR_NOT_NULL(strstr(j, "\"s.hashfile\""));
		free(j);
	}
	/* a content-scope hash of a text body: "hello hash world" */
	struct sl_policy *p = tp_policy("rule b.hash { match content sha256 "
	                                "30be5e2425aa9b380447bc594b8d096c2513d26cc39bac52c9fd5e4ea2acc68a "
	                                "action alert }\n", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	static const char body[] = "Subject: y\r\n\r\nhello hash world";
	char *j = tp_mime_verdict_lim(tp_sc, p, SL_DIR_UNKNOWN, (const uint8_t *)body, sizeof body - 1, 0, &lim);
	CU_ASSERT_PTR_NOT_NULL(strstr(j, "\"b.hash\""));
	free(j);
	sl_policy_unref(p);
	/* the same body by SHA-1 and MD5 (a hashes file), twice on one scanner: each part's
	 * digests start afresh (sl_hash kept in the msgscan) */
	p = tp_policy("rule b.sha1 { match content hashes \"h.txt\" action alert }\n", "h.txt",
	              "2b3eaaf561355c070345d0146c8cc032e641bc94 by-sha1\n"
	              "c0b48d0a8d0e6ae0b090f0155556cd9f:16:by-md5\n", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	for (int round = 0; round < 2; round++) {
		j = tp_mime_verdict_lim(tp_sc, p, SL_DIR_UNKNOWN, (const uint8_t *)body, sizeof body - 1, 5, &lim);
		CU_ASSERT_PTR_NOT_NULL(strstr(j, "\"by-sha1\""));
		CU_ASSERT_PTR_NOT_NULL(strstr(j, "\"by-md5\""));
		free(j);
	}
	static const char other[] = "Subject: y\r\n\r\nhello hash worlds";
	j = tp_mime_verdict_lim(tp_sc, p, SL_DIR_UNKNOWN, (const uint8_t *)other, sizeof other - 1, 0, &lim);
	CU_ASSERT_PTR_NULL(strstr(j, "\"b.sha1\""));
	free(j);
	sl_policy_unref(p);
}

static void test_pcre2_bounded(void)
{
	char body[200];
	memset(body, 'a', 60);
	strcpy(body + 60, "y end");
	struct tp_msg t = {0};
	const struct sl_verdict *v = tp_body(&t, tp_sc, tp_pol, body);
	tp_expect_hits(v, "s.pcre-explodes", NULL);
	tp_free(&t);
	v = tp_body(&t, tp_sc, tp_pol, "aaay");
	tp_expect_hits(v, NULL);
	tp_free(&t);
}

int main(void)
{
	static const struct cu_test tests[] = {
		{"clean message passes", test_clean_message_passes},
		{"envelope scopes", test_envelope_scopes},
		{"header scopes", test_header_scopes},
		{"part scopes", test_part_scopes},
		{"hashes and signatures", test_hashes_and_signatures},
		{"hashes without the MIME digest", test_hashes_without_mime_digest},
		{"keywords and utf8", test_keywords_and_utf8},
		{"pcre2 confirmation", test_pcre2_confirmation},
		{"pcre2 bounded", test_pcre2_bounded},
		{NULL, NULL},
	};
	return cu_run_suite("policy_scopes", init, tp_fixture_fini, tests);
}
