/* Tamper evidence: two hash chains and signed checkpoints (docs/archive.md "Chain").
 *
 * Copies: seqs[n] = record id || link_n, with
 *   link_n = SHA-256("sluice-archive copy" || link_{n-1} || be64 n || record id ||
 *                    the copy's value as stored in copies)
 * Audit:  audit[n] = link_n || entry, with
 *   link_n = SHA-256("sluice-archive audit" || link_{n-1} || be64 n || entry)
 * link_{-1} is 32 zero bytes. Every write that extends a chain puts, in the same
 * synced batch, a checkpoint: both chains' lengths and heads, the time, signed with
 * the key file's Ed25519 key:
 *
 *   checkpoints[be64 k] = be64 copies | copy head | be64 audits | audit head
 *                         | be64 time_us | key id (8) | signature (64)
 *
 * So changing, deleting, reordering or inserting a copy or an audit entry breaks a
 * link or disagrees with a signed checkpoint, and rewriting the chains needs the key. */
#ifndef ARCHIVE_CHAIN_H
#define ARCHIVE_CHAIN_H

#include <rocksdb/c.h>
#include <stddef.h>
#include <stdint.h>

#define AR_LINK_LEN 32
#define AR_CHECKPOINT_LEN (8 + 32 + 8 + 32 + 8 + 8 + 64)

struct ar_store;

void ar_chain_copy_link(uint8_t out[32], const uint8_t prev[32], uint64_t seq,
	const uint8_t id[32], const void *value, size_t len);
void ar_chain_audit_link(uint8_t out[32], const uint8_t prev[32], uint64_t seq,
	const void *entry, size_t len);

/* The chains' heads from the store's last entries (at open). */
void ar_chain_load(struct ar_store *s);
/* Sign the current heads into wb as the next checkpoint. 0, or -1 without a key. */
int ar_checkpoint_put(struct ar_store *s, rocksdb_writebatch_t *wb);

struct ar_checkpoint {
	uint64_t copies, audits, time_us;
	uint8_t copy_head[32], audit_head[32];
	uint8_t key_id[8];
};
/* Decode and check the signature against pub. 0, or -1 with a reason. */
int ar_checkpoint_check(const uint8_t *v, size_t n, const uint8_t pub[32],
	struct ar_checkpoint *out, char *err, size_t errlen);

#endif
