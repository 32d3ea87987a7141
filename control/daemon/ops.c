/* The table of operations, hello, and the audit helpers every change uses. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../lib/rpc.h"
#include "ops.h"

static const struct {
	const char *name;
	op_handler fn;
} table[] = {
	{"hello", op_hello},
	{"rules.push", op_rules_push},
	{"rules.rollback", op_rules_rollback},
	{"rules.list", op_rules_list},
	{"rules.diff", op_rules_diff},
	{"rules.top", op_rules_top},
	{"status", op_status},
	{"stats", op_stats},
	{"flows", op_flows},
	{"events", op_events},
	{"knob.set", op_knob_set},
	{"list.get", op_protect_read},
	{"bans", op_protect_read},
	{"top.sources", op_protect_read},
	{"list.add", op_protect_change},
	{"list.del", op_protect_change},
	{"list.set", op_protect_change},
	{"bans.del", op_protect_change},
	{"pool.get", op_pool_get},
	{"pool.set", op_pool_set},
	{"pool.add", op_pool_add},
	{"pool.remove", op_pool_remove},
};

op_handler ops_find(const char *name)
{
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
		if (strcmp(table[i].name, name) == 0)
			return table[i].fn;
	return NULL;
}

json_t *op_hello(OP_ARGS)
{
	(void)body;
	(void)blen;
	(void)abody;
	json_t *a = rpc_ok(req);
	json_object_set_new(a, "name", json_string("sluice-control"));
	json_object_set_new(a, "version", json_string(SLUICE_VERSION));
	json_object_set_new(a, "pid", json_integer(getpid()));
	json_object_set_new(a, "uptime_s", json_integer((json_int_t)(time(NULL) - c->started)));
	json_object_set_new(a, "you", rpc_str(who->user));
	return a;
}

json_t *ops_audit_entry(const struct peer *who, const char *op)
{
	json_t *e = json_object();
	json_object_set_new(e, "op", json_string(op));
	json_object_set_new(e, "user", rpc_str(who->user));
	json_object_set_new(e, "uid", json_integer(who->uid));
	json_object_set_new(e, "pid", json_integer(who->pid));
	return e;
}

json_t *ops_audited(struct ctl *c, json_t *entry, json_t *answer)
{
	char err[600];
	int rc = ctl_audit(c, entry, err, sizeof err);
	json_decref(entry);
	if (rc == 0)
		return answer;
	ctl_log("AUDIT LOG FAILED: %s", err);
	json_t *a = rpc_error(answer, "the change was made but its audit record could not be written: %s", err);
	json_object_update_missing(a, answer);
	json_decref(answer);
	return a;
}
