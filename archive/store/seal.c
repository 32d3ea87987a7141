/* Encryption at rest (seal.h). */
#include "seal.h"

#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "keyfile.h"
#include "store.h"

#define WRAPPED_LEN (12 + 32 + 16)
#define SEAL_HEAD (1 + 4 + 12)
#define SEAL_TAG 16
#define FORMAT_SEALED 1
#define FORMAT_ZSTD 2
#define INDEX_SLOT 0xffffffffu

bool ar_cf_sealed(int cf)
{
	switch (cf) {
	case AR_CF_BLOBS:
	case AR_CF_PARTS:
	case AR_CF_COPIES:
	case AR_CF_DOCS:
	case AR_CF_POSTINGS:
	case AR_CF_AUDIT:
		return true;
	default:
		return false;
	}
}

/* AES-256-GCM. ctx NULL: a context for this call only (key wrapping); else the
 * caller's context, whose key schedule is kept (keyed once per thread and data key). */
static int gcm_ctx(EVP_CIPHER_CTX *ctx, bool enc, const uint8_t key[32], const uint8_t iv[12],
	const void *aad, size_t aadl, const uint8_t *in, size_t n, uint8_t *out, uint8_t tag[16])
{
	EVP_CIPHER_CTX *c = ctx ? ctx : EVP_CIPHER_CTX_new();
	int l = 0, ok = c && EVP_CipherInit_ex(c, ctx ? NULL : EVP_aes_256_gcm(), NULL,
		ctx ? NULL : key, iv, enc) == 1;
	if (ok && aadl)
		ok = EVP_CipherUpdate(c, NULL, &l, aad, (int)aadl) == 1;
	if (ok && n)
		ok = EVP_CipherUpdate(c, out, &l, in, (int)n) == 1;
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1;
	if (ok)
		ok = EVP_CipherFinal_ex(c, out + l, &l) == 1;
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
	if (!ctx)
		EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -1;
}

static int gcm(bool enc, const uint8_t key[32], const uint8_t iv[12], const void *aad,
	size_t aadl, const uint8_t *in, size_t n, uint8_t *out, uint8_t tag[16])
{
	return gcm_ctx(NULL, enc, key, iv, aad, aadl, in, n, out, tag);
}

/* A keyed context for one direction, for the last store and data key used (a new EVP
 * context per value cost more than the sealing itself). */
struct keyed {
	EVP_CIPHER_CTX *ctx;
	uint64_t gen;      /* the store's keyring (seal_gen: never reused) */
	uint32_t id;
};
/* What a thread keeps between values: the keyed contexts, the HMAC context keyed with
 * the index key, the zstd context. Freed when the thread ends. */
struct thread_crypto {
	struct keyed sealer, opener;
	EVP_MAC_CTX *mac;
	uint64_t mac_gen;
	ZSTD_CCtx *zstd;
};

static pthread_key_t crypto_key;
static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;

static void crypto_free(void *p)
{
	struct thread_crypto *t = p;
	EVP_CIPHER_CTX_free(t->sealer.ctx);
	EVP_CIPHER_CTX_free(t->opener.ctx);
	EVP_MAC_CTX_free(t->mac);
	ZSTD_freeCCtx(t->zstd);
	free(t);
}

static void crypto_key_make(void)
{
	pthread_key_create(&crypto_key, crypto_free);
}

static struct thread_crypto *thread_crypto(void)
{
	pthread_once(&crypto_once, crypto_key_make);
	struct thread_crypto *t = pthread_getspecific(crypto_key);
	if (!t && (t = calloc(1, sizeof *t)) != NULL && pthread_setspecific(crypto_key, t) != 0) {
		free(t);
		t = NULL;
	}
	return t;
}

static _Atomic uint64_t generations; /* of keyrings in this process: never reused */

