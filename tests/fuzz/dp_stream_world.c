#include "dp_stream_world.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "decode/pktbuild.h"
#include "dp_stream_oracle.h"

#define MSS 1448
#define SETTLE_MAX 4096   /* frames one step may set off (a loop would be a bug) */

/* Ether/IPv4 192.0.2.10:40000 -> 198.51.100.25:25 /TCP with a timestamp option */
static const uint8_t client_frame[] = {
	0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00,
	0x45, 0, 0, 52, 0, 1, 0x40, 0, 64, 6, 0, 0, 192, 0, 2, 10, 198, 51, 100, 25,
	0x9c, 0x40, 0, 25, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x10, 0xff, 0xff, 0, 0, 0, 0,
	1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0,
};

static const char policy_text[] =
	"rule fz.marker { match raw \"" W_MARKER "\" action reject \"554 5.7.1 Forbidden content\" }\n"
	"rule fz.quarantine { match raw \"QUARANTINE-ME\" action quarantine }\n"
	"rule fz.smuggling { match signal smtp.smuggling action reject \"554 5.7.0 Ambiguous end of data\" }\n"
	"rule fz.overlap { match signal tcp.overlap action reject \"554 5.7.0 Overlapping TCP data\" }\n"
	"rule fz.unscannable {\n"
	"	match signal smtp.desync, smtp.pending_overflow, smtp.reply_assumed\n"
	"	action tempfail \"451 4.7.0 Could not scan\"\n"
	"}\n";

/* ---- frames ---------------------------------------------------------------------------- */

/* side 0: client->server template, 1: server->client */
static size_t build(struct world *w, int side, uint8_t *buf, size_t cap, uint32_t seq,
                    uint32_t ack, uint8_t flags, const void *p, size_t n)
{
	struct dp_tcp_out seg = {seq, ack, flags, 65535, p, n};
	size_t len = dp_build_tcp(buf, cap, w->tmpl[side], &w->tmpl_pkt[side], false, &seg);
	if (!len)
		harness_bug("segment does not fit");
	return len;
}

static void tcp_csum_fix(uint8_t *frame, size_t len)
{
	struct dp_pkt p;
	if (dp_pkt_parse(frame, len, &p) != DP_PKT_TCP)
		harness_bug("built frame does not parse");
	uint8_t *t = frame + p.l4_off;
	uint32_t tcp_len = p.tcp_hlen + p.payload_len;
	t[16] = t[17] = 0;
	uint16_t c = dp_csum_fold(dp_csum_add(dp_tcp_pseudo_sum(&p, tcp_len), t, tcp_len));
	t[16] = (uint8_t)(c >> 8);
	t[17] = (uint8_t)c;
}

static void set_urgent(uint8_t *frame, size_t len, uint16_t ptr)
{
	struct dp_pkt p;
	if (dp_pkt_parse(frame, len, &p) != DP_PKT_TCP)
		harness_bug("built frame does not parse");
	uint8_t *t = frame + p.l4_off;
	t[13] |= DP_TCP_URG;
	t[18] = (uint8_t)(ptr >> 8);
	t[19] = (uint8_t)ptr;
	tcp_csum_fix(frame, len);
}

static void break_csum(uint8_t *frame, size_t len)
{
	struct dp_pkt p;
	if (dp_pkt_parse(frame, len, &p) != DP_PKT_TCP)
		harness_bug("built frame does not parse");
	/* the TCP checksum, or on IPv4 every other segment the header's (Linux drops both) */
	if (p.ip_version == 4 && (p.seq & 1))
		frame[p.l3_off + 10] ^= 0x5a;
	else
		frame[p.l4_off + 16] ^= 0x5a;
}

static const char *flag_text(uint8_t f)
{
	static char s[8];
	int i = 0;
	if (f & DP_TCP_SYN) s[i++] = 'S';
	if (f & DP_TCP_FIN) s[i++] = 'F';
	if (f & DP_TCP_RST) s[i++] = 'R';
	if (f & DP_TCP_PSH) s[i++] = 'P';
	if (f & DP_TCP_ACK) s[i++] = '.';
	if (f & DP_TCP_URG) s[i++] = 'U';
	s[i] = 0;
	return s;
}

static void deliver_frame(struct world *w, int side, const uint8_t *frame, size_t len, unsigned epoch);

