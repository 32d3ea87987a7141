/* sluice-control's side of the dataplanes' mail-host pools (docs/pool.md): health checks
 * of every host the dataplanes' pools name (health.c), on [pool] interval with rise/fall
 * thresholds, and the state each dataplane should give each host: "down" while its
 * checks fail, "drain" while an administrator drains it, "up" otherwise. A thread checks
 * and converges; a transition is logged and recorded in the audit log. */
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
/* An administrator drains the host (true) or puts it back in service (false). */
void pool_set_drained(const char *name, bool drained);
void pool_forget(const char *name);
/* The state a dataplane should give the host now that it has `current`, or NULL when
 * it is right as it is. */
const char *pool_wanted(const char *name, const char *current);
/* Bring every dataplane's state of host `name` to pool_wanted; one result per dataplane
 * in `results` ({dataplane, result, detail}) when given. */
void pool_converge(struct ctl *c, const char *name, json_t *results);

#endif
