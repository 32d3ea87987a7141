/* A bounded pool of fixed-size objects owned by one worker: its flows, SMTP session
 * records and out-of-order segment holders. Memory comes in slabs from a backing
 * allocator (under EAL: rte_malloc_socket on the worker lcore's socket; offline and in
 * tests: malloc), the first slab at start, more as the worker's load first grows, all
 * kept until the worker ends: a worker at its usual load takes and gives back objects
 * and allocates nothing. Bounded by its capacity, set at start from the configuration;
 * empty at capacity (or when the backing has no more), the caller applies its overload
 * policy. Single-threaded. No DPDK. */
#ifndef SLUICE_DP_OBJPOOL_H
#define SLUICE_DP_OBJPOOL_H

#include <stddef.h>
#include <stdint.h>

/* Where slabs come from; alloc returns memory aligned to 64 bytes, or NULL. */
struct dp_objmem {
	void *(*alloc)(void *arg, size_t n);
	void (*free)(void *arg, void *p);
	void *arg;
};

/* The backing outside EAL (and the default): aligned_alloc/free. */
extern const struct dp_objmem dp_objmem_heap;

struct dp_objpool {
	size_t elt;             /* object size, a multiple of 64 */
	unsigned cap;           /* objects at most */
	unsigned made;          /* objects carved from slabs so far */
	unsigned per_slab;
	unsigned in_use;
	void *free_list;        /* free objects, linked through their first word */
	void *slabs;            /* linked through their first word */
	uint64_t slab_allocs;   /* backing allocations so far (the first at start) */
	struct dp_objmem mem;
};

/* A pool of at most cap objects of elt bytes, per_slab to a slab; the first slab is
 * allocated now. mem NULL: dp_objmem_heap. -1 when that slab cannot be had. */
int dp_objpool_init(struct dp_objpool *p, size_t elt, unsigned cap, unsigned per_slab,
                    const struct dp_objmem *mem);
void dp_objpool_fini(struct dp_objpool *p);

void *dp_objpool_grow(struct dp_objpool *p);

/* An object (contents undefined), or NULL when the pool is exhausted. */
static inline void *dp_objpool_get(struct dp_objpool *p)
{
	void *o = p->free_list;
	if (!o && !(o = dp_objpool_grow(p)))
		return NULL;
	p->free_list = *(void **)o;
	p->in_use++;
	return o;
}

static inline void dp_objpool_put(struct dp_objpool *p, void *o)
{
	*(void **)o = p->free_list;
	p->free_list = o;
	p->in_use--;
}

#endif
