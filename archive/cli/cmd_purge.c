/* hold, purge: legal holds (kept as chained audit entries, so the audit log is their
 * record and nobody changes them unseen) and the purge that deletes what retention no
 * longer requires and no hold covers (docs/archive.md "Retention and legal hold"). */
#include <ctype.h>
#include <errno.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "cli.h"
#include "purged.h"
#include "retention.h"
#include "search.h"
#include "skeleton.h"

/* ---- holds: replayed from the audit log ---- */

struct hold {
	char name[65];
	char *query;
	char user[128];
};

struct holds {
	struct hold *v;
	size_t n;
	bool failed; /* a hold entry could not be read: purge must not run */
};

static bool good_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
			return false;
	return true;
}

/* The value of a string member we wrote without escapes (a name, hex, a user name). */
static bool plain_member(const char *entry, const char *key, char *out, size_t n)
{
	char pat[64];
	snprintf(pat, sizeof pat, ",\"%s\":\"", key);
	const char *p = strstr(entry, pat);
	if (!p)
		return false;
	p += strlen(pat);
	const char *end = strchr(p, '"');
	if (!end || (size_t)(end - p) >= n)
		return false;
	memcpy(out, p, (size_t)(end - p));
	out[end - p] = '\0';
	return true;
}

static char *unhex_string(const char *hex)
{
	size_t n = strlen(hex) / 2;
	char *s = malloc(n + 1);
	for (size_t i = 0; s && i < n; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1 || v == 0) {
			free(s);
			return NULL;
		}
		s[i] = (char)v;
	}
	if (s)
		s[n] = '\0';
	return s;
}

static void hold_drop(struct holds *h, const char *name)
{
	for (size_t i = 0; i < h->n; i++)
		if (!strcmp(h->v[i].name, name)) {
			free(h->v[i].query);
			h->v[i] = h->v[--h->n];
			return;
		}
}

static void replay_hold(void *ctx, const char *entry, size_t len)
{
	struct holds *h = ctx;
	(void)len;
	bool add = ar_audit_action_is(entry, "hold");
	if (!add && !ar_audit_action_is(entry, "unhold"))
		return;
	char name[65], hex[8192];
	if (!plain_member(entry, "name", name, sizeof name)) {
		h->failed = true;
		return;
	}
	hold_drop(h, name);
	if (!add)
		return;
	struct hold *v = plain_member(entry, "query_hex", hex, sizeof hex) ?
		realloc(h->v, (h->n + 1) * sizeof *v) : NULL;
	if (!v) {
		h->failed = true;
		return;
	}
	h->v = v;
	struct hold *n = &h->v[h->n];
	memset(n, 0, sizeof *n);
	snprintf(n->name, sizeof n->name, "%s", name);
	const char *u = strstr(entry, ",\"user\":\"");
	if (u)
		snprintf(n->user, sizeof n->user, "%.*s", (int)strcspn(u + 9, "\""), u + 9);
	if ((n->query = unhex_string(hex)))
		h->n++;
	else
		h->failed = true;
}

static void holds_free(struct holds *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->v[i].query);
	free(h->v);
}

static int hold_add(struct ar_store *s, const char *name, const char *query)
{
	char err[512];
	struct ar_qnode *q = ar_query_parse(query, err, sizeof err);
	if (!q) {
		fprintf(stderr, "sluice-archive hold: bad query: %s\n", err);
		return 2;
	}
	ar_query_free(q);
	struct sl_strbuf d;
	sl_strbuf_init(&d);
	sl_strbuf_printf(&d, "\"name\":\"%s\",\"query_hex\":\"", name);
	sl_strbuf_hex(&d, (const uint8_t *)query, strlen(query));
	sl_strbuf_puts(&d, "\",\"query\":");
	sl_json_str(&d, query);
	/* a hold only keeps mail: a reader beside the server may place one (audit.h) */
	int rc = sl_strbuf_failed(&d) || cli_audit(s, "hold", d.s) < 0 ? 1 : 0;
	sl_strbuf_free(&d);
	if (!rc)
		printf("hold %s: %s\n", name, query);
	return rc;
}

