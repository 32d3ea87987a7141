/* The per-worker object pools (dataplane/pipeline/objpool.h): bounded by their
 * capacity, memory in slabs from the backing, objects reused, a refusing backing
 * seen as an exhausted pool (never a crash). */
#include <stdint.h>
#include <stdlib.h>

#include "pipeline/objpool.h"
#include "cunit_run.h"

struct counting {
	unsigned allocs, frees, allow; /* allow: allocations it grants */
};

static void *counting_alloc(void *arg, size_t n)
{
	struct counting *c = arg;
	if (c->allocs == c->allow)
		return NULL;
	c->allocs++;
	return aligned_alloc(64, (n + 63) / 64 * 64);
}

static void counting_free(void *arg, void *p)
{
	struct counting *c = arg;
	c->frees++;
	free(p);
}

static void test_bounded_and_reused(void)
{
	struct counting c = {0, 0, 100};
	struct dp_objmem mem = {counting_alloc, counting_free, &c};
	struct dp_objpool p;
	CU_ASSERT_EQUAL_FATAL(dp_objpool_init(&p, 100, 5, 2, &mem), 0);
	CU_ASSERT_EQUAL(c.allocs, 1); /* the first slab at start */
	CU_ASSERT_EQUAL(p.elt, 128);
	void *o[6];
	for (int i = 0; i < 5; i++) {
		o[i] = dp_objpool_get(&p);
		CU_ASSERT_PTR_NOT_NULL_FATAL(o[i]);
		CU_ASSERT_EQUAL((uintptr_t)o[i] % 64, 0);
		for (int j = 0; j < i; j++)
			CU_ASSERT_PTR_NOT_EQUAL(o[i], o[j]);
	}
	CU_ASSERT_EQUAL(c.allocs, 3); /* slabs of 2, 2 and 1 */
	CU_ASSERT_PTR_NULL(dp_objpool_get(&p)); /* capacity reached */
	CU_ASSERT_EQUAL(p.in_use, 5);
	dp_objpool_put(&p, o[3]);
	o[5] = dp_objpool_get(&p);
	CU_ASSERT_PTR_EQUAL(o[5], o[3]); /* the last given back, still warm */
	CU_ASSERT_EQUAL(c.allocs, 3);
	for (int i = 0; i < 5; i++)
		dp_objpool_put(&p, o[i]);
	CU_ASSERT_EQUAL(p.in_use, 0);
	dp_objpool_fini(&p);
	CU_ASSERT_EQUAL(c.frees, 3);
}

static void test_backing_refuses(void)
{
	struct counting c = {0, 0, 0};
	struct dp_objmem mem = {counting_alloc, counting_free, &c};
	struct dp_objpool p;
	CU_ASSERT_EQUAL(dp_objpool_init(&p, 64, 4, 2, &mem), -1);
	dp_objpool_fini(&p);
	c.allow = 1;
	CU_ASSERT_EQUAL_FATAL(dp_objpool_init(&p, 64, 4, 2, &mem), 0);
	void *a = dp_objpool_get(&p), *b = dp_objpool_get(&p);
	CU_ASSERT_PTR_NOT_NULL(a);
	CU_ASSERT_PTR_NOT_NULL(b);
	CU_ASSERT_PTR_NULL(dp_objpool_get(&p)); /* below capacity, but no second slab */
	c.allow = 2;
	void *d = dp_objpool_get(&p); /* memory again: the pool grows after all */
	CU_ASSERT_PTR_NOT_NULL(d);
	dp_objpool_fini(&p);
	CU_ASSERT_EQUAL(c.frees, 2);
}

static void test_empty_capacity(void)
{
	struct dp_objpool p;
	CU_ASSERT_EQUAL_FATAL(dp_objpool_init(&p, 64, 0, 8, NULL), 0);
	CU_ASSERT_PTR_NULL(dp_objpool_get(&p));
	dp_objpool_fini(&p);
}

int main(void)
{
	static const struct cu_test tests[] = {
		{"bounded, slabs, reuse", test_bounded_and_reused},
		{"a refusing backing empties the pool", test_backing_refuses},
		{"capacity 0", test_empty_capacity},
		{NULL, NULL},
	};
	return cu_run_suite("dataplane objpool", NULL, NULL, tests);
}
