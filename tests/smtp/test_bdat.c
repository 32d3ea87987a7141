/* CHUNKING (RFC 3030): BDAT chunks, LAST, BDAT 0 LAST, bad sizes and their recovery. */
#include <stdlib.h>
#include <string.h>

#include "tests.h"

static void test_chunks(void)
{
	struct run *r = run_file("hand/bdat.txt");
	CU_ASSERT_STRING_EQUAL(r->trace.s,
		"220 EHLO 250 MAIL RCPT BDAT begin0 BDAT 250 250 end0 250 250 result0=250 QUIT 221 ");
	CU_ASSERT_EQUAL_FATAL(r->nmsgs, 1);
	const struct msg_rec *m = &r->msgs[0];
	/* no dot-unstuffing, a CRLF.CRLF inside a chunk is just bytes */
	assert_raw_file(m, "tests/data/smtp/hand/bdat.eml");
	CU_ASSERT(m->env.bdat);
	CU_ASSERT(m->env.body_8bitmime);
	CU_ASSERT_EQUAL(m->begin_off, client_offset_after("hand/bdat.txt", "BDAT 30\r\n", 9));
	CU_ASSERT_EQUAL(m->end_off, client_offset_after("hand/bdat.txt", "tail\r\n\r\n", 8));
	CU_ASSERT_EQUAL(m->code, 250);
	CU_ASSERT_EQUAL(r->nsigs, 0);
	run_free(r);
}

static void test_refused_chunk(void)
{
	struct run *r = run_file("hand/bdat-refused.txt");
	CU_ASSERT_EQUAL_FATAL(r->nmsgs, 1);
	/* the first failure decides, not the reply to LAST */
	CU_ASSERT_EQUAL(r->msgs[0].code, 552);
	run_free(r);
}

static void test_rset_abandons(void)
{
	struct run *r = run_file("hand/bdat-rset.txt");
	CU_ASSERT_STRING_EQUAL(r->trace.s,
		"220 EHLO 250 MAIL 250 RCPT 250 BDAT begin0 250 !smtp.incomplete end0 result0=0 "
		"RSET 250 MAIL 250 RCPT 250 DATA 354 begin1 end1 250 result1=250 ");
	CU_ASSERT_EQUAL_FATAL(r->nmsgs, 2);
	CU_ASSERT_EQUAL(r->msgs[0].raw.len, 10);
	CU_ASSERT_EQUAL(r->msgs[0].code, 0);
	CU_ASSERT_EQUAL(r->msgs[0].end_off,
	                client_offset_after("hand/bdat-rset.txt", "0123456789", 10));
	CU_ASSERT_EQUAL(r->msgs[1].code, 250);
	CU_ASSERT(!r->msgs[1].env.bdat);
	run_free(r);
}

static void test_pipelined_messages(void)
{
	struct run *r = run_file("hand/bdat-pipelined-messages.txt");
	CU_ASSERT_EQUAL_FATAL(r->nmsgs, 3);
	static const char *const from[] = {"one@example.org", "two@example.org",
	                                   "three@example.org"};
	static const int code[] = {250, 554, 250};
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(r->msgs[i].txn, (uint32_t)i);
		CU_ASSERT_STRING_EQUAL(r->msgs[i].env.mail_from, from[i]);
		CU_ASSERT_EQUAL(r->msgs[i].code, code[i]);
		CU_ASSERT_EQUAL_FATAL(r->msgs[i].env.nrcpt, 1);
	}
	CU_ASSERT_EQUAL(r->msgs[1].rcpt[0].status, SL_RCPT_REFUSED);
	CU_ASSERT_EQUAL(r->msgs[2].rcpt[0].status, SL_RCPT_ACCEPTED);
	CU_ASSERT_EQUAL(r->msgs[2].raw.len, 0);
	run_free(r);
}

static void check_bad(const char *cmd, const char *why)
{
	char text[512];
	snprintf(text, sizeof text,
		"S 220 mx\\r\\n\nC MAIL FROM:<a@b>\\r\\nRCPT TO:<c@d>\\r\\n%s\\r\\nQUIT\\r\\n\n"
		"S 250 Ok\\r\\n250 Ok\\r\\n521 5.5.4 Syntax: BDAT count [LAST]\\r\\n221 Bye\\r\\n\n",
		cmd);
	struct run *r = run_text(text);
	/* no chunk: what follows is read as commands, as the server must */
	CU_ASSERT_STRING_EQUAL(r->trace.s,
		"220 MAIL RCPT BDAT !smtp.bad_bdat QUIT 250 250 521 221 ");
	CU_ASSERT_EQUAL(r->nmsgs, 0);
	const struct sig_rec *sg = run_find_signal(r, "smtp.bad_bdat");
	CU_ASSERT_PTR_NOT_NULL_FATAL(sg);
	CU_ASSERT_STRING_EQUAL(sg->detail, why);
	run_free(r);
}