static EVP_CIPHER_CTX *keyed_ctx(struct keyed *k, const struct ar_store *s, uint32_t id, bool enc)
{
	if (k->ctx && k->gen == s->seal_gen && k->id == id)
		return k->ctx;
	if (!k->ctx && !(k->ctx = EVP_CIPHER_CTX_new()))
		return NULL;
	if (EVP_CipherInit_ex(k->ctx, EVP_aes_256_gcm(), NULL, s->deks[id], NULL, enc) != 1) {
		k->gen = 0;
		return NULL;
	}
	k->gen = s->seal_gen;
	k->id = id;
	return k->ctx;
}

static void slot_aad(uint8_t aad[22], uint32_t slot)
{
	memcpy(aad, "sluice-archive key v1", 18);
	ar_put_be32(aad + 18, slot);
}

static int wrap(const uint8_t kek[32], uint32_t slot, const uint8_t k[32], uint8_t out[WRAPPED_LEN])
{
	uint8_t aad[22];
	slot_aad(aad, slot);
	if (RAND_bytes(out, 12) != 1)
		return -1;
	return gcm(true, kek, out, aad, sizeof aad, k, 32, out + 12, out + 44);
}

static int unwrap(const uint8_t kek[32], uint32_t slot, const uint8_t *w, uint8_t k[32])
{
	uint8_t aad[22], tag[16];
	slot_aad(aad, slot);
	memcpy(tag, w + 44, 16);
	return gcm(false, kek, w, aad, sizeof aad, w + 12, 32, k, tag);
}

/* The keyring: be32 current data key, be32 count, the wrapped index key, then the
 * wrapped data keys. */
static int create_keyring(struct ar_store *s, rocksdb_writebatch_t *wb, char *err, size_t errlen)
{
	uint8_t v[8 + 2 * WRAPPED_LEN];
	s->deks = calloc(1, 32);
	if (!s->deks || RAND_bytes(s->index_key, 32) != 1 || RAND_bytes(s->deks[0], 32) != 1 ||
	    wrap(s->keys->kek, INDEX_SLOT, s->index_key, v + 8) < 0 ||
	    wrap(s->keys->kek, 0, s->deks[0], v + 8 + WRAPPED_LEN) < 0) {
		snprintf(err, errlen, "cannot make the data keys");
		return -1;
	}
	s->ndeks = 1;
	s->dek_current = 0;
	ar_put_be32(v, 0);
	ar_put_be32(v + 4, 1);
	rocksdb_writebatch_put_cf(wb, s->cf[AR_CF_DEFAULT], "keyring", 7, (const char *)v, sizeof v);
	return 0;
}

int ar_seal_open(struct ar_store *s, rocksdb_writebatch_t *create, char *err, size_t errlen)
{
	s->seal_gen = ++generations; /* per-thread keyed contexts know it from any other */
	if (create)
		return create_keyring(s, create, err, errlen);
	size_t len;
	char *e = NULL;
	char *v = ar_store_get(s, AR_CF_DEFAULT, "keyring", 7, &len, &e);
	free(e);
	uint32_t n = v && len >= 8 ? ar_get_be32((uint8_t *)v + 4) : 0;
	if (!v || !n || len != 8 + (size_t)(n + 1) * WRAPPED_LEN) {
		snprintf(err, errlen, "%s: the keyring is missing or damaged", s->dir);
		free(v);
		return -1;
	}
	s->dek_current = ar_get_be32((uint8_t *)v);
	s->deks = calloc(n, 32);
	int r = s->deks && s->dek_current < n &&
		unwrap(s->keys->kek, INDEX_SLOT, (uint8_t *)v + 8, s->index_key) == 0 ? 0 : -1;
	for (uint32_t i = 0; r == 0 && i < n; i++)
		r = unwrap(s->keys->kek, i, (uint8_t *)v + 8 + (size_t)(i + 1) * WRAPPED_LEN, s->deks[i]);
	free(v);
	if (r < 0) {
		snprintf(err, errlen, "%s: the key file's key-encryption key does not open the "
				"store's data keys", s->dir);
		return -1;
	}
	s->ndeks = n;
	return 0;
}

