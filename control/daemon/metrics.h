/* The Prometheus endpoint: GET /metrics on [metrics] listen (loopback by default), served
 * by libmicrohttpd's own thread. Each scrape asks every dataplane for its counters. */
#ifndef SLUICE_CONTROL_METRICS_H
#define SLUICE_CONTROL_METRICS_H

#include <stddef.h>

#include "ctl.h"

/* Start serving (nothing when listen is empty). 0, or -1 with err. */
int metrics_start(struct ctl *c, char *err, size_t errlen);
void metrics_stop(void);

#endif
