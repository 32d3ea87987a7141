#include "pool/poolflow.h"

#include <string.h>

#include "pool/arp.h"
#include "pipeline/inspect.h"
#include "pool/nat.h"

#define SWEEP_BUCKETS 4096     /* flow-table buckets looked at per tick */
#define PROBE_UNKNOWN_MS 1000
#define PROBE_KNOWN_EVERY 60   /* rounds: a learned MAC is checked again every minute */

static struct dp_pool_host_stats *host_stats(struct dp_ctx *c, const struct dp_flow *f)
{
	return &c->pool->stats.host[f->pool.slot];
}

void dp_pool_take(struct dp_poolrt *rt, const struct dp_pool *p)
{
	const struct dp_pool *old = rt->cur;
	rt->cur = p;
	if (!p || !old)
		return;
	for (unsigned i = 0; i < p->nhosts; i++) {
		const struct dp_pool_host *h = &p->host[i];
		uint8_t was = old->by_slot[h->slot];
		if (h->state == DP_HOST_DOWN && (was == DP_MAGLEV_NONE || old->host[was].state != DP_HOST_DOWN)) {
			/* it went down: its connections cannot finish, their clients should retry now */
			rt->sweeping = true;
			rt->sweep_at = 0;
		}
	}
}

struct dp_flow *dp_pool_inside_flow(struct dp_inspector *in, const struct dp_pkt *p)
{
	struct dp_poolrt *rt = in->ctx.pool;
	const struct dp_pool *pool = rt ? rt->cur : NULL;
	int fam = dp_pool_fam(p->ip_version);
	if (!pool || !rt->pooled || !pool->has[fam] || !dp_pool_is_port(pool, p->sport))
		return NULL;
	/* the connection as the client knows it: from the service address */
	struct dp_pkt v = *p;
	memcpy(v.src, pool->vip[fam], dp_pool_addr_len(fam));
	struct dp_flow_key k;
	dp_flow_key_make(&v, &k, NULL);
	struct dp_flow *f = dp_ft_lookup(&in->ft, &k, dp_flow_key_hash(&k));
	if (!f || !f->pool.pooled || memcmp(f->pool.addr, p->src, dp_pool_addr_len(fam)) != 0)
		return NULL; /* not this host's (a host that answers late for a connection moved away) */
	return f;
}

const uint8_t *dp_pool_snat_in(struct dp_poolrt *rt, const struct dp_flow *f, const uint8_t *frame,
                               size_t len, struct dp_pkt *p)
{
	if (len > sizeof rt->buf)
		return NULL;
	int fam = dp_pool_fam(p->ip_version);
	const struct dp_pool *pool = rt->cur;
	uint8_t i = pool->by_slot[f->pool.slot];
	if (i != DP_MAGLEV_NONE && pool->host[i].has[fam] &&
	    memcmp(pool->host[i].addr[fam], p->src, dp_pool_addr_len(fam)) == 0)
		dp_pool_learn(pool->learned, f->pool.slot, fam, frame + 6); /* its MAC as it sends now */
	memcpy(rt->buf, frame, len);
	dp_nat_rewrite(rt->buf, p->l3_off, p->l4_off, p->ip_version, false, pool->vip[fam], f->pool.vip_mac);
	memcpy(p->src, pool->vip[fam], dp_pool_addr_len(fam));
	return rt->buf;
}

int dp_pool_admit(struct dp_inspector *in, const uint8_t *frame, const struct dp_pkt *p, int in_role,
                  uint32_t h, struct dp_out *out, struct dp_flow **scratch)
{
	struct dp_ctx *c = &in->ctx;
	const struct dp_pool *pool = c->pool ? c->pool->cur : NULL;
	int fam = dp_pool_fam(p->ip_version);
	if (!pool || in_role != DP_OUTSIDE || !dp_pool_is_service(pool, fam, p->dst, p->dport))
		return -1;
	int host = dp_pool_pick(pool, fam, h);
	uint8_t mac[6];
	out->forward = false;
	if (host >= 0 && dp_pool_host_mac(pool, &pool->host[host], fam, mac))
		return host;
	if (host >= 0) {
		/* its MAC is being probed for: the client sends the SYN again in a second */
		c->pool->stats.no_mac++;
		out->drop_reason = DP_DROP_POOL_NO_HOST;
		return -2;
	}
	/* nobody to take it: refused at once, so that the sender tries its next MX or later */
	c->pool->stats.no_host++;
	out->drop_reason = DP_DROP_POOL_NO_HOST;
	struct dp_flow *s = &in->scratch;
	memset(s, 0, sizeof *s);
	s->client_role = (uint8_t)in_role;
	if (p->payload_off <= DP_TMPL_MAX) {
		memcpy(s->tmpl[SL_CLIENT], frame, p->payload_off);
		s->tmpl_pkt[SL_CLIENT] = *p;
		s->have_tmpl[SL_CLIENT] = true;
		out->n = 0;
		out->e[out->n++] = (struct dp_emit){SL_SERVER, true, {0, p->seq + 1, DP_TCP_RST | DP_TCP_ACK, 0, NULL, 0}};
		*scratch = s;
	}
	return -2;
}

static void assign(struct dp_ctx *c, struct dp_flow *f, const struct dp_pool *pool, int host, int fam,
                   const uint8_t *frame_dst_mac)
{
	const struct dp_pool_host *ph = &pool->host[host];
	f->pool.pooled = true;
	f->pool.slot = ph->slot;
	memcpy(f->pool.addr, ph->addr[fam], dp_pool_addr_len(fam));
	if (!dp_pool_host_mac(pool, ph, fam, f->pool.mac))
		memset(f->pool.mac, 0xff, 6); /* cannot happen: admitted with a MAC */
	if (frame_dst_mac)
		memcpy(f->pool.vip_mac, frame_dst_mac, 6);
	struct dp_pool_host_stats *s = host_stats(c, f);
	s->connections++;
	s->active++;
	f->pool.active = true;
}

