/* Build TCP segments the dataplane sends itself: re-segmented held bytes, injected
 * SMTP replies, RSTs. A template frame of the flow (parsed) gives the Ethernet/VLAN/IP
 * headers; `reverse` builds the opposite direction from it (addresses, ports and MACs
 * swapped). No DPDK. */
#ifndef SLUICE_DP_PKTBUILD_H
#define SLUICE_DP_PKTBUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode/pktparse.h"

struct dp_tcp_out {
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t window;
	const uint8_t *payload;
	size_t len;
};

/* Largest header a built frame has: Ethernet + VLAN tags + IPv6 + TCP with timestamps. */
#define DP_BUILD_HDR_MAX (14 + 4 * DP_MAX_VLANS + 40 + 32)

/* Writes the frame into out (cap bytes); returns its length, 0 when it does not fit.
 * Keeps the template's timestamp option (forward direction only) so receivers that
 * negotiated timestamps accept the segment. */
size_t dp_build_tcp(uint8_t *out, size_t cap, const uint8_t *tmpl, const struct dp_pkt *tp,
                    bool reverse, const struct dp_tcp_out *seg);

/* Clear URG and the urgent pointer of the TCP header at tcp (in a frame about to be
 * forwarded), updating its checksum incrementally (RFC 1624). */
void dp_tcp_clear_urg(uint8_t *tcp);

#endif
