/* Tamper evidence (issue 12): a store is built through the real ingest path and audit
 * log, then changed behind the archive's back the way someone with write access to
 * the data directory could — one byte of a message, a copy deleted, two copies
 * swapped, a copy inserted with a correctly computed link, the whole chain rewritten,
 * an audit entry changed, deleted or moved — and verify (ar_verify, what
 * `sluice-archive verify` runs) must report each, naming the first broken link.
 * Changes go through the store's own sealing (an attacker holding the data keys,
 * not the signing key), so it is the chain that must catch them; a raw change of a
 * sealed value is caught before that, by its authentication tag. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "chain.h"
#include "cunit_run.h"
#include "ingest.h"
#include "keyfile.h"
#include "purged.h"
#include "seal.h"
#include "signers.h"
#include "verify.h"

#define COPIES 12

static struct ar_keys keys;
static char dir[64];

static void ingest_all(struct ar_store *s)
{
	struct ar_committer *cm = ar_committer_start(s, NULL);
	struct ar_prepared p[COPIES];
	char msg[COPIES][200];
	for (int i = 0; i < COPIES; i++) {
		/* every third record journals an earlier message again: copies share one */
		snprintf(msg[i], sizeof msg[i], "From: a%d@example.com\r\nSubject: tamper %d\r\n\r\n"
			"body %d\r\n", i - i % 3, i - i % 3, i - i % 3);
		struct sl_journal_record r = {
			.time_us = 1700000000000000ull + (uint64_t)i, .source_kind = SL_JSOURCE_GATEWAY,
			.source = "gw1", .verdict = "pass",
			.message = (const uint8_t *)msg[i], .message_len = strlen(msg[i]),
		};
		struct ar_origin o = { .via = AR_VIA_JOURNAL, .peer = "gw1", .addr = "192.0.2.1:1" };
		ar_origin_now(&o);
		ar_prepare_record(s, &r, &o, &p[i]);
		ar_committer_enqueue(cm, &p[i]);
		ar_committer_wait(cm, &p[i]); /* one batch each: many checkpoints */
		CU_ASSERT_EQUAL(p[i].status, AR_INGEST_STORED);
		ar_prepared_free(&p[i]);
	}
	ar_committer_stop(cm);
}

/* A fresh store with COPIES copies and 5 audit entries. */
static struct ar_store *build(void)
{
	char cmd[128], err[512];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	CU_ASSERT_EQUAL(system(cmd), 0);
	struct ar_store *s = ar_store_open(dir, AR_OPEN_CREATE, &keys, err, sizeof err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	ingest_all(s);
	for (int i = 0; i < 5; i++) {
		char frag[64];
		snprintf(frag, sizeof frag, "\"action\":\"search\",\"query\":\"q%d\"", i);
		CU_ASSERT_EQUAL(ar_audit_append(s, 0, frag, err, sizeof err), 0);
	}
	return s;
}

static uint64_t verify(struct ar_store *s, struct ar_verify_result *r)
{
	ar_verify(s, r);
	return r->damaged;
}

static char *get(struct ar_store *s, enum ar_cf cf, const void *k, size_t kl, size_t *vl)
{
	char *e = NULL;
	char *v = ar_store_get(s, cf, k, kl, vl, &e);
	free(e);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	return v;
}

static void put(struct ar_store *s, enum ar_cf cf, const void *k, size_t kl, const void *v,
	size_t vl)
{
	rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
	char err[256];
	CU_ASSERT_EQUAL(ar_put(s, wb, cf, k, kl, v, vl), 0);
	CU_ASSERT_EQUAL(ar_store_write(s, wb, true, err, sizeof err), 0);
	rocksdb_writebatch_destroy(wb);
}

static void del(struct ar_store *s, enum ar_cf cf, const void *k, size_t kl)
{
	char *e = NULL;
	rocksdb_delete_cf(s->db, s->wo_sync, s->cf[cf], k, kl, &e);
	CU_ASSERT_PTR_NULL(e);
	free(e);
}

static void seqkey(uint8_t k[8], uint64_t n)
{
	ar_put_be64(k, n);
}

static void expect_break(struct ar_verify_result *r, const char *chain, const char *needle)
{
	const char *got = !strcmp(chain, "audit") ? r->first_audit_break : r->first_copy_break;
	if (!strstr(got, needle))
		fprintf(stderr, "want \"%s\" in the %s chain's first break, got \"%s\"\n", needle,
			chain, got);
	CU_ASSERT_PTR_NOT_NULL(strstr(got, needle));
}

static void test_clean(void)
{
	struct ar_store *s = build();
	struct ar_verify_result r;
	CU_ASSERT_EQUAL(verify(s, &r), 0);
	CU_ASSERT_EQUAL(r.copies, COPIES);
	CU_ASSERT_EQUAL(r.audit_entries, 5);
	CU_ASSERT(r.checkpoints >= COPIES + 5);
	ar_store_close(s);
}

static void test_message_byte(void)
{
	struct ar_store *s = build();
	rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf[AR_CF_BLOBS]);
	rocksdb_iter_seek_to_first(it);
	size_t kl, vl;
	const char *k = rocksdb_iter_key(it, &kl);
	char key[32];
	memcpy(key, k, 32);
	rocksdb_iter_destroy(it);
	char *v = get(s, AR_CF_BLOBS, key, 32, &vl);
	v[vl / 2] ^= 0x20; /* resealed: the message no longer matches its SHA-256 */
	put(s, AR_CF_BLOBS, key, 32, v, vl);
	free(v);
	struct ar_verify_result r;
	CU_ASSERT_EQUAL(verify(s, &r), 1);
	ar_store_close(s);
}

