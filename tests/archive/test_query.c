/* Query parser: trees for valid queries, positional errors for bad ones. */
#include <stdlib.h>
#include <string.h>

#include "cunit_run.h"
#include "query_text.h"

static char *tree(const char *q)
{
	char err[512];
	return query_text(ar_query_parse(q, err, sizeof err), err);
}

#define CHECK_TREE(q, want) do { \
	char *got_ = tree(q); \
	CU_ASSERT_STRING_EQUAL(got_, want); \
	if (strcmp(got_, want)) fprintf(stderr, "\n  %s\n  got:  %s\n  want: %s\n", q, got_, want); \
	free(got_); \
} while (0)

static void test_terms(void)
{
	CHECK_TREE("Contract", "(term sb \"contract\")");
	CHECK_TREE("contract budget", "(and (term sb \"contract\") (term sb \"budget\"))");
	CHECK_TREE("\"quarterly Budget\"", "(phrase sb \"quarterly\" \"budget\")");
	CHECK_TREE("機密資料", "(phrase sb \"機密\" \"密資\" \"資料\")");
	CHECK_TREE("合約", "(term sb \"合約\")");
	CHECK_TREE("e-mail", "(phrase sb \"e\" \"mail\")");
}

static void test_fields(void)
{
	CHECK_TREE("from:Alice@Example.com", "(term f \"alice@example.com\")");
	CHECK_TREE("to:example.com", "(term t \"example.com\")");
	CHECK_TREE("from:\"Alice Smith\"", "(and (term f \"alice\") (term f \"smith\"))");
	CHECK_TREE("subject:\"weekly report\"", "(phrase s \"weekly\" \"report\")");
	CHECK_TREE("body:合約", "(term b \"合約\")");
	CHECK_TREE("filename:report.pdf", "(phrase n \"report\" \"pdf\")");
	CHECK_TREE("rule:DLP.Card", "(term r \"dlp.card\")");
	CHECK_TREE("direction:inbound", "(term d \"inbound\")");
	CHECK_TREE("has:attachment", "(term h \"attachment\")");
	CHECK_TREE("msgid:<A1@x>", "(term i \"a1@x\")");
	CHECK_TREE("thread:a1@x", "(term ip \"a1@x\")");
	CHECK_TREE("after:2024-01-02", "(date 1704153600 9223372036854775807)");
	CHECK_TREE("before:2024-01-02", "(date -9223372036854775808 1704153600)");
}

static void test_boolean(void)
{
	CHECK_TREE("a OR b", "(or (term sb \"a\") (term sb \"b\"))");
	CHECK_TREE("a b OR c", "(or (and (term sb \"a\") (term sb \"b\")) (term sb \"c\"))");
	CHECK_TREE("a (b OR c)", "(and (term sb \"a\") (or (term sb \"b\") (term sb \"c\")))");
	CHECK_TREE("a -b", "(and (term sb \"a\") (not (term sb \"b\")))");
	CHECK_TREE("-b", "(and (not (term sb \"b\")) (all))");
	CHECK_TREE("a OR -b", "(or (term sb \"a\") (and (not (term sb \"b\")) (all)))");
	CHECK_TREE("a AND b", "(and (term sb \"a\") (term sb \"b\"))");
	CHECK_TREE("or and", "(and (term sb \"or\") (term sb \"and\"))"); /* lowercase: words */
}

static void test_errors(void)
{
	CHECK_TREE("", "column 1: empty query");
	CHECK_TREE("   ", "column 1: empty query");
	CHECK_TREE("foo bar:baz", "column 5: unknown field \"bar\" (fields: from, to, subject, "
		"body, filename, rule, direction, source, msgid, thread, has, after, before)");
	CHECK_TREE("a \"open phrase", "column 3: unterminated quote");
	CHECK_TREE("(a OR b", "column 1: unbalanced '(': no matching ')'");
	CHECK_TREE("a)", "column 2: unexpected ')'");
	CHECK_TREE("a OR", "column 5: expected a term at the end of the query");
	CHECK_TREE("OR a", "column 1: expected a term before OR");
	CHECK_TREE("after:2024-13-01", "column 7: after: wants a date YYYY-MM-DD (UTC), got \"2024-13-01\"");
	CHECK_TREE("before:2023-02-30", "column 8: before: wants a date YYYY-MM-DD (UTC), got \"2023-02-30\"");
	CHECK_TREE("from:", "column 6: from: needs a value");
	CHECK_TREE("合約 direction:sideways", "column 14: direction: is inbound, outbound, internal or unknown");
	CHECK_TREE("has:pdf", "column 5: has: knows only 'attachment'");
	CHECK_TREE("a - b", "column 3: '-' must be followed by a term");
	CHECK_TREE("!!!", "column 1: no searchable word in \"!!!\"");
	CHECK_TREE("(((((((((((((((((((((((((((((((((((((a)))))))))))))))))))))))))))))))))))))",
		"column 34: parentheses nested too deep");
}

int main(void)
{
	static const struct cu_test tests[] = {
		{ "terms and phrases", test_terms },
		{ "fields", test_fields },
		{ "boolean operators", test_boolean },
		{ "errors with positions", test_errors },
		{ NULL, NULL },
	};
	return cu_run_suite("archive_query", NULL, NULL, tests);
}
