/* The mail-host pool's parts without a flow: Maglev tables (balance by weight, and the
 * disruption when a host leaves or joins, measured on the table), the address rewrite's
 * incremental checksums against a full recomputation, ARP and ND answers for the service
 * address, and the [pool] configuration. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool/arp.h"
#include "config/config.h"
#include "pool/maglev.h"
#include "pool/nat.h"
#include "decode/pktparse.h"
#include "pool/pool.h"
#include "pool/poolconf.h"
#include "cunit_run.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint8_t table_a[DP_MAGLEV_SIZE], table_b[DP_MAGLEV_SIZE];

static void build(uint8_t *t, const char *const *names, const unsigned *weights, unsigned n)
{
	struct dp_maglev_backend b[16];
	for (unsigned i = 0; i < n; i++)
		b[i] = (struct dp_maglev_backend){names[i], weights[i], (uint8_t)i};
	CU_ASSERT_EQUAL_FATAL(dp_maglev_build(t, DP_MAGLEV_SIZE, b, n) >= 0, 1);
}

static const char *const names[] = {"mx1.example.net", "mx2.example.net", "mx3.example.net",
                                    "mx4.example.net", "mx5.example.net", "mx6.example.net"};

/* Each host's share of the table and of many flows is its weight's share within 2 %. */
static void test_maglev_balance(void)
{
	static const unsigned weights[][6] = {{100, 100, 100, 100, 100, 0}, {100, 200, 300, 0, 0, 0},
	                                      {1, 1000, 500, 250, 0, 0}, {7, 3, 0, 0, 0, 0}};
	static const unsigned counts[] = {5, 3, 4, 2};
	for (unsigned c = 0; c < 4; c++) {
		unsigned n = counts[c], total = 0;
		for (unsigned i = 0; i < n; i++)
			total += weights[c][i];
		build(table_a, names, weights[c], n);
		unsigned entries[6] = {0}, flows[6] = {0};
		for (uint32_t e = 0; e < DP_MAGLEV_SIZE; e++) {
			CU_ASSERT_FATAL(table_a[e] < n);
			entries[table_a[e]]++;
		}
		const unsigned nflows = 600000;
		for (unsigned f = 0; f < nflows; f++)
			flows[dp_maglev_lookup(table_a, DP_MAGLEV_SIZE, (uint32_t)rnd())]++;
		for (unsigned i = 0; i < n; i++) {
			double want = (double)weights[c][i] / total;
			double got_t = (double)entries[i] / DP_MAGLEV_SIZE, got_f = (double)flows[i] / nflows;
			if (want >= 0.01) { /* a 1-in-1500 share is within 2 % of itself only by luck of the hash */
				CU_ASSERT(got_t > want * 0.98 && got_t < want * 1.02);
				CU_ASSERT(got_f > want * 0.98 && got_f < want * 1.02);
			}
			if (!(got_t > want * 0.98 && got_t < want * 1.02) && want >= 0.01)
				fprintf(stderr, "\ncase %u host %u: weight share %.4f, table %.4f, flows %.4f\n", c, i, want,
				        got_t, got_f);
		}
	}
}

/* Entries that change owner between two tables, split into those of the host that left
 * (must all move) and the rest (Maglev moves few of them). */
static void moved(const uint8_t *a, const uint8_t *b, uint8_t gone, unsigned *of_gone, unsigned *others)
{
	*of_gone = *others = 0;
	for (uint32_t e = 0; e < DP_MAGLEV_SIZE; e++) {
		if (a[e] == gone) {
			(*of_gone)++;
			CU_ASSERT(b[e] != gone);
		} else if (a[e] != b[e])
			(*others)++;
	}
}

/* When one of N hosts leaves, its entries go to the others and only few of the others'
 * entries change hands; when it comes back, the table is the one before. Measured: at
 * most 0.5 % of the table moves besides the leaving host's share (N = 3..6). */