/* A frame leaves the dataplane on port role `role` (outside: towards the client). */
static void route(struct world *w, const uint8_t *frame, size_t len, int role, unsigned epoch)
{
	int side = role == DP_OUTSIDE ? 0 : 1;
	if (!w->o.queue) {
		deliver_frame(w, side, frame, len, epoch);
		return;
	}
	if (w->nq[side] == W_MAX_QUEUE) {
		w->dropped_frames++;
		return;
	}
	struct frame *f = &w->q[side][w->nq[side]++];
	f->data = xmalloc(len);
	memcpy(f->data, frame, len);
	f->len = len;
	f->epoch = epoch;
}

/* The segments the dataplane built for a flow (rebuilt bytes, replies, RSTs). */
static void send_built(void *arg, const struct dp_flow *f, const struct dp_out *out)
{
	struct world *w = arg;
	unsigned epoch = current_epoch(w);
	for (unsigned i = 0; i < out->n; i++) {
		const struct dp_emit *e = &out->e[i];
		uint8_t buf[2048];
		size_t n = dp_flow_build(f, e, buf, sizeof buf);
		if (!n)
			continue; /* no template yet */
		struct dp_pkt p;
		if (dp_pkt_parse(buf, n, &p) != DP_PKT_TCP || !dp_pkt_tcp_csum_ok(buf, &p))
			violation(w, "the dataplane built a segment that does not parse or has a bad checksum");
		int role = dp_flow_out_role(f, e);
		if (e->injected && e->seg.len && e->dir == SL_SERVER)
			record_injected(w, epoch, e->seg.seq, e->seg.payload, e->seg.len);
		note("dp %s -> %s seq=%u len=%zu %s%s", e->injected ? "injects" : "rebuilds",
		     role == DP_OUTSIDE ? "client" : "server", e->seg.seq, e->seg.len,
		     flag_text(e->seg.flags), "");
		route(w, buf, n, role, epoch);
	}
}

/* A frame into the dataplane. */
static void inspect(struct world *w, uint8_t *frame, size_t len, int role)
{
	struct dp_out out;
	w->in.ctx.now_ms += 1;
	struct dp_flow *f = dp_inspect_frame(&w->in, frame, len, role, &out);
	attribute_messages(w);
	unsigned epoch = current_epoch(w);
	if (out.forward) {
		if (out.clear_urg)
			dp_tcp_clear_urg(frame + out.l4_off);
		route(w, frame, len, !role, epoch);
	} else {
		if (out.drop_reason >= 0)
			w->ctr.drops[out.drop_reason]++; /* as the worker counts them */
		note("   dropped (%s)", out.drop_reason >= 0 ? dp_drop_names[out.drop_reason] : "-");
	}
	if (f)
		send_built(w, f, &out);
}

/* ---- the server ------------------------------------------------------------------------- */

static void server_queue(struct world *w, const uint8_t *frame, size_t len)
{
	if (w->nsq == W_MAX_QUEUE) {
		w->dropped_frames++;
		return;
	}
	w->sq[w->nsq].data = xmalloc(len);
	memcpy(w->sq[w->nsq].data, frame, len);
	w->sq[w->nsq].len = len;
	w->nsq++;
}

static bool server_connected(const struct world *w)
{
	return w->s.tcp.state == TRM_ESTABLISHED;
}

/* A segment of the server's own (its TCP keeps track of what it sent). */
static void server_segment(struct world *w, uint32_t seq, uint32_t ack, uint8_t flags,
                           const void *p, size_t n)
{
	uint8_t buf[2048];
	size_t len = build(w, 1, buf, sizeof buf, seq, ack, flags, p, n);
	trm_sent(&w->s.tcp, seq, (uint32_t)n, flags);
	note("server sends seq=%u ack=%u len=%zu %s", seq, ack, n, flag_text(flags));
	server_queue(w, buf, len);
}

void w_server_send(struct world *w, uint64_t off, size_t len)
{
	struct endpoint *s = &w->s;
	if (!server_connected(w) || off > s->out.len)
		return;
	size_t avail = s->out.len - (size_t)off;
	if (!len || len > avail)
		len = avail;
	if (len > MSS)
		len = MSS;
	bool fin = s->fin_due && off + len == s->out.len;
	if (!len && !fin)
		return;
	uint8_t flags = DP_TCP_ACK | (len ? DP_TCP_PSH : 0) | (fin ? DP_TCP_FIN : 0);
	server_segment(w, s->iss + 1 + (uint32_t)off, s->tcp.rcv_nxt, flags,
	               s->out.s ? s->out.s + off : NULL, len);
	if (off + len > s->sent_hi)
		s->sent_hi = off + len;
	if (fin)
		s->fin_sent = true;
}

