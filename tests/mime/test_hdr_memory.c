/* CUnit suite "mime_hdr_memory": what the header parser keeps between headers,
 * messages and flows (engine/mime/str_stash.h, sl_hdrs_reset). The stash gives back the
 * storage it was given and keeps no more than its cap; a parser that has seen a set of
 * headers once decodes them again, in the next message and after sl_mime_recycle,
 * without allocating, and gives the same values; after a hostile header it keeps no
 * more than its caps. Memory is counted by a test account (testacct.h): every
 * allocation or growth is one charge. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/mem.h"
#include "cunit_run.h"
#include "mime_mem.h"
#include "str_stash.h"
#include "testacct.h"

/* Seven header buffers of up to 1 KiB (sl_hdrs_reset) and the stash. */
#define HDR_KEPT_MAX (7 * 1024 + STR_STASH_BYTES)

static void fill(struct sl_strbuf *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sl_strbuf_putc(b, (char)('a' + i % 26));
}

static void test_stash_reuse_and_caps(void)
{
	struct test_acct a = {0};
	struct sl_memacct acct = test_acct(&a);
	struct sl_mem mem;
	sl_mem_init(&mem, &acct);
	struct sl_mem *outer = sl_mem_swap(&mem);
	struct sl_str_stash st = {0};

	struct sl_strbuf b;
	sl_str_stash_take(&st, &b); /* nothing kept yet: a new empty string */
	CU_ASSERT_EQUAL(b.cap, 0);
	fill(&b, 100);
	char *storage = b.s;
	size_t cap = b.cap;
	sl_str_stash_give(&st, &b);
	CU_ASSERT_EQUAL(b.cap, 0);
	CU_ASSERT_EQUAL(sl_str_stash_memory(&st), cap);
	CU_ASSERT_EQUAL(a.total, cap); /* still charged while kept */

	size_t charges = a.charges;
	sl_str_stash_take(&st, &b); /* the same storage, empty */
	CU_ASSERT_PTR_EQUAL_FATAL(b.s, storage);
	CU_ASSERT_EQUAL(b.len, 0);
	CU_ASSERT_EQUAL(b.s[0], '\0');
	fill(&b, 100);
	CU_ASSERT_EQUAL(a.charges, charges); /* no allocation */
	sl_str_stash_give(&st, &b);

	/* a string that grew past the cap is freed when dropped */
	sl_str_stash_take(&st, &b);
	fill(&b, 3 * STR_STASH_BYTES);
	sl_str_stash_give(&st, &b);
	CU_ASSERT_EQUAL(sl_str_stash_memory(&st), 0);
	CU_ASSERT_EQUAL(a.total, 0);

	/* more strings at once than slots, each of 1 KiB: what is kept stays in the caps */
	struct sl_strbuf many[2 * STR_STASH_SLOTS];
	for (size_t i = 0; i < 2 * STR_STASH_SLOTS; i++) {
		sl_str_stash_take(&st, &many[i]);
		fill(&many[i], 1000);
	}
	for (size_t i = 0; i < 2 * STR_STASH_SLOTS; i++)
		sl_str_stash_give(&st, &many[i]);
	CU_ASSERT(sl_str_stash_memory(&st) > 0);
	CU_ASSERT(sl_str_stash_memory(&st) <= STR_STASH_BYTES);
	CU_ASSERT_EQUAL(a.total, sl_str_stash_memory(&st));

	sl_str_stash_free(&st);
	CU_ASSERT_EQUAL(sl_str_stash_memory(&st), 0);
	CU_ASSERT_EQUAL(a.total, 0);
	sl_mem_swap(outer);
}

/* Headers through every path of the header parser: encoded words (B and Q, UTF-8 and
 * Latin-1), comments, groups, quoted strings, domain literals, RFC 2231 parameters,
 * folding. */
static const char benign[] =
	"From: =?utf-8?q?J=C3=B6rg?= (work) <joerg@example.com>, \"Doe, Jane\" <jane@example.org>\r\n"
	"To: undisclosed-recipients:;, Group: a@example.net, \"b c\" <b@example.net>;\r\n"
	"Cc: =?iso-8859-1?b?SvZyZw==?= <j@example.com>, x@[192.0.2.1]\r\n"
	"Subject: =?utf-8?b?SGVsbG8gd8O2cmxk?= and =?iso-8859-1?q?caf=E9?= (x)\r\n"
	"Reply-To: \"quoted\\\"local\"@example.com\r\n"
	"Content-Type: text/plain; charset=\"utf-8\"; name*0*=utf-8''%C3%A9t%C3%A9;\r\n"
	" name*1=\".txt\"\r\n"
	"Content-Disposition: attachment; filename*=iso-8859-1''caf%E9.txt; size=3\r\n"
	"Content-Transfer-Encoding: 7bit (comment)\r\n"
	"X-Folded: a\r\n b\r\n\tc\r\n"
	"\r\n"
	"body\r\n";

