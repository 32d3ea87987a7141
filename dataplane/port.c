#include "port.h"

#include <stdio.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_random.h>

/* A repeating 0x6d5a key makes Toeplitz RSS symmetric: both directions of a flow hash
 * to the same queue (Woo & Park, "Scalable TCP Session Monitoring with Symmetric RSS"). */
static uint8_t symmetric_rss_key[40];

static int resolve(const struct dp_port_ref *r, const char *role, uint16_t *id)
{
	if (r->name[0]) {
		if (rte_eth_dev_get_port_by_name(r->name, id) != 0) {
			fprintf(stderr, "sluice-dp: [ports] %s = %s: no such DPDK device\n", role, r->name);
			return -1;
		}
		return 0;
	}
	if (!rte_eth_dev_is_valid_port(r->id)) {
		fprintf(stderr, "sluice-dp: [ports] %s = %u: no such DPDK port (%u ports; add --vdev or bind a NIC)\n",
		        role, r->id, rte_eth_dev_count_avail());
		return -1;
	}
	*id = r->id;
	return 0;
}

int dp_ports_max_queues(const struct dp_config *c, uint16_t *max_rx, uint16_t *max_tx, int *rss_ok)
{
	uint16_t ids[2];
	if (resolve(&c->outside, "outside", &ids[0]) || resolve(&c->inside, "inside", &ids[1]))
		return -1;
	*max_rx = *max_tx = UINT16_MAX;
	*rss_ok = 1;
	for (int i = 0; i < 2; i++) {
		struct rte_eth_dev_info info;
		if (rte_eth_dev_info_get(ids[i], &info) != 0)
			return -1;
		if (info.max_rx_queues < *max_rx)
			*max_rx = info.max_rx_queues;
		if (info.max_tx_queues < *max_tx)
			*max_tx = info.max_tx_queues;
		if (!(info.flow_type_rss_offloads & (RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_NONFRAG_IPV6_TCP)))
			*rss_ok = 0;
	}
	return 0;
}

/* Hashing by the client's address only (the source on the outside port, the
 * destination on the inside one) keeps all of a client's connections on one queue, so
 * the protection's per-source counters are exact (docs/protection.md). The key is
 * random: nobody outside can aim at one queue. */
static uint8_t client_rss_key[40];

static bool client_rss(const struct rte_eth_dev_info *info)
{
	const uint64_t both = RTE_ETH_RSS_L3_SRC_ONLY | RTE_ETH_RSS_L3_DST_ONLY;
	return (info->flow_type_rss_offloads & both) == both;
}

/* Virtio and vhost ports: asking them for the RX checksum offload lets the peer hand over
 * segments whose checksum it left unfinished (VIRTIO_NET_HDR_F_NEEDS_CSUM, flagged
 * L4_CKSUM_NONE), which the vhost PMD otherwise finishes in software, for UDP too.
 * sluice-dp forwards frames as they came: the receiver would get them unfinished, and
 * the worker's own check would drop them. Those ports are left without the offload. */
static bool partial_checksums(const struct rte_eth_dev_info *info)
{
	const char *d = info->driver_name ? info->driver_name : "";
	return strstr(d, "virtio") || strstr(d, "vhost");
}

