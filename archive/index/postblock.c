/* Posting blocks (see postblock.h). */
#include "postblock.h"

#include <stdlib.h>
#include <string.h>

void ar_postblock_init(struct ar_postblock *b)
{
	memset(b, 0, sizeof *b);
	ar_terms_init(&b->terms);
	b->terms.max_postings = 0; /* the per-document cap was applied already */
	sl_strbuf_init(&b->positions);
	sl_strbuf_init(&b->key);
	sl_strbuf_init(&b->val);
}

void ar_postblock_free(struct ar_postblock *b)
{
	ar_terms_free(&b->terms);
	free(b->e);
	free(b->order);
	sl_strbuf_free(&b->positions);
	sl_strbuf_free(&b->key);
	sl_strbuf_free(&b->val);
	memset(b, 0, sizeof *b);
}

bool ar_postblock_empty(const struct ar_postblock *b)
{
	return b->n == 0;
}

void ar_postblock_add(struct ar_postblock *b, const struct ar_terms *t,
	const uint8_t dockey[8])
{
	size_t cursor = 0;
	struct ar_term_group g;
	while (ar_terms_next(t, &cursor, &g)) {
		if (b->n == b->cap) {
			b->cap = b->cap ? 2 * b->cap : 4096;
			b->e = realloc(b->e, b->cap * sizeof *b->e);
			if (!b->e)
				abort();
		}
		struct ar_post_entry *e = &b->e[b->n];
		memcpy(e->dockey, dockey, 8);
		e->pos_off = (uint32_t)b->positions.len;
		if (ar_field_positional(g.field)) {
			uint32_t prev = 0;
			for (size_t i = 0; i < g.count; i++) {
				ar_varint_put(&b->positions, g.positions[i] - prev);
				prev = g.positions[i];
			}
		}
		e->pos_len = (uint32_t)(b->positions.len - e->pos_off);
		ar_terms_add_value(&b->terms, &g, (uint32_t)b->n);
		b->n++;
	}
}

static int cmp_entry(const void *a, const void *b, void *base)
{
	const struct ar_post_entry *e = base;
	const struct ar_post_entry *x = &e[*(const uint32_t *)a];
	const struct ar_post_entry *y = &e[*(const uint32_t *)b];
	int c = memcmp(x->dockey, y->dockey, 8);
	if (c)
		return c;
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

static bool sorted(const struct ar_post_entry *e, const uint32_t *idx, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (memcmp(e[idx[i - 1]].dockey, e[idx[i]].dockey, 8) > 0)
			return false;
	return true;
}

size_t ar_postblock_write(struct ar_postblock *b, ar_postblock_put_fn put, void *ctx,
	uint64_t block_id, bool *failed)
{
	if (!b->n)
		return 0;
	ar_terms_finish(&b->terms);
	size_t keys = 0, cursor = 0;
	struct ar_term_group g;
	while (ar_terms_next(&b->terms, &cursor, &g)) {
		if (g.count > b->order_cap) {
			b->order_cap = g.count * 2;
			b->order = realloc(b->order, b->order_cap * sizeof *b->order);
			if (!b->order)
				abort();
		}
		memcpy(b->order, g.positions, g.count * sizeof *b->order);
		if (!sorted(b->e, b->order, g.count))
			qsort_r(b->order, g.count, sizeof *b->order, cmp_entry, b->e);
		sl_strbuf_clear(&b->val);
		const uint8_t *last = NULL;
		for (size_t i = 0; i < g.count; i++) {
			const struct ar_post_entry *e = &b->e[b->order[i]];
			if (last && memcmp(last, e->dockey, 8) == 0)
				continue; /* a document's copies add the same envelope terms: once */
			last = e->dockey;
			sl_strbuf_put(&b->val, e->dockey, 8);
			ar_varint_put(&b->val, e->pos_len);
			sl_strbuf_put(&b->val, b->positions.s + e->pos_off, e->pos_len);
		}
		if (put(ctx, g.field, g.term, g.term_len, block_id, b->val.s, b->val.len) < 0)
			*failed = true;
		keys++;
	}
	ar_terms_clear(&b->terms);
	b->n = 0;
	sl_strbuf_clear(&b->positions);
	return keys;
}

bool ar_postblock_next(const uint8_t **p, const uint8_t *end, const uint8_t **dockey,
	const uint8_t **pos, size_t *pos_len)
{
	const uint8_t *q = *p;
	if (end - q < 9) {
		*p = end;
		return false;
	}
	*dockey = q;
	q += 8;
	uint64_t n;
	size_t k = ar_varint_get(q, (size_t)(end - q), &n);
	if (!k || n > (uint64_t)(end - q - (ptrdiff_t)k)) {
		*p = end;
		return false;
	}
	q += k;
	*pos = q;
	*pos_len = (size_t)n;
	*p = q + n;
	return true;
}