/* One byte of a sealed value changed on disk (no key needed): it no longer opens. */
static void test_sealed_byte(void)
{
	struct ar_store *s = build();
	uint8_t k[8];
	size_t vl, cl;
	seqkey(k, 4);
	char *id = get(s, AR_CF_SEQS, k, 8, &vl);
	char *e = NULL;
	char *raw = rocksdb_get_cf(s->db, s->ro, s->cf[AR_CF_COPIES], id, 32, &cl, &e);
	CU_ASSERT_PTR_NOT_NULL_FATAL(raw);
	raw[cl / 2] ^= 1;
	rocksdb_put_cf(s->db, s->wo_sync, s->cf[AR_CF_COPIES], id, 32, raw, cl, &e);
	CU_ASSERT_PTR_NULL(e);
	free(raw);
	free(id);
	struct ar_verify_result r;
	CU_ASSERT(verify(s, &r) > 0);
	expect_break(&r, "copy", "copy 4: value does not decrypt");
	ar_store_close(s);
}

static void test_copy_deleted(void)
{
	struct ar_store *s = build();
	uint8_t k[8];
	size_t vl;
	seqkey(k, 5);
	char *v = get(s, AR_CF_SEQS, k, 8, &vl);
	del(s, AR_CF_COPIES, v, 32);
	del(s, AR_CF_SEQS, k, 8);
	free(v);
	struct ar_verify_result r;
	CU_ASSERT(verify(s, &r) > 0);
	expect_break(&r, "copy", "copy 5: missing");
	ar_store_close(s);
}

static void test_copies_swapped(void)
{
	struct ar_store *s = build();
	uint8_t k3[8], k4[8];
	size_t l3, l4;
	seqkey(k3, 3);
	seqkey(k4, 4);
	char *v3 = get(s, AR_CF_SEQS, k3, 8, &l3), *v4 = get(s, AR_CF_SEQS, k4, 8, &l4);
	put(s, AR_CF_SEQS, k3, 8, v4, l4);
	put(s, AR_CF_SEQS, k4, 8, v3, l3);
	free(v3);
	free(v4);
	struct ar_verify_result r;
	CU_ASSERT(verify(s, &r) > 0);
	expect_break(&r, "copy", "copy 3: chain link broken");
	ar_store_close(s);
}

static void test_copy_changed(void)
{
	struct ar_store *s = build();
	uint8_t k[8];
	size_t vl, cl;
	seqkey(k, 7);
	char *v = get(s, AR_CF_SEQS, k, 8, &vl);
	char *c = get(s, AR_CF_COPIES, v, 32, &cl);
	char *src = memmem(c, cl, "gw1", 3); /* who sent it */
	CU_ASSERT_PTR_NOT_NULL_FATAL(src);
	src[2] = '9';
	put(s, AR_CF_COPIES, v, 32, c, cl);
	free(c);
	free(v);
	struct ar_verify_result r;
	CU_ASSERT(verify(s, &r) > 0);
	expect_break(&r, "copy", "copy 7: chain link broken");
	ar_store_close(s);
}

/* An inserted copy whose link is computed correctly (SHA-256 needs no key): only the
 * signed checkpoint shows it. */
