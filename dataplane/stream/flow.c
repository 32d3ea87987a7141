#include "stream/flow.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "pool/poolflow.h"

#define DEFAULT_MSS 536
#define MAX_SEGMENT 1448           /* 1500 MTU - IPv6 - TCP with timestamps */
#define TAKEOVER_RTO_MS 300
#define TAKEOVER_RETRIES 6
#define ENFORCE_WAIT_MS 3000       /* longest wait for the server's earlier replies */

static const char reply_221[] = "221 2.0.0 Bye\r\n";
static const char reply_421[] = "421 4.7.0 Closing connection after policy verdict\r\n";

static uint16_t syn_mss(const uint8_t *frame, const struct dp_pkt *p)
{
	const uint8_t *o = dp_tcp_option(frame, p, 2, 4);
	return o ? (uint16_t)(o[2] << 8 | o[3]) : DEFAULT_MSS;
}

static void sockaddr_of(const struct dp_pkt *p, bool src, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof *ss);
	const uint8_t *a = src ? p->src : p->dst;
	uint16_t port = src ? p->sport : p->dport;
	if (p->ip_version == 4) {
		struct sockaddr_in *s = (struct sockaddr_in *)ss;
		s->sin_family = AF_INET;
		memcpy(&s->sin_addr, a, 4);
		s->sin_port = htons(port);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;
		s->sin6_family = AF_INET6;
		memcpy(&s->sin6_addr, a, 16);
		s->sin6_port = htons(port);
	}
}

void dp_flow_init(struct dp_flow *f, struct dp_ctx *ctx, const struct dp_flow_key *key,
                  const struct dp_pkt *p, int d, int in_role, bool inspect, bool detect)
{
	memset(f, 0, sizeof *f);
	f->key = *key;
	f->hash = dp_flow_key_hash(key);
	f->state = inspect ? DP_FLOW_OPEN : DP_FLOW_BYPASS;
	/* d: direction of this first packet; the client is its sender when d == SL_CLIENT */
	bool sender_is_lo = dp_flow_key_is_lo(key, p);
	f->client_is_lo = d == SL_CLIENT ? sender_is_lo : !sender_is_lo;
	f->client_role = (uint8_t)(d == SL_CLIENT ? in_role : !in_role);
	f->mem.limit = ctx->cfg->max_flow_memory;
	f->mem.parent = &ctx->mem;
	f->mss[0] = f->mss[1] = DEFAULT_MSS;
	f->created_ms = f->last_ms = ctx->now_ms;
	f->inspect = inspect;
	f->detect = detect;
	/* a capture may start anywhere: there is no handshake to wait for */
	f->synack_seen = f->established = ctx->passive;
	f->src_host = f->src_net = DP_SRC_NONE;
	ctx->ctr->flows_created++;
	ctx->ctr->flows_active++;
}

/* The connection's first data: its SMTP side starts. False without memory for it. */
static bool session_start(struct dp_flow *f, struct dp_ctx *ctx, const struct dp_pkt *p, int d)
{
	if (!dp_mem_charge(&f->mem, sizeof(struct dp_session)))
		return false;
	struct dp_session *x = dp_objpool_get(&ctx->sessions);
	if (!x) { /* the pool is sized to the memory cap: full is out of memory */
		dp_mem_release(&f->mem, sizeof *x);
		return false;
	}
	memset(&x->to, 0, sizeof x->to);
	struct sockaddr_storage client, server;
	sockaddr_of(p, d == SL_CLIENT, &client);
	sockaddr_of(p, d != SL_CLIENT, &server);
	dp_smtpflow_init(&x->sf, ctx, f->dir, &client, &server, f->detect);
	dp_protect_session_start(&x->sf, f->src_host, f->src_net);
	f->x = x;
	return true;
}

void dp_flow_close(struct dp_flow *f, struct dp_ctx *ctx)
{
	(void)ctx;
	if (f->x)
		dp_smtpflow_close(&f->x->sf);
}

void dp_flow_free(struct dp_flow *f, struct dp_ctx *ctx)
{
	dp_flow_close(f, ctx);
	if (f->x) {
		dp_smtpflow_free(&f->x->sf);
		dp_objpool_put(&ctx->sessions, f->x);
		dp_mem_release(&f->mem, sizeof *f->x);
		f->x = NULL;
	}
	dp_tcpdir_free(&f->dir[0]);
	dp_tcpdir_free(&f->dir[1]);
	ctx->ctr->flows_active--;
}

size_t dp_flow_memory(const struct dp_flow *f)
{
	return sizeof *f + dp_tcpdir_memory(&f->dir[0]) + dp_tcpdir_memory(&f->dir[1]) +
	       (f->x ? sizeof *f->x + dp_smtpflow_memory(&f->x->sf) : 0);
}

