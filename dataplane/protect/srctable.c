#include "protect/srctable.h"

#include <stdlib.h>
#include <string.h>

#include "decode/flowkey.h"

#define EVICT_TRIES 16  /* held entries skipped at the LRU tail before giving up */

int dp_srctable_init(struct dp_srctable *t, uint32_t cap)
{
	memset(t, 0, sizeof *t);
	uint32_t nb = 1;
	while (nb < cap)
		nb <<= 1;
	t->e = calloc(cap, sizeof *t->e);
	t->bucket = malloc(nb * sizeof *t->bucket);
	if (!t->e || !t->bucket) {
		dp_srctable_free(t);
		return -1;
	}
	t->cap = cap;
	t->nbuckets = nb;
	for (uint32_t i = 0; i < nb; i++)
		t->bucket[i] = DP_SRC_NONE;
	for (uint32_t i = 0; i < cap; i++)
		t->e[i].hnext = i + 1 < cap ? i + 1 : DP_SRC_NONE;
	t->free_head = cap ? 0 : DP_SRC_NONE;
	t->lru_head = t->lru_tail = DP_SRC_NONE;
	return 0;
}

void dp_srctable_free(struct dp_srctable *t)
{
	free(t->e);
	free(t->bucket);
	memset(t, 0, sizeof *t);
}

static uint32_t bucket_of(const struct dp_srctable *t, const struct dp_prefix *k)
{
	uint64_t w[3] = {0, 0, 0};
	memcpy(w, k->addr, 16);
	w[2] = (uint64_t)k->family << 8 | k->len;
	return dp_keyed_hash(w, 3) & (t->nbuckets - 1);
}

static void lru_unlink(struct dp_srctable *t, uint32_t i)
{
	struct dp_source *s = &t->e[i];
	if (s->lprev != DP_SRC_NONE)
		t->e[s->lprev].lnext = s->lnext;
	else
		t->lru_head = s->lnext;
	if (s->lnext != DP_SRC_NONE)
		t->e[s->lnext].lprev = s->lprev;
	else
		t->lru_tail = s->lprev;
}

static void lru_push(struct dp_srctable *t, uint32_t i)
{
	struct dp_source *s = &t->e[i];
	s->lprev = DP_SRC_NONE;
	s->lnext = t->lru_head;
	if (t->lru_head != DP_SRC_NONE)
		t->e[t->lru_head].lprev = i;
	t->lru_head = i;
	if (t->lru_tail == DP_SRC_NONE)
		t->lru_tail = i;
}

static bool held(const struct dp_source *s, uint64_t now_ms)
{
	return s->sessions > 0 || s->ban_until_ms > now_ms;
}

static void unhash(struct dp_srctable *t, uint32_t i)
{
	uint32_t *at = &t->bucket[bucket_of(t, &t->e[i].key)];
	while (*at != i)
		at = &t->e[*at].hnext;
	*at = t->e[i].hnext;
}

/* An entry for a new source: a free one, else the least recently used idle one. */
static uint32_t take_entry(struct dp_srctable *t, uint64_t now_ms)
{
	if (t->free_head != DP_SRC_NONE) {
		uint32_t i = t->free_head;
		t->free_head = t->e[i].hnext;
		t->count++;
		return i;
	}
	for (int tries = 0; tries < EVICT_TRIES && t->lru_tail != t->lru_head; tries++) {
		uint32_t i = t->lru_tail; /* never the head: the caller may have just used it */
		lru_unlink(t, i);
		if (held(&t->e[i], now_ms)) {
			lru_push(t, i); /* in use: it is not the one to recycle */
			continue;
		}
		unhash(t, i);
		t->evicted++;
		return i;
	}
	t->full++;
	return DP_SRC_NONE;
}

struct dp_source *dp_src_find(struct dp_srctable *t, const struct dp_prefix *key, uint64_t now_ms,
                              bool create, bool *created)
{
	if (created)
		*created = false;
	uint32_t b = bucket_of(t, key);
	for (uint32_t i = t->bucket[b]; i != DP_SRC_NONE; i = t->e[i].hnext)
		if (dp_prefix_eq(&t->e[i].key, key)) {
			lru_unlink(t, i);
			lru_push(t, i);
			t->e[i].last_ms = now_ms;
			return &t->e[i];
		}
	if (!create)
		return NULL;
	uint32_t i = take_entry(t, now_ms);
	if (i == DP_SRC_NONE)
		return NULL;
	struct dp_source *s = &t->e[i];
	uint32_t seq = s->seq;
	__atomic_store_n(&s->seq, seq | 1, __ATOMIC_RELEASE); /* readers: key changing */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memset(s, 0, sizeof *s);
	s->seq = seq | 1;
	s->key = *key;
	s->first_ms = s->last_ms = now_ms;
	s->used = true;
	__atomic_store_n(&s->seq, (seq | 1) + 1, __ATOMIC_RELEASE);
	s->hnext = t->bucket[b];
	t->bucket[b] = i;
	lru_push(t, i);
	if (created)
		*created = true;
	return s;
}
