#include "protect_bench.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline/inspect.h"
#include "decode/pktparse.h"
#include "protect/protect.h"
#include "protect/ratelimit.h"

static double thread_seconds(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return (uint32_t)((rnd_state * 0x2545F4914F6CDD1Dull) >> 32);
}

void bench_protect_config(struct dp_protect_config *p)
{
	const struct dp_rate huge = {1000000, 1000, 1000000};
	p->connections[0] = p->messages[0] = p->recipients[0] = huge;
	p->bytes[0] = (struct dp_rate){1ull << 40, 1000, 1ull << 40};
	p->connections[1].per = p->messages[1].per = p->recipients[1].per = p->bytes[1].per = 0;
	p->sessions[1] = 0;
}

struct dp_list_snapshot *bench_protect_lists(void)
{
	size_t n = 0, cap = 128 + 10000;
	struct dp_list_entry *e = calloc(cap, sizeof *e);
	if (!e)
		return NULL;
	for (int h = 128; h < 256; h++) { /* the sessions and the flood use other addresses */
		struct dp_list_entry *x = &e[n++];
		x->pfx.family = 4;
		x->pfx.len = 32;
		x->pfx.addr[0] = 192, x->pfx.addr[1] = 0, x->pfx.addr[2] = 2, x->pfx.addr[3] = (uint8_t)h;
		x->kind = h % 8 ? DP_LIST_KIND_BLOCK : DP_LIST_KIND_ALLOW;
	}
	while (n < cap) {
		struct dp_list_entry *x = &e[n++];
		x->pfx.family = 6;
		x->pfx.len = (uint8_t)(48 + rnd() % 17);
		uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8};
		for (int i = 4; i < 16; i++)
			a[i] = (uint8_t)rnd();
		if (a[4] == 0 && a[5] == 1)
			a[5] = 2; /* not the sessions' 2001:db8:1::/64 */
		dp_prefix_of(&x->pfx, 6, a, x->pfx.len);
		x->kind = DP_LIST_KIND_BLOCK;
	}
	n = dp_list_dedupe(e, n);
	char err[256];
	struct dp_list_snapshot *s = dp_lpm_build(e, n, NULL, 0, 1, err, sizeof err);
	if (!s)
		fprintf(stderr, "bench-dataplane: lists: %s\n", err);
	free(e);
	return s;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void bench_flood_syn(const uint8_t *tmpl, size_t len, uint8_t *out, uint32_t i)
{
	memcpy(out, tmpl, len);
	struct dp_pkt p;
	if (dp_pkt_parse(out, len, &p) != DP_PKT_TCP || p.ip_version != 4)
		return;
	uint8_t *ip = out + p.l3_off, *tcp = out + p.l4_off;
	ip[12] = 192; /* 192.0.2.0/25: not the sessions' networks, not on the lists */
	ip[13] = 0;
	ip[14] = 2;
	ip[15] = (uint8_t)((i * 2654435761u >> 24) & 127);
	put16(tcp, (uint16_t)(1024 + (i * 40503u) % 64512));
	uint32_t isn = i * 2246822519u;
	tcp[4] = (uint8_t)(isn >> 24);
	tcp[5] = (uint8_t)(isn >> 16);
	tcp[6] = (uint8_t)(isn >> 8);
	tcp[7] = (uint8_t)isn;
	ip[10] = ip[11] = 0;
	put16(ip + 10, dp_csum_fold(dp_csum_add(0, ip, (size_t)(p.l4_off - p.l3_off))));
	dp_pkt_parse(out, len, &p);
	uint32_t tcp_len = (uint32_t)(p.tcp_hlen + p.payload_len);
	tcp[16] = tcp[17] = 0;
	put16(tcp + 16, dp_csum_fold(dp_csum_add(dp_tcp_pseudo_sum(&p, tcp_len), tcp, tcp_len)));
}

#define LOOKUPS (1u << 22)