int dp_flow_dir(const struct dp_flow *f, const struct dp_pkt *p)
{
	bool from_lo = dp_flow_key_is_lo(&f->key, p);
	if (f->key.lo_port == f->key.hi_port &&
	    memcmp(f->key.lo_addr, f->key.hi_addr, sizeof f->key.lo_addr) == 0)
		from_lo = true; /* a flow to itself: cannot tell; treat as client */
	return from_lo == f->client_is_lo ? SL_CLIENT : SL_SERVER;
}

/* ---- output helpers --------------------------------------------------------------- */

static struct dp_emit *emit(struct dp_out *out, int dir)
{
	if (out->n == DP_MAX_EMIT)
		return NULL;
	struct dp_emit *e = &out->e[out->n++];
	memset(e, 0, sizeof *e);
	e->dir = dir;
	return e;
}

/* The acknowledgement and window the sender of direction d last sent. */
static void sender_state(const struct dp_flow *f, int d, uint32_t *ack, uint16_t *win)
{
	*ack = f->have_tmpl[d] ? f->tmpl_pkt[d].ack : 0;
	*win = f->have_tmpl[d] ? f->tmpl_pkt[d].window : 65535;
}

/* Send stored bytes [from, to) of direction d as segments; FIN on the last when due. */
static uint64_t emit_range(struct dp_flow *f, int d, uint64_t from, uint64_t to, struct dp_out *out)
{
	struct dp_tcpdir *t = &f->dir[d];
	uint32_t ack;
	uint16_t win;
	sender_state(f, d, &ack, &win);
	uint16_t mss = f->mss[d] > MAX_SEGMENT ? MAX_SEGMENT : f->mss[d];
	while (from < to) {
		size_t avail;
		const uint8_t *b = dp_tcpdir_bytes(t, from, &avail);
		if (!b)
			break;
		size_t n = (size_t)(to - from);
		if (n > mss)
			n = mss;
		struct dp_emit *e = emit(out, d);
		if (!e)
			break;
		e->seg = (struct dp_tcp_out){dp_tcpdir_seq(t, from), ack, DP_TCP_ACK, win, b, n};
		from += n;
		if (from == to)
			e->seg.flags |= DP_TCP_PSH;
	}
	return from;
}

static void emit_fin_if_due(struct dp_flow *f, int d, struct dp_out *out, bool orig_has_fin)
{
	struct dp_tcpdir *t = &f->dir[d];
	if (!t->fin || f->fin_sent[d] || t->fwd_off != t->fin_off || t->rcv_off != t->fin_off)
		return;
	f->fin_sent[d] = true;
	if (orig_has_fin && out->forward)
		return; /* the original carries it */
	if (out->n && out->e[out->n - 1].dir == d) {
		out->e[out->n - 1].seg.flags |= DP_TCP_FIN;
		return;
	}
	struct dp_emit *e = emit(out, d);
	if (!e) {
		f->fin_sent[d] = false;
		return;
	}
	uint32_t ack;
	uint16_t win;
	sender_state(f, d, &ack, &win);
	e->seg = (struct dp_tcp_out){dp_tcpdir_seq(t, t->fin_off), ack, DP_TCP_FIN | DP_TCP_ACK, win, NULL, 0};
}

void dp_flow_reset_both(struct dp_flow *f, struct dp_out *out)
{
	out->forward = false;
	out->drop_reason = -1;
	out->n = 0;
	for (int d = 0; d < 2; d++) {
		/* a RST towards the receiver of direction d, in its expected sequence */
		struct dp_tcpdir *t = &f->dir[d];
		if (!t->started || (!f->have_tmpl[d] && !f->have_tmpl[!d]))
			continue;
		struct dp_emit *e = emit(out, d);
		if (!e)
			continue;
		e->injected = true;
		e->seg = (struct dp_tcp_out){dp_tcpdir_seq(t, t->fwd_off), 0, DP_TCP_RST, 0, NULL, 0};
	}
	f->state = DP_FLOW_CLOSED;
}

bool dp_flow_scratch(struct dp_flow *s, const uint8_t *frame, const struct dp_pkt *p, int in_role)
{
	/* only what dp_flow_build and dp_flow_out_role read: this runs per refused SYN of a
	 * flood, and a whole dp_flow is kilobytes */
	s->have_tmpl[SL_CLIENT] = s->have_tmpl[SL_SERVER] = false;
	s->client_role = (uint8_t)in_role; /* the sender plays "client" */
	if (p->payload_off > DP_TMPL_MAX)
		return false;
	memcpy(s->tmpl[SL_CLIENT], frame, p->payload_off);
	s->tmpl_pkt[SL_CLIENT] = *p;
	s->have_tmpl[SL_CLIENT] = true;
	return true;
}