void w_server_send_new(struct world *w, size_t len)
{
	if (w->s.sent_hi < w->s.out.len || (w->s.fin_due && !w->s.fin_sent))
		w_server_send(w, w->s.sent_hi, len);
}

void w_server_ack(struct world *w)
{
	if (server_connected(w))
		server_segment(w, w->s.tcp.snd_nxt, w->s.tcp.rcv_nxt, DP_TCP_ACK, NULL, 0);
}

void w_server_rst(struct world *w)
{
	if (!server_connected(w))
		return;
	server_segment(w, w->s.tcp.snd_nxt, w->s.tcp.rcv_nxt, DP_TCP_RST | DP_TCP_ACK, NULL, 0);
	trm_abort(&w->s.tcp);
}

void w_server_raw(struct world *w, const void *p, size_t n)
{
	if (w->o.server_quirks)
		sl_strbuf_put(&w->s.out, p, n);
}

/* What the server's TCP answers by itself (SYN-ACK, challenge ACKs, RSTs; data ACKs
 * only when it acknowledges at once). */
static void server_answer(struct world *w, const struct trm_reply *r, bool challenged)
{
	if (!r->flags)
		return;
	if (r->flags == TRM_ACK && !challenged && !w->o.server_auto_ack)
		return;
	server_segment(w, r->seq, r->ack, r->flags, NULL, 0);
}

/* ---- the endpoints' applications ----------------------------------------------------- */

static void server_read(void *arg, uint32_t seq, const uint8_t *p, size_t n)
{
	struct world *w = arg;
	note("server reads seq=%u len=%zu", seq, n);
	/* the bytes first (the more precise report), unless a documented bypass may apply
	 * to some of them: then where the application switched to TLS must be known */
	bool bypass = w->cfg.starttls == DP_STARTTLS_ALLOW && w->ctr.uninspected[DP_UNINSPECTED_STARTTLS];
	if (!bypass)
		check_read(w, &w->s, SL_CLIENT, seq, p, n);
	bool was_tls = w->app.mode == SSM_TLS;
	ssm_input(&w->app, p, n);
	if (!was_tls && w->app.mode == SSM_TLS) {
		w->app_tls = true;
		w->app_tls_seq = seq + (uint32_t)w->app.tls_at;
		/* its 220 is the last SMTP it says: what it sends after is TLS */
		w->server_tls_seq = w->s.iss + 1 + (uint32_t)w->s.out.len;
	}
	if (bypass)
		check_read(w, &w->s, SL_CLIENT, seq, p, n);
}

static void server_open(void *arg)
{
	struct world *w = arg;
	struct endpoint *s = &w->s;
	note("server connection established (irs %u, iss %u)", s->tcp.irs, s->tcp.iss);
	s->bound = false; /* bound again at its first byte */
	sl_strbuf_clear(&s->out);
	s->iss = s->tcp.iss;
	s->sent_hi = 0;
	s->fin_due = s->fin_sent = false;
	s->next_message = 0;
	w->app_tls = false;
	ssm_open(&w->app);
}

static void server_eof(void *arg)
{
	struct world *w = arg;
	note("server reads the client's FIN");
	ssm_eof(&w->app);
}

static void server_reset(void *arg)
{
	struct world *w = arg;
	note("server connection reset");
	ssm_reset(&w->app);
	w->s.fin_due = false;
	w->s.tcp.next_iss += 0x01000000; /* each connection its own ISN, as Linux does */
}

static void app_reply(void *arg, const char *text, size_t n)
{
	struct world *w = arg;
	sl_strbuf_put(&w->s.out, text, n);
}

static void app_close(void *arg)
{
	struct world *w = arg;
	w->s.fin_due = true;
	trm_app_close(&w->s.tcp);
}

static void client_read(void *arg, uint32_t seq, const uint8_t *p, size_t n)
{
	struct world *w = arg;
	note("client reads seq=%u len=%zu", seq, n);
	check_read(w, &w->c, SL_SERVER, seq, p, n);
}

