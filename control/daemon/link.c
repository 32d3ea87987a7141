#include "link.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/rpc.h"
#include "../lib/unixsock.h"

const char *link_result_name(enum link_result r)
{
	switch (r) {
	case LINK_RUNNING: return "running";
	case LINK_LOADED: return "loaded";
	case LINK_NO_VERSION: return "no-version";
	case LINK_DOWN: return "down";
	case LINK_TIMEOUT: return "timeout";
	case LINK_REFUSED: return "refused";
	}
	return "?";
}

/* ---- with io held ------------------------------------------------------------------ */

static void set_down(struct dp_link *l, const char *why)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	pthread_mutex_lock(&l->mu);
	bool was_up = l->up;
	if (l->up || !l->since)
		l->since = time(NULL);
	l->up = false;
	snprintf(l->error, sizeof l->error, "%.500s", why);
	pthread_mutex_unlock(&l->mu);
	if (was_up)
		ctl_log("dataplane %s is down: %s", l->conf->name, why);
}

static void set_hello(struct dp_link *l, json_t *hello)
{
	pthread_mutex_lock(&l->mu);
	bool was_up = l->up;
	if (!l->up)
		l->since = time(NULL);
	l->up = true;
	json_decref(l->hello);
	l->hello = json_deep_copy(hello);
	pthread_mutex_unlock(&l->mu);
	if (!was_up)
		ctl_log("dataplane %s is up (%s)", l->conf->name, l->conf->socket);
}

static bool timed_out(int e)
{
	return e == ETIMEDOUT || e == EAGAIN || e == EWOULDBLOCK;
}

/* One exchange on the open connection; a failed one closes it. */
static json_t *exchange(struct dp_link *l, json_t *req, const void *body, size_t blen, int timeout_ms,
                        uint8_t **abody, size_t *ablen, bool *timeout, char *err, size_t errlen)
{
	*timeout = false;
	errno = 0;
	json_t *a = rpc_call(l->fd, &l->seq, req, body, blen, timeout_ms, abody, ablen, err, errlen);
	if (!a) {
		*timeout = timed_out(errno);
		char why[600];
		snprintf(why, sizeof why, "%s", err);
		set_down(l, why);
	}
	return a;
}

static json_t *op(const char *name)
{
	json_t *r = json_object();
	json_object_set_new(r, "op", json_string(name));
	return r;
}

/* Connect when down and greet: the hello answer (decref), or NULL with err. */
static json_t *greet(struct dp_link *l, bool *timeout, char *err, size_t errlen)
{
	*timeout = false;
	if (l->fd < 0) {
		l->fd = unixsock_connect(l->conf->socket, (int)l->ctl->conf.push_timeout_ms, err, errlen);
		if (l->fd < 0) {
			set_down(l, err);
			return NULL;
		}
		l->seq = 0;
		pthread_mutex_lock(&l->mu);
		l->refused = -1; /* a new connection: it may take what it refused before */
		pthread_mutex_unlock(&l->mu);
	}
	json_t *req = op("hello");
	json_t *a = exchange(l, req, NULL, 0, (int)l->ctl->conf.request_timeout_ms, NULL, NULL, timeout,
	                     err, errlen);
	json_decref(req);
	if (a && !json_is_true(json_object_get(a, "ok"))) {
		snprintf(err, errlen, "hello refused: %s", rpc_error_text(a));
		set_down(l, err);
		json_decref(a);
		return NULL;
	}
	if (a)
		set_hello(l, a);
	return a;
}

