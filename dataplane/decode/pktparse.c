#include "decode/pktparse.h"

#include <string.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "checksum code assumes a little-endian host");

#define ETH_HLEN 14
#define ET_IPV4 0x0800
#define ET_IPV6 0x86dd
#define ET_VLAN 0x8100
#define ET_QINQ 0x88a8
#define ET_QINQ_OLD 0x9100
#define IPPROTO_TCP_ 6

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* IPv6 extension headers we walk over to find TCP; anything else is "other". */
static bool ipv6_ext(uint8_t nh)
{
	return nh == 0 /* hop-by-hop */ || nh == 43 /* routing */ || nh == 60 /* dest opts */;
}

static enum dp_pkt_kind parse_tcp(const uint8_t *f, size_t end, size_t off, struct dp_pkt *p)
{
	if (off + 20 > end)
		return DP_PKT_MALFORMED;
	const uint8_t *t = f + off;
	unsigned hlen = (unsigned)(t[12] >> 4) * 4;
	if (hlen < 20 || off + hlen > end)
		return DP_PKT_MALFORMED;
	p->l4_off = (uint16_t)off;
	p->sport = rd16(t);
	p->dport = rd16(t + 2);
	p->seq = rd32(t + 4);
	p->ack = rd32(t + 8);
	p->flags = t[13] & 0x3f;
	p->window = rd16(t + 14);
	p->tcp_hlen = (uint8_t)hlen;
	p->payload_off = (uint16_t)(off + hlen);
	p->payload_len = (uint16_t)(end - off - hlen);
	return DP_PKT_TCP;
}

enum dp_pkt_kind dp_pkt_parse(const uint8_t *f, size_t len, struct dp_pkt *p)
{
	memset(p, 0, sizeof *p);
	if (len < ETH_HLEN || len > 65535 + ETH_HLEN + 4 * DP_MAX_VLANS)
		return DP_PKT_OTHER;
	size_t off = 12;
	uint16_t et = rd16(f + off);
	off += 2;
	while (et == ET_VLAN || et == ET_QINQ || et == ET_QINQ_OLD) {
		if (p->nvlan == DP_MAX_VLANS || off + 4 > len)
			return DP_PKT_OTHER;
		p->vlan_tci[p->nvlan++] = rd16(f + off);
		et = rd16(f + off + 2);
		off += 4;
	}
	p->ethertype = et;
	p->l3_off = (uint16_t)off;

	if (et == ET_IPV4) {
		if (off + 20 > len)
			return DP_PKT_MALFORMED;
		const uint8_t *ip = f + off;
		if (ip[0] >> 4 != 4)
			return DP_PKT_MALFORMED;
		unsigned ihl = (unsigned)(ip[0] & 15) * 4;
		unsigned total = rd16(ip + 2);
		if (ihl < 20 || total < ihl || off + total > len)
			return DP_PKT_MALFORMED;
		p->ip_version = 4;
		p->ttl = ip[8];
		p->l3_len = (uint16_t)total;
		memcpy(p->src, ip + 12, 4);
		memcpy(p->dst, ip + 16, 4);
		if (ip[9] != IPPROTO_TCP_)
			return DP_PKT_OTHER;
		uint16_t frag = rd16(ip + 6);
		if (frag & 0x3fff) /* MF set or offset non-zero */
			return DP_PKT_FRAGMENT;
		return parse_tcp(f, off + total, off + ihl, p);
	}
	if (et == ET_IPV6) {
		if (off + 40 > len)
			return DP_PKT_MALFORMED;
		const uint8_t *ip = f + off;
		if (ip[0] >> 4 != 6)
			return DP_PKT_MALFORMED;
		size_t plen = rd16(ip + 4);
		size_t end = off + 40 + plen;
		if (end > len)
			return DP_PKT_MALFORMED;
		p->ip_version = 6;
		p->ttl = ip[7];
		p->l3_len = (uint16_t)(40 + plen);
		memcpy(p->src, ip + 8, 16);
		memcpy(p->dst, ip + 24, 16);
		uint8_t nh = ip[6];
		size_t x = off + 40;
		while (ipv6_ext(nh)) {
			if (x + 8 > end)
				return DP_PKT_MALFORMED;
			nh = f[x];
			x += ((size_t)f[x + 1] + 1) * 8;
		}
		if (nh == 44) { /* fragment header */
			if (x + 8 > end)
				return DP_PKT_MALFORMED;
			return f[x] == IPPROTO_TCP_ ? DP_PKT_FRAGMENT : DP_PKT_OTHER;
		}
		if (nh != IPPROTO_TCP_)
			return DP_PKT_OTHER;
		return parse_tcp(f, end, x, p);
	}
	return DP_PKT_OTHER;
}

