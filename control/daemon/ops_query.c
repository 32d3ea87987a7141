/* status, stats, flows, rules.top and events: reading the dataplanes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/rpc.h"
#include "apply.h"
#include "link.h"
#include "ops.h"
#include "tail.h"

#define EVENTS_MAX_LINES 10000
#define EVENTS_MAX_BYTES (4u << 20)

static json_t *op_named(const char *name)
{
	json_t *r = json_object();
	json_object_set_new(r, "op", json_string(name));
	return r;
}

/* Ask one dataplane `req`: its answer without req/ok, or NULL with the reason in err. */
static json_t *ask(struct ctl *c, struct dp_link *l, json_t *req, char *err, size_t errlen)
{
	json_t *a = link_request(l, req, NULL, 0, (int)c->conf.request_timeout_ms, -1, NULL, NULL, err, errlen);
	if (!a)
		return NULL;
	if (!json_is_true(json_object_get(a, "ok"))) {
		snprintf(err, errlen, "%s", rpc_error_text(a));
		json_decref(a);
		return NULL;
	}
	json_object_del(a, "req");
	json_object_del(a, "ok");
	return a;
}

json_t *ops_ask_all(struct ctl *c, json_t *req, const char *opname, json_t *fields, const char *member)
{
	struct dp_link *t[CTL_MAX_DATAPLANES];
	char err[600];
	int n = apply_targets(c, req, t, err, sizeof err);
	if (n < 0)
		return rpc_error(req, "%s", err);
	json_t *answers = json_object(), *errors = json_object();
	for (int i = 0; i < n; i++) {
		json_t *q = op_named(opname);
		if (fields)
			json_object_update(q, fields);
		json_t *a = ask(c, t[i], q, err, sizeof err);
		json_decref(q);
		if (a && member) {
			json_t *m = json_incref(json_object_get(a, member));
			json_decref(a);
			a = m;
			if (!a)
				snprintf(err, sizeof err, "its answer has no '%s'", member);
		}
		if (a)
			json_object_set_new(answers, t[i]->conf->name, a);
		else
			json_object_set_new(errors, t[i]->conf->name, rpc_str(err));
	}
	json_t *out = rpc_ok(req);
	json_object_set_new(out, "dataplanes", answers);
	json_object_set_new(out, "errors", errors);
	return out;
}

json_t *op_status(OP_ARGS)
{
	(void)who;
	(void)body;
	(void)blen;
	(void)abody;
	char err[600];
	json_t *dps = json_array();
	for (unsigned i = 0; i < c->nlinks; i++) {
		struct dp_link *l = &c->links[i];
		struct dp_wanted w;
		ctl_wanted(c, l->conf->name, &w);
		json_t *q = op_named("stats");
		json_t *stats = ask(c, l, q, err, sizeof err);
		json_decref(q);
		json_t *d = link_describe(l); /* after the request: the freshest we know */
		json_object_set_new(d, "wanted", w.version >= 0 ? json_integer(w.version) : json_null());
		json_object_set_new(d, "wanted_digest", w.digest[0] ? json_string(w.digest) : json_null());
		json_object_set_new(d, "starttls_wanted", w.starttls[0] ? json_string(w.starttls) : json_null());
		json_t *ports = json_object_get(json_object_get(stats, "stats"), "ports");
		json_object_set_new(d, "ports", ports ? json_incref(ports) : json_null());
		json_decref(stats);
		json_array_append_new(dps, d);
	}
	uint64_t lines;
	const char *head;
	pthread_mutex_lock(&c->state_lock);
	store_audit_head(&c->store, &lines, &head);
	json_t *ctl = json_object();
	json_object_set_new(ctl, "pid", json_integer(getpid()));
	json_object_set_new(ctl, "uptime_s", json_integer((json_int_t)(time(NULL) - c->started)));
	json_object_set_new(ctl, "state", rpc_str(c->store.dir));
	json_object_set_new(ctl, "audit_lines", json_integer((json_int_t)lines));
	json_object_set_new(ctl, "next_version", json_copy(json_object_get(c->store.state, "next_id")));
	pthread_mutex_unlock(&c->state_lock);
	json_t *a = rpc_ok(req);
	json_object_set_new(a, "control", ctl);
	json_object_set_new(a, "dataplanes", dps);
	return a;
}

json_t *op_stats(OP_ARGS)
{
	(void)who;
	(void)body;
	(void)blen;
	(void)abody;
	return ops_ask_all(c, req, "stats", NULL, "stats");
}

