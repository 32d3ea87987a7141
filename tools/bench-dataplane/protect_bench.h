/* tools/bench-dataplane's protection parts: the configuration and lists of stages (4)
 * and (5), the SYN flood's frames, and the per-operation costs (LPM lookups, the SYN
 * check, a token bucket) measured alone. */
#ifndef SLUICE_BENCH_PROTECT_H
#define SLUICE_BENCH_PROTECT_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "lpm.h"

/* The defaults, with limits the generated sessions never reach (they are evaluated all
 * the same) and no per-network limits (the sessions come from one /24 and one /64). */
void bench_protect_config(struct dp_protect_config *p);
/* 128 IPv4 /32s (192.0.2.128/25) and 10000 IPv6 prefixes in 2001:db8::/32
 * (not the sessions' 2001:db8:1::/64): rte_lpm and rte_lpm6 tables. */
struct dp_list_snapshot *bench_protect_lists(void);
/* Flood SYN number i from the template SYN frame tmpl (len bytes): another source in
 * 192.0.2.0/25, port and ISN, checksums made again. */
void bench_flood_syn(const uint8_t *tmpl, size_t len, uint8_t *out, uint32_t i);
/* Prints the costs of single operations. */
void bench_protect_micro(const struct dp_list_snapshot *lists);

#endif
