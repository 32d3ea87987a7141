/* verify (verify.h). */
#include "verify.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "copy.h"
#include "keyfile.h"
#include "message.h"
#include "purged.h"
#include "seal.h"
#include "signers.h"

struct mark {            /* a chain's length and head, as one checkpoint signed them */
	uint64_t count;
	uint8_t head[32];
};

struct marks {
	struct mark *copy, *audit;
	size_t n;
};

static void problem(struct ar_verify_result *r, char *first, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void problem(struct ar_verify_result *r, char *first, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "verify: %s\n", msg);
	if (first && !*first)
		snprintf(first, 512, "%s", msg);
	r->damaged++;
}

/* An entry of a chain walked in key order: its sequence number is the one due (*seq),
 * or the gap is reported and the walk goes on from it. false: stop (a key out of
 * order or not a sequence number). */
static bool in_order(const uint8_t *k, size_t kl, uint64_t *seq, const char *what,
	struct ar_verify_result *r, char *first)
{
	uint64_t got = kl == 8 ? ar_get_be64(k) : UINT64_MAX;
	if (got == *seq)
		return true;
	problem(r, first, "%s %llu: missing (the next stored is %llu)", what,
		(unsigned long long)*seq, (unsigned long long)got);
	if (got == UINT64_MAX || got < *seq)
		return false;
	*seq = got;
	return true;
}

/* Every checkpoint verifies with the key that signed it — the key file's, or one it
 * took over from (signers.h) — and no chain ever got shorter. */
static void load_checkpoints(struct ar_store *s, struct marks *m, struct ar_verify_result *r)
{
	struct ar_signers keys;
	char kerr[200];
	if (ar_signers_load(s, &keys, kerr, sizeof kerr) < 0)
		problem(r, r->first_copy_break, "%s", kerr);
	rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf[AR_CF_CHECKPOINTS]);
	size_t cap = 0;
	uint64_t expect = 0;
	for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
		size_t kl, vl;
		const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &kl);
		const uint8_t *v = (const uint8_t *)rocksdb_iter_value(it, &vl);
		uint64_t num = kl == 8 ? ar_get_be64(k) : UINT64_MAX;
		struct ar_checkpoint cp;
		char err[200];
		r->checkpoints++;
		if (num != expect) {
			problem(r, r->first_copy_break, "checkpoint %llu where %llu was due: "
				"checkpoints deleted or inserted", (unsigned long long)num,
				(unsigned long long)expect);
			expect = num;
		}
		expect++;
		const uint8_t *pub = vl == AR_CHECKPOINT_LEN ? ar_signers_pub(&keys, v + 88) : NULL;
		if (!pub) {
			problem(r, r->first_copy_break, "checkpoint %llu: signed by a key the key file "
				"does not vouch for", (unsigned long long)num);
			continue;
		}
		if (ar_checkpoint_check(v, vl, pub, &cp, err, sizeof err) < 0) {
			problem(r, r->first_copy_break, "checkpoint %llu: %s", (unsigned long long)num, err);
			continue;
		}
		if (m->n && (cp.copies < m->copy[m->n - 1].count || cp.audits < m->audit[m->n - 1].count))
			problem(r, r->first_copy_break, "checkpoint %llu signs shorter chains than the one "
				"before it", (unsigned long long)num);
		if (m->n == cap) {
			cap = cap ? 2 * cap : 256;
			m->copy = realloc(m->copy, cap * sizeof *m->copy);
			m->audit = realloc(m->audit, cap * sizeof *m->audit);
		}
		m->copy[m->n] = (struct mark){ .count = cp.copies };
		memcpy(m->copy[m->n].head, cp.copy_head, 32);
		m->audit[m->n] = (struct mark){ .count = cp.audits };
		memcpy(m->audit[m->n].head, cp.audit_head, 32);
		m->n++;
	}
	rocksdb_iter_destroy(it);
	ar_signers_free(&keys);
	if (expect != s->counters.checkpoints)
		problem(r, r->first_copy_break, "%llu checkpoints stored, %llu written",
			(unsigned long long)expect, (unsigned long long)s->counters.checkpoints);
}

/* After `count` entries the head is `head`: compare with every checkpoint of that
 * length (marks ascend by count; *at walks along). */
