#include "worker.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>

#include "pool/arp.h"
#include "decode/flowkey.h"
#include "pipeline/inspect.h"
#include "decode/pktbuild.h"
#include "pool/poolflow.h"
#include "control.h"
#include "rxcsum.h"

volatile bool dp_quit;

void dp_worker_send(struct dp_worker *w, int role, struct rte_mbuf *m)
{
	struct dp_txbuf *t = &w->tx[role];
	if (t->n == DP_TXBUF) {
		dp_worker_flush(w);
		if (t->n == DP_TXBUF) {
			rte_pktmbuf_free(m);
			w->ctr.drops[DP_DROP_TX_FULL]++;
			return;
		}
	}
	t->m[t->n++] = m;
}

void dp_worker_flush(struct dp_worker *w)
{
	for (int r = 0; r < DP_NROLES; r++) {
		struct dp_txbuf *t = &w->tx[r];
		if (!t->n)
			continue;
		uint64_t bytes = 0;
		for (uint16_t i = 0; i < t->n; i++)
			bytes += rte_pktmbuf_pkt_len(t->m[i]);
		uint16_t sent;
		if (w->out[r])
			sent = (uint16_t)rte_ring_enqueue_burst(w->out[r], (void **)t->m, t->n, NULL);
		else
			sent = rte_eth_tx_burst(w->ports->id[r], w->txq, t->m, t->n);
		if (sent < t->n) {
			/* l2fwd keeps no backlog either: a full queue drops, counted */
			for (uint16_t i = sent; i < t->n; i++) {
				bytes -= rte_pktmbuf_pkt_len(t->m[i]);
				rte_pktmbuf_free(t->m[i]);
			}
			w->ctr.drops[DP_DROP_TX_FULL] += t->n - sent;
		}
		w->ctr.tx_packets[r] += sent;
		w->ctr.tx_bytes[r] += bytes;
		t->n = 0;
	}
}

/* Build and queue the segments a flow asked for. */
static void send_built(void *arg, const struct dp_flow *f, const struct dp_out *out)
{
	struct dp_worker *w = arg;
	for (unsigned i = 0; i < out->n; i++) {
		const struct dp_emit *e = &out->e[i];
		struct rte_mbuf *m = rte_pktmbuf_alloc(w->pool);
		if (!m) {
			w->ctr.drops[DP_DROP_NO_MBUF]++;
			continue;
		}
		uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
		size_t n = dp_flow_build(f, e, p, rte_pktmbuf_tailroom(m));
		if (!n) {
			rte_pktmbuf_free(m);
			w->ctr.drops[DP_DROP_NO_MBUF]++;
			continue;
		}
		m->data_len = (uint16_t)n;
		m->pkt_len = (uint32_t)n;
		int role = dp_flow_out_role(f, e);
		if (e->injected)
			w->ctr.injected[role]++;
		else
			w->ctr.resegmented[role]++;
		dp_worker_send(w, role, m);
	}
}

/* A frame the dataplane made up (ARP/ND answers and probes of the pool) out of a port. */
static void send_frame(void *arg, int role, const uint8_t *frame, size_t len)
{
	struct dp_worker *w = arg;
	struct rte_mbuf *m = rte_pktmbuf_alloc(w->pool);
	if (!m || rte_pktmbuf_tailroom(m) < len) {
		rte_pktmbuf_free(m);
		w->ctr.drops[DP_DROP_NO_MBUF]++;
		return;
	}
	memcpy(rte_pktmbuf_mtod(m, uint8_t *), frame, len);
	m->data_len = (uint16_t)len;
	m->pkt_len = (uint32_t)len;
	w->ctr.injected[role]++;
	dp_worker_send(w, role, m);
}

static void send_inside(void *arg, const uint8_t *frame, size_t len)
{
	send_frame(arg, DP_INSIDE, frame, len);
}

/* ARP and neighbour solicitations for the pool's service address are answered here;
 * answers to the pool's own probes end here. True when m was taken. */
