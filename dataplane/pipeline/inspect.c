#include "pipeline/inspect.h"

#include <stdlib.h>
#include <string.h>

#include "pool/poolflow.h"
#include "protect/responder.h"

#define EXPIRE_SCAN 256 /* flows looked at per tick */

/* Objects per slab of each pool (one backing allocation each as the load first grows). */
#define FLOW_SLAB 256
#define SESSION_SLAB 64
#define HOLDER_SLAB 256

static unsigned at_most(uint64_t a, uint64_t b)
{
	uint64_t m = a < b ? a : b;
	return m > UINT32_MAX ? UINT32_MAX : (unsigned)m;
}

/* Sized from the configuration: no more flows than max_flows or than the worker's share
 * of max_memory can hold (each charges its struct), no more sessions than flows with
 * one, no more holders than the flows' out-of-order limit or the memory share in full
 * holders, no more retained-bytes buffers of a size than two per flow or the memory
 * share in buffers of that size. */
static int pools_init(struct dp_ctx *c, size_t mem_limit, const struct dp_objmem *mem)
{
	const struct dp_config *cfg = c->cfg;
	uint64_t room = mem_limit ? mem_limit : UINT64_MAX;
	unsigned flows = at_most(cfg->max_flows, room / sizeof(struct dp_flow));
	unsigned sessions = at_most(flows, room / (sizeof(struct dp_flow) + sizeof(struct dp_session)));
	unsigned holders = at_most((uint64_t)flows * 2 * cfg->max_ooo_segments, room / DP_OOO_HOLDER);
	if (dp_objpool_init(&c->flows, sizeof(struct dp_flow), flows, FLOW_SLAB, mem) != 0 ||
	    dp_objpool_init(&c->sessions, sizeof(struct dp_session), sessions, SESSION_SLAB, mem) != 0 ||
	    dp_objpool_init(&c->ooo_holders, DP_OOO_HOLDER, holders, HOLDER_SLAB, mem) != 0 ||
	    dp_bufpool_init(&c->retained, at_most((uint64_t)flows * 2, UINT32_MAX), room, mem) != 0)
		return -1;
	return 0;
}

int dp_inspector_init(struct dp_inspector *in, const struct dp_config *cfg, bool passive,
                      struct sl_policy *policy, struct dp_counters *ctr, size_t mem_limit)
{
	return dp_inspector_init_on(in, cfg, passive, policy, ctr, mem_limit, NULL);
}

int dp_inspector_init_on(struct dp_inspector *in, const struct dp_config *cfg, bool passive,
                         struct sl_policy *policy, struct dp_counters *ctr, size_t mem_limit,
                         const struct dp_objmem *mem)
{
	memset(in, 0, sizeof *in);
	struct dp_ctx *c = &in->ctx;
	c->cfg = cfg;
	c->passive = passive;
	c->ctr = ctr;
	c->mem.limit = mem_limit;
	sl_limits_default(&c->limits);
	c->limits.skip_part_sha256 = true; /* nothing here reads it; the policy hashes for its lists */
	if (dp_config_protecting(cfg) && !passive) {
		if (dp_protect_init(&in->protect, &cfg->protect) != 0)
			return -1;
		c->protect = &in->protect;
	}
	if (policy) {
		struct dp_ruleset *rs = dp_ruleset_new(policy, 0);
		if (!rs)
			return -1;
		dp_rules_switch(&c->rules, rs);
	}
	if (pools_init(c, mem_limit, mem) != 0)
		return -1;
	return dp_ft_init(&in->ft, cfg->max_flows);
}

static void timer_forget(struct dp_inspector *in, struct dp_flow *f)
{
	if (!f->on_timer)
		return;
	f->on_timer = false;
	for (unsigned i = 0; i < in->ntimers; i++)
		if (in->timers[i] == f) {
			in->timers[i] = in->timers[--in->ntimers];
			return;
		}
}

