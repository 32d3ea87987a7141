/* The dataplane's own handshakes: a refused SYN (block list, ban, limits, emergency
 * mode) can be answered without the server. The SYN-ACK's sequence number is a SYN
 * cookie (a keyed hash of the connection and a 64-second time slot, its low bits the
 * answer), so nothing is kept per refused connection; when the client's ACK comes back
 * with a valid cookie, the client gets the answer (421/554) and a FIN, and later
 * segments an ACK. A completed handshake also proves the client's address is not
 * spoofed (emergency mode verifies sources this way). No DPDK. */
#ifndef SLUICE_DP_RESPONDER_H
#define SLUICE_DP_RESPONDER_H

#include <stdbool.h>
#include <stdint.h>

#include "stream/flow.h"
#include "protect/protect.h"

/* The SYN-ACK for a refused SYN, built on the scratch flow s. */
void dp_responder_syn(struct dp_flow *s, const uint8_t *frame, const struct dp_pkt *p, int in_role,
                      enum dp_answer a, uint64_t now_ms, struct dp_out *out);

/* A segment without a flow: when it belongs to one of the responder's handshakes, out
 * holds what it gets (the answer and a FIN, a FIN again, an ACK, or nothing) and true
 * is returned; *completed is the answer when the segment acknowledged the SYN-ACK (the
 * answer is sent), else DP_ANSWERS. */
bool dp_responder_segment(struct dp_flow *s, const uint8_t *frame, const struct dp_pkt *p,
                          int in_role, uint64_t now_ms, struct dp_out *out, enum dp_answer *completed);

#endif
