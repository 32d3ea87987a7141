#include "multicore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "bench.h"
#include "pipeline/inspect.h"
#include "worker.h"

#define MC_MAX 8
#define MC_WINDOW 1024 /* frames fed per window (RSS-style) */
#define MC_RING 4096

struct mc_worker {
	struct dp_worker w;
	struct dp_inspector in;
	struct rte_mempool *pool;
	unsigned n;             /* workers in the run */
	double cpu, wall;       /* this pass: thread CPU time and wall time polling */
	uint64_t packets, bytes;
	int failed;
};

static struct mc_worker mcw[MC_MAX];
static uint8_t *owner; /* per frame of this pass: the worker RSS would give it to */
static struct dp_config mc_cfg;
static bool mc_fed; /* the distributor placed the whole pass (atomic) */

static void drain(struct dp_worker *w)
{
	struct rte_mbuf *m[256];
	for (int r = 0; r < DP_NROLES; r++) {
		unsigned k;
		while ((k = rte_ring_dequeue_burst(w->out[r], (void **)m, 256, NULL)) > 0)
			rte_pktmbuf_free_bulk(m, k);
	}
}

static struct rte_mbuf *frame_mbuf(struct rte_mempool *pool, const struct frame *f, uint16_t port)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	if (!m)
		return NULL;
	memcpy(rte_pktmbuf_mtod(m, uint8_t *), f->data, f->len);
	m->data_len = f->len;
	m->pkt_len = f->len;
	m->port = port;
	return m;
}

/* RSS-style: the worker fills its own ring with its share of the pass (the NIC's job:
 * untimed), then polls it empty (timed), window by window. */
static int rss_pass(void *arg)
{
	struct mc_worker *m = arg;
	struct dp_worker *w = &m->w;
	uint16_t port = w->ports->id[DP_OUTSIDE];
	uint64_t w0 = rte_rdtsc();
	double polled = 0;
	for (size_t i = 0; i < nframes && !m->failed;) {
		struct rte_mbuf *mb[MC_WINDOW];
		unsigned k = 0;
		for (; i < nframes && k < MC_WINDOW; i++) {
			if (owner[i] != w->idx)
				continue;
			if (!(mb[k] = frame_mbuf(m->pool, &frames[i], port))) {
				m->failed = 1;
				break;
			}
			m->bytes += frames[i].len;
			k++;
		}
		if (rte_ring_enqueue_bulk(w->in, (void **)mb, k, NULL) != k) {
			rte_pktmbuf_free_bulk(mb, k);
			m->failed = 1;
			break;
		}
		m->packets += k;
		double t0 = thread_seconds();
		while (rte_ring_count(w->in))
			dp_worker_poll(w, rte_rdtsc());
		polled += thread_seconds() - t0;
		drain(w);
	}
	m->cpu += polled;
	m->wall += (double)(rte_rdtsc() - w0) / (double)rte_get_tsc_hz();
	return 0;
}

/* Behind the distributor: poll the ring until the pass is placed and the ring empty. */
static int dist_worker_pass(void *arg)
{
	struct mc_worker *m = arg;
	struct dp_worker *w = &m->w;
	double t0 = thread_seconds();
	uint64_t w0 = rte_rdtsc();
	while (!__atomic_load_n(&mc_fed, __ATOMIC_ACQUIRE) || rte_ring_count(w->in)) {
		dp_worker_poll(w, rte_rdtsc());
		drain(w);
	}
	dp_worker_flush(w);
	drain(w);
	m->cpu += thread_seconds() - t0;
	m->wall += (double)(rte_rdtsc() - w0) / (double)rte_get_tsc_hz();
	return 0;
}

/* The distributor's placement (dp_place_frame, as dp_distributor_main) of the whole
 * pass onto the workers' rings, waiting while a ring is full (the bench loses nothing). */
static void distribute_pass(struct rte_mempool *pool, uint16_t port, unsigned n)
{
	for (size_t i = 0; i < nframes; i++) {
		struct rte_mbuf *m;
		while (!(m = frame_mbuf(pool, &frames[i], port)))
			rte_pause(); /* the workers free them */
		uint32_t h = dp_place_frame(frames[i].data, frames[i].len, DP_OUTSIDE, false, &m->hash.rss);
		struct mc_worker *t = &mcw[h % n];
		while (rte_ring_enqueue(t->w.in, m) != 0)
			rte_pause();
		t->packets++;
		t->bytes += frames[i].len;
	}
}

