/* Encryption at rest (docs/archive.md "Encryption").
 *
 * Values of the message, metadata, index and audit families are sealed with
 * AES-256-GCM under a data key: format byte (1 sealed, 2 zstd-compressed then sealed),
 * be32 data-key id, 12-byte random nonce, ciphertext, 16-byte tag; the family and the
 * key are the additional data, so a value moved to another key does not open. The data
 * keys and the index key are random, kept in the default family wrapped (AES-256-GCM)
 * by the key-encryption key of the key file; a store can hold several data keys (new
 * data under the current one). Posting keys carry no words: a term becomes
 * HMAC-SHA256(index key, field || term), 16 bytes, so an exact-term search still finds
 * its postings. Keys stay in the clear where the store needs their order or identity:
 * message and part SHA-256s, record ids, store order, doc keys (date || id). */
#ifndef ARCHIVE_SEAL_H
#define ARCHIVE_SEAL_H

#include <rocksdb/c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sluice/strbuf.h"

struct ar_store;
enum ar_cf;

#define AR_TERM_MAC_LEN 16

/* Whether values of cf are sealed. */
bool ar_cf_sealed(int cf);

/* Load the keyring, or create it in wb for a new store. 0 or -1 with a reason. */
int ar_seal_open(struct ar_store *s, rocksdb_writebatch_t *create, char *err, size_t errlen);
void ar_seal_close(struct ar_store *s);
/* Key rotation: a new data key for new values, and the keyring (every data key and the
 * index key) wrapped under new_kek, put into wb; nothing sealed is rewritten. After wb
 * is written only a key file with new_kek opens the store. 0 or -1. */
int ar_seal_rekey(struct ar_store *s, const uint8_t new_kek[32], rocksdb_writebatch_t *wb,
	char *err, size_t errlen);

/* Put key -> val into wb, sealed when the family is. 0, or -1 when it could not be
 * sealed (no memory, no randomness): the caller must not write the batch. */
int ar_put(struct ar_store *s, rocksdb_writebatch_t *wb, int cf, const void *key, size_t klen,
	const void *val, size_t vlen);
/* The plaintext of a stored value of family cf under key, appended to out. 0, or -1
 * with a reason (damaged, altered, or another key). */
int ar_unseal(struct ar_store *s, int cf, const void *key, size_t klen, const void *val,
	size_t vlen, struct sl_strbuf *out, char *err, size_t errlen);

/* The posting key prefix of (field, term): field || MAC (1 + AR_TERM_MAC_LEN bytes). */
void ar_term_key(const struct ar_store *s, uint8_t field, const char *term, size_t tl,
	uint8_t out[1 + AR_TERM_MAC_LEN]);

#endif
