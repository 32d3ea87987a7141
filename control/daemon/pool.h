/* sluice-control's side of the dataplanes' mail-host pools (docs/pool.md): health checks
 * of every host the dataplanes' pools name (health.c), on [pool] interval with rise/fall
 * thresholds, and the state each dataplane should give each host: "down" while its
 * checks fail, "drain" while an administrator drains it, "up" otherwise. A thread checks
 * and converges (states, and the hosts and weights administrators changed); a
 * transition is logged and recorded in the audit log. */
#ifndef SLUICE_CONTROL_POOL_H
#define SLUICE_CONTROL_POOL_H

#include <stdbool.h>

#include <jansson.h>

#include "ctl.h"

/* Start the health thread (only with a [pool] section). 0 or -1. */
int pool_start(struct ctl *c);
void pool_stop(void);

/* What the checks know of a host: {health: up|down|unknown, since, error, drained}. */
json_t *pool_health_json(const char *name);

/* What administrators changed (sluicectl pool): kept in the state directory's pool.json
 * and made true again on a dataplane that lost it (a restart starts from its file) at
 * every round of checks. Each returns 0, or -1 with err when pool.json cannot be saved. */
int pool_set_drained(struct ctl *c, const char *name, bool drained, char *err, size_t errlen);
int pool_set_weight(struct ctl *c, const char *name, unsigned weight, char *err, size_t errlen);
/* added: the pool.add request's addresses (borrowed); removed: the host left the pool. */
int pool_set_added(struct ctl *c, const char *name, json_t *addresses, unsigned weight, char *err, size_t errlen);
int pool_set_removed(struct ctl *c, const char *name, char *err, size_t errlen);
/* pool.json from the state directory (at start). 0, or -1 with err. */
int pool_load(struct ctl *c, char *err, size_t errlen);
/* The state a dataplane should give the host now that it has `current`, or NULL when
 * it is right as it is. */
const char *pool_wanted(const char *name, const char *current);
/* Bring every dataplane's state of host `name` to pool_wanted; one result per dataplane
 * in `results` ({dataplane, result, detail}) when given. */
void pool_converge(struct ctl *c, const char *name, json_t *results);

#endif
