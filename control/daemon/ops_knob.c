/* knob.set: the runtime knobs a dataplane may change without a restart (STARTTLS policy
 * for new flows). What is set is kept in state.json and set again on a dataplane that
 * restarts. */
#include <stdio.h>
#include <string.h>

#include "../lib/rpc.h"
#include "apply.h"
#include "ops.h"

json_t *op_knob_set(OP_ARGS)
{
	(void)body;
	(void)blen;
	(void)abody;
	static const char *const starttls_values[] = {"allow", "strip", "block", NULL};
	const char *v = json_string_value(json_object_get(req, "starttls"));
	bool known = false;
	for (int i = 0; v && starttls_values[i]; i++)
		known |= strcmp(v, starttls_values[i]) == 0;
	if (!known)
		return rpc_error(req, "knob.set: 'starttls' must be allow, strip or block (the only knob so far)");
	struct dp_link *t[CTL_MAX_DATAPLANES];
	char err[600];
	int n = apply_targets(c, req, t, err, sizeof err);
	if (n < 0)
		return rpc_error(req, "%s", err);

	pthread_mutex_lock(&c->change_lock);
	json_t *answer;
	pthread_mutex_lock(&c->state_lock);
	for (int i = 0; i < n; i++)
		store_set_knob(&c->store, t[i]->conf->name, "starttls", v);
	int rc = store_save(&c->store, err, sizeof err);
	pthread_mutex_unlock(&c->state_lock);
	if (rc) {
		answer = rpc_error(req, "cannot save the state: %s", err);
		goto out;
	}
	json_t *results = json_array();
	enum apply_result r = apply_converge(c, t, n, results);
	answer = r == APPLY_REFUSED ? rpc_error(req, "a dataplane refused the knob (see its result)") : rpc_ok(req);
	json_object_set_new(answer, "result", json_string(apply_result_name(r)));
	json_object_set(answer, "dataplanes", results);
	json_t *audit = ops_audit_entry(who, "knob.set");
	json_object_set_new(audit, "starttls", json_string(v));
	json_object_set_new(audit, "result", json_string(apply_result_name(r)));
	json_object_set_new(audit, "dataplanes", results);
	atomic_fetch_add(&c->knob_changes, 1);
	answer = ops_audited(c, audit, answer);
out:
	pthread_mutex_unlock(&c->change_lock);
	return answer;
}
