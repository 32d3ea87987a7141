/* The search executor: every query node is a cursor over document keys in key order
 * (newest first). AND leapfrogs with seeks, OR merges, NOT probes, phrases check
 * positions at each candidate. A term reads its posting blocks (postblock.h) once and
 * merges them; results stream from there: a query with --limit N stops at its N-th
 * hit. */
#include "search.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "postblock.h"
#include "seal.h"
#include "terms.h"

struct cursor {
	/* Position at the first document key >= target; false when exhausted. */
	bool (*seek)(struct cursor *c, const uint8_t *target);
	void (*destroy)(struct cursor *c);
	bool valid;
	uint8_t key[AR_DOCKEY_LEN];
};

static int keycmp(const uint8_t *a, const uint8_t *b)
{
	return memcmp(a, b, AR_DOCKEY_LEN);
}

static void key_after(uint8_t *k)
{
	for (int i = AR_DOCKEY_LEN - 1; i >= 0; i--)
		if (++k[i] != 0)
			return;
	memset(k, 0xFF, AR_DOCKEY_LEN); /* overflow: past the end */
}

/* ---- postings of one (field, term): its posting blocks, merged ---- */

struct block_pos {
	const uint8_t *next, *end;  /* the entries after the current one */
	const uint8_t *key;         /* the current entry's doc key */
	const uint8_t *pos;         /* and its positions */
	size_t pos_len;
};

struct term_cursor {
	struct cursor c;
	rocksdb_iterator_t *it;
	struct ar_store *s;
	char *prefix;               /* field, term MAC (seal.h) */
	size_t plen;
	bool loaded;
	struct sl_strbuf plain;     /* a block's value, opened */
	char **vals;                /* the blocks' values, copied */
	struct block_pos *blocks;
	size_t nblocks;
	size_t *heap;               /* block indexes, a min-heap on the current key */
	size_t nheap;
	const uint8_t *val;         /* positions of the current document */
	size_t vlen;
};

static bool block_advance(struct block_pos *b)
{
	return ar_postblock_next(&b->next, b->end, &b->key, &b->pos, &b->pos_len);
}

static bool heap_less(struct term_cursor *t, size_t i, size_t j)
{
	return keycmp(t->blocks[t->heap[i]].key, t->blocks[t->heap[j]].key) < 0;
}

static void heap_down(struct term_cursor *t, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < t->nheap && heap_less(t, l, m))
			m = l;
		if (l + 1 < t->nheap && heap_less(t, l + 1, m))
			m = l + 1;
		if (m == i)
			return;
		size_t tmp = t->heap[i];
		t->heap[i] = t->heap[m];
		t->heap[m] = tmp;
		i = m;
	}
}

/* Read every block of the term (a term has one per ingest batch that used it). */
static void term_load(struct term_cursor *t)
{
	t->loaded = true;
	size_t cap = 0;
	for (rocksdb_iter_seek(t->it, t->prefix, t->plen); rocksdb_iter_valid(t->it);
	     rocksdb_iter_next(t->it)) {
		size_t klen, vlen;
		const char *key = rocksdb_iter_key(t->it, &klen);
		if (klen != t->plen + AR_POSTBLOCK_ID_LEN || memcmp(key, t->prefix, t->plen) != 0)
			break;
		const char *v = rocksdb_iter_value(t->it, &vlen);
		char err[200];
		sl_strbuf_clear(&t->plain);
		if (ar_unseal(t->s, AR_CF_POSTINGS, key, klen, v, vlen, &t->plain, err, sizeof err) < 0 ||
		    sl_strbuf_failed(&t->plain)) {
			/* a damaged block: its documents are not found (verify and reindex see it) */
			fprintf(stderr, "sluice-archive: a posting block: %s\n", err);
			continue;
		}
		vlen = t->plain.len;
		if (t->nblocks == cap) {
			cap = cap ? 2 * cap : 16;
			t->vals = realloc(t->vals, cap * sizeof *t->vals);
			t->blocks = realloc(t->blocks, cap * sizeof *t->blocks);
		}
		char *copy = malloc(vlen ? vlen : 1);
		memcpy(copy, t->plain.s, vlen);
		t->vals[t->nblocks] = copy;
		struct block_pos *b = &t->blocks[t->nblocks++];
		b->next = (const uint8_t *)copy;
		b->end = b->next + vlen;
	}
	t->heap = malloc((t->nblocks ? t->nblocks : 1) * sizeof *t->heap);
	for (size_t i = 0; i < t->nblocks; i++)
		if (block_advance(&t->blocks[i]))
			t->heap[t->nheap++] = i;
	for (size_t i = t->nheap / 2; i-- > 0;)
		heap_down(t, i);
}

