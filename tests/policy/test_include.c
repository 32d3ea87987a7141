/* `include "FILE"`: rules from other files, names relative to the including file,
 * carried by bundles; cycles, repeats, depth and errors inside included files. */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"

static void expect_error(const char *want, const char *policy, ...)
{
	va_list ap;
	va_start(ap, policy);
	struct sl_policy *p = tp_vpolicy(policy, ap);
	va_end(ap);
	if (p) {
		sl_policy_unref(p);
		fprintf(stderr, "\ncompiled but should fail with: %s\n", want);
		CU_FAIL("policy compiled");
		return;
	}
	/* "already set at DIR/policy.rules:1": the path as given, here in a temporary dir */
	char got[1024], *dir = strstr(tp_last_error, tp_last_dir);
	if (dir)
		snprintf(got, sizeof got, "%.*s%s", (int)(dir - tp_last_error), tp_last_error,
		         dir + strlen(tp_last_dir) + 1);
	else
		snprintf(got, sizeof got, "%s", tp_last_error);
	if (strcmp(got, want) != 0)
		fprintf(stderr, "\nwant: %s\ngot:  %s\n", want, got);
	CU_ASSERT_STRING_EQUAL(got, want);
}

static const char *MAIN = "threshold 5 quarantine\n"
                          "include \"sub/a.rules\"\n"
                          "rule main.subject { match header:subject \"main\" score 1 }\n";
static const char *SUB_A = "# a list beside this file, and a file one level up\n"
                           "rule a.words { match text keywords \"words.txt\" score 2 }\n"
                           "include \"../b.rules\"\n";
static const char *B = "rule b.when { when a.words and main.subject score 3 }\n";

static void check_rules(struct sl_policy *p)
{
	CU_ASSERT_EQUAL_FATAL(sl_policy_rule_count(p), 3);
	/* statements in the order they are read: an include stands where it is written */
	CU_ASSERT_STRING_EQUAL(sl_policy_rule_id(p, 0), "a.words");
	CU_ASSERT_STRING_EQUAL(sl_policy_rule_id(p, 1), "b.when");
	CU_ASSERT_STRING_EQUAL(sl_policy_rule_id(p, 2), "main.subject");
	struct sl_scanner *sc = sl_scanner_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
	struct tp_msg t = {0};
	tp_begin(&t, sc, p, SL_DIR_INBOUND);
	tp_header(&t, "", "Subject", "the main thing");
	tp_text(&t, "1", "a word from sub/words.txt: pineapple\n");
	const struct sl_verdict *v = tp_end(&t);
	tp_expect_hits(v, "a.words", "b.when", "main.subject", NULL);
	CU_ASSERT_EQUAL(v->score, 6);
	CU_ASSERT_EQUAL(v->action, SL_ACT_QUARANTINE);
	tp_free(&t);
	sl_scanner_free(sc);
}

