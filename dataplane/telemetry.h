/* rte_telemetry commands under /sluice/ (read with dpdk-telemetry.py). They sum the
 * workers' counters when asked; workers never wait for them. */
#ifndef SLUICE_DP_TELEMETRY_H
#define SLUICE_DP_TELEMETRY_H

#include "worker.h"

struct dp_telemetry_src {
	const struct dp_config *cfg;
	unsigned nworkers;
	const struct dp_worker *workers;
	const struct dp_distributor *dist;
	uint64_t started_tsc;
	struct dp_control *ctl;     /* the current rule bundle (control.h) */
	struct dp_rulehits *rule_hits; /* messages each rule fired on (pipeline/rulehits.h) */
};

/* Register the commands; src must outlive EAL. 0 or -1. */
int dp_telemetry_register(const struct dp_telemetry_src *src);

/* Sum of every worker's counters (the distributor's drops included). */
void dp_telemetry_sum(const struct dp_telemetry_src *src, struct dp_counters *sum);

#endif
