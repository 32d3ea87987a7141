/* The rules language: what compiles, and every kind of error with its position. */
#include <CUnit/Basic.h>
#include <string.h>

#include "helpers.h"

static void expect_error(const char *policy, const char *want)
{
	struct sl_policy *p = tp_policy(policy, NULL);
	if (p) {
		fprintf(stderr, "\ncompiled but should fail with: %s\n", want);
		sl_policy_unref(p);
		CU_FAIL("policy compiled");
		return;
	}
	if (strncmp(tp_last_error, want, strlen(want)) != 0)
		fprintf(stderr, "\nwant: %s\ngot:  %s\n", want, tp_last_error);
	CU_ASSERT(strncmp(tp_last_error, want, strlen(want)) == 0);
}

static void test_errors_have_positions(void)
{
	expect_error("rule a {\n  match body \"x\"\n}\n",
	             "policy.rules:1:1: rule a has neither an action nor a score (nor is it quiet)");
	expect_error("rule a { match body \"x\" quiet score 1 }",
	             "policy.rules:1:1: rule a is quiet: a rule no verdict lists may not have an "
	             "action or a score");
	expect_error("rule a { match body \"x\" quiet action reject }",
	             "policy.rules:1:1: rule a is quiet: a rule no verdict lists may not have an "
	             "action or a score");
	expect_error("rule a { match body \"x\" quiet quiet }", "policy.rules:1:31: quiet given twice");
	expect_error("rule a { when b score 1 }\nrule b { when a score 1 }\n",
	             "policy.rules:1:1: rule a depends on itself through 'when'");
	expect_error("rule a { match body \"x\" score 1 }\nrule b { when a and nosuch score 1 }\n",
	             "policy.rules:2:21: 'nosuch' is neither a match label of rule b nor a rule");
	expect_error("rule a { when a score 1 }", "policy.rules:1:15: rule a names itself in 'when'");
	expect_error("rule a { match body \"x\" score 1.2345 }",
	             "policy.rules:1:31: expected a score (like 3, -1.5 or 2.499), found '1.2345'");
	expect_error("rule a { match x: body \"x\" when x > = 1 score 1 }",
	             "policy.rules:1:37: '=' must be '=='");
	expect_error("rule a {\n  match bodyy \"x\"\n  action reject\n}\n",
	             "policy.rules:2:9: unknown scope 'bodyy'");
	expect_error("rule a {\n  match body \"x\"\n  action reject \"451 4.0.0 no\"\n}\n",
	             "policy.rules:3:17: a reject reply must be a 5xx code");
	expect_error("rule a { match body \"x\" action tempfail \"554 5.0.0 no\" }",
	             "policy.rules:1:41: a tempfail reply must be a 4xx code");
	expect_error("rule a { match body \"x\" action quarantine \"554 no\" }",
	             "policy.rules:1:43: a quarantine reply must be a 2xx code");
	expect_error("rule a { match body \"x\" action reject \"554 two\\nlines\" }",
	             "policy.rules:1:39: a reply is one line of printable ASCII");
	expect_error("rule a { match body \"x\" action delete }",
	             "policy.rules:1:32: expected an action");
	expect_error("\n\nrule a {\n\tmatch body /a*/\n\taction reject\n}\n",
	             "policy.rules:4:13: rule a: regular expression can match empty text");
	expect_error("rule a { match body /\\R/ action reject }",
	             "policy.rules:1:21: rule a: regular expression not supported");
	expect_error("rule a { match signal smtp.nosuch action reject }",
	             "policy.rules:1:23: unknown signal 'smtp.nosuch'");
	expect_error("rule a { match m: body \"a\" match n: body \"b\" when m and q action reject }",
	             "policy.rules:1:57: 'q' is not a match label of rule a");
	expect_error("rule a { match m: body \"a\" match n: body \"b\" when m action reject }",
	             "policy.rules:1:28: match 'n' is not used in 'when' of rule a");
	expect_error("rule a { match body keywords \"missing.txt\" action reject }",
	             "policy.rules:1:30: cannot read 'missing.txt'");
	expect_error("rule a { match body \"a\" action reject }\n\nrule a { match body \"b\" action reject }",
	             "policy.rules:3:1: rule id a is already used at line 1");
	expect_error("internal { network 192.0.2.1/24 }\nrule a { match body \"a\" action reject }",
	             "policy.rules:1:20: '192.0.2.1/24': address has bits set beyond the prefix length");
	expect_error("internal { network 2001:db8::/129 }", "policy.rules:1:20: '2001:db8::/129': prefix length");
	expect_error("internal { domain exa mple.com }", "policy.rules:1:23: expected");
	expect_error("rule a { match body \"abc\" count >= 3 distinct action reject }",
	             "policy.rules:1:10: rule a: 'count >= 3 distinct' can never hold");
	expect_error("rule a { match body \"abc\n\" action reject }",
	             "policy.rules:1:21: unterminated string");
	expect_error("rule a { match body /abc action reject }",
	             "policy.rules:1:21: unterminated regular expression");
	expect_error("rule a { match body /abc/q action reject }",
	             "policy.rules:1:21: unknown regular expression flag 'q'");
	expect_error("rule a { match raw /\\p{Han}/u action reject }",
	             "policy.rules:1:20: flag 'u' (UTF-8) is only allowed");
	expect_error("rule a { match body \"\" action reject }", "policy.rules:1:21: empty literal");
	expect_error("rule a { match body \"x\" validate crc32 action reject }",
	             "policy.rules:1:34: expected a validator");
	expect_error("rule a { match body \"x\" count >= 0 action reject }",
	             "policy.rules:1:34: a count must be between 1 and 1000");
	expect_error("rule a { match body sha256 abcd action reject }",
	             "policy.rules:1:28: expected 64 hex digits after 'sha256'");
	expect_error("rule a { match body hashes \"h.txt\" action reject }",
	             "policy.rules:1:16: hash lists apply to attachment, part or content");
	expect_error("rule a { match client-ip, body in 192.0.2.0/24 action reject }",
	             "policy.rules:1:16: signal and client-ip cannot be combined");
	expect_error("rule a { match client-ip \"x\" action reject }",
	             "policy.rules:1:26: expected 'in' and a list of networks");
	expect_error("rule bad/id { match body \"x\" action reject }",
	             "policy.rules:1:6: rule id 'bad/id' may hold only");
	expect_error("rule a { match body \"x\" action reject", "policy.rules:1:1: rule a has no closing '}'");
	expect_error("rule a { action reject }", "policy.rules:1:1: rule a has no match");
	expect_error("rule a { match body \"x\" action reject action pass }",
	             "policy.rules:1:39: action given twice");
	expect_error("threshold 5 quarantine\nthreshold 9 quarantine\nrule a { match body \"x\" score 1 }",
	             "policy.rules:2:1: a threshold for quarantine is already set at line 1");
	expect_error("threshold 5 pass\n", "policy.rules:1:13: a threshold's action cannot be pass");
	expect_error("", "policy.rules:1:1: the policy has no rules");
	expect_error("rules a {}", "policy.rules:1:1: expected 'rule', 'internal', 'threshold', 'spam-model' or 'include', found 'rules'");
	expect_error("rule a { match body \"x\" when not x action reject }",
	             "policy.rules:1:34: 'x' is not a match label");
	expect_error("rule a { match body \"x\" window 64 action reject }",
	             "policy.rules:1:25: window applies to regular expressions");
	expect_error("rule a { match body /abc/ window 64 action reject }",
	             "policy.rules:1:21: rule a: window applies only to expressions confirmed by PCRE2");
	expect_error("rule a { match body \"x\" \x01 action reject }", "policy.rules:1:25: unexpected byte 0x01");
}