json_t *op_flows(OP_ARGS)
{
	(void)who;
	(void)body;
	(void)blen;
	(void)abody;
	json_t *fields = json_object();
	json_t *n = json_object_get(req, "n");
	if (json_is_integer(n))
		json_object_set(fields, "top", n); /* sluice-dp's name for it */
	json_t *a = ops_ask_all(c, req, "flows", fields, NULL);
	json_decref(fields);
	return a;
}

struct rule_total {
	const char *id;
	json_int_t hits;
};

static int by_hits(const void *x, const void *y)
{
	const struct rule_total *a = x, *b = y;
	if (a->hits != b->hits)
		return a->hits < b->hits ? 1 : -1;
	return strcmp(a->id, b->id);
}

json_t *op_rules_top(OP_ARGS)
{
	json_int_t top = json_integer_value(json_object_get(req, "n"));
	if (top <= 0)
		top = 10;
	json_t *stats = op_stats(c, who, req, body, blen, abody);
	if (!json_is_true(json_object_get(stats, "ok")))
		return stats;
	/* hits per rule over the dataplanes that answered, and each one's share */
	json_t *sum = json_object(), *by = json_object();
	const char *dp;
	json_t *s;
	json_object_foreach(json_object_get(stats, "dataplanes"), dp, s) {
		const char *rule;
		json_t *count;
		json_object_foreach(json_object_get(s, "rules"), rule, count) {
			json_int_t v = json_integer_value(count);
			json_object_set_new(sum, rule, json_integer(json_integer_value(json_object_get(sum, rule)) + v));
			json_t *per = json_object_get(by, rule);
			if (!per) {
				per = json_object();
				json_object_set_new(by, rule, per);
			}
			json_object_set_new(per, dp, json_integer(v));
		}
	}
	size_t n = json_object_size(sum), k = 0;
	struct rule_total *t = calloc(n + 1, sizeof *t);
	json_t *list = json_array();
	if (t) {
		const char *rule;
		json_t *count;
		json_object_foreach(sum, rule, count)
			t[k++] = (struct rule_total){rule, json_integer_value(count)};
		qsort(t, k, sizeof *t, by_hits);
		for (size_t i = 0; i < k && (json_int_t)i < top; i++) {
			json_t *e = json_object();
			json_object_set_new(e, "rule", json_string(t[i].id));
			json_object_set_new(e, "hits", json_integer(t[i].hits));
			json_object_set(e, "dataplanes", json_object_get(by, t[i].id));
			json_array_append_new(list, e);
		}
	}
	free(t);
	json_t *a = rpc_ok(req);
	json_object_set_new(a, "rules", list);
	json_object_set(a, "errors", json_object_get(stats, "errors"));
	json_decref(sum);
	json_decref(by);
	json_decref(stats);
	return a;
}

json_t *op_events(OP_ARGS)
{
	(void)who;
	(void)body;
	(void)blen;
	json_int_t n = json_integer_value(json_object_get(req, "n"));
	if (n <= 0)
		n = 20;
	if (n > EVENTS_MAX_LINES)
		n = EVENTS_MAX_LINES;
	struct dp_link *t[CTL_MAX_DATAPLANES];
	char err[600];
	int nt = apply_targets(c, req, t, err, sizeof err);
	if (nt < 0)
		return rpc_error(req, "%s", err);
	/* the body: each dataplane's last lines in turn (each event names its dataplane) */
	json_t *logs = json_object(), *errors = json_object();
	for (int i = 0; i < nt; i++) {
		json_t *q = op_named("hello");
		json_t *hello = ask(c, t[i], q, err, sizeof err);
		json_decref(q);
		const char *path = json_string_value(json_object_get(hello, "events"));
		long got = -1;
		if (!hello)
			;
		else if (!path || !*path)
			snprintf(err, sizeof err, "its hello names no event log (no [events] file in its configuration?)");
		else
			got = tail_lines(path, (unsigned)n, EVENTS_MAX_BYTES / (size_t)nt, abody, err, sizeof err);
		if (got >= 0) {
			json_t *e = json_object();
			json_object_set_new(e, "path", rpc_str(path));
			json_object_set_new(e, "lines", json_integer(got));
			json_object_set_new(logs, t[i]->conf->name, e);
		} else {
			json_object_set_new(errors, t[i]->conf->name, rpc_str(err));
		}
		json_decref(hello);
	}
	json_t *a = rpc_ok(req);
	json_object_set_new(a, "dataplanes", logs);
	json_object_set_new(a, "errors", errors);
	return a;
}
