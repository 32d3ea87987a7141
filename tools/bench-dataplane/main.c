/* tools/bench-dataplane: sluice-dp's worker on one core, fed a generated capture through
 * in-memory ring ports (run it through `tools/bench dataplane`, which makes the inputs).
 * In one run:
 *   (1) bridge            layer 2 only: the raw packet I/O ceiling of this path
 *   flows + TCP          flow table and TCP normalization only (no engine), with the
 *                         checksums verified in software, and again as verified by a
 *                         NIC (mbufs flagged RX L4_CKSUM_GOOD: not summed again)
 *   (2) smtp              + flow table, TCP normalization, SMTP engine (all pass)
 *   (3) enforce           + the policy matcher with the given rules
 *   raw Hyperscan         block-mode scans of the very bytes (3)'s matcher streamed,
 *                         with the same databases: the matching ceiling
 * The capture (both directions, wire order) goes in on the outside port pass after
 * pass, client ports shifted each pass so every pass opens new flows. Throughput is
 * frame bytes and packets over the worker's thread CPU time (per-core figures on a
 * shared machine); feeding and draining the rings is not counted. Latency: wall time
 * from a burst's rx to its tx flush, per packet. Exits 1 on nonsensical results
 * (messages missing, drops).
 * Messages: a session whose message was rejected or quarantined ends there for the
 * server (the replayed client cannot react to our reply), so its later messages are
 * never seen. A journal sink records, in each stage's untimed first pass, every
 * message the dataplane handed over (SHA-256 of its bytes, verdict); with --sessions
 * the bench checks that each session's messages were seen exactly up to and including
 * its first enforced verdict, none missing and none after; the timed passes must then
 * count that many messages per pass. */
#include <getopt.h>
#include <openssl/evp.h>
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

#include "pipeline/inspect.h"
#include "decode/pktparse.h"
#include "bench.h"
#include "lpm.h"
#include "multicore.h"
#include "protect_bench.h"
#include "rulehit_bench.h"
#include "sockmem.h"
#include "port.h"
#include "worker.h"

#define WINDOW 1024 /* packets fed per timed window */

struct frame *frames;
size_t nframes;
static size_t frame_bytes;
/* a SYN flood (stage 5): bare SYNs from spoofed documentation sources */
static struct frame *flood;
static size_t nflood;
static int failures;

static void fail(const char *what)
{
	printf("FAIL: %s\n", what);
	failures++;
}

double thread_seconds(void)
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
void shift_ports(unsigned k, unsigned prev)
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

/* ---- the message check ------------------------------------------------------------ */

struct session {
	char ip[48];           /* as dp_addr_text writes it: "192.0.2.1", "[2001:db8::1]" */
	uint16_t port;         /* the client port in the capture */
	char (*sha)[65];       /* the messages in session order */
	size_t nmsg;
};

static struct session *sessions;
static size_t nsessions, session_messages;

/* One line per session: IP PORT SHA256... (written by tools/bench.d/dataplane). */
static void load_sessions(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		perror(path);
		exit(2);
	}
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		sessions = realloc(sessions, (nsessions + 1) * sizeof *sessions);
		struct session *ss = &sessions[nsessions++];
		memset(ss, 0, sizeof *ss);
		char *save, *tok = strtok_r(line, " \n", &save);
		snprintf(ss->ip, sizeof ss->ip, "%s", tok ? tok : "");
		tok = strtok_r(NULL, " \n", &save);
		ss->port = tok ? (uint16_t)atoi(tok) : 0;
		while ((tok = strtok_r(NULL, " \n", &save))) {
			ss->sha = realloc(ss->sha, (ss->nmsg + 1) * sizeof *ss->sha);
			snprintf(ss->sha[ss->nmsg++], 65, "%s", tok);
			session_messages++;
		}
	}
	free(line);
	fclose(f);
}

struct seen {
	char client[64];
	char sha[65];
	enum sl_action action;
	bool used;
};

struct recorder {
	bool on;               /* record messages begun from now on */
	struct seen *v;
	size_t n, cap;
};

static void *rec_begin(void *impl)
{
	struct recorder *r = impl;
	if (!r->on)
		return NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (md)
		EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	return md;
}