static bool pool_l2(struct dp_worker *w, struct rte_mbuf *m, const uint8_t *frame, size_t len, int role)
{
	struct dp_poolrt *rt = w->insp->ctx.pool;
	uint8_t reply[256];
	size_t rlen;
	switch (dp_pool_l2(rt->cur, frame, len, role, reply, sizeof reply, &rlen, &rt->stats)) {
	case DP_L2_FORWARD:
		return false;
	case DP_L2_ANSWER:
		send_frame(w, role, reply, rlen); /* back out of the port the question came in on */
		break;
	case DP_L2_CONSUME:
		break;
	}
	rte_pktmbuf_free(m);
	return true;
}

/* The header of a frame about to be forwarded changes in place (URG cleared, pool
 * addresses): only where it is in the first segment and the mbuf is not shared. */
static bool header_writable(struct rte_mbuf *m, const struct dp_out *out)
{
	return rte_pktmbuf_data_len(m) >= out->l4_off + 20u && rte_mbuf_refcnt_read(m) == 1;
}

/* --- the burst, in stages (issue 14): decode all, prefetch all, inspect each in order --- */

/* A frame between the stages. frame is NULL for a chained mbuf: it is read into one
 * buffer, and decoded, only when its turn comes (the buffer holds one frame). */
struct staged {
	const uint8_t *frame;
	int role;
	struct dp_decoded dec;
};

/* The rest of a frame's way once decoded: the pool's link layer, the pipeline, NAT,
 * forward or drop, the segments the flow asked for. */
static void inspect_one(struct dp_worker *w, struct rte_mbuf *m, struct staged *st)
{
	/* chained mbufs (jumbo or GRO frames) are read into one buffer; the original
	 * chain is what goes out when it is forwarded */
	static __thread uint8_t linear[65536 + 128];
	uint32_t len = rte_pktmbuf_pkt_len(m);
	int role = st->role;
	const uint8_t *frame = st->frame;
	if (!frame) {
		frame = len <= sizeof linear ? rte_pktmbuf_read(m, 0, len, linear) : NULL;
		if (!frame) {
			rte_pktmbuf_free(m);
			w->ctr.drops[DP_DROP_MALFORMED]++;
			return;
		}
		dp_inspect_decode(frame, len, &st->dec, NULL);
		st->dec.csum = (uint8_t)dp_rx_csum(m);
	}
	if (w->insp->ctx.pool && w->insp->ctx.pool->cur && pool_l2(w, m, frame, len, role))
		return;
	struct dp_out out;
	const struct dp_flow *f = dp_inspect_decoded(w->insp, frame, len, role, &st->dec, &out);
	bool pooled = f && f->pool.pooled;
	if (out.forward && (out.clear_urg || pooled)) {
		/* the header is in the first segment (the frame parsed within 64 KiB) */
		if (header_writable(m, &out)) {
			uint8_t *h = rte_pktmbuf_mtod(m, uint8_t *);
			if (out.clear_urg)
				dp_tcp_clear_urg(h + out.l4_off);
			if (pooled)
				dp_pool_nat_forward(f, h, &out, role); /* DNAT to its host, SNAT to the client */
		} else {
			out.forward = false;
			out.drop_reason = DP_DROP_MALFORMED;
		}
	}
	if (out.forward) {
		dp_worker_send(w, !role, m);
	} else {
		rte_pktmbuf_free(m);
		if (out.drop_reason >= 0)
			w->ctr.drops[out.drop_reason]++;
	}
	if (f && out.n)
		send_built(w, f, &out);
}

#define PREFETCH_AHEAD 4 /* frames whose data is prefetched ahead of the one decoded */

/* Decode every frame of the burst and prefetch its flow bucket; frames from a port
 * that is not ours are freed (pkts[i] = NULL). The distributor's flow hash comes with
 * the mbuf (hash.rss) when hashed. */