int cmd_hold(int argc, char **argv)
{
	const char *data = NULL, *verb = NULL, *name = NULL, *query = NULL, *user = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--data") && i + 1 < argc)
			data = argv[++i];
		else if (!strcmp(argv[i], "--user") && i + 1 < argc)
			user = argv[++i];
		else if (!verb)
			verb = argv[i];
		else if (!name)
			name = argv[i];
		else if (!query)
			query = argv[i];
		else
			verb = "?";
	}
	bool add = verb && !strcmp(verb, "add"), remove = verb && !strcmp(verb, "remove");
	bool list = verb && !strcmp(verb, "list");
	if (!data || (!add && !remove && !list) || (list && name) || ((add || remove) && !name) ||
	    (add && !query == !user) || (!add && (query || user))) {
		fprintf(stderr, "usage: sluice-archive hold --data DIR add NAME (QUERY | --user ADDR)\n"
				"       sluice-archive hold --data DIR remove NAME\n"
				"       sluice-archive hold --data DIR list\n");
		return 2;
	}
	if (name && !good_name(name)) {
		fprintf(stderr, "sluice-archive hold: a name is 1-64 letters, digits, '.', '_', '-'\n");
		return 2;
	}
	char byuser[600];
	if (user) {
		if (strchr(user, '"') || strchr(user, ' ') || strlen(user) > 256) {
			fprintf(stderr, "sluice-archive hold: bad address %s\n", user);
			return 2;
		}
		snprintf(byuser, sizeof byuser, "from:%s OR to:%s", user, user);
		query = byuser;
	}
	/* lifting a hold lets mail be purged: only a writer (not beside the server) */
	struct ar_store *s = cli_open(data, remove, false);
	if (!s)
		return 1;
	struct holds h = { 0 };
	if (ar_audit_each(s, replay_hold, &h) || h.failed)
		fprintf(stderr, "sluice-archive hold: some hold entries cannot be read (run verify)\n");
	int rc = 0;
	if (add) {
		rc = hold_add(s, name, query);
	} else if (remove) {
		bool found = false;
		for (size_t i = 0; i < h.n; i++)
			found |= !strcmp(h.v[i].name, name);
		char d[128];
		snprintf(d, sizeof d, "\"name\":\"%s\"", name);
		if (!found) {
			fprintf(stderr, "sluice-archive hold: no hold %s\n", name);
			rc = 1;
		} else if (cli_audit(s, "unhold", d) < 0) {
			rc = 1;
		} else {
			printf("hold %s lifted\n", name);
		}
	} else if (cli_audit(s, "holds", NULL) < 0) {
		rc = 1;
	} else {
		for (size_t i = 0; i < h.n; i++)
			printf("%s\t%s\t(by %s)\n", h.v[i].name, h.v[i].query, h.v[i].user);
	}
	holds_free(&h);
	ar_store_close(s);
	return rc;
}

/* ---- purge ---- */

struct doc_state {
	uint8_t blob[32];
	bool seen, keep, held, going;
};

struct scan_ctx {
	struct ar_store *s;
	const struct ar_retention *rt;
	struct doc_state *docs;
	uint64_t ndocs, now_s, unreadable;
};

/* A document may go only when every copy of it is past its retention. */
static void judge_copy(void *ctx, const struct ar_copy *c)
{
	struct scan_ctx *sc = ctx;
	uint32_t id = ar_blob_docid(sc->s, c->blob);
	if (id >= sc->ndocs) {
		sc->unreadable++;
		return;
	}
	struct doc_state *d = &sc->docs[id];
	d->seen = true;
	memcpy(d->blob, c->blob, 32);
	uint64_t keep = ar_retention_keep(sc->rt, &c->d.rec);
	uint64_t received = c->origin.received_us / 1000000;
	if (keep == AR_KEEP_FOREVER || received + keep > sc->now_s)
		d->keep = true;
}

static bool mark_held(void *ctx, const uint8_t dockey[AR_DOCKEY_LEN])
{
	struct scan_ctx *sc = ctx;
	uint32_t id = ar_dockey_docid(dockey);
	if (id < sc->ndocs)
		sc->docs[id].held = true;
	return true;
}

