/* Hash chains and checkpoints (chain.h). */
#include "chain.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "keyfile.h"
#include "seal.h"
#include "store.h"

static const char checkpoint_tag[] = "sluice-archive checkpoint v1";

static void link_hash(uint8_t out[32], const char *tag, const uint8_t prev[32], uint64_t seq,
	const void *a, size_t alen, const void *b, size_t blen)
{
	uint8_t be[8];
	ar_put_be64(be, seq);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int ol = 32;
	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, tag, strlen(tag)) != 1 ||
	    EVP_DigestUpdate(ctx, prev, 32) != 1 || EVP_DigestUpdate(ctx, be, 8) != 1 ||
	    (alen && EVP_DigestUpdate(ctx, a, alen) != 1) ||
	    (blen && EVP_DigestUpdate(ctx, b, blen) != 1) ||
	    EVP_DigestFinal_ex(ctx, out, &ol) != 1)
		memset(out, 0xff, 32); /* breaks the chain visibly rather than silently */
	EVP_MD_CTX_free(ctx);
}

void ar_chain_copy_link(uint8_t out[32], const uint8_t prev[32], uint64_t seq,
	const uint8_t id[32], const void *value, size_t len)
{
	link_hash(out, "sluice-archive copy", prev, seq, id, 32, value, len);
}

void ar_chain_audit_link(uint8_t out[32], const uint8_t prev[32], uint64_t seq,
	const void *entry, size_t len)
{
	link_hash(out, "sluice-archive audit", prev, seq, NULL, 0, entry, len);
}

/* The value of the last key of a family, opened (NULL when empty or damaged: then
 * verify says what is wrong). */
static char *last_value(struct ar_store *s, enum ar_cf cf, size_t *len)
{
	rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf[cf]);
	char *out = NULL;
	rocksdb_iter_seek_to_last(it);
	if (rocksdb_iter_valid(it)) {
		size_t kl, vl;
		const char *k = rocksdb_iter_key(it, &kl);
		const char *v = rocksdb_iter_value(it, &vl);
		struct sl_strbuf plain;
		char err[200];
		sl_strbuf_init(&plain);
		if (ar_unseal(s, cf, k, kl, v, vl, &plain, err, sizeof err) == 0 &&
		    !sl_strbuf_failed(&plain) && (out = malloc(plain.len + 1)) != NULL) {
			memcpy(out, plain.s ? plain.s : "", plain.len);
			*len = plain.len;
		}
		sl_strbuf_free(&plain);
	}
	rocksdb_iter_destroy(it);
	return out;
}

void ar_chain_load(struct ar_store *s)
{
	size_t len;
	memset(s->copy_head, 0, 32);
	memset(s->audit_head, 0, 32);
	char *v = last_value(s, AR_CF_SEQS, &len);
	if (v && len == 64)
		memcpy(s->copy_head, v + 32, 32);
	free(v);
	v = last_value(s, AR_CF_AUDIT, &len);
	if (v && len >= 32)
		memcpy(s->audit_head, v, 32);
	free(v);
}

static void checkpoint_body(uint8_t *b, const struct ar_checkpoint *c)
{
	ar_put_be64(b, c->copies);
	memcpy(b + 8, c->copy_head, 32);
	ar_put_be64(b + 40, c->audits);
	memcpy(b + 48, c->audit_head, 32);
	ar_put_be64(b + 80, c->time_us);
	memcpy(b + 88, c->key_id, 8);
}

static size_t signed_message(uint8_t *m, const uint8_t *body)
{
	memcpy(m, checkpoint_tag, sizeof checkpoint_tag); /* with its NUL */
	memcpy(m + sizeof checkpoint_tag, body, 96);
	return sizeof checkpoint_tag + 96;
}

int ar_checkpoint_put(struct ar_store *s, rocksdb_writebatch_t *wb)
{
	if (!s->keys)
		return -1;
	struct timeval tv;
	gettimeofday(&tv, NULL);
	struct ar_checkpoint c = { .copies = s->counters.next_seq,
		.audits = s->counters.next_audit_seq,
		.time_us = (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec };
	memcpy(c.copy_head, s->copy_head, 32);
	memcpy(c.audit_head, s->audit_head, 32);
	memcpy(c.key_id, s->keys->id, 8);
	uint8_t v[AR_CHECKPOINT_LEN], m[sizeof checkpoint_tag + 96];
	checkpoint_body(v, &c);
	if (ar_keys_sign(s->keys, m, signed_message(m, v), v + 96) < 0)
		return -1;
	uint8_t key[8];
	ar_put_be64(key, s->counters.checkpoints++);
	rocksdb_writebatch_put_cf(wb, s->cf[AR_CF_CHECKPOINTS], (const char *)key, 8,
		(const char *)v, sizeof v);
	return 0;
}

int ar_checkpoint_check(const uint8_t *v, size_t n, const uint8_t pub[32],
	struct ar_checkpoint *out, char *err, size_t errlen)
{
	if (n != AR_CHECKPOINT_LEN) {
		snprintf(err, errlen, "checkpoint of %zu bytes, want %d", n, AR_CHECKPOINT_LEN);
		return -1;
	}
	uint8_t m[sizeof checkpoint_tag + 96];
	if (ar_keys_verify(pub, m, signed_message(m, v), v + 96) < 0) {
		snprintf(err, errlen, "checkpoint signature does not verify with this key");
		return -1;
	}
	out->copies = ar_get_be64(v);
	memcpy(out->copy_head, v + 8, 32);
	out->audits = ar_get_be64(v + 40);
	memcpy(out->audit_head, v + 48, 32);
	out->time_us = ar_get_be64(v + 80);
	memcpy(out->key_id, v + 88, 8);
	return 0;
}
