/* Frame parsing (VLAN, IPv4, IPv6 + extension headers, fragments, malformed input),
 * checksums, segment building and symmetric flow keys. Reference frames made with
 * scapy (checksums computed by scapy). */
#include <stdlib.h>
#include <string.h>

#include "decode/flowkey.h"
#include "decode/pktbuild.h"
#include "decode/pktparse.h"
#include "cunit_run.h"

static size_t unhex(const char *h, uint8_t *out)
{
	size_t n = 0;
	for (; h[0] && h[1]; h += 2)
		out[n++] = (uint8_t)strtoul((char[]){h[0], h[1], 0}, NULL, 16);
	return n;
}

/* Ether/IP(192.0.2.1 -> 198.51.100.2)/TCP(40000 -> 25, seq=4294967000, ack=12345, PA)/"EHLO x\r\n" */
static const char v4_hex[] =
	"0200000000020200000000010800450000300001000040068e90c0000201c63364029c400019fffffed8"
	"00003039501820001908000045484c4f20780d0a";
/* Ether/Dot1Q(7)/IPv6(2001:db8::1 -> ::2)/TCP(25 -> 40000, A, NOP NOP TS(1,2))/"220 hi\r\n" */
static const char v6_hex[] =
	"0200000000020200000000018100000786dd600000000028064020010db80000000000000000000000012001"
	"0db800000000000000000000000200199c40000000010000000280102000871b00000101080a0000000100"
	"0000023232302068690d0a";

static void test_ipv4(void)
{
	uint8_t f[256];
	size_t n = unhex(v4_hex, f);
	struct dp_pkt p;
	CU_ASSERT_EQUAL_FATAL(dp_pkt_parse(f, n, &p), DP_PKT_TCP);
	CU_ASSERT_EQUAL(p.ip_version, 4);
	CU_ASSERT_EQUAL(p.nvlan, 0);
	CU_ASSERT_EQUAL(p.sport, 40000);
	CU_ASSERT_EQUAL(p.dport, 25);
	CU_ASSERT_EQUAL(p.seq, 4294967000u);
	CU_ASSERT_EQUAL(p.ack, 12345);
	CU_ASSERT_EQUAL(p.flags, DP_TCP_PSH | DP_TCP_ACK);
	CU_ASSERT_EQUAL(p.payload_len, 8);
	CU_ASSERT_EQUAL(memcmp(f + p.payload_off, "EHLO x\r\n", 8), 0);
	CU_ASSERT_EQUAL(memcmp(p.src, "\xc0\x00\x02\x01", 4), 0);
	CU_ASSERT_TRUE(dp_pkt_tcp_csum_ok(f, &p));
	CU_ASSERT_TRUE(dp_pkt_ipv4_csum_ok(f, &p));
	f[p.payload_off + 2]++;
	CU_ASSERT_FALSE(dp_pkt_tcp_csum_ok(f, &p));
	CU_ASSERT_TRUE(dp_pkt_ipv4_csum_ok(f, &p)); /* the payload is not in the header's sum */
	f[p.l3_off + 8]--;                           /* the TTL is */
	CU_ASSERT_FALSE(dp_pkt_ipv4_csum_ok(f, &p));
}

static void test_ipv6_vlan_timestamps(void)
{
	uint8_t f[256];
	size_t n = unhex(v6_hex, f);
	struct dp_pkt p;
	CU_ASSERT_EQUAL_FATAL(dp_pkt_parse(f, n, &p), DP_PKT_TCP);
	CU_ASSERT_EQUAL(p.ip_version, 6);
	CU_ASSERT_EQUAL(p.nvlan, 1);
	CU_ASSERT_EQUAL(p.vlan_tci[0] & 0xfff, 7);
	CU_ASSERT_EQUAL(p.sport, 25);
	CU_ASSERT_EQUAL(p.tcp_hlen, 32);
	CU_ASSERT_EQUAL(p.payload_len, 8);
	CU_ASSERT_EQUAL(memcmp(f + p.payload_off, "220 hi\r\n", 8), 0);
	CU_ASSERT_TRUE(dp_pkt_tcp_csum_ok(f, &p));
}