static void test_include_relative_names(void)
{
	struct sl_policy *p = tp_policy(MAIN, "sub/a.rules", SUB_A, "sub/words.txt", "pineapple\n",
	                                "b.rules", B, NULL);
	if (!p)
		fprintf(stderr, "\n%s\n", tp_last_error);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	check_rules(p);

	/* the bundle carries the included files: they can go */
	char bundle[512], path[512];
	struct sl_policy_diag d;
	snprintf(bundle, sizeof bundle, "%s/policy.bundle", tp_last_dir);
	CU_ASSERT_EQUAL_FATAL(sl_policy_save(p, bundle, &d), 0);
	sl_policy_unref(p);
	const char *gone[] = {"sub/a.rules", "sub/words.txt", "b.rules"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%s/%s", tp_last_dir, gone[i]);
		CU_ASSERT_EQUAL(remove(path), 0);
	}
	p = sl_policy_load(bundle, &d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	check_rules(p);
	sl_policy_unref(p);
}

static void test_include_errors(void)
{
	const char *rule = "rule r { match header:subject \"x\" score 1 }\n";
	/* an error inside an included file names that file */
	expect_error("sub/a.rules:2:16: unknown scope 'bodyy'", "include \"sub/a.rules\"\n",
	             "sub/a.rules", "# two\nrule a { match bodyy \"x\" score 1 }\n", NULL);
	expect_error("sub/a.rules:1:9: cannot read 'sub/missing.rules': No such file or directory",
	             "include \"sub/a.rules\"\n", "sub/a.rules", "include \"missing.rules\"\n", NULL);
	/* a name that folds to a directory (the fuzzer's "." list: its errors named no file) */
	expect_error("policy.rules:1:9: '.' names a directory, not a file", "include \".\"\n", NULL);
	expect_error("policy.rules:1:30: 'sub/..' names a directory, not a file",
	             "rule a { match body keywords \"sub/..\" score 1 }\n", NULL);
	expect_error("policy.rules:1:9: expected the file's name in quotes (include \"FILE\"), found 'a.rules'",
	             "include a.rules\n", "a.rules", rule, NULL);
	/* cycles, through the folded name too */
	expect_error("b.rules:1:1: include cycle: 'a.rules' is already being read",
	             "include \"a.rules\"\n", "a.rules", "include \"sub/../b.rules\"\n" "rule r { match header:subject \"x\" score 1 }\n",
	             "b.rules", "include \"./a.rules\"\n", NULL);
	expect_error("self.rules:1:1: include cycle: 'self.rules' is already being read",
	             "include \"self.rules\"\n", "self.rules", "include \"self.rules\"\n", NULL);
	/* the same file twice would define its rules twice */
	expect_error("policy.rules:3:1: 'a.rules' is already part of the policy: its rules would be defined twice",
	             "include \"a.rules\"\n\ninclude \"./a.rules\"\n", "a.rules", rule, NULL);
	/* depth: policy.rules includes d1 ... d9 */
	char name[9][16], text[9][64];
	for (int i = 0; i < 9; i++) {
		snprintf(name[i], sizeof name[i], "d%d.rules", i + 1);
		snprintf(text[i], sizeof text[i], "include \"d%d.rules\"\n", i + 2);
	}
	expect_error("d8.rules:1:1: include nested deeper than 8 files", "include \"d1.rules\"\n",
	             name[0], text[0], name[1], text[1], name[2], text[2], name[3], text[3],
	             name[4], text[4], name[5], text[5], name[6], text[6], name[7], text[7],
	             name[8], rule, NULL);
	/* eight deep is allowed */
	struct sl_policy *p = tp_policy("include \"d1.rules\"\n", name[0], text[0], name[1], text[1],
	                                name[2], text[2], name[3], text[3], name[4], text[4],
	                                name[5], text[5], name[6], text[6], "d8.rules", rule, NULL);
	if (!p)
		fprintf(stderr, "\n%s\n", tp_last_error);
	CU_ASSERT_PTR_NOT_NULL(p);
	sl_policy_unref(p);
	/* what is set once says where it was set first, in which file */
	expect_error("t.rules:1:1: a threshold for quarantine is already set at policy.rules:1",
	             "threshold 6 quarantine\ninclude \"t.rules\"\n", "t.rules",
	             "threshold 5 quarantine\nrule r { match header:subject \"x\" score 1 }\n", NULL);
	expect_error("policy.rules:2:1: rule id r is already used at a.rules:1",
	             "include \"a.rules\"\nrule r { match header:subject \"y\" score 1 }\n", "a.rules", rule, NULL);
	expect_error("a.rules:1:15: 'nosuch' is neither a match label of rule m nor a rule",
	             "include \"a.rules\"\n", "a.rules", "rule m { when nosuch score 1 }\n", NULL);
	expect_error("a.rules:2:1: unexpected byte 0x01", "include \"a.rules\"\n", "a.rules", "# x\n\x01", NULL);
}

int main(void)
{
	static const struct cu_test tests[] = {
		{"include: relative names, bundles", test_include_relative_names},
		{"include: errors", test_include_errors},
		{NULL, NULL},
	};
	return cu_run_suite("policy_include", NULL, NULL, tests);
}