int ar_seal_rekey(struct ar_store *s, const uint8_t new_kek[32], rocksdb_writebatch_t *wb,
	char *err, size_t errlen)
{
	uint32_t n = s->ndeks + 1;
	size_t len = 8 + (size_t)(n + 1) * WRAPPED_LEN;
	uint8_t *v = malloc(len);
	uint8_t (*deks)[32] = calloc(n, 32);
	int r = v && deks && RAND_bytes(deks[n - 1], 32) == 1 ? 0 : -1;
	if (r == 0)
		memcpy(deks, s->deks, (size_t)s->ndeks * 32);
	if (r == 0)
		r = wrap(new_kek, INDEX_SLOT, s->index_key, v + 8);
	for (uint32_t i = 0; r == 0 && i < n; i++)
		r = wrap(new_kek, i, deks[i], v + 8 + (size_t)(i + 1) * WRAPPED_LEN);
	if (r < 0) {
		snprintf(err, errlen, "cannot make or wrap the data keys");
		if (deks)
			OPENSSL_cleanse(deks, (size_t)n * 32);
		free(deks);
		free(v);
		return -1;
	}
	ar_put_be32(v, n - 1); /* new values are sealed with the new data key */
	ar_put_be32(v + 4, n);
	rocksdb_writebatch_put_cf(wb, s->cf[AR_CF_DEFAULT], "keyring", 7, (const char *)v, len);
	free(v);
	OPENSSL_cleanse(s->deks, (size_t)s->ndeks * 32);
	free(s->deks);
	s->deks = deks;
	s->ndeks = n;
	s->dek_current = n - 1;
	s->seal_gen = ++generations; /* cached cipher contexts go stale */
	return 0;
}

void ar_seal_close(struct ar_store *s)
{
	if (s->deks)
		OPENSSL_cleanse(s->deks, (size_t)s->ndeks * 32);
	free(s->deks);
	s->deks = NULL;
	OPENSSL_cleanse(s->index_key, sizeof s->index_key);
}

static size_t aad_of(int cf, const void *key, size_t klen, uint8_t *aad, size_t cap)
{
	size_t n = klen + 1 < cap ? klen + 1 : cap;
	aad[0] = (uint8_t)cf;
	memcpy(aad + 1, key, n - 1);
	return n;
}

int ar_put(struct ar_store *s, rocksdb_writebatch_t *wb, int cf, const void *key, size_t klen,
	const void *val, size_t vlen)
{
	if (!ar_cf_sealed(cf)) {
		rocksdb_writebatch_put_cf(wb, s->cf[cf], key, klen, val, vlen);
		return 0;
	}
	struct thread_crypto *tc = thread_crypto();
	if (!tc)
		return -1;
	uint8_t *packed = NULL;
	const uint8_t *plain = val;
	size_t plen = vlen;
	uint8_t format = FORMAT_SEALED;
	if (vlen >= 256) {
		/* zstd here: RocksDB's own compression would see only ciphertext */
		if (!tc->zstd)
			tc->zstd = ZSTD_createCCtx();
		size_t cap = ZSTD_compressBound(vlen);
		packed = tc->zstd ? malloc(cap) : NULL;
		size_t z = packed ? ZSTD_compressCCtx(tc->zstd, packed, cap, val, vlen, 3) : 0;
		if (packed && !ZSTD_isError(z) && z < vlen) {
			plain = packed;
			plen = z;
			format = FORMAT_ZSTD;
		}
	}
	size_t total = SEAL_HEAD + plen + SEAL_TAG;
	uint8_t *out = malloc(total);
	uint8_t aad[1 + 64];
	size_t al = aad_of(cf, key, klen, aad, sizeof aad);
	bool ok = out != NULL;
	if (ok) {
		out[0] = format;
		ar_put_be32(out + 1, s->dek_current);
		EVP_CIPHER_CTX *c = keyed_ctx(&tc->sealer, s, s->dek_current, true);
		ok = c && RAND_bytes(out + 5, 12) == 1 &&
		     gcm_ctx(c, true, NULL, out + 5, aad, al, plain, plen, out + SEAL_HEAD,
			     out + SEAL_HEAD + plen) == 0;
	}
	if (ok)
		rocksdb_writebatch_put_cf(wb, s->cf[cf], key, klen, (const char *)out, total);
	free(out);
	free(packed);
	return ok ? 0 : -1; /* (no memory or no randomness: the caller fails its batch) */
}

