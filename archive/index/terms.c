#include "terms.h"

#include <stdlib.h>
#include <string.h>

#include "text.h"

#define POSITION_GAP 8

bool ar_field_positional(uint8_t field)
{
	return field == AR_F_BODY || field == AR_F_SUBJECT || field == AR_F_FILENAME;
}

void ar_terms_init(struct ar_terms *t)
{
	memset(t, 0, sizeof *t);
	sl_strbuf_init(&t->pool);
	t->max_postings = 1u << 20;
}

void ar_terms_free(struct ar_terms *t)
{
	free(t->groups);
	free(t->table);
	free(t->pos);
	free(t->next);
	free(t->flat);
	sl_strbuf_free(&t->pool);
	memset(t, 0, sizeof *t);
}

void ar_terms_clear(struct ar_terms *t)
{
	t->n = 0;
	t->ngroups = 0;
	if (t->table)
		memset(t->table, 0, t->tcap * sizeof *t->table);
	sl_strbuf_clear(&t->pool);
	memset(t->next_pos, 0, sizeof t->next_pos);
	t->truncated = false;
	t->finished = false;
}

static uint32_t hash_term(uint8_t field, const char *s, size_t n)
{
	uint32_t h = 2166136261u ^ field; /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h;
}

/* A table slot holds the group's hash beside its index, so a probe that meets another
 * term is decided without reading that term's group (a cache miss in a large table). */
static uint64_t slot_entry(uint32_t hash, size_t group)
{
	return (uint64_t)hash << 32 | (uint32_t)(group + 1);
}

/* The home slot: the hash's multiplied high bits, as FNV's low bits cluster. */
static size_t home_slot(uint32_t h, size_t cap)
{
	return (size_t)(((uint64_t)(uint32_t)(h * 0x9E3779B1u) * cap) >> 32);
}

static void grow_table(struct ar_terms *t)
{
	size_t cap = t->tcap ? t->tcap * 2 : 1024;
	/* malloc and memset, not calloc: jemalloc zeroes a recycled block for calloc by
	 * unmapping its pages, a TLB shootdown on every CPU, once per document */
	uint64_t *tab = malloc(cap * sizeof *tab);
	if (!tab)
		abort();
	memset(tab, 0, cap * sizeof *tab);
	for (size_t g = 0; g < t->ngroups; g++) {
		size_t i = home_slot(t->groups[g].hash, cap);
		while (tab[i])
			i = (i + 1) & (cap - 1);
		tab[i] = slot_entry(t->groups[g].hash, g);
	}
	free(t->table);
	t->table = tab;
	t->tcap = cap;
}

/* The group of (field, term), created if new. */
static struct ar_term_slot *group_of(struct ar_terms *t, uint8_t field, const char *term,
	size_t len, uint32_t h)
{
	if (2 * (t->ngroups + 1) > t->tcap)
		grow_table(t);
	size_t i = home_slot(h, t->tcap);
	for (uint64_t e; (e = t->table[i]) != 0; i = (i + 1) & (t->tcap - 1)) {
		if ((uint32_t)(e >> 32) != h)
			continue;
		struct ar_term_slot *g = &t->groups[(uint32_t)e - 1];
		if (g->field == field && g->term_len == len &&
		    memcmp(t->pool.s + g->term_off, term, len) == 0)
			return g;
	}
	if (t->ngroups == t->gcap) {
		t->gcap = t->gcap ? t->gcap * 2 : 256;
		t->groups = realloc(t->groups, t->gcap * sizeof *t->groups);
		if (!t->groups)
			abort();
	}
	struct ar_term_slot *g = &t->groups[t->ngroups];
	t->table[i] = slot_entry(h, t->ngroups++);
	g->field = field;
	g->term_off = (uint32_t)t->pool.len;
	g->term_len = (uint32_t)len;
	g->hash = h;
	g->count = 0;
	g->first = g->last = UINT32_MAX;
	sl_strbuf_put(&t->pool, term, len);
	return g;
}

