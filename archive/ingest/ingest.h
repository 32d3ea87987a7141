/* Ingest: a journal record becomes a stored copy. Three stages:
 *   prepare (any thread, CPU work): decode the record, hash the message, and when the
 *           message is new, run the MIME parser for the index and the part dedup;
 *   commit  (one thread): dedup against the store, assign ids, write everything for
 *           many records in one batch synced to the WAL (group commit), then report
 *           each record's fate. A record is acknowledged only after that sync;
 *   index   (one thread, indexer.h): the acknowledged copies' terms go into posting
 *           blocks that span many batches, written within AR_INDEX_DELAY_MS. */
#ifndef ARCHIVE_INGEST_H
#define ARCHIVE_INGEST_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "copy.h"
#include "docbuild.h"
#include "indexer.h"
#include "journal.h"
#include "postblock.h"
#include "store.h"

enum ar_ingest_status {
	AR_INGEST_PENDING,
	AR_INGEST_STORED,
	AR_INGEST_DUPLICATE,
	AR_INGEST_REFUSED,   /* bad record: reason says why; nothing written */
	AR_INGEST_FAILED,    /* store write failed: not durable, sender must retry */
};

struct ar_prepared {
	uint8_t *buf;                /* owns the payload rec.message points into */
	struct sl_journal_decoded rec;
	struct ar_origin origin;     /* what the archive saw: time, listener, peer */
	uint8_t blob[32];
	bool analysed;               /* doc and skeleton are filled */
	struct ar_doc doc;
	struct sl_strbuf skeleton;

	/* result, set by the committer: `result` while the batch is built, copied to
	 * `status` (what waiters read) once the batch is durable */
	enum ar_ingest_status status;
	enum ar_ingest_status result;
	char reason[256];
	uint32_t docid;
	uint64_t seq;
	uint8_t dockey[AR_DOCKEY_LEN];
	bool new_doc;                /* this copy brought the document: its terms go too */

	struct ar_prepared *next;    /* committer queue */
};

/* Parse a message with the engine's MIME parser into doc (the only user of sl_mime). */
void ar_analyse_message(const uint8_t *raw, size_t n, struct ar_doc *doc);

/* Decode a RECORD payload and analyse it; p takes ownership of buf (malloc'd), whose
 * bytes from `off` are the payload, and keeps a copy of origin. On a bad record,
 * status is REFUSED with the reason. Always free with ar_prepared_free. */
void ar_prepare(struct ar_store *s, uint8_t *buf, size_t off, size_t len,
	const struct ar_origin *origin, struct ar_prepared *p);
/* The same from a record described in memory (import, SMTP listener). */
void ar_prepare_record(struct ar_store *s, const struct sl_journal_record *r,
	const struct ar_origin *origin, struct ar_prepared *p);
void ar_prepared_free(struct ar_prepared *p);

struct ar_committer;

/* Starts the committer and its indexer (o: NULL for the defaults). */
struct ar_committer *ar_committer_start(struct ar_store *s, const struct ar_index_opts *o);
/* Refuse batches (records FAILED: senders retry) while the store's disk has less than
 * bytes free (0: no check). After a failed write (RocksDB's background error, e.g. a
 * full disk) the committer refuses every batch until it has reopened the store. */
void ar_committer_min_free(struct ar_committer *c, uint64_t bytes);
/* Queue p (not REFUSED) for the next batch; returns at once. */
void ar_committer_enqueue(struct ar_committer *c, struct ar_prepared *p);
/* Queue p[0..n) (REFUSED ones skipped) at once, so they share a batch. */
void ar_committer_enqueue_many(struct ar_committer *c, struct ar_prepared *p, size_t n);
/* Wait until p's batch is durable (or failed). */
void ar_committer_wait(struct ar_committer *c, struct ar_prepared *p);
/* Count a refused record in the store's counters. */
void ar_committer_count_refused(struct ar_committer *c);
/* Wait until every copy acknowledged so far is in the index (written); 0, or -1 when
 * a block could not be written (the indexer reads it back later). */
int ar_committer_sync_index(struct ar_committer *c);
/* Flushes the queue, writes the pending index block and stops the threads. */
void ar_committer_stop(struct ar_committer *c);

struct ar_commit_stats {
	uint64_t batches, records, syncs;
};
void ar_committer_stats(struct ar_committer *c, struct ar_commit_stats *st);

/* Index entries of a new document (summary encoded into `summary`, dockey set, date
 * order into wb, postings into pb unless NULL) and of one copy (envelope, rules,
 * direction, source: postings into pb, or its terms into t, finished, for the
 * indexer). Used by ingest and reindex; the caller writes pb. */
void ar_index_document(struct ar_store *s, rocksdb_writebatch_t *wb, struct ar_postblock *pb,
	uint32_t docid, const uint8_t blob[32], const struct ar_doc *doc, int64_t date,
	uint64_t size, uint32_t ncopies, uint8_t dockey[AR_DOCKEY_LEN], struct sl_strbuf *summary);
void ar_index_copy(struct ar_postblock *pb, const struct sl_journal_record *r,
	const uint8_t dockey[AR_DOCKEY_LEN]);
void ar_copy_terms(struct ar_terms *t, const struct sl_journal_record *r);

/* Posting blocks into a write batch: keyed by term MAC, values sealed (seal.h). Pass
 * ar_posting_put and a sink to ar_postblock_write. */
struct ar_posting_sink {
	struct ar_store *s;
	rocksdb_writebatch_t *wb;
};
int ar_posting_put(void *ctx, uint8_t field, const char *term, size_t tl, uint64_t block_id,
	const void *val, size_t vlen);

#endif