static void test_maglev_disruption(void)
{
	for (unsigned n = 3; n <= 6; n++) {
		unsigned w[6] = {100, 100, 100, 100, 100, 100};
		build(table_a, names, w, n);
		for (unsigned gone = 0; gone < n; gone++) {
			unsigned w2[6];
			memcpy(w2, w, sizeof w2);
			w2[gone] = 0; /* out of the table, as a host that is down or draining */
			build(table_b, names, w2, n);
			unsigned of_gone, others;
			moved(table_a, table_b, (uint8_t)gone, &of_gone, &others);
			double share = (double)of_gone / DP_MAGLEV_SIZE, extra = (double)others / DP_MAGLEV_SIZE;
			CU_ASSERT(share > 0.98 / n && share < 1.02 / n);
			CU_ASSERT(extra < 0.005);
			if (extra >= 0.005)
				fprintf(stderr, "\nN=%u host %u left: its share %.4f, others moved %.4f\n", n, gone, share, extra);
			/* and back: the same table as before (it depends on the hosts alone) */
			build(table_b, names, w, n);
			CU_ASSERT_EQUAL(memcmp(table_a, table_b, DP_MAGLEV_SIZE), 0);
		}
		/* a host joins: it takes about its share, and few entries move between the others */
		unsigned w3[6];
		memcpy(w3, w, sizeof w3);
		if (n < 6) {
			build(table_b, names, w3, n + 1);
			unsigned to_new = 0, between = 0;
			for (uint32_t e = 0; e < DP_MAGLEV_SIZE; e++) {
				if (table_b[e] == n)
					to_new++;
				else if (table_a[e] != table_b[e])
					between++;
			}
			double share = (double)to_new / DP_MAGLEV_SIZE;
			CU_ASSERT(share > 0.98 / (n + 1) && share < 1.02 / (n + 1));
			CU_ASSERT((double)between / DP_MAGLEV_SIZE < 0.005);
		}
	}
}

static void test_maglev_refuses(void)
{
	struct dp_maglev_backend b[2] = {{"a", 1, 0}, {"b", 1, 1}};
	CU_ASSERT_EQUAL(dp_maglev_build(table_a, 65536, b, 2), -1); /* not prime */
	b[1].weight = DP_MAGLEV_MAX_WEIGHT + 1;
	CU_ASSERT_EQUAL(dp_maglev_build(table_a, DP_MAGLEV_SIZE, b, 2), -1);
	b[0].weight = b[1].weight = 0;
	CU_ASSERT_EQUAL(dp_maglev_build(table_a, DP_MAGLEV_SIZE, b, 2), 0);
	CU_ASSERT_EQUAL(table_a[0], DP_MAGLEV_NONE);
	CU_ASSERT_EQUAL(table_a[DP_MAGLEV_SIZE - 1], DP_MAGLEV_NONE);
	/* a small prime table works the same (every entry filled) */
	b[0].weight = 3;
	b[1].weight = 1;
	CU_ASSERT_EQUAL(dp_maglev_build(table_a, 101, b, 2), 2);
	unsigned zero = 0;
	for (unsigned e = 0; e < 101; e++) {
		zero += table_a[e] == 0;
		CU_ASSERT(table_a[e] <= 1);
	}
	CU_ASSERT(zero >= 74 && zero <= 77);
}

