/* The pool in the per-frame pipeline (docs/pool.md). A pooled connection lives in the
 * flow table in the client's view, client <-> service address: what comes in from the
 * client is inspected as it is and gets the host's address and MAC on its way in (DNAT);
 * what the host sends is given the service address and MAC (SNAT) before it is
 * inspected. So the normalization, the engine, verdicts, injected replies and resets
 * work on pooled flows unchanged, and every frame on each side carries that side's
 * addresses. One per worker, like the flow table; nothing in it is locked. No DPDK. */
#ifndef SLUICE_DP_POOLFLOW_H
#define SLUICE_DP_POOLFLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "decode/pktparse.h"
#include "pool/pool.h"

struct dp_inspector;
struct dp_flow;
struct dp_ctx;
struct dp_out;

struct dp_poolrt {
	const struct dp_pool *cur;  /* the version in use; NULL: no pool */
	bool sweeping;              /* resetting the connections of hosts that went down */
	uint32_t sweep_at;          /* the next flow-table bucket to look at */
	uint64_t next_probe_ms;
	unsigned probe_round;
	uint64_t pooled;            /* pooled flows in the table */
	struct dp_pool_stats stats;
	uint8_t buf[65536 + 256];   /* a host's frame as the flow sees it (SNAT before inspection) */
};

/* A new version from the control thread (between bursts). */
void dp_pool_take(struct dp_poolrt *rt, const struct dp_pool *p);

/* ---- hooks of the inspector (inspect.c) -------------------------------------------- */

/* A frame from the inside from a pool port: the pooled flow it belongs to, or NULL. */
struct dp_flow *dp_pool_inside_flow(struct dp_inspector *in, const struct dp_pkt *p);
/* The host's frame of flow f as the flow sees it: a copy with the service address and
 * MAC as its source (p updated); NULL when it does not fit. */
const uint8_t *dp_pool_snat_in(struct dp_poolrt *rt, const struct dp_flow *f, const uint8_t *frame,
                               size_t len, struct dp_pkt *p);
/* A SYN from the outside without a flow: -1 when it is not for the service (carry on),
 * -2 when refused (out says what to do; *scratch a flow to build a RST from, or NULL),
 * else the chosen host's index in the pool. h: the flow's hash. */
int dp_pool_admit(struct dp_inspector *in, const uint8_t *frame, const struct dp_pkt *p, int in_role,
                  uint32_t h, struct dp_out *out, struct dp_flow **scratch);
/* The new flow f goes to host `host` (dp_pool_admit's answer). */
void dp_pool_attach(struct dp_ctx *c, struct dp_flow *f, int host, const uint8_t *frame, const struct dp_pkt *p);
/* A SYN sent again on a pooled flow whose host left the table before it answered: the
 * connection goes to another host. */
void dp_pool_recheck(struct dp_ctx *c, struct dp_flow *f, const struct dp_pkt *p, uint32_t h);
/* After the flow ran a packet: its host's bytes and messages. */
void dp_pool_account(struct dp_ctx *c, const struct dp_flow *f, const struct dp_pkt *p, int d,
                     uint64_t messages_before);
/* The flow closed: no longer one of its host's active connections. */
void dp_pool_detach(struct dp_ctx *c, struct dp_flow *f);
/* The flow goes (its entry is freed). */
void dp_pool_release(struct dp_ctx *c, struct dp_flow *f);
/* Periodic: reset the connections of hosts that went down, a bounded part per call. */
void dp_pool_sweep(struct dp_inspector *in, void (*send)(void *, const struct dp_flow *, const struct dp_out *),
                   void *arg);

/* ---- what the worker does to frames of pooled flows --------------------------------- */

/* The original frame of pooled flow f, about to be forwarded (it came in on in_role):
 * DNAT towards the host, SNAT towards the client. frame is writable. */
void dp_pool_nat_forward(const struct dp_flow *f, uint8_t *frame, const struct dp_out *out, int in_role);
/* A frame built for f towards the host (dp_flow_build): DNAT. */
void dp_pool_nat_built(const struct dp_flow *f, uint8_t *frame, size_t len);

/* Probes for the hosts whose MACs are not known (every second) or were learned (every
 * minute: they may change), through emit; the number sent. */
unsigned dp_pool_probes(struct dp_poolrt *rt, uint64_t now_ms,
                        void (*emit)(void *arg, const uint8_t *frame, size_t len), void *arg);

#endif
