/* sluice-dp: command line, configuration, EAL, ports, workers; then wait for a stop. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_ring.h>
#include <rte_version.h>

#include "core/args.h"
#include "core/config.h"
#include "port.h"
#include "worker.h"

#define DP_VERSION "0.1.0"

static void on_signal(int sig)
{
	(void)sig;
	dp_quit = true;
}

static int load_config(const struct dp_args *a, struct dp_config *c)
{
	char err[512];
	dp_config_default(c);
	if (a->config && dp_config_load(c, a->config, err, sizeof err)) {
		fprintf(stderr, "sluice-dp: %s\n", err);
		return -1;
	}
	if (dp_args_apply(a, c, err, sizeof err)) {
		fprintf(stderr, "sluice-dp: %s\n", err);
		return -1;
	}
	return 0;
}

static void write_stats(const char *path, const struct dp_counters *sum)
{
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	dp_counters_json(sum, &b);
	sl_strbuf_putc(&b, '\n');
	FILE *f = fopen(path, "w");
	if (!f || fwrite(b.s, 1, b.len, f) != b.len || fclose(f) != 0)
		fprintf(stderr, "sluice-dp: cannot write %s\n", path);
	sl_strbuf_free(&b);
}

/* Where the packets of each worker come from and go to. */
static int place_workers(struct dp_config *c, struct dp_worker *w, struct dp_distributor *d,
                         uint16_t *nrxq, uint16_t *ntxq, bool *software)
{
	unsigned lcores = rte_lcore_count();
	uint16_t max_rx, max_tx;
	int rss_ok;
	if (dp_ports_max_queues(c, &max_rx, &max_tx, &rss_ok))
		return -1;
	*software = false;
	*nrxq = *ntxq = 1;
	if (c->workers == 1)
		return 0;
	bool rss_possible = rss_ok && max_rx >= c->workers && max_tx >= c->workers;
	if (c->distribution == DP_DIST_RSS && !rss_possible) {
		fprintf(stderr, "sluice-dp: distribution = rss, but the ports offer %u rx queues%s\n",
		        max_rx, rss_ok ? "" : " and no TCP RSS");
		return -1;
	}
	if (c->distribution == DP_DIST_SOFTWARE || !rss_possible) {
		*software = true;
		if (lcores < c->workers + 1) {
			fprintf(stderr, "sluice-dp: software distribution of %u workers needs %u lcores (-l), have %u\n",
			        c->workers, c->workers + 1, lcores);
			return -1;
		}
		d->nworkers = c->workers;
		d->workers = w;
		return 0;
	}
	if (lcores < c->workers) {
		fprintf(stderr, "sluice-dp: %u workers need %u lcores (-l), have %u\n",
		        c->workers, c->workers, lcores);
		return -1;
	}
	*nrxq = *ntxq = (uint16_t)c->workers;
	return 0;
}

