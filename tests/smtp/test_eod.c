/* The end-of-data table of docs/engine-smtp.md: one test per row. Each row is the
 * client content after 354, ending with the real terminator CRLF.CRLF. */
#include <stdio.h>
#include <string.h>

#include "tests.h"

struct eod_row {
	const char *content;   /* after the 354, up to and including the terminator */
	const char *raw;       /* the message the server gets */
	const char *smuggling; /* variant named in smtp.smuggling's detail, or NULL */
	uint64_t dot;          /* smtp.smuggling's offset: where the dot stands in raw */
};

static const struct eod_row rows[] = {
	/* 0 */ {"a\r\n.\r\n", "a\r\n", NULL, 0},
	/* 1 */ {".\r\n", "", NULL, 0},
	/* 2 */ {"a\n.\nb\r\n.\r\n", "a\n.\nb\r\n", "LF.LF", 2},
	/* 3 */ {"a\n.\r\nb\r\n.\r\n", "a\n.\r\nb\r\n", "LF.CRLF", 2},
	/* 4 */ {"a\n.\rb\r\n.\r\n", "a\n.\rb\r\n", "LF.CR", 2},
	/* 5 */ {"a\r.\rb\r\n.\r\n", "a\r.\rb\r\n", "CR.CR", 2},
	/* 6 */ {"a\r.\nb\r\n.\r\n", "a\r.\nb\r\n", "CR.LF", 2},
	/* 7 */ {"a\r.\r\nb\r\n.\r\n", "a\r.\r\nb\r\n", "CR.CRLF", 2},
	/* 8 */ {"a\r\n.\nb\r\n.\r\n", "a\r\n\nb\r\n", "CRLF.LF", 3},
	/* 9 */ {"a\r\n.\rb\r\n.\r\n", "a\r\n\rb\r\n", "CRLF.CR", 3},
	/* 10 */ {"a\r\n.\r\r\nb\r\n.\r\n", "a\r\n\r\r\nb\r\n", "CRLF.CR", 3},
	/* 11 */ {".\nb\r\n.\r\n", "\nb\r\n", "CRLF.LF", 0},
	/* 12 */ {"a\r\n..\r\nb\r\n.\r\n", "a\r\n.\r\nb\r\n", NULL, 0},
	/* 13 */ {"a\r\n.b\r\n.\r\n", "a\r\nb\r\n", NULL, 0},
	/* 14 */ {"a\r\n. \r\n.\r\n", "a\r\n \r\n", NULL, 0},
	/* 15 */ {"a\n\r\n.\r\n", "a\n\r\n", NULL, 0},
	/* 16 */ {"a\r\r\n.\r\n", "a\r\r\n", NULL, 0},
	/* 17 */ {"a\n.\nb\r.\rc\r\n.\r\n", "a\n.\nb\r.\rc\r\n", "LF.LF", 2},
	/* 18 */ {"a\n\n.\n\nb\r\n.\r\n", "a\n\n.\n\nb\r\n", "LF.LF", 3},
	/* 19 */ {"a\n.\r\n.\r\n", "a\n.\r\n", "LF.CRLF", 2},
	/* 20 */ {"a\r\n\n.\r\n.\r\n", "a\r\n\n.\r\n", "LF.CRLF", 4},
};

static void escape(struct sl_strbuf *b, const char *p)
{
	for (; *p; p++) {
		if (*p == '\r')
			sl_strbuf_puts(b, "\\r");
		else if (*p == '\n')
			sl_strbuf_puts(b, "\\n");
		else if (*p == '\\')
			sl_strbuf_puts(b, "\\\\");
		else
			sl_strbuf_putc(b, *p);
	}
}

static const char prologue[] =
	"S 220 mx\\r\\n\n"
	"C MAIL FROM:<a@b>\\r\\nRCPT TO:<c@d>\\r\\nDATA\\r\\n\n"
	"S 250 Ok\\r\\n250 Ok\\r\\n354 go\\r\\n\n";
#define CONTENT_OFF (sizeof "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n" - 1)

