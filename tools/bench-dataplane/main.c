/* tools/bench-dataplane: sluice-dp's worker on one core, fed a generated capture through
 * in-memory ring ports (run it through `tools/bench dataplane`, which makes the inputs).
 * In one run:
 *   (1) bridge            layer 2 only: the raw packet I/O ceiling of this path
 *   (2) smtp              + flow table, TCP normalization, SMTP engine (all pass)
 *   (3) enforce           + the policy matcher with the given rules
 *   raw Hyperscan         block-mode scans of the very bytes (3)'s matcher streamed,
 *                         with the same databases: the matching ceiling
 * The capture (both directions, wire order) goes in on the outside port pass after
 * pass, client ports shifted each pass so every pass opens new flows. Throughput is
 * frame bytes and packets over the worker's thread CPU time (per-core figures on a
 * shared machine); feeding and draining the rings is not counted. Latency: wall time
 * from a burst's rx to its tx flush, per packet. Exits 1 on nonsensical results
 * (messages missing, drops). */
#include <getopt.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "core/inspect.h"
#include "core/pktparse.h"
#include "port.h"
#include "worker.h"

#define WINDOW 1024 /* packets fed per timed window */

struct frame {
	uint8_t *data;
	uint16_t len;
	int16_t port_off;  /* offset of the client's TCP port, -1 when not TCP */
	int16_t csum_off;  /* offset of the TCP checksum */
};

static struct frame *frames;
static size_t nframes, frame_bytes;
static int failures;

static void fail(const char *what)
{
	printf("FAIL: %s\n", what);
	failures++;
}

static double thread_seconds(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void load(const char *path, const struct dp_config *cfg)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *pc = pcap_open_offline(path, err);
	if (!pc) {
		fprintf(stderr, "bench-dataplane: %s: %s\n", path, err);
		exit(2);
	}
	struct pcap_pkthdr *h;
	const uint8_t *d;
	size_t cap = 0;
	while (pcap_next_ex(pc, &h, &d) == 1) {
		if (nframes == cap) {
			cap = cap ? cap * 2 : 65536;
			frames = realloc(frames, cap * sizeof *frames);
		}
		struct frame *f = &frames[nframes++];
		f->len = (uint16_t)h->caplen;
		f->data = malloc(h->caplen);
		memcpy(f->data, d, h->caplen);
		frame_bytes += h->caplen;
		struct dp_pkt p;
		f->port_off = f->csum_off = -1;
		if (dp_pkt_parse(f->data, f->len, &p) == DP_PKT_TCP) {
			bool to_server = dp_config_is_smtp_port(cfg, p.dport);
			f->port_off = (int16_t)(p.l4_off + (to_server ? 0 : 2));
			f->csum_off = (int16_t)(p.l4_off + 16);
		}
	}
	pcap_close(pc);
}

/* Give every flow new client ports for pass k (RFC 1624 checksum update). */
static void shift_ports(unsigned k, unsigned prev)
{
	for (size_t i = 0; i < nframes; i++) {
		struct frame *f = &frames[i];
		if (f->port_off < 0)
			continue;
		uint8_t *pp = f->data + f->port_off, *cp = f->data + f->csum_off;
		uint16_t old = (uint16_t)(pp[0] << 8 | pp[1]);
		uint16_t base = (uint16_t)((old - 1024 + 64512 - (prev * 7919u) % 64512) % 64512);
		uint16_t nw = (uint16_t)(1024 + (base + k * 7919u) % 64512);
		uint32_t sum = (uint16_t)~(cp[0] << 8 | cp[1]);
		sum += (uint16_t)~old;
		sum += nw;
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		uint16_t c = (uint16_t)~sum;
		pp[0] = (uint8_t)(nw >> 8);
		pp[1] = (uint8_t)nw;
		cp[0] = (uint8_t)(c >> 8);
		cp[1] = (uint8_t)c;
	}
}

struct tap_buf {
	uint8_t *data;
	size_t len, cap;
	struct { unsigned db; size_t off, len; } *bufs;
	size_t nbufs, bufcap;
};

static void tap(void *ctx, unsigned db, const uint8_t *p, size_t n)
{
	struct tap_buf *t = ctx;
	if (t->len + n > t->cap) {
		t->cap = (t->len + n) * 2;
		t->data = realloc(t->data, t->cap);
	}
	if (t->nbufs == t->bufcap) {
		t->bufcap = t->bufcap ? t->bufcap * 2 : 4096;
		t->bufs = realloc(t->bufs, t->bufcap * sizeof *t->bufs);
	}
	memcpy(t->data + t->len, p, n);
	t->bufs[t->nbufs].db = db;
	t->bufs[t->nbufs].off = t->len;
	t->bufs[t->nbufs].len = n;
	t->nbufs++;
	t->len += n;
}