/* The parts of the messages that go, less those another message still refers to. */
struct part_set {
	uint8_t (*sha)[32];
	bool *shared;
	size_t n, cap;
	bool nomem;
};

static void part_add(void *ctx, const uint8_t sha[32])
{
	struct part_set *ps = ctx;
	for (size_t i = 0; i < ps->n; i++)
		if (!memcmp(ps->sha[i], sha, 32))
			return;
	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? 2 * ps->cap : 64;
		uint8_t (*sha)[32] = realloc(ps->sha, cap * 32);
		if (sha)
			ps->sha = sha;
		bool *shared = sha ? realloc(ps->shared, cap) : NULL;
		if (shared)
			ps->shared = shared;
		if (!sha || !shared) {
			ps->nomem = true;
			return;
		}
		ps->cap = cap;
	}
	memcpy(ps->sha[ps->n], sha, 32);
	ps->shared[ps->n++] = false;
}

static void part_keep(void *ctx, const uint8_t sha[32])
{
	struct part_set *ps = ctx;
	for (size_t i = 0; i < ps->n; i++)
		if (!memcmp(ps->sha[i], sha, 32))
			ps->shared[i] = true;
}

struct part_delete {
	struct ar_store *s;
	rocksdb_writebatch_t *wb;
	const struct part_set *parts;
};

/* A part of a message that goes, unless a message that stays refers to it too. */
static void part_delete(void *ctx, const uint8_t sha[32])
{
	struct part_delete *pd = ctx;
	for (size_t i = 0; i < pd->parts->n; i++)
		if (!memcmp(pd->parts->sha[i], sha, 32) && !pd->parts->shared[i])
			rocksdb_writebatch_delete_cf(pd->wb, pd->s->cf[AR_CF_PARTS], (const char *)sha, 32);
}

/* fn over the skeleton of blob; false when it cannot be read. */
static bool skeleton_parts(struct ar_store *s, const uint8_t blob[32],
	void (*fn)(void *, const uint8_t *), void *ctx)
{
	size_t len;
	char *e = NULL;
	char *v = ar_store_get(s, AR_CF_BLOBS, blob, 32, &len, &e);
	free(e);
	bool ok = v && ar_skeleton_parts((const uint8_t *)v, len, fn, ctx) == 0;
	free(v);
	return ok;
}

struct copy_list {
	uint64_t *seq;
	size_t n, cap;
	bool nomem;
};

static void list_seq(void *ctx, const struct ar_copy *c)
{
	struct copy_list *cl = ctx;
	if (cl->n == cl->cap) {
		size_t cap = cl->cap ? 2 * cl->cap : 16;
		uint64_t *v = realloc(cl->seq, cap * sizeof *v);
		if (!v) {
			cl->nomem = true;
			return;
		}
		cl->seq = v;
		cl->cap = cap;
	}
	cl->seq[cl->n++] = c->seq;
}

#define PURGE_ENTRY_COPIES 400 /* an audit entry stays well under its 64 KiB */

/* Delete documents ids[0..n): their copies listed in one audit entry first, then one
 * synced batch. 0 or -1. */
