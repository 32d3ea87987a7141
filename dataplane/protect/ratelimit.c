#include "protect/ratelimit.h"

static uint64_t capacity(const struct dp_rate *r)
{
	return r->burst * r->unit_ms;
}

void dp_bucket_init(struct dp_bucket *b, const struct dp_rate *r, uint64_t now_ms)
{
	b->level = capacity(r);
	b->last_ms = now_ms;
}

static void refill(struct dp_bucket *b, const struct dp_rate *r, uint64_t now_ms)
{
	uint64_t cap = capacity(r);
	if (now_ms <= b->last_ms) /* a clock that did not move (or a stale caller) adds none */
		return;
	uint64_t elapsed = now_ms - b->last_ms;
	b->last_ms = now_ms;
	if (b->level >= cap)
		return;
	/* elapsed * per may overflow: a bucket empty for that long is full anyway */
	if (elapsed >= (cap - b->level) / r->per + 1)
		b->level = cap;
	else
		b->level += elapsed * r->per;
}

bool dp_bucket_take(struct dp_bucket *b, const struct dp_rate *r, uint64_t n, uint64_t now_ms)
{
	if (!r->per)
		return true;
	refill(b, r, now_ms);
	if (n > capacity(r) / r->unit_ms) /* more than the bucket ever holds */
		return false;
	uint64_t need = n * r->unit_ms;
	if (b->level < need)
		return false;
	b->level -= need;
	return true;
}

uint64_t dp_bucket_tokens(const struct dp_bucket *b, const struct dp_rate *r, uint64_t now_ms)
{
	if (!r->per)
		return UINT64_MAX;
	struct dp_bucket t = *b;
	refill(&t, r, now_ms);
	return t.level / r->unit_ms;
}

static void roll(struct dp_window *w, uint64_t index)
{
	if (index == w->index)
		return;
	w->prev = index == w->index + 1 ? w->cur : 0;
	w->cur = 0;
	w->index = index;
}

static uint32_t estimate(const struct dp_window *w, uint64_t window_ms, uint64_t now_ms)
{
	uint64_t into = now_ms - w->index * window_ms; /* ms into the current window */
	uint64_t prev_part = (uint64_t)w->prev * (window_ms - into) / window_ms;
	uint64_t sum = w->cur + prev_part;
	return sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum;
}

uint32_t dp_window_add(struct dp_window *w, uint64_t window_ms, uint64_t now_ms, uint32_t n)
{
	if (!window_ms)
		return n;
	uint64_t index = now_ms / window_ms;
	if (index < w->index) /* clock went back: count in the current window */
		index = w->index;
	roll(w, index);
	w->cur = w->cur > UINT32_MAX - n ? UINT32_MAX : w->cur + n;
	return estimate(w, window_ms, index == now_ms / window_ms ? now_ms : index * window_ms);
}

uint32_t dp_window_count(const struct dp_window *w, uint64_t window_ms, uint64_t now_ms)
{
	if (!window_ms)
		return 0;
	struct dp_window t = *w;
	uint64_t index = now_ms / window_ms;
	if (index < t.index)
		return estimate(&t, window_ms, t.index * window_ms);
	roll(&t, index);
	return estimate(&t, window_ms, now_ms);
}
