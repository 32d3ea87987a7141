/* The two ports: find them (id or device name), configure queues, start them. */
#ifndef SLUICE_DP_PORT_H
#define SLUICE_DP_PORT_H

#include <stdint.h>

#include <rte_mempool.h>

#include "config/config.h"
#include "pipeline/counters.h"

struct dp_ports {
	uint16_t id[DP_NROLES];     /* DPDK port id of outside / inside */
	uint16_t nrxq, ntxq;        /* queues configured on each port */
	int socket;
	struct rte_mempool *pool;
};

/* Resolve, configure and start both ports with nrxq rx and ntxq tx queues, RSS when
 * nrxq > 1. -1 with a message on stderr. */
int dp_ports_setup(const struct dp_config *c, uint16_t nrxq, uint16_t ntxq, struct dp_ports *p);
/* Queues a port can offer (min over both ports). */
int dp_ports_max_queues(const struct dp_config *c, uint16_t *max_rx, uint16_t *max_tx,
                        int *rss_ok);
void dp_ports_stop(struct dp_ports *p);

/* role of a port id, or -1 */
static inline int dp_port_role(const struct dp_ports *p, uint16_t port)
{
	return port == p->id[DP_OUTSIDE] ? DP_OUTSIDE : port == p->id[DP_INSIDE] ? DP_INSIDE : -1;
}

#endif