static void rec_write(void *impl, void *h, const uint8_t *p, size_t n)
{
	(void)impl;
	EVP_DigestUpdate(h, p, n);
}

static int rec_commit(void *impl, void *h, const struct dp_msg_meta *m)
{
	struct recorder *r = impl;
	uint8_t d[32];
	EVP_DigestFinal_ex(h, d, NULL);
	EVP_MD_CTX_free(h);
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 4096;
		r->v = realloc(r->v, r->cap * sizeof *r->v);
	}
	struct seen *e = &r->v[r->n++];
	memset(e, 0, sizeof *e);
	snprintf(e->client, sizeof e->client, "%s", m->client);
	for (int i = 0; i < 32; i++)
		sprintf(e->sha + 2 * i, "%02x", d[i]);
	e->action = m->action;
	return 1; /* kept (recorded) */
}

static const struct dp_sink_ops rec_ops = {
	.begin = rec_begin,
	.write = rec_write,
	.commit = rec_commit,
};

static bool enforcing(enum sl_action a)
{
	return a == SL_ACT_REJECT || a == SL_ACT_TEMPFAIL || a == SL_ACT_QUARANTINE;
}

/* Client port of a capture port in pass k (see shift_ports). */
static uint16_t pass_port(uint16_t orig, unsigned k)
{
	return (uint16_t)(1024 + ((unsigned)(orig - 1024) + k * 7919u) % 64512);
}

struct msg_check {
	uint64_t visible;      /* messages the dataplane can see per pass */
	uint64_t cut_off;      /* later messages of sessions ended by an enforced verdict */
	uint64_t missing;      /* expected and not seen */
	uint64_t unexpected;   /* seen and not expected (after a verdict, unknown, twice) */
};

/* Compare what pass k's recording saw with the sessions: each session's messages up
 * to and including the first one with an enforced verdict, exactly. */
static struct msg_check check_messages(struct recorder *r, unsigned k, bool enforce)
{
	struct msg_check c = {0};
	for (size_t s = 0; s < nsessions; s++) {
		const struct session *ss = &sessions[s];
		char client[64];
		snprintf(client, sizeof client, "%s:%u", ss->ip, pass_port(ss->port, k));
		size_t i = 0;
		for (; i < ss->nmsg; i++) {
			struct seen *hit = NULL;
			for (size_t j = 0; j < r->n && !hit; j++)
				if (!r->v[j].used && strcmp(r->v[j].sha, ss->sha[i]) == 0 &&
				    strcmp(r->v[j].client, client) == 0)
					hit = &r->v[j];
			c.visible++;
			if (!hit) {
				c.missing++;
				continue;
			}
			hit->used = true;
			if (enforce && enforcing(hit->action)) {
				i++;
				break;
			}
		}
		c.cut_off += ss->nmsg - i;
	}
	for (size_t j = 0; j < r->n; j++)
		if (!r->v[j].used)
			c.unexpected++;
	return c;
}

