/* Signing-key succession (docs/archive.md "Keys"): when `rekey` gives the store a new
 * Ed25519 key, the checkpoints signed so far keep verifying through a handover record,
 * signed by both keys. The default family's "signers" value is a list of them:
 *
 *   old public key (32) | new public key (32) | signature by old (64) | by new (64)
 *   each signature over "sluice-archive signer v1\0" | old public key | new public key
 *
 * Verify trusts the key file's key and, walking the list back from it, each predecessor
 * a successor signed for: someone who holds neither key cannot add a trusted key. */
#ifndef ARCHIVE_SIGNERS_H
#define ARCHIVE_SIGNERS_H

#include <rocksdb/c.h>
#include <stddef.h>
#include <stdint.h>

#include "keyfile.h"
#include "store.h"

#define AR_SIGNER_LEN 192

struct ar_signers {
	uint8_t (*pub)[32];   /* [0]: the key file's; then its predecessors, newest first */
	uint8_t (*id)[8];
	size_t n;
};

/* 0, or -1 with the first broken handover (the list stays usable up to it). */
int ar_signers_load(struct ar_store *s, struct ar_signers *out, char *err, size_t errlen);
/* The public key with this id, or NULL when the key file does not vouch for it. */
const uint8_t *ar_signers_pub(const struct ar_signers *k, const uint8_t id[8]);
void ar_signers_free(struct ar_signers *k);
/* Into wb: the handover from the store's key to next, and next's id as the store's. */
int ar_signers_handover(struct ar_store *s, const struct ar_keys *next, rocksdb_writebatch_t *wb,
	char *err, size_t errlen);

#endif
