/* purge (purge.h): what retention no longer requires and no hold covers. */
#include "purge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "audit.h"
#include "holds.h"
#include "message.h"
#include "purged.h"
#include "search.h"
#include "skeleton.h"

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
	const char *retention_sha, const struct part_set *parts, char *err, size_t errlen)
{
	struct sl_strbuf entry;
	sl_strbuf_init(&entry);
	sl_strbuf_puts(&entry, "\"action\":\"purge\",\"purged\":\"");
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
	int rc = -1;
	if (bad)
		snprintf(err, errlen, "a copy or message cannot be read (run verify), or no memory");
	else if (sl_strbuf_failed(&entry))
		snprintf(err, errlen, "out of memory");
	/* the entry is chained (synced) before anything is deleted */
	else if (ar_audit_append(s, getuid(), entry.s, err, errlen) == 0 &&
		 ar_store_write(s, wb, true, err, errlen) == 0)
		rc = 0;
	rocksdb_writebatch_destroy(wb);
	sl_strbuf_free(&entry);
	return rc;
}


int ar_purge(struct ar_store *s, const struct ar_retention *rt, const char *retention_sha,
	size_t max, bool dry, struct ar_purge_result *res, char *err, size_t errlen)
{
	memset(res, 0, sizeof *res);
	struct timeval tv;
	gettimeofday(&tv, NULL);
	struct scan_ctx sc = { .s = s, .rt = rt, .ndocs = s->counters.next_docid,
		.now_s = (uint64_t)tv.tv_sec };
	sc.docs = calloc(sc.ndocs + 1, sizeof *sc.docs);
	struct ar_holds h = { 0 };
	struct part_set parts = { 0 };
	int rc = -1;
	res->ids = calloc(sc.ndocs + 1, sizeof *res->ids);
	snprintf(err, errlen, "out of memory");
	if (!sc.docs || !res->ids)
		goto out;
	ar_copies_each(s, judge_copy, &sc);
	if (sc.unreadable) {
		snprintf(err, errlen, "%llu copies cannot be read (run verify)",
			 (unsigned long long)sc.unreadable);
		goto out;
	}
	ar_holds_load(s, &h);
	if (h.failed) {
		snprintf(err, errlen, "the legal holds cannot all be read from the audit log (run verify)");
		goto out;
	}
	for (size_t i = 0; i < h.n; i++) {
		char qerr[256];
		struct ar_qnode *q = ar_query_parse(h.v[i].query, qerr, sizeof qerr);
		if (!q) { /* never purge around a hold we cannot evaluate */
			snprintf(err, errlen, "hold %s: %s", h.v[i].name, qerr);
			goto out;
		}
		ar_search(s, q, 0, mark_held, &sc);
		ar_query_free(q);
	}
	for (uint64_t id = 0; id < sc.ndocs && res->n < max; id++) {
		struct doc_state *d = &sc.docs[id];
		if (!d->seen || d->keep)
			continue;
		if (d->held)
			res->held++;
		else
			res->ids[res->n++] = (uint32_t)id;
	}
	if (dry) {
		rc = 0;
		goto out;
	}
	/* shared parts: any message that stays and refers to a part of one that goes */
	for (size_t i = 0; i < res->n; i++) {
		sc.docs[res->ids[i]].going = true;
		if (!skeleton_parts(s, sc.docs[res->ids[i]].blob, part_add, &parts)) {
			snprintf(err, errlen, "message %u cannot be read (run verify)", res->ids[i]);
			goto out;
		}
	}
	if (parts.nomem)
		goto out;
	for (uint64_t id = 0; parts.n && id < sc.ndocs; id++) {
		struct doc_state *d = &sc.docs[id];
		if (d->seen && !d->going && !skeleton_parts(s, d->blob, part_keep, &parts)) {
			snprintf(err, errlen, "message %llu cannot be read (run verify)",
				 (unsigned long long)id);
			goto out;
		}
	}
	size_t done = 0;
	while (done < res->n) {
		/* one audit entry per chunk of at most PURGE_ENTRY_COPIES copies */
		size_t k = 0, copies = 0;
		while (done + k < res->n) {
			struct copy_list cl = { 0 };
			ar_doc_copies(s, sc.docs[res->ids[done + k]].blob, list_seq, &cl);
			free(cl.seq);
			if (k && copies + cl.n > PURGE_ENTRY_COPIES)
				break;
			copies += cl.n;
			k++;
		}
		if (purge_chunk(s, sc.docs, res->ids + done, k, retention_sha, &parts, err, errlen) < 0) {
			res->purged = done;
			goto out;
		}
		done += k;
	}
	res->purged = done;
	rc = 0;
out:
	free(sc.docs);
	free(parts.sha);
	free(parts.shared);
	ar_holds_free(&h);
	return rc;
}

void ar_purge_result_free(struct ar_purge_result *res)
{
	free(res->ids);
	memset(res, 0, sizeof *res);
}
