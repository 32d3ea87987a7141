#include "control.h"

#include <errno.h>
#include <stdarg.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "sluice/bundlesig.h"
#include "sluice/frame.h"

#include "pipeline/inspect.h"
#include "pipeline/rulehits.h"
#include "pool/poolflow.h"
#include "smtp/rules.h"
#include "poolctl.h"
#include "listctl.h"
#include "lpm.h"
#include "telemetry.h"
#include "worker.h"

#define DP_VERSION "0.1.0"
#define MAX_PEERS 4
#define SWAP_WAIT_MS 5000
#define PEER_READ_MS 30000
#define SNAP_WAIT_MS 1000
#define TOP_FLOWS_MAX 1000

enum { SNAP_IDLE, SNAP_ASKED, SNAP_DONE };

/* A bundle on offer to the workers: each takes its slot when it sees the pointer. */
struct published {
	struct dp_bundle_info info;
	unsigned n;
	struct dp_ruleset *slot[];
};

struct dp_control {
	struct dp_config *cfg;
	struct dp_worker *workers;
	unsigned nworkers;
	const struct dp_telemetry_src *tel;
	struct rte_rcu_qsbr *qsbr;
	struct published *published;    /* read by workers (acquire), written here */
	struct published *seen[64];     /* per worker: the last one it took */
	struct published *unconfirmed;  /* a swap some worker had not confirmed: freed later */
	struct dp_list_snapshot *lists_pub;   /* read by workers (acquire), written here */
	struct dp_list_snapshot *lists_unconfirmed;
	struct dp_listctl *lists;
	struct rte_ring *grave[64];     /* per worker: rulesets it no longer uses, freed here */
	struct snapshot {               /* `flows`: asked here, filled by the worker between bursts */
		int state;              /* SNAP_IDLE, SNAP_ASKED, SNAP_DONE (atomic) */
		unsigned max, n;
		struct dp_flow_brief *out;
	} snap[64];
	const struct dp_pool *pool;     /* the pool version on offer (poolctl.c owns them) */
	struct dp_poolctl *poolctl;     /* NULL: no [pool] */
	pthread_mutex_t info_lock;      /* info: read by telemetry and hello */
	struct dp_bundle_info info;
	pthread_t thread;
	bool running;
	volatile bool stop;
	int listen_fd;
	gid_t group;
	bool have_group;
	time_t started;
};

/* ---- worker side ------------------------------------------------------------------ */

/* A worker's ruleset nobody uses any more: freed by the control thread (a bundle's
 * databases and scratch take long to free). */
static bool to_grave(void *ring, struct dp_ruleset *rs)
{
	return rte_ring_sp_enqueue(ring, rs) == 0;
}

static void bury(struct dp_control *c)
{
	for (unsigned i = 0; i < c->nworkers; i++) {
		void *rs;
		while (c->grave[i] && rte_ring_sc_dequeue(c->grave[i], &rs) == 0)
			dp_ruleset_free(rs);
	}
}

void dp_control_worker_online(struct dp_control *c, struct dp_worker *w)
{
	if (!c)
		return;
	if (c->running && c->grave[w->idx] && w->insp) {
		w->insp->ctx.rules.dispose = to_grave;
		w->insp->ctx.rules.dispose_arg = c->grave[w->idx];
	}
	rte_rcu_qsbr_thread_register(c->qsbr, w->idx);
	rte_rcu_qsbr_thread_online(c->qsbr, w->idx);
}

