/* rules.push and rules.rollback: the two ways the policy changes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/rpc.h"
#include "apply.h"
#include "ops.h"
#include "sluice/bundlesig.h"
#include "sluice/policy.h"

#define MAX_FILES 1000
#define MAX_COMMENT 1000

/* The files of a push: "files": [{"name", "size"}, ...] in the order of their bytes in
 * the body, the rules file first. */
static struct sl_policy_file *parse_files(const json_t *req, const uint8_t *body, size_t blen,
                                          size_t *n, char *err, size_t errlen)
{
	json_t *list = json_object_get(req, "files");
	if (!json_is_array(list) || json_array_size(list) == 0 || json_array_size(list) > MAX_FILES) {
		snprintf(err, errlen, "'files' must list 1 to %d files", MAX_FILES);
		return NULL;
	}
	*n = json_array_size(list);
	struct sl_policy_file *f = calloc(*n, sizeof *f);
	if (!f) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	size_t off = 0, i;
	json_t *e;
	json_array_foreach(list, i, e) {
		const char *name = json_string_value(json_object_get(e, "name"));
		json_t *size = json_object_get(e, "size");
		if (!name || !store_valid_file_name(name)) {
			snprintf(err, errlen, "file '%.300s': a pushed policy names its lists relative to its own "
			         "directory, without '.' or '..' parts", name ? name : "?");
			goto fail;
		}
		for (size_t k = 0; k < i; k++)
			if (strcmp(f[k].name, name) == 0) {
				snprintf(err, errlen, "file '%s' sent twice", name);
				goto fail;
			}
		if (!json_is_integer(size) || json_integer_value(size) < 0 ||
		    (size_t)json_integer_value(size) > blen - off) {
			snprintf(err, errlen, "file '%s': its size does not fit the body", name);
			goto fail;
		}
		f[i].name = name;
		f[i].data = body + off;
		f[i].len = (size_t)json_integer_value(size);
		off += f[i].len;
	}
	if (off != blen) {
		snprintf(err, errlen, "the body has %zu bytes the file list does not account for", blen - off);
		goto fail;
	}
	return f;
fail:
	free(f);
	return NULL;
}

static json_t *diag_json(const struct sl_policy_diag *d)
{
	json_t *j = json_object();
	json_object_set_new(j, "file", rpc_str(d->file));
	json_object_set_new(j, "line", json_integer(d->line));
	json_object_set_new(j, "col", json_integer(d->col));
	json_object_set_new(j, "message", rpc_str(d->msg));
	return j;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = 0;
}

/* The compiled policy as a signed bundle of version `id`. */
static int sign_bundle(struct ctl *c, const struct sl_policy *p, int64_t id, struct sl_strbuf *signed_out,
                       size_t *raw_len, char *err, size_t errlen)
{
	char tmp[CTL_PATH_MAX + 64];
	snprintf(tmp, sizeof tmp, "%s/versions/.new-bundle", c->store.dir);
	struct sl_policy_diag d;
	if (sl_policy_save(p, tmp, &d) != 0) {
		struct sl_strbuf b;
		sl_strbuf_init(&b);
		sl_policy_diag_format(&d, &b);
		snprintf(err, errlen, "cannot write the bundle: %s", b.s);
		sl_strbuf_free(&b);
		unlink(tmp);
		return -1;
	}
	uint8_t *raw = sl_read_file(tmp, raw_len);
	unlink(tmp);
	if (!raw) {
		snprintf(err, errlen, "cannot read the bundle back: %s", strerror(errno));
		return -1;
	}
	int rc = sl_bundlesig_sign(raw, *raw_len, (uint64_t)id, c->conf.private_key, signed_out, err, errlen);
	free(raw);
	return rc;
}

/* The version the targets should run now when they agree (-1: none, or they differ). */
static int64_t common_wanted(struct ctl *c, struct dp_link **t, int n, bool *agree)
{
	int64_t v = -1;
	*agree = true;
	pthread_mutex_lock(&c->state_lock);
	for (int i = 0; i < n; i++) {
		int64_t w = store_wanted(&c->store, t[i]->conf->name);
		if (i == 0)
			v = w;
		else if (w != v)
			*agree = false;
	}
	pthread_mutex_unlock(&c->state_lock);
	return *agree ? v : -1;
}