size_t dp_flow_build(const struct dp_flow *f, const struct dp_emit *e, uint8_t *out, size_t cap)
{
	int d = e->dir;
	size_t n = 0;
	if (f->have_tmpl[d])
		n = dp_build_tcp(out, cap, f->tmpl[d], &f->tmpl_pkt[d], false, &e->seg);
	else if (f->have_tmpl[!d])
		n = dp_build_tcp(out, cap, f->tmpl[!d], &f->tmpl_pkt[!d], true, &e->seg);
	if (n && f->pool.pooled && d == SL_CLIENT)
		dp_pool_nat_built(f, out, n); /* built in the client's view: to the host's address */
	return n;
}

/* ---- forwarding ------------------------------------------------------------------- */

static uint64_t limit_of(const struct dp_flow *f, int d)
{
	const struct dp_tcpdir *t = &f->dir[d];
	if (!f->x || f->state == DP_FLOW_BYPASS)
		return t->rcv_off;
	return dp_smtpflow_limit(&f->x->sf, d, t->rcv_off);
}

/* Send what direction d may now send. The current packet (of direction cur, result r)
 * goes out unchanged when it is exactly the next bytes and all of it may go. */
static void release(struct dp_flow *f, int d, const struct dp_pkt *p, int cur,
                    const struct dp_seg_result *r, struct dp_out *out)
{
	struct dp_tcpdir *t = &f->dir[d];
	if (!t->started)
		return;
	uint64_t lim = limit_of(f, d);
	if (d == cur && p->payload_len && r->status == DP_SEG_OK && !r->old_bytes &&
	    !r->held_ooo && r->seg_off == t->fwd_off && !(f->x && f->x->sf.rewrote[d]) &&
	    lim >= r->seg_off + p->payload_len && r->new_to >= r->seg_off + p->payload_len) {
		out->forward = true;
		dp_tcpdir_forwarded(t, r->seg_off + p->payload_len);
	}
	if (lim > t->fwd_off) {
		uint64_t to = emit_range(f, d, t->fwd_off, lim, out);
		dp_tcpdir_forwarded(t, to);
	}
	emit_fin_if_due(f, d, out, d == cur && (p->flags & DP_TCP_FIN));
}

/* A retransmission (no new bytes): let the receiver have again what it was sent. */
static void retransmission(struct dp_flow *f, int d, const struct dp_pkt *p,
                           const struct dp_seg_result *r, struct dp_out *out)
{
	struct dp_tcpdir *t = &f->dir[d];
	uint64_t end = r->seg_off + p->payload_len;
	if (end <= t->fwd_off && !r->rewritten) {
		out->forward = true; /* identical bytes the receiver already got or lost */
		return;
	}
	/* partly held, or bytes we rewrote: send only the part already forwarded, from our
	 * copy (bytes before head_off were acknowledged: the receiver has ours) */
	uint64_t from = r->seg_off > t->head_off ? r->seg_off : t->head_off;
	uint64_t to = end < t->fwd_off ? end : t->fwd_off;
	if (from < to)
		emit_range(f, d, from, to, out);
}

/* ---- enforcement and takeover ------------------------------------------------------ */

static void takeover_send(struct dp_flow *f, struct dp_ctx *ctx, struct dp_out *out, uint64_t from)
{
	struct dp_tcpdir *c = &f->dir[SL_CLIENT];
	uint32_t ack;
	uint16_t win;
	sender_state(f, SL_SERVER, &ack, &win);
	ack = dp_tcpdir_seq(c, c->rcv_off) + (c->fin && c->rcv_off == c->fin_off ? 1 : 0);
	const struct dp_tcpdir *s = &f->dir[SL_SERVER];
	uint64_t end = f->x->to.out_len;
	do {
		struct dp_emit *e = emit(out, SL_SERVER);
		if (!e)
			return;
		size_t n = (size_t)(end - from);
		if (n > MAX_SEGMENT)
			n = MAX_SEGMENT;
		e->injected = true;
		e->seg = (struct dp_tcp_out){dp_tcpdir_seq(s, f->x->to.base_off + from), ack,
		                             DP_TCP_ACK | (n ? DP_TCP_PSH : 0), win, f->x->to.out + from, n};
		from += n;
		if (from == end && f->x->to.fin_sent)
			e->seg.flags |= DP_TCP_FIN;
	} while (from < end);
	f->x->to.last_send_ms = ctx->now_ms;
}

static void takeover_append(struct dp_flow *f, const char *s, size_t n)
{
	if (f->x->to.out_len + n > sizeof f->x->to.out)
		n = sizeof f->x->to.out - f->x->to.out_len;
	memcpy(f->x->to.out + f->x->to.out_len, s, n);
	f->x->to.out_len += n;
}

/* Answer the client's first line after the verdict: QUIT gets 221, anything else 421;
 * then we close. */