static void test_ipv6_extension_headers_and_fragments(void)
{
	uint8_t f[256], g[256];
	size_t n = unhex(v6_hex, f);
	struct dp_pkt p;
	CU_ASSERT_EQUAL_FATAL(dp_pkt_parse(f, n, &p), DP_PKT_TCP);
	/* insert an 8-byte hop-by-hop header between IPv6 and TCP */
	size_t ip = p.l3_off, tcp = p.l4_off;
	memcpy(g, f, tcp);
	g[ip + 6] = 0;                  /* next header: hop-by-hop */
	g[ip + 5] = (uint8_t)(g[ip + 5] + 8);
	uint8_t hbh[8] = {6, 0, 1, 4, 0, 0, 0, 0};
	memcpy(g + tcp, hbh, 8);
	memcpy(g + tcp + 8, f + tcp, n - tcp);
	struct dp_pkt q;
	CU_ASSERT_EQUAL_FATAL(dp_pkt_parse(g, n + 8, &q), DP_PKT_TCP);
	CU_ASSERT_EQUAL(q.l4_off, tcp + 8);
	CU_ASSERT_EQUAL(q.payload_len, 8);
	CU_ASSERT_TRUE(dp_pkt_tcp_csum_ok(g, &q)); /* the pseudo header ignores ext headers */
	/* the same as a fragment header */
	g[ip + 6] = 44;
	CU_ASSERT_EQUAL(dp_pkt_parse(g, n + 8, &q), DP_PKT_FRAGMENT);
	/* truncated extension chain */
	g[ip + 6] = 0;
	g[tcp + 1] = 200;
	CU_ASSERT_EQUAL(dp_pkt_parse(g, n + 8, &q), DP_PKT_MALFORMED);
}

static void test_ipv4_fragments_and_malformed(void)
{
	uint8_t f[256];
	size_t n = unhex(v4_hex, f);
	struct dp_pkt p;
	dp_pkt_parse(f, n, &p);
	size_t ip = p.l3_off, tcp = p.l4_off;
	f[ip + 6] = 0x20; /* MF */
	CU_ASSERT_EQUAL(dp_pkt_parse(f, n, &p), DP_PKT_FRAGMENT);
	f[ip + 6] = 0x40; /* DF only */
	CU_ASSERT_EQUAL(dp_pkt_parse(f, n, &p), DP_PKT_TCP);
	f[ip + 7] = 1; /* offset 8 */
	CU_ASSERT_EQUAL(dp_pkt_parse(f, n, &p), DP_PKT_FRAGMENT);
	f[ip + 7] = 0;
	/* total length beyond the frame */
	f[ip + 3] = 0xff;
	CU_ASSERT_EQUAL(dp_pkt_parse(f, n, &p), DP_PKT_MALFORMED);
	f[ip + 3] = 0x30;
	/* TCP data offset below 5 words */
	f[tcp + 12] = 0x40;
	CU_ASSERT_EQUAL(dp_pkt_parse(f, n, &p), DP_PKT_MALFORMED);
	f[tcp + 12] = 0xf0; /* 60 bytes: beyond the datagram */
	CU_ASSERT_EQUAL(dp_pkt_parse(f, n, &p), DP_PKT_MALFORMED);
	/* every truncation of a good frame parses without reading past the end */
	n = unhex(v4_hex, f);
	for (size_t len = 0; len < n; len++) {
		uint8_t *copy = malloc(len ? len : 1);
		memcpy(copy, f, len);
		enum dp_pkt_kind k = dp_pkt_parse(copy, len, &p);
		CU_ASSERT_NOT_EQUAL(k, DP_PKT_TCP);
		free(copy);
	}
}

static void test_padding_and_other(void)
{
	uint8_t f[256];
	size_t n = unhex(v4_hex, f);
	struct dp_pkt p;
	/* a pure ACK padded to the Ethernet minimum: payload from the IP length */
	f[14 + 3] = 40;
	memset(f + n, 0xee, 20);
	CU_ASSERT_EQUAL_FATAL(dp_pkt_parse(f, 60 > n ? 60 : n, &p), DP_PKT_TCP);
	CU_ASSERT_EQUAL(p.payload_len, 0);
	/* ARP, UDP: bridged as other */
	n = unhex(v4_hex, f);
	f[12] = 0x08;
	f[13] = 0x06;
	CU_ASSERT_EQUAL(dp_pkt_parse(f, n, &p), DP_PKT_OTHER);
	n = unhex(v4_hex, f);
	f[14 + 9] = 17;
	CU_ASSERT_EQUAL(dp_pkt_parse(f, n, &p), DP_PKT_OTHER);
	CU_ASSERT_EQUAL(dp_pkt_parse(f, 10, &p), DP_PKT_OTHER);
	/* five stacked VLAN tags: more than we walk */
	uint8_t v[128];
	memcpy(v, f, 12);
	for (int i = 0; i < 5; i++) {
		v[12 + 4 * i] = 0x81;
		v[13 + 4 * i] = 0;
		v[14 + 4 * i] = 0;
		v[15 + 4 * i] = 1;
	}
	CU_ASSERT_EQUAL(dp_pkt_parse(v, 40, &p), DP_PKT_OTHER);
}