static bool term_seek(struct cursor *c, const uint8_t *target)
{
	struct term_cursor *t = (struct term_cursor *)c;
	if (!c->valid)
		return false;
	if (!t->loaded)
		term_load(t);
	while (t->nheap) {
		struct block_pos *top = &t->blocks[t->heap[0]];
		if (keycmp(top->key, target) >= 0)
			break;
		bool more;
		while ((more = block_advance(top)) && keycmp(top->key, target) < 0)
			;
		if (!more)
			t->heap[0] = t->heap[--t->nheap];
		heap_down(t, 0);
	}
	if (!t->nheap) {
		c->valid = false;
		return false;
	}
	const struct block_pos *top = &t->blocks[t->heap[0]];
	memcpy(c->key, top->key, AR_DOCKEY_LEN);
	t->val = top->pos;
	t->vlen = top->pos_len;
	return true;
}

static void term_destroy(struct cursor *c)
{
	struct term_cursor *t = (struct term_cursor *)c;
	rocksdb_iter_destroy(t->it);
	for (size_t i = 0; i < t->nblocks; i++)
		free(t->vals[i]);
	free(t->vals);
	free(t->blocks);
	free(t->heap);
	free(t->prefix);
	sl_strbuf_free(&t->plain);
	free(t);
}

static struct term_cursor *term_cursor(struct ar_store *s, uint8_t field, const char *term)
{
	size_t tl = strlen(term);
	if (tl > 255)
		tl = 255;
	struct term_cursor *t = calloc(1, sizeof *t);
	t->c.seek = term_seek;
	t->c.destroy = term_destroy;
	t->c.valid = true;
	t->prefix = malloc(1 + AR_TERM_MAC_LEN);
	ar_term_key(s, field, term, tl, (uint8_t *)t->prefix);
	t->plen = 1 + AR_TERM_MAC_LEN;
	t->s = s;
	sl_strbuf_init(&t->plain);
	t->it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf[AR_CF_POSTINGS]);
	return t;
}

/* ---- every document (bydate), optionally within a date range ---- */

struct date_cursor {
	struct cursor c;
	rocksdb_iterator_t *it;
	uint8_t first[AR_DOCKEY_LEN]; /* newest key in range */
	uint32_t last_prefix;         /* ~lo: keys with a larger date prefix are older */
	bool at_end_key;
};

static bool date_seek(struct cursor *c, const uint8_t *target)
{
	struct date_cursor *d = (struct date_cursor *)c;
	if (!c->valid)
		return false;
	if (!d->at_end_key && keycmp(c->key, target) >= 0)
		return true;
	const uint8_t *from = keycmp(target, d->first) < 0 ? d->first : target;
	rocksdb_iter_seek(d->it, (const char *)from, AR_DOCKEY_LEN);
	d->at_end_key = false;
	if (!rocksdb_iter_valid(d->it)) {
		c->valid = false;
		return false;
	}
	size_t klen;
	const char *key = rocksdb_iter_key(d->it, &klen);
	if (klen != AR_DOCKEY_LEN || ar_get_be32((const uint8_t *)key) > d->last_prefix) {
		c->valid = false;
		return false;
	}
	memcpy(c->key, key, AR_DOCKEY_LEN);
	return true;
}

static void date_destroy(struct cursor *c)
{
	rocksdb_iter_destroy(((struct date_cursor *)c)->it);
	free(c);
}

