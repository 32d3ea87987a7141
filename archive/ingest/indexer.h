/* The indexer: posting blocks built across many synced batches, off the
 * acknowledgement path.
 *
 * The committer acknowledges a batch once its messages, copies, chain links and
 * summaries are durable; it then hands each stored copy's terms here. One indexer
 * thread adds them to an in-memory posting block and writes the block (one key per
 * term, postblock.h) together with the new "indexed" mark (store.h) when it holds
 * block_copies copies or its oldest copy has waited delay_ms. A copy acknowledged
 * but not yet written is found by term searches once its block is written.
 *
 * Crash recovery: every copy from the durable "indexed" mark up to the store's last
 * copy is read back from the store (message parsed again, envelope from the copy)
 * and indexed before anything handed over later; the same happens after a block
 * could not be written (disk full), retried after delay_ms. */
#ifndef ARCHIVE_INDEXER_H
#define ARCHIVE_INDEXER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "terms.h"

#define AR_INDEX_BLOCK_COPIES 4096
#define AR_INDEX_DELAY_MS 1000

struct ar_index_opts {
	size_t block_copies; /* copies per posting block (0: AR_INDEX_BLOCK_COPIES) */
	unsigned delay_ms;   /* longest wait of a copy for its block (0: AR_INDEX_DELAY_MS) */
};

struct ar_indexer;

/* Starts the thread; its first job is recovery from the "indexed" mark. */
struct ar_indexer *ar_indexer_start(struct ar_store *s, const struct ar_index_opts *o);
/* Hand over the stored copy seq (handed in sequence order, after its batch is
 * durable): its document's terms when the copy brought a new document (else NULL)
 * and its envelope terms, both finished. The indexer takes their contents (the
 * caller's structs are left empty). Waits while the queue is full. */
void ar_indexer_add(struct ar_indexer *ix, uint64_t seq, const uint8_t dockey[AR_DOCKEY_LEN],
	struct ar_terms *doc, struct ar_terms *copy);
/* Write everything handed over so far now; returns once it is written (0) or a write
 * failed (-1: recovery retries it later). */
int ar_indexer_sync(struct ar_indexer *ix);
/* Write what is pending and stop. 0 when every stored copy is in the index. */
int ar_indexer_stop(struct ar_indexer *ix);

/* Index what a crash left unindexed, then return (purge runs it before it evaluates
 * holds). 0, or -1 when some copies could not be indexed. */
int ar_index_catch_up(struct ar_store *s);

#endif
