/* The dataplanes' protection (docs/protection.md): allow and block lists, bans, top
 * sources. Reads (list.get, bans, top.sources) are asked of every target and answered per
 * dataplane; changes (list.add, list.del, list.set, bans.del) go to every target under
 * the change lock and are audited. sluice-control does not keep them: a dataplane that
 * restarts starts from its list files ([protect] allow_file, block_file), and one that is
 * down misses the change (its result says so). */
#include <stdio.h>
#include <string.h>

#include "../lib/rpc.h"
#include "apply.h"
#include "link.h"
#include "ops.h"

/* The request's members a dataplane's op takes (the others are sluice-control's). */
static json_t *forwarded(const json_t *req)
{
	static const char *const keys[] = {"list", "prefixes", "for", "comment", "sources", "by",
	                                   "limit", "level", NULL};
	json_t *f = json_object();
	for (int i = 0; keys[i]; i++) {
		json_t *v = json_object_get(req, keys[i]);
		if (v)
			json_object_set(f, keys[i], v);
	}
	return f;
}

json_t *op_protect_read(OP_ARGS)
{
	(void)who;
	(void)body;
	(void)blen;
	(void)abody;
	json_t *f = forwarded(req);
	json_t *a = ops_ask_all(c, req, json_string_value(json_object_get(req, "op")), f, NULL);
	json_decref(f);
	return a;
}

json_t *op_protect_change(OP_ARGS)
{
	(void)abody;
	const char *op = json_string_value(json_object_get(req, "op"));
	struct dp_link *t[CTL_MAX_DATAPLANES];
	char err[600];
	int n = apply_targets(c, req, t, err, sizeof err);
	if (n < 0)
		return rpc_error(req, "%s", err);
	json_t *f = forwarded(req);
	json_object_set_new(f, "op", json_string(op));
	pthread_mutex_lock(&c->change_lock);
	json_t *results = json_array();
	int changed = 0, refused = 0;
	for (int i = 0; i < n; i++) {
		json_t *a = link_request(t[i], f, body, blen, (int)c->conf.request_timeout_ms, -1, NULL, NULL,
		                         err, sizeof err);
		json_t *r = json_pack("{s:s}", "dataplane", t[i]->conf->name);
		if (!a) {
			json_object_set_new(r, "result", json_string("down"));
			json_object_set_new(r, "detail", rpc_str(err));
		} else if (!json_is_true(json_object_get(a, "ok"))) {
			json_object_set_new(r, "result", json_string("refused"));
			json_object_set_new(r, "detail", rpc_str(rpc_error_text(a)));
			refused++;
		} else {
			json_object_del(a, "req");
			json_object_del(a, "ok");
			json_object_set_new(r, "result", json_string("changed"));
			json_object_set(r, "answer", a);
			changed++;
		}
		json_decref(a);
		json_array_append_new(results, r);
	}
	json_t *answer = changed == n ? rpc_ok(req) :
	                 rpc_error(req, "%s: %d of %d dataplanes %s", op, n - changed, n,
	                           refused ? "refused the change" : "did not answer (they do not get it later)");
	json_object_set(answer, "dataplanes", results);
	json_t *audit = ops_audit_entry(who, op);
	json_object_update(audit, f);
	json_object_del(audit, "op");
	json_object_set_new(audit, "op", json_string(op));
	if (blen)
		json_object_set_new(audit, "body_bytes", json_integer((json_int_t)blen));
	json_object_set_new(audit, "dataplanes", results);
	answer = ops_audited(c, audit, answer);
	pthread_mutex_unlock(&c->change_lock);
	json_decref(f);
	return answer;
}
