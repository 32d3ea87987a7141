/* tools/bench-dataplane: the per-hit cost of the rule counters (issue 14), alone. */
#ifndef SLUICE_BENCH_RULEHIT_H
#define SLUICE_BENCH_RULEHIT_H

#include "sluice/policy.h"

/* Prints ns per hit of the worker's hits[rule]++ and of the table hashed by rule id it
 * replaced, on policy's rules. */
void bench_rule_hits(struct sl_policy *policy);

#endif
