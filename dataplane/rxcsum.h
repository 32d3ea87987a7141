/* The NIC's verdict on a received frame's checksums, from its mbuf's RX offload flags
 * (port.c turns the offload on where the device has it, but not on virtio/vhost ports;
 * vdevs leave the flags UNKNOWN). L4_CKSUM_NONE (the data is intact but the checksum
 * field is not final) is taken as UNKNOWN: sluice-dp forwards the field as it came, and
 * a receiver would drop it, so the software check drops it first (fail closed). The
 * ports that produce NONE (virtio's partial checksums) are the ones left without the
 * offload. */
#ifndef SLUICE_DP_RXCSUM_H
#define SLUICE_DP_RXCSUM_H

#include <rte_mbuf.h>

#include "decode/pktparse.h"

static inline enum dp_csum_state dp_rx_csum(const struct rte_mbuf *m)
{
	uint64_t l4 = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
	uint64_t ip = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
	if (l4 == RTE_MBUF_F_RX_L4_CKSUM_BAD || ip == RTE_MBUF_F_RX_IP_CKSUM_BAD)
		return DP_CSUM_BAD;
	return l4 == RTE_MBUF_F_RX_L4_CKSUM_GOOD ? DP_CSUM_GOOD : DP_CSUM_UNKNOWN;
}

#endif
