/* sluice-dp: command line, configuration, EAL, ports, workers; then wait for a stop. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>
#include <time.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_ring.h>
#include <rte_version.h>

#include "config/args.h"
#include "config/config.h"
#include "output/archivesink.h"
#include "output/dirsink.h"
#include "output/dumpsink.h"
#include "output/flowdump.h"
#include "decode/flowkey.h"
#include "journal.h"
#include "pipeline/inspect.h"
#include "pipeline/offline.h"
#include "smtp/rules.h"
#include "pipeline/rulehits.h"
#include "output/sinkqueue.h"
#include "output/sinkthread.h"
#include "port.h"
#include "sockmem.h"
#include "telemetry.h"
#include "control.h"
#include "poolctl.h"
#include "eventlog.h"
#include "listctl.h"
#include "sluice/bundlesig.h"
#include "worker.h"

#define DP_VERSION "0.1.0"

static void on_signal(int sig)
{
	(void)sig;
	dp_quit = true;
}

static void on_hup(int sig)
{
	(void)sig;
	dp_eventlog_reopen();
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

/* The rules at start: a rules file, a bundle, or a signed bundle (only the latter when
 * [control] public_key is set). *id: the signed version (0 otherwise). */
static struct sl_policy *load_policy(const struct dp_config *cfg, uint64_t *id)
{
	const char *path = cfg->rules;
	struct sl_policy_diag diag;
	struct sl_policy *p = NULL;
	*id = 0;
	size_t n = 0;
	uint8_t *bytes = sl_read_file(path, &n);
	if (bytes && sl_bundlesig_is_signed(bytes, n)) {
		char err[512];
		struct sl_bundlesig_info sig;
		int rc = cfg->control_public_key[0]
		         ? sl_bundlesig_verify(bytes, n, cfg->control_public_key, &sig, err, sizeof err)
		         : sl_bundlesig_parse(bytes, n, &sig, err, sizeof err);
		if (rc == 0) {
			*id = sig.version;
			p = sl_policy_load_bundle_mem(path, sig.bundle, sig.len, &diag);
		} else {
			snprintf(diag.msg, sizeof diag.msg, "%s", err);
			snprintf(diag.file, sizeof diag.file, "%.200s", path);
			diag.line = diag.col = 0;
		}
	} else if (cfg->control_public_key[0]) {
		snprintf(diag.file, sizeof diag.file, "%.200s", path);
		snprintf(diag.msg, sizeof diag.msg, "not a signed bundle ([control] public_key is set: only "
		         "bundles signed by its key load)");
		diag.line = diag.col = 0;
	} else {
		p = sl_policy_load(path, &diag);
	}
	free(bytes);
	char err[1024];
	if (p && !dp_policy_spam_model(p, cfg->spam_model, err, sizeof err)) {
		fprintf(stderr, "sluice-dp: %s\n", err);
		sl_policy_unref(p);
		return NULL;
	}
	if (!p) {
		struct sl_strbuf b;
		sl_strbuf_init(&b);
		sl_policy_diag_format(&diag, &b);
		fprintf(stderr, "sluice-dp: %s\n", b.s ? b.s : path);
		sl_strbuf_free(&b);
	}
	return p;
}

/* The archive journal's spooling sender, one for the process (NULL: none). */
static struct sl_journal *archive_journal;
/* messages each rule fired on, by id, over the workers and their bundles (rulehits.h) */
static struct dp_rulehits *rule_hits;

static int open_archive_journal(const struct dp_config *cfg)
{
	if (!cfg->journal_spool[0])
		return 0;
	char err[512];
	struct sl_journal_config jc = {
		.spool_dir = cfg->journal_spool,
		.max_spool_bytes = cfg->journal_spool_max,
		.archive = cfg->journal_archive[0] ? cfg->journal_archive : NULL,
		.tls = { .ca = cfg->journal_tls_ca[0] ? cfg->journal_tls_ca : NULL,
			 .cert = cfg->journal_tls_cert, .key = cfg->journal_tls_key,
			 .server_name = cfg->journal_tls_name },
	};
	archive_journal = sl_journal_open(&jc, err, sizeof err);
	if (!archive_journal) {
		fprintf(stderr, "sluice-dp: journal: %s\n", err);
		return -1;
	}
	return 0;
}