static void takeover_lines(struct dp_flow *f)
{
	struct dp_tcpdir *c = &f->dir[SL_CLIENT];
	if (f->x->to.answered)
		return;
	size_t len;
	const uint8_t *b = dp_tcpdir_bytes(c, f->x->to.client_line, &len);
	if (!b || !len)
		return;
	const uint8_t *lf = memchr(b, '\n', len);
	if (!lf)
		return;
	bool quit = lf - b >= 4 && strncasecmp((const char *)b, "QUIT", 4) == 0 &&
	            (lf - b == 4 || b[4] == '\r' || b[4] == ' ');
	if (quit)
		takeover_append(f, reply_221, sizeof reply_221 - 1);
	else
		takeover_append(f, reply_421, sizeof reply_421 - 1);
	f->x->to.answered = true;
	f->x->to.fin_sent = true;
}

static void enforce(struct dp_flow *f, struct dp_ctx *ctx, struct dp_out *out)
{
	struct dp_enforce *e = &f->x->sf.enf;
	struct dp_tcpdir *c = &f->dir[SL_CLIENT], *s = &f->dir[SL_SERVER];
	if (e->server_upto > s->fwd_off && e->server_upto <= s->rcv_off) {
		/* replies the client is owed before ours (a protection close at a reply) */
		uint64_t to = emit_range(f, SL_SERVER, s->fwd_off, e->server_upto, out);
		dp_tcpdir_forwarded(s, to);
	}
	/* 1. reset the server where it expects the client's next byte: it never sees the
	 *    end of the message, so it never commits it */
	struct dp_emit *rst = emit(out, SL_CLIENT);
	if (rst)
		rst->injected = true;
	if (rst)
		rst->seg = (struct dp_tcp_out){dp_tcpdir_seq(c, c->fwd_off), 0, DP_TCP_RST, 0, NULL, 0};
	/* 2. from now on we are the server for the client: the verdict's reply, then the
	 *    answer to what the client pipelined after the message */
	f->state = DP_FLOW_TAKEOVER;
	memset(&f->x->to, 0, sizeof f->x->to);
	f->x->to.base_off = s->fwd_off;
	f->x->to.client_line = e->end_off;
	takeover_append(f, e->reply, e->reply_len);
	if (e->protect) {
		/* a protection close: our reply ends the session, whatever the client says next */
		f->x->to.answered = true;
		f->x->to.fin_sent = true;
	} else {
		takeover_lines(f);
	}
	takeover_send(f, ctx, out, 0);
	dp_smtpflow_enforced(&f->x->sf);
}

static void takeover_packet(struct dp_flow *f, struct dp_ctx *ctx, const struct dp_pkt *p,
                            const uint8_t *frame, int d, struct dp_out *out)
{
	out->forward = false;
	out->drop_reason = DP_DROP_ENFORCED;
	if (d == SL_SERVER)
		return; /* the server was reset: nothing of it reaches the client any more */
	struct dp_tcpdir *c = &f->dir[SL_CLIENT];
	const struct dp_tcpdir *s = &f->dir[SL_SERVER];
	if (p->flags & DP_TCP_RST) {
		f->state = DP_FLOW_CLOSED;
		f->closed_ms = ctx->now_ms;
		return;
	}
	if (p->flags & DP_TCP_ACK) {
		int64_t a = (int64_t)(int32_t)(p->ack - dp_tcpdir_seq(s, f->x->to.base_off));
		if (a > 0 && (uint64_t)a <= f->x->to.out_len + (f->x->to.fin_sent ? 1 : 0)) {
			if ((uint64_t)a > f->x->to.acked)
				f->x->to.acked = (uint64_t)a > f->x->to.out_len ? f->x->to.out_len : (uint64_t)a;
			if (f->x->to.fin_sent && (uint64_t)a == f->x->to.out_len + 1)
				f->x->to.fin_acked = true;
		}
	}
	bool news = false;
	if (p->payload_len) {
		struct dp_seg_result r;
		dp_tcpdir_data(c, p->seq, frame + p->payload_off, p->payload_len, &r);
		news = r.new_to > r.new_from;
		dp_tcpdir_forwarded(c, c->rcv_off); /* consumed by us */
		if (r.old_bytes && !news) {
			/* the client did not get our answer: send it again */
			takeover_send(f, ctx, out, f->x->to.acked);
			return;
		}
	}
	if (p->flags & DP_TCP_FIN)
		dp_tcpdir_fin(c, p->seq + p->payload_len);
	size_t before = f->x->to.out_len;
	if (news)
		takeover_lines(f);
	if (f->x->to.answered) /* we acknowledge the client's bytes ourselves: keep none */
		dp_tcpdir_ack(c, dp_tcpdir_seq(c, c->rcv_off));
	bool client_fin = c->fin && c->rcv_off == c->fin_off;
	if (client_fin && !f->x->to.fin_sent)
		f->x->to.fin_sent = true; /* the client closed: close our side too */
	if (f->x->to.out_len > before || news || (p->flags & DP_TCP_FIN))
		takeover_send(f, ctx, out, before < f->x->to.acked ? f->x->to.acked : before);
	if (f->x->to.fin_acked && client_fin) {
		f->state = DP_FLOW_CLOSED;
		f->closed_ms = ctx->now_ms;
	}
}

