/* One worker lcore: an explicit poll loop (l2fwd style) over its rx sources, its own
 * flow table and counters, burst tx. Nothing on the fast path is shared or locked. */
#ifndef SLUICE_DP_WORKER_H
#define SLUICE_DP_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "config/config.h"
#include "pipeline/counters.h"
#include "port.h"

#define DP_MAX_BURST 512
#define DP_TXBUF (2 * DP_MAX_BURST)

struct dp_inspector;
struct dp_control;

struct dp_txbuf {
	uint16_t n;
	struct rte_mbuf *m[DP_TXBUF];
};

struct dp_worker {
	unsigned idx, lcore;
	const struct dp_config *cfg;
	const struct dp_ports *ports;
	/* input: port queues (direct/RSS) or a ring from the distributor */
	unsigned nrx;
	struct { uint16_t port, queue; } rx[DP_NROLES];
	struct rte_ring *in;
	bool in_hashed;            /* in's producer put each frame's flow hash in hash.rss */
	/* output: a tx queue of each port, or rings to the distributor */
	uint16_t txq;
	struct rte_ring *out[DP_NROLES];
	struct dp_txbuf tx[DP_NROLES];
	struct dp_inspector *insp; /* NULL in bridge mode */
	struct dp_control *ctl;    /* live rule swaps (RCU); NULL when not used */
	struct rte_mempool *pool;  /* for segments the dataplane builds */
	uint64_t tsc_hz, next_timer;
	struct dp_counters ctr __rte_cache_aligned;
};

extern volatile bool dp_quit;

/* Queue a packet for a role's port (frees it and counts a drop when full). */
void dp_worker_send(struct dp_worker *w, int role, struct rte_mbuf *m);
void dp_worker_flush(struct dp_worker *w);

/* One iteration of the poll loop: rx bursts, inspection, tx, timers every 10 ms. */
void dp_worker_poll(struct dp_worker *w, uint64_t now_tsc);
/* The poll loop until dp_quit; arg is a struct dp_worker. */
int dp_worker_main(void *arg);

/* The software distributor: rx from both ports, symmetric flow hash to the workers'
 * rings, tx of what the workers return. arg is a struct dp_distributor. */
struct dp_distributor {
	const struct dp_config *cfg;
	const struct dp_ports *ports;
	unsigned nworkers;
	struct dp_worker *workers;
	uint64_t drops_ring_full;
};
int dp_distributor_main(void *arg);

/* Where the distributor places a frame that came in on port role `role`: the keyed hash
 * of its client's /24 (/64) (its outside end) when by_client, else its symmetric flow
 * hash (both directions equal); 0 for non-TCP. *flow_hash gets the flow hash the
 * worker's flow table uses (dp_flow_key_hash; 0 for non-TCP), from the same parse. */
uint32_t dp_place_frame(const uint8_t *frame, size_t len, int role, bool by_client, uint32_t *flow_hash);

#endif
