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
	free(t->v);
	sl_strbuf_free(&t->pool);
	memset(t, 0, sizeof *t);
}

void ar_terms_clear(struct ar_terms *t)
{
	t->n = 0;
	sl_strbuf_clear(&t->pool);
	memset(t->next_pos, 0, sizeof t->next_pos);
	t->truncated = false;
}

void ar_terms_add(struct ar_terms *t, uint8_t field, const char *term, size_t len)
{
	if (len == 0 || len > 255 || memchr(term, '\0', len))
		return;
	if (t->max_postings && t->n >= t->max_postings) {
		t->truncated = true;
		return;
	}
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 256;
		t->v = realloc(t->v, t->cap * sizeof *t->v);
		if (!t->v)
			abort();
	}
	struct ar_posting *p = &t->v[t->n++];
	p->field = field;
	p->term_off = (uint32_t)t->pool.len;
	p->term_len = (uint32_t)len;
	p->pos = t->next_pos[field & 127]++;
	sl_strbuf_put(&t->pool, term, len);
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

static int cmp_posting(const void *a, const void *b, void *ctx)
{
	const struct ar_terms *t = ctx;
	const struct ar_posting *x = a, *y = b;
	if (x->field != y->field)
		return x->field < y->field ? -1 : 1;
	size_t l = x->term_len < y->term_len ? x->term_len : y->term_len;
	int c = memcmp(t->pool.s + x->term_off, t->pool.s + y->term_off, l);
	if (c)
		return c;
	if (x->term_len != y->term_len)
		return x->term_len < y->term_len ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

void ar_terms_finish(struct ar_terms *t)
{
	if (t->n < 2)
		return;
	qsort_r(t->v, t->n, sizeof *t->v, cmp_posting, t);
}

bool ar_terms_next(const struct ar_terms *t, size_t *cursor, struct ar_term_group *g)
{
	size_t i = *cursor;
	if (i >= t->n)
		return false;
	const struct ar_posting *p = &t->v[i];
	size_t j = i + 1;
	while (j < t->n && t->v[j].field == p->field && t->v[j].term_len == p->term_len &&
	       memcmp(t->pool.s + t->v[j].term_off, t->pool.s + p->term_off, p->term_len) == 0)
		j++;
	g->field = p->field;
	g->term = t->pool.s + p->term_off;
	g->term_len = p->term_len;
	g->first = p;
	g->count = j - i;
	*cursor = j;
	return true;
}

void ar_varint_put(struct sl_strbuf *b, uint64_t v)
{
	uint8_t buf[10];
	size_t n = 0;
	while (v >= 0x80) {
		buf[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	buf[n++] = (uint8_t)v;
	sl_strbuf_put(b, buf, n);
}

size_t ar_varint_get(const uint8_t *p, size_t n, uint64_t *v)
{
	uint64_t r = 0;
	for (size_t i = 0; i < n && i < 10; i++) {
		r |= (uint64_t)(p[i] & 0x7F) << (7 * i);
		if (!(p[i] & 0x80)) {
			*v = r;
			return i + 1;
		}
	}
	return 0;
}
