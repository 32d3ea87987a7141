/* Token buckets and sliding-window counters for the per-source limits (protect.c):
 * integer arithmetic on a millisecond clock, no allocation, no locks. No DPDK. */
#ifndef SLUICE_DP_RATELIMIT_H
#define SLUICE_DP_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

/* A rate as configured: `per` tokens every `unit_ms`, at most `burst` saved up.
 * per == 0: no limit. */
struct dp_rate {
	uint64_t per;
	uint64_t unit_ms;
	uint64_t burst;
};

/* The largest burst * unit_ms a rate may have (the bucket counts in token-milliseconds). */
#define DP_RATE_MAX_SCALED (1ull << 62)

/* A token bucket. Its level is kept in token * unit_ms, so that refilling `per` tokens
 * per unit is `per` per millisecond, exactly. */
struct dp_bucket {
	uint64_t level;
	uint64_t last_ms;
};

/* A full bucket at now (a new source may use its burst at once). */
void dp_bucket_init(struct dp_bucket *b, const struct dp_rate *r, uint64_t now_ms);
/* Take n tokens if there are that many: true; else take none: false. Always true for
 * a rate without limit. */
bool dp_bucket_take(struct dp_bucket *b, const struct dp_rate *r, uint64_t n, uint64_t now_ms);
/* Whole tokens available at now (UINT64_MAX without limit). */
uint64_t dp_bucket_tokens(const struct dp_bucket *b, const struct dp_rate *r, uint64_t now_ms);

/* Events in the last `window` ms, estimated from two fixed windows (the current one and
 * the one before, weighted by how much of it still lies inside the sliding window), as
 * rate limiters in front of web servers do: memory of two counters, error bounded by the
 * previous window's count. */
struct dp_window {
	uint64_t index;   /* now / window of `cur` */
	uint32_t cur, prev;
};

/* Adds n events at now; returns the estimate of events in the last window, these included. */
uint32_t dp_window_add(struct dp_window *w, uint64_t window_ms, uint64_t now_ms, uint32_t n);
/* The estimate at now without adding. */
uint32_t dp_window_count(const struct dp_window *w, uint64_t window_ms, uint64_t now_ms);

#endif
