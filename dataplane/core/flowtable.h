/* A worker's flow table: chained hash buckets and two lists for timeouts: flows in
 * use, least recently used first (idle timeout), and closed flows in the order they
 * closed (closed timeout; kept a while for late packets). Two lists, so that neither
 * timeout has to look past flows waiting for the other. Bounded by max_flows.
 * Single-threaded (one per worker). No DPDK. */
#ifndef SLUICE_DP_FLOWTABLE_H
#define SLUICE_DP_FLOWTABLE_H

#include <stdint.h>

#include "flow.h"

struct dp_lru {
	struct dp_flow *oldest, *newest;
};

struct dp_flowtable {
	struct dp_flow **buckets;
	uint32_t mask;
	unsigned count, max;
	struct dp_lru live;    /* not closed: least recently used first */
	struct dp_lru closed;  /* closed: first closed first */
};

int dp_ft_init(struct dp_flowtable *t, unsigned max_flows);
void dp_ft_free(struct dp_flowtable *t);
struct dp_flow *dp_ft_lookup(struct dp_flowtable *t, const struct dp_flow_key *k, uint32_t hash);
/* The flow is linked in (its key and hash set); the caller checked count < max. */
void dp_ft_insert(struct dp_flowtable *t, struct dp_flow *f);
void dp_ft_remove(struct dp_flowtable *t, struct dp_flow *f);
/* Mark used now (moves a live flow to the newest end). */
void dp_ft_touch(struct dp_flowtable *t, struct dp_flow *f);
/* The flow closed: it moves to the end of the closed list (once). */
void dp_ft_closed(struct dp_flowtable *t, struct dp_flow *f);

#endif
