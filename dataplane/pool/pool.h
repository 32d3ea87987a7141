/* The mail-host pool (docs/pool.md): a service address (IPv4 and/or IPv6) on some TCP
 * ports, backed by mail hosts with weights and a state (up, draining, down). One version
 * of it, with its Maglev tables, is built off the workers (pool.set on the control
 * socket) and published to them with RCU; it never changes once published. No DPDK. */
#ifndef SLUICE_DP_POOL_H
#define SLUICE_DP_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pool/maglev.h"

#define DP_POOL_MAX_HOSTS 64
#define DP_POOL_NAME_MAX 64
#define DP_POOL_MAX_PORTS 8

enum { DP_FAM4, DP_FAM6, DP_NFAMS };

enum dp_pool_state {
	DP_HOST_UP,     /* in the tables: new connections */
	DP_HOST_DRAIN,  /* out of the tables; its connections finish */
	DP_HOST_DOWN,   /* out of the tables; its connections are reset (it failed) */
};

struct dp_pool_host {
	char name[DP_POOL_NAME_MAX];
	uint8_t slot;                 /* its counters and learned MACs: kept while it is in the pool */
	uint8_t state;                /* enum dp_pool_state */
	unsigned weight;              /* 0..DP_MAGLEV_MAX_WEIGHT; 0: no new connections */
	bool has[DP_NFAMS];
	uint8_t addr[DP_NFAMS][16];   /* IPv4 in the first 4 bytes */
	bool mac_set;                 /* configured; otherwise learned (arp.h) */
	uint8_t mac[6];
	uint32_t entries[DP_NFAMS];   /* table entries it holds */
};

/* MACs of the hosts as the workers learn them (ARP/ND replies, their frames), per slot
 * and family: written by any worker (atomic stores), read by all; it outlives the
 * versions. 0: unknown; else DP_MAC_KNOWN | the MAC as a 48-bit number. */
#define DP_MAC_KNOWN (1ull << 48)
struct dp_pool_learned {
	uint64_t mac[DP_POOL_MAX_HOSTS][DP_NFAMS];
};

struct dp_pool {
	uint64_t version;
	bool has[DP_NFAMS];                   /* a service address of that family */
	uint8_t vip[DP_NFAMS][16];
	uint8_t mac[6];                       /* the service address's: ARP/ND answers, SNAT */
	uint16_t ports[DP_POOL_MAX_PORTS];
	unsigned nports;
	unsigned nhosts;
	struct dp_pool_host host[DP_POOL_MAX_HOSTS];
	uint8_t by_slot[DP_POOL_MAX_HOSTS];   /* host index of a slot, DP_MAGLEV_NONE when none */
	struct dp_pool_learned *learned;
	uint8_t table[DP_NFAMS][DP_MAGLEV_SIZE]; /* host index per entry */
};

/* Fill the tables of a pool whose other fields are set (hosts with unique names and
 * slots): each family's table over the hosts that are up, have a weight and an address
 * of that family. 0, or -1 with err. */
int dp_pool_build(struct dp_pool *p, char *err, size_t errlen);

/* The host a new connection of family fam with flow hash h goes to (index in p->host),
 * or -1 when no host is up for that family. */
int dp_pool_pick(const struct dp_pool *p, int fam, uint32_t h);

/* The MAC to send a host's frames of family fam to: configured, else learned; false
 * while unknown. */
bool dp_pool_host_mac(const struct dp_pool *p, const struct dp_pool_host *h, int fam, uint8_t mac[6]);
/* Record a MAC seen for the host of slot `slot` (any worker). */
void dp_pool_learn(struct dp_pool_learned *l, unsigned slot, int fam, const uint8_t mac[6]);

/* The family of an IP version (4 -> DP_FAM4, 6 -> DP_FAM6). */
static inline int dp_pool_fam(uint8_t ip_version)
{
	return ip_version == 4 ? DP_FAM4 : DP_FAM6;
}
static inline size_t dp_pool_addr_len(int fam)
{
	return fam == DP_FAM4 ? 4 : 16;
}
/* Is addr (of family fam) the service address, and port one of its ports? */
bool dp_pool_is_service(const struct dp_pool *p, int fam, const uint8_t *addr, uint16_t port);
bool dp_pool_is_port(const struct dp_pool *p, uint16_t port);

/* "192.0.2.25" or "2001:db8::25": 0 with its family and bytes, else -1. */
int dp_pool_parse_addr(const char *s, int *fam, uint8_t addr[16]);
void dp_pool_addr_text(int fam, const uint8_t *addr, char *out, size_t len);
/* "02:00:5e:00:53:25": 0, else -1 (also for a multicast or all-zero MAC). */
int dp_pool_parse_mac(const char *s, uint8_t mac[6]);
void dp_pool_mac_text(const uint8_t mac[6], char *out, size_t len);
/* A host name: 1 to DP_POOL_NAME_MAX - 1 letters, digits, '.', '-', '_'. */
bool dp_pool_valid_name(const char *s);

const char *dp_pool_state_name(enum dp_pool_state s);
int dp_pool_state_parse(const char *s, enum dp_pool_state *out);

/* Counters of one worker's pooled connections (summed by pool.get). */
struct dp_pool_host_stats {
	uint64_t connections;   /* assigned to it */
	uint64_t active;        /* gauge: of them, not closed yet */
	uint64_t bytes_in, bytes_out; /* payload client -> host, host -> client */
	uint64_t messages;      /* message ends seen on its connections */
	uint64_t reset_down;    /* connections reset because it went down */
};

struct dp_pool_stats {
	struct dp_pool_host_stats host[DP_POOL_MAX_HOSTS]; /* by slot */
	uint64_t arp_answers, nd_answers, probes;
	uint64_t no_host;       /* SYNs to the service with no host up: answered with a RST */
	uint64_t no_mac;        /* SYNs dropped while the chosen host's MAC was not known yet */
	uint64_t repicked;      /* SYNs sent again after their host left the table: re-chosen */
};

/* What a pooled flow keeps: its host, chosen at its SYN, and the two MACs its frames are
 * rewritten with. */
struct dp_flow_pool {
	bool pooled;
	bool active;        /* counted in its host's active connections */
	uint8_t slot;
	uint8_t mac[6];     /* the host's */
	uint8_t vip_mac[6]; /* the service address's, as the client knows it */
	uint8_t addr[16];   /* the host's address (of the flow's family) */
};

#endif
