/* Tokenizer: case folding, words, CJK bigrams, HTML stripping. */
#include <stdlib.h>
#include <string.h>

#include "cunit_run.h"
#include "text.h"

static void collect(void *ctx, const char *t, size_t n)
{
	struct sl_strbuf *b = ctx;
	if (b->len)
		sl_strbuf_putc(b, '|');
	sl_strbuf_put(b, t, n);
}

/* Tokens of s joined with '|'. */
static char *toks(const char *s)
{
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	ar_tokenize(s, strlen(s), collect, &b);
	char *r = strdup(b.s ? b.s : "");
	sl_strbuf_free(&b);
	return r;
}

#define CHECK_TOKS(in, want) do { \
	char *got_ = toks(in); \
	CU_ASSERT_STRING_EQUAL(got_, want); \
	free(got_); \
} while (0)

static void test_english(void)
{
	CHECK_TOKS("Hello, World! It's 2024.", "hello|world|it|s|2024");
	CHECK_TOKS("e-mail: alice@Example.COM", "e|mail|alice|example|com");
	CHECK_TOKS("", "");
	CHECK_TOKS("  ...  ", "");
	CHECK_TOKS("snake_case x", "snake|case|x");
}

static void test_case_folding(void)
{
	CHECK_TOKS("STRASSE Straße", "strasse|strasse");      /* full folding: ß -> ss */
	CHECK_TOKS("ΣΊΣΥΦΟΣ σίσυφος", "σίσυφοσ|σίσυφοσ");   /* final sigma folds to σ */
	CHECK_TOKS("ÉCOLE école", "école|école");
	CHECK_TOKS("ＡＢＣ", "ａｂｃ");                           /* fullwidth folds, stays wide */
}

static void test_chinese(void)
{
	CHECK_TOKS("機密資料", "機密|密資|資料");
	CHECK_TOKS("合約", "合約");
	CHECK_TOKS("約", "約");                                  /* a lone character */
	CHECK_TOKS("請看合約。謝謝", "請看|看合|合約|謝謝");       /* punctuation splits runs */
	CHECK_TOKS("日本語のテキスト", "日本|本語|語の|のテ|テキ|キス|スト");
}

static void test_mixed(void)
{
	CHECK_TOKS("Q3合約draft", "q3|合約|draft");
	CHECK_TOKS("the 機密 report", "the|機密|report");
	CHECK_TOKS("한국어 text", "한국|국어|text");
}

static void test_limits_and_bad_bytes(void)
{
	char longw[100];
	memset(longw, 'a', 65);
	longw[65] = '\0';
	char in[200];
	snprintf(in, sizeof in, "ok %s fine", longw);
	CHECK_TOKS(in, "ok|fine");                               /* words over 64 bytes dropped */
	memset(longw, 'b', 64);
	longw[64] = '\0';
	snprintf(in, sizeof in, "%s", longw);
	char *t = toks(in);
	CU_ASSERT_EQUAL(strlen(t), 64);
	free(t);
	CHECK_TOKS("ab\xff" "cd \xe6\xa9", "ab|cd");           /* invalid UTF-8 separates */
	CHECK_TOKS("\xc0\xafx", "x");                          /* overlong encodings are invalid */
}

static char *html(const char *s)
{
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	ar_html_to_text(s, strlen(s), &b);
	char *r = strdup(b.s ? b.s : "");
	sl_strbuf_free(&b);
	return r;
}

static void test_html(void)
{
	char *t = html("<p>Hello&nbsp;<b>big</b> world &amp; co &#x5408;&#32004;</p>"
		       "<script>var secret=1;</script><!-- hidden --><STYLE>p{}</STYLE>end");
	char *k = toks(t);
	CU_ASSERT_STRING_EQUAL(k, "hello|big|world|co|合約|end");
	free(k);
	free(t);
	t = html("a &bogus; &#0; <unclosed");
	CU_ASSERT_STRING_EQUAL(t, "a &bogus; &#0;  ");
	free(t);
}

int main(void)
{
	static const struct cu_test tests[] = {
		{ "english words", test_english },
		{ "unicode case folding", test_case_folding },
		{ "chinese bigrams", test_chinese },
		{ "mixed scripts", test_mixed },
		{ "limits and invalid utf-8", test_limits_and_bad_bytes },
		{ "html to text", test_html },
		{ NULL, NULL },
	};
	return cu_run_suite("archive_text", NULL, NULL, tests);
}
