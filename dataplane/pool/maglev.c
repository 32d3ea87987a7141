#include "pool/maglev.h"

#include <stdbool.h>
#include <string.h>

/* FNV-1a with a seed, then splitmix64's finaliser: two independent, well-mixed hashes
 * of a name for a backend's offset and skip. Fixed (not keyed): the table must come out
 * the same on every dataplane; which flow lands where is decided by the keyed flow hash. */
static uint64_t name_hash(const char *s, uint64_t seed)
{
	uint64_t h = 1469598103934665603ull ^ seed;
	for (; *s; s++) {
		h ^= (uint8_t)*s;
		h *= 1099511628211ull;
	}
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	return h ^ (h >> 31);
}

static bool is_prime(uint32_t n)
{
	if (n < 2)
		return false;
	for (uint32_t d = 2; d * d <= n; d++)
		if (n % d == 0)
			return false;
	return true;
}

int dp_maglev_build(uint8_t *table, uint32_t size, const struct dp_maglev_backend *b, unsigned n)
{
	if (!is_prime(size) || size > DP_MAGLEV_SIZE || n > DP_MAGLEV_MAX_BACKENDS)
		return -1;
	memset(table, DP_MAGLEV_NONE, size);
	uint32_t next[DP_MAGLEV_MAX_BACKENDS], skip[DP_MAGLEV_MAX_BACKENDS];
	unsigned credit[DP_MAGLEV_MAX_BACKENDS], max_weight = 0;
	int active = 0;
	for (unsigned i = 0; i < n; i++) {
		credit[i] = 0;
		if (b[i].id == DP_MAGLEV_NONE || b[i].weight > DP_MAGLEV_MAX_WEIGHT)
			return -1;
		if (!b[i].weight)
			continue;
		/* each backend walks the entries in its own order: offset, offset + skip, ...
		 * (size is prime, so every skip visits them all) */
		next[i] = (uint32_t)(name_hash(b[i].name, 0x5eed0ff5e7ull) % size);
		skip[i] = (uint32_t)(name_hash(b[i].name, 0x5eed05c1bull) % (size - 1)) + 1;
		if (b[i].weight > max_weight)
			max_weight = b[i].weight;
		active++;
	}
	if (!active)
		return 0;
	/* Rounds in which every backend gains its weight in credit and takes its next
	 * preferred free entry per max_weight of credit (Katran's weighted Maglev): the
	 * shares follow the weights, and the fill stays the paper's for equal weights. */
	uint32_t filled = 0;
	for (;;)
		for (unsigned i = 0; i < n; i++) {
			if (!b[i].weight)
				continue;
			credit[i] += b[i].weight;
			if (credit[i] < max_weight)
				continue;
			credit[i] -= max_weight;
			while (table[next[i]] != DP_MAGLEV_NONE)
				next[i] = (next[i] + skip[i]) % size;
			table[next[i]] = b[i].id;
			next[i] = (next[i] + skip[i]) % size;
			if (++filled == size)
				return active;
		}
}