static void check_row(const struct eod_row *row)
{
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	sl_strbuf_puts(&b, prologue);
	sl_strbuf_puts(&b, "C ");
	escape(&b, row->content);
	sl_strbuf_puts(&b, "\nC QUIT\\r\\n\nS 250 Ok\\r\\n221 Bye\\r\\n\n");
	struct transcript *t = transcript_parse(b.s, b.len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	struct run *r = run_transcript(t, CH_WHOLE, 0, NULL, true);
	CU_ASSERT_STRING_EQUAL(r->error, "");
	/* ends exactly at the terminator, the client is back to commands */
	CU_ASSERT_STRING_EQUAL(r->trace.s + strlen(r->trace.s) - strlen("QUIT 250 result0=250 221 "),
	                       "QUIT 250 result0=250 221 ");
	CU_ASSERT_EQUAL_FATAL(r->nmsgs, 1);
	const struct msg_rec *m = &r->msgs[0];
	CU_ASSERT_EQUAL(m->raw.len, strlen(row->raw));
	CU_ASSERT(m->raw.len == strlen(row->raw) && memcmp(m->raw.s, row->raw, m->raw.len) == 0);
	CU_ASSERT_EQUAL(m->begin_off, CONTENT_OFF);
	CU_ASSERT_EQUAL(m->end_off, CONTENT_OFF + strlen(row->content));
	CU_ASSERT_EQUAL(run_count_signal(r, "smtp.smuggling"), row->smuggling ? 1 : 0);
	const struct sig_rec *sg = run_find_signal(r, "smtp.smuggling");
	if (row->smuggling && sg) {
		char want[64];
		snprintf(want, sizeof want, "%s does not end the message", row->smuggling);
		CU_ASSERT_STRING_EQUAL(sg->detail, want);
		CU_ASSERT_EQUAL(sg->off, row->dot);
	}
	CU_ASSERT_EQUAL(r->nsigs, row->smuggling ? 1 : 0);
	CU_ASSERT_STRING_EQUAL(run_invariance(t, NULL), "");
	run_free(r);
	transcript_free(t);
	sl_strbuf_free(&b);
}

#define ROW(i) \
	static void row_##i(void) { check_row(&rows[i]); }
ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5) ROW(6) ROW(7) ROW(8) ROW(9) ROW(10)
ROW(11) ROW(12) ROW(13) ROW(14) ROW(15) ROW(16) ROW(17) ROW(18) ROW(19) ROW(20)