static void test_copy_inserted(void)
{
	struct ar_store *s = build();
	uint8_t k[8], id[32], link[64];
	size_t vl, cl;
	seqkey(k, COPIES - 1);
	char *last = get(s, AR_CF_SEQS, k, 8, &vl);
	char *c = get(s, AR_CF_COPIES, last, 32, &cl);
	memset(id, 0x5a, 32);
	ar_put_be64((uint8_t *)c, COPIES); /* the forged copy's seq */
	memcpy(link, id, 32);
	ar_chain_copy_link(link + 32, (const uint8_t *)last + 32, COPIES, id, c, cl);
	put(s, AR_CF_COPIES, id, 32, c, cl);
	seqkey(k, COPIES);
	put(s, AR_CF_SEQS, k, 8, link, 64);
	/* and the counters say so too */
	s->counters.next_seq++;
	rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
	ar_counters_put(s, wb);
	char err[256];
	CU_ASSERT_EQUAL(ar_store_write(s, wb, true, err, sizeof err), 0);
	rocksdb_writebatch_destroy(wb);
	free(c);
	free(last);
	struct ar_verify_result r;
	CU_ASSERT(verify(s, &r) > 0);
	expect_break(&r, "copy", "added or removed after it");
	ar_store_close(s);
}

/* Copy 2 changed and every link after it recomputed: the chain is consistent again,
 * the signed checkpoints are not. */
static void test_chain_rewritten(void)
{
	struct ar_store *s = build();
	uint8_t prev[32], k[8];
	size_t vl, cl;
	seqkey(k, 1);
	char *v = get(s, AR_CF_SEQS, k, 8, &vl);
	memcpy(prev, v + 32, 32);
	free(v);
	for (uint64_t n = 2; n < COPIES; n++) {
		seqkey(k, n);
		v = get(s, AR_CF_SEQS, k, 8, &vl);
		char *c = get(s, AR_CF_COPIES, v, 32, &cl);
		if (n == 2) {
			/* who sent it: gw1 becomes gw9 (still a well-formed copy) */
			char *peer = memmem(c, cl, "gw1", 3);
			CU_ASSERT_PTR_NOT_NULL_FATAL(peer);
			peer[2] = '9';
			put(s, AR_CF_COPIES, v, 32, c, cl);
		}
		ar_chain_copy_link((uint8_t *)v + 32, prev, n, (const uint8_t *)v, c, cl);
		memcpy(prev, v + 32, 32);
		put(s, AR_CF_SEQS, k, 8, v, vl);
		free(c);
		free(v);
	}
	struct ar_verify_result r;
	CU_ASSERT(verify(s, &r) > 0);
	expect_break(&r, "copy", "signed checkpoint");
	ar_store_close(s);
}

static void test_audit_changed(void)
{
	struct ar_store *s = build();
	uint8_t k[8];
	size_t vl;
	seqkey(k, 3);
	char *v = get(s, AR_CF_AUDIT, k, 8, &vl);
	char *q = strstr(v + 32, "\"q");
	CU_ASSERT_PTR_NOT_NULL_FATAL(q);
	q[1] = 'x'; /* the query someone ran, rewritten */
	put(s, AR_CF_AUDIT, k, 8, v, vl);
	free(v);
	struct ar_verify_result r;
	CU_ASSERT(verify(s, &r) > 0);
	expect_break(&r, "audit", "audit entry 3: chain link broken");
	ar_store_close(s);
}

static void test_audit_deleted(void)
{
	struct ar_store *s = build();
	uint8_t k[8];
	seqkey(k, 2);
	del(s, AR_CF_AUDIT, k, 8);
	struct ar_verify_result r;
	CU_ASSERT(verify(s, &r) > 0);
	expect_break(&r, "audit", "audit entry 2: missing");
	ar_store_close(s);
}

static void test_audit_swapped(void)
{
	struct ar_store *s = build();
	uint8_t k1[8], k2[8];
	size_t l1, l2;
	seqkey(k1, 1);
	seqkey(k2, 2);
	char *v1 = get(s, AR_CF_AUDIT, k1, 8, &l1), *v2 = get(s, AR_CF_AUDIT, k2, 8, &l2);
	put(s, AR_CF_AUDIT, k1, 8, v2, l2);
	put(s, AR_CF_AUDIT, k2, 8, v1, l1);
	free(v1);
	free(v2);
	struct ar_verify_result r;
	CU_ASSERT(verify(s, &r) > 0);
	expect_break(&r, "audit", "audit entry 1: chain link broken");
	ar_store_close(s);
}

