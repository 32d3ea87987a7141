/* Query parser under allocation failure: every allocation the parser makes fails once in
 * turn; each parse either builds the same tree as with memory to spare or fails with
 * "out of memory" — never a crash, a leak (ASan) or a different query.
 * Linked with -Wl,--wrap for calloc, malloc, realloc and strndup. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_run.h"
#include "query_text.h"

void *__real_calloc(size_t n, size_t size);
void *__real_malloc(size_t size);
void *__real_realloc(void *p, size_t size);
char *__real_strndup(const char *s, size_t n);

static bool counting;
static long allocations, fail_at = -1;

static bool fail_now(void)
{
	if (!counting)
		return false;
	return allocations++ == fail_at;
}

void *__wrap_calloc(size_t n, size_t size)
{
	return fail_now() ? NULL : __real_calloc(n, size);
}

void *__wrap_malloc(size_t size)
{
	return fail_now() ? NULL : __real_malloc(size);
}

void *__wrap_realloc(void *p, size_t size)
{
	return fail_now() ? NULL : __real_realloc(p, size);
}

char *__wrap_strndup(const char *s, size_t n)
{
	return fail_now() ? NULL : __real_strndup(s, n);
}

/* The tree, or the error message; allocations counted only inside the parser. */
static char *parse(const char *q, long fail)
{
	char err[512] = "";
	allocations = 0;
	fail_at = fail;
	counting = true;
	struct ar_qnode *n = ar_query_parse(q, err, sizeof err);
	counting = false;
	return query_text(n, err);
}

static void check_every_failure(const char *q)
{
	char *whole = parse(q, -1);
	long total = allocations;
	CU_ASSERT(total > 0);
	long failed = 0;
	for (long i = 0; i < total; i++) {
		char *got = parse(q, i);
		bool same = strcmp(got, whole) == 0;
		bool oom = strstr(got, "out of memory") != NULL;
		if (!same && !oom)
			fprintf(stderr, "\n  %s, allocation %ld failing:\n  got:  %s\n  want: %s\n",
				q, i, got, whole);
		CU_ASSERT(same || oom);
		failed += oom;
		free(got);
	}
	/* Most allocations are the tree's own: their failure must be seen. */
	CU_ASSERT(failed > 0);
	free(whole);
}

static void test_every_allocation_fails_once(void)
{
	check_every_failure("a OR -b");
	check_every_failure("from:\"Ann Lee\" (subject:invoice OR body:\"wire transfer\") -rule:spam");
	check_every_failure("-(a b) OR thread:<x@y> after:2024-01-01 has:attachment");
	check_every_failure("foo bar:baz"); /* an error path */
}

int main(void)
{
	static const struct cu_test tests[] = {
		{ "every allocation fails once", test_every_allocation_fails_once },
		{ NULL, NULL },
	};
	return cu_run_suite("archive_query_oom", NULL, NULL, tests);
}
