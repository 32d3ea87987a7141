/* The key of a TCP flow, the same for both directions (so one worker and one table
 * entry see both), and its hash. No DPDK. */
#ifndef SLUICE_DP_FLOWKEY_H
#define SLUICE_DP_FLOWKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode/pktparse.h"

struct dp_flow_key {
	uint8_t lo_addr[16], hi_addr[16]; /* the (addr, port) pairs in canonical order */
	uint16_t lo_port, hi_port;
	uint16_t vlan;                    /* outermost VLAN id, 0 when untagged */
	uint8_t ip_version;
	uint8_t pad;
};

/* The hash is keyed (SipHash-1-3) so that nobody outside can choose keys that chain
 * in one bucket or land on one worker. Set the key once, before any packet (sluice-dp
 * draws it at start); until then a fixed key is used (tests, fuzzing). */
void dp_flow_hash_set_key(const uint8_t key[16]);

/* The keyed hash (SipHash-1-3) of n 64-bit words: flow keys, source table keys. */
uint32_t dp_keyed_hash(const uint64_t *w, size_t n);
/* Keyed hash of a client's /24 (IPv4) or /64 (IPv6): the software distributor places
 * flows by it, so a source's flows and its network's counters meet on one worker. */
uint32_t dp_client_net_hash(uint8_t family, const uint8_t *addr);

/* *swapped tells whether the packet's source is the `hi` side. */
void dp_flow_key_make(const struct dp_pkt *p, struct dp_flow_key *k, bool *swapped);
uint32_t dp_flow_key_hash(const struct dp_flow_key *k);
bool dp_flow_key_eq(const struct dp_flow_key *a, const struct dp_flow_key *b);
/* The packet comes from the key's lo side (address and port). */
bool dp_flow_key_is_lo(const struct dp_flow_key *k, const struct dp_pkt *p);
/* dp_flow_key_hash of the packet's key. */
uint32_t dp_flow_hash_pkt(const struct dp_pkt *p);

#endif
