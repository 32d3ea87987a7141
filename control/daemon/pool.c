#include "pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../lib/rpc.h"
#include "fsutil.h"
#include "health.h"
#include "link.h"

#define MAX_HOSTS 256

enum health { H_UNKNOWN, H_UP, H_DOWN };
static const char *const health_names[] = {"unknown", "up", "down"};

struct host {
	char name[64];
	char addr[64];        /* where it is checked: its first address in a dataplane's pool */
	unsigned port;
	enum health health;
	unsigned oks, fails;  /* checks in a row */
	time_t since;
	bool drained;         /* by an administrator */
	bool weight_set;      /* ... who set its weight */
	unsigned weight;
	bool added, removed;  /* ... who added it (with these addresses) or removed it */
	json_t *addresses;
	bool seen;            /* named by a dataplane in this round */
	char error[256];      /* the last failed check's reason */
	/* one round's check, run on its own thread */
	pthread_t th;
	bool running;
	int rc;
	char rerr[256];
	int timeout_ms;
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t wake;
	struct ctl *c;
	struct host h[MAX_HOSTS];
	unsigned n;
	pthread_t thread;
	bool started, stop;
} P = {.mu = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

static struct host *find(const char *name, bool add)
{
	for (unsigned i = 0; i < P.n; i++)
		if (strcmp(P.h[i].name, name) == 0)
			return &P.h[i];
	if (!add || P.n == MAX_HOSTS || strlen(name) >= sizeof P.h[0].name)
		return NULL;
	struct host *h = &P.h[P.n++];
	memset(h, 0, sizeof *h);
	strcpy(h->name, name);
	h->since = time(NULL);
	return h;
}

json_t *pool_health_json(const char *name)
{
	pthread_mutex_lock(&P.mu);
	struct host *h = find(name, false);
	json_t *j = h ? json_pack("{s:s, s:I, s:s, s:b}", "health", health_names[h->health], "since",
	                          (json_int_t)h->since, "error", h->error, "drained", h->drained)
	              : json_pack("{s:s, s:b}", "health", P.started ? "unknown" : "not checked", "drained", 0);
	pthread_mutex_unlock(&P.mu);
	return j;
}

/* ---- what administrators changed, kept in pool.json -------------------------------- */

/* P.mu held. */
static int save(struct ctl *c, char *err, size_t errlen)
{
	json_t *hosts = json_object();
	for (unsigned i = 0; i < P.n; i++) {
		const struct host *h = &P.h[i];
		if (!h->drained && !h->weight_set && !h->added && !h->removed)
			continue;
		json_t *e = json_pack("{s:b, s:b, s:b}", "drained", h->drained, "added", h->added, "removed", h->removed);
		if (h->weight_set)
			json_object_set_new(e, "weight", json_integer(h->weight));
		if (h->added)
			json_object_set(e, "addresses", h->addresses);
		json_object_set_new(hosts, h->name, e);
	}
	json_t *doc = json_pack("{s:o}", "hosts", hosts);
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(doc);
	char path[CTL_PATH_MAX + 16];
	snprintf(path, sizeof path, "%s/pool.json", c->conf.state);
	int rc = text ? fs_replace(path, text, strlen(text), err, errlen) : -1;
	if (!text)
		snprintf(err, errlen, "no memory");
	free(text);
	return rc;
}

/* One administrator's change to host `name` (P.mu held while `apply` runs), saved. */
static int change(struct ctl *c, const char *name, void (*apply)(struct host *, const void *), const void *arg,
                  char *err, size_t errlen)
{
	pthread_mutex_lock(&P.mu);
	struct host *h = find(name, true);
	int rc = -1;
	if (!h)
		snprintf(err, errlen, "more than %d hosts", MAX_HOSTS);
	else {
		apply(h, arg);
		rc = save(c, err, errlen);
	}
	pthread_mutex_unlock(&P.mu);
	return rc;
}

static void apply_drained(struct host *h, const void *arg)
{
	h->drained = *(const bool *)arg;
}

static void apply_weight(struct host *h, const void *arg)
{
	h->weight_set = true;
	h->weight = *(const unsigned *)arg;
}

/* a new host of that name: what was known of another one before goes */
static void apply_added(struct host *h, const void *arg)
{
	const struct host *from = arg;
	h->health = H_UNKNOWN;
	h->oks = h->fails = 0;
	h->error[0] = 0;
	h->drained = h->removed = false;
	h->added = h->weight_set = true;
	h->weight = from->weight;
	json_decref(h->addresses);
	h->addresses = json_incref(from->addresses);
}

static void apply_removed(struct host *h, const void *arg)
{
	(void)arg;
	h->removed = true;
	h->added = h->drained = h->weight_set = false;
	json_decref(h->addresses);
	h->addresses = NULL;
	h->health = H_UNKNOWN; /* its slot stays (a check may be in flight); unnamed hosts are not checked */
	h->oks = h->fails = 0;
}

int pool_set_drained(struct ctl *c, const char *name, bool drained, char *err, size_t errlen)
{
	return change(c, name, apply_drained, &drained, err, errlen);
}

int pool_set_weight(struct ctl *c, const char *name, unsigned weight, char *err, size_t errlen)
{
	return change(c, name, apply_weight, &weight, err, errlen);
}

int pool_set_added(struct ctl *c, const char *name, json_t *addresses, unsigned weight, char *err, size_t errlen)
{
	struct host from = {.weight = weight, .addresses = addresses};
	return change(c, name, apply_added, &from, err, errlen);
}

int pool_set_removed(struct ctl *c, const char *name, char *err, size_t errlen)
{
	return change(c, name, apply_removed, NULL, err, errlen);
}

int pool_load(struct ctl *c, char *err, size_t errlen)
{
	char path[CTL_PATH_MAX + 16];
	snprintf(path, sizeof path, "%s/pool.json", c->conf.state);
	if (access(path, F_OK) != 0)
		return 0; /* nothing changed yet */
	json_error_t je;
	json_t *doc = json_load_file(path, 0, &je);
	json_t *hosts = json_object_get(doc, "hosts");
	if (!json_is_object(hosts)) {
		snprintf(err, errlen, "%s: %s", path, doc ? "no \"hosts\" object" : je.text);
		json_decref(doc);
		return -1;
	}
	const char *name;
	json_t *e;
	pthread_mutex_lock(&P.mu);
	json_object_foreach(hosts, name, e) {
		struct host *h = find(name, true);
		if (!h)
			break;
		h->drained = json_is_true(json_object_get(e, "drained"));
		h->added = json_is_true(json_object_get(e, "added"));
		h->removed = json_is_true(json_object_get(e, "removed"));
		h->weight_set = json_is_integer(json_object_get(e, "weight"));
		h->weight = (unsigned)json_integer_value(json_object_get(e, "weight"));
		h->addresses = json_incref(json_object_get(e, "addresses"));
		if (h->added && !json_is_array(h->addresses))
			h->added = false;
	}
	pthread_mutex_unlock(&P.mu);
	json_decref(doc);
	return 0;
}

const char *pool_wanted(const char *name, const char *current)
{
	pthread_mutex_lock(&P.mu);
	struct host *h = find(name, false);
	const char *want = NULL;
	if (h && h->health == H_DOWN)
		want = "down"; /* its connections cannot finish: reset them, clients retry elsewhere */
	else if (h && h->drained)
		want = "drain";
	else if (h && h->health == H_UP && strcmp(current, "down") == 0)
		want = "up"; /* back; a drain set elsewhere (configuration) is left alone */
	pthread_mutex_unlock(&P.mu);
	return want && strcmp(want, current) != 0 ? want : NULL;
}

static json_t *ask(struct ctl *c, struct dp_link *l, json_t *req, char *err, size_t errlen)
{
	json_t *a = link_request(l, req, NULL, 0, (int)c->conf.request_timeout_ms, -1, NULL, NULL, err, errlen);
	if (a && !json_is_true(json_object_get(a, "ok"))) {
		snprintf(err, errlen, "%s", rpc_error_text(a));
		json_decref(a);
		a = NULL;
	}
	return a;
}

/* A dataplane's pool.get host entry of that name, or NULL. */
static json_t *dp_host(json_t *pool, const char *name)
{
	size_t i;
	json_t *h;
	json_array_foreach(json_object_get(pool, "hosts"), i, h)
		if (strcmp(json_string_value(json_object_get(h, "name")) ?: "", name) == 0)
			return h;
	return NULL;
}

/* What an administrator changed of a host, as a request that makes a dataplane's pool
 * (its pool.get entry h, NULL when absent) agree, or NULL when it does. */
static json_t *admin_fix(const char *name, json_t *h)
{
	json_t *q = NULL;
	pthread_mutex_lock(&P.mu);
	struct host *a = find(name, false);
	if (a && a->removed && h)
		q = json_pack("{s:s, s:s}", "op", "pool.remove", "name", name);
	else if (a && a->added && !h)
		q = json_pack("{s:s, s:s, s:O, s:i}", "op", "pool.add", "name", name, "addresses", a->addresses, "weight",
		              (int)a->weight);
	else if (a && a->weight_set && h && json_integer_value(json_object_get(h, "weight")) != (json_int_t)a->weight)
		q = json_pack("{s:s, s:s, s:i}", "op", "pool.set", "name", name, "weight", (int)a->weight);
	pthread_mutex_unlock(&P.mu);
	return q;
}

void pool_converge(struct ctl *c, const char *name, json_t *results)
{
	for (unsigned i = 0; i < c->nlinks; i++) {
		struct dp_link *l = &c->links[i];
		char err[600] = "";
		const char *result = "ok";
		json_t *q = json_pack("{s:s}", "op", "pool.get");
		json_t *pool = ask(c, l, q, err, sizeof err);
		json_decref(q);
		json_t *h = pool ? dp_host(pool, name) : NULL;
		json_t *fix = pool ? admin_fix(name, h) : NULL;
		if (fix) {
			/* a dataplane that restarted, or missed a change: what the administrator made */
			json_t *a = ask(c, l, fix, err, sizeof err);
			ctl_log("pool: %s: host %s: %s again%s%s", l->conf->name, name,
			        json_string_value(json_object_get(fix, "op")), a ? "" : ": ", a ? "" : err);
			json_decref(a);
			json_decref(fix);
			json_decref(pool);
			q = json_pack("{s:s}", "op", "pool.get");
			pool = ask(c, l, q, err, sizeof err);
			json_decref(q);
			h = pool ? dp_host(pool, name) : NULL;
		}
		const char *want = h ? pool_wanted(name, json_string_value(json_object_get(h, "state")) ?: "") : NULL;
		if (!pool) {
			result = "error";
		} else if (!h) {
			result = "absent";
		} else if (want) {
			q = json_pack("{s:s, s:s, s:s}", "op", "pool.set", "name", name, "state", want);
			json_t *a = ask(c, l, q, err, sizeof err);
			json_decref(q);
			if (a)
				snprintf(err, sizeof err, "%s -> %s", json_string_value(json_object_get(h, "state")), want);
			else
				result = "error";
			json_decref(a);
		}
		if (results)
			json_array_append_new(results, json_pack("{s:s, s:s, s:s}", "dataplane", l->conf->name, "result",
			                                         result, "detail", err));
		else if (strcmp(result, "error") == 0)
			ctl_log("pool: %s: host %s: %s", l->conf->name, name, err);
		json_decref(pool);
	}
}

/* ---- the health thread ---------------------------------------------------------------- */

static void *check_one(void *arg)
{
	struct host *h = arg; /* its address, port and result fields are this thread's until joined */
	h->rc = health_check_smtp(h->addr, (uint16_t)h->port, h->timeout_ms, h->rerr, sizeof h->rerr);
	return NULL;
}

/* The hosts the dataplanes' pools name, with the address and port to check them at. */
static void gather(struct ctl *c)
{
	for (unsigned i = 0; i < P.n; i++)
		P.h[i].seen = false;
	for (unsigned i = 0; i < c->nlinks; i++) {
		char err[600];
		json_t *q = json_pack("{s:s}", "op", "pool.get");
		json_t *pool = ask(c, &c->links[i], q, err, sizeof err);
		json_decref(q);
		size_t k;
		json_t *e;
		json_array_foreach(json_object_get(pool, "hosts"), k, e) {
			const char *name = json_string_value(json_object_get(e, "name"));
			const char *addr = json_string_value(json_array_get(json_object_get(e, "addresses"), 0));
			json_int_t port = json_integer_value(json_array_get(json_object_get(pool, "ports"), 0));
			pthread_mutex_lock(&P.mu);
			struct host *h = name && addr ? find(name, true) : NULL;
			if (h && strlen(addr) < sizeof h->addr) {
				strcpy(h->addr, addr);
				h->port = port > 0 && port < 65536 ? (unsigned)port : 25;
				h->seen = true;
			}
			pthread_mutex_unlock(&P.mu);
		}
		json_decref(pool);
	}
}

/* A check's result into the host's streaks; a transition is logged and audited. */
static void record(struct ctl *c, struct host *h)
{
	enum health before = h->health;
	if (h->rc == 0) {
		h->fails = 0;
		if (++h->oks >= P.c->conf.pool_rise || h->health == H_UNKNOWN)
			h->health = H_UP; /* a host never checked before is up at its first success */
	} else {
		h->oks = 0;
		memcpy(h->error, h->rerr, sizeof h->error); /* both NUL-terminated, the same size */
		if (++h->fails >= P.c->conf.pool_fall)
			h->health = H_DOWN;
	}
	if (h->health == before)
		return;
	h->since = time(NULL);
	ctl_log("pool: host %s (%s) %s -> %s%s%s", h->name, h->addr, health_names[before], health_names[h->health],
	        h->rc ? ": " : "", h->rc ? h->error : "");
	json_t *e = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "op", "pool.health", "user", "sluice-control", "host",
	                      h->name, "from", health_names[before], "to", health_names[h->health], "reason",
	                      h->rc ? h->error : "checks pass");
	char err[600];
	if (ctl_audit(c, e, err, sizeof err))
		ctl_log("AUDIT LOG FAILED: %s", err);
	json_decref(e);
}