static void test_build_forward_and_reverse(void)
{
	uint8_t t[256], out[512];
	size_t tn = unhex(v6_hex, t);
	struct dp_pkt tp, p;
	CU_ASSERT_EQUAL_FATAL(dp_pkt_parse(t, tn, &tp), DP_PKT_TCP);
	static const uint8_t msg[] = "250 ok\r\n";
	struct dp_tcp_out seg = {.seq = 0xfffffff0u, .ack = 77, .flags = DP_TCP_ACK | DP_TCP_PSH,
	                         .window = 1000, .payload = msg, .len = 8};
	size_t n = dp_build_tcp(out, sizeof out, t, &tp, false, &seg);
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL_FATAL(dp_pkt_parse(out, n, &p), DP_PKT_TCP);
	CU_ASSERT_TRUE(dp_pkt_tcp_csum_ok(out, &p));
	CU_ASSERT_EQUAL(p.seq, 0xfffffff0u);
	CU_ASSERT_EQUAL(p.ack, 77);
	CU_ASSERT_EQUAL(p.tcp_hlen, 32); /* timestamps kept */
	CU_ASSERT_EQUAL(p.nvlan, 1);
	CU_ASSERT_EQUAL(p.sport, 25);
	CU_ASSERT_EQUAL(memcmp(out + p.payload_off, msg, 8), 0);

	n = dp_build_tcp(out, sizeof out, t, &tp, true, &seg);
	CU_ASSERT_EQUAL_FATAL(dp_pkt_parse(out, n, &p), DP_PKT_TCP);
	CU_ASSERT_TRUE(dp_pkt_tcp_csum_ok(out, &p));
	CU_ASSERT_EQUAL(p.sport, 40000);
	CU_ASSERT_EQUAL(p.dport, 25);
	CU_ASSERT_EQUAL(memcmp(p.src, tp.dst, 16), 0);
	CU_ASSERT_EQUAL(memcmp(out, t + 6, 6), 0); /* MACs swapped */
	CU_ASSERT_EQUAL(p.tcp_hlen, 20);

	uint8_t v4[256];
	tn = unhex(v4_hex, v4);
	CU_ASSERT_EQUAL_FATAL(dp_pkt_parse(v4, tn, &tp), DP_PKT_TCP);
	seg.len = 0;
	seg.flags = DP_TCP_RST;
	n = dp_build_tcp(out, sizeof out, v4, &tp, true, &seg);
	CU_ASSERT_EQUAL_FATAL(dp_pkt_parse(out, n, &p), DP_PKT_TCP);
	CU_ASSERT_TRUE(dp_pkt_tcp_csum_ok(out, &p));
	CU_ASSERT_EQUAL(p.flags, DP_TCP_RST);
	CU_ASSERT_EQUAL(n, 54);
	/* IPv4 header checksum */
	CU_ASSERT_EQUAL(dp_csum_fold(dp_csum_add(0, out + 14, 20)), 0);
	/* too small a buffer */
	CU_ASSERT_EQUAL(dp_build_tcp(out, 40, v4, &tp, true, &seg), 0);
}

