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
	t->oldest = t->newest = NULL;
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

static void lru_unlink(struct dp_flowtable *t, struct dp_flow *f)
{
	if (f->lprev)
		f->lprev->lnext = f->lnext;
	else
		t->oldest = f->lnext;
	if (f->lnext)
		f->lnext->lprev = f->lprev;
	else
		t->newest = f->lprev;
	f->lprev = f->lnext = NULL;
}

static void lru_append(struct dp_flowtable *t, struct dp_flow *f)
{
	f->lprev = t->newest;
	f->lnext = NULL;
	if (t->newest)
		t->newest->lnext = f;
	else
		t->oldest = f;
	t->newest = f;
}

void dp_ft_insert(struct dp_flowtable *t, struct dp_flow *f)
{
	struct dp_flow **b = &t->buckets[f->hash & t->mask];
	f->hnext = *b;
	*b = f;
	lru_append(t, f);
	t->count++;
}

void dp_ft_remove(struct dp_flowtable *t, struct dp_flow *f)
{
	struct dp_flow **pp = &t->buckets[f->hash & t->mask];
	while (*pp && *pp != f)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = f->hnext;
	lru_unlink(t, f);
	t->count--;
}

void dp_ft_touch(struct dp_flowtable *t, struct dp_flow *f)
{
	if (t->newest == f)
		return;
	lru_unlink(t, f);
	lru_append(t, f);
}