static struct cursor *date_cursor(struct ar_store *s, int64_t lo, int64_t hi)
{
	struct date_cursor *d = calloc(1, sizeof *d);
	d->c.seek = date_seek;
	d->c.destroy = date_destroy;
	d->c.valid = true;
	d->at_end_key = true;
	/* date < hi: the newest allowed date is hi - 1 */
	int64_t newest = hi == INT64_MAX ? UINT32_MAX : hi - 1;
	if (newest < 0) {
		d->c.valid = false; /* nothing before 1970 */
		newest = 0;
	}
	ar_dockey(d->first, newest, 0);
	uint8_t lk[AR_DOCKEY_LEN];
	ar_dockey(lk, lo == INT64_MIN ? 0 : lo, 0);
	d->last_prefix = ar_get_be32(lk);
	if (lo > (int64_t)UINT32_MAX)
		d->c.valid = false;
	d->it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf[AR_CF_BYDATE]);
	return &d->c;
}

/* ---- AND (with NOT children), OR ---- */

struct multi_cursor {
	struct cursor c;
	struct cursor **pos;
	size_t npos;
	struct cursor **neg;
	size_t nneg;
	/* phrase: the term cursors are pos[]; positions are checked at each match */
	bool phrase;
};

static void multi_destroy(struct cursor *c)
{
	struct multi_cursor *m = (struct multi_cursor *)c;
	for (size_t i = 0; i < m->npos; i++)
		m->pos[i]->destroy(m->pos[i]);
	for (size_t i = 0; i < m->nneg; i++)
		m->neg[i]->destroy(m->neg[i]);
	free(m->pos);
	free(m->neg);
	free(m);
}

static bool excluded(struct multi_cursor *m, const uint8_t *key)
{
	for (size_t i = 0; i < m->nneg; i++) {
		struct cursor *n = m->neg[i];
		if (n->valid && n->seek(n, key) && keycmp(n->key, key) == 0)
			return true;
	}
	return false;
}

/* Positions of a term cursor's current document. */
static size_t positions(struct term_cursor *t, uint32_t *out, size_t max)
{
	size_t n = 0, off = 0;
	uint32_t pos = 0;
	while (off < t->vlen && n < max) {
		uint64_t d;
		size_t k = ar_varint_get(t->val + off, t->vlen - off, &d);
		if (!k)
			break;
		off += k;
		pos += (uint32_t)d;
		out[n++] = pos;
	}
	return n;
}

#define MAX_POSITIONS 4096

static bool phrase_matches(struct multi_cursor *m)
{
	static __thread uint32_t first[MAX_POSITIONS], other[MAX_POSITIONS];
	size_t nf = positions((struct term_cursor *)m->pos[0], first, MAX_POSITIONS);
	bool alive[MAX_POSITIONS];
	for (size_t i = 0; i < nf; i++)
		alive[i] = true;
	for (size_t t = 1; t < m->npos; t++) {
		size_t no = positions((struct term_cursor *)m->pos[t], other, MAX_POSITIONS);
		bool any = false;
		size_t j = 0;
		for (size_t i = 0; i < nf; i++) {
			if (!alive[i])
				continue;
			uint32_t want = first[i] + (uint32_t)t;
			while (j < no && other[j] < want)
				j++;
			alive[i] = j < no && other[j] == want;
			any |= alive[i];
		}
		if (!any)
			return false;
	}
	for (size_t i = 0; i < nf; i++)
		if (alive[i])
			return true;
	return false;
}

static bool and_seek(struct cursor *c, const uint8_t *target)
{
	struct multi_cursor *m = (struct multi_cursor *)c;
	if (!c->valid)
		return false;
	uint8_t t[AR_DOCKEY_LEN];
	memcpy(t, target, AR_DOCKEY_LEN);
	for (;;) {
		bool agreed = true;
		for (size_t i = 0; i < m->npos; i++) {
			struct cursor *k = m->pos[i];
			if (!k->seek(k, t)) {
				c->valid = false;
				return false;
			}
			if (keycmp(k->key, t) > 0) {
				memcpy(t, k->key, AR_DOCKEY_LEN);
				agreed = false;
			}
		}
		if (!agreed)
			continue;
		if (!excluded(m, t) && (!m->phrase || phrase_matches(m))) {
			memcpy(c->key, t, AR_DOCKEY_LEN);
			return true;
		}
		key_after(t);
	}
}

