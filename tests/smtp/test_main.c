#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_run.h"
#include "tests.h"

void add_suite(const char *name, const struct test_def *tests, size_t n)
{
	CU_pSuite s = CU_add_suite(name, NULL, NULL);
	if (!s)
		abort();
	for (size_t i = 0; i < n; i++)
		if (!CU_add_test(s, tests[i].name, tests[i].fn))
			abort();
}

struct run *run_file(const char *path)
{
	struct transcript *t = transcript_load(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	struct run *r = run_transcript(t, CH_WHOLE, 0, NULL, true);
	transcript_free(t);
	CU_ASSERT_STRING_EQUAL(r->error, "");
	return r;
}

struct sl_strbuf client_stream(const struct transcript *t)
{
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	sl_strbuf_puts(&b, "");
	for (size_t i = 0; i < t->n; i++)
		if (t->rec[i].dir == SL_CLIENT && !t->rec[i].gap)
			sl_strbuf_put(&b, t->rec[i].data, t->rec[i].len);
	return b;
}

uint64_t client_offset_after(const char *path, const char *needle, size_t len)
{
	struct transcript *t = transcript_load(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	struct sl_strbuf b = client_stream(t);
	const char *hit = memmem(b.s, b.len, needle, len);
	CU_ASSERT_PTR_NOT_NULL(hit);
	uint64_t off = hit ? (uint64_t)(hit - b.s + len) : 0;
	sl_strbuf_free(&b);
	transcript_free(t);
	return off;
}

void assert_raw(const struct msg_rec *m, const char *want)
{
	CU_ASSERT_EQUAL(m->raw.len, strlen(want));
	CU_ASSERT(m->raw.len == strlen(want) && memcmp(m->raw.s, want, m->raw.len) == 0);
}

void assert_raw_file(const struct msg_rec *m, const char *relpath)
{
	size_t len;
	uint8_t *want = read_source_file(relpath, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(want);
	CU_ASSERT_EQUAL(m->raw.len, len);
	CU_ASSERT(m->raw.len == len && memcmp(m->raw.s, want, len) == 0);
	free(want);
}

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	register_session_tests();
	register_eod_tests();
	register_bdat_tests();
	register_zeek_tests();
	register_inline_tests();
	register_memory_tests();
	register_reset_tests();
	return cu_run_registered();
}
