/* Message digests. EVP: fetched from OpenSSL once per process (EVP_sha256() and friends
 * make every EVP_DigestInit_ex() look the algorithm up in the provider again, OpenSSL 3).
 * sl_hash: the digest of a MIME part, started once per part on the worker core, with its
 * state inside the struct: OpenSSL 3.0's EVP_DigestInit_ex allocates a new provider
 * context on every init, even on a kept EVP_MD_CTX with the same EVP_MD (3.0.19:
 * one malloc per part and algorithm), which the fast path must not do per message. */
#ifndef SLUICE_DIGEST_H
#define SLUICE_DIGEST_H

#include <openssl/evp.h>
#include <openssl/md5.h>
#include <openssl/sha.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

const EVP_MD *sl_md_sha256(void);
const EVP_MD *sl_md_sha1(void);
const EVP_MD *sl_md_md5(void);

enum sl_hash_alg { SL_HASH_MD5, SL_HASH_SHA1, SL_HASH_SHA256 };

struct sl_hash {
	enum sl_hash_alg alg;
	union {
		MD5_CTX md5;
		SHA_CTX sha1;
		SHA256_CTX sha256;
	} u;
};

/* false: OpenSSL refused (the state is then unusable until the next init) */
bool sl_hash_init(struct sl_hash *h, enum sl_hash_alg alg);
bool sl_hash_update(struct sl_hash *h, const void *p, size_t n);
/* out: room for SL_HASH_MAX bytes; *len: the digest's length */
bool sl_hash_final(struct sl_hash *h, uint8_t *out, unsigned *len);
#define SL_HASH_MAX 32

#endif
