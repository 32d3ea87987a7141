/* Heap allocations made by the calling thread, for "allocations per flow": every
 * allocation entry point of the C library is taken here (the executable's definitions
 * come before libjemalloc's and libc's for every caller) and handed to jemalloc's
 * non-standard API, counting calls. jemalloc is the allocator either way (meson.build),
 * so the figures are for the same allocator the dataplane runs with. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jemalloc/jemalloc.h>

#include "bench.h"

static __thread uint64_t allocs;

uint64_t bench_thread_allocs(void)
{
	return allocs;
}

void *malloc(size_t n)
{
	allocs++;
	return mallocx(n ? n : 1, 0);
}

void *calloc(size_t k, size_t n)
{
	if (n && k > SIZE_MAX / n) {
		errno = ENOMEM;
		return NULL;
	}
	size_t bytes = k * n;
	allocs++;
	return mallocx(bytes ? bytes : 1, MALLOCX_ZERO);
}

void *realloc(void *p, size_t n)
{
	if (!p)
		return malloc(n);
	if (!n) {
		dallocx(p, 0);
		return NULL;
	}
	allocs++;
	return rallocx(p, n, 0);
}

void free(void *p)
{
	if (p)
		dallocx(p, 0);
}

static void *aligned(size_t a, size_t n)
{
	allocs++;
	return mallocx(n ? n : 1, MALLOCX_ALIGN(a));
}

int posix_memalign(void **out, size_t a, size_t n)
{
	if (a < sizeof(void *) || (a & (a - 1)))
		return EINVAL;
	void *p = aligned(a, n);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

void *aligned_alloc(size_t a, size_t n)
{
	return aligned(a, n);
}

void *memalign(size_t a, size_t n)
{
	return aligned(a, n);
}
