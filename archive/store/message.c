/* Reading what the store holds: a message's raw bytes, a document's copies. */
#include "message.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "skeleton.h"

static uint8_t *fetch_part(void *ctx, const uint8_t sha[32], size_t *len)
{
	char *err = NULL;
	char *v = ar_store_get(ctx, AR_CF_PARTS, sha, 32, len, &err);
	free(err);
	return (uint8_t *)v;
}

int ar_message_load(struct ar_store *s, const uint8_t blob[32], struct sl_strbuf *out,
	char *err, size_t errlen)
{
	size_t len;
	char *e = NULL;
	char *skel = ar_store_get(s, AR_CF_BLOBS, blob, 32, &len, &e);
	if (!skel) {
		snprintf(err, errlen, "message blob missing%s%s", e ? ": " : "", e ? e : "");
		free(e);
		return -1;
	}
	size_t start = out->len;
	int r = ar_skeleton_rebuild((const uint8_t *)skel, len, fetch_part, s, out, err, errlen);
	free(skel);
	if (r < 0)
		return -1;
	uint8_t sha[32];
	SHA256((const uint8_t *)out->s + start, out->len - start, sha);
	if (memcmp(sha, blob, 32) != 0) {
		snprintf(err, errlen, "message does not match its SHA-256: store damaged or altered");
		return -1;
	}
	return 0;
}

void ar_doc_copies(struct ar_store *s, const uint8_t blob[32], ar_copy_fn fn, void *ctx)
{
	rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf[AR_CF_BLOBDOC]);
	for (rocksdb_iter_seek(it, (const char *)blob, 32); rocksdb_iter_valid(it);
	     rocksdb_iter_next(it)) {
		size_t kl, vl;
		const char *k = rocksdb_iter_key(it, &kl);
		if (kl < 32 || memcmp(k, blob, 32) != 0)
			break;
		if (kl != 40)
			continue;
		const char *id = rocksdb_iter_value(it, &vl);
		if (vl != 32)
			continue;
		size_t cl;
		char *e = NULL;
		char *cv = ar_store_get(s, AR_CF_COPIES, id, 32, &cl, &e);
		free(e);
		if (!cv)
			continue;
		struct ar_copy cp;
		char err[256];
		if (ar_copy_decode((const uint8_t *)cv, cl, &cp, err, sizeof err) == 0)
			fn(ctx, &cp);
		ar_copy_free(&cp);
		free(cv);
	}
	rocksdb_iter_destroy(it);
}

uint64_t ar_copies_each(struct ar_store *s, ar_copy_fn fn, void *ctx)
{
	uint64_t bad = 0;
	rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf[AR_CF_SEQS]);
	for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
		size_t vl, cl;
		const char *id = rocksdb_iter_value(it, &vl);
		char *e = NULL;
		char *cv = vl == 64 ? ar_store_get(s, AR_CF_COPIES, id, 32, &cl, &e) : NULL;
		free(e);
		struct ar_copy cp;
		char err[256];
		if (cv && ar_copy_decode((const uint8_t *)cv, cl, &cp, err, sizeof err) == 0) {
			fn(ctx, &cp);
			ar_copy_free(&cp);
		} else {
			bad++;
		}
		free(cv);
	}
	rocksdb_iter_destroy(it);
	return bad;
}

uint32_t ar_blob_docid(struct ar_store *s, const uint8_t blob[32])
{
	size_t len;
	char *e = NULL;
	char *v = ar_store_get(s, AR_CF_BLOBDOC, blob, 32, &len, &e);
	free(e);
	uint32_t id = v && len == 4 ? ar_get_be32((const uint8_t *)v) : UINT32_MAX;
	free(v);
	return id;
}