static int purge_chunk(struct ar_store *s, struct doc_state *docs, const uint32_t *ids, size_t n,
	const char *retention_sha, const struct part_set *parts)
{
	struct sl_strbuf entry;
	sl_strbuf_init(&entry);
	sl_strbuf_puts(&entry, "\"purged\":\"");
	rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
	bool first = true, bad = false;
	for (size_t i = 0; i < n && !bad; i++) {
		struct doc_state *d = &docs[ids[i]];
		struct copy_list cl = { 0 };
		ar_doc_copies(s, d->blob, list_seq, &cl);
		bad |= cl.nomem;
		for (size_t k = 0; k < cl.n && !bad; k++) {
			uint8_t key[8], bs[40];
			ar_put_be64(key, cl.seq[k]);
			size_t vl;
			char *e = NULL;
			char *sv = ar_store_get(s, AR_CF_SEQS, key, 8, &vl, &e);
			free(e);
			if (!sv || vl != 64) {
				bad = true;
			} else {
				ar_purged_item(&entry, cl.seq[k], (const uint8_t *)sv + 32, first);
				first = false;
				rocksdb_writebatch_delete_cf(wb, s->cf[AR_CF_COPIES], sv, 32);
				memcpy(bs, d->blob, 32);
				memcpy(bs + 32, key, 8);
				rocksdb_writebatch_delete_cf(wb, s->cf[AR_CF_BLOBDOC], (const char *)bs, 40);
			}
			free(sv);
		}
		free(cl.seq);
		struct part_delete pd = { s, wb, parts };
		bad |= !skeleton_parts(s, d->blob, part_delete, &pd);
		uint8_t idb[4];
		ar_put_be32(idb, ids[i]);
		rocksdb_writebatch_delete_cf(wb, s->cf[AR_CF_BLOBDOC], (const char *)d->blob, 32);
		rocksdb_writebatch_delete_cf(wb, s->cf[AR_CF_BLOBS], (const char *)d->blob, 32);
		rocksdb_writebatch_delete_cf(wb, s->cf[AR_CF_DOCS], (const char *)idb, 4);
	}
	sl_strbuf_printf(&entry, "\",\"messages\":%zu,\"retention_sha256\":\"%s\",\"ids\":[", n,
		retention_sha);
	for (size_t i = 0; i < n; i++)
		sl_strbuf_printf(&entry, "%s%u", i ? "," : "", ids[i]);
	sl_strbuf_putc(&entry, ']');
	char err[512];
	int rc = -1;
	if (bad)
		fprintf(stderr, "sluice-archive purge: a copy or message cannot be read (run verify), "
				"or no memory\n");
	/* the entry is chained (synced) before anything is deleted */
	else if (!sl_strbuf_failed(&entry) && cli_audit(s, "purge", entry.s) == 0 &&
		 ar_store_write(s, wb, true, err, sizeof err) == 0)
		rc = 0;
	else if (!sl_strbuf_failed(&entry))
		fprintf(stderr, "sluice-archive purge: %s\n", err);
	rocksdb_writebatch_destroy(wb);
	sl_strbuf_free(&entry);
	return rc;
}

static char *read_text(const char *path)
{
	size_t len;
	uint8_t *p = sl_read_file(path, &len);
	if (!p)
		return NULL;
	char *t = realloc(p, len + 1);
	if (!t) {
		free(p);
		return NULL;
	}
	t[len] = '\0';
	return t;
}