struct result {
	double seconds;      /* worker thread CPU time */
	uint64_t packets, bytes, passes;
	uint64_t *lat;       /* per-burst wall cycles, one entry per packet */
	size_t nlat, latcap;
	struct dp_counters ctr;
};

static struct rte_ring *rx_ring, *tx_ring[2];

static void drain(struct result *r)
{
	struct rte_mbuf *m[256];
	for (int i = 0; i < 2; i++) {
		unsigned n;
		while ((n = rte_ring_dequeue_burst(tx_ring[i], (void **)m, 256, NULL)) > 0)
			rte_pktmbuf_free_bulk(m, n);
	}
	(void)r;
}

static unsigned pass_no;

/* One pass over the capture through worker w; timed (or not, for warm-up). */
static void run_pass(struct dp_worker *w, struct rte_mempool *pool, struct result *r, bool timed)
{
	shift_ports(pass_no + 1, pass_no);
	pass_no++;
	for (size_t i = 0; i < nframes; i += WINDOW) {
		size_t n = nframes - i < WINDOW ? nframes - i : WINDOW;
		struct rte_mbuf *m[WINDOW];
		if (rte_pktmbuf_alloc_bulk(pool, m, (unsigned)n) != 0) {
			fail("mbuf pool exhausted");
			return;
		}
		for (size_t j = 0; j < n; j++) {
			const struct frame *f = &frames[i + j];
			memcpy(rte_pktmbuf_mtod(m[j], uint8_t *), f->data, f->len);
			m[j]->data_len = f->len;
			m[j]->pkt_len = f->len;
		}
		rte_ring_enqueue_bulk(rx_ring, (void **)m, (unsigned)n, NULL);
		double t0 = thread_seconds();
		while (rte_ring_count(rx_ring)) {
			unsigned before = rte_ring_count(rx_ring);
			uint64_t c0 = rte_rdtsc();
			dp_worker_poll(w, c0);
			uint64_t c = rte_rdtsc() - c0;
			unsigned done = before - rte_ring_count(rx_ring);
			if (timed && r->lat) {
				if (r->nlat + done > r->latcap) {
					r->latcap = (r->nlat + done) * 2;
					r->lat = realloc(r->lat, r->latcap * sizeof *r->lat);
				}
				for (unsigned k = 0; k < done; k++)
					r->lat[r->nlat++] = c;
			}
		}
		double t1 = thread_seconds();
		if (timed) {
			r->seconds += t1 - t0;
			r->packets += n;
			for (size_t j = 0; j < n; j++)
				r->bytes += frames[i + j].len;
		}
		drain(r);
	}
	if (timed)
		r->passes++;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void run_stage(enum dp_mode mode, bool tcp_only, struct sl_policy *policy,
                      const struct dp_ports *ports, double seconds, struct result *r,
                      struct tap_buf *tb, bool latency)
{
	static struct dp_config cfg;
	dp_config_default(&cfg);
	cfg.mode = mode;
	/* closed flows are freed at the next 10 ms tick instead of 10 s later: a short run
	 * then recycles memory the way a long-running dataplane does */
	cfg.closed_timeout_ms = 0;
	static struct dp_worker w;
	static struct dp_inspector in;
	memset(&w, 0, sizeof w);
	memset(r, 0, sizeof *r);
	w.cfg = &cfg;
	w.ports = ports;
	w.pool = ports->pool;
	w.tsc_hz = rte_get_tsc_hz();
	w.nrx = 2;
	for (int i = 0; i < 2; i++) {
		w.rx[i].port = ports->id[i];
		w.rx[i].queue = 0;
	}
	if (mode != DP_MODE_BRIDGE) {
		if (dp_inspector_init(&in, &cfg, false, mode == DP_MODE_ENFORCE ? policy : NULL,
		                      &w.ctr, cfg.max_memory) != 0) {
			fail("inspector");
			return;
		}
		w.insp = &in;
		in.ctx.tcp_only = tcp_only;
	}
	if (latency)
		r->lat = malloc(1);
	/* warm-up pass (and, with a tap, the pass whose matched bytes make the ceiling) */
	if (tb) {
		in.ctx.scan_tap = tap;
		in.ctx.scan_tap_ctx = tb;
	}
	struct result warm;
	memset(&warm, 0, sizeof warm);
	run_pass(&w, ports->pool, &warm, false);
	in.ctx.scan_tap = NULL;
	struct dp_counters warm_ctr = w.ctr;
	do
		run_pass(&w, ports->pool, r, true);
	while (r->seconds < seconds && !failures);
	if (w.insp)
		dp_inspector_free(w.insp);
	/* what the timed passes did: all but the warm-up pass */
	r->ctr = w.ctr;
	r->ctr.messages -= warm_ctr.messages;
	r->ctr.flows_created -= warm_ctr.flows_created;
	for (int i = 0; i < DP_NACTIONS; i++)
		r->ctr.verdicts[i] -= warm_ctr.verdicts[i];
	for (int i = 0; i < DP_DROP_COUNT; i++)
		r->ctr.drops[i] -= warm_ctr.drops[i];
	r->ctr.enforced_reject -= warm_ctr.enforced_reject;
	r->ctr.enforced_quarantine -= warm_ctr.enforced_quarantine;
}

static void report(const char *name, const struct result *r, const struct result *base)
{
	double pps = (double)r->packets / r->seconds, gbps = (double)r->bytes * 8 / r->seconds / 1e9;
	printf("%-44s %8.2f Mpps %7.2f Gbit/s %7.1f ns/packet", name, pps / 1e6, gbps,
	       r->seconds * 1e9 / (double)r->packets);
	if (base)
		printf("   %5.1f%% of (1)", 100.0 * pps / ((double)base->packets / base->seconds));
	printf("\n");
}

int main(int argc, char **argv)
{
	int n = rte_eal_init(argc, argv);
	if (n < 0) {
		fprintf(stderr, "bench-dataplane: EAL init failed\n");
		return 2;
	}
	argc -= n;
	argv += n;
	const char *pcap = NULL, *policy_path = NULL;
	double seconds = 2;
	long expect_messages = -1;
	static const struct option opts[] = {
		{"pcap", required_argument, NULL, 'p'},
		{"policy", required_argument, NULL, 'r'},
		{"seconds", required_argument, NULL, 's'},
		{"expect-messages", required_argument, NULL, 'm'},
		{NULL, 0, NULL, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p': pcap = optarg; break;
		case 'r': policy_path = optarg; break;
		case 's': seconds = atof(optarg); break;
		case 'm': expect_messages = atol(optarg); break;
		default: return 2;
		}
	}
	if (!pcap || !policy_path) {
		fprintf(stderr, "usage: bench-dataplane [EAL] -- --pcap FILE --policy FILE [--seconds S] [--expect-messages N]\n");
		return 2;
	}
	static struct dp_config cfg;
	dp_config_default(&cfg);
	load(pcap, &cfg);
	struct sl_policy_diag diag;
	struct sl_policy *policy = sl_policy_load(policy_path, &diag);
	if (!policy) {
		fprintf(stderr, "bench-dataplane: %s:%u: %s\n", diag.file, diag.line, diag.msg);
		return 2;
	}
	struct sl_policy_info pinfo;
	sl_policy_info(policy, &pinfo);

	/* two in-memory ports: we feed the outside's rx ring and drain both tx rings */
	int socket = (int)rte_socket_id();
	struct rte_ring *rx_in = rte_ring_create("b_rx1", 4096, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
	rx_ring = rte_ring_create("b_rx0", 4096, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
	tx_ring[0] = rte_ring_create("b_tx0", 4096, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
	tx_ring[1] = rte_ring_create("b_tx1", 4096, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (!rx_in || !rx_ring || !tx_ring[0] || !tx_ring[1] ||
	    rte_eth_from_rings("b_outside", &rx_ring, 1, &tx_ring[0], 1, socket) < 0 ||
	    rte_eth_from_rings("b_inside", &rx_in, 1, &tx_ring[1], 1, socket) < 0) {
		fprintf(stderr, "bench-dataplane: cannot create ring ports\n");
		return 2;
	}
	cfg.outside.id = 0;
	cfg.inside.id = 1;
	cfg.mbufs = 16383;
	struct dp_ports ports;
	if (dp_ports_setup(&cfg, 1, 1, &ports) != 0)
		return 2;

	printf("traffic: %zu frames, %.1f MB, %.0f bytes per frame; worker burst %u, one core\n",
	       nframes, (double)frame_bytes / 1e6, (double)frame_bytes / (double)nframes, cfg.burst);
	printf("policy: %zu rules, %zu patterns, %zu databases\n", pinfo.rules, pinfo.patterns,
	       pinfo.databases);
	struct result r1, rt, r2, r3;
	struct tap_buf tb;
	memset(&tb, 0, sizeof tb);
	run_stage(DP_MODE_BRIDGE, false, policy, &ports, seconds, &r1, NULL, false);
	run_stage(DP_MODE_SMTP, true, policy, &ports, seconds, &rt, NULL, false);
	run_stage(DP_MODE_SMTP, false, policy, &ports, seconds, &r2, NULL, false);
	run_stage(DP_MODE_ENFORCE, false, policy, &ports, seconds, &r3, &tb, true);
	report("(1) bridge (raw packet I/O)", &r1, NULL);
	report("    flows + TCP normalization (no engine)", &rt, &r1);
	report("(2) + SMTP session and MIME (engine)", &r2, &r1);
	report("(3) + policy matcher", &r3, &r1);

	/* the matching ceiling: the same bytes, block mode, same databases */
	struct sl_blockscan *bs = sl_blockscan_new(policy, &diag);
	double scan = 0;
	if (bs && tb.nbufs) {
		unsigned rounds = 0;
		double t0 = thread_seconds();
		do {
			for (size_t i = 0; i < tb.nbufs; i++)
				sl_blockscan_scan(bs, tb.bufs[i].db, tb.data + tb.bufs[i].off, tb.bufs[i].len);
			rounds++;
		} while (thread_seconds() - t0 < 0.5);
		scan = (thread_seconds() - t0) / rounds;
		double pass_seconds = r3.seconds / (double)r3.passes;
		printf("raw Hyperscan block scan of the bytes (3) matched: %.1f MB per pass, %.2f GB/s;"
		       " as wire throughput %.2f Gbit/s; (3) runs at %.1f%% of it\n",
		       (double)tb.len / 1e6, (double)tb.len / scan / 1e9,
		       (double)frame_bytes * 8 / scan / 1e9, 100.0 * scan / pass_seconds);
		sl_blockscan_free(bs);
	} else {
		fail("no raw Hyperscan ceiling (nothing matched?)");
	}
	if (r3.nlat) {
		qsort(r3.lat, r3.nlat, sizeof *r3.lat, cmp_u64);
		double us = 1e6 / (double)rte_get_tsc_hz();
		printf("latency added per packet in (3), rx burst to tx flush: p50 %.2f us, p99 %.2f us\n",
		       (double)r3.lat[r3.nlat / 2] * us, (double)r3.lat[r3.nlat * 99 / 100] * us);
	}
	printf("ratio (3)/(1): %.3f\n", ((double)r3.packets / r3.seconds) / ((double)r1.packets / r1.seconds));

	/* sanity: every message of every pass seen, nothing dropped */
	const struct result *rs[] = {&r2, &r3};
	for (int i = 0; i < 2; i++) {
		/* after a reject or quarantine the client's remaining packets are dropped by
		 * design (`enforced`); anything else is a failure */
		uint64_t drops = 0;
		for (int d = 0; d < DP_DROP_COUNT; d++)
			if (d != DP_DROP_ENFORCED)
				drops += rs[i]->ctr.drops[d];
		printf("(%d): %llu passes, %llu messages, %llu flows, %llu drops (+%llu after verdicts),"
		       " verdicts pass %llu alert %llu quarantine %llu tempfail %llu reject %llu\n", i + 2,
		       (unsigned long long)rs[i]->passes, (unsigned long long)rs[i]->ctr.messages,
		       (unsigned long long)rs[i]->ctr.flows_created, (unsigned long long)drops,
		       (unsigned long long)rs[i]->ctr.drops[DP_DROP_ENFORCED],
		       (unsigned long long)rs[i]->ctr.verdicts[0], (unsigned long long)rs[i]->ctr.verdicts[1],
		       (unsigned long long)rs[i]->ctr.verdicts[2], (unsigned long long)rs[i]->ctr.verdicts[3],
		       (unsigned long long)rs[i]->ctr.verdicts[4]);
		if (drops)
			fail("packets dropped");
		if (expect_messages >= 0 &&
		    rs[i]->ctr.messages != (uint64_t)expect_messages * rs[i]->passes)
			fail("messages missing");
	}
	if (r1.packets == 0 || r3.packets == 0)
		fail("nothing processed");
	sl_policy_unref(policy);
	return failures ? 1 : 0;
}