static int setup(void)
{
	char err[512], path[64];
	snprintf(dir, sizeof dir, "/tmp/sluice-tamper-%d", (int)getpid());
	snprintf(path, sizeof path, "/tmp/sluice-tamper-%d.key", (int)getpid());
	unlink(path);
	if (ar_keys_generate(path, err, sizeof err) < 0 || ar_keys_load(path, &keys, err, sizeof err) < 0)
		return -1;
	unlink(path);
	return 0;
}

/* What purge writes for one copy: the audit entry naming it and its link. */
static void purge_fragment(struct sl_strbuf *f, uint64_t seq, const uint8_t link[32])
{
	sl_strbuf_puts(f, "\"action\":\"purge\",\"purged\":\"");
	ar_purged_item(f, seq, link, true);
	sl_strbuf_puts(f, "\",\"messages\":0");
}

static void purge_entry(struct ar_store *s, uint64_t seq, const uint8_t link[32])
{
	struct sl_strbuf f;
	sl_strbuf_init(&f);
	purge_fragment(&f, seq, link);
	char err[256];
	CU_ASSERT_EQUAL(ar_audit_append(s, 0, f.s, err, sizeof err), 0);
	sl_strbuf_free(&f);
}

/* Copy n's value deleted; its store-order place (record id, link) stays, as purge
 * leaves it. The link goes to link_out. */
static void delete_copy_value(struct ar_store *s, uint64_t n, uint8_t link_out[32])
{
	uint8_t k[8];
	size_t vl;
	seqkey(k, n);
	char *v = get(s, AR_CF_SEQS, k, 8, &vl);
	del(s, AR_CF_COPIES, v, 32);
	if (link_out)
		memcpy(link_out, v + 32, 32);
	free(v);
}

static void stored_link(struct ar_store *s, uint64_t n, uint8_t link[32])
{
	uint8_t k[8];
	size_t vl;
	seqkey(k, n);
	char *v = get(s, AR_CF_SEQS, k, 8, &vl);
	memcpy(link, v + 32, 32);
	free(v);
}

static void test_purge_recorded(void)
{
	struct ar_store *s = build();
	uint8_t link[32];
	stored_link(s, 3, link);
	purge_entry(s, 3, link);
	delete_copy_value(s, 3, NULL);
	struct ar_verify_result r;
	CU_ASSERT_EQUAL(verify(s, &r), 0);
	CU_ASSERT_EQUAL(r.purged, 1);
	CU_ASSERT_EQUAL(r.copies, COPIES);
	ar_store_close(s);
}

static void test_deletion_beside_purge(void)
{
	struct ar_store *s = build();
	uint8_t link[32];
	stored_link(s, 3, link);
	purge_entry(s, 3, link);
	delete_copy_value(s, 3, NULL);
	delete_copy_value(s, 7, NULL); /* not purged */
	struct ar_verify_result r;
	CU_ASSERT(verify(s, &r) > 0);
	CU_ASSERT_EQUAL(r.purged, 1);
	expect_break(&r, "copy", "copy 7: chain link broken");
	ar_store_close(s);
}

static void test_purge_names_another_link(void)
{
	struct ar_store *s = build();
	uint8_t link[32];
	stored_link(s, 2, link); /* the neighbour's */
	purge_entry(s, 3, link);
	delete_copy_value(s, 3, NULL);
	struct ar_verify_result r;
	CU_ASSERT(verify(s, &r) > 0);
	expect_break(&r, "copy", "copy 3: purged, but its place holds another chain link");
	ar_store_close(s);
}

/* Someone who can write the data directory leaves a purge entry for the server to
 * chain: it is set aside, and the deletion it was to cover is reported. */
