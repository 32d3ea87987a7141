/* Header traits (engine/policy/msgtraits.c): SpamAssassin's check_outlook_message_id,
 * check_for_shifted_date and subject_is_all_caps as sa.* signals, behind the real MIME
 * parser; Util::parse_rfc822_date's three date forms, zones, clamps and refusals; the
 * verdict the same wherever the raw message is split. Expected times are what
 * SpamAssassin 4.0.1 itself returns. */
#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "msgtraits.h"

static const char *policy_text =
	"rule outlook { match signal sa.msgid_outlook_invalid score 1 }\n"
	"rule past-3-6 { match signal sa.date_past_03_06 score 1 }\n"
	"rule past-96 { match signal sa.date_past_96_xx score 1 }\n"
	"rule future-3-6 { match signal sa.date_future_03_06 score 1 }\n"
	"rule caps { match signal sa.subject_all_caps score 1 }\n";

static int init(void)
{
	return tp_fixture_init(policy_text, NULL);
}

static char *fired(const char *msg, size_t split)
{
	char *v = tp_mime_verdict(tp_sc, tp_pol, SL_DIR_INBOUND, (const uint8_t *)msg, strlen(msg), split);
	static char ids[512];
	tp_ids_of(v, ids, sizeof ids);
	free(v);
	return ids;
}

static void expect(const char *msg, const char *want)
{
	const char *got = fired(msg, 0);
	if (strcmp(got, want) != 0)
		fprintf(stderr, "\nfired '%s'\nwant  '%s'\n", got, want);
	CU_ASSERT_STRING_EQUAL(got, want);
}

static int64_t date_of(const char *s)
{
	int64_t t = -1;
	return sl_rfc822_date(s, strlen(s), &t) ? t : -1;
}

static void test_rfc822_date(void)
{
	CU_ASSERT_EQUAL(date_of("Thu, 12 Dec 2002 10:00:00 -0800"), 1039716000);
	CU_ASSERT_EQUAL(date_of("Thu,12 Dec 2002 10:00:00 -0800 (PST)"), 1039716000);
	/* ctime form: its time goes with the date (as in SpamAssassin), no zone */
	CU_ASSERT_EQUAL(date_of("Thu Dec 12 10:00:00 2002"), 1039651200);
	CU_ASSERT_EQUAL(date_of("12 Dec 02 10:00 PST"), 1039716000);         /* 2-digit year, named zone */
	CU_ASSERT_EQUAL(date_of("12 dec 2002 10:00:00 EST-DST"), 1039687200); /* unknown zone: -0000 */
	CU_ASSERT_EQUAL(date_of("12 Dec 2002 19:00:00 +0100"), 1039716000);
	CU_ASSERT_EQUAL(date_of("32 Jan 2003 00:00:00 +0000"), 1044057600);  /* day 32: Feb 1 */
	CU_ASSERT_EQUAL(date_of("1 Mar 2099 00:00:00 +0000"), 2119478400);   /* clamped to 2037 */
	CU_ASSERT_EQUAL(date_of("12 Dec 2002 99:99:99 +0000"), 1039737599);  /* 23:59:59 */
	CU_ASSERT_EQUAL(date_of("Dec 2002 10:00:00"), -1);                   /* no day */
	CU_ASSERT_EQUAL(date_of("0 Dec 2002 10:00:00"), -1);                 /* day 0 */
	CU_ASSERT_EQUAL(date_of(""), -1);
}

#define HEAD(date, rcvd) \
	"Received: from mx.example.org (mx.example.org [192.0.2.1]) by mail.example.net\r\n" \
	"\twith ESMTP id 1234; " rcvd "\r\n" \
	"From: a@example.org\r\nTo: b@example.net\r\nDate: " date "\r\n"

static void test_shifted_date(void)
{
	expect(HEAD("Thu, 12 Dec 2002 10:00:00 -0800", "Thu, 12 Dec 2002 18:30:00 +0000")
	       "Subject: hello there\r\n\r\nbody\r\n", "");
	expect(HEAD("Thu, 12 Dec 2002 14:00:00 -0000", "Thu, 12 Dec 2002 18:00:00 +0000")
	       "Subject: hello there\r\n\r\nbody\r\n", "past-3-6");
	expect(HEAD("Thu, 12 Dec 2002 22:00:00 -0000", "Thu, 12 Dec 2002 18:00:00 +0000")
	       "Subject: hello there\r\n\r\nbody\r\n", "future-3-6");
	expect(HEAD("Sun, 1 Dec 2002 14:00:00 -0000", "Thu, 12 Dec 2002 18:00:00 +0000")
	       "Subject: hello there\r\n\r\nbody\r\n", "past-96");
	/* the Received date nearest to Date decides */
	expect("Received: by b.example.net; Fri, 13 Dec 2002 18:00:00 +0000\r\n"
	       HEAD("Thu, 12 Dec 2002 14:00:00 -0000", "Thu, 12 Dec 2002 14:30:00 +0000")
	       "Subject: hello there\r\n\r\nbody\r\n", "");
	/* a fold inside the Received date reads as one blank, as SpamAssassin unfolds it */
	expect("Received: from x.example.org by mx.example.net with ESMTP id 1; Thu, 12 Dec 2002 18:00:00\r\n"
	       "    +0000\r\nFrom: a@example.org\r\nDate: Thu, 12 Dec 2002 14:00:00 -0000\r\n"
	       "Subject: hello there\r\n\r\nx\r\n", "past-3-6");
	/* no Received date: no shift */
	expect("From: a@example.org\r\nDate: Sun, 1 Dec 2002 14:00:00 -0000\r\nSubject: hi there\r\n\r\nx\r\n", "");
}

