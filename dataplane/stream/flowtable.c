#include "stream/flowtable.h"

#include <stdlib.h>
#include <string.h>

int dp_ft_init(struct dp_flowtable *t, unsigned max_flows)
{
	uint32_t n = 16;
	while (n < max_flows && n < (1u << 30))
		n <<= 1;
	memset(t, 0, sizeof *t);
	t->buckets = calloc(n, sizeof *t->buckets);
	if (!t->buckets)
		return -1;
	t->mask = n - 1;
	t->max = max_flows;
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
	l->count--;
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
	l->count++;
}

void dp_ft_insert(struct dp_flowtable *t, struct dp_flow *f, enum dp_flow_list list)
{
	struct dp_flow **b = &t->buckets[f->hash & t->mask];
	f->hnext = *b;
	*b = f;
	f->list = (uint8_t)list;
	lru_append(&t->list[list], f);
	t->count++;
}

void dp_ft_remove(struct dp_flowtable *t, struct dp_flow *f)
{
	struct dp_flow **pp = &t->buckets[f->hash & t->mask];
	while (*pp && *pp != f)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = f->hnext;
	lru_unlink(&t->list[f->list], f);
	t->count--;
}

void dp_ft_touch(struct dp_flowtable *t, struct dp_flow *f)
{
	struct dp_lru *l = &t->list[f->list];
	if (f->list == DP_LIST_CLOSED || l->newest == f)
		return;
	lru_unlink(l, f);
	lru_append(l, f);
}

void dp_ft_move(struct dp_flowtable *t, struct dp_flow *f, enum dp_flow_list list)
{
	if (f->list == list)
		return;
	lru_unlink(&t->list[f->list], f);
	f->list = (uint8_t)list;
	lru_append(&t->list[list], f);
}