static void test_pending_purge_set_aside(void)
{
	struct ar_store *s = build();
	uint8_t link[32];
	stored_link(s, 3, link);
	char path[256];
	snprintf(path, sizeof path, "%s/audit-pending", dir);
	CU_ASSERT_EQUAL(mkdir(path, 0700), 0);
	snprintf(path, sizeof path, "%s/audit-pending/0000000000000001-00000000-1.json", dir);
	FILE *f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	purge_fragment(&b, 3, link);
	fputs(b.s, f);
	fclose(f);
	sl_strbuf_free(&b);
	uint64_t before = s->counters.next_audit_seq;
	ar_audit_collect(s);
	CU_ASSERT_EQUAL(s->counters.next_audit_seq, before);
	strcat(path, ".bad");
	CU_ASSERT_EQUAL(access(path, F_OK), 0);
	delete_copy_value(s, 3, NULL);
	struct ar_verify_result r;
	CU_ASSERT(verify(s, &r) > 0);
	CU_ASSERT_EQUAL(r.purged, 0);
	expect_break(&r, "copy", "copy 3: chain link broken");
	ar_store_close(s);
}

/* Someone with a key of their own cannot make verify trust it: a handover must be
 * signed by the key file's key, so their handover and the checkpoint they re-signed
 * are both reported. */
static void test_forged_signer(void)
{
	struct ar_store *s = build();
	char err[512], path[64];
	struct ar_keys mine;
	snprintf(path, sizeof path, "/tmp/sluice-tamper-%d-forger.key", (int)getpid());
	unlink(path);
	CU_ASSERT_FATAL(ar_keys_generate(path, err, sizeof err) == 0 &&
			ar_keys_load(path, &mine, err, sizeof err) == 0);
	unlink(path);
	static const char tag[] = "sluice-archive signer v1";
	uint8_t h[AR_SIGNER_LEN], m[sizeof tag + 64];
	memcpy(h, mine.sign_pub, 32);
	memcpy(h + 32, keys.sign_pub, 32);
	memcpy(m, tag, sizeof tag);
	memcpy(m + sizeof tag, h, 64);
	CU_ASSERT(ar_keys_sign(&mine, m, sizeof m, h + 64) == 0 &&
		  ar_keys_sign(&mine, m, sizeof m, h + 128) == 0);
	char *e = NULL;
	rocksdb_put_cf(s->db, s->wo_sync, s->cf[AR_CF_DEFAULT], "signers", 7, (const char *)h,
		sizeof h, &e);
	CU_ASSERT_PTR_NULL(e);
	/* the last checkpoint, re-signed with their key under their key's id */
	uint8_t k[8];
	size_t vl;
	seqkey(k, s->counters.checkpoints - 1);
	char *v = get(s, AR_CF_CHECKPOINTS, k, 8, &vl);
	CU_ASSERT_EQUAL_FATAL(vl, AR_CHECKPOINT_LEN);
	static const char cptag[] = "sluice-archive checkpoint v1";
	uint8_t cm[sizeof cptag + 96];
	memcpy(v + 88, mine.id, 8);
	memcpy(cm, cptag, sizeof cptag);
	memcpy(cm + sizeof cptag, v, 96);
	CU_ASSERT(ar_keys_sign(&mine, cm, sizeof cm, (uint8_t *)v + 96) == 0);
	rocksdb_put_cf(s->db, s->wo_sync, s->cf[AR_CF_CHECKPOINTS], (const char *)k, 8, v, vl, &e);
	CU_ASSERT_PTR_NULL(e);
	free(v);
	struct ar_verify_result r;
	CU_ASSERT(verify(s, &r) >= 2);
	expect_break(&r, "copy", "signing-key handover 0 does not verify");
	ar_keys_free(&mine);
	ar_store_close(s);
}

static int teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	ar_keys_free(&keys);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	static const struct cu_test tests[] = {
		{ "an untouched store verifies", test_clean },
		{ "one byte of a message changed", test_message_byte },
		{ "one byte of a sealed value changed", test_sealed_byte },
		{ "a copy deleted", test_copy_deleted },
		{ "two copies swapped", test_copies_swapped },
		{ "a copy's claims changed", test_copy_changed },
		{ "a copy inserted with a correct link", test_copy_inserted },
		{ "the chain rewritten after a change", test_chain_rewritten },
		{ "an audit entry changed", test_audit_changed },
		{ "an audit entry deleted", test_audit_deleted },
		{ "two audit entries swapped", test_audit_swapped },
		{ "a purge recorded in the audit log verifies", test_purge_recorded },
		{ "a deletion beside a purge", test_deletion_beside_purge },
		{ "a purge naming another link", test_purge_names_another_link },
		{ "a purge entry left for the server is set aside", test_pending_purge_set_aside },
		{ "a signing key of one's own is not trusted", test_forged_signer },
		{ NULL, NULL },
	};
	return cu_run_suite("archive_tamper", setup, teardown, tests);
}