void dp_control_worker_sync(struct dp_control *c, struct dp_worker *w)
{
	struct published *p = __atomic_load_n(&c->published, __ATOMIC_ACQUIRE);
	if (p != c->seen[w->idx]) {
		c->seen[w->idx] = p;
		if (p && w->insp && w->idx < p->n) {
			struct dp_ruleset *rs = p->slot[w->idx];
			p->slot[w->idx] = NULL;
			dp_rules_switch(&w->insp->ctx.rules, rs);
		}
	}
	const struct dp_pool *pool = __atomic_load_n(&c->pool, __ATOMIC_ACQUIRE);
	if (pool && w->insp && w->insp->ctx.pool && w->insp->ctx.pool->cur != pool)
		dp_pool_take(w->insp->ctx.pool, pool);
	if (w->insp && w->insp->ctx.protect) {
		struct dp_list_snapshot *l = __atomic_load_n(&c->lists_pub, __ATOMIC_ACQUIRE);
		w->insp->ctx.protect->lists = l ? &l->lists : NULL;
	}
	struct snapshot *sn = &c->snap[w->idx];
	if (__atomic_load_n(&sn->state, __ATOMIC_ACQUIRE) == SNAP_ASKED) {
		sn->n = w->insp ? dp_inspector_top_flows(w->insp, sn->out, sn->max) : 0;
		for (unsigned i = 0; i < sn->n; i++)
			sn->out[i].worker = w->idx;
		__atomic_store_n(&sn->state, SNAP_DONE, __ATOMIC_RELEASE);
	}
	rte_rcu_qsbr_quiescent(c->qsbr, w->idx);
}

void dp_control_worker_offline(struct dp_control *c, struct dp_worker *w)
{
	if (!c)
		return;
	rte_rcu_qsbr_thread_offline(c->qsbr, w->idx);
	rte_rcu_qsbr_thread_unregister(c->qsbr, w->idx);
}

/* ---- set-up ------------------------------------------------------------------------- */

