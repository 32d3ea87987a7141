#include "pool/arp.h"

#include <string.h>

#include "pipeline/counters.h"
#include "decode/pktparse.h"

#define ET_ARP 0x0806
#define ET_IPV6 0x86dd
#define ET_VLAN 0x8100
#define ET_QINQ 0x88a8
#define ARP_LEN 28
#define MIN_FRAME 60
#define ICMPV6 58
#define ND_NS 135
#define ND_NA 136
#define OPT_SLLAO 1
#define OPT_TLLAO 2

static const uint8_t broadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t all_nodes[16] = {0xff, 0x02, [15] = 1};
static const uint8_t unspecified[16];

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Past the Ethernet header and VLAN tags: the EtherType and the payload's offset. */
static size_t l2_end(const uint8_t *f, size_t len, uint16_t *et)
{
	size_t off = 12;
	if (len < 14)
		return 0;
	*et = rd16(f + off);
	off += 2;
	for (int n = 0; (*et == ET_VLAN || *et == ET_QINQ) && n < DP_MAX_VLANS; n++) {
		if (off + 4 > len)
			return 0;
		*et = rd16(f + off + 2);
		off += 4;
	}
	return off;
}

/* The pool host with this address of family fam, or NULL. */
static const struct dp_pool_host *host_of(const struct dp_pool *p, int fam, const uint8_t *addr)
{
	for (unsigned i = 0; i < p->nhosts; i++)
		if (p->host[i].has[fam] && memcmp(p->host[i].addr[fam], addr, dp_pool_addr_len(fam)) == 0)
			return &p->host[i];
	return NULL;
}

/* Ethernet header (and the request's VLAN tags) of an answer; returns where the
 * payload starts. */
static size_t answer_l2(uint8_t *out, const uint8_t *req, size_t l2, const uint8_t dst[6],
                        const uint8_t src[6], uint16_t et)
{
	memcpy(out, dst, 6);
	memcpy(out + 6, src, 6);
	memcpy(out + 12, req + 12, l2 - 14); /* tags, as the request had them */
	wr16(out + l2 - 2, et);
	return l2;
}

static size_t padded(uint8_t *out, size_t n)
{
	if (n < MIN_FRAME) {
		memset(out + n, 0, MIN_FRAME - n);
		n = MIN_FRAME;
	}
	return n;
}

static enum dp_l2_verdict arp(const struct dp_pool *p, const uint8_t *f, size_t l2, int role,
                              uint8_t *reply, size_t *rlen)
{
	const uint8_t *a = f + l2;
	if (rd16(a) != 1 || rd16(a + 2) != 0x0800 || a[4] != 6 || a[5] != 4)
		return DP_L2_FORWARD;
	uint16_t op = rd16(a + 6);
	const uint8_t *sha = a + 8, *spa = a + 14, *tha = a + 18, *tpa = a + 24;
	if (role == DP_INSIDE) {
		const struct dp_pool_host *h = host_of(p, DP_FAM4, spa);
		if (h)
			dp_pool_learn(p->learned, h->slot, DP_FAM4, sha);
		/* the answer to our probe is for nobody else */
		return h && op == 2 && memcmp(tha, p->mac, 6) == 0 && memcmp(f, p->mac, 6) == 0 ?
		       DP_L2_CONSUME : DP_L2_FORWARD;
	}
	if (op != 1 || !p->has[DP_FAM4] || memcmp(tpa, p->vip[DP_FAM4], 4) != 0 ||
	    memcmp(spa, p->vip[DP_FAM4], 4) == 0)
		return DP_L2_FORWARD; /* not a question for us (an announcement is not) */
	size_t o = answer_l2(reply, f, l2, sha, p->mac, ET_ARP);
	uint8_t *r = reply + o;
	memcpy(r, a, 6);
	wr16(r + 6, 2);
	memcpy(r + 8, p->mac, 6);
	memcpy(r + 14, p->vip[DP_FAM4], 4);
	memcpy(r + 18, sha, 6);
	memcpy(r + 24, spa, 4);
	*rlen = padded(reply, o + ARP_LEN);
	return DP_L2_ANSWER;
}

/* The link-layer address option of a type in an ND message's options, or NULL. */
static const uint8_t *nd_lladdr(const uint8_t *opt, size_t len, uint8_t type)
{
	while (len >= 8) {
		size_t olen = (size_t)opt[1] * 8;
		if (!olen || olen > len)
			return NULL;
		if (opt[0] == type && olen == 8)
			return opt + 2;
		opt += olen;
		len -= olen;
	}
	return NULL;
}

static uint16_t icmp6_csum(const uint8_t *src, const uint8_t *dst, const uint8_t *msg, size_t len)
{
	uint8_t tail[8] = {0, 0, (uint8_t)(len >> 8), (uint8_t)len, 0, 0, 0, ICMPV6};
	uint32_t s = dp_csum_add(0, src, 16);
	s = dp_csum_add(s, dst, 16);
	s = dp_csum_add(s, tail, 8);
	return dp_csum_fold(dp_csum_add(s, msg, len));
}

/* An IPv6 header and ICMPv6 message of mlen bytes (checksum filled in). */
static void icmp6_frame(uint8_t *ip, const uint8_t *src, const uint8_t *dst, size_t mlen)
{
	memset(ip, 0, 8);
	ip[0] = 0x60;
	wr16(ip + 4, (uint16_t)mlen);
	ip[6] = ICMPV6;
	ip[7] = 255; /* ND messages are valid only with the link-local hop limit */
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, dst, 16);
	uint8_t *m = ip + 40;
	wr16(m + 2, 0);
	wr16(m + 2, icmp6_csum(src, dst, m, mlen));
}

