#include "inspect.h"

#include <stdlib.h>
#include <string.h>

#define EXPIRE_SCAN 256 /* flows looked at per tick */

int dp_inspector_init(struct dp_inspector *in, const struct dp_config *cfg, bool passive,
                      struct sl_policy *policy, struct dp_counters *ctr, size_t mem_limit)
{
	memset(in, 0, sizeof *in);
	struct dp_ctx *c = &in->ctx;
	c->cfg = cfg;
	c->passive = passive;
	c->policy = policy;
	c->ctr = ctr;
	c->mem.limit = mem_limit;
	sl_limits_default(&c->limits);
	if (policy) {
		c->scanner = sl_scanner_new();
		if (!c->scanner)
			return -1;
	}
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
	dp_ft_remove(&in->ft, f);
	dp_flow_free(f, &in->ctx);
	dp_mem_release(&in->ctx.mem, sizeof *f);
	free(f);
}

static void destroy_all(struct dp_inspector *in)
{
	while (in->ft.live.oldest)
		flow_destroy(in, in->ft.live.oldest);
	while (in->ft.closed.oldest)
		flow_destroy(in, in->ft.closed.oldest);
}

/* After the flow ran: a flow that closed waits in the closed list. */
static void note_closed(struct dp_inspector *in, struct dp_flow *f)
{
	if (f->state == DP_FLOW_CLOSED)
		dp_ft_closed(&in->ft, f);
}

