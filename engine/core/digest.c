#include "sluice/digest.h"

#include <pthread.h>

static const EVP_MD *sha256, *sha1, *md5;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* Explicitly fetched digests; the built-in ones when the default provider cannot be
 * fetched from (they still work, only more slowly). */
static void fetch_all(void)
{
	sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
	md5 = EVP_MD_fetch(NULL, "MD5", NULL);
	if (!sha256)
		sha256 = EVP_sha256();
	if (!sha1)
		sha1 = EVP_sha1();
	if (!md5)
		md5 = EVP_md5();
}

const EVP_MD *sl_md_sha256(void)
{
	pthread_once(&once, fetch_all);
	return sha256;
}

const EVP_MD *sl_md_sha1(void)
{
	pthread_once(&once, fetch_all);
	return sha1;
}

const EVP_MD *sl_md_md5(void)
{
	pthread_once(&once, fetch_all);
	return md5;
}

/* The low-level functions are deprecated in OpenSSL 3.0 but built (Debian's libcrypto)
 * and are what the default provider runs; they keep their state in the caller's struct
 * and never allocate (sluice/digest.h). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

bool sl_hash_init(struct sl_hash *h, enum sl_hash_alg alg)
{
	h->alg = alg;
	switch (alg) {
	case SL_HASH_MD5: return MD5_Init(&h->u.md5) == 1;
	case SL_HASH_SHA1: return SHA1_Init(&h->u.sha1) == 1;
	case SL_HASH_SHA256: return SHA256_Init(&h->u.sha256) == 1;
	}
	return false;
}

bool sl_hash_update(struct sl_hash *h, const void *p, size_t n)
{
	switch (h->alg) {
	case SL_HASH_MD5: return MD5_Update(&h->u.md5, p, n) == 1;
	case SL_HASH_SHA1: return SHA1_Update(&h->u.sha1, p, n) == 1;
	case SL_HASH_SHA256: return SHA256_Update(&h->u.sha256, p, n) == 1;
	}
	return false;
}

bool sl_hash_final(struct sl_hash *h, uint8_t *out, unsigned *len)
{
	switch (h->alg) {
	case SL_HASH_MD5:
		*len = MD5_DIGEST_LENGTH;
		return MD5_Final(out, &h->u.md5) == 1;
	case SL_HASH_SHA1:
		*len = SHA_DIGEST_LENGTH;
		return SHA1_Final(out, &h->u.sha1) == 1;
	case SL_HASH_SHA256:
		*len = SHA256_DIGEST_LENGTH;
		return SHA256_Final(out, &h->u.sha256) == 1;
	}
	*len = 0;
	return false;
}

#pragma GCC diagnostic pop
