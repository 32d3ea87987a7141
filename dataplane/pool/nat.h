/* Address translation of the mail-host pool (docs/pool.md): a frame of a pooled
 * connection gets the chosen host's address and MAC as its destination on the way in
 * (DNAT), and the service address and MAC as its source on the way out (SNAT). The IPv4
 * header and TCP checksums are updated incrementally (RFC 1624), never recomputed: a
 * segment whose checksum was wrong stays wrong for its receiver. No DPDK. */
#ifndef SLUICE_DP_NAT_H
#define SLUICE_DP_NAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The checksum `csum` (as found in a header) after the bytes `old` (len even, at an even
 * offset of the summed data) became `new` (RFC 1624, eqn. 3). */
uint16_t dp_csum_adjust(uint16_t csum, const uint8_t *old, const uint8_t *new, size_t len);

/* One side of a TCP/IP frame rewritten in place: the destination (dst) or the source
 * address (4 or 16 bytes by ip_version) and MAC. l3_off/l4_off are the parsed IP and
 * TCP header offsets (dp_pkt). */
void dp_nat_rewrite(uint8_t *frame, uint16_t l3_off, uint16_t l4_off, uint8_t ip_version, bool dst,
                    const uint8_t *addr, const uint8_t mac[6]);

#endif