static void test_list_file_errors(void)
{
	struct sl_policy *p = tp_policy("rule a {\n match body keywords \"kw.txt\"\n action reject\n}\n",
	                                "kw.txt", "good\n\nalso good\nbad \xff\xfe\n", NULL);
	CU_ASSERT_PTR_NULL(p);
	CU_ASSERT_STRING_EQUAL(tp_last_error,
	                       "kw.txt:4:1: keyword is not valid UTF-8 (keyword files must be UTF-8; "
	                       "text is matched after conversion to UTF-8)");
	p = tp_policy("rule a { match attachment hashes \"h.hsb\" action reject }",
	              "h.hsb", "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f:68:Eicar\n"
	                       "275a021bbfb6489e:68:Short\n", NULL);
	CU_ASSERT_PTR_NULL(p);
	CU_ASSERT_STRING_EQUAL(tp_last_error,
	                       "h.hsb:2:1: expected an MD5, SHA-1 or SHA-256 hex digest (32, 40 or 64 digits)");
	p = tp_policy("rule a { match part ndb \"x.ndb\" action reject }",
	              "x.ndb", "# comment\nGood:0:*:41424344\nBad:0:*:4142{3-1}43\n", NULL);
	CU_ASSERT_PTR_NULL(p);
	CU_ASSERT_STRING_EQUAL(tp_last_error,
	                       "x.ndb:3:13: signature Bad: bad jump: use {n}, {n-m}, {-m}, {n-} or [n-m] "
	                       "(add ignore-unsupported to skip such signatures)");
	p = tp_policy("rule a { match part ndb \"x.ndb\" action reject }",
	              "x.ndb", "Pe:1:*:41424344\n", NULL);
	CU_ASSERT_PTR_NULL(p);
	CU_ASSERT_NSTRING_EQUAL(tp_last_error, "x.ndb:1:4: signature Pe: target type 1 is not supported", 53);
	p = tp_policy("rule a { match part ndb \"x.ndb\" action reject }",
	              "x.ndb", "Eof:0:EOF-10:41424344\n", NULL);
	CU_ASSERT_PTR_NULL(p);
	CU_ASSERT_NSTRING_EQUAL(tp_last_error, "x.ndb:1:7: signature Eof: only the offsets", 41);
	p = tp_policy("rule a { match body keywords \"kw.txt\" action reject }", "kw.txt", "# only comments\n\n", NULL);
	CU_ASSERT_PTR_NULL(p);
	CU_ASSERT_STRING_EQUAL(tp_last_error, "policy.rules:1:30: 'kw.txt' holds no entries");
}

