#include "smtp/verdictcopy.h"

#include <stdlib.h>
#include <string.h>

static void copy_free(struct dp_verdict_copy *c)
{
	sl_strbuf_free(&c->json);
	sl_strbuf_free(&c->ids);
	free(c->rules);
	free(c);
}

/* The rule ids, NUL-separated in c->ids, and the pointers to them (made after the last
 * append: an append may move the buffer). */
static void copy_rules(struct dp_verdict_copy *c, const struct sl_verdict *v)
{
	if (v->nhits > c->rules_cap) {
		const char **r = realloc(c->rules, v->nhits * sizeof *r);
		if (!r)
			return; /* no rules named: the JSON still lists them */
		c->rules = r;
		c->rules_cap = v->nhits;
	}
	for (size_t i = 0; i < v->nhits; i++)
		sl_strbuf_put(&c->ids, v->hits[i].id, strlen(v->hits[i].id) + 1);
	if (sl_strbuf_failed(&c->ids))
		return;
	const char *id = c->ids.s;
	for (size_t i = 0; i < v->nhits; i++, id += strlen(id) + 1)
		c->rules[c->nrules++] = id;
}

struct dp_verdict_copy *dp_verdict_copy_take(struct dp_verdict_pool *pool, const struct sl_verdict *v)
{
	struct dp_verdict_copy *c = pool->free;
	if (c) {
		pool->free = c->next;
		pool->nfree--;
	} else if (!(c = calloc(1, sizeof *c))) {
		return NULL;
	}
	c->next = NULL;
	sl_verdict_json(v, &c->json);
	copy_rules(c, v);
	return c;
}

void dp_verdict_copy_give(struct dp_verdict_pool *pool, struct dp_verdict_copy *c)
{
	if (!c)
		return;
	if (pool->nfree >= DP_VERDICT_COPIES_KEPT ||
	    c->json.cap + c->ids.cap + c->rules_cap * sizeof *c->rules > DP_VERDICT_COPY_KEEP_BYTES) {
		copy_free(c);
		return;
	}
	/* a strbuf that failed stays failed: it starts afresh */
	if (sl_strbuf_failed(&c->json))
		sl_strbuf_free(&c->json);
	if (sl_strbuf_failed(&c->ids))
		sl_strbuf_free(&c->ids);
	sl_strbuf_clear(&c->json);
	sl_strbuf_clear(&c->ids);
	c->nrules = 0;
	c->next = pool->free;
	pool->free = c;
	pool->nfree++;
}

void dp_verdict_pool_free(struct dp_verdict_pool *pool)
{
	while (pool->free) {
		struct dp_verdict_copy *c = pool->free;
		pool->free = c->next;
		copy_free(c);
	}
	pool->nfree = 0;
}
