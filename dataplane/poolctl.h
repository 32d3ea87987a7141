/* The pool's operations on sluice-dp's control socket (docs/control.md, docs/pool.md):
 * pool.set builds a version of the pool (hosts, weights, states, Maglev tables) on the
 * control thread and publishes it to the workers with RCU, as bundles are; pool.get
 * reports it with each host's counters summed over the workers. */
#ifndef SLUICE_DP_POOLCTL_H
#define SLUICE_DP_POOLCTL_H

#include <stdint.h>

#include <jansson.h>

#include "core/config.h"

struct dp_worker;
struct dp_control;
struct dp_pool;
struct dp_poolctl;

/* port_mac: the outside port's own MAC, what the service address answers with unless
 * pool.set names another. */
struct dp_poolctl *dp_poolctl_new(const struct dp_config *cfg, struct dp_worker *workers, unsigned nworkers,
                                  const uint8_t port_mac[6]);
void dp_poolctl_free(struct dp_poolctl *pc);

/* The answer to a pool.* op (on the control thread), or NULL when op is not one. */
json_t *dp_poolctl_handle(struct dp_poolctl *pc, struct dp_control *c, const char *op, json_t *req);
/* The version in place (0: none), for hello. */
uint64_t dp_poolctl_version(const struct dp_poolctl *pc);

/* In control.c: publish a pool version to the workers (RCU); true once every worker took
 * it. The previous version is freed once no worker can read it. */
bool dp_control_publish_pool(struct dp_control *c, struct dp_pool *p);

#endif
