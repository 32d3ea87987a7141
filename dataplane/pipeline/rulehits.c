#include "pipeline/rulehits.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/rules.h"

struct dp_rulehits {
	pthread_mutex_t lock;
	struct dp_ruleset *live;        /* entered, not freed yet (book_next/book_prev) */
	struct dp_rule_totals folded;   /* every id entered so far: what freed rulesets counted */
};

struct dp_rulehits *dp_rulehits_new(void)
{
	struct dp_rulehits *b = calloc(1, sizeof *b);
	if (b && pthread_mutex_init(&b->lock, NULL) != 0) {
		free(b);
		return NULL;
	}
	return b;
}

void dp_rule_totals_free(struct dp_rule_totals *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].id);
	free(t->v);
	memset(t, 0, sizeof *t);
}

void dp_rulehits_free(struct dp_rulehits *b)
{
	if (!b)
		return;
	for (struct dp_ruleset *rs = b->live; rs; rs = rs->book_next)
		rs->book = NULL;
	dp_rule_totals_free(&b->folded);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

static int cmp_total(const void *x, const void *y)
{
	return strcmp(((const struct dp_rule_total *)x)->id, ((const struct dp_rule_total *)y)->id);
}

static int cmp_hits(const void *x, const void *y)
{
	const struct dp_rule_total *a = x, *b = y;
	if (a->hits != b->hits)
		return a->hits < b->hits ? 1 : -1;
	return strcmp(a->id, b->id);
}

void dp_rule_totals_top(struct dp_rule_totals *t, size_t max)
{
	if (t->n <= max)
		return;
	qsort(t->v, t->n, sizeof *t->v, cmp_hits);
	while (t->n > max) {
		t->n--;
		t->other += t->v[t->n].hits;
		free(t->v[t->n].id);
	}
	qsort(t->v, t->n, sizeof *t->v, cmp_total);
}

/* The index of id among the first n (sorted) totals, or -1. */
static ptrdiff_t find(const struct dp_rule_totals *t, size_t n, const char *id)
{
	struct dp_rule_total key = {(char *)id, 0};
	const struct dp_rule_total *e = n ? bsearch(&key, t->v, n, sizeof *t->v, cmp_total) : NULL;
	return e ? e - t->v : -1;
}

/* Adds rs's ids that t lacks (no hits yet), keeping t sorted. False without memory
 * (t as it was). */
static bool reserve_ids(struct dp_rule_totals *t, const struct dp_ruleset *rs)
{
	size_t old = t->n;
	if (t->cap - t->n < rs->nrules) {
		size_t cap = t->n + rs->nrules;
		struct dp_rule_total *v = realloc(t->v, cap * sizeof *v);
		if (!v)
			return false;
		t->v = v;
		t->cap = cap;
	}
	for (uint32_t i = 0; i < rs->nrules; i++) {
		const char *id = sl_policy_rule_id(rs->policy, i);
		if (find(t, old, id) >= 0)
			continue;
		char *copy = strdup(id);
		if (!copy) {
			while (t->n > old)
				free(t->v[--t->n].id);
			return false;
		}
		t->v[t->n++] = (struct dp_rule_total){copy, 0};
	}
	if (t->n == old)
		return true;
	qsort(t->v, t->n, sizeof *t->v, cmp_total);
	/* an id twice in one policy: once here */
	size_t w = 0;
	for (size_t r = 0; r < t->n; r++) {
		if (w && strcmp(t->v[w - 1].id, t->v[r].id) == 0) {
			t->v[w - 1].hits += t->v[r].hits;
			free(t->v[r].id);
		} else {
			t->v[w++] = t->v[r];
		}
	}
	t->n = w;
	return true;
}

bool dp_rulehits_enter(struct dp_rulehits *b, struct dp_ruleset *rs)
{
	if (!b)
		return true;
	pthread_mutex_lock(&b->lock);
	bool ok = reserve_ids(&b->folded, rs);
	if (ok) {
		rs->book = b;
		rs->book_prev = NULL;
		rs->book_next = b->live;
		if (b->live)
			b->live->book_prev = rs;
		b->live = rs;
	}
	pthread_mutex_unlock(&b->lock);
	return ok;
}

void dp_rulehits_leave(struct dp_rulehits *b, struct dp_ruleset *rs)
{
	pthread_mutex_lock(&b->lock);
	for (uint32_t i = 0; i < rs->nrules; i++) {
		uint64_t n = __atomic_load_n(&rs->hits[i], __ATOMIC_RELAXED);
		ptrdiff_t k = n ? find(&b->folded, b->folded.n, sl_policy_rule_id(rs->policy, i)) : -1;
		if (k >= 0) /* always: entering reserved every id of rs */
			b->folded.v[k].hits += n;
	}
	if (rs->book_prev)
		rs->book_prev->book_next = rs->book_next;
	else
		b->live = rs->book_next;
	if (rs->book_next)
		rs->book_next->book_prev = rs->book_prev;
	rs->book = NULL;
	pthread_mutex_unlock(&b->lock);
}

/* Under the lock: the folded totals plus every live ruleset's counts, by id, into out. */
static bool sum_locked(const struct dp_rulehits *b, struct dp_rule_totals *out)
{
	const struct dp_rule_totals *f = &b->folded;
	uint64_t *sum = calloc(f->n ? f->n : 1, sizeof *sum);
	if (!sum)
		return false;
	for (size_t i = 0; i < f->n; i++)
		sum[i] = f->v[i].hits;
	for (const struct dp_ruleset *rs = b->live; rs; rs = rs->book_next)
		for (uint32_t i = 0; i < rs->nrules; i++) {
			/* the worker may be adding to it: a value a few messages old is fine */
			uint64_t n = __atomic_load_n(&rs->hits[i], __ATOMIC_RELAXED);
			ptrdiff_t k = n ? find(f, f->n, sl_policy_rule_id(rs->policy, i)) : -1;
			if (k >= 0)
				sum[k] += n;
		}
	size_t fired = 0;
	for (size_t i = 0; i < f->n; i++)
		fired += sum[i] != 0;
	out->v = calloc(fired ? fired : 1, sizeof *out->v);
	bool ok = out->v != NULL;
	out->cap = fired;
	for (size_t i = 0; ok && i < f->n; i++) {
		if (!sum[i])
			continue;
		out->v[out->n] = (struct dp_rule_total){strdup(f->v[i].id), sum[i]};
		ok = out->v[out->n++].id != NULL;
	}
	free(sum);
	return ok;
}

bool dp_rulehits_totals(struct dp_rulehits *b, struct dp_rule_totals *out)
{
	memset(out, 0, sizeof *out);
	if (!b)
		return true;
	pthread_mutex_lock(&b->lock);
	bool ok = sum_locked(b, out);
	pthread_mutex_unlock(&b->lock);
	if (!ok)
		dp_rule_totals_free(out);
	return ok;
}