static void round_of_checks(struct ctl *c)
{
	gather(c);
	pthread_mutex_lock(&P.mu);
	for (unsigned i = 0; i < P.n; i++) {
		struct host *h = &P.h[i];
		h->timeout_ms = (int)c->conf.pool_timeout_ms;
		h->running = h->seen && pthread_create(&h->th, NULL, check_one, h) == 0;
	}
	pthread_mutex_unlock(&P.mu);
	/* the checks run unlocked: a check thread writes only its host's rc and rerr, and hosts
	 * never move (P.h only grows) */
	char names[MAX_HOSTS][64];
	unsigned n = 0;
	for (unsigned i = 0; i < P.n; i++) {
		struct host *h = &P.h[i];
		pthread_mutex_lock(&P.mu);
		bool admin = h->drained || h->weight_set || h->added || h->removed;
		pthread_mutex_unlock(&P.mu);
		if (h->running) {
			pthread_join(h->th, NULL);
			pthread_mutex_lock(&P.mu);
			h->running = false;
			record(c, h);
			pthread_mutex_unlock(&P.mu);
		} else if (!admin) {
			continue;
		}
		strcpy(names[n++], h->name); /* checked, or changed by an administrator */
	}
	pthread_mutex_lock(&c->change_lock); /* not in the middle of an administrator's change */
	for (unsigned i = 0; i < n; i++)
		pool_converge(c, names[i], NULL);
	pthread_mutex_unlock(&c->change_lock);
}

