#include "extractrun.h"

#include <stdlib.h>

#include "../../engine/core/mem.h"
#include "../../engine/extract/extract.h"
#include "testacct.h"

size_t test_piece(unsigned *seed, size_t left, size_t max)
{
	if (!*seed)
		return left;
	*seed = *seed * 1103515245u + 12345u;
	size_t c = 1 + (*seed >> 16) % max;
	return c < left ? c : left;
}

void xr_run(const struct sl_limits *lim, const char *force, const char *filename,
            const uint8_t *p, size_t n, unsigned seed, sl_event_fn fn, void *ctx,
            struct xr_result *res)
{
	struct test_acct a = {0};
	struct sl_memacct acct = test_acct(&a);
	struct sl_mem mem;
	sl_mem_init(&mem, &acct);
	struct sl_extract *x = sl_extract_new(lim, &mem, fn, ctx);
	if (!x)
		abort();
	sl_extract_force(x, force);
	struct sl_part part = {.kind = SL_PART_LEAF, .filename = filename, .path = "2"};
	struct sl_event ev = {.type = SL_EV_PART_BEGIN, .part = &part};
	sl_extract_after(x, &ev);
	res->peak_stage = 0;
	for (size_t off = 0; off < n;) {
		size_t k = test_piece(&seed, n - off, 257);
		struct sl_event d = {.type = SL_EV_PART_DATA, .part = &part, .data = p + off, .len = k,
		                     .offset = off};
		sl_extract_after(x, &d);
		off += k;
		if (sl_extract_memory(x) > res->peak_stage)
			res->peak_stage = sl_extract_memory(x);
	}
	struct sl_event end = {.type = SL_EV_PART_END, .part = &part};
	sl_extract_before(x, &end);
	res->owner_failed = mem.failed;
	sl_extract_free(x);
	res->left = a.total;
}