static const char *comment_of(const json_t *req, char *err, size_t errlen)
{
	json_t *c = json_object_get(req, "comment");
	if (!c || json_is_null(c))
		return "";
	if (!json_is_string(c) || json_string_length(c) > MAX_COMMENT) {
		snprintf(err, errlen, "'comment' must be text of at most %d bytes", MAX_COMMENT);
		return NULL;
	}
	return json_string_value(c);
}

/* What every change names: its comment and its targets (their count, or -1 with err). */
static int change_args(struct ctl *c, const json_t *req, const char **comment, struct dp_link **targets,
                       char *err, size_t errlen)
{
	*comment = comment_of(req, err, errlen);
	return *comment ? apply_targets(c, req, targets, err, errlen) : -1;
}

/* The answer and the audit record of a version put on the targets. */
static json_t *report(struct ctl *c, json_t *req, json_t *audit, enum apply_result r, int64_t id,
                      json_t *results, const char *err, bool push)
{
	json_t *a;
	if (r == APPLY_FAILED) {
		a = rpc_error(req, "nothing changed: %s", err);
	} else if (r == APPLY_REFUSED) {
		char why[700] = "";
		size_t i;
		json_t *o;
		json_array_foreach(results, i, o)
			if (strcmp(json_string_value(json_object_get(o, "result")), "refused") == 0 && !why[0]) {
				const char *detail = json_string_value(json_object_get(o, "detail"));
				snprintf(why, sizeof why, "dataplane %s refused version %lld: %s",
				         json_string_value(json_object_get(o, "dataplane")), (long long)id,
				         detail ? detail : "no reason given");
			}
		a = rpc_error(req, "%s; the dataplanes were put back on the version they ran before", why);
	} else {
		a = rpc_ok(req);
	}
	json_object_set_new(a, "result", json_string(apply_result_name(r)));
	json_object_set_new(a, "version", json_integer(id));
	json_object_set(a, "dataplanes", results);
	json_object_set_new(audit, "result", json_string(apply_result_name(r)));
	json_object_set(audit, "dataplanes", results);
	if (push)
		atomic_fetch_add(r == APPLY_OK ? &c->pushes_ok : r == APPLY_PENDING ? &c->pushes_pending :
		                 &c->pushes_refused, 1);
	return ops_audited(c, audit, a);
}

json_t *op_rules_push(OP_ARGS)
{
	(void)abody;
	char err[1024];
	size_t nfiles;
	struct dp_link *targets[CTL_MAX_DATAPLANES];
	const char *comment;
	int nt = change_args(c, req, &comment, targets, err, sizeof err);
	if (nt < 0)
		return rpc_error(req, "%s", err);
	struct sl_policy_file *files = parse_files(req, body, blen, &nfiles, err, sizeof err);
	if (!files)
		return rpc_error(req, "%s", err);

	pthread_mutex_lock(&c->change_lock);
	json_t *audit = ops_audit_entry(who, "rules.push");
	json_object_set_new(audit, "comment", rpc_str(comment));
	json_t *answer;
	struct sl_policy_diag d;
	struct sl_policy *p = sl_policy_compile_files(files, nfiles, &d);
	if (!p) {
		struct sl_strbuf b;
		sl_strbuf_init(&b);
		sl_policy_diag_format(&d, &b);
		answer = rpc_error(req, "the policy does not compile: %s; the running version stays", b.s);
		json_object_set_new(answer, "result", json_string("not compiled"));
		json_object_set_new(answer, "diag", diag_json(&d));
		json_object_set_new(audit, "result", json_string("not compiled"));
		json_object_set_new(audit, "diag", diag_json(&d));
		sl_strbuf_free(&b);
		atomic_fetch_add(&c->pushes_not_compiled, 1);
		answer = ops_audited(c, audit, answer);
		goto out;
	}
	struct sl_policy_info info;
	sl_policy_info(p, &info);
	struct sl_strbuf signed_bundle;
	sl_strbuf_init(&signed_bundle);
	size_t raw_len = 0;
	/* the id is signed with the bundle; only this thread (change_lock) adds versions */
	pthread_mutex_lock(&c->state_lock);
	int64_t next = store_next_id(&c->store);
	pthread_mutex_unlock(&c->state_lock);
	if (sign_bundle(c, p, next, &signed_bundle, &raw_len, err, sizeof err)) {
		answer = rpc_error(req, "nothing changed: %s", err);
		sl_strbuf_free(&signed_bundle);
		sl_policy_unref(p);
		json_decref(audit);
		goto out;
	}
	char digest[65], when[40];
	hex(info.digest, sizeof info.digest, digest);
	audit_now(when, sizeof when);
	bool agree;
	int64_t parent = common_wanted(c, targets, nt, &agree);
	json_t *meta = json_object();
	json_t *names = json_array();
	for (size_t i = 0; i < nfiles; i++)
		json_array_append_new(names, json_string(files[i].name));
	json_object_set_new(meta, "digest", json_string(digest));
	json_object_set_new(meta, "author", rpc_str(who->user));
	json_object_set_new(meta, "uid", json_integer(who->uid));
	json_object_set_new(meta, "time", json_string(when));
	json_object_set_new(meta, "comment", rpc_str(comment));
	json_object_set_new(meta, "parent", parent >= 0 ? json_integer(parent) : json_null());
	json_object_set_new(meta, "policy", json_string(files[0].name));
	json_object_set_new(meta, "files", names);
	json_object_set_new(meta, "rules", json_integer((json_int_t)info.rules));
	json_object_set_new(meta, "compile_seconds", json_real(info.compile_seconds));
	json_object_set_new(meta, "bundle_bytes", json_integer((json_int_t)raw_len));
	json_object_set_new(meta, "signed_bytes", json_integer((json_int_t)signed_bundle.len));
	sl_policy_unref(p);
	int64_t id;
	pthread_mutex_lock(&c->state_lock);
	int rc = store_add_version(&c->store, files, nfiles, (const uint8_t *)signed_bundle.s,
	                           signed_bundle.len, meta, &id, err, sizeof err);
	pthread_mutex_unlock(&c->state_lock);
	sl_strbuf_free(&signed_bundle);
	if (rc) {
		answer = rpc_error(req, "nothing changed: cannot store the version: %s", err);
		json_decref(meta);
		json_decref(audit);
		goto out;
	}
	json_object_set_new(audit, "version", json_integer(id));
	json_object_set_new(audit, "digest", json_string(digest));
	json_t *results = json_array();
	enum apply_result r = apply_version(c, targets, nt, id, results, err, sizeof err);
	answer = report(c, req, audit, r, id, results, err, true);
	json_object_set_new(answer, "meta", meta);
	json_decref(results);
out:
	pthread_mutex_unlock(&c->change_lock);
	free(files);
	return answer;
}