static void client_open(void *arg)
{
	struct world *w = arg;
	note("client connection established (irs %u)", w->c.tcp.irs);
	w->c.bound = false;
}

static void deliver_frame(struct world *w, int side, const uint8_t *frame, size_t len, unsigned epoch)
{
	struct dp_pkt p;
	if (dp_pkt_parse(frame, len, &p) != DP_PKT_TCP) {
		w->dropped_frames++;
		return;
	}
	/* the endpoint on that side, if the frame is for it */
	const struct dp_pkt *me = &w->tmpl_pkt[side == 0 ? 1 : 0]; /* frames towards it */
	if (memcmp(p.dst, me->dst, 4) != 0 || p.dport != me->dport) {
		w->dropped_frames++;
		return;
	}
	const uint8_t *t = frame + p.l4_off;
	struct trm_seg s = {
		.seq = p.seq,
		.ack = p.ack,
		.flags = p.flags,
		.urg_ptr = (uint16_t)(t[18] << 8 | t[19]),
		.csum_ok = dp_pkt_tcp_csum_ok(frame, &p) && dp_pkt_ipv4_csum_ok(frame, &p),
		.data = frame + p.payload_off,
		.len = p.payload_len,
	};
	struct endpoint *e = side ? &w->s : &w->c;
	note("%s gets seq=%u ack=%u len=%u %s%s (flow %u)", side ? "server" : "client", s.seq,
	     s.ack, s.len, flag_text(s.flags), s.csum_ok ? "" : " bad-csum", epoch);
	w->cur_epoch = epoch;
	unsigned challenges = e->tcp.challenges;
	struct trm_reply r;
	trm_input(&e->tcp, &s, &r);
	if (side)
		server_answer(w, &r, e->tcp.challenges != challenges);
}

/* ---- setup ----------------------------------------------------------------------------- */

struct sl_policy *world_policy(void)
{
	char path[] = "/tmp/fuzz-dp-stream-rules-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0 || write(fd, policy_text, sizeof policy_text - 1) != (ssize_t)(sizeof policy_text - 1))
		harness_bug("cannot write the policy");
	close(fd);
	struct sl_policy_diag diag;
	struct sl_policy *p = sl_policy_load(path, &diag);
	unlink(path);
	if (!p) {
		fprintf(stderr, "policy: %u:%u: %s\n", diag.line, diag.col, diag.msg);
		harness_bug("the policy does not compile");
	}
	return p;
}

void world_init(struct world *w, const struct world_opts *o, struct sl_policy *policy)
{
	memset(w, 0, sizeof *w);
	w->o = *o;
	w->policy = policy;
	dp_config_default(&w->cfg);
	w->cfg.mode = DP_MODE_ENFORCE;
	w->cfg.starttls = (enum dp_starttls)o->starttls;
	w->cfg.max_ooo_segments = o->max_ooo_segments;
	w->cfg.max_flow_memory = o->max_flow_memory;
	w->cfg.closed_timeout_ms = o->closed_timeout_ms;
	w->cfg.idle_timeout_ms = o->idle_timeout_ms;
	w->cfg.verify_checksums = o->verify_checksums;
	if (dp_inspector_init(&w->in, &w->cfg, false, policy, &w->ctr, o->worker_memory) != 0)
		harness_bug("dp_inspector_init");
	w->in.ctx.now_ms = 1000;
	oracle_init(w);
	dp_inspector_set_send(&w->in, send_built, w);

	/* templates: the client's frame, and the same reversed for the server */
	memcpy(w->tmpl[0], client_frame, sizeof client_frame);
	w->tmpl_len = sizeof client_frame;
	uint8_t *r = w->tmpl[1];
	memcpy(r, client_frame, sizeof client_frame);
	memcpy(r, client_frame + 6, 6);
	memcpy(r + 6, client_frame, 6);
	memcpy(r + 26, client_frame + 30, 4);
	memcpy(r + 30, client_frame + 26, 4);
	memcpy(r + 34, client_frame + 36, 2);
	memcpy(r + 36, client_frame + 34, 2);
	for (int i = 0; i < 2; i++)
		if (dp_pkt_parse(w->tmpl[i], w->tmpl_len, &w->tmpl_pkt[i]) != DP_PKT_TCP)
			harness_bug("template");

	struct trm_app capp = {client_read, NULL, NULL, client_open, w};
	trm_init_closed(&w->c.tcp, &capp);
	struct trm_app sapp = {server_read, server_eof, server_reset, server_open, w};
	trm_init_listen(&w->s.tcp, o->server_isn, &sapp);
	sl_strbuf_init(&w->c.out);
	sl_strbuf_init(&w->s.out);
	w->c.iss = o->client_isn;
	struct ssm_ops ops = {app_reply, app_commit, app_close, w};
	ssm_init(&w->app, &ops);
}