static void test_outlook_message_id(void)
{
	/* token 01c2a208 is Thu, 12 Dec 2002 18:00:00 UTC in Outlook's clock */
	const char *good = HEAD("Thu, 12 Dec 2002 18:00:00 +0000", "Thu, 12 Dec 2002 18:00:10 +0000")
		"Message-ID: <000001c2a208$0a1b2c3d$4e5f6071@host>\r\nSubject: hello there\r\n\r\nx\r\n";
	const char *bad = HEAD("Thu, 12 Dec 2002 18:00:00 +0000", "Thu, 12 Dec 2002 18:00:10 +0000")
		"Message-ID: <000001c10000$0a1b2c3d$4e5f6071@host>\r\nSubject: hello there\r\n\r\nx\r\n";
	const char *not_outlook = HEAD("Thu, 12 Dec 2002 18:00:00 +0000", "Thu, 12 Dec 2002 18:00:10 +0000")
		"Message-ID: <000001C10000$0a1b2c3d$4e5f6071@host>\r\nSubject: hello there\r\n\r\nx\r\n";
	/* SpamAssassin's MESSAGEID reads X-Message-Id before Message-Id */
	const char *x_first = HEAD("Thu, 12 Dec 2002 18:00:00 +0000", "Thu, 12 Dec 2002 18:00:10 +0000")
		"Message-ID: <000001c2a208$0a1b2c3d$4e5f6071@host>\r\n"
		"X-Message-Id: <000001c10000$0a1b2c3d$4e5f6071@host>\r\nSubject: hello there\r\n\r\nx\r\n";
	expect(good, "");
	expect(x_first, "outlook");
	expect(bad, "outlook");
	expect(not_outlook, ""); /* upper-case hex is not the shape */
}

static void test_subject_all_caps(void)
{
	expect("From: a@example.org\r\nSubject: FREE MONEY NOW!!\r\n\r\nx\r\n", "caps");
	expect("From: a@example.org\r\nSubject: Re: Fwd: FREE MONEY NOW\r\n\r\nx\r\n", "caps");
	expect("From: a@example.org\r\nSubject: Free MONEY NOW\r\n\r\nx\r\n", "");
	expect("From: a@example.org\r\nSubject: FREEMONEYNOW\r\n\r\nx\r\n", "");   /* one word */
	expect("From: a@example.org\r\nSubject: FREE ME\r\n\r\nx\r\n", "");        /* short */
	expect("From: a@example.org\r\nSubject: 123 456 789 0\r\n\r\nx\r\n", "");  /* no letters */
	expect("From: a@example.org\r\nSubject: =?koi8-r?Q?FREE_MONEY_NOW?=\r\n\r\nx\r\n", "");
	expect("From: a@example.org\r\nSubject: =?utf-8?Q?FREE_MONEY_NOW?=\r\n\r\nx\r\n", "caps");
}

/* Values longer than the state keeps, more Received fields than it counts, date-like
 * junk: each is cut or ignored, never read past. */
static void test_oversized_input(void)
{
	static char junk[6000];
	for (size_t i = 0; i < sizeof junk - 1; i++)
		junk[i] = " 12 Dec 99 1:02 "[i % 16];
	int64_t t = 0;
	CU_ASSERT_TRUE(sl_rfc822_date(junk, sizeof junk - 1, &t));
	CU_ASSERT_EQUAL(t, 944960520); /* SpamAssassin's value: 1999-12-12 01:02 */
	CU_ASSERT_FALSE(sl_rfc822_date(" 1:2 Dec 99 +-0 1:2 Dec 99", 26, &t)); /* no blank before the day */
	size_t cap = 200000, n = 0;
	char *msg = malloc(cap);
	CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
	for (int r = 0; r < 100; r++)
		n += (size_t)snprintf(msg + n, cap - n, "Received: by h%d.example.net; Thu, 12 Dec 2002 18:00:00 +0000\r\n", r);
	n += (size_t)snprintf(msg + n, cap - n, "Date: Thu, 12 Dec 2002 14:00:00 +0000 %s\r\n", junk);
	n += (size_t)snprintf(msg + n, cap - n, "Message-ID: <000001c10000$0a1b2c3d$4e5f6071@%s>\r\n", junk);
	n += (size_t)snprintf(msg + n, cap - n, "Subject: FREE MONEY %s\r\n\r\nx\r\n", junk);
	CU_ASSERT_STRING_EQUAL(fired(msg, 0), "outlook,past-3-6");
	free(msg);
}

static void test_split_at_every_offset(void)
{
	static const char msg[] = HEAD("Thu, 12 Dec 2002 14:00:00 -0000", "Thu, 12 Dec 2002 18:00:00 +0000")
		"Message-ID: <000001c10000$0a1b2c3d$4e5f6071@host>\r\nSubject: FREE MONEY NOW\r\n\r\nx\r\n";
	size_t bad = 0;
	for (size_t k = 1; k < sizeof msg - 1; k++)
		if (strcmp(fired(msg, k), "outlook,past-3-6,caps") != 0 && bad++ == 0)
			fprintf(stderr, "\nsplit at %zu: %s\n", k, fired(msg, k));
	CU_ASSERT_EQUAL(bad, 0);
}

int main(void)
{
	static const struct cu_test tests[] = {
		{"parse_rfc822_date", test_rfc822_date},
		{"shifted date", test_shifted_date},
		{"outlook message id", test_outlook_message_id},
		{"subject all caps", test_subject_all_caps},
		{"oversized input", test_oversized_input},
		{"split at every offset", test_split_at_every_offset},
		{NULL, NULL},
	};
	return cu_run_suite("policy_traits", init, tp_fixture_fini, tests);
}