static enum dp_l2_verdict nd(const struct dp_pool *p, const uint8_t *f, size_t len, size_t l2, int role,
                             uint8_t *reply, size_t *rlen)
{
	const uint8_t *ip = f + l2;
	if (l2 + 40 + 24 > len || ip[6] != ICMPV6 || ip[7] != 255)
		return DP_L2_FORWARD;
	size_t mlen = rd16(ip + 4);
	if (l2 + 40 + mlen > len || mlen < 24)
		return DP_L2_FORWARD;
	const uint8_t *m = ip + 40, *src = ip + 8, *target = m + 8;
	if ((m[0] != ND_NS && m[0] != ND_NA) || m[1] != 0 || icmp6_csum(src, ip + 24, m, mlen) != 0)
		return DP_L2_FORWARD;
	const uint8_t *opts = m + 24;
	size_t olen = mlen - 24;
	if (role == DP_INSIDE) {
		/* a host's advertisement of its address, or its own solicitation */
		const struct dp_pool_host *h = host_of(p, DP_FAM6, m[0] == ND_NA ? target : src);
		const uint8_t *ll = nd_lladdr(opts, olen, m[0] == ND_NA ? OPT_TLLAO : OPT_SLLAO);
		if (h && ll)
			dp_pool_learn(p->learned, h->slot, DP_FAM6, ll);
		return DP_L2_FORWARD;
	}
	if (m[0] != ND_NS || !p->has[DP_FAM6] || memcmp(target, p->vip[DP_FAM6], 16) != 0)
		return DP_L2_FORWARD;
	bool dad = memcmp(src, unspecified, 16) == 0;
	const uint8_t *sll = nd_lladdr(opts, olen, OPT_SLLAO);
	static const uint8_t all_nodes_mac[6] = {0x33, 0x33, 0, 0, 0, 1};
	const uint8_t *dst_mac = dad ? all_nodes_mac : sll ? sll : f + 6;
	size_t o = answer_l2(reply, f, l2, dst_mac, p->mac, ET_IPV6);
	uint8_t *na = reply + o + 40;
	memset(na, 0, 32);
	na[0] = ND_NA;
	na[4] = dad ? 0x20 : 0x60; /* override, and solicited unless it answers a DAD probe */
	memcpy(na + 8, p->vip[DP_FAM6], 16);
	na[24] = OPT_TLLAO;
	na[25] = 1;
	memcpy(na + 26, p->mac, 6);
	icmp6_frame(reply + o, p->vip[DP_FAM6], dad ? all_nodes : src, 32);
	*rlen = o + 40 + 32;
	return DP_L2_ANSWER;
}

enum dp_l2_verdict dp_pool_l2(const struct dp_pool *p, const uint8_t *frame, size_t len, int role,
                              uint8_t *reply, size_t cap, size_t *rlen, struct dp_pool_stats *st)
{
	uint16_t et = 0;
	size_t l2 = l2_end(frame, len, &et);
	*rlen = 0;
	if (!l2 || l2 + 40 + 32 > cap || (role != DP_INSIDE && role != DP_OUTSIDE))
		return DP_L2_FORWARD;
	enum dp_l2_verdict v = DP_L2_FORWARD;
	if (et == ET_ARP && l2 + ARP_LEN <= len && (v = arp(p, frame, l2, role, reply, rlen)) == DP_L2_ANSWER)
		st->arp_answers++;
	else if (et == ET_IPV6 && (v = nd(p, frame, len, l2, role, reply, rlen)) == DP_L2_ANSWER)
		st->nd_answers++;
	return v;
}

size_t dp_pool_probe(const struct dp_pool *p, const struct dp_pool_host *h, int fam, uint8_t *out, size_t cap)
{
	if (cap < 128 || !h->has[fam])
		return 0;
	const uint8_t *t = h->addr[fam];
	if (fam == DP_FAM4) {
		/* from 0.0.0.0: the host answers without caching anything about us */
		memcpy(out, broadcast, 6);
		memcpy(out + 6, p->mac, 6);
		wr16(out + 12, ET_ARP);
		uint8_t *a = out + 14;
		memset(a, 0, ARP_LEN);
		wr16(a, 1);
		wr16(a + 2, 0x0800);
		a[4] = 6;
		a[5] = 4;
		wr16(a + 6, 1);
		memcpy(a + 8, p->mac, 6);
		memcpy(a + 24, t, 4);
		return padded(out, 14 + ARP_LEN);
	}
	/* from ::, to the target's solicited-node group: answered to all-nodes with its MAC */
	uint8_t group[16] = {0xff, 0x02, [11] = 1, [12] = 0xff, [13] = t[13], [14] = t[14], [15] = t[15]};
	const uint8_t mac[6] = {0x33, 0x33, 0xff, t[13], t[14], t[15]};
	memcpy(out, mac, 6);
	memcpy(out + 6, p->mac, 6);
	wr16(out + 12, ET_IPV6);
	uint8_t *ns = out + 14 + 40;
	memset(ns, 0, 24);
	ns[0] = ND_NS;
	memcpy(ns + 8, t, 16);
	icmp6_frame(out + 14, unspecified, group, 24);
	return 14 + 40 + 24;
}
