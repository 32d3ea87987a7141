/* The [pool] and [pool-host NAME] sections of sluice-dp's configuration (docs/pool.md):
 * the service address, its ports and MAC, and the mail hosts with their addresses,
 * weights and states. The version the dataplane starts with is built from it. No DPDK. */
#ifndef SLUICE_DP_POOLCONF_H
#define SLUICE_DP_POOLCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "pool/pool.h"

#define DP_POOL_DEFAULT_WEIGHT 100

struct dp_pool_conf {
	bool enabled;                 /* a [pool] section was given */
	bool has[DP_NFAMS];
	uint8_t vip[DP_NFAMS][16];
	bool mac_set;                 /* else the outside port's MAC */
	uint8_t mac[6];
	uint16_t ports[DP_POOL_MAX_PORTS];
	unsigned nports;              /* 0: port 25 */
	unsigned nhosts;
	struct dp_pool_host host[DP_POOL_MAX_HOSTS];
};

/* A [pool-host NAME] section starts: the host it configures, or NULL with msg. */
struct dp_pool_host *dp_poolconf_host(struct dp_pool_conf *pc, const char *name, char *msg, size_t len);
/* A key of [pool] (h NULL) or of host h's section. 0, or -1 with msg. */
int dp_poolconf_key(struct dp_pool_conf *pc, struct dp_pool_host *h, const char *key, char *value, char *msg,
                    size_t len);
/* Once the file is read: the pool as a whole makes sense. 0, or -1 with msg. */
int dp_poolconf_check(struct dp_pool_conf *pc, char *msg, size_t len);
void dp_poolconf_print(const struct dp_pool_conf *pc, FILE *out);

/* The first version of the pool: p (zeroed by the caller) from the configuration;
 * port_mac is the service's MAC unless [pool] mac is set. 0, or -1 with err. */
int dp_pool_from_conf(struct dp_pool *p, const struct dp_pool_conf *pc, const uint8_t port_mac[6],
                      struct dp_pool_learned *learned, char *err, size_t errlen);

#endif