/* ---- NAT ------------------------------------------------------------------------------ */

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* A TCP frame of random addresses and payload with checksums computed in full; its length. */
static size_t make_frame(uint8_t *f, int v6, size_t payload)
{
	size_t l3 = 14, alen = v6 ? 16 : 4, ihl = v6 ? 40 : 20, l4 = l3 + ihl;
	for (size_t i = 0; i < 12; i++)
		f[i] = (uint8_t)rnd();
	f[0] &= 0xfe;
	f[6] &= 0xfe;
	wr16(f + 12, v6 ? 0x86dd : 0x0800);
	uint8_t *ip = f + l3;
	memset(ip, 0, ihl);
	if (v6) {
		ip[0] = 0x60;
		wr16(ip + 4, (uint16_t)(20 + payload));
		ip[6] = 6;
		ip[7] = 64;
	} else {
		ip[0] = 0x45;
		wr16(ip + 2, (uint16_t)(20 + 20 + payload));
		wr16(ip + 4, (uint16_t)rnd());
		ip[8] = 64;
		ip[9] = 6;
	}
	uint8_t *src = ip + (v6 ? 8 : 12), *dst = src + alen;
	for (size_t i = 0; i < alen; i++)
		src[i] = (uint8_t)rnd(), dst[i] = (uint8_t)rnd();
	uint8_t *t = f + l4;
	for (size_t i = 0; i < 20 + payload; i++)
		t[i] = (uint8_t)rnd();
	t[12] = 0x50;
	wr16(t + 16, 0);
	if (!v6)
		wr16(ip + 10, dp_csum_fold(dp_csum_add(0, ip, 20)));
	struct dp_pkt p;
	size_t len = l4 + 20 + payload;
	CU_ASSERT_EQUAL_FATAL(dp_pkt_parse(f, len, &p), DP_PKT_TCP);
	wr16(t + 16, dp_csum_fold(dp_csum_add(dp_tcp_pseudo_sum(&p, 20 + (uint32_t)payload), t, 20 + payload)));
	return len;
}

/* The checksums a full computation gives for the frame as it is now. */
static void full_sums(uint8_t *f, size_t len, uint16_t *tcp, uint16_t *ipv4)
{
	struct dp_pkt p;
	CU_ASSERT_EQUAL_FATAL(dp_pkt_parse(f, len, &p), DP_PKT_TCP);
	uint8_t *t = f + p.l4_off, *ip = f + p.l3_off;
	uint16_t keep = rd16(t + 16);
	wr16(t + 16, 0);
	*tcp = dp_csum_fold(dp_csum_add(dp_tcp_pseudo_sum(&p, p.tcp_hlen + p.payload_len), t, p.tcp_hlen + p.payload_len));
	wr16(t + 16, keep);
	*ipv4 = 0;
	if (p.ip_version == 4) {
		keep = rd16(ip + 10);
		wr16(ip + 10, 0);
		*ipv4 = dp_csum_fold(dp_csum_add(0, ip, 20));
		wr16(ip + 10, keep);
	}
}

/* Incremental updates (RFC 1624) give exactly what a full recomputation gives, for
 * destination and source rewrites, IPv4 and IPv6, odd and even payloads. */
static void test_nat_checksums(void)
{
	uint8_t f[1600];
	unsigned checked = 0;
	for (int round = 0; round < 4000; round++) {
		int v6 = round & 1;
		bool dst = (round >> 1) & 1;
		size_t len = make_frame(f, v6, (size_t)(rnd() % 1400));
		struct dp_pkt p;
		CU_ASSERT_EQUAL_FATAL(dp_pkt_parse(f, len, &p), DP_PKT_TCP);
		uint8_t addr[16], mac[6] = {0x02, 0, 0x5e, 0, 0x53, (uint8_t)round};
		for (int i = 0; i < 16; i++)
			addr[i] = (uint8_t)rnd();
		if (round % 7 == 0)
			memset(addr, round % 14 ? 0xff : 0, 16); /* extreme words */
		dp_nat_rewrite(f, p.l3_off, p.l4_off, p.ip_version, dst, addr, mac);
		CU_ASSERT_EQUAL(memcmp(f + (dst ? 0 : 6), mac, 6), 0);
		CU_ASSERT_EQUAL(memcmp(f + p.l3_off + (v6 ? (dst ? 24 : 8) : (dst ? 16 : 12)), addr, v6 ? 16 : 4), 0);
		uint16_t tcp, ipv4;
		full_sums(f, len, &tcp, &ipv4);
		CU_ASSERT_EQUAL(rd16(f + p.l4_off + 16), tcp);
		if (!v6)
			CU_ASSERT_EQUAL(rd16(f + p.l3_off + 10), ipv4);
		CU_ASSERT_EQUAL_FATAL(dp_pkt_parse(f, len, &p), DP_PKT_TCP); /* the new addresses */
		CU_ASSERT_TRUE(dp_pkt_tcp_csum_ok(f, &p));
		checked++;
	}
	CU_ASSERT_EQUAL(checked, 4000);
	/* a segment whose checksum was wrong stays wrong: the receiver still drops it */
	size_t len = make_frame(f, 0, 100);
	struct dp_pkt p;
	dp_pkt_parse(f, len, &p);
	f[p.payload_off] ^= 1;
	uint8_t addr[4] = {198, 51, 100, 11}, mac[6] = {2, 0, 0, 0, 0, 0x11};
	dp_nat_rewrite(f, p.l3_off, p.l4_off, 4, true, addr, mac);
	dp_pkt_parse(f, len, &p);
	CU_ASSERT_FALSE(dp_pkt_tcp_csum_ok(f, &p));
}