static void flow_destroy(struct dp_inspector *in, struct dp_flow *f)
{
	timer_forget(in, f);
	if (f->list == DP_LIST_EMBRYONIC)
		in->ctx.ctr->flows_embryonic--;
	dp_pool_release(&in->ctx, f);
	dp_protect_flow_end(&in->ctx, f->src_host, f->src_net);
	dp_ft_remove(&in->ft, f);
	dp_flow_free(f, &in->ctx);
	dp_mem_release(&in->ctx.mem, sizeof *f);
	dp_objpool_put(&in->ctx.flows, f);
}

static void destroy_all(struct dp_inspector *in)
{
	for (int l = 0; l < DP_NLISTS; l++)
		while (dp_ft_oldest(&in->ft, l))
			flow_destroy(in, dp_ft_oldest(&in->ft, l));
}

/* After the flow ran: it leaves the embryonic list once its handshake completed, and a
 * flow that closed waits in the closed list. */
static void note_state(struct dp_inspector *in, struct dp_flow *f)
{
	if (f->state == DP_FLOW_CLOSED) {
		if (f->list == DP_LIST_EMBRYONIC)
			in->ctx.ctr->flows_embryonic--;
		dp_pool_detach(&in->ctx, f);
		dp_ft_move(&in->ft, f, DP_LIST_CLOSED);
	} else if (f->list == DP_LIST_EMBRYONIC && f->established) {
		in->ctx.ctr->flows_embryonic--;
		dp_ft_move(&in->ft, f, DP_LIST_LIVE);
		dp_protect_established(&in->ctx, f->src_host);
	}
}

void dp_inspector_free(struct dp_inspector *in)
{
	destroy_all(in);
	dp_smtpflow_pool_free(&in->ctx);
	dp_objpool_fini(&in->ctx.flows);
	dp_objpool_fini(&in->ctx.sessions);
	dp_objpool_fini(&in->ctx.ooo_holders);
	dp_bufpool_fini(&in->ctx.retained);
	dp_ft_free(&in->ft);
	dp_rules_free(&in->ctx.rules);
	sl_strbuf_free(&in->ctx.event_buf);
	if (in->ctx.protect)
		dp_protect_free(&in->protect);
	in->ctx.protect = NULL;
}

static bool smtp_port(const struct dp_config *c, const struct dp_pkt *p)
{
	return dp_config_is_smtp_port(c, p->dport) || dp_config_is_smtp_port(c, p->sport);
}

/* Passive mid-stream: who is the client? The side talking to an SMTP port, else the
 * side that does not greet with 220. */
static int passive_dir(const struct dp_config *c, const uint8_t *frame, const struct dp_pkt *p)
{
	if (dp_config_is_smtp_port(c, p->dport))
		return SL_CLIENT;
	if (dp_config_is_smtp_port(c, p->sport))
		return SL_SERVER;
	if (p->payload_len >= 3 && memcmp(frame + p->payload_off, "220", 3) == 0)
		return SL_SERVER;
	return SL_CLIENT;
}

static void send_out(dp_send_fn send, void *arg, const struct dp_flow *f, const struct dp_out *o)
{
	if (send && o->n)
		send(arg, f, o);
}

/* Make room for one more flow: the oldest half-open flow goes first (a SYN flood fills
 * that list, and its entries never carried a byte), else an established flow idle for
 * evict_idle, both ends reset. False when nothing may go. */
static bool evict_one(struct dp_inspector *in)
{
	struct dp_ctx *c = &in->ctx;
	struct dp_flow *f = dp_ft_oldest(&in->ft, DP_LIST_CLOSED);
	if (f) {
		flow_destroy(in, f); /* already closed: only kept for late packets */
		return true;
	}
	if ((f = dp_ft_oldest(&in->ft, DP_LIST_EMBRYONIC))) {
		c->ctr->flows_evicted_embryonic++;
		dp_protect_evicted(c);
		flow_destroy(in, f);
		return true;
	}
	f = dp_ft_oldest(&in->ft, DP_LIST_LIVE);
	if (!f || c->now_ms - f->last_ms < c->cfg->evict_idle_ms)
		return false;
	c->ctr->flows_evicted_idle++;
	dp_inspect_reset_flow(in, f, in->send, in->send_arg);
	return true;
}

