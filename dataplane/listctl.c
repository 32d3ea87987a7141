#include "listctl.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>

#include "control.h"
#include "pipeline/inspect.h"
#include "worker.h"

#define TOP_MAX 1000

struct dp_listctl {
	const struct dp_config *cfg;
	struct dp_worker *workers;
	unsigned nworkers;
	struct dp_control *ctl;
	struct dp_list_entry *e;       /* prefixes unique */
	size_t n;
	struct dp_pardon *pardons;
	size_t npardons;
	uint64_t version;
	time_t last_tick;
};

uint64_t dp_worker_clock_ms(void)
{
	return rte_rdtsc() / (rte_get_tsc_hz() / 1000);
}

struct dp_listctl *dp_listctl_new(const struct dp_config *cfg, struct dp_worker *workers, unsigned n)
{
	struct dp_listctl *l = calloc(1, sizeof *l);
	if (!l)
		return NULL;
	l->cfg = cfg;
	l->workers = workers;
	l->nworkers = n;
	return l;
}

void dp_listctl_free(struct dp_listctl *l)
{
	if (!l)
		return;
	free(l->e);
	free(l->pardons);
	free(l);
}

void dp_listctl_set_publisher(struct dp_listctl *l, struct dp_control *c)
{
	l->ctl = c;
}

void dp_listctl_info(struct dp_listctl *l, uint64_t *version, size_t *entries)
{
	*version = l->version;
	*entries = l->n;
}

int dp_listctl_load_files(struct dp_listctl *l, char *err, size_t errlen)
{
	const struct dp_protect_config *p = &l->cfg->protect;
	uint64_t now = (uint64_t)time(NULL);
	if (p->allow_file[0] &&
	    dp_list_file_read(p->allow_file, DP_LIST_KIND_ALLOW, now, &l->e, &l->n, err, errlen) != 0)
		return -1;
	if (p->block_file[0] &&
	    dp_list_file_read(p->block_file, DP_LIST_KIND_BLOCK, now, &l->e, &l->n, err, errlen) != 0)
		return -1;
	l->n = dp_list_dedupe(l->e, l->n);
	if (l->n > p->max_list_entries) {
		snprintf(err, errlen, "the lists hold %zu prefixes; [protect] max_list_entries is %u",
		         l->n, p->max_list_entries);
		return -1;
	}
	return 0;
}

struct dp_list_snapshot *dp_listctl_snapshot(struct dp_listctl *l, char *err, size_t errlen)
{
	return dp_lpm_build(l->e, l->n, l->pardons, l->npardons, ++l->version, err, errlen);
}

/* ---- answers ---------------------------------------------------------------------------- */