static void test_csum_adjust_rfc1624(void)
{
	/* RFC 1624's example: HC = 0xdd2f, m = 0x5555 -> m' = 0x3285 gives 0x0000 (eqn. 3) */
	uint8_t old[2] = {0x55, 0x55}, new[2] = {0x32, 0x85};
	CU_ASSERT_EQUAL(dp_csum_adjust(0xdd2f, old, new, 2), 0x0000);
}

/* ---- ARP and ND ----------------------------------------------------------------------- */

static struct dp_pool pool;
static struct dp_pool_learned learned;
static struct dp_pool_stats stats;
static const uint8_t pool_mac[6] = {0x02, 0, 0x5e, 0, 0x53, 0x25};
static const uint8_t client_mac[6] = {0x02, 0, 0, 0, 0, 0x0a};
static const uint8_t host_mac[6] = {0x02, 0, 0, 0, 0, 0x11};

static int pool_init(void)
{
	static const char conf[] =
		"[pool]\naddress = 198.51.100.25, 2001:db8::25\nports = 25\n"
		"[pool-host mx1]\naddress = 198.51.100.11, 2001:db8::11\n"
		"[pool-host mx2]\naddress = 198.51.100.12\nweight = 300\n";
	struct dp_config c;
	char err[256];
	dp_config_default(&c);
	if (dp_config_parse(&c, "t.conf", conf, err, sizeof err)) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	memset(&pool, 0, sizeof pool);
	return dp_pool_from_conf(&pool, &c.pool, pool_mac, &learned, err, sizeof err);
}

/* An Ethernet/IPv4 ARP message (op 1 request, 2 reply) at a. */
static void arp_body(uint8_t *a, uint16_t op, const uint8_t sha[6], const uint8_t spa[4], const uint8_t *tha,
                     const uint8_t tpa[4])
{
	wr16(a, 1);
	wr16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	wr16(a + 6, op);
	memcpy(a + 8, sha, 6);
	memcpy(a + 14, spa, 4);
	if (tha)
		memcpy(a + 18, tha, 6);
	memcpy(a + 24, tpa, 4);
}

static size_t arp_request(uint8_t *f, const uint8_t *target, bool vlan)
{
	size_t o = 0;
	memset(f, 0xff, 6);
	memcpy(f + 6, client_mac, 6);
	o = 12;
	if (vlan) {
		wr16(f + o, 0x8100);
		wr16(f + o + 2, 42);
		o += 4;
	}
	wr16(f + o, 0x0806);
	memset(f + o + 2, 0, 28 + 18);
	arp_body(f + o + 2, 1, client_mac, (uint8_t[]){192, 0, 2, 10}, NULL, target);
	return o + 2 + 28 + 18; /* padded to 60 bytes (64 with the tag) */
}

