#include "decode/pktbuild.h"

#include <string.h>

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

size_t dp_build_tcp(uint8_t *out, size_t cap, const uint8_t *tmpl, const struct dp_pkt *tp,
                    bool reverse, const struct dp_tcp_out *seg)
{
	const uint8_t *ts = reverse ? NULL : dp_tcp_option(tmpl, tp, 8, 10); /* timestamps */
	size_t tcp_hlen = ts ? 32 : 20;
	size_t ip_hlen = tp->ip_version == 4 ? 20 : 40;
	size_t l2 = tp->l3_off;
	size_t total = l2 + ip_hlen + tcp_hlen + seg->len;
	if (total > cap || ip_hlen + tcp_hlen + seg->len > 65535)
		return 0;

	/* Ethernet and VLAN tags as in the template, MACs swapped when reversing */
	memcpy(out, tmpl, l2);
	if (reverse) {
		memcpy(out, tmpl + 6, 6);
		memcpy(out + 6, tmpl, 6);
	}
	const uint8_t *src = reverse ? tp->dst : tp->src;
	const uint8_t *dst = reverse ? tp->src : tp->dst;
	uint8_t *ip = out + l2;
	const uint8_t *tip = tmpl + l2;
	if (tp->ip_version == 4) {
		ip[0] = 0x45;
		ip[1] = tip[1];                        /* TOS */
		wr16(ip + 2, (uint16_t)(ip_hlen + tcp_hlen + seg->len));
		wr16(ip + 4, 0);                       /* id: DF set, never fragmented */
		wr16(ip + 6, 0x4000);
		ip[8] = 64;
		ip[9] = 6;
		wr16(ip + 10, 0);
		memcpy(ip + 12, src, 4);
		memcpy(ip + 16, dst, 4);
		wr16(ip + 10, dp_csum_fold(dp_csum_add(0, ip, 20)));
	} else {
		memcpy(ip, tip, 4);                    /* version, traffic class, flow label */
		wr16(ip + 4, (uint16_t)(tcp_hlen + seg->len));
		ip[6] = 6;
		ip[7] = 64;
		memcpy(ip + 8, src, 16);
		memcpy(ip + 24, dst, 16);
	}
	uint8_t *t = ip + ip_hlen;
	wr16(t, reverse ? tp->dport : tp->sport);
	wr16(t + 2, reverse ? tp->sport : tp->dport);
	wr32(t + 4, seg->seq);
	wr32(t + 8, seg->ack);
	t[12] = (uint8_t)(tcp_hlen / 4) << 4;
	t[13] = seg->flags;
	wr16(t + 14, seg->window);
	wr16(t + 16, 0);
	wr16(t + 18, 0);
	if (ts) {
		t[20] = 1;
		t[21] = 1;
		memcpy(t + 22, ts, 10);
	}
	if (seg->len)
		memcpy(t + tcp_hlen, seg->payload, seg->len);

	struct dp_pkt hdr;
	memset(&hdr, 0, sizeof hdr);
	hdr.ip_version = tp->ip_version;
	memcpy(hdr.src, src, 16);
	memcpy(hdr.dst, dst, 16);
	uint32_t s = dp_tcp_pseudo_sum(&hdr, (uint32_t)(tcp_hlen + seg->len));
	s = dp_csum_add(s, t, tcp_hlen + seg->len);
	wr16(t + 16, dp_csum_fold(s));
	return total;
}

/* HC' = ~(~HC + ~m + m') for one 16-bit word m changed to m' (RFC 1624, eqn. 3). */
static uint16_t csum_replace16(uint16_t hc, uint16_t m, uint16_t m_new)
{
	uint32_t sum = (uint16_t)~hc + (uint32_t)(uint16_t)~m + m_new;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

void dp_tcp_clear_urg(uint8_t *t)
{
	uint16_t csum = rd16(t + 16);
	uint16_t flags_word = rd16(t + 12), urp = rd16(t + 18);
	uint16_t new_flags_word = flags_word & (uint16_t)~DP_TCP_URG;
	csum = csum_replace16(csum, flags_word, new_flags_word);
	csum = csum_replace16(csum, urp, 0);
	wr16(t + 12, new_flags_word);
	wr16(t + 18, 0);
	wr16(t + 16, csum);
}
