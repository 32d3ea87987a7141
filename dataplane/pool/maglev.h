/* Maglev consistent hashing (Eisenbud et al., NSDI 2016): a lookup table of a prime
 * size whose entries name backends, each backend holding a share of the entries
 * proportional to its weight. A flow's hash picks an entry. When a backend leaves, the
 * entries it held change hands (to the others, in proportion) and very few others do
 * (Maglev trades a little disruption for balance; test dp_pool measures it), so about
 * only its flows move; an added backend takes its share from every other one. Each backend's
 * preference order over the entries follows from its name alone, so every dataplane
 * that builds the table from the same hosts gets the same table. No DPDK. */
#ifndef SLUICE_DP_MAGLEV_H
#define SLUICE_DP_MAGLEV_H

#include <stddef.h>
#include <stdint.h>

#define DP_MAGLEV_SIZE 65537u  /* prime; ~100 entries per backend at the largest pool */
#define DP_MAGLEV_NONE 0xffu   /* an entry of an empty table */
#define DP_MAGLEV_MAX_BACKENDS 255u
#define DP_MAGLEV_MAX_WEIGHT 1000u

struct dp_maglev_backend {
	const char *name;     /* what the preference order is drawn from */
	unsigned weight;      /* 1..DP_MAGLEV_MAX_WEIGHT; 0: not in the table */
	uint8_t id;           /* what its entries hold */
};

/* Fill table[size] (size prime, at most DP_MAGLEV_SIZE) from the backends; entries hold
 * their ids, or DP_MAGLEV_NONE everywhere when no backend has a weight. Returns the
 * number of backends in the table, -1 when size is not prime or n too large. */
int dp_maglev_build(uint8_t *table, uint32_t size, const struct dp_maglev_backend *b, unsigned n);

/* The entry for a flow hash. */
static inline uint8_t dp_maglev_lookup(const uint8_t *table, uint32_t size, uint32_t hash)
{
	return table[hash % size];
}

#endif
