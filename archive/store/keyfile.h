/* The archive's key file: the key-encryption key (AES-256, wraps the data keys that
 * encrypt values at rest) and the Ed25519 key that signs chain checkpoints. It lives
 * off the data disk, 0600 (docs/archive.md "Keys"):
 *
 *   sluice-archive key v1
 *   kek <64 hex digits>
 *   sign <64 hex digits: Ed25519 private key>
 *
 * Commands take it from --key FILE, else $SLUICE_ARCHIVE_KEY. */
#ifndef ARCHIVE_KEYFILE_H
#define ARCHIVE_KEYFILE_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ar_keys {
	uint8_t kek[32];
	EVP_PKEY *sign;        /* private key */
	uint8_t sign_pub[32];
	uint8_t id[8];         /* first bytes of SHA-256(sign_pub): names the key */
};

/* Generate a new key file at path (created 0600, never over an existing file). */
int ar_keys_generate(const char *path, char *err, size_t errlen);
/* A key file at path for a rotation: a new KEK, and the same signing key as old or
 * (new_sign) a new one, which the store must then learn (signers.h). */
int ar_keys_generate_rekey(const char *path, const struct ar_keys *old, bool new_sign,
	char *err, size_t errlen);
/* A signing key's id: the first 8 bytes of SHA-256 of its public key. */
void ar_key_id(const uint8_t pub[32], uint8_t id[8]);
/* Load path (refused when group- or world-readable). 0 or -1 with a reason. */
int ar_keys_load(const char *path, struct ar_keys *k, char *err, size_t errlen);
void ar_keys_free(struct ar_keys *k);

/* Ed25519 over msg. sig is 64 bytes. */
int ar_keys_sign(const struct ar_keys *k, const uint8_t *msg, size_t n, uint8_t sig[64]);
int ar_keys_verify(const uint8_t pub[32], const uint8_t *msg, size_t n, const uint8_t sig[64]);

#endif
