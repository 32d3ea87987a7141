/* The archive's RocksDB store: column families, key layouts, counters.
 *
 *   default   meta: counters ("stats"), format version
 *   blobs     SHA-256(raw message) -> skeleton (raw bytes, or raw around part refs)
 *   parts     SHA-256(decoded part) -> decoded bytes (attachments stored once)
 *   copies    record id -> copy metadata (seq, blob, envelope, verdict, rules)
 *   seqs      be64 seq -> record id || chain link (store order, chain.h)
 *   blobdoc   SHA-256(raw message) -> be32 doc id; SHA-256 || be64 seq -> record id
 *   docs      be32 doc id -> document summary (date, from, to, subject, ...)
 *   postings  field byte, term, 0x00, be64 block -> doc keys and positions (postblock.h)
 *   bydate    doc key -> "" (every document, newest first)
 *   audit     be64 n -> link || one JSON line (who searched/exported what; chained)
 *   checkpoints be64 k -> signed heads of the copy and audit chains (chain.h)
 *
 * A doc key is be32(~date) || be32(doc id): keys sort newest first, and a date range
 * is a key range. */
#ifndef ARCHIVE_STORE_H
#define ARCHIVE_STORE_H

#include <pthread.h>
#include <rocksdb/c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"

enum ar_cf {
	AR_CF_DEFAULT,
	AR_CF_BLOBS,
	AR_CF_PARTS,
	AR_CF_COPIES,
	AR_CF_SEQS,
	AR_CF_BLOBDOC,
	AR_CF_DOCS,
	AR_CF_POSTINGS,
	AR_CF_BYDATE,
	AR_CF_AUDIT,
	AR_CF_CHECKPOINTS,
	AR_CF_COUNT
};

#define AR_FORMAT_VERSION 2 /* 2: origin in copies, chains, checkpoints */
#define AR_INDEX_VERSION 2 /* bump when tokenizer or postings change: stats says reindex */
#define AR_DOCKEY_LEN 8

/* Counters kept in the meta family, updated in the same batch as what they count. */
struct ar_counters {
	uint64_t next_seq;          /* copies stored so far = next copy sequence */
	uint64_t next_docid;        /* documents (distinct messages) */
	uint64_t duplicates;        /* records received again, not stored */
	uint64_t refused;           /* records refused (bad frame, bad field, ...) */
	uint64_t raw_bytes;         /* raw message bytes over all stored copies */
	uint64_t blob_bytes;        /* raw bytes of distinct messages */
	uint64_t parts;             /* distinct deduplicated parts */
	uint64_t part_bytes;        /* their decoded bytes */
	uint64_t part_refs;         /* part references in skeletons */
	uint64_t inline_bytes;      /* skeleton bytes kept inline */
	uint64_t indexed_seq;       /* copies whose postings are written ("indexed" key) */
	uint64_t index_version;
	uint64_t next_audit_seq;    /* audit entries = next audit sequence */
	uint64_t checkpoints;       /* signed checkpoints written */
	uint64_t format;            /* AR_FORMAT_VERSION the store was created with */
};

enum ar_open_mode {
	AR_OPEN_CREATE,     /* create if missing, read-write */
	AR_OPEN_WRITE,      /* must exist, read-write */
	AR_OPEN_READ,       /* must exist; read-only alongside a running server */
};

struct ar_store {
	rocksdb_t *db;
	rocksdb_column_family_handle_t *cf[AR_CF_COUNT];
	rocksdb_options_t *opts;
	rocksdb_options_t *cf_opts[AR_CF_COUNT];
	rocksdb_cache_t *cache;
	rocksdb_readoptions_t *ro;
	rocksdb_writeoptions_t *wo_sync;
	rocksdb_writeoptions_t *wo_nosync;
	struct ar_counters counters;
	char *dir;
	enum ar_open_mode mode;
	const struct ar_keys *keys;  /* the key file's keys (not owned) */
	/* the chains (chain.h): heads, extended under chain_mu by the committer and the
	 * audit log */
	pthread_mutex_t chain_mu;
	uint8_t copy_head[32], audit_head[32];
	/* ar_store_get/has read under it; ar_store_reopen swaps the database under it */
	pthread_rwlock_t db_lock;
	/* encryption at rest (seal.h): the data keys and the index key, unwrapped */
	uint8_t (*deks)[32];
	uint32_t ndeks, dek_current;
	uint8_t index_key[32];
	uint64_t seal_gen;           /* this keyring, for the per-thread cipher contexts */
};

struct ar_keys;

const char *ar_cf_name(enum ar_cf cf);

/* keys: the key file's (needed to write checkpoints; a store remembers the key it was
 * created with and refuses another). */
struct ar_store *ar_store_open(const char *dir, enum ar_open_mode mode,
	const struct ar_keys *keys, char *err, size_t errlen);
void ar_store_close(struct ar_store *s);
/* Close and open the database again (after a failed write: recovery from the last
 * synced batch). Callers other than ar_store_get/has must not use the store meanwhile. */
int ar_store_reopen(struct ar_store *s, char *err, size_t errlen);

/* Get a value (malloc'd, *len set; decrypted for sealed families, seal.h) or NULL
 * when absent; *err set on failure. */
char *ar_store_get(struct ar_store *s, enum ar_cf cf, const void *key, size_t klen,
	size_t *len, char **err);
/* 1 present, 0 absent, -1 the store could not be read (printed). */
int ar_store_has(struct ar_store *s, enum ar_cf cf, const void *key, size_t klen);

/* Counters: loaded at open; ar_counters_put adds them to a batch. */
void ar_counters_put(struct ar_store *s, rocksdb_writebatch_t *b);
/* The index's mark: copies below indexed_seq are in written posting blocks. Kept in
 * its own key, as the indexer writes it beside the committer's counters (loaded into
 * counters.indexed_seq). */
void ar_indexed_put(struct ar_store *s, rocksdb_writebatch_t *b, uint64_t indexed_seq);

/* Write a batch, synced to the WAL. 0 or -1 with err. */
int ar_store_write(struct ar_store *s, rocksdb_writebatch_t *b, bool sync, char *err,
	size_t errlen);

/* Drop and recreate a column family (reindex). */
int ar_store_reset_cf(struct ar_store *s, enum ar_cf cf, char *err, size_t errlen);

/* Sum of SST and live WAL bytes of one family / of the whole store directory. */
uint64_t ar_store_cf_bytes(struct ar_store *s, enum ar_cf cf);
uint64_t ar_store_dir_bytes(const char *dir);


/* Doc keys. */
void ar_dockey(uint8_t out[AR_DOCKEY_LEN], int64_t date, uint32_t docid);
uint32_t ar_dockey_docid(const uint8_t key[AR_DOCKEY_LEN]);
int64_t ar_dockey_date(const uint8_t key[AR_DOCKEY_LEN]);

#endif