static int setup(unsigned n, bool hashed, struct sl_policy *policy, const struct dp_ports *ports)
{
	dp_config_default(&mc_cfg);
	mc_cfg.mode = DP_MODE_ENFORCE;
	mc_cfg.closed_timeout_ms = 0; /* as the single-worker stages */
	mc_cfg.direction_check = false;
	mc_cfg.protect.enabled = false;
	static unsigned run;
	run++;
	for (unsigned i = 0; i < n; i++) {
		struct mc_worker *m = &mcw[i];
		memset(m, 0, sizeof *m);
		m->n = n;
		char name[RTE_RING_NAMESIZE];
		snprintf(name, sizeof name, "mc%u_p%u", run, i);
		m->pool = rte_pktmbuf_pool_create(name, 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, ports->socket);
		struct dp_worker *w = &m->w;
		w->idx = i;
		w->cfg = &mc_cfg;
		w->ports = ports;
		w->pool = m->pool;
		w->tsc_hz = rte_get_tsc_hz();
		w->in_hashed = hashed;
		snprintf(name, sizeof name, "mc%u_in%u", run, i);
		w->in = rte_ring_create(name, MC_RING, ports->socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
		for (int r = 0; r < DP_NROLES; r++) {
			snprintf(name, sizeof name, "mc%u_out%u_%d", run, i, r);
			w->out[r] = rte_ring_create(name, 2 * MC_RING, ports->socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
		}
		if (!m->pool || !w->in || !w->out[0] || !w->out[1] ||
		    dp_inspector_init(&m->in, &mc_cfg, false, policy, &w->ctr, mc_cfg.max_memory / n) != 0) {
			fprintf(stderr, "bench-dataplane: multicore: worker %u setup failed\n", i);
			return -1;
		}
		w->insp = &m->in;
	}
	return 0;
}

static void teardown(unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct mc_worker *m = &mcw[i];
		dp_inspector_free(&m->in);
		rte_ring_free(m->w.in);
		for (int r = 0; r < DP_NROLES; r++)
			rte_ring_free(m->w.out[r]);
		rte_mempool_free(m->pool);
	}
}

struct mc_result {
	double wall, cpu_max;      /* slowest worker's wall time; its CPU time */
	double core_ns[MC_MAX];    /* per worker: CPU ns per packet */
	uint64_t packets, bytes, messages, passes, drops;
};

/* One pass on every worker at once (worker 0 on the main lcore, or the distributor). */
static void run_pass(unsigned n, bool dist, const struct dp_ports *ports)
{
	shift_ports(pass_no + 1, pass_no);
	pass_no++;
	__atomic_store_n(&mc_fed, false, __ATOMIC_RELEASE);
	/* the NIC's part of RSS: placement by the symmetric flow hash, not timed */
	for (size_t i = 0; !dist && i < nframes; i++) {
		uint32_t fh;
		owner[i] = (uint8_t)(dp_place_frame(frames[i].data, frames[i].len, DP_OUTSIDE, false, &fh) % n);
	}
	unsigned lcore = rte_get_main_lcore();
	for (unsigned i = dist ? 0 : 1; i < n; i++) {
		lcore = rte_get_next_lcore(lcore, 1, 0);
		rte_eal_remote_launch(dist ? dist_worker_pass : rss_pass, &mcw[i], lcore);
	}
	if (dist) {
		distribute_pass(ports->pool, ports->id[DP_OUTSIDE], n);
		__atomic_store_n(&mc_fed, true, __ATOMIC_RELEASE);
	} else {
		rss_pass(&mcw[0]);
	}
	rte_eal_mp_wait_lcore();
}

/* Warm-up pass, then timed passes until `seconds` of the slowest worker's wall time. */
static int measure(unsigned n, bool dist, struct sl_policy *policy, const struct dp_ports *ports,
                   double seconds, struct mc_result *r)
{
	memset(r, 0, sizeof *r);
	if (setup(n, dist, policy, ports) != 0)
		return -1;
	run_pass(n, dist, ports);
	struct dp_counters warm[MC_MAX];
	for (unsigned i = 0; i < n; i++) {
		warm[i] = mcw[i].w.ctr;
		mcw[i].cpu = mcw[i].wall = 0;
		mcw[i].packets = mcw[i].bytes = 0;
	}
	do {
		run_pass(n, dist, ports);
		r->passes++;
		double wall = 0;
		for (unsigned i = 0; i < n; i++)
			wall = mcw[i].wall > wall ? mcw[i].wall : wall;
		r->wall = wall;
	} while (r->wall < seconds);
	int failed = 0;
	for (unsigned i = 0; i < n; i++) {
		struct mc_worker *m = &mcw[i];
		failed |= m->failed;
		r->packets += m->packets;
		r->bytes += m->bytes;
		r->messages += m->w.ctr.messages - warm[i].messages;
		for (int d = 0; d < DP_DROP_COUNT; d++)
			if (d != DP_DROP_ENFORCED)
				r->drops += m->w.ctr.drops[d] - warm[i].drops[d];
		r->core_ns[i] = m->packets ? m->cpu * 1e9 / (double)m->packets : 0;
		if (m->wall >= r->wall)
			r->cpu_max = m->cpu;
	}
	teardown(n);
	return failed ? -1 : 0;
}

static void report(const char *name, unsigned n, const struct mc_result *r, const struct mc_result *one)
{
	double pps = (double)r->packets / r->wall;
	printf("%-48s %6.3f Mpps %6.2f Gbit/s by wall clock", name, pps / 1e6,
	       (double)r->bytes * 8 / r->wall / 1e9);
	if (one) {
		/* by CPU time: what the workers would do with a core each to themselves */
		double cpu_pps = 0;
		for (unsigned i = 0; i < n; i++)
			cpu_pps += r->core_ns[i] ? 1e9 / r->core_ns[i] : 0;
		printf(", %.2fx one worker; by CPU time %.2fx", pps / ((double)one->packets / one->wall),
		       cpu_pps / (1e9 / one->core_ns[0]));
	}
	printf("\n    per core (CPU time, ns/packet):");
	for (unsigned i = 0; i < n; i++)
		printf(" worker %u %.0f", i, r->core_ns[i]);
	printf("; %.1f messages per pass, %llu drops\n", (double)r->messages / (double)r->passes,
	       (unsigned long long)r->drops);
}

int bench_multicore(struct sl_policy *policy, const struct dp_ports *ports, double seconds)
{
	unsigned lcores = rte_lcore_count();
	if (lcores < 2 || lcores > MC_MAX) {
		fprintf(stderr, "bench-dataplane: multicore needs 2..%d lcores (-l 0-1 or --lcores)\n", MC_MAX);
		return 1;
	}
	unsigned n = 2; /* RSS-style: two workers, the first on the main lcore */
	/* the distributor takes the main lcore: two workers with three lcores, else one */
	unsigned nd = lcores >= 3 ? 2 : 1;
	struct mc_result one, rss, dist;
	owner = malloc(nframes);
	if (!owner)
		return 1;
	int bad = 0;
	bad |= measure(1, false, policy, ports, seconds, &one) != 0;
	bad |= measure(n, false, policy, ports, seconds, &rss) != 0;
	bad |= measure(nd, true, policy, ports, seconds, &dist) != 0;
	double per_pass = (double)one.messages / (double)one.passes;
	char name[96];
	report("(6) one worker, enforce (this run's baseline)", 1, &one, NULL);
	snprintf(name, sizeof name, "(7) %u workers, RSS-style (a queue each)", n);
	report(name, n, &rss, &one);
	snprintf(name, sizeof name, "(8) distributor + %u worker%s (%u lcores)", nd, nd > 1 ? "s" : "", nd + 1);
	report(name, nd, &dist, &one);
	const struct mc_result *all[] = {&one, &rss, &dist};
	for (int i = 0; i < 3; i++) {
		if (all[i]->drops) {
			printf("FAIL: multicore run %d: %llu drops\n", 6 + i, (unsigned long long)all[i]->drops);
			bad = 1;
		}
		/* every worker count sees every message of a pass */
		if ((double)all[i]->messages / (double)all[i]->passes != per_pass) {
			printf("FAIL: multicore run %d: %.1f messages per pass, one worker %.1f\n", 6 + i,
			       (double)all[i]->messages / (double)all[i]->passes, per_pass);
			bad = 1;
		}
	}
	free(owner);
	if (bad)
		printf("FAIL: multicore\n");
	return bad;
}
