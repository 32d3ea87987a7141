#include "pipeline/bufpool.h"

#include <string.h>

int dp_bufpool_init(struct dp_bufpool *b, unsigned max_bufs, uint64_t room,
                    const struct dp_objmem *mem)
{
	memset(b, 0, sizeof *b);
	b->room = room;
	for (unsigned i = 0; i < DP_BUF_CLASSES; i++) {
		size_t size = (size_t)DP_BUF_MIN << i;
		uint64_t fit = room / size;
		unsigned cap = fit < max_bufs ? (unsigned)fit : max_bufs;
		unsigned per_slab = size < DP_BUF_SLAB ? (unsigned)(DP_BUF_SLAB / size) : 1;
		if (dp_objpool_init(&b->cls[i], size, cap, per_slab, mem) != 0) {
			dp_bufpool_fini(b);
			return -1;
		}
		b->carved += (uint64_t)b->cls[i].made * b->cls[i].elt; /* the first slab */
	}
	return 0;
}

void dp_bufpool_fini(struct dp_bufpool *b)
{
	for (unsigned i = 0; i < DP_BUF_CLASSES; i++)
		dp_objpool_fini(&b->cls[i]);
}

unsigned dp_bufpool_in_use(const struct dp_bufpool *b)
{
	unsigned n = 0;
	for (unsigned i = 0; i < DP_BUF_CLASSES; i++)
		n += b->cls[i].in_use;
	return n;
}