static void *health_main(void *arg)
{
	struct ctl *c = arg;
	for (;;) {
		/* rounds start every interval, however long the last one's checks took */
		struct timespec t1;
		clock_gettime(CLOCK_REALTIME, &t1);
		round_of_checks(c);
		uint64_t ms = c->conf.pool_interval_ms;
		t1.tv_sec += (time_t)(ms / 1000);
		t1.tv_nsec += (long)(ms % 1000) * 1000000;
		if (t1.tv_nsec >= 1000000000) {
			t1.tv_sec++;
			t1.tv_nsec -= 1000000000;
		}
		pthread_mutex_lock(&P.mu);
		while (!P.stop && pthread_cond_timedwait(&P.wake, &P.mu, &t1) == 0)
			;
		bool stop = P.stop;
		pthread_mutex_unlock(&P.mu);
		if (stop)
			return NULL;
	}
}

int pool_start(struct ctl *c)
{
	P.c = c;
	if (!c->conf.pool_checks)
		return 0;
	if (pthread_create(&P.thread, NULL, health_main, c) != 0)
		return -1;
	P.started = true;
	return 0;
}

void pool_stop(void)
{
	if (!P.started)
		return;
	pthread_mutex_lock(&P.mu);
	P.stop = true;
	pthread_cond_signal(&P.wake);
	pthread_mutex_unlock(&P.mu);
	pthread_join(P.thread, NULL);
	P.started = false;
}