json_t *dp_ctl_failure(const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

/* Make the change live: a new snapshot, published to every worker. On failure the
 * entries are restored by the caller from its copy. */
static json_t *publish(struct dp_listctl *l, json_t *ans)
{
	char err[512];
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct dp_list_snapshot *s = dp_listctl_snapshot(l, err, sizeof err);
	if (!s) {
		json_decref(ans);
		return dp_ctl_failure("lists not changed: %s", err);
	}
	bool confirmed = dp_control_publish_lists(l->ctl, s);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	/* published either way: a stalled worker takes it at its next loop (as bundle.load) */
	json_object_set_new(ans, "confirmed", json_boolean(confirmed));
	if (!confirmed)
		json_object_set_new(ans, "note", json_string("published, but not every worker took it yet"));
	json_object_set_new(ans, "version", json_integer((json_int_t)l->version));
	json_object_set_new(ans, "swap_ms", json_real(ms));
	return ans;
}

/* Keep a copy to put back when the change cannot be published. */
struct saved {
	struct dp_list_entry *e;
	size_t n;
};

static bool save(const struct dp_listctl *l, struct saved *s)
{
	s->n = l->n;
	s->e = l->n ? malloc(l->n * sizeof *l->e) : NULL;
	if (l->n && !s->e)
		return false;
	if (l->n)
		memcpy(s->e, l->e, l->n * sizeof *l->e);
	return true;
}

static json_t *publish_or_restore(struct dp_listctl *l, struct saved *s, json_t *ans)
{
	json_t *r = publish(l, ans);
	if (json_is_true(json_object_get(r, "ok")) || !s->e) {
		free(s->e);
		return r;
	}
	free(l->e);
	l->e = s->e;
	l->n = s->n;
	return r;
}

static json_t *entry_json(const struct dp_list_entry *e)
{
	char pfx[64];
	dp_prefix_format(&e->pfx, pfx, sizeof pfx);
	json_t *o = json_pack("{s:s, s:s, s:I}", "prefix", pfx, "list", dp_list_kind_name(e->kind),
	                      "added", (json_int_t)e->added_unix);
	json_object_set_new(o, "expires", e->until_unix ? json_integer((json_int_t)e->until_unix) : json_null());
	json_object_set_new(o, "comment", json_string(e->comment));
	return o;
}

static int kind_of(json_t *req, bool required, enum dp_list_kind *k)
{
	const char *s = json_string_value(json_object_get(req, "list"));
	if (!s)
		return required ? -1 : 1;
	return dp_list_kind_parse(s, k);
}

static json_t *op_get(struct dp_listctl *l, json_t *req)
{
	enum dp_list_kind k;
	int rc = kind_of(req, false, &k);
	if (rc < 0)
		return dp_ctl_failure("list.get: list must be allow or block");
	uint64_t now = (uint64_t)time(NULL);
	json_t *arr = json_array();
	for (size_t i = 0; i < l->n; i++)
		if ((rc == 1 || l->e[i].kind == k) && (!l->e[i].until_unix || l->e[i].until_unix > now))
			json_array_append_new(arr, entry_json(&l->e[i]));
	return json_pack("{s:b, s:I, s:I, s:I, s:o}", "ok", 1, "version", (json_int_t)l->version,
	                 "count", (json_int_t)json_array_size(arr), "max",
	                 (json_int_t)l->cfg->protect.max_list_entries, "entries", arr);
}

/* The prefixes of a request ("prefixes": [..]): parsed into out (n of them), or an error. */
static json_t *prefixes_of(json_t *req, const char *op, struct dp_prefix **out, size_t *n)
{
	json_t *a = json_object_get(req, "prefixes");
	if (!json_is_array(a) || !json_array_size(a))
		return dp_ctl_failure("%s: \"prefixes\" must be a non-empty array of addresses or prefixes", op);
	*n = json_array_size(a);
	*out = calloc(*n, sizeof **out);
	if (!*out)
		return dp_ctl_failure("%s: out of memory", op);
	for (size_t i = 0; i < *n; i++) {
		const char *s = json_string_value(json_array_get(a, i));
		char err[256];
		if (!s || dp_prefix_parse(s, &(*out)[i], err, sizeof err) != 0) {
			free(*out);
			*out = NULL;
			return dp_ctl_failure("%s: %s", op, s ? err : "a prefix must be a string");
		}
	}
	return NULL;
}

static json_t *op_add(struct dp_listctl *l, json_t *req)
{
	enum dp_list_kind k;
	if (kind_of(req, true, &k) != 0)
		return dp_ctl_failure("list.add: \"list\" must be allow or block");
	json_t *jfor = json_object_get(req, "for");
	if (jfor && !json_is_null(jfor) && (!json_is_integer(jfor) || json_integer_value(jfor) < 0))
		return dp_ctl_failure("list.add: \"for\" must be a number of seconds (0 or absent: no expiry)");
	uint64_t secs = jfor && json_is_integer(jfor) ? (uint64_t)json_integer_value(jfor) : 0;
	const char *comment = json_string_value(json_object_get(req, "comment"));
	struct dp_prefix *p;
	size_t np;
	json_t *bad = prefixes_of(req, "list.add", &p, &np);
	if (bad)
		return bad;
	struct saved s;
	struct dp_list_entry *grown = save(l, &s) ? realloc(l->e, (l->n + np) * sizeof *l->e) : NULL;
	if (!grown) {
		free(p);
		free(s.e);
		return dp_ctl_failure("list.add: out of memory");
	}
	l->e = grown;
	uint64_t now = (uint64_t)time(NULL), now_ms = dp_worker_clock_ms();
	size_t replaced = 0;
	for (size_t i = 0; i < np; i++) {
		for (size_t j = 0; j < s.n; j++)
			replaced += dp_prefix_eq(&l->e[j].pfx, &p[i]);
		struct dp_list_entry *e = &l->e[l->n++];
		memset(e, 0, sizeof *e);
		e->pfx = p[i];
		e->kind = (uint8_t)k;
		e->added_unix = now;
		e->until_unix = secs ? now + secs : 0;
		e->until_ms = secs ? now_ms + secs * 1000 : 0;
		snprintf(e->comment, sizeof e->comment, "%s", comment ? comment : "");
	}
	free(p);
	l->n = dp_list_dedupe(l->e, l->n);
	if (l->n > l->cfg->protect.max_list_entries) {
		free(l->e);
		l->e = s.e;
		l->n = s.n;
		return dp_ctl_failure("list.add: the lists would hold more than max_list_entries (%u) prefixes",
		               l->cfg->protect.max_list_entries);
	}
	json_t *ans = json_pack("{s:b, s:I, s:I}", "ok", 1, "added", (json_int_t)(np - replaced),
	                        "replaced", (json_int_t)replaced);
	return publish_or_restore(l, &s, ans);
}

static json_t *op_del(struct dp_listctl *l, json_t *req)
{
	enum dp_list_kind k;
	int rc = kind_of(req, false, &k);
	if (rc < 0)
		return dp_ctl_failure("list.del: list must be allow or block");
	struct dp_prefix *p;
	size_t np;
	json_t *bad = prefixes_of(req, "list.del", &p, &np);
	if (bad)
		return bad;
	struct saved s;
	if (!save(l, &s)) {
		free(p);
		return dp_ctl_failure("list.del: out of memory");
	}
	json_t *missing = json_array();
	size_t removed = 0;
	for (size_t i = 0; i < np; i++) {
		bool found = false;
		for (size_t j = 0; j < l->n; j++)
			if (dp_prefix_eq(&l->e[j].pfx, &p[i]) && (rc == 1 || l->e[j].kind == k)) {
				l->e[j] = l->e[--l->n];
				found = true;
				removed++;
				break;
			}
		if (!found) {
			char text[64];
			dp_prefix_format(&p[i], text, sizeof text);
			json_array_append_new(missing, json_string(text));
		}
	}
	free(p);
	l->n = dp_list_dedupe(l->e, l->n); /* back in order */
	json_t *ans = json_pack("{s:b, s:I, s:o}", "ok", 1, "removed", (json_int_t)removed, "missing", missing);
	return publish_or_restore(l, &s, ans);
}

static json_t *op_set(struct dp_listctl *l, json_t *req, const uint8_t *body, size_t body_len)
{
	enum dp_list_kind k;
	if (kind_of(req, true, &k) != 0)
		return dp_ctl_failure("list.set: \"list\" must be allow or block");
	struct saved s;
	if (!save(l, &s))
		return dp_ctl_failure("list.set: out of memory");
	/* the other list stays; this one becomes exactly what was sent */
	size_t kept = 0;
	for (size_t i = 0; i < l->n; i++)
		if (l->e[i].kind != k)
			l->e[kept++] = l->e[i];
	l->n = kept;
	char err[512];
	int rc;
	uint64_t now = (uint64_t)time(NULL);
	if (body_len) {
		char *text = malloc(body_len + 1);
		rc = -1;
		snprintf(err, sizeof err, "out of memory");
		if (text && !memchr(body, 0, body_len)) {
			memcpy(text, body, body_len);
			text[body_len] = 0;
			rc = dp_list_text_read("list.set", text, k, now, &l->e, &l->n, err, sizeof err);
		} else if (text) {
			snprintf(err, sizeof err, "NUL byte in the list");
		}
		free(text);
	} else {
		struct dp_prefix *p;
		size_t np;
		json_t *bad = prefixes_of(req, "list.set", &p, &np);
		if (bad) {
			free(l->e);
			l->e = s.e;
			l->n = s.n;
			return bad;
		}
		rc = 0;
		struct dp_list_entry *g = realloc(l->e, (l->n + np) * sizeof *l->e);
		if (!g) {
			rc = -1;
			snprintf(err, sizeof err, "out of memory");
		} else {
			l->e = g;
			for (size_t i = 0; i < np; i++) {
				struct dp_list_entry *e = &l->e[l->n++];
				memset(e, 0, sizeof *e);
				e->pfx = p[i];
				e->kind = (uint8_t)k;
				e->added_unix = now;
			}
		}
		free(p);
	}
	if (rc == 0) {
		l->n = dp_list_dedupe(l->e, l->n);
		if (l->n > l->cfg->protect.max_list_entries) {
			rc = -1;
			snprintf(err, sizeof err, "more than max_list_entries (%u) prefixes",
			         l->cfg->protect.max_list_entries);
		}
	}
	if (rc != 0) {
		free(l->e);
		l->e = s.e;
		l->n = s.n;
		return dp_ctl_failure("list.set: %s", err);
	}
	size_t count = 0;
	for (size_t i = 0; i < l->n; i++)
		count += l->e[i].kind == k;
	json_t *ans = json_pack("{s:b, s:I}", "ok", 1, "count", (json_int_t)count);
	return publish_or_restore(l, &s, ans);
}

/* ---- the workers' source tables ------------------------------------------------------- */

/* Every entry of every worker, copied consistently; fn is called per copy. */
static void each_source(struct dp_listctl *l, void (*fn)(void *, unsigned, const struct dp_source *),
                        void *arg)
{
	for (unsigned w = 0; w < l->nworkers; w++) {
		const struct dp_inspector *in = l->workers[w].insp;
		if (!in || !in->ctx.protect)
			continue;
		const struct dp_srctable *t = &in->protect.src;
		for (uint32_t i = 0; i < t->cap; i++) {
			struct dp_source copy;
			if (dp_src_read(&t->e[i], &copy))
				fn(arg, w, &copy);
		}
	}
}

static bool pardoned(const struct dp_listctl *l, const struct dp_source *s)
{
	struct dp_lists view = {NULL, 0, l->pardons, l->npardons, NULL, NULL};
	return dp_lists_pardoned(&view, s->key.family, s->key.addr, s->ban_start_ms);
}

static void source_name(const struct dp_source *s, char *out, size_t len)
{
	if (s->key.len == 32 || s->key.len == 128) {
		dp_prefix_format(&s->key, out, len);
		char *slash = strrchr(out, '/');
		if (slash)
			*slash = 0;
	} else {
		dp_prefix_format(&s->key, out, len);
	}
}

struct ban_walk {
	struct dp_listctl *l;
	json_t *arr;
	uint64_t now_unix, now_ms;
};

static void ban_row(void *arg, unsigned worker, const struct dp_source *s)
{
	struct ban_walk *b = arg;
	/* the worker's clock decides, as it does for the source's next SYN */
	if (s->ban_until_ms <= b->now_ms || pardoned(b->l, s))
		return;
	char name[64];
	source_name(s, name, sizeof name);
	uint64_t left = (s->ban_until_ms - b->now_ms + 999) / 1000;
	uint64_t since = b->now_unix - (b->now_ms - s->ban_start_ms) / 1000;
	json_array_append_new(b->arr, json_pack(
		"{s:s, s:s, s:I, s:I, s:I, s:i, s:I, s:I, s:I}", "source", name,
		"reason", s->ban_reason < DP_PROTECT_COUNT ? dp_protect_names[s->ban_reason] : "?",
		"since", (json_int_t)since, "until", (json_int_t)(b->now_unix + left),
		"remaining_s", (json_int_t)left, "worker", (int)worker,
		"refused", (json_int_t)s->n_refused, "refused_recipients", (json_int_t)s->n_refused_rcpts,
		"auth_failures", (json_int_t)s->n_auth_fail));
}

static json_t *op_bans(struct dp_listctl *l)
{
	struct ban_walk b = {l, json_array(), (uint64_t)time(NULL), dp_worker_clock_ms()};
	each_source(l, ban_row, &b);
	return json_pack("{s:b, s:I, s:o}", "ok", 1, "count", (json_int_t)json_array_size(b.arr), "bans", b.arr);
}

struct lift_walk {
	const struct dp_prefix *p;
	size_t np;
	uint64_t now_ms;
	size_t lifted;
};

static void lift_row(void *arg, unsigned worker, const struct dp_source *s)
{
	(void)worker;
	struct lift_walk *w = arg;
	if (s->ban_until_ms <= w->now_ms)
		return;
	for (size_t i = 0; i < w->np; i++)
		if (dp_prefix_contains(&w->p[i], s->key.family, s->key.addr)) {
			w->lifted++;
			return;
		}
}

static json_t *op_unban(struct dp_listctl *l, json_t *req)
{
	json_t *a = json_object_get(req, "sources");
	if (a && !json_object_get(req, "prefixes"))
		json_object_set(req, "prefixes", a); /* "sources" reads like the bans list */
	struct dp_prefix *p;
	size_t np;
	json_t *bad = prefixes_of(req, "bans.del", &p, &np);
	if (bad)
		return bad;
	struct lift_walk w = {p, np, dp_worker_clock_ms(), 0};
	each_source(l, lift_row, &w);
	struct dp_pardon *g = realloc(l->pardons, (l->npardons + np) * sizeof *g);
	if (!g) {
		free(p);
		return dp_ctl_failure("bans.del: out of memory");
	}
	l->pardons = g;
	uint64_t now_ms = dp_worker_clock_ms();
	for (size_t i = 0; i < np; i++)
		l->pardons[l->npardons++] = (struct dp_pardon){p[i], now_ms};
	free(p);
	struct saved none = {NULL, 0};
	json_t *ans = json_pack("{s:b, s:I}", "ok", 1, "lifted", (json_int_t)w.lifted);
	json_t *r = publish_or_restore(l, &none, ans);
	if (!json_is_true(json_object_get(r, "ok")))
		l->npardons -= np;
	return r;
}

struct top_row {
	char name[64];
	unsigned worker;
	struct dp_source s;
};

struct top_walk {
	struct top_row *rows;
	size_t n, cap;
	bool net;
};

static void top_collect(void *arg, unsigned worker, const struct dp_source *s)
{
	struct top_walk *t = arg;
	bool is_net = !(s->key.len == 32 || s->key.len == 128);
	if (is_net != t->net)
		return;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 1024;
		struct top_row *g = realloc(t->rows, cap * sizeof *g);
		if (!g)
			return;
		t->rows = g;
		t->cap = cap;
	}
	struct top_row *r = &t->rows[t->n++];
	r->worker = worker;
	r->s = *s;
	source_name(s, r->name, sizeof r->name);
}