struct dp_control *dp_control_new(struct dp_config *cfg, struct dp_worker *workers, unsigned nworkers,
                                  const struct dp_telemetry_src *tel)
{
	struct dp_control *c = calloc(1, sizeof *c);
	if (!c || nworkers > sizeof c->seen / sizeof c->seen[0]) {
		free(c);
		return NULL;
	}
	size_t sz = rte_rcu_qsbr_get_memsize(nworkers);
	c->qsbr = rte_zmalloc("sluice-qsbr", sz, RTE_CACHE_LINE_SIZE);
	if (!c->qsbr || rte_rcu_qsbr_init(c->qsbr, nworkers) != 0) {
		fprintf(stderr, "sluice-dp: control: cannot set up RCU for %u workers\n", nworkers);
		rte_free(c->qsbr);
		free(c);
		return NULL;
	}
	for (unsigned i = 0; i < nworkers; i++) {
		char name[RTE_RING_NAMESIZE];
		snprintf(name, sizeof name, "sl_grave%u", i);
		c->grave[i] = rte_ring_create(name, 64, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
		/* without one the worker frees its old bundles itself */
	}
	c->cfg = cfg;
	c->workers = workers;
	c->nworkers = nworkers;
	c->tel = tel;
	c->listen_fd = -1;
	c->started = time(NULL);
	pthread_mutex_init(&c->info_lock, NULL);
	return c;
}

void dp_control_set_initial(struct dp_control *c, const struct dp_bundle_info *b)
{
	pthread_mutex_lock(&c->info_lock);
	c->info = *b;
	pthread_mutex_unlock(&c->info_lock);
}

void dp_control_info(struct dp_control *c, struct dp_bundle_info *out)
{
	pthread_mutex_lock(&c->info_lock);
	*out = c->info;
	pthread_mutex_unlock(&c->info_lock);
}

static void published_free(struct published *p)
{
	if (!p)
		return;
	for (unsigned i = 0; i < p->n; i++)
		dp_ruleset_free(p->slot[i]); /* slots no worker took */
	free(p);
}

/* ---- answers -------------------------------------------------------------------------- */

static void reply(int fd, json_t *req, json_t *ans)
{
	json_t *r = req ? json_object_get(req, "req") : NULL;
	/* _new takes our reference: the 0 made here is the answer's alone */
	json_object_set_new(ans, "req", r ? json_incref(r) : json_integer(0));
	char *text = json_dumps(ans, JSON_COMPACT);
	if (text) {
		sl_frame_write(fd, text, strlen(text), NULL, 0);
		free(text);
	}
	json_decref(ans);
}


static json_t *bundle_json(const struct dp_bundle_info *b)
{
	if (!b->loaded_unix && !b->digest[0])
		return json_null();
	return json_pack("{s:I, s:s, s:I}", "id", (json_int_t)b->id, "digest", b->digest, "loaded_at",
	                 (json_int_t)b->loaded_unix);
}

static json_t *op_hello(struct dp_control *c)
{
	struct dp_bundle_info b;
	dp_control_info(c, &b);
	json_t *ans = json_pack("{s:b, s:s, s:s, s:i, s:I, s:s, s:i, s:s, s:o, s:s}", "ok", 1,
	                        "name", c->cfg->control_name, "version", DP_VERSION, "pid", (int)getpid(),
	                        "uptime_s", (json_int_t)(time(NULL) - c->started),
	                        "mode", dp_mode_name(c->cfg->mode), "workers", (int)c->nworkers,
	                        "starttls", dp_starttls_name(__atomic_load_n(&c->cfg->starttls, __ATOMIC_RELAXED)),
	                        "bundle", bundle_json(&b), "events", c->cfg->events_file);
	uint64_t version = 0;
	size_t entries = 0;
	if (c->lists)
		dp_listctl_info(c->lists, &version, &entries);
	json_object_set_new(ans, "protect", json_pack("{s:b, s:I, s:I}", "enabled",
	                    dp_config_protecting(c->cfg), "lists_version", (json_int_t)version,
	                    "list_entries", (json_int_t)entries));
	json_object_set_new(ans, "pool", json_integer((json_int_t)dp_poolctl_version(c->poolctl)));
	return ans;
}

static json_t *op_stats(struct dp_control *c)
{
	struct dp_counters sum;
	dp_telemetry_sum(c->tel, &sum);
	struct dp_rule_totals rules;
	if (!dp_rulehits_totals(c->tel->rule_hits, &rules))
		return dp_ctl_failure("no memory to sum the rule counters");
	dp_rule_totals_top(&rules, DP_STATS_RULES_MAX);
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	dp_counters_json(&sum, &rules, &b);
	dp_rule_totals_free(&rules);
	json_error_t e;
	json_t *stats = sl_strbuf_failed(&b) ? NULL : json_loads(b.s, 0, &e);
	sl_strbuf_free(&b);
	if (!stats)
		return dp_ctl_failure("cannot build the counters");
	struct dp_bundle_info bi;
	dp_control_info(c, &bi);
	return json_pack("{s:b, s:o, s:o}", "ok", 1, "stats", stats, "bundle", bundle_json(&bi));
}

static json_t *op_knob(struct dp_control *c, json_t *req)
{
	const char *v = json_string_value(json_object_get(req, "starttls"));
	if (!v)
		return dp_ctl_failure("knob.set: only 'starttls' can change live (allow, strip, block)");
	int k;
	if (strcmp(v, "allow") == 0)
		k = DP_STARTTLS_ALLOW;
	else if (strcmp(v, "strip") == 0)
		k = DP_STARTTLS_STRIP;
	else if (strcmp(v, "block") == 0)
		k = DP_STARTTLS_BLOCK;
	else
		return dp_ctl_failure("knob.set: starttls must be allow, strip or block, not '%s'", v);
	/* new flows read it when they begin (smtpflow.c) */
	__atomic_store_n(&c->cfg->starttls, (enum dp_starttls)k, __ATOMIC_RELAXED);
	return json_pack("{s:b, s:s}", "ok", 1, "starttls", v);
}

/* Every worker passed a quiescent state since `token` (they all took what was published
 * before it), waiting at most SWAP_WAIT_MS. */
static bool workers_confirmed(struct dp_control *c, uint64_t token)
{
	for (int waited = 0; waited < SWAP_WAIT_MS; waited++) {
		if (rte_rcu_qsbr_check(c->qsbr, token, false) == 1)
			return true;
		usleep(1000);
	}
	return false;
}

bool dp_control_publish_pool(struct dp_control *c, const struct dp_pool *p)
{
	__atomic_store_n(&c->pool, p, __ATOMIC_RELEASE);
	return workers_confirmed(c, rte_rcu_qsbr_start(c->qsbr));
}

void dp_control_set_pool(struct dp_control *c, struct dp_poolctl *pc)
{
	c->poolctl = pc;
}

static json_t *op_bundle_load(struct dp_control *c, json_t *req, const uint8_t *body, size_t n)
{
	char err[512];
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (!n)
		return dp_ctl_failure("bundle.load: no bundle in the frame's body");
	json_t *jid = json_object_get(req, "id");
	if (jid && !json_is_integer(jid))
		return dp_ctl_failure("bundle.load: id must be an integer");
	struct sl_bundlesig_info sig = {.bundle = body, .len = n, .version = jid ? (uint64_t)json_integer_value(jid) : 0};
	if (c->cfg->control_public_key[0]) {
		if (sl_bundlesig_verify(body, n, c->cfg->control_public_key, &sig, err, sizeof err))
			return dp_ctl_failure("bundle refused: %s", err);
	} else if (sl_bundlesig_is_signed(body, n) && sl_bundlesig_parse(body, n, &sig, err, sizeof err)) {
		return dp_ctl_failure("bundle refused: %s", err);
	}
	if (jid && sig.version != (uint64_t)json_integer_value(jid))
		return dp_ctl_failure("bundle refused: it is signed as version %llu, not %lld",
		             (unsigned long long)sig.version, (long long)json_integer_value(jid));
	struct sl_policy_diag diag;
	char name[64];
	snprintf(name, sizeof name, "bundle %llu", (unsigned long long)sig.version);
	struct sl_policy *policy = sl_policy_load_bundle_mem(name, sig.bundle, sig.len, &diag);
	if (!policy) {
		struct sl_strbuf b;
		sl_strbuf_init(&b);
		sl_policy_diag_format(&diag, &b);
		json_t *e = dp_ctl_failure("bundle refused: %s", b.s ? b.s : "cannot load");
		sl_strbuf_free(&b);
		return e;
	}
	if (!dp_policy_spam_model(policy, c->cfg->spam_model, err, sizeof err)) {
		sl_policy_unref(policy);
		return dp_ctl_failure("bundle refused: %s", err);
	}
	/* each worker's share, made here: the scratch is allocated off the worker cores */
	struct published *p = calloc(1, sizeof *p + c->nworkers * sizeof p->slot[0]);
	bool ok = p != NULL;
	for (unsigned i = 0; ok && i < c->nworkers; i++) /* its rule counters read from now on */
		ok = (p->slot[i] = dp_ruleset_new(policy, sig.version)) != NULL &&
		     dp_rulehits_enter(c->tel->rule_hits, p->slot[i]);
	if (!ok) {
		if (p)
			p->n = c->nworkers;
		published_free(p);
		sl_policy_unref(policy);
		return dp_ctl_failure("bundle refused: no memory for its scratch");
	}
	p->n = c->nworkers;
	p->info.id = sig.version;
	/* the bundle as pushed: sluice-control compares it with what it wants running */
	memcpy(p->info.digest, p->slot[0]->own_digest, sizeof p->info.digest);
	p->info.loaded_unix = (uint64_t)time(NULL);
	sl_policy_unref(policy); /* the slots hold theirs */

	/* publish; once every worker passed a quiescent state, each has switched and the
	 * previous offer can go */
	if (c->unconfirmed && workers_confirmed(c, rte_rcu_qsbr_start(c->qsbr))) {
		published_free(c->unconfirmed);
		c->unconfirmed = NULL;
	}
	struct published *old = __atomic_exchange_n(&c->published, p, __ATOMIC_ACQ_REL);
	uint64_t token = rte_rcu_qsbr_start(c->qsbr);
	bool confirmed = workers_confirmed(c, token);
	pthread_mutex_lock(&c->info_lock);
	c->info = p->info;
	pthread_mutex_unlock(&c->info_lock);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	fprintf(stderr, "sluice-dp: control: bundle %llu (%.16s) published in %.1f ms%s\n",
	        (unsigned long long)p->info.id, p->info.digest, ms,
	        confirmed ? "" : "; not every worker confirmed yet");
	if (!confirmed) {
		/* a worker is stalled: the old offer may still be read; free it later */
		if (old && !c->unconfirmed)
			c->unconfirmed = old;
		else
			published_free(old); /* cannot happen twice in a row without a check above */
		/* it is published: every worker takes it at its next loop; not a refusal */
		return json_pack("{s:b, s:b, s:I, s:s, s:f, s:s}", "ok", 1, "confirmed", 0, "id",
		                 (json_int_t)p->info.id, "digest", p->info.digest, "swap_ms", ms, "note",
		                 "published, but not every worker took it yet (a stalled worker?)");
	}
	published_free(old);
	return json_pack("{s:b, s:b, s:I, s:s, s:f}", "ok", 1, "confirmed", 1, "id", (json_int_t)p->info.id,
	                 "digest", p->info.digest, "swap_ms", ms);
}

static int by_bytes(const void *a, const void *b)
{
	const struct dp_flow_brief *x = a, *y = b;
	uint64_t bx = x->bytes_in + x->bytes_out, by = y->bytes_in + y->bytes_out;
	return bx < by ? 1 : bx > by ? -1 : 0;
}

/* The top flows by bytes: each worker lists its own between bursts (the tables are
 * theirs alone), then they are merged here. */
static json_t *op_flows(struct dp_control *c, json_t *req)
{
	json_int_t top = json_integer_value(json_object_get(req, "top"));
	unsigned max = top > 0 && top <= TOP_FLOWS_MAX ? (unsigned)top : 20;
	struct dp_flow_brief *all = calloc((size_t)c->nworkers * max, sizeof *all);
	if (!all)
		return dp_ctl_failure("flows: no memory");
	for (unsigned i = 0; i < c->nworkers; i++) {
		c->snap[i] = (struct snapshot){SNAP_IDLE, max, 0, all + (size_t)i * max};
		__atomic_store_n(&c->snap[i].state, SNAP_ASKED, __ATOMIC_RELEASE);
	}
	unsigned done = 0;
	for (int waited = 0; waited < SNAP_WAIT_MS && done < c->nworkers; waited++) {
		done = 0;
		for (unsigned i = 0; i < c->nworkers; i++)
			done += __atomic_load_n(&c->snap[i].state, __ATOMIC_ACQUIRE) == SNAP_DONE;
		if (done < c->nworkers)
			usleep(1000);
	}
	if (done < c->nworkers) {
		/* a worker that never answered may still write: the buffer stays theirs */
		return dp_ctl_failure("flows: %u of %u workers did not answer within %d ms", c->nworkers - done,
		               c->nworkers, SNAP_WAIT_MS);
	}
	unsigned n = 0;
	for (unsigned i = 0; i < c->nworkers; i++) {
		memmove(all + n, c->snap[i].out, c->snap[i].n * sizeof *all);
		n += c->snap[i].n;
		c->snap[i].state = SNAP_IDLE;
	}
	qsort(all, n, sizeof *all, by_bytes);
	json_t *list = json_array();
	for (unsigned i = 0; i < n && i < max; i++) {
		const struct dp_flow_brief *b = &all[i];
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:i}",
			"client", b->client, "server", b->server, "state", b->state,
			"bytes_in", (json_int_t)b->bytes_in, "bytes_out", (json_int_t)b->bytes_out,
			"age_ms", (json_int_t)b->age_ms, "idle_ms", (json_int_t)b->idle_ms,
			"bundle", (json_int_t)b->bundle_id, "worker", (int)b->worker));
	}
	free(all);
	return json_pack("{s:b, s:o}", "ok", 1, "flows", list);
}

