/* Byte buffers of one worker in size classes (powers of two from DP_BUF_MIN to
 * DP_BUF_MAX), each class a bounded object pool (objpool.h): the retained bytes of a
 * flow's direction (stream/tcpdir.h) move up a class as they grow and go back when
 * the flow ends, so a worker at its usual load allocates none. Single-threaded. No DPDK. */
#ifndef SLUICE_DP_BUFPOOL_H
#define SLUICE_DP_BUFPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/objpool.h"

#define DP_BUF_MIN 4096
#define DP_BUF_CLASSES 7
#define DP_BUF_MAX ((size_t)DP_BUF_MIN << (DP_BUF_CLASSES - 1)) /* 256 KiB */

struct dp_bufpool {
	struct dp_objpool cls[DP_BUF_CLASSES];
	uint64_t room;   /* bytes all classes together may carve: the worker's share */
	uint64_t carved; /* bytes carved so far (kept until the worker ends) */
};

/* Each class holds at most max_bufs buffers; all of them together carve no more than
 * room bytes (slabs are kept, so a run of one size cannot pin the share several times
 * over); each class's first slab (DP_BUF_SLAB bytes, one buffer for the largest) is
 * allocated now. mem NULL: dp_objmem_heap. -1 when a first slab cannot be had. */
#define DP_BUF_SLAB (64u * 1024)
int dp_bufpool_init(struct dp_bufpool *b, unsigned max_bufs, uint64_t room,
                    const struct dp_objmem *mem);
void dp_bufpool_fini(struct dp_bufpool *b);

/* The size of the class that holds n bytes, 0 when n is beyond DP_BUF_MAX. */
static inline size_t dp_bufpool_size(size_t n)
{
	size_t s = DP_BUF_MIN;
	while (s < n && s < DP_BUF_MAX)
		s <<= 1;
	return s >= n ? s : 0;
}

static inline unsigned dp_bufpool_class(size_t size)
{
	return (unsigned)__builtin_ctzll(size / DP_BUF_MIN);
}

/* A buffer of size bytes (a class size; contents undefined), or NULL when its class
 * is exhausted or would carve beyond room (the caller may take it from the heap). */
static inline void *dp_bufpool_get(struct dp_bufpool *b, size_t size)
{
	struct dp_objpool *p = &b->cls[dp_bufpool_class(size)];
	if (!p->free_list && b->carved + (uint64_t)p->per_slab * p->elt > b->room)
		return NULL;
	unsigned made = p->made;
	void *o = dp_objpool_get(p);
	b->carved += (uint64_t)(p->made - made) * p->elt;
	return o;
}

static inline void dp_bufpool_put(struct dp_bufpool *b, void *p, size_t size)
{
	dp_objpool_put(&b->cls[dp_bufpool_class(size)], p);
}

/* Buffers in use, over all classes. */
unsigned dp_bufpool_in_use(const struct dp_bufpool *b);

#endif