void dp_inspector_free(struct dp_inspector *in)
{
	destroy_all(in);
	dp_smtpflow_pool_free(&in->ctx);
	dp_ft_free(&in->ft);
	if (in->ctx.scanner)
		sl_scanner_free(in->ctx.scanner);
	in->ctx.scanner = NULL;
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

static struct dp_flow *flow_create(struct dp_inspector *in, const struct dp_flow_key *k,
                                   const struct dp_pkt *p, int d, int in_role, bool detect)
{
	struct dp_ctx *c = &in->ctx;
	if (in->ft.count >= in->ft.max || !dp_mem_charge(&c->mem, sizeof(struct dp_flow)))
		return NULL;
	struct dp_flow *f = malloc(sizeof *f);
	if (!f) {
		dp_mem_release(&c->mem, sizeof *f);
		return NULL;
	}
	dp_flow_init(f, c, k, p, d, in_role, true, detect);
	dp_ft_insert(&in->ft, f);
	return f;
}

static void timer_watch(struct dp_inspector *in, struct dp_flow *f)
{
	bool wants = f->state == DP_FLOW_TAKEOVER || (f->inspect && f->sf.enforce_due);
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
	memset(s, 0, sizeof *s);
	s->client_role = (uint8_t)in_role; /* the sender plays "client" */
	if (p->payload_off > DP_TMPL_MAX)
		return NULL;
	memcpy(s->tmpl[SL_CLIENT], frame, p->payload_off);
	s->tmpl_pkt[SL_CLIENT] = *p;
	s->have_tmpl[SL_CLIENT] = true;
	out->n = 0;
	out->e[out->n++] = (struct dp_emit){SL_CLIENT, true,
		{p->seq + p->payload_len, 0, DP_TCP_RST, 0, NULL, 0}};
	if (p->flags & DP_TCP_ACK)
		out->e[out->n++] = (struct dp_emit){SL_SERVER, true, {p->ack, 0, DP_TCP_RST, 0, NULL, 0}};
	return s;
}

struct dp_flow *dp_inspect_frame(struct dp_inspector *in, const uint8_t *frame, size_t len,
                                 int in_role, struct dp_out *out)
{
	struct dp_ctx *c = &in->ctx;
	struct dp_counters *ctr = c->ctr;
	struct dp_pkt p;
	out->forward = true;
	out->drop_reason = -1;
	out->n = 0;
	switch (dp_pkt_parse(frame, len, &p)) {
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
	struct dp_flow_key k;
	dp_flow_key_make(&p, &k, NULL);
	uint32_t h = dp_flow_key_hash(&k);
	struct dp_flow *f = dp_ft_lookup(&in->ft, &k, h);
	bool candidate = smtp_port(c->cfg, &p) || c->cfg->detect;
	if (!f && !candidate)
		return NULL; /* TCP that is not SMTP: bridged untouched, no state */
	if (c->cfg->verify_checksums && !c->passive && !dp_pkt_tcp_csum_ok(frame, &p)) {
		/* the receiver would drop it; we must not scan what it never accepts */
		out->forward = false;
		out->drop_reason = DP_DROP_BAD_CHECKSUM;
		return NULL;
	}
	if (!f) {
		bool syn = (p.flags & (DP_TCP_SYN | DP_TCP_ACK)) == DP_TCP_SYN;
		bool detect = !smtp_port(c->cfg, &p);
		if (syn || c->passive) {
			if (!syn && (p.flags & DP_TCP_RST))
				return NULL;
			int d = syn ? SL_CLIENT : passive_dir(c->cfg, frame, &p);
			f = flow_create(in, &k, &p, d, in_role, detect);
			if (!f) {
				ctr->uninspected[DP_UNINSPECTED_TABLE_FULL]++;
				if (c->cfg->fail_closed && !c->passive) {
					out->forward = false;
					out->drop_reason = DP_DROP_FAIL_CLOSED;
				}
				return NULL;
			}
		} else if (detect || (p.flags & DP_TCP_RST) || !p.payload_len) {
			return NULL; /* mid-stream: nothing to inspect in it */
		} else {
			/* data of an SMTP connection we never saw open */
			ctr->uninspected[DP_UNINSPECTED_MIDSTREAM]++;
			if (!c->cfg->fail_closed)
				return NULL;
			out->forward = false;
			out->drop_reason = DP_DROP_FAIL_CLOSED;
			return reset_untracked(in, frame, &p, in_role, out);
		}
	}
	dp_ft_touch(&in->ft, f);
	dp_flow_packet(f, c, frame, &p, dp_flow_dir(f, &p), out);
	note_closed(in, f);
	timer_watch(in, f);
	return f;
}

static void send_out(dp_send_fn send, void *arg, const struct dp_flow *f, const struct dp_out *o)
{
	if (send && o->n)
		send(arg, f, o);
}

void dp_inspect_tick(struct dp_inspector *in, dp_send_fn send, void *arg)
{
	struct dp_ctx *c = &in->ctx;
	struct dp_out out;
	for (unsigned i = 0; i < in->ntimers;) {
		struct dp_flow *f = in->timers[i];
		dp_flow_timer(f, c, &out);
		send_out(send, arg, f, &out);
		note_closed(in, f);
		if (f->state == DP_FLOW_TAKEOVER || (f->inspect && f->sf.enforce_due))
			i++;
		else {
			f->on_timer = false;
			in->timers[i] = in->timers[--in->ntimers];
		}
	}
	uint64_t idle = c->cfg->idle_timeout_ms, closed = c->cfg->closed_timeout_ms;
	/* closed flows (already counted closed), in the order they closed */
	struct dp_flow *f;
	for (unsigned n = 0; (f = in->ft.closed.oldest) && n < EXPIRE_SCAN; n++) {
		if (c->now_ms - f->closed_ms <= closed)
			break; /* everything after closed later */
		flow_destroy(in, f);
	}
	/* the others after idle_timeout_ms without a packet, least recently used first */
	for (unsigned n = 0; (f = in->ft.live.oldest) && n < EXPIRE_SCAN; n++) {
		if (c->now_ms - f->last_ms <= idle)
			break; /* everything after was used later */
		c->ctr->flows_expired++;
		if (!c->passive && f->inspect && f->state != DP_FLOW_BYPASS) {
			/* both ends reset: no half-inspected connection resumes later */
			dp_flow_reset_both(f, &out);
			send_out(send, arg, f, &out);
		}
		flow_destroy(in, f);
	}
	c->ctr->memory_bytes = c->mem.used;
}

void dp_inspect_finish(struct dp_inspector *in)
{
	for (struct dp_flow *f = in->ft.live.oldest; f; f = f->lnext)
		if (f->state != DP_FLOW_CLOSED)
			dp_flow_flush_gaps(f, &in->ctx);
	destroy_all(in);
}
