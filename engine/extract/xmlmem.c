/* expat's memory (extract_int.h): a parser and its tables come from the stage's arena,
 * which is rewound when the next parser is made, so that an XML document costs no
 * malloc once the stage has read one (a parser per document, and XML_ParserReset, free
 * and allocate each element and attribute name's table entry again). Blocks over
 * X_ARENA_BIG (the input buffer of a long token) are the heap's, freed as expat frees
 * them, so a document never holds more than it did with the heap alone by more than
 * the small blocks it outgrew. Chunks are charged to the stage like the rest
 * (extract_max_memory); when a document is done (the next one starts, or the next
 * message) the arena is cut back to its first chunk, so what one document grew does not
 * shrink the budget of the next; all are freed when the stage is recycled or freed. */
#include "extract_int.h"

#define X_ARENA_CHUNK (64 * 1024)
#define X_ARENA_BIG (36 * 1024) /* expat's 32 KiB input buffer for a 16 KiB inflate step */

struct xchunk {
	struct xchunk *next;
	size_t size; /* bytes after this header */
	_Alignas(16) uint8_t data[];
};

static uint8_t *arena_take(struct sl_extract *x, size_t need)
{
	while (x->arena_cur && x->arena_used + need > x->arena_cur->size) {
		x->arena_cur = x->arena_cur->next;
		x->arena_used = 0;
	}
	if (!x->arena_cur) {
		size_t size = need > X_ARENA_CHUNK ? need : X_ARENA_CHUNK;
		/* near the stage's budget, a chunk only as large as what is left of it: a block
		 * that fits in the budget is not refused for the chunk around it */
		size_t room = x->lim.extract_max_memory - (x->held < x->lim.extract_max_memory
		                                           ? x->held : x->lim.extract_max_memory);
		if (room >= sizeof(struct xchunk) + need && room - sizeof(struct xchunk) < size)
			size = room - sizeof(struct xchunk);
		struct xchunk *c = x_alloc(x, sizeof *c + size);
		if (!c)
			return NULL;
		c->size = size;
		c->next = NULL;
		struct xchunk **tail = &x->arena;
		while (*tail)
			tail = &(*tail)->next;
		*tail = c;
		x->arena_cur = c;
		x->arena_used = 0;
	}
	uint8_t *p = x->arena_cur->data + x->arena_used;
	x->arena_used += need;
	return p;
}

static size_t rounded(size_t n)
{
	return (n + 15) & ~(size_t)15;
}

static void *xml_alloc(size_t n)
{
	struct sl_extract *x = x_current();
	if (!x)
		return NULL;
	if (n > X_ARENA_BIG)
		return x_sized_alloc(n);
	uint8_t *p = arena_take(x, X_HDR + rounded(n));
	if (!p)
		return NULL;
	x_hdr_set(p, n, X_BLOCK_ARENA);
	x->arena_last = p;
	return p + X_HDR;
}

static void xml_free(void *q)
{
	if (q && x_hdr_kind((uint8_t *)q - X_HDR) == X_BLOCK_HEAP)
		x_sized_free(q);
	/* an arena block is given back when the arena is rewound */
}

static void *xml_realloc(void *q, size_t n)
{
	if (!q)
		return xml_alloc(n);
	struct sl_extract *x = x_current();
	uint8_t *p = (uint8_t *)q - X_HDR;
	size_t old = x_hdr_size(p);
	if (x && x->arena_cur && x_hdr_kind(p) == X_BLOCK_ARENA && p == x->arena_last &&
	    n <= X_ARENA_BIG) {
		/* the last block of the current chunk grows where it is when it fits */
		size_t at = (size_t)(p - x->arena_cur->data);
		if (at + X_HDR + rounded(n) <= x->arena_cur->size) {
			x->arena_used = at + X_HDR + rounded(n);
			x_hdr_set(p, n, X_BLOCK_ARENA);
			return q;
		}
	}
	void *r = xml_alloc(n);
	if (!r)
		return NULL;
	memcpy(r, q, old < n ? old : n);
	xml_free(q);
	return r;
}

const XML_Memory_Handling_Suite x_xml_mem = {xml_alloc, xml_realloc, xml_free};

void x_xml_arena_rewind(struct sl_extract *x)
{
	x->arena_cur = x->arena;
	x->arena_used = 0;
	x->arena_last = NULL;
}

void x_xml_arena_trim(struct sl_extract *x)
{
	if (!x->arena)
		return;
	for (struct xchunk *c = x->arena->next, *next; c; c = next) {
		next = c->next;
		x_free(x, c, sizeof *c + c->size);
	}
	x->arena->next = NULL;
	x_xml_arena_rewind(x);
}

void x_xml_arena_free(struct sl_extract *x)
{
	for (struct xchunk *c = x->arena, *next; c; c = next) {
		next = c->next;
		x_free(x, c, sizeof *c + c->size);
	}
	x->arena = x->arena_cur = NULL;
	x->arena_used = 0;
	x->arena_last = NULL;
	x->xml_live = NULL;
}
