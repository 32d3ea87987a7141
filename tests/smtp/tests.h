/* The SMTP suite's test groups, each registered by its file. */
#ifndef SLUICE_TEST_SMTP_TESTS_H
#define SLUICE_TEST_SMTP_TESTS_H

#include <CUnit/CUnit.h>

#include "harness.h"

void register_session_tests(void);
void register_eod_tests(void);
void register_bdat_tests(void);
void register_zeek_tests(void);
void register_inline_tests(void);
void register_memory_tests(void);
void register_reset_tests(void);

/* Adds a suite with these tests; aborts on a CUnit error. */
struct test_def {
	const char *name;
	CU_TestFunc fn;
};
void add_suite(const char *name, const struct test_def *tests, size_t n);

/* A session with what a realistic one holds (test_memory.c): pipelined envelope, a
 * nested multipart message with RFC 2047/2231 words, iconv charsets, base64 and QP,
 * a second transaction. */
struct transcript *realistic_transcript(void);

/* Loads tests/data/smtp/<path>, runs it whole and closes; asserts it loaded and that
 * no harness invariant broke. */
struct run *run_file(const char *path);
/* The client stream of a transcript, concatenated (gaps left out). */
struct sl_strbuf client_stream(const struct transcript *t);
/* Client offset just past the first occurrence of needle in the client stream. */
uint64_t client_offset_after(const char *path, const char *needle, size_t len);

/* The message's RAW bytes equal want (a string) / the file at relpath (source root). */
void assert_raw(const struct msg_rec *m, const char *want);
void assert_raw_file(const struct msg_rec *m, const char *relpath);

#endif
