/* pool.get, pool.set, pool.add, pool.remove: the dataplanes' mail-host pools as one
 * (docs/pool.md). Each change goes to every dataplane and is audited. */
#include <stdio.h>
#include <string.h>

#include "../lib/rpc.h"
#include "link.h"
#include "ops.h"
#include "pool.h"

json_t *op_pool_get(OP_ARGS)
{
	(void)who;
	(void)body;
	(void)blen;
	(void)abody;
	/* hosts by name: what the checks know, and each dataplane's view and counters */
	json_t *hosts = json_object(), *errors = json_object();
	for (unsigned i = 0; i < c->nlinks; i++) {
		struct dp_link *l = &c->links[i];
		char err[600];
		json_t *q = json_pack("{s:s}", "op", "pool.get");
		json_t *a = link_request(l, q, NULL, 0, (int)c->conf.request_timeout_ms, -1, NULL, NULL, err, sizeof err);
		json_decref(q);
		if (a && !json_is_true(json_object_get(a, "ok"))) {
			snprintf(err, sizeof err, "%s", rpc_error_text(a));
			json_decref(a);
			a = NULL;
		}
		if (!a) {
			json_object_set_new(errors, l->conf->name, rpc_str(err));
			continue;
		}
		size_t k;
		json_t *h;
		json_array_foreach(json_object_get(a, "hosts"), k, h) {
			const char *name = json_string_value(json_object_get(h, "name"));
			if (!name)
				continue;
			json_t *entry = json_object_get(hosts, name);
			if (!entry) {
				entry = pool_health_json(name);
				json_object_set(entry, "addresses", json_object_get(h, "addresses"));
				json_object_set_new(entry, "dataplanes", json_object());
				json_object_set_new(hosts, name, entry);
			}
			json_object_set(json_object_get(entry, "dataplanes"), l->conf->name, h);
		}
		json_decref(a);
	}
	json_t *out = rpc_ok(req);
	json_object_set_new(out, "hosts", hosts);
	json_object_set_new(out, "errors", errors);
	json_object_set_new(out, "checks", json_pack("{s:b, s:I, s:I, s:I, s:I}", "on", c->conf.pool_checks,
	                                             "interval_ms", (json_int_t)c->conf.pool_interval_ms,
	                                             "timeout_ms", (json_int_t)c->conf.pool_timeout_ms, "rise",
	                                             (json_int_t)c->conf.pool_rise, "fall",
	                                             (json_int_t)c->conf.pool_fall));
	return out;
}

/* The same request to every dataplane; one result each: {dataplane, result, detail}. */
static bool to_all(struct ctl *c, json_t *q, json_t *results)
{
	bool all = true;
	for (unsigned i = 0; i < c->nlinks; i++) {
		char err[600] = "";
		json_t *a = link_request(&c->links[i], q, NULL, 0, (int)c->conf.request_timeout_ms, -1, NULL, NULL, err,
		                         sizeof err);
		bool ok = a && json_is_true(json_object_get(a, "ok"));
		if (a && !ok)
			snprintf(err, sizeof err, "%s", rpc_error_text(a));
		all &= ok;
		json_array_append_new(results, json_pack("{s:s, s:s, s:s}", "dataplane", c->links[i].conf->name,
		                                         "result", ok ? "ok" : "error", "detail", err));
		json_decref(a);
	}
	return all;
}

static json_t *finish(struct ctl *c, const struct peer *who, json_t *req, const char *op, json_t *results, bool ok)
{
	json_t *answer = ok ? rpc_ok(req) : rpc_error(req, "%s: not every dataplane took it (see their results)", op);
	json_object_set(answer, "dataplanes", results);
	json_t *audit = ops_audit_entry(who, op);
	json_object_set(audit, "name", json_object_get(req, "name"));
	json_t *v;
	if ((v = json_object_get(req, "state")))
		json_object_set(audit, "state", v);
	if ((v = json_object_get(req, "weight")))
		json_object_set(audit, "weight", v);
	if ((v = json_object_get(req, "addresses")))
		json_object_set(audit, "addresses", v);
	json_object_set_new(audit, "result", json_string(ok ? "ok" : "failed"));
	json_object_set_new(audit, "dataplanes", results);
	return ops_audited(c, audit, answer);
}

/* pool.set: name, state (drain: no new connections; up: back in service, unless its
 * checks fail), weight. */