static void decode_burst(struct dp_worker *w, struct rte_mbuf **pkts, uint16_t n,
                         struct staged *st, bool hashed)
{
	for (uint16_t i = 0; i < n && i < PREFETCH_AHEAD; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		if (i + PREFETCH_AHEAD < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + PREFETCH_AHEAD], void *));
		int role = dp_port_role(w->ports, m->port);
		if (role < 0) {
			rte_pktmbuf_free(m);
			pkts[i] = NULL;
			continue;
		}
		w->ctr.rx_packets[role]++;
		w->ctr.rx_bytes[role] += rte_pktmbuf_pkt_len(m);
		st[i].role = role;
		st[i].frame = NULL;
		if (!rte_pktmbuf_is_contiguous(m))
			continue;
		st[i].frame = rte_pktmbuf_mtod(m, const uint8_t *);
		dp_inspect_decode(st[i].frame, rte_pktmbuf_data_len(m), &st[i].dec,
		                  hashed ? &m->hash.rss : NULL);
		st[i].dec.csum = (uint8_t)dp_rx_csum(m);
		dp_inspect_prefetch_bucket(w->insp, &st[i].dec);
	}
	for (uint16_t i = 0; i < n; i++)
		if (pkts[i] && st[i].frame)
			dp_inspect_prefetch_flow(w->insp, &st[i].dec);
}

/* Bridge mode: no stage but forwarding (counted as inspect). */
static void bridge_burst(struct dp_worker *w, struct rte_mbuf **pkts, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		int role = dp_port_role(w->ports, m->port);
		if (role < 0) {
			rte_pktmbuf_free(m);
			continue;
		}
		w->ctr.rx_packets[role]++;
		w->ctr.rx_bytes[role] += rte_pktmbuf_pkt_len(m);
		dp_worker_send(w, !role, m);
	}
}

static void handle_burst(struct dp_worker *w, struct rte_mbuf **pkts, uint16_t n, bool hashed,
                         uint64_t rx_start)
{
	static __thread struct staged st[DP_MAX_BURST];
	uint64_t t0 = rte_rdtsc();
	w->ctr.stage_cycles[DP_STAGE_RX] += t0 - rx_start;
	w->ctr.stage_bursts++;
	if (!w->insp) {
		bridge_burst(w, pkts, n);
		w->ctr.stage_cycles[DP_STAGE_INSPECT] += rte_rdtsc() - t0;
		return;
	}
	decode_burst(w, pkts, n, st, hashed);
	uint64_t t1 = rte_rdtsc();
	w->ctr.stage_cycles[DP_STAGE_DECODE] += t1 - t0;
	for (uint16_t i = 0; i < n; i++)
		if (pkts[i])
			inspect_one(w, pkts[i], &st[i]);
	w->ctr.stage_cycles[DP_STAGE_INSPECT] += rte_rdtsc() - t1;
}

void dp_worker_poll(struct dp_worker *w, uint64_t now)
{
	struct rte_mbuf *pkts[DP_MAX_BURST];
	unsigned burst = w->cfg->burst;
	if (w->insp)
		w->insp->ctx.now_ms = now / (w->tsc_hz / 1000);
	unsigned moved = 0;
	uint64_t t = now;
	if (w->in) {
		unsigned n = rte_ring_dequeue_burst(w->in, (void **)pkts, burst, NULL);
		if (n)
			handle_burst(w, pkts, (uint16_t)n, w->in_hashed, t);
		moved += n;
	}
	for (unsigned s = 0; s < w->nrx; s++) {
		t = rte_rdtsc();
		uint16_t n = rte_eth_rx_burst(w->rx[s].port, w->rx[s].queue, pkts, (uint16_t)burst);
		for (uint16_t i = 0; i < n; i++)
			pkts[i]->port = w->rx[s].port;
		if (n)
			handle_burst(w, pkts, n, false, t);
		moved += n;
	}
	if (moved)
		t = rte_rdtsc();
	dp_worker_flush(w);
	if (moved)
		w->ctr.stage_cycles[DP_STAGE_TX] += rte_rdtsc() - t;
	if (w->ctl)
		dp_control_worker_sync(w->ctl, w); /* between bursts: a new bundle, quiescence */
	if (moved) {
		/* how long an iteration that moved packets took, swap included */
		uint64_t ns = (rte_rdtsc() - now) * 1000000000ull / w->tsc_hz;
		unsigned b = ns ? 63u - (unsigned)__builtin_clzll(ns) : 0;
		w->ctr.loop_ns_log2[b < DP_LOOP_BUCKETS ? b : DP_LOOP_BUCKETS - 1]++;
	}
	if (now >= w->next_timer) {
		t = rte_rdtsc();
		if (w->insp)
			dp_inspect_tick(w->insp, send_built, w);
		if (w->idx == 0 && w->insp && w->insp->ctx.pool) /* the MACs they learn are shared */
			dp_pool_probes(w->insp->ctx.pool, w->insp->ctx.now_ms, send_inside, w);
		w->next_timer = now + w->tsc_hz / 100; /* 10 ms */
		w->ctr.stage_cycles[DP_STAGE_TIMERS] += rte_rdtsc() - t;
	}
}