/* Append value p to the group of (field, term); false when the term is not indexable. */
static bool add_value(struct ar_terms *t, uint8_t field, const char *term, size_t len,
	uint32_t h, uint32_t p)
{
	if (len == 0 || len > 255 || memchr(term, '\0', len))
		return false;
	if (t->max_postings && t->n >= t->max_postings) {
		t->truncated = true;
		return false;
	}
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 1024;
		t->pos = realloc(t->pos, t->cap * sizeof *t->pos);
		t->next = realloc(t->next, t->cap * sizeof *t->next);
		if (!t->pos || !t->next)
			abort();
	}
	struct ar_term_slot *g = group_of(t, field, term, len, h);
	if (g->count && t->pos[g->last] == p)
		return true; /* the same term twice at one position */
	uint32_t k = (uint32_t)t->n++;
	t->pos[k] = p;
	t->next[k] = UINT32_MAX;
	if (g->count)
		t->next[g->last] = k;
	else
		g->first = k;
	g->last = k;
	g->count++;
	return true;
}

void ar_terms_add(struct ar_terms *t, uint8_t field, const char *term, size_t len)
{
	if (len == 0 || len > 255 || memchr(term, '\0', len))
		return;
	if (t->max_postings && t->n >= t->max_postings) {
		t->truncated = true;
		return;
	}
	add_value(t, field, term, len, hash_term(field, term, len), t->next_pos[field & 127]++);
}

void ar_terms_add_value(struct ar_terms *t, const struct ar_term_group *g, uint32_t value)
{
	add_value(t, g->field, g->term, g->term_len, g->hash, value);
}

struct text_ctx {
	struct ar_terms *t;
	uint8_t field;
};

static void on_token(void *ctx, const char *tok, size_t len)
{
	struct text_ctx *c = ctx;
	ar_terms_add(c->t, c->field, tok, len);
}

void ar_terms_add_text(struct ar_terms *t, uint8_t field, const char *s, size_t n)
{
	struct text_ctx c = { t, field };
	ar_tokenize(s, n, on_token, &c);
}

void ar_terms_add_folded(struct ar_terms *t, uint8_t field, const char *s, size_t n)
{
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	ar_fold(s, n, &b);
	if (b.len)
		ar_terms_add(t, field, b.s, b.len);
	sl_strbuf_free(&b);
}

void ar_terms_gap(struct ar_terms *t, uint8_t field)
{
	t->next_pos[field & 127] += POSITION_GAP;
}

void ar_terms_add_address(struct ar_terms *t, uint8_t field, const char *addr,
	const char *display)
{
	if (addr && *addr) {
		struct sl_strbuf a;
		sl_strbuf_init(&a);
		ar_fold(addr, strlen(addr), &a);
		ar_terms_add(t, field, a.s, a.len);
		const char *at = strrchr(a.s, '@');
		if (at) {
			ar_terms_add(t, field, a.s, (size_t)(at - a.s));
			/* the domain and each parent domain with at least two labels */
			const char *d = at + 1;
			while (*d && strchr(d, '.')) {
				ar_terms_add(t, field, d, strlen(d));
				d = strchr(d, '.') + 1;
			}
		}
		sl_strbuf_free(&a);
	}
	if (display && *display)
		ar_terms_add_text(t, field, display, strlen(display));
}

void ar_terms_finish(struct ar_terms *t)
{
	free(t->flat);
	t->flat = malloc((t->n ? t->n : 1) * sizeof *t->flat);
	if (!t->flat)
		abort();
	size_t k = 0;
	for (size_t g = 0; g < t->ngroups; g++) {
		struct ar_term_slot *s = &t->groups[g];
		uint32_t at = (uint32_t)k;
		for (uint32_t i = s->first; i != UINT32_MAX; i = t->next[i])
			t->flat[k++] = t->pos[i];
		s->first = at; /* now: offset in flat */
	}
	t->finished = true;
}

bool ar_terms_next(const struct ar_terms *t, size_t *cursor, struct ar_term_group *g)
{
	if (!t->finished || *cursor >= t->ngroups)
		return false;
	const struct ar_term_slot *s = &t->groups[(*cursor)++];
	g->field = s->field;
	g->term = t->pool.s + s->term_off;
	g->term_len = s->term_len;
	g->positions = t->flat + s->first;
	g->count = s->count;
	g->hash = s->hash;
	return true;
}