/* The sinks' queues (each worker's journal, and its dump and flow dump with
 * --dump-messages) and the sink thread that empties them: no file I/O on a worker
 * (sinkthread.h). */
static struct dp_sink_work sink_work[3 * 64];
static unsigned nsink_work;
static struct dp_sinkthread *sink_thread;

/* *out: the queue in front of *real, which it owns from now on (freed on failure);
 * `what` names the sink in the error. Sized by [journal] queue_messages/queue_bytes. */
static int queue_sink(const struct dp_config *cfg, const struct dp_sink *real,
                      struct dp_sinkq_counters ctr, struct dp_sink *out, const char *what)
{
	struct dp_sinkq *q = NULL;
	if (nsink_work < sizeof sink_work / sizeof sink_work[0])
		q = dp_sinkq_new(real, cfg->journal_queue_messages, cfg->journal_queue_bytes, ctr, out);
	if (q) {
		sink_work[nsink_work++] = dp_sinkq_work(q);
		return 0;
	}
	real->ops->free(real->impl);
	fprintf(stderr, "sluice-dp: %s: no memory for the sink queue (queue_bytes = %llu)\n", what,
	        (unsigned long long)cfg->journal_queue_bytes);
	return -1;
}

/* Per worker: flow table, engine, scanner, journal sink. */
static int setup_inspection(struct dp_config *cfg, struct dp_worker *w, struct sl_policy *policy,
                            struct dp_sink *journal)
{
	struct dp_sink real;
	static struct dp_inspector inspectors[64];
	struct dp_inspector *in = &inspectors[w->idx];
	struct dp_objmem mem = dp_sockmem(w->lcore); /* its pools on the lcore's socket */
	if (dp_inspector_init_on(in, cfg, false, policy, &w->ctr, cfg->max_memory / cfg->workers,
	                         &mem) != 0) {
		fprintf(stderr, "sluice-dp: worker %u: cannot set up its flow table (%u flows) and "
		        "pools on socket %u\n", w->idx, cfg->max_flows, rte_lcore_to_socket_id(w->lcore));
		return -1;
	}
	if (in->ctx.rules.cur && !dp_rulehits_enter(rule_hits, in->ctx.rules.cur)) {
		fprintf(stderr, "sluice-dp: worker %u: no memory for its rule counters\n", w->idx);
		return -1;
	}
	if (cfg->journal_dir[0]) {
		char tag[16], err[1200];
		snprintf(tag, sizeof tag, "w%u", w->idx);
		if (dp_dirsink_open(&real, cfg->journal_dir, tag, err, sizeof err) != 0) {
			fprintf(stderr, "sluice-dp: journal: %s\n", err);
			return -1;
		}
		if (queue_sink(cfg, &real, dp_sinkq_journal_counters(&w->ctr), journal, "journal") != 0)
			return -1;
		in->ctx.journal = journal;
	} else if (archive_journal) {
		/* messages stream to <spool>.partial/ until their verdict, then become records */
		char tag[16], tmp[DP_PATH_MAX + 16], err[1200];
		snprintf(tag, sizeof tag, "w%u", w->idx);
		snprintf(tmp, sizeof tmp, "%s.partial", cfg->journal_spool);
		if (dp_archivesink_open(&real, archive_journal, tmp, tag, err, sizeof err) != 0) {
			fprintf(stderr, "sluice-dp: journal: %s\n", err);
			return -1;
		}
		if (queue_sink(cfg, &real, dp_sinkq_journal_counters(&w->ctr), journal, "journal") != 0)
			return -1;
		in->ctx.journal = journal;
	}
	w->insp = in;
	return 0;
}

