#include "apply.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/rpc.h"

const char *apply_result_name(enum apply_result r)
{
	switch (r) {
	case APPLY_OK: return "ok";
	case APPLY_PENDING: return "pending";
	case APPLY_REFUSED: return "refused";
	case APPLY_FAILED: return "failed";
	}
	return "?";
}

int apply_targets(struct ctl *c, const json_t *req, struct dp_link **out, char *err, size_t errlen)
{
	json_t *names = json_object_get(req, "dataplanes");
	if (!names || json_is_null(names) || (json_is_array(names) && json_array_size(names) == 0)) {
		for (unsigned i = 0; i < c->nlinks; i++)
			out[i] = &c->links[i];
		return (int)c->nlinks;
	}
	if (!json_is_array(names)) {
		snprintf(err, errlen, "'dataplanes' must be a list of names");
		return -1;
	}
	int n = 0;
	size_t i;
	json_t *v;
	json_array_foreach(names, i, v) {
		struct dp_link *l = json_is_string(v) ? ctl_link(c, json_string_value(v)) : NULL;
		if (!l) {
			snprintf(err, errlen, "no dataplane named '%s' in the configuration",
			         json_is_string(v) ? json_string_value(v) : "?");
			return -1;
		}
		bool dup = false;
		for (int k = 0; k < n; k++)
			dup |= out[k] == l;
		if (!dup)
			out[n++] = l;
	}
	return n;
}

struct job {
	struct dp_link *link;
	struct link_outcome out;
	pthread_t thread;
	bool started;
};

static void *job_main(void *arg)
{
	struct job *j = arg;
	link_converge(j->link, true, &j->out);
	return NULL;
}

/* Converge every target at once: a dataplane that times out delays only its own result. */
static void converge_all(struct job *jobs, int n)
{
	for (int i = 0; i < n; i++)
		jobs[i].started = pthread_create(&jobs[i].thread, NULL, job_main, &jobs[i]) == 0;
	for (int i = 0; i < n; i++) {
		if (jobs[i].started)
			pthread_join(jobs[i].thread, NULL);
		else
			link_converge(jobs[i].link, true, &jobs[i].out);
	}
}

static json_t *outcome_json(const struct job *j)
{
	json_t *r = json_object();
	json_object_set_new(r, "dataplane", json_string(j->link->conf->name));
	json_object_set_new(r, "result", json_string(link_result_name(j->out.result)));
	json_object_set_new(r, "detail", j->out.detail[0] ? rpc_str(j->out.detail) : json_null());
	json_object_set_new(r, "running", j->out.running >= 0 ? json_integer(j->out.running) : json_null());
	if (j->out.result == LINK_LOADED) {
		json_object_set_new(r, "swap_ms", json_real(j->out.swap_ms));
		json_object_set_new(r, "confirmed", json_boolean(!j->out.unconfirmed));
	}
	if (j->out.knob_error[0])
		json_object_set_new(r, "knob_error", rpc_str(j->out.knob_error));
	return r;
}

/* knobs: only a refused knob is a refusal (a version's push reports knob errors only) */
static enum apply_result overall(const struct job *jobs, int n, bool knobs)
{
	enum apply_result r = APPLY_OK;
	for (int i = 0; i < n; i++) {
		if (knobs ? jobs[i].out.knob_error[0] != 0 : jobs[i].out.result == LINK_REFUSED)
			return APPLY_REFUSED;
		if (jobs[i].out.result == LINK_DOWN || jobs[i].out.result == LINK_TIMEOUT)
			r = APPLY_PENDING;
	}
	return r;
}

/* Set what each target should run (ids[i], or `one` for all), save state.json and the
 * targets' current/<name>.bundle; when the state cannot be saved, nothing changes. */
