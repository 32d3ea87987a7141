#include "sockmem.h"

#include <stdint.h>

#include <rte_lcore.h>
#include <rte_malloc.h>

/* rte_malloc_socket rather than an rte_mempool: one thread takes and gives back (no
 * ring, no per-lcore cache needed), and slabs come as the load first grows, up to the
 * configured bound, instead of the whole bound taken from -m at start. */
static void *socket_alloc(void *arg, size_t n)
{
	return rte_malloc_socket("sluice-flows", n, RTE_CACHE_LINE_SIZE, (int)(intptr_t)arg);
}

static void socket_free(void *arg, void *p)
{
	(void)arg;
	rte_free(p);
}

struct dp_objmem dp_sockmem(unsigned lcore)
{
	int socket = (int)rte_lcore_to_socket_id(lcore);
	return (struct dp_objmem){socket_alloc, socket_free, (void *)(intptr_t)socket};
}