/* The connection closes right after CRLF.CR: the held CR is content after all. */
static void test_close_after_dot_cr(void)
{
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	sl_strbuf_puts(&b, prologue);
	sl_strbuf_puts(&b, "C a\\r\\n.\\r\n");
	struct transcript *t = transcript_parse(b.s, b.len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	struct run *r = run_transcript(t, CH_WHOLE, 0, NULL, true);
	CU_ASSERT_STRING_EQUAL(r->error, "");
	CU_ASSERT_EQUAL_FATAL(r->nmsgs, 1);
	CU_ASSERT_EQUAL(r->msgs[0].raw.len, 4);
	CU_ASSERT(memcmp(r->msgs[0].raw.s, "a\r\n\r", 4) == 0);
	CU_ASSERT_EQUAL(run_count_signal(r, "smtp.incomplete"), 1);
	CU_ASSERT_EQUAL(r->msgs[0].end_off, CONTENT_OFF + 5);
	CU_ASSERT_STRING_EQUAL(run_invariance(t, NULL), "");
	run_free(r);
	transcript_free(t);
	sl_strbuf_free(&b);
}

static void test_nul_in_data(void)
{
	struct run *r = run_text(
		"S 220 mx\\r\\n\nC MAIL FROM:<a@b>\\r\\nRCPT TO:<c@d>\\r\\nDATA\\r\\n\n"
		"S 250 Ok\\r\\n250 Ok\\r\\n354 go\\r\\n\nC ab\\x00c\\x00\\r\\n.\\r\\n\nS 250 Ok\\r\\n\n");
	CU_ASSERT_EQUAL_FATAL(r->nmsgs, 1);
	CU_ASSERT_EQUAL(r->msgs[0].raw.len, 7);
	CU_ASSERT(memcmp(r->msgs[0].raw.s, "ab\0c\0\r\n", 7) == 0);
	/* once per message, at the first NUL */
	CU_ASSERT_EQUAL(run_count_signal(r, "smtp.nul"), 1);
	CU_ASSERT_EQUAL(run_find_signal(r, "smtp.nul")->off, 2);
	run_free(r);
}

/* sl_smtp_client_consumed() stops before a dot that may be part of an end of data
 * (for us or for a server reading bare line ends), until the next bytes settle it; after
 * a smuggling variant it stays there until MESSAGE_END. */
static void feed_str(struct sl_smtp *s, enum sl_stream d, const char *p)
{
	sl_smtp_feed(s, d, (const uint8_t *)p, strlen(p));
}

static void test_consumed_holds_dot(void)
{
	struct sl_eventlog log;
	sl_eventlog_init(&log);
	struct sl_smtp *s = sl_smtp_new(NULL, sl_eventlog_cb, &log);
	feed_str(s, SL_SERVER, "220 mx\r\n");
	feed_str(s, SL_CLIENT, "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n");
	feed_str(s, SL_SERVER, "250 Ok\r\n250 Ok\r\n354 go\r\n");
	uint64_t base = CONTENT_OFF;
	CU_ASSERT_EQUAL(sl_smtp_client_consumed(s), base);
	feed_str(s, SL_CLIENT, "a\r\n.");
	CU_ASSERT_EQUAL(sl_smtp_client_consumed(s), base + 3); /* before the dot */
	feed_str(s, SL_CLIENT, ".b\r\n");                    /* a stuffed dot: content */
	CU_ASSERT_EQUAL(sl_smtp_client_consumed(s), base + 8);
	feed_str(s, SL_CLIENT, "c\n.");
	CU_ASSERT_EQUAL(sl_smtp_client_consumed(s), base + 10);
	feed_str(s, SL_CLIENT, "\nMAIL FROM:<x@y>\r\n");      /* LF.LF: held until the end */
	CU_ASSERT_EQUAL(sl_smtp_client_consumed(s), base + 10);
	feed_str(s, SL_CLIENT, "d\r\n.\r");
	CU_ASSERT_EQUAL(sl_smtp_client_consumed(s), base + 10);
	feed_str(s, SL_CLIENT, "\n");                          /* the end: all of it */
	CU_ASSERT_EQUAL(sl_smtp_client_consumed(s), base + 35);
	CU_ASSERT_PTR_NOT_NULL(strstr(sl_eventlog_text(&log), "message_end txn=0 off=73 "));
	sl_smtp_free(s);
	sl_eventlog_free(&log);
}

/* The vector scan: a NUL and breaks far into a line; bytes that differ from CR, LF
 * and NUL only in the high bit (0x8D, 0x8A, 0x80) or the high nibble are not breaks. */
static void test_scan_far(void)
{
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	sl_strbuf_puts(&b, prologue);
	sl_strbuf_puts(&b, "C ");
	for (int i = 0; i < 200; i++)
		sl_strbuf_putc(&b, 'x');
	sl_strbuf_puts(&b, "\\x00");
	for (int i = 0; i < 100; i++)
		sl_strbuf_puts(&b, "\\x8d.\\x8a\\x80\\x1d\\x2a\\x3d");
	sl_strbuf_puts(&b, "\\r\\n.\\r\\n\nS 250 Ok\\r\\n\n");
	struct transcript *t = transcript_parse(b.s, b.len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	struct run *r = run_transcript(t, CH_WHOLE, 0, NULL, true);
	CU_ASSERT_STRING_EQUAL(r->error, "");
	CU_ASSERT_EQUAL_FATAL(r->nmsgs, 1);
	CU_ASSERT_EQUAL(r->msgs[0].raw.len, 200 + 1 + 100 * 7 + 2);
	CU_ASSERT_EQUAL(r->nsigs, 1);
	CU_ASSERT_EQUAL(run_count_signal(r, "smtp.nul"), 1);
	CU_ASSERT_EQUAL(run_find_signal(r, "smtp.nul")->off, 200);
	CU_ASSERT_EQUAL(r->msgs[0].code, 250);
	run_free(r);
	transcript_free(t);
	sl_strbuf_free(&b);
}

/* A long message in DATA with lines of every length: RAW comes in large runs. */
static void test_large_runs(void)
{
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	sl_strbuf_puts(&b, prologue);
	sl_strbuf_puts(&b, "C ");
	size_t want = 0;
	for (int i = 0; i < 300; i++) {
		for (int j = 0; j < i; j++)
			sl_strbuf_putc(&b, (char)('a' + j % 26));
		sl_strbuf_puts(&b, "\\r\\n");
		want += (size_t)i + 2;
	}
	sl_strbuf_puts(&b, ".\\r\\n\nS 250 Ok\\r\\n\n");
	struct transcript *t = transcript_parse(b.s, b.len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	struct run *r = run_transcript(t, CH_WHOLE, 0, NULL, true);
	CU_ASSERT_EQUAL_FATAL(r->nmsgs, 1);
	CU_ASSERT_EQUAL(r->msgs[0].raw.len, want);
	/* fed whole, the content is one RAW event */
	CU_ASSERT_PTR_NOT_NULL(strstr(sl_eventlog_text(&r->log_smtp), "raw txn=0 part=- off=0 len="));
	CU_ASSERT_EQUAL(r->raw_events, 1);
	run_free(r);
	transcript_free(t);
	sl_strbuf_free(&b);
}

/* Line breaks, dots and NULs in every arrangement, at every distance from the 32-byte
 * blocks of the vector scan: fed whole (vector loop), the events are those of the same
 * bytes fed one at a time (byte by byte, no vector loop) and in random pieces. */
static void test_vector_scan_invariance(void)
{
	static const char *pieces[] = {
		"\\r\\n", "\\r\\n", "\\r\\n", "\\r\\n.", "\\r\\n..", "\\r\\n\\r\\n", "\\n",
		"\\r", ".", "\\x00", "\\n.", "\\r.", "\\x8d\\x8a", "a", "bc", "defghij",
		"klmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123",
	};
	unsigned state = 1;
	for (int round = 0; round < 40; round++) {
		struct sl_strbuf b;
		sl_strbuf_init(&b);
		sl_strbuf_puts(&b, prologue);
		sl_strbuf_puts(&b, "C x");
		for (int k = 0; k < 400; k++) {
			state = state * 1103515245u + 12345u;
			sl_strbuf_puts(&b, pieces[(state >> 16) % (sizeof pieces / sizeof pieces[0])]);
		}
		sl_strbuf_puts(&b, "\\r\\n.\\r\\n\nS 250 Ok\\r\\n\n");
		struct transcript *t = transcript_parse(b.s, b.len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(t);
		CU_ASSERT_STRING_EQUAL(run_invariance(t, NULL), "");
		transcript_free(t);
		sl_strbuf_free(&b);
	}
}

void register_eod_tests(void)
{
	static const struct test_def tests[] = {
		{"row 0: CRLF.CRLF ends", row_0},
		{"row 1: .CRLF at the start ends (empty message)", row_1},
		{"row 2: LF.LF", row_2},
		{"row 3: LF.CRLF", row_3},
		{"row 4: LF.CR", row_4},
		{"row 5: CR.CR", row_5},
		{"row 6: CR.LF", row_6},
		{"row 7: CR.CRLF", row_7},
		{"row 8: CRLF.LF (dot unstuffed)", row_8},
		{"row 9: CRLF.CR (dot unstuffed)", row_9},
		{"row 10: CRLF.CR CRLF", row_10},
		{"row 11: .LF at the start", row_11},
		{"row 12: CRLF..CRLF (stuffed dot)", row_12},
		{"row 13: CRLF.text (unstuffed)", row_13},
		{"row 14: CRLF.SP CRLF", row_14},
		{"row 15: LF CRLF.CRLF ends", row_15},
		{"row 16: CR CRLF.CRLF ends", row_16},
		{"row 17: several variants, one signal", row_17},
		{"row 18: LF LF.LF LF", row_18},
		{"row 19: LF.CRLF right before the end", row_19},
		{"row 20: CRLF LF.CRLF", row_20},
		{"CRLF.CR then close", test_close_after_dot_cr},
		{"NUL in data", test_nul_in_data},
		{"consumed holds a possible terminator", test_consumed_holds_dot},
		{"vector scan", test_scan_far},
		{"large runs", test_large_runs},
		{"vector scan: same events in any chunking", test_vector_scan_invariance},
	};
	add_suite("end of data", tests, sizeof tests / sizeof tests[0]);
}