void world_free(struct world *w)
{
	if (getenv("SLUICE_DP_STREAM_SUMMARY"))
		summary(w);
	dp_inspector_free(&w->in);
	oracle_free(w);
	for (int s = 0; s < 2; s++)
		for (unsigned i = 0; i < w->nq[s]; i++)
			free(w->q[s][i].data);
	for (unsigned i = 0; i < w->nsq; i++)
		free(w->sq[i].data);
	trm_free(&w->c.tcp);
	trm_free(&w->s.tcp);
	sl_strbuf_free(&w->c.out);
	sl_strbuf_free(&w->s.out);
	ssm_free(&w->app);
}

/* ---- the client (the attacker) -------------------------------------------------------- */

static uint32_t client_ack(const struct world *w)
{
	return w->c.tcp.state == TRM_ESTABLISHED ? w->c.tcp.rcv_nxt : 0;
}

static void client_send(struct world *w, uint8_t *frame, size_t len, uint32_t seq,
                        uint32_t n, uint8_t flags, bool wrong_port)
{
	trm_sent(&w->c.tcp, seq, n, flags);
	note("client sends seq=%u len=%u %s%s", seq, n, flag_text(flags), wrong_port ? " (inside port)" : "");
	inspect(w, frame, len, wrong_port ? DP_INSIDE : DP_OUTSIDE);
}

void w_client_seg(struct world *w, const struct client_seg *cs)
{
	struct endpoint *c = &w->c;
	uint32_t n = cs->len > MSS ? MSS : cs->len;
	uint8_t payload[MSS];
	memset(payload, 'Z', n); /* bytes outside the stream */
	int64_t from = cs->off < 0 ? 0 : cs->off, to = cs->off + n;
	if (to > (int64_t)c->out.len)
		to = (int64_t)c->out.len;
	if (from < to)
		memcpy(payload + (from - cs->off), c->out.s + from, (size_t)(to - from));
	for (uint32_t i = 0; cs->mutate && i < n; i++)
		if (isalnum(payload[i]))
			payload[i] = 'X';
	uint32_t seq = c->iss + 1 + (uint32_t)cs->off;
	uint32_t ack = (cs->flags & DP_TCP_ACK) ? client_ack(w) + (cs->bogus_ack ? 0x40000000u : 0) : 0;
	uint8_t frame[2048];
	size_t len = build(w, 0, frame, sizeof frame, seq, ack, cs->flags & (uint8_t)~DP_TCP_URG, payload, n);
	if (cs->flags & DP_TCP_URG)
		set_urgent(frame, len, cs->urg_ptr);
	if (cs->bad_csum)
		break_csum(frame, len);
	if (cs->off >= 0 && (uint64_t)cs->off + n > c->sent_hi)
		c->sent_hi = (uint64_t)cs->off + n;
	client_send(w, frame, len, seq, n, cs->flags, cs->wrong_port);
}

void w_client_put(struct world *w, const void *p, size_t n, bool send)
{
	if (w->c.out.len + n > W_MAX_CLIENT_STREAM)
		return; /* bounds a run's cost; more than every cap the dataplane has here */
	uint64_t off = w->c.out.len;
	sl_strbuf_put(&w->c.out, p, n);
	if (!send)
		return;
	while (n) {
		uint32_t len = n > MSS ? MSS : (uint32_t)n;
		struct client_seg cs = {(int64_t)off, len, DP_TCP_ACK | DP_TCP_PSH, 0, false, false, false, false};
		w_client_seg(w, &cs);
		off += len;
		n -= len;
	}
}

uint32_t w_client_next_seq(const struct world *w)
{
	return w->c.iss + 1 + (uint32_t)w->c.sent_hi;
}

