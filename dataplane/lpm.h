/* The allow/block lists as DPDK longest-prefix-match tables (rte_lpm for IPv4,
 * rte_lpm6 for IPv6): one immutable snapshot per version of the lists, built off the
 * workers (control thread, start-up) and read by every worker through the core's
 * struct dp_lists (protect/prefix.h). A family without entries has no table. */
#ifndef SLUICE_DP_LPM_H
#define SLUICE_DP_LPM_H

#include <stddef.h>
#include <stdint.h>

#include "protect/prefix.h"

struct dp_list_snapshot {
	struct dp_lists lists;         /* what the workers read: points into this snapshot */
	struct dp_list_entry *e;       /* copies: the snapshot owns them */
	size_t n;
	struct dp_pardon *pardons;
	size_t npardons;
	struct rte_lpm *v4;
	struct rte_lpm6 *v6;
	uint32_t default_v4, default_v6; /* a /0 entry (rte_lpm takes depth 1 and up): index + 1 */
	uint64_t version;
};

/* A snapshot of these entries (prefixes unique: dp_list_dedupe) and pardons. NULL
 * with err when the tables cannot be made (memory, too many prefixes). */
struct dp_list_snapshot *dp_lpm_build(const struct dp_list_entry *e, size_t n,
                                      const struct dp_pardon *p, size_t np, uint64_t version,
                                      char *err, size_t errlen);
void dp_lpm_free(struct dp_list_snapshot *s);

/* The struct dp_lists lookup over a snapshot: entry index + 1, or 0. */
uint32_t dp_lpm_lookup(const void *snapshot, uint8_t family, const uint8_t *addr);

#endif