static void check_marks(const struct mark *mk, size_t n, size_t *at, uint64_t count,
	const uint8_t head[32], const char *chain, struct ar_verify_result *r, char *first)
{
	while (*at < n && mk[*at].count < count)
		(*at)++;
	for (size_t i = *at; i < n && mk[i].count == count; i++)
		if (memcmp(mk[i].head, head, 32) != 0) {
			problem(r, first, "%s chain: after %llu entries the head differs from the "
				"signed checkpoint", chain, (unsigned long long)count);
			return;
		}
}

static void walk_copies(struct ar_store *s, const struct marks *m, const struct ar_purged *pg,
	struct ar_verify_result *r)
{
	rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf[AR_CF_SEQS]);
	uint8_t head[32] = { 0 };
	uint64_t seq = 0;
	size_t at = 0;
	char *first = r->first_copy_break;
	check_marks(m->copy, m->n, &at, 0, head, "copy", r, first);
	for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it), seq++) {
		size_t kl, vl, cl;
		const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &kl);
		const uint8_t *v = (const uint8_t *)rocksdb_iter_value(it, &vl);
		if (!in_order(k, kl, &seq, "copy", r, first))
			break;
		r->copies++;
		if (vl != 64) {
			problem(r, first, "copy %llu: damaged store-order entry", (unsigned long long)seq);
			continue;
		}
		char *e = NULL;
		char *cv = ar_store_get(s, AR_CF_COPIES, v, 32, &cl, &e);
		bool unreadable = e != NULL;
		if (e && !cv)
			problem(r, first, "copy %llu: %s", (unsigned long long)seq, e);
		free(e);
		const uint8_t *purged = cv || unreadable ? NULL : ar_purged_link(pg, seq);
		if (purged) {
			/* deleted by purge: the audit log vouches for its link */
			if (memcmp(purged, v + 32, 32) != 0)
				problem(r, first, "copy %llu: purged, but its place holds another chain "
					"link than the purge recorded", (unsigned long long)seq);
			r->purged++;
			memcpy(head, v + 32, 32);
			check_marks(m->copy, m->n, &at, seq + 1, head, "copy", r, first);
			continue;
		}
		uint8_t link[32];
		ar_chain_copy_link(link, head, seq, v, cv ? cv : "", cv ? cl : 0);
		if (memcmp(link, v + 32, 32) != 0)
			problem(r, first, "copy %llu: chain link broken (the copy, its place or an "
				"earlier copy was changed)", (unsigned long long)seq);
		memcpy(head, v + 32, 32); /* go on from the stored link: one report per break */
		struct ar_copy cp;
		char err[256];
		if (!cv) {
			problem(r, first, "copy %llu: its metadata is missing", (unsigned long long)seq);
		} else if (ar_copy_decode((const uint8_t *)cv, cl, &cp, err, sizeof err) < 0) {
			problem(r, first, "copy %llu: %s", (unsigned long long)seq, err);
		} else {
			if (cp.seq != seq)
				problem(r, first, "copy %llu: claims to be copy %llu", (unsigned long long)seq,
					(unsigned long long)cp.seq);
			if (ar_store_has(s, AR_CF_BLOBDOC, cp.blob, 32) != 1)
				problem(r, first, "copy %llu: its message is missing", (unsigned long long)seq);
			ar_copy_free(&cp);
		}
		free(cv);
		check_marks(m->copy, m->n, &at, seq + 1, head, "copy", r, first);
	}
	rocksdb_iter_destroy(it);
	if (seq != s->counters.next_seq)
		problem(r, first, "%llu copies in store order, %llu counted", (unsigned long long)seq,
			(unsigned long long)s->counters.next_seq);
	if (m->n && (m->copy[m->n - 1].count != seq || memcmp(m->copy[m->n - 1].head, head, 32)))
		problem(r, first, "copy chain: %llu copies, the last signed checkpoint has %llu "
			"(copies added or removed after it)", (unsigned long long)seq,
			(unsigned long long)m->copy[m->n - 1].count);
	/* copies outside the chain (inserted) */
	it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf[AR_CF_COPIES]);
	uint64_t stored = 0;
	for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it))
		stored++;
	rocksdb_iter_destroy(it);
	if (stored != r->copies - r->purged)
		problem(r, first, "%llu copy records stored, %llu in the chain (%llu purged): copies "
			"inserted or unlinked", (unsigned long long)stored, (unsigned long long)r->copies,
			(unsigned long long)r->purged);
}

