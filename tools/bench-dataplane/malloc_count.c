/* Heap allocations made by the calling thread, for "allocations per flow": every
 * allocation entry point of the C library is taken here (the executable's definitions
 * come before libjemalloc's and libc's for every caller) and handed to jemalloc's
 * non-standard API, counting calls. jemalloc is the allocator either way (meson.build),
 * so the figures are for the same allocator the dataplane runs with. */
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <jemalloc/jemalloc.h>

#include "bench.h"

static __thread uint64_t allocs;

uint64_t bench_thread_allocs(void)
{
	return allocs;
}

/* Where the counted allocations come from, when SLUICE_ALLOC_SITES names a file: call
 * stacks (offsets in their module) with counts, written at exit to FILE.PID, for
 * tools/bench-dataplane/alloc-sites.py to name. A diagnostic: off, it costs one test. */
enum { SITE_DEPTH = 8, SITE_SLOTS = 4096 };
struct site {
	uint64_t count;
	void *pc[SITE_DEPTH];
};
static struct site *sites;
static __thread int sites_armed, in_site;

static void sites_dump(void)
{
	char path[4096]; /* one file per process: tools/bench dataplane runs several */
	snprintf(path, sizeof path, "%s.%ld", getenv("SLUICE_ALLOC_SITES"), (long)getpid());
	FILE *f = fopen(path, "w");
	if (!f)
		return;
	for (size_t i = 0; i < SITE_SLOTS; i++) {
		if (!sites[i].count)
			continue;
		fprintf(f, "%llu", (unsigned long long)sites[i].count);
		for (int d = 0; d < SITE_DEPTH && sites[i].pc[d]; d++) {
			Dl_info di;
			if (dladdr(sites[i].pc[d], &di) && di.dli_fname)
				fprintf(f, " %s+%#lx", di.dli_fname,
					(unsigned long)((char *)sites[i].pc[d] - (char *)di.dli_fbase));
			else
				fprintf(f, " ?+%p", sites[i].pc[d]);
		}
		fputc('\n', f);
	}
	fclose(f);
}

void bench_alloc_sites_arm(int on)
{
	if (on && !sites) {
		if (!getenv("SLUICE_ALLOC_SITES"))
			return;
		void *probe[2];
		in_site = 1;
		backtrace(probe, 2);  /* its first call loads the unwinder, which allocates */
		sites = calloc(SITE_SLOTS, sizeof *sites);
		in_site = 0;
		if (!sites || atexit(sites_dump))
			return;
	}
	sites_armed = on && sites;
}

__attribute__((noinline)) static void site_count(void)
{
	if (!sites_armed || in_site)
		return;
	in_site = 1;
	void *pc[SITE_DEPTH + 2] = {0};
	int n = backtrace(pc, SITE_DEPTH + 2);
	uint64_t h = 1469598103934665603ull;
	for (int d = 2; d < n; d++)
		h = (h ^ (uintptr_t)pc[d]) * 1099511628211ull;
	for (size_t i = h % SITE_SLOTS, tries = 0; tries < SITE_SLOTS; i = (i + 1) % SITE_SLOTS, tries++) {
		struct site *s = &sites[i];
		if (s->count && memcmp(s->pc, pc + 2, sizeof s->pc))
			continue;
		if (!s->count)
			memcpy(s->pc, pc + 2, sizeof s->pc);
		s->count++;
		break;
	}
	in_site = 0;
}

void *malloc(size_t n)
{
	allocs++;
	site_count();
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
	site_count();
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
	site_count();
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
	site_count();
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