void w_client_syn(struct world *w, uint32_t seq)
{
	struct endpoint *c = &w->c;
	if (c->tcp.state == TRM_CLOSED || c->tcp.state == TRM_SYN_SENT) {
		/* a new connection (or a new attempt before an answer) */
		c->iss = seq;
		sl_strbuf_clear(&c->out);
		c->sent_hi = 0;
		c->bound = false;
	}
	uint8_t frame[256];
	size_t len = build(w, 0, frame, sizeof frame, seq, 0, DP_TCP_SYN, NULL, 0);
	client_send(w, frame, len, seq, 0, DP_TCP_SYN, false);
}

static void client_control(struct world *w, uint32_t seq, uint32_t ack, uint8_t flags)
{
	uint8_t frame[256];
	size_t len = build(w, 0, frame, sizeof frame, seq, ack, flags, NULL, 0);
	client_send(w, frame, len, seq, 0, flags, false);
}

void w_client_rst(struct world *w, uint32_t seq)
{
	bool own = seq == w_client_next_seq(w); /* the reset its own TCP would send */
	client_control(w, seq, client_ack(w), DP_TCP_RST | DP_TCP_ACK);
	if (own)
		trm_abort(&w->c.tcp); /* a forged one elsewhere leaves its connection alone */
}

void w_client_fin(struct world *w)
{
	client_control(w, w_client_next_seq(w), client_ack(w), DP_TCP_FIN | DP_TCP_ACK);
}

void w_client_ack(struct world *w, int32_t skew)
{
	client_control(w, w_client_next_seq(w), client_ack(w) + (uint32_t)skew, DP_TCP_ACK);
}

void w_forge_server(struct world *w, uint8_t flags, uint32_t seq, uint32_t ack,
                    const void *p, size_t n)
{
	uint8_t frame[2048];
	size_t len = build(w, 1, frame, sizeof frame, seq, ack, flags, p, n > MSS ? MSS : n);
	note("attacker forges a server segment seq=%u ack=%u len=%zu %s", seq, ack, n, flag_text(flags));
	inspect(w, frame, len, DP_OUTSIDE);
}

/* ---- time, the network, settling ------------------------------------------------------ */

void w_tick(struct world *w, uint64_t advance_ms)
{
	w->in.ctx.now_ms += advance_ms;
	note("time +%llums", (unsigned long long)advance_ms);
	dp_inspect_tick(&w->in, send_built, w);
	attribute_messages(w);
}

static void take_frame(struct world *w, int side, unsigned i, struct frame *out)
{
	*out = w->q[side][i];
	memmove(&w->q[side][i], &w->q[side][i + 1], (w->nq[side] - i - 1) * sizeof *out);
	w->nq[side]--;
}

void w_deliver(struct world *w, int side, int how, unsigned count)
{
	for (unsigned k = 0; k < count && w->nq[side]; k++) {
		struct frame f;
		switch (how) {
		case W_DROP:
			take_frame(w, side, 0, &f);
			note("network drops a frame towards the %s", side ? "server" : "client");
			break;
		case W_REVERSE:
			take_frame(w, side, w->nq[side] - 1, &f);
			deliver_frame(w, side, f.data, f.len, f.epoch);
			break;
		case W_DUPLICATE:
			f = w->q[side][0];
			deliver_frame(w, side, f.data, f.len, f.epoch);
			continue;
		default:
			take_frame(w, side, 0, &f);
			deliver_frame(w, side, f.data, f.len, f.epoch);
			break;
		}
		free(f.data);
	}
}

void w_settle(struct world *w)
{
	for (unsigned n = 0; n < SETTLE_MAX; n++) {
		if (w->o.server_auto_send)
			while (server_connected(w) &&
			       (w->s.sent_hi < w->s.out.len || (w->s.fin_due && !w->s.fin_sent)))
				w_server_send(w, w->s.sent_hi, 0);
		if (!w->nsq)
			return;
		struct frame f = w->sq[0];
		memmove(w->sq, w->sq + 1, (w->nsq - 1) * sizeof f);
		w->nsq--;
		inspect(w, f.data, f.len, DP_INSIDE);
		free(f.data);
	}
	harness_bug("a step set off more frames than SETTLE_MAX");
}

void w_finish(struct world *w)
{
	for (unsigned round = 0; round < 64 && (w->nq[0] || w->nq[1] || w->nsq); round++) {
		w_deliver(w, 0, W_DELIVER, W_MAX_QUEUE);
		w_deliver(w, 1, W_DELIVER, W_MAX_QUEUE);
		w_settle(w);
	}
}