void dp_inspect_reset_flow(struct dp_inspector *in, struct dp_flow *f, dp_send_fn send, void *arg)
{
	if (!in->ctx.passive && f->inspect && f->state != DP_FLOW_BYPASS) {
		struct dp_out out;
		dp_flow_reset_both(f, &out);
		send_out(send, arg, f, &out);
	}
	flow_destroy(in, f);
}

static struct dp_flow *flow_alloc(struct dp_inspector *in)
{
	struct dp_ctx *c = &in->ctx;
	while (in->ft.count >= in->ft.max || !dp_mem_fits(&c->mem, sizeof(struct dp_flow)))
		if (!evict_one(in))
			return NULL;
	dp_mem_add(&c->mem, sizeof(struct dp_flow));
	struct dp_flow *f = dp_objpool_get(&c->flows);
	if (!f) /* sized to max_flows and the memory share: only when the backing had no more */
		dp_mem_release(&c->mem, sizeof *f);
	return f;
}

static struct dp_flow *flow_create(struct dp_inspector *in, const struct dp_flow_key *k,
                                   const struct dp_pkt *p, int d, int in_role, bool detect)
{
	struct dp_ctx *c = &in->ctx;
	bool embryonic = !c->passive;
	if (embryonic && in->ft.list[DP_LIST_EMBRYONIC].count >= c->cfg->max_embryonic) {
		c->ctr->flows_evicted_embryonic++;
		dp_protect_evicted(c);
		flow_destroy(in, dp_ft_oldest(&in->ft, DP_LIST_EMBRYONIC));
	}
	struct dp_flow *f = flow_alloc(in);
	if (!f)
		return NULL;
	dp_flow_init(f, c, k, p, d, in_role, true, detect);
	dp_ft_insert(&in->ft, f, embryonic ? DP_LIST_EMBRYONIC : DP_LIST_LIVE);
	if (embryonic)
		c->ctr->flows_embryonic++;
	return f;
}

static void timer_watch(struct dp_inspector *in, struct dp_flow *f)
{
	if (in->ntimers == DP_TIMER_FLOWS && f->x && f->x->sf.pr.greet_until_ms && !f->on_timer) {
		/* no timer to release a held greeting: it goes now */
		struct dp_out out;
		f->x->sf.pr.greet_until_ms = in->ctx.now_ms;
		dp_flow_timer(f, &in->ctx, &out);
		send_out(in->send, in->send_arg, f, &out);
	}
	bool wants = f->state == DP_FLOW_TAKEOVER || (f->x && (f->x->sf.enforce_due || f->x->sf.pr.greet_until_ms));
	if (!wants || f->on_timer || in->ntimers == DP_TIMER_FLOWS)
		return;
	f->on_timer = true;
	in->timers[in->ntimers++] = f;
}

/* RSTs to both ends of an untracked connection, from this packet (fail-closed). */
static struct dp_flow *reset_untracked(struct dp_inspector *in, const uint8_t *frame,
                                       const struct dp_pkt *p, int in_role, struct dp_out *out)
{
	struct dp_flow *s = &in->scratch;
	if (!dp_flow_scratch(s, frame, p, in_role))
		return NULL;
	out->n = 0;
	/* the dropped data never reached the receiver: it expects exactly p->seq (a RST
	 * anywhere else only earns a challenge ACK) */
	out->e[out->n++] = (struct dp_emit){SL_CLIENT, true, {p->seq, 0, DP_TCP_RST, 0, NULL, 0}};
	if (p->flags & DP_TCP_ACK)
		out->e[out->n++] = (struct dp_emit){SL_SERVER, true, {p->ack, 0, DP_TCP_RST, 0, NULL, 0}};
	return s;
}

/* A frame of a connection without a flow: start one (a SYN; any packet of a capture),
 * pass it untracked, or refuse it. Returns the flow, or NULL with out set. */
