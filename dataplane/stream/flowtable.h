/* A worker's flow table: chained hash buckets and three lists for timeouts and
 * eviction: embryonic flows (handshake not completed; least recently used first, the
 * first to go under a SYN flood), flows in use (least recently used first: idle
 * timeout), and closed flows in the order they closed (closed timeout; kept a while for
 * late packets). Separate lists, so that no timeout has to look past flows waiting for
 * another. Bounded by max_flows. Single-threaded (one per worker). No DPDK. */
#ifndef SLUICE_DP_FLOWTABLE_H
#define SLUICE_DP_FLOWTABLE_H

#include <stdint.h>

#include "stream/flow.h"

struct dp_lru {
	struct dp_flow *oldest, *newest;
	unsigned count;
};

struct dp_flowtable {
	struct dp_flow **buckets;
	uint32_t mask;
	unsigned count, max;
	struct dp_lru list[DP_NLISTS]; /* indexed by enum dp_flow_list */
};

int dp_ft_init(struct dp_flowtable *t, unsigned max_flows);
void dp_ft_free(struct dp_flowtable *t);
struct dp_flow *dp_ft_lookup(struct dp_flowtable *t, const struct dp_flow_key *k, uint32_t hash);
/* The flow is linked in (its key and hash set) at the newest end of `list`; the caller
 * checked count < max. */
void dp_ft_insert(struct dp_flowtable *t, struct dp_flow *f, enum dp_flow_list list);
void dp_ft_remove(struct dp_flowtable *t, struct dp_flow *f);
/* Mark used now (moves an embryonic or live flow to the newest end of its list). */
void dp_ft_touch(struct dp_flowtable *t, struct dp_flow *f);
/* Move the flow to the newest end of another list (no-op when it is there already). */
void dp_ft_move(struct dp_flowtable *t, struct dp_flow *f, enum dp_flow_list list);

static inline struct dp_flow *dp_ft_oldest(const struct dp_flowtable *t, enum dp_flow_list list)
{
	return t->list[list].oldest;
}

#endif