/* ---- the packet path -------------------------------------------------------------- */

/* Headers copied in constant 32-byte pieces, the last one overlapping the one before:
 * gcc inlines a memcpy of unknown length (and a loop of whole pieces, made back into
 * one) as `rep movsq`, whose start-up made this copy, done for every packet, half of
 * dp_flow_packet's own time. */
static void copy_headers(uint8_t *dst, const uint8_t *src, size_t n)
{
	if (n < 32) {
		memcpy(dst, src, n);
		return;
	}
	for (size_t i = 0; i < n; i += 32) {
		size_t at = i + 32 <= n ? i : n - 32;
		memcpy(dst + at, src + at, 32);
	}
}

static void keep_template(struct dp_flow *f, int d, const uint8_t *frame, const struct dp_pkt *p)
{
	if (p->payload_off > DP_TMPL_MAX)
		return;
	copy_headers(f->tmpl[d], frame, p->payload_off);
	f->tmpl_pkt[d] = *p;
	f->tmpl_pkt[d].payload_len = 0;
	f->have_tmpl[d] = true;
}

static void refused(struct dp_flow *f, struct dp_ctx *ctx, const struct dp_seg_result *r,
                    struct dp_out *out)
{
	switch (r->status) {
	case DP_SEG_CONFLICT:
		out->drop_reason = r->old_bytes ? DP_DROP_RETRANSMIT_CONFLICT : DP_DROP_OOO_CONFLICT;
		if (f->x)
			dp_smtpflow_overlap(&f->x->sf);
		return;
	case DP_SEG_OOO_FULL:
		out->drop_reason = DP_DROP_OOO_FULL;
		return;
	case DP_SEG_MEMORY:
		out->drop_reason = DP_DROP_FLOW_MEMORY;
		if (!dp_mem_fits(&ctx->mem, 1) || ctx->mem.used + 65536 > ctx->mem.limit) {
			/* the worker's share of max_memory is used up */
			if (dp_config_fail_closed(ctx->cfg, !f->detect)) {
				out->drop_reason = DP_DROP_FAIL_CLOSED;
			} else if (f->inspect && f->state == DP_FLOW_OPEN) {
				f->state = DP_FLOW_BYPASS; /* fail-open: stop inspecting this flow */
				ctx->ctr->uninspected[DP_UNINSPECTED_MEMORY]++;
			}
		}
		return;
	case DP_SEG_WINDOW:
		out->drop_reason = DP_DROP_OUT_OF_WINDOW;
		return;
	case DP_SEG_OK:
		return;
	}
}

/* Passive: skip missing bytes (see dp_tcpdir_skip_gap), telling the engine. */
static uint64_t skip_gap(struct dp_flow *f, int d, uint64_t upto)
{
	struct dp_tcpdir *t = &f->dir[d];
	struct dp_seg_result g;
	uint64_t skipped = dp_tcpdir_skip_gap(t, upto, &g);
	if (skipped && f->x) {
		dp_smtpflow_gap(&f->x->sf, d, skipped);
		size_t n;
		const uint8_t *b = dp_tcpdir_bytes(t, g.new_from, &n);
		if (b && g.new_to > g.new_from)
			dp_smtpflow_data(&f->x->sf, d, g.new_from, b, (size_t)(g.new_to - g.new_from));
	}
	return skipped;
}

/* Passive: data the reassembler could not take; skip the gap and try once more. */
static void passive_data(struct dp_flow *f, struct dp_ctx *ctx, int d, const uint8_t *pl,
                         uint32_t seq, uint32_t len, struct dp_seg_result *r)
{
	struct dp_tcpdir *t = &f->dir[d];
	dp_tcpdir_data(t, seq, pl, len, r);
	for (int tries = 0; tries < 4 && (r->status == DP_SEG_OOO_FULL || r->status == DP_SEG_MEMORY); tries++) {
		if (!skip_gap(f, d, DP_SKIP_HELD))
			break;
		dp_tcpdir_data(t, seq, pl, len, r);
	}
	(void)ctx;
}

/* Passive: the receiver acknowledged bytes the capture does not have (lost by the
 * capture, not by the network): give up on them now, so both streams stay in step. */
static void passive_ack_gap(struct dp_flow *f, int d, uint32_t ack)
{
	struct dp_tcpdir *t = &f->dir[d];
	int64_t off = dp_tcpdir_offset(t, ack);
	if (t->fin && off > (int64_t)t->fin_off)
		off = (int64_t)t->fin_off;
	/* one byte past the data is the FIN we may not have seen */
	while (off > (int64_t)t->rcv_off + 1 ||
	       (t->nooo && (int64_t)t->ooo[0].off < off && off > (int64_t)t->rcv_off))
		if (!skip_gap(f, d, (uint64_t)off))
			break;
}