void dp_pool_attach(struct dp_ctx *c, struct dp_flow *f, int host, const uint8_t *frame, const struct dp_pkt *p)
{
	/* the MAC the client sent to is the one the host's frames come from: its own view */
	assign(c, f, c->pool->cur, host, dp_pool_fam(p->ip_version), frame);
	c->pool->pooled++;
}

void dp_pool_recheck(struct dp_ctx *c, struct dp_flow *f, const struct dp_pkt *p, uint32_t h)
{
	const struct dp_pool *pool = c->pool ? c->pool->cur : NULL;
	if (!pool || f->synack_seen || f->established || (p->flags & (DP_TCP_SYN | DP_TCP_ACK)) != DP_TCP_SYN)
		return;
	uint8_t i = pool->by_slot[f->pool.slot];
	if (i != DP_MAGLEV_NONE && pool->host[i].state == DP_HOST_UP && pool->host[i].weight)
		return; /* still where it should be */
	int fam = dp_pool_fam(p->ip_version);
	int host = dp_pool_pick(pool, fam, h);
	uint8_t mac[6];
	if (host < 0 || !dp_pool_host_mac(pool, &pool->host[host], fam, mac))
		return; /* nowhere better: the SYN goes where it went */
	dp_pool_detach(c, f);
	assign(c, f, pool, host, fam, NULL);
	c->pool->stats.repicked++;
}

void dp_pool_account(struct dp_ctx *c, const struct dp_flow *f, const struct dp_pkt *p, int d,
                     uint64_t messages_before)
{
	struct dp_pool_host_stats *s = host_stats(c, f);
	if (d == SL_CLIENT)
		s->bytes_in += p->payload_len;
	else
		s->bytes_out += p->payload_len;
	s->messages += c->ctr->messages - messages_before;
}

void dp_pool_detach(struct dp_ctx *c, struct dp_flow *f)
{
	if (!f->pool.active)
		return;
	f->pool.active = false;
	host_stats(c, f)->active--;
}

void dp_pool_release(struct dp_ctx *c, struct dp_flow *f)
{
	if (!f->pool.pooled)
		return;
	dp_pool_detach(c, f);
	f->pool.pooled = false;
	c->pool->pooled--;
}

void dp_pool_sweep(struct dp_inspector *in, void (*send)(void *, const struct dp_flow *, const struct dp_out *),
                   void *arg)
{
	struct dp_poolrt *rt = in->ctx.pool;
	if (!rt || !rt->sweeping || !rt->cur)
		return;
	const struct dp_pool *pool = rt->cur;
	uint32_t end = rt->sweep_at + SWEEP_BUCKETS;
	for (; rt->sweep_at < end && rt->sweep_at <= in->ft.mask; rt->sweep_at++)
		for (struct dp_flow *f = in->ft.buckets[rt->sweep_at], *next; f; f = next) {
			next = f->hnext;
			uint8_t i = f->pool.pooled ? pool->by_slot[f->pool.slot] : DP_MAGLEV_NONE;
			if (i == DP_MAGLEV_NONE || pool->host[i].state != DP_HOST_DOWN || f->state == DP_FLOW_CLOSED)
				continue;
			host_stats(&in->ctx, f)->reset_down++;
			dp_inspect_reset_flow(in, f, send, arg);
		}
	if (rt->sweep_at > in->ft.mask)
		rt->sweeping = false;
}

/* ---- the worker's side -------------------------------------------------------------- */

void dp_pool_nat_forward(const struct dp_flow *f, uint8_t *frame, const struct dp_out *out, int in_role)
{
	/* the flow's key holds the client and the service address it connected to */
	const uint8_t *service = f->client_is_lo ? f->key.hi_addr : f->key.lo_addr;
	if (in_role == DP_OUTSIDE)
		dp_nat_rewrite(frame, out->l3_off, out->l4_off, out->ip_version, true, f->pool.addr, f->pool.mac);
	else
		dp_nat_rewrite(frame, out->l3_off, out->l4_off, out->ip_version, false, service, f->pool.vip_mac);
}

void dp_pool_nat_built(const struct dp_flow *f, uint8_t *frame, size_t len)
{
	struct dp_pkt p;
	if (dp_pkt_parse(frame, len, &p) == DP_PKT_TCP)
		dp_nat_rewrite(frame, p.l3_off, p.l4_off, p.ip_version, true, f->pool.addr, f->pool.mac);
}

unsigned dp_pool_probes(struct dp_poolrt *rt, uint64_t now_ms,
                        void (*emit)(void *arg, const uint8_t *frame, size_t len), void *arg)
{
	const struct dp_pool *pool = rt->cur;
	if (!pool || now_ms < rt->next_probe_ms)
		return 0;
	rt->next_probe_ms = now_ms + PROBE_UNKNOWN_MS;
	bool all = ++rt->probe_round % PROBE_KNOWN_EVERY == 0;
	unsigned n = 0;
	uint8_t frame[128];
	for (unsigned i = 0; i < pool->nhosts; i++) {
		const struct dp_pool_host *h = &pool->host[i];
		for (int fam = 0; fam < DP_NFAMS; fam++) {
			uint8_t mac[6];
			if (!h->has[fam] || !pool->has[fam] || h->mac_set || (dp_pool_host_mac(pool, h, fam, mac) && !all))
				continue;
			size_t len = dp_pool_probe(pool, h, fam, frame, sizeof frame);
			if (len) {
				emit(arg, frame, len);
				n++;
			}
		}
	}
	rt->stats.probes += n;
	return n;
}
