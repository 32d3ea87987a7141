/* Parse one Ethernet frame down to TCP: VLAN tags (802.1Q/802.1ad, stacked), IPv4,
 * IPv6 with extension headers. Works on plain bytes, so the DPDK workers and the
 * offline reader share it. No DPDK. */
#ifndef SLUICE_DP_PKTPARSE_H
#define SLUICE_DP_PKTPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DP_MAX_VLANS 4

enum dp_pkt_kind {
	DP_PKT_OTHER,     /* not TCP (ARP, UDP, ICMP, other EtherTypes): bridge untouched */
	DP_PKT_TCP,       /* a TCP segment, fields below valid */
	DP_PKT_FRAGMENT,  /* an IP fragment of a TCP datagram (ports unknown when not first) */
	DP_PKT_MALFORMED, /* claims to be IP/TCP but lengths or headers are inconsistent */
};

/* TCP flags */
#define DP_TCP_FIN 0x01
#define DP_TCP_SYN 0x02
#define DP_TCP_RST 0x04
#define DP_TCP_PSH 0x08
#define DP_TCP_ACK 0x10
#define DP_TCP_URG 0x20

struct dp_pkt {
	uint16_t nvlan;
	uint16_t vlan_tci[DP_MAX_VLANS];
	uint16_t ethertype;      /* after the VLAN tags */
	uint16_t l3_off;         /* IP header offset in the frame */
	uint16_t l4_off;         /* TCP header offset */
	uint16_t payload_off;
	uint16_t payload_len;    /* TCP payload, from the IP lengths (frame padding excluded) */
	uint16_t l3_len;         /* IP datagram length (header + payload) */
	uint8_t ip_version;      /* 4 or 6 */
	uint8_t ttl;             /* TTL / hop limit */
	uint8_t src[16], dst[16];/* IPv4 addresses in the first 4 bytes */
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint16_t window;
	uint8_t flags;           /* DP_TCP_* */
	uint8_t tcp_hlen;        /* TCP header length with options */
};

enum dp_pkt_kind dp_pkt_parse(const uint8_t *frame, size_t len, struct dp_pkt *p);

/* The TCP option of this kind (and length, 0 = any) in a parsed segment, or NULL. */
const uint8_t *dp_tcp_option(const uint8_t *frame, const struct dp_pkt *p, uint8_t kind, uint8_t len);

/* What the receiving NIC found of a frame's checksums (its RX offload flags). */
enum dp_csum_state {
	DP_CSUM_UNKNOWN, /* not verified (vdevs, no offload): verify in software */
	DP_CSUM_GOOD,    /* the TCP checksum was verified right */
	DP_CSUM_BAD,     /* the TCP (or IPv4 header) checksum was found wrong */
};

/* True when the TCP checksum of a parsed segment is right. */
bool dp_pkt_tcp_csum_ok(const uint8_t *frame, const struct dp_pkt *p);
/* True when a parsed segment's IPv4 header checksum is right (IPv6: no such field). */
bool dp_pkt_ipv4_csum_ok(const uint8_t *frame, const struct dp_pkt *p);

/* Internet checksum helpers (RFC 1071), shared with the packet builder. */
uint32_t dp_csum_add(uint32_t sum, const void *data, size_t len);
uint16_t dp_csum_fold(uint32_t sum);
/* Pseudo-header sum for TCP over the parsed IP version and addresses. */
uint32_t dp_tcp_pseudo_sum(const struct dp_pkt *p, uint32_t tcp_len);

#endif