static struct dp_flow *no_flow(struct dp_inspector *in, const struct dp_flow_key *k,
                               const uint8_t *frame, const struct dp_pkt *p, int in_role,
                               struct dp_out *out, struct dp_flow **scratch)
{
	struct dp_ctx *c = &in->ctx;
	bool syn = (p->flags & (DP_TCP_SYN | DP_TCP_ACK)) == DP_TCP_SYN;
	bool on_port = smtp_port(c->cfg, p);
	struct dp_syn_check chk = {DP_SYN_EXEMPT, DP_ANSWER_LIMIT, DP_PROTECT_BLOCK, DP_SRC_NONE, DP_SRC_NONE};
	if (syn && c->protect && dp_config_is_smtp_port(c->cfg, p->dport)) {
		dp_protect_syn(c, p, in_role, &chk);
		if (chk.verdict == DP_SYN_DROP || chk.verdict == DP_SYN_ANSWER) {
			out->forward = false;
			out->drop_reason = DP_DROP_PROTECT;
			if (chk.verdict == DP_SYN_DROP)
				return NULL;
			dp_responder_syn(&in->scratch, frame, p, in_role, chk.answer, c->now_ms, out);
			c->ctr->protect_cookies++;
			*scratch = &in->scratch;
			return NULL;
		}
	}
	if (!syn && c->protect && on_port) {
		enum dp_answer done;
		if (dp_responder_segment(&in->scratch, frame, p, in_role, c->now_ms, out, &done)) {
			if (done != DP_ANSWERS)
				dp_protect_handshake(c, p, done);
			*scratch = &in->scratch;
			return NULL;
		}
	}
	if (syn || c->passive) {
		if (!syn && (p->flags & DP_TCP_RST))
			return NULL;
		int d = syn ? SL_CLIENT : passive_dir(c->cfg, frame, p);
		/* a connection to the pool's service address: its host is chosen now */
		int host = syn && c->pool ? dp_pool_admit(in, frame, p, in_role, dp_flow_key_hash(k), out, scratch) : -1;
		if (host == -2) {
			dp_protect_flow_end(c, chk.host, chk.net); /* admitted, but no host to take it */
			return NULL;
		}
		struct dp_flow *f = flow_create(in, k, p, d, in_role, !on_port);
		if (f) {
			f->src_host = chk.host;
			f->src_net = chk.net;
			if (host >= 0)
				dp_pool_attach(c, f, host, frame, p);
		} else {
			dp_protect_flow_end(c, chk.host, chk.net); /* admitted, but no flow after all */
			c->ctr->uninspected[DP_UNINSPECTED_TABLE_FULL]++;
			/* a pooled connection without a flow could not be translated: never passed */
			if ((host >= 0 || dp_config_fail_closed(c->cfg, on_port)) && !c->passive) {
				out->forward = false;
				out->drop_reason = DP_DROP_FAIL_CLOSED;
			}
		}
		return f;
	}
	if (!on_port || (p->flags & DP_TCP_RST) || !p->payload_len)
		return NULL; /* mid-stream: nothing to inspect in it */
	/* data of an SMTP connection we never saw open (restart, expiry, eviction) */
	if (!dp_config_midstream_reset(c->cfg)) {
		c->ctr->uninspected[DP_UNINSPECTED_MIDSTREAM]++;
		return NULL;
	}
	out->forward = false;
	out->drop_reason = DP_DROP_MIDSTREAM_RESET;
	*scratch = reset_untracked(in, frame, p, in_role, out);
	return NULL;
}

/* A NIC that verified the checksum saves summing every byte again here. The IPv4
 * header's is always summed (20-60 bytes): Linux drops a datagram whose header sum is
 * wrong (ip_rcv_core) whatever the NIC said of its TCP checksum, and a segment the
 * server never saw must not be taken into the stream. */
static bool csum_ok(const struct dp_decoded *dec, const uint8_t *frame)
{
	if (dec->csum == DP_CSUM_BAD || !dp_pkt_ipv4_csum_ok(frame, &dec->p))
		return false;
	return dec->csum == DP_CSUM_GOOD || dp_pkt_tcp_csum_ok(frame, &dec->p);
}

void dp_inspect_decode(const uint8_t *frame, size_t len, struct dp_decoded *dec, const uint32_t *hash)
{
	dec->kind = dp_pkt_parse(frame, len, &dec->p);
	dec->csum = DP_CSUM_UNKNOWN;
	if (dec->kind != DP_PKT_TCP)
		return;
	dp_flow_key_make(&dec->p, &dec->k, NULL);
	dec->hash = hash ? *hash : dp_flow_key_hash(&dec->k);
}