static void test_arp_answer(void)
{
	uint8_t f[128], r[256];
	size_t rlen;
	for (int vlan = 0; vlan < 2; vlan++) {
		size_t n = arp_request(f, (uint8_t[]){198, 51, 100, 25}, vlan);
		memset(&stats, 0, sizeof stats);
		CU_ASSERT_EQUAL_FATAL(dp_pool_l2(&pool, f, n, 0 /* outside */, r, sizeof r, &rlen, &stats), DP_L2_ANSWER);
		CU_ASSERT_EQUAL(stats.arp_answers, 1);
		size_t o = vlan ? 16 : 12;
		CU_ASSERT(rlen >= 60);
		CU_ASSERT_EQUAL(memcmp(r, client_mac, 6), 0);
		CU_ASSERT_EQUAL(memcmp(r + 6, pool_mac, 6), 0);
		if (vlan)
			CU_ASSERT_EQUAL(rd16(r + 12) == 0x8100 && (rd16(r + 14) & 0xfff) == 42, 1);
		CU_ASSERT_EQUAL(rd16(r + o), 0x0806);
		const uint8_t *a = r + o + 2;
		CU_ASSERT_EQUAL(rd16(a + 6), 2); /* reply */
		CU_ASSERT_EQUAL(memcmp(a + 8, pool_mac, 6), 0);
		CU_ASSERT_EQUAL(memcmp(a + 14, (uint8_t[]){198, 51, 100, 25}, 4), 0);
		CU_ASSERT_EQUAL(memcmp(a + 18, client_mac, 6), 0);
		CU_ASSERT_EQUAL(memcmp(a + 24, (uint8_t[]){192, 0, 2, 10}, 4), 0);
	}
	/* not the service address: bridged as before; a question from the inside neither */
	size_t n = arp_request(f, (uint8_t[]){198, 51, 100, 11}, false);
	CU_ASSERT_EQUAL(dp_pool_l2(&pool, f, n, 0, r, sizeof r, &rlen, &stats), DP_L2_FORWARD);
	n = arp_request(f, (uint8_t[]){198, 51, 100, 25}, false);
	CU_ASSERT_EQUAL(dp_pool_l2(&pool, f, n, 1, r, sizeof r, &rlen, &stats), DP_L2_FORWARD);
	/* truncated */
	CU_ASSERT_EQUAL(dp_pool_l2(&pool, f, 30, 0, r, sizeof r, &rlen, &stats), DP_L2_FORWARD);
}

/* The probe for a host asks from 0.0.0.0; the host's answer is learned and taken. */
static void test_arp_probe_and_learn(void)
{
	uint8_t f[128];
	memset(&learned, 0, sizeof learned);
	size_t n = dp_pool_probe(&pool, &pool.host[0], DP_FAM4, f, sizeof f);
	CU_ASSERT_EQUAL_FATAL(n, 60);
	CU_ASSERT_EQUAL(memcmp(f, "\xff\xff\xff\xff\xff\xff", 6), 0);
	CU_ASSERT_EQUAL(memcmp(f + 22, pool_mac, 6), 0);
	CU_ASSERT_EQUAL(memcmp(f + 28, "\0\0\0\0", 4), 0);
	CU_ASSERT_EQUAL(memcmp(f + 38, (uint8_t[]){198, 51, 100, 11}, 4), 0);
	uint8_t mac[6];
	CU_ASSERT_FALSE(dp_pool_host_mac(&pool, &pool.host[0], DP_FAM4, mac));
	/* the host's reply, as Linux sends it to a probe */
	uint8_t r[60] = {0};
	memcpy(r, pool_mac, 6);
	memcpy(r + 6, host_mac, 6);
	wr16(r + 12, 0x0806);
	arp_body(r + 14, 2, host_mac, (uint8_t[]){198, 51, 100, 11}, pool_mac, (uint8_t[]){0, 0, 0, 0});
	uint8_t out[256];
	size_t rlen;
	CU_ASSERT_EQUAL(dp_pool_l2(&pool, r, sizeof r, 1, out, sizeof out, &rlen, &stats), DP_L2_CONSUME);
	CU_ASSERT_TRUE_FATAL(dp_pool_host_mac(&pool, &pool.host[0], DP_FAM4, mac));
	CU_ASSERT_EQUAL(memcmp(mac, host_mac, 6), 0);
	CU_ASSERT_FALSE(dp_pool_host_mac(&pool, &pool.host[1], DP_FAM4, mac));
}