static void load_version(struct dp_link *l, int64_t v, struct link_outcome *out)
{
	char err[512];
	size_t len;
	uint8_t *bundle = store_bundle(&l->ctl->store, v, &len, err, sizeof err);
	if (!bundle) {
		out->result = LINK_REFUSED;
		snprintf(out->detail, sizeof out->detail, "%s", err);
		return;
	}
	json_t *meta = store_meta(&l->ctl->store, v);
	json_t *req = op("bundle.load");
	json_object_set_new(req, "id", json_integer(v));
	json_t *comment = json_object_get(meta, "comment");
	json_object_set_new(req, "comment", json_string(json_is_string(comment) ? json_string_value(comment) : ""));
	bool timeout;
	json_t *a = exchange(l, req, bundle, len, (int)l->ctl->conf.push_timeout_ms, NULL, NULL, &timeout,
	                     err, sizeof err);
	json_decref(req);
	json_decref(meta);
	free(bundle);
	if (!a) {
		out->result = timeout ? LINK_TIMEOUT : LINK_DOWN;
		snprintf(out->detail, sizeof out->detail, "%s", err);
		return;
	}
	pthread_mutex_lock(&l->mu);
	if (json_is_true(json_object_get(a, "ok"))) {
		out->result = LINK_LOADED;
		out->running = v;
		out->swap_ms = json_number_value(json_object_get(a, "swap_ms"));
		/* published; a worker takes it at its next loop (docs/dataplane.md) */
		out->unconfirmed = json_is_false(json_object_get(a, "confirmed"));
		l->loads++;
		l->refused = -1;
		/* what it runs now, without waiting for the next hello */
		const char *digest = json_string_value(json_object_get(a, "digest"));
		if (l->hello)
			json_object_set_new(l->hello, "bundle", json_pack("{s:I, s:s, s:I}", "id", (json_int_t)v,
			                    "digest", digest ? digest : "", "loaded_at", (json_int_t)time(NULL)));
	} else {
		out->result = LINK_REFUSED;
		snprintf(out->detail, sizeof out->detail, "%s", rpc_error_text(a));
		snprintf(l->error, sizeof l->error, "refused version %lld: %s", (long long)v, rpc_error_text(a));
		l->refused = v;
		l->load_failures++;
	}
	pthread_mutex_unlock(&l->mu);
	json_decref(a);
	if (out->result == LINK_LOADED)
		ctl_log("dataplane %s loaded version %lld (swap %.1f ms)", l->conf->name, (long long)v, out->swap_ms);
	else
		ctl_log("dataplane %s refused version %lld: %s", l->conf->name, (long long)v, out->detail);
}

static void set_knob(struct dp_link *l, const char *starttls, struct link_outcome *out)
{
	json_t *req = op("knob.set");
	json_object_set_new(req, "starttls", json_string(starttls));
	bool timeout;
	char err[512];
	json_t *a = exchange(l, req, NULL, 0, (int)l->ctl->conf.request_timeout_ms, NULL, NULL, &timeout,
	                     err, sizeof err);
	json_decref(req);
	if (!a) {
		snprintf(out->knob_error, sizeof out->knob_error, "starttls %s: %.200s", starttls, err);
	} else if (!json_is_true(json_object_get(a, "ok"))) {
		snprintf(out->knob_error, sizeof out->knob_error, "starttls %s: %s", starttls, rpc_error_text(a));
	} else {
		pthread_mutex_lock(&l->mu);
		if (l->hello)
			json_object_set_new(l->hello, "starttls", json_string(starttls));
		pthread_mutex_unlock(&l->mu);
	}
	json_decref(a);
}

static void converge_locked(struct dp_link *l, bool retry_refused, struct link_outcome *out)
{
	char err[512];
	bool timeout;
	memset(out, 0, sizeof *out);
	out->running = -1;
	json_t *hello = greet(l, &timeout, err, sizeof err);
	if (!hello) {
		out->result = timeout ? LINK_TIMEOUT : LINK_DOWN;
		snprintf(out->detail, sizeof out->detail, "%s", err);
		return;
	}
	json_t *bundle = json_object_get(hello, "bundle");
	json_t *id = json_object_get(bundle, "id");
	const char *digest = json_string_value(json_object_get(bundle, "digest"));
	out->running = json_is_integer(id) ? json_integer_value(id) : -1;
	struct dp_wanted w;
	ctl_wanted(l->ctl, l->conf->name, &w);
	pthread_mutex_lock(&l->mu);
	int64_t refused = l->refused;
	snprintf(out->detail, sizeof out->detail, "%s", l->error);
	pthread_mutex_unlock(&l->mu);
	/* the same id with another digest is not the same policy (a state dir started anew) */
	bool same = out->running == w.version &&
	            (!digest || !w.digest[0] || strcmp(digest, w.digest) == 0);
	if (w.version < 0) {
		out->result = LINK_NO_VERSION;
		out->detail[0] = 0;
	} else if (same) {
		out->result = LINK_RUNNING;
		out->detail[0] = 0;
	} else if (refused == w.version && !retry_refused) {
		out->result = LINK_REFUSED;
	} else {
		load_version(l, w.version, out);
	}
	const char *now = json_string_value(json_object_get(hello, "starttls"));
	if (w.starttls[0] && l->fd >= 0 && (!now || strcmp(now, w.starttls) != 0))
		set_knob(l, w.starttls, out);
	json_decref(hello);
}