static const struct {
	const char *name;
	size_t off;
} top_keys[] = {
	{"connections", offsetof(struct dp_source, n_conns)},
	{"refused", offsetof(struct dp_source, n_refused)},
	{"messages", offsetof(struct dp_source, n_msgs)},
	{"recipients", offsetof(struct dp_source, n_rcpts)},
	{"refused_recipients", offsetof(struct dp_source, n_refused_rcpts)},
	{"auth_failures", offsetof(struct dp_source, n_auth_fail)},
	{"bytes", offsetof(struct dp_source, n_bytes)},
	{"closed", offsetof(struct dp_source, n_closed)},
};
static size_t sort_off;

static uint64_t key_of(const struct top_row *r, size_t off)
{
	return *(const uint64_t *)((const char *)&r->s + off);
}

static int by_key(const void *a, const void *b)
{
	uint64_t x = key_of(a, sort_off), y = key_of(b, sort_off);
	return (x < y) - (x > y);
}

static json_t *op_top(struct dp_listctl *l, json_t *req)
{
	const char *by = json_string_value(json_object_get(req, "by"));
	const char *level = json_string_value(json_object_get(req, "level"));
	json_t *jl = json_object_get(req, "limit");
	size_t k;
	for (k = 0; k < sizeof top_keys / sizeof top_keys[0]; k++)
		if (strcmp(by ? by : "connections", top_keys[k].name) == 0)
			break;
	if (k == sizeof top_keys / sizeof top_keys[0])
		return dp_ctl_failure("top.sources: by must be connections, refused, messages, recipients, "
		               "refused_recipients, auth_failures, bytes or closed");
	if (level && strcmp(level, "host") && strcmp(level, "net"))
		return dp_ctl_failure("top.sources: level must be host or net");
	json_int_t limit = jl ? json_integer_value(jl) : 20;
	if (limit <= 0 || limit > TOP_MAX)
		return dp_ctl_failure("top.sources: limit must be 1 to %d", TOP_MAX);
	struct top_walk t = {NULL, 0, 0, level && strcmp(level, "net") == 0};
	each_source(l, top_collect, &t);
	sort_off = top_keys[k].off; /* the control thread is the only caller */
	if (t.n)
		qsort(t.rows, t.n, sizeof *t.rows, by_key);
	uint64_t now_unix = (uint64_t)time(NULL), now_ms = dp_worker_clock_ms();
	json_t *arr = json_array();
	for (size_t i = 0; i < t.n && (json_int_t)i < limit; i++) {
		const struct top_row *r = &t.rows[i];
		const struct dp_source *s = &r->s;
		uint64_t seen = now_ms > s->last_ms ? (now_ms - s->last_ms) / 1000 : 0;
		json_t *o = json_pack("{s:s, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		                      "source", r->name, "worker", (int)r->worker,
		                      "sessions", (json_int_t)s->sessions, "connections", (json_int_t)s->n_conns,
		                      "refused", (json_int_t)s->n_refused, "messages", (json_int_t)s->n_msgs,
		                      "recipients", (json_int_t)s->n_rcpts,
		                      "refused_recipients", (json_int_t)s->n_refused_rcpts,
		                      "auth_failures", (json_int_t)s->n_auth_fail, "bytes", (json_int_t)s->n_bytes,
		                      "closed", (json_int_t)s->n_closed,
		                      "last_seen", (json_int_t)(now_unix - seen));
		bool banned = s->ban_until_ms > now_ms && !pardoned(l, s);
		json_object_set_new(o, "banned_until", banned ?
		                    json_integer((json_int_t)(now_unix + (s->ban_until_ms - now_ms + 999) / 1000)) :
		                    json_null());
		json_array_append_new(arr, o);
	}
	free(t.rows);
	return json_pack("{s:b, s:s, s:s, s:o}", "ok", 1, "by", top_keys[k].name, "level",
	                 t.net ? "net" : "host", "sources", arr);
}