/* --dump-messages DIR (test/debug): every message as offline mode writes them, and each
 * flow's client bytes as fed to the engine; DIR itself with one worker, DIR/w<n> with
 * more. The messages go through a sink queue like the journal's (dump_* counters), the
 * flows' bytes through a queue of their own (flowdump.h, dump_flow_* counters), each
 * sized by [journal] queue_bytes: the sink thread writes both. */
static int setup_dump(const struct dp_config *cfg, const char *dir, struct dp_worker *w,
                      struct dp_sink *dump, struct dp_flowdump **flows)
{
	char wdir[DP_PATH_MAX + 16], err[1200];
	struct dp_sink real;
	if (cfg->workers == 1)
		snprintf(wdir, sizeof wdir, "%s", dir);
	else
		snprintf(wdir, sizeof wdir, "%s/w%u", dir, w->idx);
	if (dp_dumpsink_open(&real, wdir, err, sizeof err) != 0) {
		fprintf(stderr, "sluice-dp: --dump-messages: %s\n", err);
		return -1;
	}
	if (queue_sink(cfg, &real, dp_sinkq_dump_counters(&w->ctr), dump, "--dump-messages") != 0)
		return -1;
	if (!(*flows = dp_flowdump_new(wdir, cfg->journal_queue_bytes, &w->ctr, err, sizeof err)) ||
	    nsink_work == sizeof sink_work / sizeof sink_work[0]) {
		fprintf(stderr, "sluice-dp: --dump-messages: %s\n", *flows ? "too many sink queues" : err);
		return -1;
	}
	sink_work[nsink_work++] = dp_flowdump_work(*flows);
	w->insp->ctx.dump = dump;
	w->insp->ctx.feed_tap = dp_flowdump_feed;
	w->insp->ctx.feed_tap_ctx = *flows;
	return 0;
}

/* --check-config: the list files parse too. */
static int check_lists(const struct dp_config *cfg)
{
	const char *files[2] = {cfg->protect.allow_file, cfg->protect.block_file};
	for (int k = 0; k < 2; k++) {
		struct dp_list_entry *e = NULL;
		size_t n = 0;
		char err[1200];
		int rc = files[k][0] ? dp_list_file_read(files[k], (enum dp_list_kind)k, 0, &e, &n, err, sizeof err) : 0;
		free(e);
		if (rc != 0) {
			fprintf(stderr, "sluice-dp: %s\n", err);
			return -1;
		}
	}
	return 0;
}

/* The allow and block lists from [protect]'s files, as the first snapshot every worker
 * starts with; the control socket changes them later. */
static int start_lists(struct dp_config *cfg, struct dp_worker *w, struct dp_control *control,
                       struct dp_listctl **out)
{
	char err[1200];
	*out = NULL;
	if (!dp_config_protecting(cfg))
		return 0;
	struct dp_listctl *l = dp_listctl_new(cfg, w, cfg->workers);
	if (!l || dp_listctl_load_files(l, err, sizeof err) != 0) {
		fprintf(stderr, "sluice-dp: %s\n", l ? err : "out of memory");
		dp_listctl_free(l);
		return -1;
	}
	dp_listctl_set_publisher(l, control);
	dp_control_set_lists(control, l);
	*out = l;
	struct dp_list_snapshot *s = dp_listctl_snapshot(l, err, sizeof err);
	if (!s) {
		fprintf(stderr, "sluice-dp: lists: %s\n", err);
		return -1;
	}
	dp_control_publish_lists(control, s); /* no worker runs yet: taken at once */
	for (unsigned i = 0; i < cfg->workers; i++)
		if (w[i].insp && w[i].insp->ctx.protect)
			w[i].insp->ctx.protect->lists = &s->lists;
	return 0;
}

