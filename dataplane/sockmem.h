/* The backing of a worker's pools (pipeline/objpool.h) under EAL: DPDK memory on the
 * worker lcore's NUMA socket. */
#ifndef SLUICE_DP_SOCKMEM_H
#define SLUICE_DP_SOCKMEM_H

#include "pipeline/objpool.h"

/* rte_malloc_socket on the socket of lcore. */
struct dp_objmem dp_sockmem(unsigned lcore);

#endif