/* Skipped signatures are counted, never dropped silently. */
static void test_ignore_unsupported_counts(void)
{
	struct sl_policy *p = tp_policy("rule a { match part ndb \"x.ndb\" ignore-unsupported action reject }",
	                                "x.ndb", "Pe:1:*:41424344\nOk:0:*:41424344\nEof:0:EOF-1:4142\n", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	struct sl_policy_info info;
	sl_policy_info(p, &info);
	CU_ASSERT_EQUAL(info.patterns, 1);
	CU_ASSERT_EQUAL(info.skipped_signatures, 2);
	sl_policy_unref(p);
}

static void test_full_grammar_compiles(void)
{
	struct sl_policy *p = tp_policy(
		"# comment\n"
		"internal {\n  domain example.com, example.org\n  network 192.0.2.0/24, 2001:db8::/32\n}\n"
		"threshold 5 quarantine\nthreshold 9 reject \"554 5.7.1 spam\"\n"
		"rule r1 {\n"
		"  description \"all the things\"\n"
		"  direction outbound, internal\n"
		"  match a: mail-from /@example\\.com$/i\n"
		"  match b: rcpt-to \"@example.net\" nocase\n"
		"  match c: helo literal \"mx\"\n"
		"  match d: client-ip in 192.0.2.0/24, 2001:db8::/32, 198.51.100.7\n"
		"  match e: header:Subject, header:From /hello/\n"
		"  match f: header \"X-Spam: yes\"\n"
		"  match g: body, text /[0-9]{4}/ validate luhn count >= 2 distinct\n"
		"  match h: attachment, part sha256 275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f\n"
		"  match i: filename /\\.exe$/i\n"
		"  match j: raw \"X-Mailer\"\n"
		"  match k: signal smtp.smuggling, mime.bad_base64\n"
		"  match l: part ndb \"av.ndb\"\n"
		"  match m: text keywords \"kw.txt\" nocase count >= 2 distinct\n"
		"  match n: body /foo(?=bar)/ window 128\n"
		"  when (a or b) and not c or (d and e and f and g and h and i and j and k and l and m and n)\n"
		"  action tempfail \"451 4.7.1 later\"\n"
		"  score -2\n"
		"}\n"
		"rule r2 { match body \"x\"; score 3 }\n",
		"av.ndb", "Sig:0:*:4142??43*44{2-4}45(46|4748)!(49|4a)4b\n",
		"kw.txt", "one\ntwo\n機密\n", NULL);
	if (!p)
		fprintf(stderr, "\n%s\n", tp_last_error);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	struct sl_policy_info info;
	sl_policy_info(p, &info);
	CU_ASSERT_EQUAL(info.rules, 2);
	CU_ASSERT_EQUAL(info.confirmed_patterns, 1);
	CU_ASSERT(info.database_bytes > 0);
	CU_ASSERT_STRING_EQUAL(sl_policy_rule_id(p, 1), "r2");
	sl_policy_unref(p);
}

int main(void)
{
	static const struct cu_test tests[] = {
		{"errors have positions", test_errors_have_positions},
		{"list file errors", test_list_file_errors},
		{"ignore-unsupported counts", test_ignore_unsupported_counts},
		{"full grammar compiles", test_full_grammar_compiles},
		{NULL, NULL},
	};
	return cu_run_suite("policy_parse", NULL, NULL, tests);
}