void dp_control_set_lists(struct dp_control *c, struct dp_listctl *l)
{
	c->lists = l;
}

bool dp_control_publish_lists(struct dp_control *c, struct dp_list_snapshot *s)
{
	if (c->lists_unconfirmed && workers_confirmed(c, rte_rcu_qsbr_start(c->qsbr))) {
		dp_lpm_free(c->lists_unconfirmed);
		c->lists_unconfirmed = NULL;
	}
	struct dp_list_snapshot *old = __atomic_exchange_n(&c->lists_pub, s, __ATOMIC_ACQ_REL);
	bool confirmed = workers_confirmed(c, rte_rcu_qsbr_start(c->qsbr));
	if (confirmed || !old) {
		dp_lpm_free(old);
	} else if (!c->lists_unconfirmed) {
		c->lists_unconfirmed = old; /* a stalled worker may still read it */
	} else {
		/* two unconfirmed in a row: keep the older one too rather than free it under a
		 * reader; it goes at stop */
		dp_lpm_free(c->lists_unconfirmed);
		c->lists_unconfirmed = old;
	}
	return confirmed;
}

static json_t *handle(struct dp_control *c, json_t *req, const struct sl_frame *f)
{
	const char *op = json_string_value(json_object_get(req, "op"));
	if (!op)
		return dp_ctl_failure("a request needs \"op\"");
	if (strcmp(op, "hello") == 0)
		return op_hello(c);
	if (strcmp(op, "stats") == 0)
		return op_stats(c);
	if (strcmp(op, "knob.set") == 0)
		return op_knob(c, req);
	if (strcmp(op, "bundle.load") == 0)
		return op_bundle_load(c, req, f->body, f->body_len);
	if (strcmp(op, "flows") == 0)
		return op_flows(c, req);
	json_t *ans = c->lists ? dp_listctl_handle(c->lists, op, req, f->body, f->body_len) : NULL;
	if (!ans)
		ans = dp_poolctl_handle(c->poolctl, c, op, req);
	if (ans)
		return ans;
	return dp_ctl_failure("unknown op '%s' (hello, stats, flows, bundle.load, knob.set, list.get, "
	                      "list.add, list.del, list.set, bans, bans.del, top.sources, pool.get, pool.set, "
	                      "pool.add, pool.remove)", op);
}