static void lookups(const struct dp_lists *l, uint8_t family)
{
	static uint8_t addrs[4096][16];
	for (int i = 0; i < 4096; i++) {
		memset(addrs[i], 0, 16);
		if (family == 4) {
			static const uint8_t nets[2][3] = {{192, 0, 2}, {203, 0, 113}};
			memcpy(addrs[i], nets[rnd() % 2], 3); /* a quarter of them hit */
			addrs[i][3] = (uint8_t)rnd();
		} else {
			addrs[i][0] = 0x20, addrs[i][1] = 0x01, addrs[i][2] = 0x0d, addrs[i][3] = 0xb8;
			for (int k = 4; k < 16; k++)
				addrs[i][k] = (uint8_t)rnd();
		}
	}
	unsigned hits = 0;
	double t0 = thread_seconds();
	for (unsigned i = 0; i < LOOKUPS; i++)
		hits += dp_lists_match(l, family, addrs[i & 4095], 1) != NULL;
	double ns = (thread_seconds() - t0) * 1e9 / LOOKUPS;
	printf("    %s lookup (%s, %zu prefixes in the lists): %.1f ns (%u%% hits)\n",
	       family == 4 ? "IPv4" : "IPv6", family == 4 ? "rte_lpm" : "rte_lpm6", l->n, ns,
	       hits * 100 / LOOKUPS);
}

/* dp_protect_syn on SYNs from 4096 sources (lists, source table, buckets), each flow
 * ended again (dp_protect_flow_end), so the table stays at 4096 hosts and 16 nets. */
static void syn_checks(const struct dp_lists *l)
{
	static struct dp_config cfg;
	static struct dp_counters ctr;
	static struct dp_inspector in;
	dp_config_default(&cfg);
	bench_protect_config(&cfg.protect);
	if (dp_inspector_init(&in, &cfg, false, NULL, &ctr, cfg.max_memory) != 0)
		return;
	in.protect.lists = l;
	static struct dp_pkt pkts[4096];
	for (int i = 0; i < 4096; i++) {
		struct dp_pkt *p = &pkts[i];
		memset(p, 0, sizeof *p);
		p->ip_version = 4;
		p->src[0] = 203, p->src[1] = 0, p->src[2] = (uint8_t)(113 + i % 16), p->src[3] = (uint8_t)(i / 16);
		p->dst[0] = 192, p->dst[1] = 0, p->dst[2] = 2, p->dst[3] = 2;
		p->sport = (uint16_t)(1024 + i), p->dport = 25, p->flags = DP_TCP_SYN;
	}
	const unsigned n = 1u << 21;
	double t0 = thread_seconds();
	for (unsigned i = 0; i < n; i++) {
		struct dp_syn_check chk;
		in.ctx.now_ms = 1000 + i / 4096; /* a clock that moves */
		dp_protect_syn(&in.ctx, &pkts[i & 4095], DP_OUTSIDE, &chk);
		dp_protect_flow_end(&in.ctx, chk.host, chk.net);
	}
	double ns = (thread_seconds() - t0) * 1e9 / n;
	printf("    SYN check (lists, source table, connection and session limits): %.1f ns"
	       " (%llu admitted, %llu refused)\n", ns, (unsigned long long)ctr.protect_admitted,
	       (unsigned long long)(n - ctr.protect_admitted));
	dp_inspector_free(&in);
}

static void buckets(void)
{
	struct dp_rate r = {1000, 1000, 1000};
	struct dp_bucket b;
	dp_bucket_init(&b, &r, 0);
	const unsigned n = 1u << 24;
	unsigned ok = 0;
	double t0 = thread_seconds();
	for (unsigned i = 0; i < n; i++)
		ok += dp_bucket_take(&b, &r, 1, i >> 4);
	double ns = (thread_seconds() - t0) * 1e9 / n;
	printf("    token bucket take: %.1f ns (%u%% granted)\n", ns, (unsigned)(100ull * ok / n));
}

void bench_protect_micro(const struct dp_list_snapshot *s)
{
	printf("protection, one operation at a time (one core):\n");
	if (s) {
		lookups(&s->lists, 4);
		lookups(&s->lists, 6);
	}
	syn_checks(s ? &s->lists : NULL);
	buckets();
}