static bool or_seek(struct cursor *c, const uint8_t *target)
{
	struct multi_cursor *m = (struct multi_cursor *)c;
	if (!c->valid)
		return false;
	bool any = false;
	uint8_t best[AR_DOCKEY_LEN];
	for (size_t i = 0; i < m->npos; i++) {
		struct cursor *k = m->pos[i];
		if (!k->valid || !k->seek(k, target))
			continue;
		if (!any || keycmp(k->key, best) < 0)
			memcpy(best, k->key, AR_DOCKEY_LEN);
		any = true;
	}
	if (!any) {
		c->valid = false;
		return false;
	}
	memcpy(c->key, best, AR_DOCKEY_LEN);
	return true;
}

static struct multi_cursor *multi(bool (*seek)(struct cursor *, const uint8_t *))
{
	struct multi_cursor *m = calloc(1, sizeof *m);
	m->c.seek = seek;
	m->c.destroy = multi_destroy;
	m->c.valid = true;
	return m;
}

static void push(struct cursor ***v, size_t *n, struct cursor *c)
{
	*v = realloc(*v, (*n + 1) * sizeof **v);
	(*v)[(*n)++] = c;
}

static struct cursor *build(struct ar_store *s, const struct ar_qnode *q)
{
	switch (q->type) {
	case AR_Q_TERM: {
		if (q->nfields == 1)
			return &term_cursor(s, q->fields[0], q->terms[0])->c;
		struct multi_cursor *m = multi(or_seek);
		for (size_t i = 0; i < q->nfields; i++)
			push(&m->pos, &m->npos, &term_cursor(s, q->fields[i], q->terms[0])->c);
		return &m->c;
	}
	case AR_Q_PHRASE: {
		struct multi_cursor *or = multi(or_seek);
		for (size_t f = 0; f < q->nfields; f++) {
			struct multi_cursor *m = multi(and_seek);
			m->phrase = true;
			for (size_t i = 0; i < q->nterms; i++)
				push(&m->pos, &m->npos, &term_cursor(s, q->fields[f], q->terms[i])->c);
			push(&or->pos, &or->npos, &m->c);
		}
		if (or->npos == 1) {
			struct cursor *only = or->pos[0];
			or->npos = 0;
			multi_destroy(&or->c);
			return only;
		}
		return &or->c;
	}
	case AR_Q_AND: {
		struct multi_cursor *m = multi(and_seek);
		for (size_t i = 0; i < q->nkids; i++) {
			const struct ar_qnode *k = q->kids[i];
			if (k->type == AR_Q_NOT)
				push(&m->neg, &m->nneg, build(s, k->kids[0]));
			else
				push(&m->pos, &m->npos, build(s, k));
		}
		return &m->c;
	}
	case AR_Q_OR: {
		struct multi_cursor *m = multi(or_seek);
		for (size_t i = 0; i < q->nkids; i++)
			push(&m->pos, &m->npos, build(s, q->kids[i]));
		return &m->c;
	}
	case AR_Q_DATE:
		return date_cursor(s, q->lo, q->hi);
	case AR_Q_ALL:
		return date_cursor(s, INT64_MIN, INT64_MAX);
	case AR_Q_NOT:
		break; /* the parser puts NOT only under AND */
	}
	return date_cursor(s, 1, 0); /* empty */
}

size_t ar_search(struct ar_store *s, const struct ar_qnode *q, size_t limit,
	ar_hit_fn fn, void *ctx)
{
	struct cursor *c = build(s, q);
	uint8_t t[AR_DOCKEY_LEN] = { 0 };
	size_t hits = 0;
	while ((limit == 0 || hits < limit) && c->seek(c, t)) {
		hits++;
		if (fn && !fn(ctx, c->key))
			break;
		memcpy(t, c->key, AR_DOCKEY_LEN);
		key_after(t);
		if (memcmp(t, "\xff\xff\xff\xff\xff\xff\xff\xff", AR_DOCKEY_LEN) == 0)
			break;
	}
	c->destroy(c);
	return hits;
}

int ar_summary_load(struct ar_store *s, uint32_t docid, struct ar_summary *out)
{
	uint8_t id[4];
	ar_put_be32(id, docid);
	size_t len;
	char *err = NULL;
	char *v = ar_store_get(s, AR_CF_DOCS, id, 4, &len, &err);
	free(err);
	if (!v)
		return -1;
	int r = ar_summary_decode((const uint8_t *)v, len, out);
	free(v);
	return r;
}