json_t *op_pool_set(OP_ARGS)
{
	(void)body;
	(void)blen;
	(void)abody;
	const char *name = json_string_value(json_object_get(req, "name"));
	const char *state = json_string_value(json_object_get(req, "state"));
	json_t *weight = json_object_get(req, "weight");
	if (!name || (state && strcmp(state, "drain") != 0 && strcmp(state, "up") != 0) || (!state && !weight) ||
	    (weight && (!json_is_integer(weight) || json_integer_value(weight) < 0 || json_integer_value(weight) > 1000)))
		return rpc_error(req, "pool.set: name, and state drain|up and/or a weight from 0 to 1000");
	pthread_mutex_lock(&c->change_lock);
	json_t *results = json_array();
	bool ok = true;
	char err[600];
	if ((weight && pool_set_weight(c, name, (unsigned)json_integer_value(weight), err, sizeof err)) ||
	    (state && pool_set_drained(c, name, strcmp(state, "drain") == 0, err, sizeof err))) {
		pthread_mutex_unlock(&c->change_lock);
		return rpc_error(req, "pool.set: cannot keep the change: %s", err);
	}
	if (weight) {
		json_t *q = json_pack("{s:s, s:s, s:O}", "op", "pool.set", "name", name, "weight", weight);
		ok = to_all(c, q, results);
		json_decref(q);
	}
	if (state) {
		/* back in service: up, unless its checks fail (then down, and up when they pass) */
		json_t *h = pool_health_json(name);
		if (strcmp(state, "up") == 0 && strcmp(json_string_value(json_object_get(h, "health")), "down") == 0)
			state = "down";
		json_decref(h);
		json_t *q = json_pack("{s:s, s:s, s:s}", "op", "pool.set", "name", name, "state", state);
		ok &= to_all(c, q, results);
		json_decref(q);
	}
	json_t *answer = finish(c, who, req, "pool.set", results, ok);
	pthread_mutex_unlock(&c->change_lock);
	return answer;
}

/* pool.add: name, addresses, weight: a new host on every dataplane. */
json_t *op_pool_add(OP_ARGS)
{
	(void)body;
	(void)blen;
	(void)abody;
	const char *name = json_string_value(json_object_get(req, "name"));
	json_t *addrs = json_object_get(req, "addresses"), *weight = json_object_get(req, "weight");
	if (!name || !json_is_array(addrs) || (weight && !json_is_integer(weight)))
		return rpc_error(req, "pool.add: name, addresses [..] and an integer weight");
	pthread_mutex_lock(&c->change_lock);
	json_t *q = json_pack("{s:s, s:s, s:O}", "op", "pool.add", "name", name, "addresses", addrs);
	if (weight)
		json_object_set(q, "weight", weight);
	json_t *results = json_array();
	bool ok = to_all(c, q, results);
	json_decref(q);
	char err[600];
	if (ok && pool_set_added(c, name, addrs, weight ? (unsigned)json_integer_value(weight) : 100, err, sizeof err)) {
		json_array_append_new(results, json_pack("{s:s, s:s, s:s}", "dataplane", "-", "result", "error", "detail",
		                                         err)); /* added, but not kept for a restart */
		ok = false;
	}
	json_t *answer = finish(c, who, req, "pool.add", results, ok);
	pthread_mutex_unlock(&c->change_lock);
	return answer;
}

/* pool.remove: name. Its connections finish on it (each flow holds its host); drain it
 * first so that none start meanwhile. */
json_t *op_pool_remove(OP_ARGS)
{
	(void)body;
	(void)blen;
	(void)abody;
	const char *name = json_string_value(json_object_get(req, "name"));
	if (!name)
		return rpc_error(req, "pool.remove: name");
	pthread_mutex_lock(&c->change_lock);
	json_t *q = json_pack("{s:s, s:s}", "op", "pool.remove", "name", name);
	json_t *results = json_array();
	bool ok = to_all(c, q, results);
	json_decref(q);
	char err[600];
	if (ok && pool_set_removed(c, name, err, sizeof err)) {
		json_array_append_new(results, json_pack("{s:s, s:s, s:s}", "dataplane", "-", "result", "error", "detail",
		                                         err));
		ok = false;
	}
	json_t *answer = finish(c, who, req, "pool.remove", results, ok);
	pthread_mutex_unlock(&c->change_lock);
	return answer;
}
