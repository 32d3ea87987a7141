#include "flowtable.h"

#include <stdlib.h>

int dp_ft_init(struct dp_flowtable *t, unsigned max_flows)
{
	uint32_t n = 16;
	while (n < max_flows && n < (1u << 30))
		n <<= 1;
	t->buckets = calloc(n, sizeof *t->buckets);
	if (!t->buckets)
		return -1;
	t->mask = n - 1;
	t->count = 0;
	t->max = max_flows;
	t->live.oldest = t->live.newest = NULL;
	t->closed.oldest = t->closed.newest = NULL;
	return 0;
}

void dp_ft_free(struct dp_flowtable *t)
{
	free(t->buckets);
	t->buckets = NULL;
}

struct dp_flow *dp_ft_lookup(struct dp_flowtable *t, const struct dp_flow_key *k, uint32_t hash)
{
	for (struct dp_flow *f = t->buckets[hash & t->mask]; f; f = f->hnext)
		if (f->hash == hash && dp_flow_key_eq(&f->key, k))
			return f;
	return NULL;
}

static void lru_unlink(struct dp_lru *l, struct dp_flow *f)
{
	if (f->lprev)
		f->lprev->lnext = f->lnext;
	else
		l->oldest = f->lnext;
	if (f->lnext)
		f->lnext->lprev = f->lprev;
	else
		l->newest = f->lprev;
	f->lprev = f->lnext = NULL;
}

static void lru_append(struct dp_lru *l, struct dp_flow *f)
{
	f->lprev = l->newest;
	f->lnext = NULL;
	if (l->newest)
		l->newest->lnext = f;
	else
		l->oldest = f;
	l->newest = f;
}

void dp_ft_insert(struct dp_flowtable *t, struct dp_flow *f)
{
	struct dp_flow **b = &t->buckets[f->hash & t->mask];
	f->hnext = *b;
	*b = f;
	f->closed_listed = false;
	lru_append(&t->live, f);
	t->count++;
}

void dp_ft_remove(struct dp_flowtable *t, struct dp_flow *f)
{
	struct dp_flow **pp = &t->buckets[f->hash & t->mask];
	while (*pp && *pp != f)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = f->hnext;
	lru_unlink(f->closed_listed ? &t->closed : &t->live, f);
	t->count--;
}

void dp_ft_touch(struct dp_flowtable *t, struct dp_flow *f)
{
	if (f->closed_listed || t->live.newest == f)
		return;
	lru_unlink(&t->live, f);
	lru_append(&t->live, f);
}

void dp_ft_closed(struct dp_flowtable *t, struct dp_flow *f)
{
	if (f->closed_listed)
		return;
	lru_unlink(&t->live, f);
	lru_append(&t->closed, f);
	f->closed_listed = true;
}
