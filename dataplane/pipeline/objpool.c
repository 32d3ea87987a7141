#include "pipeline/objpool.h"

#include <stdlib.h>
#include <string.h>

#define LINE 64

static void *heap_alloc(void *arg, size_t n)
{
	(void)arg;
	return aligned_alloc(LINE, (n + LINE - 1) / LINE * LINE);
}

static void heap_free(void *arg, void *p)
{
	(void)arg;
	free(p);
}

const struct dp_objmem dp_objmem_heap = {heap_alloc, heap_free, NULL};

int dp_objpool_init(struct dp_objpool *p, size_t elt, unsigned cap, unsigned per_slab,
                    const struct dp_objmem *mem)
{
	memset(p, 0, sizeof *p);
	if (elt < sizeof(void *))
		elt = sizeof(void *);
	p->elt = (elt + LINE - 1) / LINE * LINE;
	p->cap = cap;
	p->per_slab = per_slab ? per_slab : 1;
	p->mem = mem ? *mem : dp_objmem_heap;
	if (cap && !dp_objpool_grow(p))
		return -1;
	return 0;
}

/* One more slab (its first line links the slabs) onto the free list; returns the free
 * list's head, NULL at capacity or without memory. */
void *dp_objpool_grow(struct dp_objpool *p)
{
	unsigned n = p->cap - p->made;
	if (n > p->per_slab)
		n = p->per_slab;
	if (!n)
		return NULL;
	uint8_t *slab = p->mem.alloc(p->mem.arg, LINE + (size_t)n * p->elt);
	if (!slab)
		return NULL;
	p->slab_allocs++;
	*(void **)slab = p->slabs;
	p->slabs = slab;
	/* linked in address order: the first taken are the first in the slab */
	for (unsigned i = n; i-- > 0;) {
		void *o = slab + LINE + (size_t)i * p->elt;
		*(void **)o = p->free_list;
		p->free_list = o;
	}
	p->made += n;
	return p->free_list;
}

void dp_objpool_fini(struct dp_objpool *p)
{
	while (p->slabs) {
		void *next = *(void **)p->slabs;
		p->mem.free(p->mem.arg, p->slabs);
		p->slabs = next;
	}
	p->free_list = NULL;
	p->made = p->in_use = 0;
}
