/* The pool on sluice-dp's side of the control socket (docs/pool.md, docs/control.md):
 * the versions of the pool, built on the control thread and published to the workers
 * with RCU as bundles are (each worker takes a new version between bursts; the old one
 * is freed once every worker passed a quiescent state), and the pool.* operations:
 * pool.get reports the hosts with their counters summed over the workers; pool.set,
 * pool.add and pool.remove make a new version. */
#ifndef SLUICE_DP_POOLCTL_H
#define SLUICE_DP_POOLCTL_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "config/config.h"

struct dp_worker;
struct dp_control;
struct dp_pool;
struct dp_poolctl;

/* The first version from [pool] (before the workers start), each worker's inspector
 * given its share; port_mac: the outside port's own MAC, what the service address
 * answers with unless [pool] mac names another. NULL with *failed false: no pool
 * configured; NULL with *failed true: an error (message on stderr). */
struct dp_poolctl *dp_poolctl_new(const struct dp_config *cfg, struct dp_worker *workers, unsigned nworkers,
                                  const uint8_t port_mac[6], bool *failed);
/* After the workers and their inspectors are gone. */
void dp_poolctl_free(struct dp_poolctl *pc);

/* The answer to a pool.* op (on the control thread), or NULL when op is not one. */
json_t *dp_poolctl_handle(struct dp_poolctl *pc, struct dp_control *c, const char *op, json_t *req);
/* The version in place (0: none), for hello. */
uint64_t dp_poolctl_version(const struct dp_poolctl *pc);

/* In control.c: offer a pool version to the workers (RCU); true once every worker took
 * it (the previous version can then be freed). */
bool dp_control_publish_pool(struct dp_control *c, const struct dp_pool *p);
/* In control.c: the pool the control socket serves (NULL: none). */
void dp_control_set_pool(struct dp_control *c, struct dp_poolctl *pc);

#endif