/* --- end of the staged burst --- */

int dp_worker_main(void *arg)
{
	struct dp_worker *w = arg;
	if (w->insp)
		dp_inspector_set_send(w->insp, send_built, w);
	dp_control_worker_online(w->ctl, w);
	while (!dp_quit)
		dp_worker_poll(w, rte_rdtsc());
	dp_worker_flush(w);
	dp_control_worker_offline(w->ctl, w);
	return 0;
}

uint32_t dp_place_frame(const uint8_t *frame, size_t len, int role, bool by_client, uint32_t *flow_hash)
{
	struct dp_pkt p;
	*flow_hash = 0;
	if (dp_pkt_parse(frame, len, &p) != DP_PKT_TCP)
		return 0;
	*flow_hash = dp_flow_hash_pkt(&p);
	if (!by_client)
		return *flow_hash;
	/* the client is the outside end: the source of what comes in from outside */
	return dp_client_net_hash(p.ip_version, role == DP_OUTSIDE ? p.src : p.dst);
}

int dp_distributor_main(void *arg)
{
	struct dp_distributor *d = arg;
	struct rte_mbuf *pkts[DP_MAX_BURST];
	unsigned burst = d->cfg->burst;
	/* by the client's /24 or /64, so that a source's flows and counters meet on one
	 * worker; a capture replayed into one port (no direction check) cannot tell the
	 * client, and is placed by the symmetric flow hash */
	bool by_client = d->cfg->direction_check;

	while (!dp_quit) {
		for (int r = 0; r < DP_NROLES; r++) {
			uint16_t port = d->ports->id[r];
			uint16_t n = rte_eth_rx_burst(port, 0, pkts, (uint16_t)burst);
			for (uint16_t i = 0; i < n; i++) {
				struct rte_mbuf *m = pkts[i];
				m->port = port;
				const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
				/* the flow hash rides in the mbuf: the worker's decode stage uses it */
				uint32_t h = dp_place_frame(frame, rte_pktmbuf_data_len(m), r, by_client, &m->hash.rss);
				struct dp_worker *w = &d->workers[h % d->nworkers];
				if (rte_ring_enqueue(w->in, m) != 0) {
					rte_pktmbuf_free(m);
					d->drops_ring_full++;
				}
			}
		}
		for (unsigned i = 0; i < d->nworkers; i++)
			for (int r = 0; r < DP_NROLES; r++) {
				unsigned n = rte_ring_dequeue_burst(d->workers[i].out[r], (void **)pkts, burst, NULL);
				if (!n)
					continue;
				uint16_t sent = rte_eth_tx_burst(d->ports->id[r], 0, pkts, (uint16_t)n);
				for (unsigned j = sent; j < n; j++)
					rte_pktmbuf_free(pkts[j]);
				d->drops_ring_full += n - sent;
			}
	}
	return 0;
}
