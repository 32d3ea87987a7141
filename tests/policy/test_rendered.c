/* The scopes made for SpamAssassin's rules, behind the real MIME parser: `rendered`
 * (Subject first, HTML rendered, paragraphs as lines, parts joined) and
 * `message-header:NAME` (the top-level field as written); a look-ahead expression
 * (prefilter + PCRE2) matching early in a part followed by more than its window in
 * the same chunk (once lost: confirmation looked only at the chunk's last window); the
 * verdict is the same wherever the raw message is split. */
#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

static const char *policy_text =
	"rule subject-line { match rendered /^Cheap pills$/m score 1 }\n"
	"rule paragraph { match rendered /^Dear friend, we are glad$/m score 1 }\n"
	"rule entity { match rendered /Tom & Jerry/ score 1 }\n"
	"rule script { match rendered \"evil()\" score 1 }\n"
	"rule comment { match rendered \"hidden note\" score 1 }\n"
	"rule tag-text { match rendered \"<b>\" score 1 }\n"
	"rule parts-joined { match rendered /plain part end HTML part start/ score 1 }\n"
	"rule to-as-written { match message-header:To /^<b@example\\.net>$/ score 1 }\n"
	"rule to-normalized { match header:To /^b@example\\.net$/ score 1 }\n"
	"rule inner-header { match message-header:X-Inner /yes/ score 1 }\n"
	"rule count { match rendered /pill/i multiple score 0 }\n"
	"rule many { when count >= 3 score 1 }\n"
	"rule confirm-early { match body /\\$[1-9](?!\\d{3}\\.\\d\\d\\.)[0-9],[0-9]{3}(?!\\d)/ score 1 }\n";

static int init(void)
{
	return tp_fixture_init(policy_text, NULL);
}

static const char msg[] =
	"From: a@example.org\r\n"
	"To: <b@example.net>\r\n"
	"Subject: Cheap pills\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/alternative; boundary=\"b1\"\r\n"
	"\r\n"
	"--b1\r\n"
	"Content-Type: text/plain\r\n"
	"X-Inner: yes\r\n"
	"\r\n"
	"Pill one, $26,087.58 earned,\r\n"
	"filler filler filler filler filler filler filler filler filler filler filler filler\r\n"
	"filler filler filler filler filler filler filler filler filler filler filler filler\r\n"
	"filler filler filler filler filler filler filler filler filler filler filler filler\r\n"
	"filler filler filler filler filler filler filler filler filler filler filler filler\r\n"
	"pill two. plain part end\r\n"
	"--b1\r\n"
	"Content-Type: text/html\r\n"
	"\r\n"
	"HTML part start <p>Dear <b>friend</b>,\r\n"
	"   we are glad</p><script>evil()</script><!-- hidden note -->Tom &amp; Jerry\r\n"
	"--b1--\r\n";

static char *verdict_of(size_t split)
{
	return tp_mime_verdict(tp_sc, tp_pol, SL_DIR_INBOUND, (const uint8_t *)msg, sizeof msg - 1, split);
}

static void test_what_fires(void)
{
	char *v = verdict_of(0);
	char ids[512];
	tp_ids_of(v, ids, sizeof ids);
	const char *want = "subject-line,paragraph,entity,parts-joined,to-as-written,to-normalized,count,many,confirm-early";
	if (strcmp(ids, want) != 0)
		fprintf(stderr, "\nfired '%s'\nwant  '%s'\n", ids, want);
	CU_ASSERT_STRING_EQUAL(ids, want);
	free(v);
}

static void test_split_at_every_offset(void)
{
	char *ref = verdict_of(0);
	size_t bad = 0;
	for (size_t k = 1; k < sizeof msg - 1; k++) {
		char *v = verdict_of(k);
		if (strcmp(v, ref) != 0 && bad++ == 0)
			fprintf(stderr, "\nsplit at %zu:\n got %s\nwant %s\n", k, v, ref);
		free(v);
	}
	CU_ASSERT_EQUAL(bad, 0);
	free(ref);
}

int main(void)
{
	static const struct cu_test tests[] = {
		{"what fires", test_what_fires},
		{"split at every offset", test_split_at_every_offset},
		{NULL, NULL},
	};
	return cu_run_suite("policy_rendered", init, tp_fixture_fini, tests);
}