static int setup_one(uint16_t port, int role, const struct dp_config *c, uint16_t nrxq,
                     uint16_t ntxq, struct rte_mempool *pool)
{
	struct rte_eth_dev_info info;
	struct rte_eth_conf conf;
	int rc;

	memset(&conf, 0, sizeof conf);
	if ((rc = rte_eth_dev_info_get(port, &info)) != 0)
		return rc;
	if (nrxq > 1 && dp_config_protecting(c) && client_rss(&info)) {
		if (!client_rss_key[0] && !client_rss_key[1])
			for (size_t i = 0; i < sizeof client_rss_key; i += 8) {
				uint64_t r = rte_rand();
				memcpy(client_rss_key + i, &r, 8);
			}
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_key = client_rss_key;
		conf.rx_adv_conf.rss_conf.rss_key_len = sizeof client_rss_key;
		conf.rx_adv_conf.rss_conf.rss_hf = (RTE_ETH_RSS_IP & info.flow_type_rss_offloads) |
			(role == DP_OUTSIDE ? RTE_ETH_RSS_L3_SRC_ONLY : RTE_ETH_RSS_L3_DST_ONLY);
	} else if (nrxq > 1) {
		if (dp_config_protecting(c))
			fprintf(stderr, "sluice-dp: port %u hashes RSS by connection, not by client: the "
			        "protection's per-source counters count per worker\n", port);
		for (size_t i = 0; i < sizeof symmetric_rss_key; i += 2) {
			symmetric_rss_key[i] = 0x6d;
			symmetric_rss_key[i + 1] = 0x5a;
		}
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_key = symmetric_rss_key;
		conf.rx_adv_conf.rss_conf.rss_key_len = sizeof symmetric_rss_key;
		conf.rx_adv_conf.rss_conf.rss_hf = (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP) & info.flow_type_rss_offloads;
	}
	/* the NIC verifies TCP (and IPv4 header) checksums where it can: the worker then
	 * trusts its flags instead of summing every byte again (rxcsum.h) */
	if (!partial_checksums(&info))
		conf.rxmode.offloads = (RTE_ETH_RX_OFFLOAD_TCP_CKSUM | RTE_ETH_RX_OFFLOAD_IPV4_CKSUM) &
		                       info.rx_offload_capa;
	if ((rc = rte_eth_dev_configure(port, nrxq, ntxq, &conf)) != 0)
		return rc;
	uint16_t nb_rx = (uint16_t)c->rx_descriptors, nb_tx = (uint16_t)c->tx_descriptors;
	if ((rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nb_rx, &nb_tx)) != 0)
		return rc;
	int socket = rte_eth_dev_socket_id(port);
	for (uint16_t q = 0; q < nrxq; q++)
		if ((rc = rte_eth_rx_queue_setup(port, q, nb_rx, socket, NULL, pool)) != 0)
			return rc;
	for (uint16_t q = 0; q < ntxq; q++)
		if ((rc = rte_eth_tx_queue_setup(port, q, nb_tx, socket, NULL)) != 0)
			return rc;
	if ((rc = rte_eth_dev_start(port)) != 0)
		return rc;
	if (c->promiscuous)
		rte_eth_promiscuous_enable(port); /* some vdevs have no such mode: not fatal */
	return 0;
}

int dp_ports_setup(const struct dp_config *c, uint16_t nrxq, uint16_t ntxq, struct dp_ports *p)
{
	memset(p, 0, sizeof *p);
	if (resolve(&c->outside, "outside", &p->id[DP_OUTSIDE]) ||
	    resolve(&c->inside, "inside", &p->id[DP_INSIDE]))
		return -1;
	if (p->id[DP_OUTSIDE] == p->id[DP_INSIDE]) {
		fprintf(stderr, "sluice-dp: outside and inside are the same port (%u)\n", p->id[DP_OUTSIDE]);
		return -1;
	}
	p->socket = rte_eth_dev_socket_id(p->id[DP_OUTSIDE]);
	if (p->socket < 0)
		p->socket = (int)rte_socket_id();
	p->pool = rte_pktmbuf_pool_create("sluice_mbufs", c->mbufs, 256, 0,
	                                  RTE_MBUF_DEFAULT_BUF_SIZE, p->socket);
	if (!p->pool) {
		fprintf(stderr, "sluice-dp: cannot create a pool of %u mbufs: %s (try more hugepages or -m)\n",
		        c->mbufs, rte_strerror(rte_errno));
		return -1;
	}
	p->nrxq = nrxq;
	p->ntxq = ntxq;
	for (int r = 0; r < DP_NROLES; r++) {
		int rc = setup_one(p->id[r], r, c, nrxq, ntxq, p->pool);
		if (rc != 0) {
			fprintf(stderr, "sluice-dp: port %u (%s): setup with %u rx / %u tx queues failed: %s\n",
			        p->id[r], dp_role_names[r], nrxq, ntxq, rte_strerror(-rc));
			return -1;
		}
	}
	return 0;
}

void dp_ports_stop(struct dp_ports *p)
{
	for (int r = 0; r < DP_NROLES; r++) {
		rte_eth_dev_stop(p->id[r]);
		rte_eth_dev_close(p->id[r]);
	}
}