/* ---- the API ----------------------------------------------------------------------- */

void link_converge(struct dp_link *l, bool retry_refused, struct link_outcome *out)
{
	pthread_mutex_lock(&l->io);
	converge_locked(l, retry_refused, out);
	pthread_mutex_unlock(&l->io);
}

static int lock_within(pthread_mutex_t *m, int ms)
{
	if (ms < 0)
		return pthread_mutex_lock(m);
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until); /* timedlock's clock */
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	return pthread_mutex_timedlock(m, &until);
}

json_t *link_request(struct dp_link *l, json_t *req, const void *body, size_t blen, int timeout_ms,
                     int lock_wait_ms, uint8_t **abody, size_t *ablen, char *err, size_t errlen)
{
	bool timeout;
	json_t *a = NULL;
	if (lock_within(&l->io, lock_wait_ms) != 0) {
		snprintf(err, errlen, "busy (a version is being loaded)");
		return NULL;
	}
	if (l->fd < 0) {
		json_t *hello = greet(l, &timeout, err, errlen);
		if (!hello)
			goto out;
		json_decref(hello);
	}
	a = exchange(l, req, body, blen, timeout_ms, abody, ablen, &timeout, err, errlen);
out:
	pthread_mutex_unlock(&l->io);
	return a;
}

static void *link_main(void *arg)
{
	struct dp_link *l = arg;
	struct link_outcome o;
	while (!atomic_load(&l->ctl->stop)) {
		/* a change in progress brings its dataplanes over itself (and reports each
		 * result); this round is skipped rather than race it to the load */
		if (pthread_mutex_trylock(&l->ctl->change_lock) == 0) {
			link_converge(l, false, &o);
			pthread_mutex_unlock(&l->ctl->change_lock);
		}
		pthread_mutex_lock(&l->mu);
		uint64_t ms = l->up ? l->ctl->conf.heartbeat_ms : l->ctl->conf.reconnect_ms;
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += (time_t)(ms / 1000);
		until.tv_nsec += (long)(ms % 1000) * 1000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		if (!atomic_load(&l->ctl->stop))
			pthread_cond_timedwait(&l->wake, &l->mu, &until);
		pthread_mutex_unlock(&l->mu);
	}
	return NULL;
}

int link_start(struct dp_link *l, struct ctl *c, const struct ctl_dp_conf *conf)
{
	memset(l, 0, sizeof *l);
	l->ctl = c;
	l->conf = conf;
	l->fd = -1;
	l->refused = -1;
	pthread_mutex_init(&l->io, NULL);
	pthread_mutex_init(&l->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->wake, &ca);
	pthread_condattr_destroy(&ca);
	snprintf(l->error, sizeof l->error, "not connected yet");
	if (pthread_create(&l->thread, NULL, link_main, l) != 0)
		return -1;
	l->thread_started = true;
	return 0;
}

void link_kick(struct dp_link *l)
{
	pthread_mutex_lock(&l->mu);
	pthread_cond_signal(&l->wake);
	pthread_mutex_unlock(&l->mu);
}

void link_stop(struct dp_link *l)
{
	if (l->thread_started) {
		link_kick(l);
		pthread_join(l->thread, NULL);
		l->thread_started = false;
	}
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	json_decref(l->hello);
	l->hello = NULL;
}

json_t *link_describe(struct dp_link *l)
{
	json_t *d = json_object();
	json_object_set_new(d, "name", json_string(l->conf->name));
	json_object_set_new(d, "socket", rpc_str(l->conf->socket));
	pthread_mutex_lock(&l->mu);
	json_object_set_new(d, "up", json_boolean(l->up));
	json_object_set_new(d, "since", json_integer((json_int_t)l->since));
	json_object_set_new(d, "error", l->up && l->refused < 0 ? json_null() : rpc_str(l->error));
	json_object_set_new(d, "hello", l->hello ? json_deep_copy(l->hello) : json_null());
	json_object_set_new(d, "loads", json_integer((json_int_t)l->loads));
	json_object_set_new(d, "load_failures", json_integer((json_int_t)l->load_failures));
	pthread_mutex_unlock(&l->mu);
	return d;
}