static void walk_audit(struct ar_store *s, const struct marks *m, struct ar_verify_result *r)
{
	rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf[AR_CF_AUDIT]);
	uint8_t head[32] = { 0 };
	uint64_t seq = 0;
	size_t at = 0;
	char *first = r->first_audit_break;
	struct sl_strbuf plain;
	sl_strbuf_init(&plain);
	for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it), seq++) {
		size_t kl, vl;
		const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &kl);
		const uint8_t *v = (const uint8_t *)rocksdb_iter_value(it, &vl);
		char err[200];
		sl_strbuf_clear(&plain);
		if (ar_unseal(s, AR_CF_AUDIT, k, kl, v, vl, &plain, err, sizeof err) < 0) {
			problem(r, first, "audit entry %llu: %s", (unsigned long long)(kl == 8 ?
				ar_get_be64(k) : seq), err);
			vl = 0;
		} else {
			v = (const uint8_t *)plain.s;
			vl = plain.len;
		}
		if (!in_order(k, kl, &seq, "audit entry", r, first))
			break;
		r->audit_entries++;
		uint8_t link[32];
		if (vl < 32) {
			if (vl)
				problem(r, first, "audit entry %llu: damaged", (unsigned long long)seq);
			continue;
		}
		ar_chain_audit_link(link, head, seq, v + 32, vl - 32);
		if (memcmp(link, v, 32) != 0)
			problem(r, first, "audit entry %llu: chain link broken (the entry, its place or "
				"an earlier entry was changed)", (unsigned long long)seq);
		memcpy(head, v, 32);
		check_marks(m->audit, m->n, &at, seq + 1, head, "audit", r, first);
	}
	sl_strbuf_free(&plain);
	rocksdb_iter_destroy(it);
	if (seq != s->counters.next_audit_seq)
		problem(r, first, "%llu audit entries, %llu counted", (unsigned long long)seq,
			(unsigned long long)s->counters.next_audit_seq);
	if (m->n && (m->audit[m->n - 1].count != seq || memcmp(m->audit[m->n - 1].head, head, 32)))
		problem(r, first, "audit chain: %llu entries, the last signed checkpoint has %llu",
			(unsigned long long)seq, (unsigned long long)m->audit[m->n - 1].count);
}

static void check_messages(struct ar_store *s, const struct ar_purged *pg, struct ar_verify_result *r)
{
	rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf[AR_CF_BLOBS]);
	struct sl_strbuf raw;
	sl_strbuf_init(&raw);
	for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
		size_t kl;
		const char *k = rocksdb_iter_key(it, &kl);
		char err[256] = "bad key";
		r->messages++;
		sl_strbuf_clear(&raw);
		if (kl != 32 || ar_message_load(s, (const uint8_t *)k, &raw, err, sizeof err) < 0) {
			char hex[17] = "";
			for (size_t i = 0; i < 8 && i < kl; i++)
				sprintf(hex + 2 * i, "%02x", (uint8_t)k[i]);
			problem(r, NULL, "message %s…: %s", hex, err);
		}
	}
	sl_strbuf_free(&raw);
	rocksdb_iter_destroy(it);
	if (r->messages + pg->messages != s->counters.next_docid)
		problem(r, NULL, "%llu messages stored, %llu purged, %llu counted",
			(unsigned long long)r->messages, (unsigned long long)pg->messages,
			(unsigned long long)s->counters.next_docid);
}

void ar_verify(struct ar_store *s, struct ar_verify_result *r)
{
	memset(r, 0, sizeof *r);
	struct marks m = { 0 };
	struct ar_purged pg;
	if (ar_purged_load(s, &pg) < 0)
		problem(r, NULL, "out of memory reading the purge entries");
	if (pg.bad)
		problem(r, r->first_audit_break, "%llu purge entries cannot be read",
			(unsigned long long)pg.bad);
	load_checkpoints(s, &m, r);
	walk_copies(s, &m, &pg, r);
	walk_audit(s, &m, r);
	check_messages(s, &pg, r);
	ar_purged_free(&pg);
	free(m.copy);
	free(m.audit);
}