json_t *op_rules_rollback(OP_ARGS)
{
	(void)body;
	(void)blen;
	(void)abody;
	char err[1024];
	struct dp_link *targets[CTL_MAX_DATAPLANES];
	const char *comment;
	int nt = change_args(c, req, &comment, targets, err, sizeof err);
	if (nt < 0)
		return rpc_error(req, "%s", err);
	json_t *want = json_object_get(req, "id");
	if (want && !json_is_null(want) && (!json_is_integer(want) || json_integer_value(want) <= 0))
		return rpc_error(req, "'id' must be a version number");

	pthread_mutex_lock(&c->change_lock);
	json_t *answer;
	bool agree;
	int64_t from = common_wanted(c, targets, nt, &agree), to;
	if (json_is_integer(want)) {
		to = json_integer_value(want);
	} else if (!agree) {
		answer = rpc_error(req, "the dataplanes run different versions: name the version to go back to");
		goto out;
	} else if (from < 0) {
		answer = rpc_error(req, "no version was pushed yet: nothing to roll back");
		goto out;
	} else {
		json_t *m = store_meta(&c->store, from);
		json_t *parent = json_object_get(m, "parent");
		to = json_is_integer(parent) ? json_integer_value(parent) : -1;
		json_decref(m);
		if (to < 0) {
			answer = rpc_error(req, "version %lld has no earlier version to go back to", (long long)from);
			goto out;
		}
	}
	if (!store_has_version(&c->store, to)) {
		answer = rpc_error(req, "there is no version %lld (see rules list)", (long long)to);
		goto out;
	}
	json_t *audit = ops_audit_entry(who, "rules.rollback");
	json_object_set_new(audit, "comment", rpc_str(comment));
	json_object_set_new(audit, "from", agree && from >= 0 ? json_integer(from) : json_null());
	json_object_set_new(audit, "version", json_integer(to));
	json_t *results = json_array();
	enum apply_result r = apply_version(c, targets, nt, to, results, err, sizeof err);
	atomic_fetch_add(&c->rollbacks, 1);
	answer = report(c, req, audit, r, to, results, err, false);
	json_object_set_new(answer, "from", agree && from >= 0 ? json_integer(from) : json_null());
	json_decref(results);
out:
	pthread_mutex_unlock(&c->change_lock);
	return answer;
}