/* ---- the socket ------------------------------------------------------------------------ */

/* root, our own user, or a member of the socket's group (primary or supplementary). */
static bool peer_allowed(struct dp_control *c, int fd)
{
	struct ucred cr;
	socklen_t len = sizeof cr;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0)
		return false;
	if (cr.uid == 0 || cr.uid == geteuid())
		return true;
	if (!c->have_group)
		return false;
	if (cr.gid == c->group)
		return true;
	char path[64], line[1024];
	snprintf(path, sizeof path, "/proc/%d/status", (int)cr.pid);
	FILE *f = fopen(path, "r");
	bool member = false;
	while (f && !member && fgets(line, sizeof line, f)) {
		if (strncmp(line, "Groups:", 7) != 0)
			continue;
		for (char *t = strtok(line + 7, " \t\n"); t && !member; t = strtok(NULL, " \t\n"))
			member = (gid_t)strtoul(t, NULL, 10) == c->group;
	}
	if (f)
		fclose(f);
	return member;
}

static int listen_socket(struct dp_control *c)
{
	const char *path = c->cfg->control_socket;
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof a.sun_path) {
		fprintf(stderr, "sluice-dp: control: socket path too long: %s\n", path);
		return -1;
	}
	strcpy(a.sun_path, path);
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			fprintf(stderr, "sluice-dp: control: %s exists and is not a socket\n", path);
			return -1;
		}
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		bool alive = probe >= 0 && connect(probe, (struct sockaddr *)&a, sizeof a) == 0;
		if (probe >= 0)
			close(probe);
		if (alive) {
			fprintf(stderr, "sluice-dp: control: another process listens on %s\n", path);
			return -1;
		}
		unlink(path); /* left by an earlier run */
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	mode_t old = umask(0177);
	int rc = bind(fd, (struct sockaddr *)&a, sizeof a);
	umask(old);
	if (rc != 0 || listen(fd, 8) != 0) {
		fprintf(stderr, "sluice-dp: control: %s: %s\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	struct group *g = c->cfg->control_group[0] ? getgrnam(c->cfg->control_group) : NULL;
	if (g && chown(path, 0, g->gr_gid) == 0 && chmod(path, 0660) == 0) {
		c->group = g->gr_gid;
		c->have_group = true;
	}
	return fd;
}

static void *control_main(void *arg)
{
	struct dp_control *c = arg;
	struct pollfd pfd[1 + MAX_PEERS];
	int npeers = 0;
	pfd[0] = (struct pollfd){.fd = c->listen_fd, .events = POLLIN};
	while (!c->stop) {
		int r = poll(pfd, (nfds_t)(1 + npeers), 100);
		bury(c);
		if (c->lists)
			dp_listctl_tick(c->lists); /* list entries that expired go */
		if (r <= 0)
			continue;
		if (pfd[0].revents & POLLIN) {
			int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0 && (!peer_allowed(c, fd) || npeers == MAX_PEERS)) {
				close(fd);
			} else if (fd >= 0) {
				pfd[1 + npeers++] = (struct pollfd){.fd = fd, .events = POLLIN};
			}
		}
		for (int i = 1; i <= npeers; i++) {
			if (!pfd[i].revents)
				continue;
			struct sl_frame f;
			int rc = sl_frame_read(pfd[i].fd, &f, PEER_READ_MS);
			bool drop = rc != 0;
			if (rc == 0) {
				json_error_t je;
				json_t *req = json_loadb(f.json, f.json_len, 0, &je);
				if (!req || !json_is_object(req)) {
					reply(pfd[i].fd, NULL, dp_ctl_failure("request is not a JSON object: %s", je.text));
					drop = true;
				} else {
					reply(pfd[i].fd, req, handle(c, req, &f));
				}
				json_decref(req);
				sl_frame_free(&f);
			}
			if (drop) {
				close(pfd[i].fd);
				pfd[i--] = pfd[npeers--];
			}
		}
	}
	for (int i = 1; i <= npeers; i++)
		close(pfd[i].fd);
	return NULL;
}

int dp_control_start(struct dp_control *c)
{
	if (!c->cfg->control_socket[0])
		return 0;
	c->listen_fd = listen_socket(c);
	if (c->listen_fd < 0)
		return -1;
	if (pthread_create(&c->thread, NULL, control_main, c) != 0) {
		close(c->listen_fd);
		return -1;
	}
	c->running = true;
	return 0;
}

void dp_control_stop(struct dp_control *c)
{
	if (!c)
		return;
	c->stop = true;
	if (c->running)
		pthread_join(c->thread, NULL);
	if (c->listen_fd >= 0) {
		close(c->listen_fd);
		unlink(c->cfg->control_socket);
	}
	bury(c);
	for (unsigned i = 0; i < c->nworkers; i++) {
		/* the workers have stopped: from now on they free their own (shutdown) */
		if (c->workers[i].insp)
			c->workers[i].insp->ctx.rules.dispose = NULL;
		rte_ring_free(c->grave[i]);
	}
	published_free(c->published);
	published_free(c->unconfirmed);
	dp_lpm_free(c->lists_pub);
	dp_lpm_free(c->lists_unconfirmed);
	rte_free(c->qsbr);
	pthread_mutex_destroy(&c->info_lock);
	free(c);
}
