/* The pool's link layer (docs/pool.md): the dataplane is a bump in the wire with no
 * address of its own, so it answers ARP and IPv6 neighbour solicitations for the
 * service address on the outside port itself, with the pool's MAC; and it finds the
 * mail hosts' MACs on the inside port by probing (an ARP probe from 0.0.0.0, RFC 5227; a
 * solicitation from ::, which a node answers to all-nodes) and by learning from what
 * they send. No DPDK. */
#ifndef SLUICE_DP_ARP_H
#define SLUICE_DP_ARP_H

#include <stddef.h>
#include <stdint.h>

#include "pool/pool.h"

enum dp_l2_verdict {
	DP_L2_FORWARD,   /* not ours: bridged as before */
	DP_L2_ANSWER,    /* answered (the answer goes back out of the port it came in on) */
	DP_L2_CONSUME,   /* an answer to our probe: learned, not forwarded */
};

/* A frame that is not TCP, from port role `role` (enum dp_role), with pool p in place.
 * The answer to a request for the service address is written to reply (cap bytes, at
 * least 128), its length to *rlen, counted in st. Learned MACs go to p->learned. */
enum dp_l2_verdict dp_pool_l2(const struct dp_pool *p, const uint8_t *frame, size_t len, int role,
                              uint8_t *reply, size_t cap, size_t *rlen, struct dp_pool_stats *st);

/* The probe for host h's address of family fam (out: cap >= 128 bytes); its length. */
size_t dp_pool_probe(const struct dp_pool *p, const struct dp_pool_host *h, int fam, uint8_t *out, size_t cap);

#endif