/* A SYN or SYN-ACK, inline: false when it is dropped. A Linux receiver answers a SYN
 * with another ISN on a connection under way with a challenge ACK and keeps the
 * connection (RFC 5961), so following the new ISN would leave the real byte stream
 * unparsed: only a client that restarts its connect before the server answered may
 * change its ISN. Data on a SYN (TCP Fast Open) is refused: the client sends the SYN
 * again without it. */
static bool syn_ok(struct dp_flow *f, const struct dp_pkt *p, int d, struct dp_out *out)
{
	struct dp_tcpdir *t = &f->dir[d];
	bool synack = p->flags & DP_TCP_ACK;
	out->drop_reason = DP_DROP_SYN_MISMATCH;
	if (p->payload_len) {
		out->drop_reason = DP_DROP_SYN_DATA;
		return false;
	}
	if (d == SL_SERVER) {
		const struct dp_tcpdir *c = &f->dir[SL_CLIENT];
		if (!synack || !c->started || p->ack != dp_tcpdir_seq(c, 0))
			return false; /* answers no SYN of this connection */
		return !t->started || p->seq + 1 == t->isn;
	}
	if (synack)
		return false;
	if (!t->started || p->seq + 1 == t->isn)
		return true; /* the first SYN, or the same one again */
	if (f->synack_seen || f->x)
		return false;
	dp_tcpdir_free(t); /* a new attempt before any answer: follow it */
	return true;
}

/* A RST inline: does its receiver accept it? Linux resets only on a RST exactly at
 * rcv_nxt (RFC 5961; others get a challenge ACK), and rcv_nxt is what we forwarded.
 * Before the handshake completed nothing has been forwarded, so ending the state then
 * lets nothing through: a connection that lives on anyway is met as mid-stream. */
static bool rst_accepted(const struct dp_flow *f, const struct dp_pkt *p, int d)
{
	if (!f->established)
		return true;
	const struct dp_tcpdir *t = &f->dir[d];
	if (!t->started)
		return false;
	uint64_t next = t->fwd_off + (f->fin_sent[d] ? 1 : 0);
	return p->seq == dp_tcpdir_seq(t, next);
}

/* Passive: a RST in the receive window ends the connection (a blind one does not). */
static bool rst_in_window(const struct dp_flow *f, const struct dp_pkt *p, int d)
{
	const struct dp_tcpdir *t = &f->dir[d];
	if (!t->started)
		return true;
	int64_t off = dp_tcpdir_offset(t, p->seq);
	return off >= (int64_t)t->una_off - 1 && off <= (int64_t)t->rcv_off + (1 << 20);
}

static void close_now(struct dp_flow *f, struct dp_ctx *ctx)
{
	f->state = DP_FLOW_CLOSED;
	f->closed_ms = ctx->now_ms;
	ctx->ctr->flows_closed++;
	dp_flow_close(f, ctx);
}

/* A flow that cannot be inspected (no memory for its session, a failed engine):
 * on_overload decides. Returns true when the packet is done with. */
static bool overload(struct dp_flow *f, struct dp_ctx *ctx, struct dp_out *out)
{
	ctx->ctr->uninspected[DP_UNINSPECTED_MEMORY]++;
	if (dp_config_fail_closed(ctx->cfg, !f->detect) && !ctx->passive) {
		dp_flow_reset_both(f, out);
		out->drop_reason = DP_DROP_FAIL_CLOSED;
		return true;
	}
	if (!ctx->passive)
		f->state = DP_FLOW_BYPASS;
	return false;
}

/* The sender of direction d acknowledges bytes of the other direction that never went
 * to it: past what was forwarded (and its FIN). Its peer sent at least that much, so a
 * segment the peer would discard is always caught; an honest sender never does it. */
static bool acks_unsent(const struct dp_flow *f, int d, uint32_t ack)
{
	const struct dp_tcpdir *o = &f->dir[!d];
	int64_t off = dp_tcpdir_offset(o, ack);
	return off > (int64_t)(o->fwd_off + (f->fin_sent[!d] ? 1 : 0));
}

static bool expected_port(const struct dp_flow *f, int d, int in_role)
{
	return in_role == (d == SL_CLIENT ? f->client_role : !f->client_role);
}