json_t *dp_listctl_handle(struct dp_listctl *l, const char *op, json_t *req, const uint8_t *body,
                          size_t body_len)
{
	bool ours = strncmp(op, "list.", 5) == 0 || strcmp(op, "bans") == 0 ||
	            strcmp(op, "bans.del") == 0 || strcmp(op, "top.sources") == 0;
	if (!ours)
		return NULL;
	if (!dp_config_protecting(l->cfg))
		return dp_ctl_failure("%s: the protection is off ([protect] enabled = no, or not enforce mode)", op);
	if (strcmp(op, "list.get") == 0)
		return op_get(l, req);
	if (strcmp(op, "list.add") == 0)
		return op_add(l, req);
	if (strcmp(op, "list.del") == 0)
		return op_del(l, req);
	if (strcmp(op, "list.set") == 0)
		return op_set(l, req, body, body_len);
	if (strcmp(op, "bans") == 0)
		return op_bans(l);
	if (strcmp(op, "bans.del") == 0)
		return op_unban(l, req);
	if (strcmp(op, "top.sources") == 0)
		return op_top(l, req);
	return dp_ctl_failure("unknown op '%s' (list.get, list.add, list.del, list.set)", op);
}

void dp_listctl_tick(struct dp_listctl *l)
{
	time_t now = time(NULL);
	if (now == l->last_tick || !dp_config_protecting(l->cfg))
		return;
	l->last_tick = now;
	struct saved s;
	if (!save(l, &s))
		return;
	size_t kept = 0;
	for (size_t i = 0; i < l->n; i++)
		if (!l->e[i].until_unix || l->e[i].until_unix > (uint64_t)now)
			l->e[kept++] = l->e[i];
	/* a pardon outlives every ban it could lift by one ban time */
	uint64_t now_ms = dp_worker_clock_ms(), ban_ms = l->cfg->protect.ban_time_ms;
	size_t keep_p = 0;
	for (size_t i = 0; i < l->npardons; i++)
		if (l->pardons[i].at_ms + ban_ms > now_ms)
			l->pardons[keep_p++] = l->pardons[i];
	if (kept == l->n && keep_p == l->npardons) {
		free(s.e);
		return;
	}
	l->n = kept;
	l->npardons = keep_p;
	json_t *r = publish_or_restore(l, &s, json_pack("{s:b}", "ok", 1));
	if (!json_is_true(json_object_get(r, "ok")))
		fprintf(stderr, "sluice-dp: lists: expired entries not removed: %s\n",
		        json_string_value(json_object_get(r, "error")));
	json_decref(r);
}