/* RFC 1071 the plain way: big-endian 16-bit words, a lone last byte padded. */
static uint16_t csum_reference(const uint8_t *b, size_t len)
{
	uint32_t s = 0;
	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		s += (uint32_t)b[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void test_checksum_matches_reference(void)
{
	/* every length up to 2 KB and every alignment, random and all-ones bytes (the
	 * carries), with and without an initial sum */
	static uint8_t buf[2048 + 16];
	srand(7);
	for (int fill = 0; fill < 2; fill++) {
		for (size_t i = 0; i < sizeof buf; i++)
			buf[i] = fill ? 0xff : (uint8_t)rand();
		for (size_t off = 0; off < 8; off++)
			for (size_t len = 0; len <= 2048; len++) {
				uint16_t want = csum_reference(buf + off, len);
				if (dp_csum_fold(dp_csum_add(0, buf + off, len)) != want) {
					CU_FAIL("checksum differs from the reference");
					return;
				}
			}
	}
	/* a sum carried in: the same as summing both pieces at once (even split) */
	uint32_t part = dp_csum_add(0, buf, 100);
	CU_ASSERT_EQUAL(dp_csum_fold(dp_csum_add(part, buf + 100, 901)), csum_reference(buf, 1001));
}

/* The TCP pseudo header's sum against the header written out (RFC 793, RFC 8200 8.1)
 * and summed by dp_csum_add: random and all-ones addresses, every kind of length. */
static void test_pseudo_sum_matches_header(void)
{
	static const uint32_t lens[] = {0, 1, 20, 1480, 0xffff, 0x10000, 0x1fffe};
	srand(11);
	for (int round = 0; round < 2000; round++) {
		struct dp_pkt p;
		memset(&p, 0, sizeof p);
		p.ip_version = round % 2 ? 6 : 4;
		for (int i = 0; i < 16; i++) {
			p.src[i] = round < 4 ? 0xff : (uint8_t)rand();
			p.dst[i] = round < 4 ? 0xff : (uint8_t)rand();
		}
		uint32_t len = lens[round % 7];
		uint8_t h[40] = {0};
		size_t n;
		if (p.ip_version == 4) {
			memcpy(h, p.src, 4);
			memcpy(h + 4, p.dst, 4);
			h[9] = 6;
			h[10] = (uint8_t)(len >> 8);
			h[11] = (uint8_t)len;
			n = 12;
			if (len > 0xffff)
				continue; /* not an IPv4 length */
		} else {
			memcpy(h, p.src, 16);
			memcpy(h + 16, p.dst, 16);
			h[32] = (uint8_t)(len >> 24);
			h[33] = (uint8_t)(len >> 16);
			h[34] = (uint8_t)(len >> 8);
			h[35] = (uint8_t)len;
			h[39] = 6;
			n = 40;
		}
		uint8_t data[7] = {(uint8_t)round, 1, 2, 3, 4, 5, (uint8_t)(round >> 8)};
		uint16_t want = dp_csum_fold(dp_csum_add(dp_csum_add(0, h, n), data, sizeof data));
		uint16_t got = dp_csum_fold(dp_csum_add(dp_tcp_pseudo_sum(&p, len), data, sizeof data));
		if (got != want) {
			CU_FAIL("pseudo header sum differs from the header's");
			return;
		}
		CU_ASSERT(dp_tcp_pseudo_sum(&p, len) <= 0xffff);
	}
}

static void test_flow_key_symmetric(void)
{
	uint8_t t[256], out[512];
	size_t tn = unhex(v4_hex, t);
	struct dp_pkt a, b;
	dp_pkt_parse(t, tn, &a);
	struct dp_tcp_out seg = {.seq = 1, .ack = 2, .flags = DP_TCP_ACK};
	size_t n = dp_build_tcp(out, sizeof out, t, &a, true, &seg);
	dp_pkt_parse(out, n, &b);
	struct dp_flow_key ka, kb;
	bool sa, sb;
	dp_flow_key_make(&a, &ka, &sa);
	dp_flow_key_make(&b, &kb, &sb);
	CU_ASSERT_TRUE(dp_flow_key_eq(&ka, &kb));
	CU_ASSERT_NOT_EQUAL(sa, sb);
	CU_ASSERT_EQUAL(dp_flow_hash_pkt(&a), dp_flow_hash_pkt(&b));
	b.sport++;
	dp_flow_key_make(&b, &kb, &sb);
	CU_ASSERT_FALSE(dp_flow_key_eq(&ka, &kb));
	/* same addresses, ports ordered */
	memcpy(b.src, b.dst, 16);
	dp_flow_key_make(&b, &kb, &sb);
	CU_ASSERT_EQUAL(kb.lo_port < kb.hi_port, true);
}

int main(void)
{
	static const struct cu_test tests[] = {
		{"IPv4 TCP and checksum", test_ipv4},
		{"IPv6 in VLAN with timestamps", test_ipv6_vlan_timestamps},
		{"IPv6 extension headers, fragments", test_ipv6_extension_headers_and_fragments},
		{"IPv4 fragments and malformed", test_ipv4_fragments_and_malformed},
		{"padding, ARP, UDP, deep VLAN stacks", test_padding_and_other},
		{"built segments parse back", test_build_forward_and_reverse},
		{"flow keys are symmetric", test_flow_key_symmetric},
		{"checksum matches RFC 1071 reference", test_checksum_matches_reference},
		{"pseudo header sum matches the header written out", test_pseudo_sum_matches_header},
		{NULL, NULL},
	};
	return cu_run_suite("dataplane packets", NULL, NULL, tests);
}
