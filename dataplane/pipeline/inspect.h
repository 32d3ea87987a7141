/* The per-frame pipeline of one worker, shared by the DPDK workers and the offline
 * reader: parse, find or create the flow (SMTP ports, content detection, mid-stream
 * and overload policies), run it, and expire idle flows. No DPDK. */
#ifndef SLUICE_DP_INSPECT_H
#define SLUICE_DP_INSPECT_H

#include "pipeline/ctx.h"
#include "stream/flow.h"
#include "stream/flowtable.h"
#include "protect/protect.h"

#define DP_TIMER_FLOWS 1024

struct dp_inspector {
	struct dp_ctx ctx;
	struct dp_flowtable ft;
	struct dp_flow *timers[DP_TIMER_FLOWS]; /* flows with pending timed work */
	unsigned ntimers;
	struct dp_flow scratch;                  /* templates for RSTs of untracked flows */
	struct dp_protect protect;               /* [protect] (ctx.protect points here when on) */
	void (*send)(void *arg, const struct dp_flow *f, const struct dp_out *out);
	void *send_arg;                          /* for RSTs of flows evicted to admit others */
};

/* What the caller sends for a flow's dp_out (builds segments from the flow's templates). */
typedef void (*dp_send_fn)(void *arg, const struct dp_flow *f, const struct dp_out *out);

/* Where the inspector sends what is not an answer to the frame in hand (the RSTs of
 * an established flow evicted to admit a new one). Unset: such flows go silently. */
static inline void dp_inspector_set_send(struct dp_inspector *in, dp_send_fn send, void *arg)
{
	in->send = send;
	in->send_arg = arg;
}

int dp_inspector_init(struct dp_inspector *in, const struct dp_config *cfg, bool passive,
                      struct sl_policy *policy, struct dp_counters *ctr, size_t mem_limit);
/* The same with the pools' memory from mem (dp_objmem_heap when NULL): sluice-dp
 * passes rte_malloc_socket on the worker lcore's socket. */
int dp_inspector_init_on(struct dp_inspector *in, const struct dp_config *cfg, bool passive,
                         struct sl_policy *policy, struct dp_counters *ctr, size_t mem_limit,
                         const struct dp_objmem *mem);
/* Closes every flow (the engine finishes its messages), frees everything. */
void dp_inspector_free(struct dp_inspector *in);

/* One frame from port role in_role. Returns the flow out refers to (NULL when out
 * only says forward/drop). */
struct dp_flow *dp_inspect_frame(struct dp_inspector *in, const uint8_t *frame, size_t len,
                                 int in_role, struct dp_out *out);

/* dp_inspect_frame in stages, for a worker that takes a burst at a time (parse all,
 * prefetch all, then inspect each in order): the decode stage touches nothing but the
 * frame, so it runs ahead of the packets before it. */
struct dp_decoded {
	enum dp_pkt_kind kind;
	struct dp_pkt p;       /* the rest only for DP_PKT_TCP */
	struct dp_flow_key k;
	uint32_t hash;         /* dp_flow_key_hash(&k) */
	uint8_t csum;          /* enum dp_csum_state: what the NIC found (decode: UNKNOWN) */
};
/* hash: the frame's flow hash when already known (the distributor computed it), or NULL. */
void dp_inspect_decode(const uint8_t *frame, size_t len, struct dp_decoded *dec, const uint32_t *hash);
/* The flow-table bucket the frame's flow is in, then (a later pass, once that line is
 * in) the first flow in it: into the cache ahead of dp_inspect_decoded. */
static inline void dp_inspect_prefetch_bucket(const struct dp_inspector *in, const struct dp_decoded *dec)
{
	if (dec->kind == DP_PKT_TCP)
		__builtin_prefetch(&in->ft.buckets[dec->hash & in->ft.mask]);
}
static inline void dp_inspect_prefetch_flow(const struct dp_inspector *in, const struct dp_decoded *dec)
{
	if (dec->kind == DP_PKT_TCP) {
		const struct dp_flow *f = in->ft.buckets[dec->hash & in->ft.mask];
		if (f)
			__builtin_prefetch(f);
	}
}
/* The rest of dp_inspect_frame for a decoded frame. */
struct dp_flow *dp_inspect_decoded(struct dp_inspector *in, const uint8_t *frame, size_t len,
                                   int in_role, struct dp_decoded *dec, struct dp_out *out);

/* Both ends of an inspected flow reset (expiry, eviction, a pool host that went down),
 * and the flow gone. */
void dp_inspect_reset_flow(struct dp_inspector *in, struct dp_flow *f, dp_send_fn send, void *arg);

/* Periodic: timers of flows that wait for something, expiry of idle flows (both ends
 * of an inspected connection reset), of half-open flows and of closed ones. */
void dp_inspect_tick(struct dp_inspector *in, dp_send_fn send, void *arg);

/* A flow as `sluicectl flows` shows it. */
struct dp_flow_brief {
	char client[64], server[64];
	const char *state;         /* "handshake", "open", "uninspected", "enforcing", "closed" */
	uint64_t bytes_in, bytes_out; /* client->server, server->client (in order) */
	uint64_t age_ms, idle_ms;
	uint64_t bundle_id;        /* the bundle its current message runs on (0: none) */
	unsigned worker;
};

/* The (at most) max flows with the most bytes, most first; returns how many. Runs on
 * the worker that owns the table. */
unsigned dp_inspector_top_flows(const struct dp_inspector *in, struct dp_flow_brief *out, unsigned max);

/* Passive end of input: give up on gaps, close every flow. */
void dp_inspect_finish(struct dp_inspector *in);

#endif