static void test_bad_sizes(void)
{
	check_bad("BDAT", "BDAT without a size");
	check_bad("BDAT -1 LAST", "negative BDAT size");
	check_bad("BDAT 12abc", "BDAT size is not a number");
	check_bad("BDAT 15555555557777777777 LAST", "BDAT size overflows");
	check_bad("BDAT 184467440737095516150 LAST", "BDAT size overflows");
	check_bad("BDAT 9223372036854775808", "BDAT size overflows");
	check_bad("BDAT 10 FIRST", "BDAT with an unknown argument");
	check_bad("BDAT 10 LAST now", "BDAT with extra arguments");
}

static void test_huge_valid_size(void)
{
	/* the largest size is valid: bytes flow into the chunk until the close */
	struct run *r = run_text(
		"S 220 mx\\r\\n\nC MAIL FROM:<a@b>\\r\\nRCPT TO:<c@d>\\r\\nBDAT 9223372036854775807\\r\\n"
		"QUIT\\r\\n\n");
	CU_ASSERT_EQUAL_FATAL(r->nmsgs, 1);
	CU_ASSERT_EQUAL(r->msgs[0].raw.len, 6);
	CU_ASSERT_EQUAL(run_count_signal(r, "smtp.incomplete"), 1);
	CU_ASSERT_EQUAL(r->msgs[0].code, 0);
	run_free(r);
}

static void test_gap_inside_chunk(void)
{
	struct run *r = run_text(
		"S 220 mx\\r\\n\nC MAIL FROM:<a@b>\\r\\nRCPT TO:<c@d>\\r\\nBDAT 20 LAST\\r\\n0123\n"
		"G C 10\nC 456789QUIT\\r\\n\nS 250 Ok\\r\\n250 Ok\\r\\n250 Ok\\r\\n221 Bye\\r\\n\n");
	/* the hole is inside the chunk: the chunk still ends where its size says */
	CU_ASSERT_STRING_EQUAL(r->trace.s,
		"220 MAIL RCPT BDAT begin0 !smtp.gap end0 QUIT 250 250 250 result0=250 221 ");
	CU_ASSERT_EQUAL_FATAL(r->nmsgs, 1);
	CU_ASSERT_EQUAL(r->msgs[0].raw.len, 10);
	run_free(r);
}

static void test_gap_past_chunk(void)
{
	struct run *r = run_text(
		"S 220 mx\\r\\n\nC MAIL FROM:<a@b>\\r\\nRCPT TO:<c@d>\\r\\nBDAT 8 LAST\\r\\n0123\n"
		"G C 30\nC QUIT\\r\\n\nS 250 Ok\\r\\n250 Ok\\r\\n250 Ok\\r\\n221 Bye\\r\\n\n");
	/* the chunk ended inside the hole; after it, commands from the next byte on */
	CU_ASSERT_STRING_EQUAL(r->trace.s,
		"220 MAIL RCPT BDAT begin0 !smtp.gap end0 QUIT 250 250 250 result0=250 221 ");
	CU_ASSERT_EQUAL_FATAL(r->nmsgs, 1);
	CU_ASSERT_EQUAL(r->msgs[0].raw.len, 4);
	CU_ASSERT_EQUAL(r->msgs[0].end_off,
	                strlen("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nBDAT 8 LAST\r\n") + 8);
	run_free(r);
}

static void test_data_after_chunk(void)
{
	/* DATA after a chunk without LAST: the BDAT message is given up, DATA starts anew */
	struct run *r = run_text(
		"S 220 mx\\r\\n\nC MAIL FROM:<a@b>\\r\\nRCPT TO:<c@d>\\r\\nBDAT 3\\r\\nabcDATA\\r\\n\n"
		"S 250 Ok\\r\\n250 Ok\\r\\n250 Ok\\r\\n354 go\\r\\n\nC x\\r\\n.\\r\\n\nS 250 Ok\\r\\n\n");
	CU_ASSERT_STRING_EQUAL(r->trace.s,
		"220 MAIL RCPT BDAT begin0 !smtp.incomplete end0 result0=0 DATA 250 250 250 354 "
		"begin1 end1 250 result1=250 ");
	run_free(r);
}

void register_bdat_tests(void)
{
	static const struct test_def tests[] = {
		{"chunks and LAST", test_chunks},
		{"refused chunk", test_refused_chunk},
		{"RSET abandons a chunked message", test_rset_abandons},
		{"pipelined BDAT messages", test_pipelined_messages},
		{"bad sizes", test_bad_sizes},
		{"largest size", test_huge_valid_size},
		{"gap inside a chunk", test_gap_inside_chunk},
		{"gap past a chunk", test_gap_past_chunk},
		{"DATA after a chunk", test_data_after_chunk},
	};
	add_suite("bdat", tests, sizeof tests / sizeof tests[0]);
}