int main(int argc, char **argv)
{
	struct dp_args a;
	struct dp_config cfg;
	char err[512];

	if (dp_args_parse(argc, argv, &a, err, sizeof err)) {
		fprintf(stderr, "sluice-dp: %s\n", err);
		dp_args_usage(stderr);
		return 2;
	}
	if (a.help) {
		dp_args_usage(stdout);
		return 0;
	}
	if (a.version) {
		printf("sluice-dp %s (DPDK %s)\n", DP_VERSION, rte_version());
		return 0;
	}
	if (a.check_config) {
		dp_config_default(&cfg);
		if (dp_config_load(&cfg, a.check_config, err, sizeof err)) {
			fprintf(stderr, "sluice-dp: %s\n", err);
			return 2;
		}
		dp_config_print(&cfg, stdout);
		return 0;
	}
	if (load_config(&a, &cfg))
		return 2;
	if (a.offline) {
		fprintf(stderr, "sluice-dp: --offline is not built yet (see docs/status.md)\n");
		return 1;
	}
	if (cfg.mode != DP_MODE_BRIDGE) {
		fprintf(stderr, "sluice-dp: mode %s is not built yet; use --mode bridge (see docs/status.md)\n",
		        dp_mode_name(cfg.mode));
		return 2;
	}

	int rc = rte_eal_init(a.eal_argc, argv);
	if (rc < 0) {
		fprintf(stderr, "sluice-dp: EAL initialisation failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}

	static struct dp_worker workers[64];
	static struct dp_distributor dist;
	struct dp_ports ports;
	uint16_t nrxq, ntxq;
	bool software;
	int status = 1;

	dist.cfg = &cfg;
	if (place_workers(&cfg, workers, &dist, &nrxq, &ntxq, &software))
		goto out;
	if (dp_ports_setup(&cfg, nrxq, ntxq, &ports))
		goto out;
	dist.ports = &ports;

	unsigned lcore = rte_get_main_lcore();
	for (unsigned i = 0; i < cfg.workers; i++) {
		struct dp_worker *w = &workers[i];
		w->idx = i;
		w->cfg = &cfg;
		w->ports = &ports;
		w->tsc_hz = rte_get_tsc_hz();
		if (software || i > 0)
			lcore = rte_get_next_lcore(lcore, 1, 0);
		w->lcore = lcore;
		if (software) {
			char name[RTE_RING_NAMESIZE];
			snprintf(name, sizeof name, "sl_in%u", i);
			w->in = rte_ring_create(name, 4096, ports.socket, RING_F_SC_DEQ | RING_F_SP_ENQ);
			for (int r = 0; r < DP_NROLES; r++) {
				snprintf(name, sizeof name, "sl_out%u_%d", i, r);
				w->out[r] = rte_ring_create(name, 4096, ports.socket, RING_F_SC_DEQ | RING_F_SP_ENQ);
				if (!w->out[r])
					w->in = NULL;
			}
			if (!w->in) {
				fprintf(stderr, "sluice-dp: cannot create worker rings: %s\n", rte_strerror(rte_errno));
				goto out_ports;
			}
		} else {
			w->nrx = DP_NROLES;
			for (int r = 0; r < DP_NROLES; r++) {
				w->rx[r].port = ports.id[r];
				w->rx[r].queue = (uint16_t)i;
			}
			w->txq = (uint16_t)i;
		}
	}

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (a.duration > 0) {
		struct itimerval it = {{0, 0}, {(time_t)a.duration,
			(suseconds_t)((a.duration - (double)(time_t)a.duration) * 1e6)}};
		signal(SIGALRM, on_signal);
		setitimer(ITIMER_REAL, &it, NULL);
	}

	for (unsigned i = 0; i < cfg.workers; i++)
		if (workers[i].lcore != rte_get_main_lcore())
			rte_eal_remote_launch(dp_worker_main, &workers[i], workers[i].lcore);
	printf("sluice-dp: ready outside=%u inside=%u workers=%u mode=%s distribution=%s\n",
	       ports.id[DP_OUTSIDE], ports.id[DP_INSIDE], cfg.workers, dp_mode_name(cfg.mode),
	       cfg.workers == 1 ? "single" : software ? "software" : "rss");
	fflush(stdout);
	if (software)
		dp_distributor_main(&dist);
	else
		dp_worker_main(&workers[0]);
	rte_eal_mp_wait_lcore();

	struct dp_counters sum;
	memset(&sum, 0, sizeof sum);
	for (unsigned i = 0; i < cfg.workers; i++)
		dp_counters_add(&sum, &workers[i].ctr);
	sum.drops[DP_DROP_TX_FULL] += dist.drops_ring_full;
	if (a.stats_file)
		write_stats(a.stats_file, &sum);
	printf("sluice-dp: stopped rx=%llu/%llu tx=%llu/%llu drops=%llu\n",
	       (unsigned long long)sum.rx_packets[DP_OUTSIDE], (unsigned long long)sum.rx_packets[DP_INSIDE],
	       (unsigned long long)sum.tx_packets[DP_OUTSIDE], (unsigned long long)sum.tx_packets[DP_INSIDE],
	       (unsigned long long)sum.drops[DP_DROP_TX_FULL]);
	status = 0;
out_ports:
	dp_ports_stop(&ports);
out:
	rte_eal_cleanup();
	return status;
}