static uint16_t icmp6_sum(const uint8_t *ip)
{
	size_t mlen = rd16(ip + 4);
	uint8_t tail[8] = {0, 0, (uint8_t)(mlen >> 8), (uint8_t)mlen, 0, 0, 0, 58};
	uint32_t s = dp_csum_add(0, ip + 8, 32);
	s = dp_csum_add(s, tail, 8);
	return dp_csum_fold(dp_csum_add(s, ip + 40, mlen));
}

static size_t neighbour_solicitation(uint8_t *f, const uint8_t src[16], const uint8_t target[16], bool sllao)
{
	uint8_t group[16] = {0xff, 0x02, [11] = 1, [12] = 0xff, [13] = target[13], [14] = target[14], [15] = target[15]};
	memcpy(f, (uint8_t[]){0x33, 0x33, 0xff, target[13], target[14], target[15]}, 6);
	memcpy(f + 6, client_mac, 6);
	wr16(f + 12, 0x86dd);
	uint8_t *ip = f + 14;
	size_t mlen = sllao ? 32 : 24;
	memset(ip, 0, 40 + mlen);
	ip[0] = 0x60;
	wr16(ip + 4, (uint16_t)mlen);
	ip[6] = 58;
	ip[7] = 255;
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, group, 16);
	uint8_t *m = ip + 40;
	m[0] = 135;
	memcpy(m + 8, target, 16);
	if (sllao) {
		m[24] = 1;
		m[25] = 1;
		memcpy(m + 26, client_mac, 6);
	}
	wr16(m + 2, icmp6_sum(ip));
	return 14 + 40 + mlen;
}

static const uint8_t vip6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x25};
static const uint8_t client6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x10};

static void test_nd_answer(void)
{
	uint8_t f[256], r[256];
	size_t rlen;
	size_t n = neighbour_solicitation(f, client6, vip6, true);
	memset(&stats, 0, sizeof stats);
	CU_ASSERT_EQUAL_FATAL(dp_pool_l2(&pool, f, n, 0, r, sizeof r, &rlen, &stats), DP_L2_ANSWER);
	CU_ASSERT_EQUAL(stats.nd_answers, 1);
	CU_ASSERT_EQUAL(rlen, 14 + 40 + 32);
	CU_ASSERT_EQUAL(memcmp(r, client_mac, 6), 0);
	CU_ASSERT_EQUAL(memcmp(r + 6, pool_mac, 6), 0);
	const uint8_t *ip = r + 14, *m = ip + 40;
	CU_ASSERT_EQUAL(ip[6], 58);
	CU_ASSERT_EQUAL(ip[7], 255);
	CU_ASSERT_EQUAL(memcmp(ip + 8, vip6, 16), 0);
	CU_ASSERT_EQUAL(memcmp(ip + 24, client6, 16), 0);
	CU_ASSERT_EQUAL(m[0], 136);
	CU_ASSERT_EQUAL(m[4], 0x60); /* solicited, override */
	CU_ASSERT_EQUAL(memcmp(m + 8, vip6, 16), 0);
	CU_ASSERT_EQUAL(m[24] == 2 && m[25] == 1, 1);
	CU_ASSERT_EQUAL(memcmp(m + 26, pool_mac, 6), 0);
	CU_ASSERT_EQUAL(icmp6_sum(ip), 0);
	/* duplicate address detection (from ::): to all nodes, not solicited */
	static const uint8_t unspec[16];
	n = neighbour_solicitation(f, unspec, vip6, false);
	CU_ASSERT_EQUAL_FATAL(dp_pool_l2(&pool, f, n, 0, r, sizeof r, &rlen, &stats), DP_L2_ANSWER);
	CU_ASSERT_EQUAL(memcmp(r, "\x33\x33\0\0\0\x01", 6), 0);
	CU_ASSERT_EQUAL(r[14 + 24], 0xff);
	CU_ASSERT_EQUAL(r[14 + 39], 1);
	CU_ASSERT_EQUAL(r[14 + 40 + 4], 0x20);
	CU_ASSERT_EQUAL(icmp6_sum(r + 14), 0);
	/* a bad checksum, or another target: not ours */
	n = neighbour_solicitation(f, client6, vip6, true);
	f[14 + 40 + 2] ^= 0x10;
	CU_ASSERT_EQUAL(dp_pool_l2(&pool, f, n, 0, r, sizeof r, &rlen, &stats), DP_L2_FORWARD);
	uint8_t other[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x11};
	n = neighbour_solicitation(f, client6, other, true);
	CU_ASSERT_EQUAL(dp_pool_l2(&pool, f, n, 0, r, sizeof r, &rlen, &stats), DP_L2_FORWARD);
	/* the probe for a host's IPv6 address is a valid solicitation from :: */
	n = dp_pool_probe(&pool, &pool.host[0], DP_FAM6, f, sizeof f);
	CU_ASSERT_EQUAL_FATAL(n, 14 + 40 + 24);
	CU_ASSERT_EQUAL(icmp6_sum(f + 14), 0);
	CU_ASSERT_EQUAL(f[14 + 40], 135);
	/* no IPv6 probe for a host without an IPv6 address */
	CU_ASSERT_EQUAL(dp_pool_probe(&pool, &pool.host[1], DP_FAM6, f, sizeof f), 0);
}