/* RFC 1071 sum of 16-bit big-endian words, returned folded to 16 bits. The ones'
 * complement sum does not depend on the word size or byte order, so the bytes are
 * summed as native little-endian 64-bit words (two independent add-with-carry chains)
 * and folded and swapped once at the end: several times faster than 16 or 32 bits at a
 * time, and every inspected frame is checked. */
uint32_t dp_csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *b = data;
	unsigned __int128 s0 = 0, s1 = 0;
	uint64_t w0, w1;
	while (len >= 16) {
		memcpy(&w0, b, 8);
		memcpy(&w1, b + 8, 8);
		s0 += w0;
		s1 += w1;
		b += 16;
		len -= 16;
	}
	if (len >= 8) {
		memcpy(&w0, b, 8);
		s0 += w0;
		b += 8;
		len -= 8;
	}
	if (len >= 4) {
		uint32_t w;
		memcpy(&w, b, 4);
		s1 += w;
		b += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t w;
		memcpy(&w, b, 2);
		s0 += w;
		b += 2;
		len -= 2;
	}
	if (len)
		s1 += b[0]; /* a lone last byte is the high byte of a big-endian word */
	/* fold 2 x 128 -> 64 -> 32 -> 16 bits, carries wrapping around */
	s0 += s1;
	uint64_t lo = (uint64_t)s0, hi = (uint64_t)(s0 >> 64);
	uint64_t s = lo + hi;
	s += s < lo;
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	uint32_t be = (uint32_t)__builtin_bswap16((uint16_t)s) + sum;
	while (be >> 16)
		be = (be & 0xffff) + (be >> 16);
	return be;
}

uint16_t dp_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Plain big-endian 16-bit words: dp_csum_add's setup and folds, three times over 8 to
 * 40 bytes, cost a third of a segment's whole check. Folded like dp_csum_add's sum. */
uint32_t dp_tcp_pseudo_sum(const struct dp_pkt *p, uint32_t tcp_len)
{
	unsigned n = p->ip_version == 4 ? 4 : 16;
	uint32_t s = IPPROTO_TCP_ + (tcp_len >> 16) + (tcp_len & 0xffff);
	for (unsigned i = 0; i < n; i += 2)
		s += (uint32_t)(p->src[i] << 8 | p->src[i + 1]) + (uint32_t)(p->dst[i] << 8 | p->dst[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

const uint8_t *dp_tcp_option(const uint8_t *frame, const struct dp_pkt *p, uint8_t kind, uint8_t len)
{
	const uint8_t *o = frame + p->l4_off + 20, *end = frame + p->l4_off + p->tcp_hlen;
	while (o < end) {
		if (*o == 0) /* end of options */
			break;
		if (*o == 1) { /* no-op */
			o++;
			continue;
		}
		if (o + 1 >= end || o[1] < 2 || o + o[1] > end)
			break;
		if (o[0] == kind && (!len || o[1] == len))
			return o;
		o += o[1];
	}
	return NULL;
}

bool dp_pkt_tcp_csum_ok(const uint8_t *f, const struct dp_pkt *p)
{
	uint32_t tcp_len = (uint32_t)p->tcp_hlen + p->payload_len;
	uint32_t s = dp_tcp_pseudo_sum(p, tcp_len);
	s = dp_csum_add(s, f + p->l4_off, tcp_len);
	return dp_csum_fold(s) == 0;
}

bool dp_pkt_ipv4_csum_ok(const uint8_t *f, const struct dp_pkt *p)
{
	if (p->ip_version != 4)
		return true;
	return dp_csum_fold(dp_csum_add(0, f + p->l3_off, (size_t)(p->l4_off - p->l3_off))) == 0;
}