struct seen {
	struct sl_strbuf log; /* "name: value\n" of every HEADER, then the part's filename */
};

static void on_event(void *ctx, const struct sl_event *ev)
{
	struct seen *s = ctx;
	if (ev->type == SL_EV_HEADER)
		sl_strbuf_printf(&s->log, "%s: %s\n", ev->name, ev->value);
	else if (ev->type == SL_EV_PART_BEGIN)
		sl_strbuf_printf(&s->log, "part %s filename %s\n", ev->part->content_type,
		                 ev->part->filename ? ev->part->filename : "-");
}

/* One message through m; the events it gave in s->log (cleared first). */
static void parse(struct sl_mime *m, struct seen *s, const char *msg, size_t n)
{
	sl_strbuf_clear(&s->log);
	sl_mime_reset(m, 1);
	sl_mime_feed(m, (const uint8_t *)msg, n);
	sl_mime_finish(m);
	CU_ASSERT_FALSE(sl_mime_failed(m));
}

/* A To: of thousands of addresses with encoded words, comments and quoted strings, and
 * a Subject of encoded words, each past max_header_bytes. */
static char *hostile(size_t *n)
{
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	sl_strbuf_puts(&b, "To: ");
	for (int i = 0; i < 3000; i++)
		sl_strbuf_printf(&b, "%s=?utf-8?q?N=C3=A4me_%d?= (c (nested) %d) <\"u%d\"@example.com>",
		                 i ? ",\r\n " : "", i, i, i);
	sl_strbuf_puts(&b, "\r\nSubject: ");
	for (int i = 0; i < 3000; i++)
		sl_strbuf_printf(&b, "=?iso-8859-1?q?w=E9rd?= %d ", i);
	sl_strbuf_puts(&b, "\r\nContent-Type: text/plain; name*0*=utf-8''");
	for (int i = 0; i < 3000; i++)
		sl_strbuf_puts(&b, "%C3%A9");
	sl_strbuf_puts(&b, "\r\n\r\nbody\r\n");
	*n = b.len;
	return b.s;
}

static void test_parser_headers_without_allocating(void)
{
	struct test_acct a = {0};
	struct sl_memacct acct = test_acct(&a);
	struct seen first = {0}, again = {0};
	struct sl_limits lim;
	sl_limits_default(&lim);
	lim.extract_depth = 0; /* the extractors' allocations are not the headers' */
	struct sl_mime *m = sl_mime_new_acct(&lim, on_event, &first, &acct);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	size_t fresh = a.total;

	parse(m, &first, benign, sizeof benign - 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(strstr(first.log.s, "Subject: Hello w\xC3\xB6rld and caf\xC3\xA9 (x)\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(first.log.s, "From: J\xC3\xB6rg <joerg@example.com>, \"Doe, Jane\" <jane@example.org>\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(first.log.s, "part text/plain filename caf\xC3\xA9.txt\n"));
	sl_mime_free(m);

	/* the same parser again: same values, no allocation; after recycle likewise */
	m = sl_mime_new_acct(&lim, on_event, &again, &acct);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	parse(m, &again, benign, sizeof benign - 1);
	size_t charges = a.charges;
	parse(m, &again, benign, sizeof benign - 1);
	CU_ASSERT_STRING_EQUAL(again.log.s, first.log.s);
	CU_ASSERT_EQUAL(a.charges, charges);
	sl_mime_recycle(m);
	charges = a.charges;
	parse(m, &again, benign, sizeof benign - 1);
	CU_ASSERT_STRING_EQUAL(again.log.s, first.log.s);
	CU_ASSERT_EQUAL(a.charges, charges);

	/* a hostile header: decoded, then no more kept than the caps */
	size_t hn;
	char *h = hostile(&hn);
	parse(m, &again, h, hn);
	CU_ASSERT(a.peak > fresh + 64 * 1024);
	CU_ASSERT_PTR_NOT_NULL(strstr(again.log.s, "Subject: w\xC3\xA9rd 0 w\xC3\xA9rd 1 "));
	sl_mime_recycle(m);
	CU_ASSERT(a.total <= fresh + HDR_KEPT_MAX);
	/* and nothing of it shows in the next message */
	parse(m, &again, benign, sizeof benign - 1);
	CU_ASSERT_STRING_EQUAL(again.log.s, first.log.s);
	sl_mime_recycle(m);
	CU_ASSERT(a.total <= fresh + HDR_KEPT_MAX);
	free(h);

	sl_mime_free(m);
	CU_ASSERT_EQUAL(a.total, 0);
	sl_strbuf_free(&first.log);
	sl_strbuf_free(&again.log);
}

int main(void)
{
	static const struct cu_test tests[] = {
		{"stash: storage reused, kept within its caps", test_stash_reuse_and_caps},
		{"parser: known headers again without allocating; caps after a hostile one",
		 test_parser_headers_without_allocating},
		{NULL, NULL},
	};
	return cu_run_suite("mime_hdr_memory", NULL, NULL, tests);
}
