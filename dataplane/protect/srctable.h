/* The sources one worker has seen: an address (/32, /128) or its network (/24, /64),
 * with the token buckets and counters protect.c keeps for it. A fixed array allocated
 * once (no allocation per packet), chained hash buckets by index, and a least-recently-
 * used list from which an idle entry is recycled when the table is full. An entry with
 * sessions open or a ban running is never recycled. The control thread reads entries
 * (bans, top sources) while the worker writes them: `seq` is odd while the worker
 * changes an entry's key, so a reader that sees it change discards what it copied.
 * No DPDK. */
#ifndef SLUICE_DP_SRCTABLE_H
#define SLUICE_DP_SRCTABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "protect/prefix.h"
#include "protect/ratelimit.h"

#define DP_SRC_NONE UINT32_MAX

enum dp_src_level {
	DP_SRC_HOST,   /* one address */
	DP_SRC_NET,    /* its /24 (IPv4) or /64 (IPv6) */
	DP_SRC_LEVELS,
};

struct dp_source {
	struct dp_prefix key;          /* len 32/128 (host) or 24/64 (net) */
	uint32_t hnext;                /* hash chain (index, DP_SRC_NONE) */
	uint32_t lprev, lnext;         /* LRU list, most recent first */
	uint32_t seq;                  /* odd while the key changes (readers: see above) */
	uint32_t sessions;             /* connections admitted and not yet gone */
	struct dp_bucket conns, msgs, rcpts, bytes;
	struct dp_window harvest, auth_fail;
	uint64_t first_ms, last_ms;
	uint64_t ban_start_ms, ban_until_ms; /* banned while now < ban_until_ms */
	uint8_t ban_reason;            /* enum dp_protect_reason */
	uint64_t verified_until_ms;    /* completed a handshake (emergency mode admits it) */
	uint64_t event_ms;             /* the last refusal event (one a minute per source) */
	/* totals since the entry was made (top sources) */
	uint64_t n_conns, n_refused, n_msgs, n_rcpts, n_refused_rcpts, n_auth_fail;
	uint64_t n_bytes, n_closed;
	bool used;
};

struct dp_srctable {
	struct dp_source *e;
	uint32_t *bucket;
	uint32_t cap, nbuckets, count;
	uint32_t free_head;            /* unused entries, chained by hnext */
	uint32_t lru_head, lru_tail;
	uint64_t evicted;              /* idle entries recycled for new sources */
	uint64_t full;                 /* a new source found no entry it could take */
};

/* cap entries, allocated now. 0 or -1 (no memory). */
int dp_srctable_init(struct dp_srctable *t, uint32_t cap);
void dp_srctable_free(struct dp_srctable *t);

/* The entry of `key` (host bits cleared by the caller), or NULL. With create, a new
 * entry (zeroed, first_ms = now; *created set) is made when there is none, recycling the least
 * recently used idle entry when the table is full; NULL when every entry is held.
 * A found or made entry becomes the most recently used. */
struct dp_source *dp_src_find(struct dp_srctable *t, const struct dp_prefix *key, uint64_t now_ms,
                              bool create, bool *created);
/* Index of an entry (stable while it is pinned by sessions or a ban). */
static inline uint32_t dp_src_index(const struct dp_srctable *t, const struct dp_source *s)
{
	return (uint32_t)(s - t->e);
}

#endif
