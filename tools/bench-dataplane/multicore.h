/* tools/bench-dataplane --only multicore: the enforce stage on one worker, then on every
 * worker lcore at once, placed RSS-style (each worker its own queue, filled by flow hash
 * as a NIC does) and behind the software distributor (the main lcore places frames on
 * the workers' rings). Prints throughput by wall clock and per core (CPU time), and the
 * scaling factor over one worker measured the same way. */
#ifndef SLUICE_BENCH_MULTICORE_H
#define SLUICE_BENCH_MULTICORE_H

#include <rte_mempool.h>

#include "port.h"
#include "sluice/policy.h"

/* 0, or 1 when a run was nonsensical (drops, messages missing). */
int bench_multicore(struct sl_policy *policy, const struct dp_ports *ports, double seconds);

#endif