struct dp_flow *dp_inspect_frame(struct dp_inspector *in, const uint8_t *frame, size_t len,
                                 int in_role, struct dp_out *out)
{
	struct dp_decoded dec;
	dp_inspect_decode(frame, len, &dec, NULL);
	return dp_inspect_decoded(in, frame, len, in_role, &dec, out);
}

struct dp_flow *dp_inspect_decoded(struct dp_inspector *in, const uint8_t *frame, size_t len,
                                   int in_role, struct dp_decoded *dec, struct dp_out *out)
{
	struct dp_ctx *c = &in->ctx;
	out->forward = true;
	out->clear_urg = false;
	out->drop_reason = -1;
	out->n = 0;
	switch (dec->kind) {
	case DP_PKT_OTHER:
		return NULL;
	case DP_PKT_MALFORMED:
		out->forward = false;
		out->drop_reason = DP_DROP_MALFORMED;
		return NULL;
	case DP_PKT_FRAGMENT:
		out->forward = false;
		out->drop_reason = DP_DROP_TCP_FRAGMENT;
		return NULL;
	case DP_PKT_TCP:
		break;
	}
	struct dp_pkt *p = &dec->p; /* the pool's SNAT rewrites it */
	const struct dp_flow_key *k = &dec->k;
	uint32_t h = dec->hash;
	struct dp_flow *f = NULL;
	if (c->pool && in_role == DP_INSIDE && (f = dp_pool_inside_flow(in, p)) &&
	    !(frame = dp_pool_snat_in(c->pool, f, frame, len, p))) {
		out->forward = false;
		out->drop_reason = DP_DROP_MALFORMED;
		return NULL;
	} /* a pool host's frame: from here on it comes from the service address */
	if (!f)
		f = dp_ft_lookup(&in->ft, k, h);
	if (!f && !smtp_port(c->cfg, p) && !c->cfg->detect)
		return NULL; /* TCP that is not SMTP: bridged untouched, no state */
	if (c->cfg->verify_checksums && !c->passive && !csum_ok(dec, frame)) {
		/* the receiver would drop it; we must not scan what it never accepts */
		out->forward = false;
		out->drop_reason = DP_DROP_BAD_CHECKSUM;
		return NULL;
	}
	if (f && (f->state == DP_FLOW_CLOSED || f->state == DP_FLOW_BYPASS) && !c->passive &&
	    (p->flags & (DP_TCP_SYN | DP_TCP_ACK | DP_TCP_RST)) == DP_TCP_SYN) {
		/* the port pair is used again: a new connection, inspected from its start (a
		 * bypassed flow, e.g. after STARTTLS, does not follow its connection's end) */
		flow_destroy(in, f);
		f = NULL;
	}
	if (!f) {
		struct dp_flow *scratch = NULL;
		f = no_flow(in, k, frame, p, in_role, out, &scratch);
		if (!f)
			return scratch;
	}
	dp_ft_touch(&in->ft, f);
	if (f->pool.pooled)
		dp_pool_recheck(c, f, p, h);
	int d = dp_flow_dir(f, p);
	uint64_t messages = c->ctr->messages;
	dp_flow_packet(f, c, frame, p, d, in_role, out);
	if (f->pool.pooled)
		dp_pool_account(c, f, p, d, messages);
	out->l3_off = p->l3_off;
	out->l4_off = p->l4_off;
	out->ip_version = p->ip_version;
	if (out->forward && (p->flags & DP_TCP_URG) && f->inspect && f->state != DP_FLOW_BYPASS &&
	    !c->passive) {
		/* a receiver without SO_OOBINLINE takes the urgent byte out of the stream we
		 * scanned: the segment goes on as ordinary data */
		out->clear_urg = true;
		c->ctr->urg_cleared++;
	}
	note_state(in, f);
	timer_watch(in, f);
	return f;
}

