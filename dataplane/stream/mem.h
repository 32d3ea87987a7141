/* Memory accounting with caps: a flow's account charges its worker's too, so one
 * check enforces both max_flow_memory and the worker's share of max_memory. */
#ifndef SLUICE_DP_MEM_H
#define SLUICE_DP_MEM_H

#include <stdbool.h>
#include <stddef.h>

struct dp_mem {
	size_t used, limit;      /* limit 0 = unlimited */
	struct dp_mem *parent;
};

static inline bool dp_mem_fits(const struct dp_mem *m, size_t n)
{
	for (; m; m = m->parent)
		if (m->limit && m->used + n > m->limit)
			return false;
	return true;
}

/* Charge n bytes already in use, whether or not they fit (memory a session grew into);
 * the caps then refuse new flows until enough is released. */
static inline void dp_mem_add(struct dp_mem *m, size_t n)
{
	for (; m; m = m->parent)
		m->used += n;
}

/* Charge n bytes when every level has room. */
static inline bool dp_mem_charge(struct dp_mem *m, size_t n)
{
	if (!dp_mem_fits(m, n))
		return false;
	dp_mem_add(m, n);
	return true;
}

static inline void dp_mem_release(struct dp_mem *m, size_t n)
{
	for (; m; m = m->parent)
		m->used -= n < m->used ? n : m->used;
}

#endif