static void write_stats(const char *path, const struct dp_counters *sum)
{
	struct dp_rule_totals rules;
	if (!dp_rulehits_totals(rule_hits, &rules))
		fprintf(stderr, "sluice-dp: %s: no memory to sum the rule counters: \"rules\" left empty\n", path);
	dp_rule_totals_top(&rules, DP_STATS_RULES_MAX);
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	dp_counters_json(sum, &rules, &b);
	dp_rule_totals_free(&rules);
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
		if (check_lists(&cfg) != 0)
			return 2;
		dp_config_print(&cfg, stdout);
		return 0;
	}
	if (load_config(&a, &cfg))
		return 2;
	/* the flow hash key: drawn once, shared by the distributor and every worker */
	uint8_t hash_key[16];
	if (getrandom(hash_key, sizeof hash_key, 0) != (ssize_t)sizeof hash_key) {
		fprintf(stderr, "sluice-dp: getrandom: %s\n", strerror(errno));
		return 1;
	}
	dp_flow_hash_set_key(hash_key);
	if (a.offline)
		return dp_offline_run(&cfg, a.offline, a.dump_dir);
	struct sl_policy *policy = NULL;
	uint64_t policy_id = 0;
	if (cfg.rules[0] && cfg.mode == DP_MODE_ENFORCE && !(policy = load_policy(&cfg, &policy_id)))
		return 2;

	int rc = rte_eal_init(a.eal_argc, argv);
	if (rc < 0) {
		fprintf(stderr, "sluice-dp: EAL initialisation failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}

	static struct dp_worker workers[64];
	static struct dp_sink journals[64], dumps[64];
	static struct dp_flowdump *flowdumps[64];
	static struct dp_distributor dist;
	static struct dp_telemetry_src tel;
	struct dp_control *control = NULL;
	struct dp_poolctl *poolctl = NULL;
	struct dp_eventlog *events = NULL;
	struct dp_listctl *lists = NULL;
	struct dp_ports ports;
	uint16_t nrxq, ntxq;
	bool software;
	int status = 1;

	dist.cfg = &cfg;
	if (cfg.mode != DP_MODE_BRIDGE && open_archive_journal(&cfg) != 0)
		goto out;
	if (!(rule_hits = dp_rulehits_new()))
		goto out;
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
		w->pool = ports.pool;
		if (software || i > 0)
			lcore = rte_get_next_lcore(lcore, 1, 0);
		w->lcore = lcore; /* before its inspection: its pools go on the lcore's socket */
		if (cfg.mode != DP_MODE_BRIDGE && setup_inspection(&cfg, w, policy, &journals[i]) != 0)
			goto out_ports;
		if (w->insp && a.dump_dir &&
		    setup_dump(&cfg, a.dump_dir, w, &dumps[i], &flowdumps[i]) != 0)
			goto out_ports;
		if (software) {
			char name[RTE_RING_NAMESIZE];
			snprintf(name, sizeof name, "sl_in%u", i);
			w->in = rte_ring_create(name, 4096, ports.socket, RING_F_SC_DEQ | RING_F_SP_ENQ);
			w->in_hashed = true; /* dp_distributor_main puts the flow hash in hash.rss */
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

	tel = (struct dp_telemetry_src){&cfg, cfg.workers, workers, software ? &dist : NULL, rte_rdtsc(), NULL,
	                                rule_hits};
	/* live rule swaps (RCU), and the control socket when configured */
	control = dp_control_new(&cfg, workers, cfg.workers, &tel);
	if (!control)
		goto out_ports;
	tel.ctl = control;
	if (policy) {
		struct dp_bundle_info b = {.id = policy_id, .loaded_unix = (uint64_t)time(NULL)};
		for (unsigned i = 0; i < cfg.workers; i++)
			if (workers[i].insp && workers[i].insp->ctx.rules.cur) {
				workers[i].insp->ctx.rules.cur->id = policy_id;
				memcpy(b.digest, workers[i].insp->ctx.rules.cur->own_digest, sizeof b.digest);
			}
		dp_control_set_initial(control, &b);
	}
	for (unsigned i = 0; i < cfg.workers; i++)
		workers[i].ctl = control;
	if (cfg.mode != DP_MODE_BRIDGE && start_lists(&cfg, workers, control, &lists) != 0) {
		status = 2;
		goto out_ports;
	}
	struct rte_ether_addr outside_mac;
	bool pool_failed;
	if (rte_eth_macaddr_get(ports.id[DP_OUTSIDE], &outside_mac) != 0)
		memset(&outside_mac, 0, sizeof outside_mac);
	poolctl = dp_poolctl_new(&cfg, workers, cfg.workers, outside_mac.addr_bytes, &pool_failed);
	if (pool_failed)
		goto out_ports;
	dp_control_set_pool(control, poolctl);
	if (dp_control_start(control) != 0)
		goto out_ports;
	if (cfg.events_file[0] && cfg.mode != DP_MODE_BRIDGE) {
		events = dp_eventlog_open(&cfg, workers, cfg.workers);
		if (!events || dp_eventlog_start(events) != 0)
			goto out_ports;
	}
	if (nsink_work && !(sink_thread = dp_sinkthread_start(sink_work, nsink_work))) {
		fprintf(stderr, "sluice-dp: cannot start the sink thread\n");
		goto out_ports;
	}
	if (dp_telemetry_register(&tel) != 0)
		fprintf(stderr, "sluice-dp: telemetry commands not registered (telemetry disabled?)\n");
	signal(SIGHUP, on_hup);

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
	dp_control_stop(control); /* no swap from now on */
	control = NULL;
	dp_listctl_free(lists);
	lists = NULL;

	/* flows still open end now: their messages are finished for the journal */
	for (unsigned i = 0; i < cfg.workers; i++)
		if (workers[i].insp)
			dp_inspector_free(workers[i].insp);
	dp_sinkthread_stop(sink_thread); /* their copies written: no copy lost on a clean stop */
	sink_thread = NULL;
	dp_poolctl_free(poolctl); /* after the flows that counted on it */
	poolctl = NULL;
	dp_eventlog_close(events); /* after the last verdicts */
	events = NULL;
	struct dp_counters sum;
	dp_telemetry_sum(&tel, &sum);
	if (a.stats_file)
		write_stats(a.stats_file, &sum);
	uint64_t drops = 0;
	for (int i = 0; i < DP_DROP_COUNT; i++)
		drops += sum.drops[i];
	printf("sluice-dp: stopped rx=%llu/%llu tx=%llu/%llu drops=%llu messages=%llu\n",
	       (unsigned long long)sum.rx_packets[DP_OUTSIDE], (unsigned long long)sum.rx_packets[DP_INSIDE],
	       (unsigned long long)sum.tx_packets[DP_OUTSIDE], (unsigned long long)sum.tx_packets[DP_INSIDE],
	       (unsigned long long)drops, (unsigned long long)sum.messages);
	status = 0;
out_ports:
	dp_control_stop(control);
	dp_poolctl_free(poolctl);
	dp_listctl_free(lists);
	dp_eventlog_close(events);
	dp_ports_stop(&ports);
out:
	dp_sinkthread_stop(sink_thread);
	for (unsigned i = 0; i < cfg.workers; i++) {
		if (journals[i].ops)
			journals[i].ops->free(journals[i].impl);
		if (dumps[i].ops)
			dumps[i].ops->free(dumps[i].impl);
		dp_flowdump_free(flowdumps[i]);
		const struct dp_counters *c = &workers[i].ctr;
		if (c->dump_flow_overflow || c->dump_flow_failed)
			fprintf(stderr, "sluice-dp: --dump-messages: worker %u: flows/ files are incomplete: "
			        "%llu writes not dumped (queue full), %llu chunks failed\n", i,
			        (unsigned long long)c->dump_flow_overflow, (unsigned long long)c->dump_flow_failed);
	}
	if (archive_journal) {
		/* what is queued reaches the spool; the sender delivers it next time if not now */
		sl_journal_drain(archive_journal, false, 10000);
		sl_journal_close(archive_journal);
	}
	if (policy)
		sl_policy_unref(policy);
	rte_eal_cleanup();
	dp_rulehits_free(rule_hits); /* after the telemetry thread that reads it */
	return status;
}