void dp_flow_packet(struct dp_flow *f, struct dp_ctx *ctx, const uint8_t *frame,
                    const struct dp_pkt *p, int d, int in_role, struct dp_out *out)
{
	out->forward = false;
	out->clear_urg = false;
	out->drop_reason = -1;
	out->n = 0;
	bool passive = ctx->passive;
	if (!passive && ctx->cfg->direction_check && !expected_port(f, d, in_role)) {
		/* a "server" packet from the outside (or the reverse) is forged */
		out->drop_reason = DP_DROP_WRONG_PORT;
		return;
	}
	f->last_ms = ctx->now_ms;

	if (f->x && f->x->sf.overload && f->state == DP_FLOW_OPEN) {
		f->x->sf.overload = false; /* no memory for its engine */
		if (overload(f, ctx, out))
			return;
	}
	if (f->state == DP_FLOW_BYPASS && !passive) {
		out->forward = true;
		return;
	}
	if ((p->flags & DP_TCP_SYN) && !passive && f->state != DP_FLOW_CLOSED && !syn_ok(f, p, d, out))
		return;
	if (!passive && f->established && !(p->flags & (DP_TCP_ACK | DP_TCP_RST | DP_TCP_SYN))) {
		/* Linux discards it unread (tcp_validate_incoming): scanning it would show us
		 * bytes the receiver never takes, and its later real copy would "conflict" */
		out->drop_reason = DP_DROP_NO_ACK;
		return;
	}
	out->drop_reason = -1;
	keep_template(f, d, frame, p);
	if (f->state == DP_FLOW_TAKEOVER) {
		takeover_packet(f, ctx, p, frame, d, out);
		return;
	}
	struct dp_tcpdir *t = &f->dir[d];
	if (f->state == DP_FLOW_CLOSED) {
		/* after a RST (or our takeover): data never passes; control packets may */
		if (p->payload_len) {
			out->drop_reason = DP_DROP_ENFORCED;
			return;
		}
		out->forward = !passive;
		return;
	}
	if (p->flags & DP_TCP_RST) {
		out->forward = true;
		if (passive ? rst_in_window(f, p, d) : rst_accepted(f, p, d))
			close_now(f, ctx);
		else
			ctx->ctr->rst_ignored++;
		return;
	}
	uint32_t seq = p->seq;
	if (p->flags & DP_TCP_SYN) {
		if (!t->started || (passive && dp_tcpdir_offset(t, p->seq + 1) != 0)) {
			if (t->started)
				dp_tcpdir_free(t);
			dp_tcpdir_init(t, p->seq + 1, ctx->cfg->max_ooo_segments, &f->mem,
			               &ctx->ooo_holders, &ctx->retained, passive);
		}
		f->mss[!d] = syn_mss(frame, p); /* what the SYN's sender accepts */
		if (d == SL_SERVER)
			f->synack_seen = true;
		seq = p->seq + 1;
	} else if (!t->started) {
		if (!passive) {
			/* the server's side before its SYN-ACK (a challenge ACK of another
			 * connection, a forgery): no data of it passes */
			out->forward = !p->payload_len;
			out->drop_reason = p->payload_len ? DP_DROP_NO_HANDSHAKE : -1;
			return;
		}
		/* first packet of this direction without a SYN (captures, mid-stream) */
		dp_tcpdir_init(t, p->seq, ctx->cfg->max_ooo_segments, &f->mem,
		               &ctx->ooo_holders, &ctx->retained, passive);
	}
	if (!passive && ctx->cfg->direction_check && f->established && (p->flags & DP_TCP_ACK) &&
	    f->dir[!d].started && acks_unsent(f, d, p->ack)) {
		/* Linux discards a segment that acknowledges what it never sent (RFC 793
		 * 3.9): its bytes must not be scanned either */
		out->drop_reason = DP_DROP_BAD_ACK;
		return;
	}
	if ((p->flags & DP_TCP_ACK) && f->dir[!d].started) {
		if (!f->established && d == SL_CLIENT && f->synack_seen && !(p->flags & DP_TCP_SYN) &&
		    dp_tcpdir_offset(&f->dir[SL_SERVER], p->ack) == 0)
			f->established = true; /* the client acknowledged the SYN-ACK */
		dp_tcpdir_ack(&f->dir[!d], p->ack);
		if (passive)
			passive_ack_gap(f, !d, p->ack);
	}
	if (p->payload_len && !f->established) {
		out->drop_reason = DP_DROP_NO_HANDSHAKE;
		return;
	}
	if (p->payload_len && f->inspect && !f->x) {
		/* the connection's first data: its SMTP side starts now, not at the SYN */
		if (!session_start(f, ctx, p, d) || f->x->sf.overload) {
			if (f->x)
				f->x->sf.overload = false;
			if (overload(f, ctx, out))
				return;
			if (!passive) {
				out->forward = true;
				return;
			}
		}
	}

	struct dp_seg_result r;
	memset(&r, 0, sizeof r);
	r.new_from = r.new_to = t->rcv_off;
	if (p->payload_len) {
		const uint8_t *pl = frame + p->payload_off;
		if (passive)
			passive_data(f, ctx, d, pl, seq, p->payload_len, &r);
		else
			dp_tcpdir_data(t, seq, pl, p->payload_len, &r);
		if (r.status != DP_SEG_OK) {
			refused(f, ctx, &r, out);
			if (!passive)
				return;
		}
		if (r.conflict && f->x) /* passive: the first bytes were kept */
			dp_smtpflow_overlap(&f->x->sf);
		if (f->x && r.new_to > r.new_from) {
			size_t n;
			const uint8_t *b = dp_tcpdir_bytes(t, r.new_from, &n);
			if (b)
				dp_smtpflow_data(&f->x->sf, d, r.new_from, b, (size_t)(r.new_to - r.new_from));
		}
	}
	if (p->flags & DP_TCP_FIN)
		dp_tcpdir_fin(t, seq + p->payload_len);
	if (passive) {
		if (f->dir[0].fin && f->dir[1].fin &&
		    f->dir[0].rcv_off >= f->dir[0].fin_off && f->dir[1].rcv_off >= f->dir[1].fin_off)
			close_now(f, ctx);
		return;
	}

	struct dp_smtpflow *sf = dp_flow_sf(f);
	if (sf && sf->failed && f->state == DP_FLOW_OPEN && !sf->enforce_due) {
		/* the engine ran out of memory and reads nothing more (a message it was in got
		 * its verdict already): closed resets both ends, open passes the rest */
		if (overload(f, ctx, out)) {
			out->drop_reason = DP_DROP_ENGINE_FAILED;
			return;
		}
	}
	if (sf && sf->desync && ctx->cfg->mode == DP_MODE_ENFORCE && f->state == DP_FLOW_OPEN &&
	    !sf->enforce_due) {
		/* the engine lost step with the server: what it would let through next is not
		 * what the server reads. Fail closed. */
		ctx->ctr->flows_reset_desync++;
		dp_flow_reset_both(f, out);
		out->drop_reason = DP_DROP_ENGINE_FAILED;
		return;
	}
	if (sf && sf->state == DP_SF_OPAQUE)
		f->state = DP_FLOW_BYPASS; /* after flushing what is held, below */
	if (sf && sf->enforce_due) {
		if (!f->enforce_ms)
			f->enforce_ms = ctx->now_ms;
		if (sf->answered >= sf->enf.replies_needed) {
			enforce(f, ctx, out);
			return;
		}
	}
	if (!p->payload_len) {
		/* ACKs, window updates, SYNs go as they are; a FIN only once the data before
		 * it went (else it follows the data, from release) */
		if (!(p->flags & DP_TCP_FIN) || f->fin_sent[d]) {
			out->forward = true;
		} else if (t->fwd_off == t->fin_off && t->rcv_off == t->fin_off) {
			f->fin_sent[d] = true;
			out->forward = true;
		}
	} else if (r.old_bytes && r.new_to == r.new_from && !r.held_ooo) {
		retransmission(f, d, p, &r, out);
	}
	release(f, d, p, d, &r, out);
	release(f, !d, p, d, &r, out);
	if ((p->flags & DP_TCP_FIN) && f->fin_sent[0] && f->fin_sent[1])
		close_now(f, ctx);
}