int ar_unseal(struct ar_store *s, int cf, const void *key, size_t klen, const void *val,
	size_t vlen, struct sl_strbuf *out, char *err, size_t errlen)
{
	const uint8_t *v = val;
	if (!ar_cf_sealed(cf)) {
		sl_strbuf_put(out, val, vlen);
		return 0;
	}
	uint32_t id = vlen >= SEAL_HEAD + SEAL_TAG ? ar_get_be32(v + 1) : UINT32_MAX;
	if (id >= s->ndeks || (v[0] != FORMAT_SEALED && v[0] != FORMAT_ZSTD)) {
		snprintf(err, errlen, "value is not sealed by this store (damaged or altered)");
		return -1;
	}
	size_t n = vlen - SEAL_HEAD - SEAL_TAG;
	uint8_t *plain = malloc(n ? n : 1), tag[16], aad[1 + 64];
	size_t al = aad_of(cf, key, klen, aad, sizeof aad);
	memcpy(tag, v + vlen - SEAL_TAG, 16);
	struct thread_crypto *tc = thread_crypto();
	EVP_CIPHER_CTX *c = tc ? keyed_ctx(&tc->opener, s, id, false) : NULL;
	if (!plain || !c || gcm_ctx(c, false, NULL, v + 5, aad, al, v + SEAL_HEAD, n, plain, tag) < 0) {
		free(plain);
		snprintf(err, errlen, "value does not decrypt: damaged, altered or moved");
		return -1;
	}
	int r = 0;
	if (v[0] == FORMAT_SEALED) {
		sl_strbuf_put(out, plain, n);
	} else {
		unsigned long long size = ZSTD_getFrameContentSize(plain, n);
		if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN ||
		    size > (1ull << 31)) {
			r = -1;
		} else {
			uint8_t *raw = malloc(size ? (size_t)size : 1);
			size_t d = raw ? ZSTD_decompress(raw, (size_t)size, plain, n) : (size_t)-1;
			if (!raw || ZSTD_isError(d) || d != size)
				r = -1;
			else
				sl_strbuf_put(out, raw, d);
			free(raw);
		}
		if (r < 0)
			snprintf(err, errlen, "value does not decompress");
	}
	free(plain);
	return r;
}

/* This thread's HMAC-SHA256 context, keyed with the store's index key. */
static EVP_MAC_CTX *term_ctx(const struct ar_store *s)
{
	struct thread_crypto *t = thread_crypto();
	if (!t)
		return NULL;
	if (t->mac && t->mac_gen == s->seal_gen)
		return EVP_MAC_init(t->mac, NULL, 0, NULL) == 1 ? t->mac : NULL;
	if (!t->mac) {
		EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
		t->mac = mac ? EVP_MAC_CTX_new(mac) : NULL;
		EVP_MAC_free(mac);
		if (!t->mac)
			return NULL;
	}
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	if (EVP_MAC_init(t->mac, s->index_key, 32, params) != 1) {
		t->mac_gen = 0;
		return NULL;
	}
	t->mac_gen = s->seal_gen;
	return t->mac;
}

void ar_term_key(const struct ar_store *s, uint8_t field, const char *term, size_t tl,
	uint8_t out[1 + AR_TERM_MAC_LEN])
{
	uint8_t mac[32];
	size_t ml = 0;
	EVP_MAC_CTX *c = term_ctx(s);
	out[0] = field;
	if (!c || EVP_MAC_update(c, &field, 1) != 1 ||
	    EVP_MAC_update(c, (const uint8_t *)term, tl) != 1 ||
	    EVP_MAC_final(c, mac, &ml, sizeof mac) != 1 || ml != 32)
		memset(mac, 0, sizeof mac); /* (an unreachable term rather than a wrong one) */
	memcpy(out + 1, mac, AR_TERM_MAC_LEN);
}