struct result {
	double seconds;      /* worker thread CPU time */
	uint64_t packets, bytes, passes;
	uint64_t flood_packets; /* of them, SYN flood frames (stage 5) */
	uint64_t allocs;        /* heap allocations inside the worker's polls */
	uint64_t *lat;       /* per-burst wall cycles, one entry per packet */
	size_t nlat, latcap;
	struct dp_counters ctr;
	bool checked;          /* sessions known: chk is the first pass's message check */
	struct msg_check chk;
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

unsigned pass_no;
static unsigned flood_every; /* stage 5: one flood SYN after every this many frames */
/* the frames come as from a NIC that verified their checksums (RX offload flags GOOD):
 * the worker trusts them (dataplane/rxcsum.h); else UNKNOWN, verified in software */
static bool nic_checksums;
static unsigned flood_ratio = 4;
static size_t flood_next;

/* One pass over the capture through worker w; timed (or not, for warm-up). */
static void run_pass(struct dp_worker *w, struct rte_mempool *pool, struct result *r, bool timed)
{
	shift_ports(pass_no + 1, pass_no);
	pass_no++;
	/* the flood runs in the timed passes only: the sessions' clients completed their
	 * handshakes in the warm-up pass, as known senders have (emergency mode lets them
	 * through while it answers the spoofed sources itself) */
	unsigned every = timed ? flood_every : 0;
	size_t step = every ? WINDOW * every / (every + 1) : WINDOW;
	for (size_t i = 0; i < nframes; i += step) {
		size_t n = nframes - i < step ? nframes - i : step;
		size_t nf = every ? n / every : 0;
		struct rte_mbuf *m[WINDOW];
		if (rte_pktmbuf_alloc_bulk(pool, m, (unsigned)(n + nf)) != 0) {
			fail("mbuf pool exhausted");
			return;
		}
		size_t k = 0;
		for (size_t j = 0; j < n; j++) {
			const struct frame *f = &frames[i + j];
			for (int twice = 0; twice < 1 + (every && (j + 1) % every == 0); twice++) {
				if (twice)
					f = &flood[flood_next++ % nflood];
				memcpy(rte_pktmbuf_mtod(m[k], uint8_t *), f->data, f->len);
				m[k]->data_len = f->len;
				m[k]->pkt_len = f->len;
				if (nic_checksums)
					m[k]->ol_flags = RTE_MBUF_F_RX_L4_CKSUM_GOOD | RTE_MBUF_F_RX_IP_CKSUM_GOOD;
				k++;
			}
		}
		if (timed)
			r->flood_packets += k - n;
		size_t captured = n;
		n = k;
		rte_ring_enqueue_bulk(rx_ring, (void **)m, (unsigned)n, NULL);
		double t0 = thread_seconds();
		while (rte_ring_count(rx_ring)) {
			unsigned before = rte_ring_count(rx_ring);
			uint64_t a0 = bench_thread_allocs();
			uint64_t c0 = rte_rdtsc();
			bench_alloc_sites_arm(timed);
			dp_worker_poll(w, c0);
			bench_alloc_sites_arm(0);
			uint64_t c = rte_rdtsc() - c0;
			if (timed)
				r->allocs += bench_thread_allocs() - a0;
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
			for (size_t j = 0; j < captured; j++)
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

/* The lists stages (4) and (5) run with (protect.c): see protect_stage_lists. */
static const struct dp_lists *stage_lists;

static void run_stage(enum dp_mode mode, bool tcp_only, bool protect, struct sl_policy *policy,
                      const struct dp_ports *ports, double seconds, struct result *r,
                      struct tap_buf *tb, bool latency)
{
	static struct dp_config cfg;
	dp_config_default(&cfg);
	cfg.mode = mode;
	/* (1)-(3) without the protection, as measured before it existed; (4) and (5) with its
	 * defaults, but no per-network limits: the generated sessions come from one /24 and
	 * one /64, hundreds of connections per second of CPU */
	cfg.protect.enabled = protect;
	bench_protect_config(&cfg.protect);
	/* closed flows are freed at the next 10 ms tick instead of 10 s later: a short run
	 * then recycles memory the way a long-running dataplane does */
	cfg.closed_timeout_ms = 0;
	/* both directions of the capture come in on the outside port */
	cfg.direction_check = false;
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
		struct dp_objmem mem = dp_sockmem(rte_lcore_id()); /* as sluice-dp's workers */
		if (dp_inspector_init_on(&in, &cfg, false, mode == DP_MODE_ENFORCE ? policy : NULL,
		                         &w.ctr, cfg.max_memory, &mem) != 0) {
			fail("inspector");
			return;
		}
		w.insp = &in;
		in.ctx.tcp_only = tcp_only;
		if (in.ctx.protect)
			in.ctx.protect->lists = stage_lists;
	}
	if (latency)
		r->lat = malloc(1);
	/* the first pass's messages are recorded for the check (see the top) */
	static struct recorder rec;
	static struct dp_sink sink = {&rec_ops, &rec};
	free(rec.v);
	memset(&rec, 0, sizeof rec);
	if (w.insp && nsessions) {
		in.ctx.journal = &sink;
		rec.on = true;
	}
	unsigned first_pass = pass_no + 1;
	/* warm-up pass (and, with a tap, the pass whose matched bytes make the ceiling) */
	if (tb) {
		in.ctx.scan_tap = tap;
		in.ctx.scan_tap_ctx = tb;
	}
	struct result warm;
	memset(&warm, 0, sizeof warm);
	run_pass(&w, ports->pool, &warm, false);
	in.ctx.scan_tap = NULL;
	rec.on = false;
	struct dp_counters warm_ctr = w.ctr;
	do
		run_pass(&w, ports->pool, r, true);
	while (r->seconds < seconds && !failures);
	if (w.insp)
		dp_inspector_free(w.insp); /* commits what was still pending */
	if (w.insp && nsessions) {
		r->checked = true;
		r->chk = check_messages(&rec, first_pass, mode == DP_MODE_ENFORCE);
	}
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
	for (int i = 0; i < DP_STAGE_COUNT; i++)
		r->ctr.stage_cycles[i] -= warm_ctr.stage_cycles[i];
}

/* Where a stage's time went: the worker's own per-stage TSC counters (wall time, so a
 * busy machine's preemptions land in whichever stage was running). */
static void report_stages(const char *name, const struct result *r)
{
	double ns = 1e9 / (double)rte_get_tsc_hz() / (double)r->packets;
	printf("    %s by stage, ns/packet:", name);
	for (int i = 0; i < DP_STAGE_COUNT; i++)
		printf(" %s %.1f", dp_stage_names[i], (double)r->ctr.stage_cycles[i] * ns);
	printf("\n");
}

/* What the fast path asks of the heap: the worker's allocations in the timed passes
 * (the engine's, the flows', the sinks') per flow and per message. */
static void report_allocs(const char *name, const struct result *r)
{
	printf("    %s heap allocations on the worker: %.2f per flow, %.2f per message"
	       " (%llu in %llu flows)\n", name,
	       r->ctr.flows_created ? (double)r->allocs / (double)r->ctr.flows_created : 0.0,
	       r->ctr.messages ? (double)r->allocs / (double)r->ctr.messages : 0.0,
	       (unsigned long long)r->allocs, (unsigned long long)r->ctr.flows_created);
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

/* Bare SYNs from spoofed sources in 192.0.2.0/25 to the capture's server, with the
 * headers of the capture's first SYN. */
static void make_flood(void)
{
	if (nflood)
		return;
	const struct frame *syn = NULL;
	for (size_t i = 0; i < nframes && !syn; i++) {
		struct dp_pkt p;
		if (frames[i].port_off >= 0 && dp_pkt_parse(frames[i].data, frames[i].len, &p) == DP_PKT_TCP &&
		    (p.flags & (DP_TCP_SYN | DP_TCP_ACK)) == DP_TCP_SYN && p.ip_version == 4)
			syn = &frames[i];
	}
	if (!syn) {
		fail("no IPv4 SYN in the capture to make the flood from");
		return;
	}
	nflood = 65536;
	flood = calloc(nflood, sizeof *flood);
	for (size_t i = 0; flood && i < nflood; i++) {
		struct frame *f = &flood[i];
		f->len = syn->len;
		f->data = malloc(syn->len);
		bench_flood_syn(syn->data, syn->len, f->data, (uint32_t)i);
		f->port_off = f->csum_off = -1;
	}
}

static void report_flood(const struct result *r5, const struct result *r4)
{
	if (!r5->packets || !r4->packets)
		return;
	uint64_t sessions = r5->packets - r5->flood_packets;
	double pps4 = (double)r4->packets / r4->seconds;
	/* the flood's share of the CPU: what it took beyond what the sessions take in (4) */
	double flood_s = r5->seconds - (double)sessions / pps4;
	printf("(5) (4) + a SYN flood, 1 SYN per %u frames: %.2f Mpps of sessions (%.1f%% of (4)),"
	       " %.2f M flood SYN/s alongside; %.0f ns per flood SYN; one core alone would absorb"
	       " %.2f M SYN/s\n", flood_ratio, (double)sessions / r5->seconds / 1e6,
	       100.0 * ((double)sessions / r5->seconds) / pps4,
	       (double)r5->flood_packets / r5->seconds / 1e6, flood_s * 1e9 / (double)r5->flood_packets,
	       flood_s > 0 ? (double)r5->flood_packets / flood_s / 1e6 : 0);
	const struct dp_counters *c = &r5->ctr;
	uint64_t refused = 0;
	for (int i = 0; i < DP_PROTECT_COUNT; i++)
		refused += c->protect_refused[i];
	printf("    flood outcome in (5): %llu SYNs refused (%llu answered with a SYN cookie),"
	       " %llu half-open flows evicted, emergency mode entered %llu times\n",
	       (unsigned long long)refused, (unsigned long long)c->protect_cookies,
	       (unsigned long long)c->flows_evicted_embryonic,
	       (unsigned long long)c->protect_emergency_entered);
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
	const char *only = NULL; /* profiling: run just these stages */
	static const struct option opts[] = {
		{"pcap", required_argument, NULL, 'p'},
		{"policy", required_argument, NULL, 'r'},
		{"seconds", required_argument, NULL, 's'},
		{"sessions", required_argument, NULL, 'm'},
		{"only", required_argument, NULL, 'o'},
		{"flood-ratio", required_argument, NULL, 'f'},
		{NULL, 0, NULL, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p': pcap = optarg; break;
		case 'r': policy_path = optarg; break;
		case 's': seconds = atof(optarg); break;
		case 'm': load_sessions(optarg); break;
		case 'o': only = optarg; break;
		case 'f': flood_ratio = (unsigned)atoi(optarg); break;
		default: return 2;
		}
	}
	if (!pcap || !policy_path) {
		fprintf(stderr, "usage: bench-dataplane [EAL] -- --pcap FILE --policy FILE [--seconds S] [--sessions FILE] [--only STAGE]\n");
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
	if (only && strcmp(only, "multicore") == 0)
		return bench_multicore(policy, &ports, seconds);
	if (only && strcmp(only, "rulehits") == 0) {
		bench_rule_hits(policy);
		return 0;
	}
	if (only) {
		/* one stage alone, for perf: its figure, no checks */
		static const struct { const char *name; enum dp_mode mode; bool tcp_only, nic; } st[] = {
			{"bridge", DP_MODE_BRIDGE, false, false}, {"tcp", DP_MODE_SMTP, true, false},
			{"tcp-nic", DP_MODE_SMTP, true, true}, {"smtp", DP_MODE_SMTP, false, false},
			{"enforce", DP_MODE_ENFORCE, false, false},
		};
		for (size_t i = 0; i < sizeof st / sizeof st[0]; i++)
			if (strcmp(only, st[i].name) == 0) {
				nic_checksums = st[i].nic;
				run_stage(st[i].mode, st[i].tcp_only, false, policy, &ports, seconds, &r1, NULL, false);
				report(st[i].name, &r1, NULL);
				return failures ? 1 : 0;
			}
		fprintf(stderr, "bench-dataplane: --only bridge|tcp|tcp-nic|smtp|enforce|multicore|rulehits\n");
		return 2;
	}
	run_stage(DP_MODE_BRIDGE, false, false, policy, &ports, seconds, &r1, NULL, false);
	run_stage(DP_MODE_SMTP, true, false, policy, &ports, seconds, &rt, NULL, false);
	struct result rtn;
	nic_checksums = true;
	run_stage(DP_MODE_SMTP, true, false, policy, &ports, seconds, &rtn, NULL, false);
	nic_checksums = false;
	run_stage(DP_MODE_SMTP, false, false, policy, &ports, seconds, &r2, NULL, false);
	run_stage(DP_MODE_ENFORCE, false, false, policy, &ports, seconds, &r3, &tb, true);
	/* (4) the protection on every SYN and session, its lists in rte_lpm tables; (5) the
	 * same under a SYN flood of one spoofed SYN per flood_ratio frames */
	struct result r4, r5;
	struct dp_list_snapshot *lists = bench_protect_lists();
	stage_lists = lists ? &lists->lists : NULL;
	run_stage(DP_MODE_ENFORCE, false, true, policy, &ports, seconds, &r4, NULL, false);
	make_flood();
	flood_every = flood_ratio;
	run_stage(DP_MODE_ENFORCE, false, true, policy, &ports, seconds, &r5, NULL, false);
	flood_every = 0;
	report("(1) bridge (raw packet I/O)", &r1, NULL);
	report("    flows + TCP normalization (no engine)", &rt, &r1);
	report("    ... checksums verified by the NIC", &rtn, &r1);
	report("(2) + SMTP session and MIME (engine)", &r2, &r1);
	report("(3) + policy matcher", &r3, &r1);
	report("(4) (3) + protection (lists, limits, detectors)", &r4, &r1);
	printf("    protection: %+.1f ns/packet over (3)\n",
	       r4.seconds * 1e9 / (double)r4.packets - r3.seconds * 1e9 / (double)r3.packets);
	report_flood(&r5, &r4);
	report_allocs("(2)", &r2);
	report_allocs("(3)", &r3);
	report_stages("(1)", &r1);
	report_stages("(2)", &r2);
	report_stages("(3)", &r3);
	bench_protect_micro(lists);
	bench_rule_hits(policy);

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

	/* sanity: every message each pass could see was seen, nothing dropped */
	const struct result *rs[] = {&r2, &r3, &r4, &r5};
	for (int i = 0; i < 4; i++) {
		/* after a reject or quarantine the client's remaining packets are dropped by
		 * design (`enforced`), and in (5) the flood's SYNs (refused, or colliding with
		 * another spoofed SYN's flow); anything else is a failure */
		uint64_t drops = 0;
		for (int d = 0; d < DP_DROP_COUNT; d++)
			if (d != DP_DROP_ENFORCED && (i != 3 || (d != DP_DROP_PROTECT && d != DP_DROP_SYN_MISMATCH)))
				drops += rs[i]->ctr.drops[d];
		printf("(%d): %llu passes, %llu messages, %llu flows, %llu drops (+%llu after verdicts),"
		       " verdicts pass %llu alert %llu quarantine %llu tempfail %llu reject %llu\n", i + 2,
		       (unsigned long long)rs[i]->passes, (unsigned long long)rs[i]->ctr.messages,
		       (unsigned long long)rs[i]->ctr.flows_created, (unsigned long long)drops,
		       (unsigned long long)rs[i]->ctr.drops[DP_DROP_ENFORCED],
		       (unsigned long long)rs[i]->ctr.verdicts[0], (unsigned long long)rs[i]->ctr.verdicts[1],
		       (unsigned long long)rs[i]->ctr.verdicts[2], (unsigned long long)rs[i]->ctr.verdicts[3],
		       (unsigned long long)rs[i]->ctr.verdicts[4]);
		if (i >= 2) { /* what the protection did in (4) and (5) */
			printf("(%d): protection:", i + 2);
			for (int r = 0; r < DP_PROTECT_COUNT; r++)
				if (rs[i]->ctr.protect_refused[r] || rs[i]->ctr.protect_closed[r])
					printf(" %s refused %llu closed %llu", dp_protect_names[r],
					       (unsigned long long)rs[i]->ctr.protect_refused[r],
					       (unsigned long long)rs[i]->ctr.protect_closed[r]);
			printf("\n");
		}
		if (drops) {
			for (int d = 0; d < DP_DROP_COUNT; d++)
				if (rs[i]->ctr.drops[d])
					printf("    drops %s: %llu\n", dp_drop_names[d], (unsigned long long)rs[i]->ctr.drops[d]);
			fail("packets dropped");
		}
		if (!rs[i]->checked)
			continue;
		const struct msg_check *c = &rs[i]->chk;
		printf("(%d): per pass %zu messages in %zu sessions: %llu visible (seen in the first"
		       " pass: %llu missing, %llu unexpected) + %llu cut off by an earlier verdict;"
		       " timed passes %llu messages, expected %llu\n", i + 2, session_messages,
		       nsessions, (unsigned long long)c->visible, (unsigned long long)c->missing,
		       (unsigned long long)c->unexpected, (unsigned long long)c->cut_off,
		       (unsigned long long)rs[i]->ctr.messages,
		       (unsigned long long)(c->visible * rs[i]->passes));
		if (c->missing || c->unexpected || c->visible + c->cut_off != session_messages)
			fail("messages missing or unexpected in the first pass");
		if (rs[i]->ctr.messages != c->visible * rs[i]->passes)
			fail("messages missing in the timed passes");
	}
	if (!nsessions)
		fail("no --sessions: messages not checked");
	if (r1.packets == 0 || r3.packets == 0)
		fail("nothing processed");
	sl_policy_unref(policy);
	return failures ? 1 : 0;
}