static int set_all_wanted(struct ctl *c, struct dp_link **t, int n, const int64_t *ids, int64_t one,
                          int64_t *was, char *err, size_t errlen)
{
	pthread_mutex_lock(&c->state_lock);
	for (int i = 0; i < n; i++) {
		was[i] = store_wanted(&c->store, t[i]->conf->name);
		store_set_wanted(&c->store, t[i]->conf->name, ids ? ids[i] : one);
	}
	int rc = store_save(&c->store, err, errlen);
	if (rc)
		for (int i = 0; i < n; i++)
			store_set_wanted(&c->store, t[i]->conf->name, was[i]);
	pthread_mutex_unlock(&c->state_lock);
	for (int i = 0; rc == 0 && i < n; i++) {
		int64_t id = ids ? ids[i] : one;
		char e2[512];
		/* a dataplane that restarts before its link catches it up starts on it */
		if (id >= 0 && store_publish(&c->store, t[i]->conf->name, id, e2, sizeof e2))
			ctl_log("cannot write the current bundle of %s: %s", t[i]->conf->name, e2);
	}
	return rc;
}

/* After a refusal: every target that took the version goes back to the one it was to
 * run before; one that had none from this control keeps it (there is nothing to go
 * back to), and says so. */
static void put_back(struct ctl *c, struct dp_link **t, int n, int64_t version, const int64_t *before,
                     struct job *jobs, json_t *results)
{
	int64_t *back_ids = calloc((size_t)n + 1, sizeof *back_ids), *ignored = calloc((size_t)n + 1, sizeof *ignored);
	struct job *back = calloc((size_t)n + 1, sizeof *back);
	char err[256];
	if (!back_ids || !ignored || !back) {
		ctl_log("out of memory putting dataplanes back after a refused version");
		goto out;
	}
	for (int i = 0; i < n; i++)
		back_ids[i] = before[i] >= 0 ? before[i] : version;
	if (set_all_wanted(c, t, n, back_ids, 0, ignored, err, sizeof err))
		ctl_log("cannot save the state after a refused version: %s", err);
	int nb = 0;
	for (int i = 0; i < n; i++)
		if (before[i] >= 0 && (jobs[i].out.result == LINK_LOADED || jobs[i].out.result == LINK_RUNNING))
			back[nb++].link = t[i];
	converge_all(back, nb);
	for (int i = 0; i < n; i++) {
		json_t *o = outcome_json(&jobs[i]);
		for (int k = 0; k < nb; k++)
			if (back[k].link == t[i]) {
				json_t *b = outcome_json(&back[k]);
				json_object_set_new(b, "to", json_integer(before[i]));
				json_object_set_new(o, "put_back", b);
			}
		if (before[i] < 0 && jobs[i].out.result == LINK_LOADED)
			json_object_set_new(o, "put_back", rpc_str("no earlier version from this control: it keeps this one"));
		json_array_append_new(results, o);
	}
out:
	free(back_ids);
	free(ignored);
	free(back);
}

enum apply_result apply_version(struct ctl *c, struct dp_link **t, int n, int64_t version,
                                json_t *results, char *err, size_t errlen)
{
	int64_t *before = calloc((size_t)n + 1, sizeof *before);
	struct job *jobs = calloc((size_t)n + 1, sizeof *jobs);
	enum apply_result r = APPLY_FAILED;
	if (!before || !jobs) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (set_all_wanted(c, t, n, NULL, version, before, err, errlen))
		goto out;
	for (int i = 0; i < n; i++)
		jobs[i].link = t[i];
	converge_all(jobs, n);
	r = overall(jobs, n, false);
	if (r == APPLY_REFUSED) {
		put_back(c, t, n, version, before, jobs, results);
	} else {
		for (int i = 0; i < n; i++)
			json_array_append_new(results, outcome_json(&jobs[i]));
	}
	for (int i = 0; i < n; i++)
		link_kick(t[i]); /* pending ones: their thread keeps trying */
out:
	free(before);
	free(jobs);
	return r;
}

enum apply_result apply_converge(struct ctl *c, struct dp_link **t, int n, json_t *results)
{
	(void)c;
	struct job *jobs = calloc((size_t)n + 1, sizeof *jobs);
	if (!jobs)
		return APPLY_FAILED;
	for (int i = 0; i < n; i++)
		jobs[i].link = t[i];
	converge_all(jobs, n);
	enum apply_result r = overall(jobs, n, true);
	for (int i = 0; i < n; i++)
		json_array_append_new(results, outcome_json(&jobs[i]));
	free(jobs);
	return r;
}