/* ---- the configuration ------------------------------------------------------------------ */

static int parse(struct dp_config *c, const char *text, char *err)
{
	dp_config_default(c);
	return dp_config_parse(c, "t.conf", text, err, 256);
}

static void test_config(void)
{
	struct dp_config c;
	char err[256] = "";
	CU_ASSERT_EQUAL_FATAL(parse(&c,
		"[pool]\naddress = 2001:db8::25, 198.51.100.25\nports = 25, 587\nmac = 02:00:5e:00:53:25\n"
		"[pool-host mx1]\naddress = 198.51.100.11\nweight = 200\nstate = drain\n"
		"[pool-host mx-2]\naddress = 2001:db8::12\nmac = 02:00:00:00:00:12\n", err), 0);
	CU_ASSERT_TRUE(c.pool.enabled);
	CU_ASSERT_TRUE(c.pool.has[DP_FAM4] && c.pool.has[DP_FAM6]);
	CU_ASSERT_EQUAL(c.pool.nports, 2);
	CU_ASSERT_EQUAL(c.pool.nhosts, 2);
	CU_ASSERT_EQUAL(c.pool.host[0].weight, 200);
	CU_ASSERT_EQUAL(c.pool.host[0].state, DP_HOST_DRAIN);
	CU_ASSERT_EQUAL(c.pool.host[1].weight, DP_POOL_DEFAULT_WEIGHT);
	CU_ASSERT_TRUE(c.pool.host[1].mac_set);
	/* the printed configuration reads back the same */
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	dp_config_print(&c, out);
	fclose(out);
	struct dp_config again;
	CU_ASSERT_EQUAL(parse(&again, text, err), 0);
	CU_ASSERT_EQUAL(memcmp(&again.pool, &c.pool, sizeof c.pool), 0);
	free(text);
	/* without [pool] no pool; the default port is 25 */
	CU_ASSERT_EQUAL(parse(&c, "[pool]\naddress = 192.0.2.25\n", err), 0);
	CU_ASSERT_EQUAL(c.pool.nports, 1);
	CU_ASSERT_EQUAL(c.pool.ports[0], 25);
	CU_ASSERT_EQUAL(parse(&c, "", err), 0);
	CU_ASSERT_FALSE(c.pool.enabled);
	CU_ASSERT_EQUAL(parse(&c, "[pool]\naddress = 192.0.2.25\n[workers]\ncount = 2\ndistribution = software\n", err), 0);

	static const struct {
		const char *text, *error;
	} bad[] = {
		{"[pool]\nports = 25\n", "needs its service address"},
		{"[pool]\naddress = 192.0.2.25, 192.0.2.26\n", "at most one IPv4"},
		{"[pool]\naddress = mx.example.net\n", "not an IPv4 or IPv6"},
		{"[pool]\naddress = 192.0.2.25\nports = 80\n", "not one of [smtp] ports"},
		{"[pool]\naddress = 192.0.2.25\n[workers]\ncount = 2\n", "distribution = software"},
		{"[pool]\naddress = 192.0.2.25\n[workers]\ncount = 2\ndistribution = software\n[ports]\n"
		 "direction_check = no\n", "direction_check = yes"},
		{"[dataplane]\nmode = bridge\n[pool]\naddress = 192.0.2.25\n", "needs mode smtp or enforce"},
		{"[pool]\naddress = 192.0.2.25\nmac = 01:00:5e:00:00:01\n", "unicast MAC"},
		{"[pool]\naddress = 192.0.2.25\naddress = 192.0.2.26\n", "set twice"},
		{"[pool]\naddress = 192.0.2.25\n[pool]\n", "[pool] given twice"},
		{"[pool]\naddress = 192.0.2.25\n[pool-host a]\naddress = 192.0.2.1\n[pool-host a]\n", "given twice"},
		{"[pool]\naddress = 192.0.2.25\n[pool-host a b]\n", "[pool-host NAME]"},
		{"[pool]\naddress = 192.0.2.25\n[pool-host]\n", "[pool-host NAME]"},
		{"[pool]\naddress = 192.0.2.25\n[pool-host a]\naddress = 2001:db8::1\n", "family"},
		{"[pool]\naddress = 192.0.2.25\n[pool-host a]\naddress = 192.0.2.1\nweight = 1001\n", "weight"},
		{"[pool]\naddress = 192.0.2.25\n[pool-host a]\naddress = 192.0.2.1\nstate = sick\n", "state"},
		{"[pool]\naddress = 192.0.2.25\n[pool-host a]\nport = 25\n", "unknown key 'port'"},
		{"[pool-host a]\naddress = 192.0.2.1\n", "without a [pool]"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = 0;
		CU_ASSERT_EQUAL(parse(&c, bad[i].text, err), -1);
		if (!strstr(err, bad[i].error)) {
			fprintf(stderr, "\nconfig %zu: expected '%s', got '%s'\n", i, bad[i].error, err);
			CU_FAIL("wrong message");
		}
	}
}

int main(void)
{
	static const struct cu_test maglev[] = {
		{"balance by weight (table and flows within 2 %)", test_maglev_balance},
		{"disruption when a host leaves or joins", test_maglev_disruption},
		{"bad tables refused, small prime tables", test_maglev_refuses},
		{NULL, NULL},
	};
	static const struct cu_test nat[] = {
		{"RFC 1624 example", test_csum_adjust_rfc1624},
		{"incremental checksums equal a full recomputation", test_nat_checksums},
		{NULL, NULL},
	};
	static const struct cu_test l2[] = {
		{"ARP answers for the service address", test_arp_answer},
		{"ARP probe of a host, its answer learned", test_arp_probe_and_learn},
		{"ND answers for the service address", test_nd_answer},
		{NULL, NULL},
	};
	static const struct cu_test conf[] = {
		{"[pool] and [pool-host] sections", test_config},
		{NULL, NULL},
	};
	if (cu_add_suite("maglev", NULL, NULL, maglev) || cu_add_suite("nat", NULL, NULL, nat) ||
	    cu_add_suite("arp-nd", pool_init, NULL, l2) || cu_add_suite("pool config", NULL, NULL, conf))
		return 1;
	return cu_run_registered();
}