void dp_inspect_tick(struct dp_inspector *in, dp_send_fn send, void *arg)
{
	struct dp_ctx *c = &in->ctx;
	struct dp_out out;
	for (unsigned i = 0; i < in->ntimers;) {
		struct dp_flow *f = in->timers[i];
		dp_flow_timer(f, c, &out);
		send_out(send, arg, f, &out);
		note_state(in, f);
		if (f->state == DP_FLOW_TAKEOVER || (f->x && (f->x->sf.enforce_due || f->x->sf.pr.greet_until_ms)))
			i++;
		else {
			f->on_timer = false;
			in->timers[i] = in->timers[--in->ntimers];
		}
	}
	const struct dp_config *cfg = c->cfg;
	struct dp_flow *f;
	/* closed flows (already counted closed), in the order they closed */
	for (unsigned n = 0; (f = dp_ft_oldest(&in->ft, DP_LIST_CLOSED)) && n < EXPIRE_SCAN; n++) {
		if (c->now_ms - f->closed_ms <= cfg->closed_timeout_ms)
			break; /* everything after closed later */
		flow_destroy(in, f);
	}
	/* half-open flows: nothing was forwarded on them, they go quietly */
	for (unsigned n = 0; (f = dp_ft_oldest(&in->ft, DP_LIST_EMBRYONIC)) && n < EXPIRE_SCAN; n++) {
		if (c->now_ms - f->last_ms <= cfg->embryonic_timeout_ms)
			break;
		c->ctr->flows_expired++;
		flow_destroy(in, f);
	}
	/* the others after idle_timeout without a packet, least recently used first */
	for (unsigned n = 0; (f = dp_ft_oldest(&in->ft, DP_LIST_LIVE)) && n < EXPIRE_SCAN; n++) {
		if (c->now_ms - f->last_ms <= cfg->idle_timeout_ms)
			break; /* everything after was used later */
		c->ctr->flows_expired++;
		/* both ends reset: no half-inspected connection resumes later */
		dp_inspect_reset_flow(in, f, send, arg);
	}
	dp_pool_sweep(in, send, arg);
	c->ctr->memory_bytes = c->mem.used;
	dp_protect_tick(c);
}

static void brief(const struct dp_flow *f, uint64_t now, struct dp_flow_brief *b)
{
	memset(b, 0, sizeof b[0]);
	const struct dp_smtpflow *sf = dp_flow_sf(f);
	if (sf) {
		dp_addr_text(&sf->client_addr, b->client, sizeof b->client);
		dp_addr_text(&sf->server_addr, b->server, sizeof b->server);
		b->bundle_id = sf->scan_rules ? sf->scan_rules->id : 0;
	}
	b->state = f->state == DP_FLOW_CLOSED ? "closed" : f->state == DP_FLOW_BYPASS ? "uninspected" :
	           f->state == DP_FLOW_TAKEOVER ? "enforcing" : f->established ? "open" : "handshake";
	b->bytes_in = f->dir[SL_CLIENT].rcv_off;
	b->bytes_out = f->dir[SL_SERVER].rcv_off;
	b->age_ms = now - f->created_ms;
	b->idle_ms = now - f->last_ms;
}

unsigned dp_inspector_top_flows(const struct dp_inspector *in, struct dp_flow_brief *out, unsigned max)
{
	unsigned n = 0;
	uint64_t now = in->ctx.now_ms;
	for (int l = 0; l < DP_NLISTS && max; l++)
		for (const struct dp_flow *f = dp_ft_oldest(&in->ft, l); f; f = f->lnext) {
			uint64_t bytes = f->dir[0].rcv_off + f->dir[1].rcv_off;
			/* keep out[] sorted, most bytes first; insertion is fine for a top list */
			unsigned at = n;
			while (at && out[at - 1].bytes_in + out[at - 1].bytes_out < bytes)
				at--;
			if (at == max)
				continue;
			unsigned last = n < max ? n : max - 1;
			memmove(out + at + 1, out + at, (last - at) * sizeof *out);
			brief(f, now, &out[at]);
			if (n < max)
				n++;
		}
	return n;
}

void dp_inspect_finish(struct dp_inspector *in)
{
	for (struct dp_flow *f = dp_ft_oldest(&in->ft, DP_LIST_LIVE); f; f = f->lnext)
		if (f->state != DP_FLOW_CLOSED)
			dp_flow_flush_gaps(f, &in->ctx);
	destroy_all(in);
}