void dp_flow_timer(struct dp_flow *f, struct dp_ctx *ctx, struct dp_out *out)
{
	out->forward = false;
	out->drop_reason = -1;
	out->n = 0;
	if (ctx->passive)
		return;
	if (f->x && f->x->sf.pr.greet_until_ms && !dp_protect_greeting_held(&f->x->sf)) {
		f->x->sf.pr.greet_until_ms = 0; /* greet_wait is over: what the server said goes */
		if (f->state == DP_FLOW_OPEN) {
			release(f, SL_SERVER, NULL, -1, NULL, out);
			return;
		}
	}
	if (f->state == DP_FLOW_OPEN && f->x && f->x->sf.enforce_due &&
	    ctx->now_ms - f->enforce_ms >= ENFORCE_WAIT_MS) {
		enforce(f, ctx, out); /* the server's earlier replies never came: go ahead */
		return;
	}
	if (f->state == DP_FLOW_TAKEOVER && f->x->to.acked < f->x->to.out_len + (f->x->to.fin_sent && !f->x->to.fin_acked) &&
	    ctx->now_ms - f->x->to.last_send_ms >= (uint64_t)TAKEOVER_RTO_MS << (f->x->to.retries < 4 ? f->x->to.retries : 4)) {
		if (++f->x->to.retries > TAKEOVER_RETRIES) {
			f->state = DP_FLOW_CLOSED;
			f->closed_ms = ctx->now_ms;
			return;
		}
		takeover_send(f, ctx, out, f->x->to.acked);
	}
}

void dp_flow_flush_gaps(struct dp_flow *f, struct dp_ctx *ctx)
{
	(void)ctx;
	for (int d = 0; d < 2; d++)
		while (f->dir[d].started && skip_gap(f, d, DP_SKIP_HELD) > 0)
			;
}