int cmd_purge(int argc, char **argv)
{
	const char *data = NULL, *rfile = NULL;
	bool dry = false;
	unsigned long max = 1000;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--data") && i + 1 < argc)
			data = argv[++i];
		else if (!strcmp(argv[i], "--retention") && i + 1 < argc)
			rfile = argv[++i];
		else if (!strcmp(argv[i], "--max") && i + 1 < argc)
			max = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--dry-run"))
			dry = true;
		else
			data = NULL, i = argc;
	}
	if (!data || !rfile || !max) {
		fprintf(stderr, "usage: sluice-archive purge --data DIR --retention FILE [--dry-run] "
				"[--max N]\n");
		return 2;
	}
	char *text = read_text(rfile);
	if (!text) {
		fprintf(stderr, "sluice-archive purge: %s: %s\n", rfile, strerror(errno));
		return 1;
	}
	struct ar_retention rt;
	char err[512];
	if (ar_retention_parse(text, &rt, err, sizeof err) < 0) {
		fprintf(stderr, "sluice-archive purge: %s: %s\n", rfile, err);
		free(text);
		return 2;
	}
	uint8_t digest[32];
	SHA256((const uint8_t *)text, strlen(text), digest);
	char rsha[65];
	for (int i = 0; i < 32; i++)
		sprintf(rsha + 2 * i, "%02x", digest[i]);
	free(text);
	struct ar_store *s = cli_open(data, true, false);
	if (!s) {
		ar_retention_free(&rt);
		return 1;
	}
	int rc = 1;
	struct timeval tv;
	gettimeofday(&tv, NULL);
	struct scan_ctx sc = { .s = s, .rt = &rt, .ndocs = s->counters.next_docid,
		.now_s = (uint64_t)tv.tv_sec };
	sc.docs = calloc(sc.ndocs + 1, sizeof *sc.docs);
	struct holds h = { 0 };
	struct part_set parts = { 0 };
	uint32_t *ids = calloc(sc.ndocs + 1, sizeof *ids);
	if (!sc.docs || !ids)
		goto out;
	if (cli_check_index(s) < 0) /* the holds are searches: they need a current index */
		goto out;
	ar_copies_each(s, judge_copy, &sc);
	if (sc.unreadable) {
		fprintf(stderr, "sluice-archive purge: %llu copies cannot be read: nothing purged "
				"(run verify)\n", (unsigned long long)sc.unreadable);
		goto out;
	}
	if (ar_audit_each(s, replay_hold, &h) || h.failed) {
		fprintf(stderr, "sluice-archive purge: the legal holds cannot all be read from the "
				"audit log: nothing purged (run verify)\n");
		goto out;
	}
	for (size_t i = 0; i < h.n; i++) {
		struct ar_qnode *q = ar_query_parse(h.v[i].query, err, sizeof err);
		if (!q) { /* never purge around a hold we cannot evaluate */
			fprintf(stderr, "sluice-archive purge: hold %s: %s: nothing purged\n",
				h.v[i].name, err);
			goto out;
		}
		ar_search(s, q, 0, mark_held, &sc);
		ar_query_free(q);
	}
	size_t n = 0, held = 0;
	for (uint64_t id = 0; id < sc.ndocs && n < max; id++) {
		struct doc_state *d = &sc.docs[id];
		if (!d->seen || d->keep)
			continue;
		if (d->held)
			held++;
		else
			ids[n++] = (uint32_t)id;
	}
	if (dry) {
		char detail[128];
		snprintf(detail, sizeof detail, "\"would_purge\":%zu,\"held\":%zu", n, held);
		if (cli_audit(s, "purge-dry-run", detail) == 0) {
			for (size_t i = 0; i < n; i++)
				printf("would purge %u\n", ids[i]);
			printf("%zu messages past retention, %zu more kept by a legal hold\n", n, held);
			rc = 0;
		}
		goto out;
	}
	/* shared parts: any message that stays and refers to a part of one that goes */
	for (size_t i = 0; i < n; i++)
		if (!skeleton_parts(s, sc.docs[ids[i]].blob, part_add, &parts)) {
			fprintf(stderr, "sluice-archive purge: message %u cannot be read: nothing "
					"purged (run verify)\n", ids[i]);
			goto out;
		}
	for (size_t i = 0; i < n; i++)
		sc.docs[ids[i]].going = true;
	if (parts.nomem) {
		fprintf(stderr, "sluice-archive purge: out of memory: nothing purged\n");
		goto out;
	}
	for (uint64_t id = 0; parts.n && id < sc.ndocs; id++) {
		struct doc_state *d = &sc.docs[id];
		if (d->seen && !d->going && !skeleton_parts(s, d->blob, part_keep, &parts)) {
			fprintf(stderr, "sluice-archive purge: message %llu cannot be read: nothing "
					"purged (run verify)\n", (unsigned long long)id);
			goto out;
		}
	}
	size_t done = 0;
	while (done < n) {
		/* one audit entry per chunk of at most PURGE_ENTRY_COPIES copies */
		size_t k = 0, copies = 0;
		while (done + k < n) {
			struct copy_list cl = { 0 };
			ar_doc_copies(s, sc.docs[ids[done + k]].blob, list_seq, &cl);
			free(cl.seq);
			if (k && copies + cl.n > PURGE_ENTRY_COPIES)
				break;
			copies += cl.n;
			k++;
		}
		if (purge_chunk(s, sc.docs, ids + done, k, rsha, &parts) < 0)
			goto out;
		done += k;
	}
	printf("purged %zu messages; %zu more past retention kept by a legal hold\n", n, held);
	rc = n ? cli_reindex(s) : 0;
out:
	free(ids);
	free(sc.docs);
	free(parts.sha);
	free(parts.shared);
	holds_free(&h);
	ar_retention_free(&rt);
	ar_store_close(s);
	return rc;
}
