/* rules.list and rules.diff: reading the versions kept in the state directory. */
#include <stdio.h>
#include <string.h>

#include "../lib/rpc.h"
#include "link.h"
#include "ops.h"

#define DIFF_MAX (16u << 20)

/* Which dataplanes want and run each version: {"wanted_by": [..], "running_on": [..]}. */
static void add_placement(struct ctl *c, json_t *meta)
{
	int64_t id = json_integer_value(json_object_get(meta, "id"));
	json_t *wanted = json_array(), *running = json_array();
	for (unsigned i = 0; i < c->nlinks; i++) {
		struct dp_link *l = &c->links[i];
		pthread_mutex_lock(&c->state_lock);
		int64_t w = store_wanted(&c->store, l->conf->name);
		pthread_mutex_unlock(&c->state_lock);
		if (w == id)
			json_array_append_new(wanted, json_string(l->conf->name));
		pthread_mutex_lock(&l->mu);
		json_t *rid = json_object_get(json_object_get(l->hello, "bundle"), "id");
		if (l->up && json_is_integer(rid) && json_integer_value(rid) == id)
			json_array_append_new(running, json_string(l->conf->name));
		pthread_mutex_unlock(&l->mu);
	}
	json_object_set_new(meta, "wanted_by", wanted);
	json_object_set_new(meta, "running_on", running);
}

json_t *op_rules_list(OP_ARGS)
{
	(void)who;
	(void)body;
	(void)blen;
	(void)abody;
	json_t *list = store_list(&c->store);
	if (!list)
		return rpc_error(req, "out of memory");
	size_t i;
	json_t *m;
	json_array_foreach(list, i, m)
		add_placement(c, m);
	json_t *a = rpc_ok(req);
	json_object_set_new(a, "versions", list);
	return a;
}

json_t *op_rules_diff(OP_ARGS)
{
	(void)who;
	(void)body;
	(void)blen;
	json_t *ja = json_object_get(req, "a"), *jb = json_object_get(req, "b");
	if (!json_is_integer(ja) || !json_is_integer(jb))
		return rpc_error(req, "'a' and 'b' must be version numbers");
	int64_t va = json_integer_value(ja), vb = json_integer_value(jb);
	for (int k = 0; k < 2; k++) {
		int64_t v = k ? vb : va;
		if (!store_has_version(&c->store, v))
			return rpc_error(req, "there is no version %lld (see rules list)", (long long)v);
	}
	char err[512];
	if (store_diff(&c->store, va, vb, DIFF_MAX, abody, err, sizeof err))
		return rpc_error(req, "%s", err);
	json_t *a = rpc_ok(req);
	json_object_set_new(a, "same", json_boolean(abody->len == 0));
	return a;
}
