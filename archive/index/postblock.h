/* Posting blocks: the postings of many documents written as one key per term.
 *
 * Ingest writes a batch of documents at a time; instead of one postings key per
 * (field, term, document), which RocksDB must insert, sort and compact one by one, a
 * batch writes one key per (field, term):
 *
 *   key    field, MAC of the term (seal.h: no words in keys), be64 block id (the first
 *          copy sequence of the batch) — the store makes it, see ar_postblock_put_fn
 *   value  entries ascending by doc key: doc key (8 bytes), varint n, n bytes of
 *          positions (varint deltas; none for fields without positions)
 *
 * A document appears at most once per block; a term's blocks together are its
 * posting list (search merges them, search.c). */
#ifndef ARCHIVE_POSTBLOCK_H
#define ARCHIVE_POSTBLOCK_H

#include <rocksdb/c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sluice/strbuf.h"
#include "terms.h"

#define AR_POSTBLOCK_ID_LEN 8

struct ar_post_entry {
	uint8_t dockey[8];
	uint32_t pos_off, pos_len; /* in positions */
};

struct ar_postblock {
	struct ar_terms terms;          /* (field, term) -> entry indexes */
	struct ar_post_entry *e;
	size_t n, cap;
	struct sl_strbuf positions;     /* every entry's encoded positions */
	struct sl_strbuf key, val;
	uint32_t *order;                /* scratch for sorting one term's entries */
	size_t order_cap;
};

void ar_postblock_init(struct ar_postblock *b);
void ar_postblock_free(struct ar_postblock *b);
bool ar_postblock_empty(const struct ar_postblock *b);

/* Add one document's postings (t finished) under its doc key. */
void ar_postblock_add(struct ar_postblock *b, const struct ar_terms *t,
	const uint8_t dockey[8]);

/* Where a block's entries go: one call per (field, term) with its value. 0 or -1. */
typedef int (*ar_postblock_put_fn)(void *ctx, uint8_t field, const char *term, size_t tl,
	uint64_t block_id, const void *val, size_t vlen);
/* Hand one value per term to put under block_id, then empty the block. Returns the
 * number of values; *failed is set when a put failed. */
size_t ar_postblock_write(struct ar_postblock *b, ar_postblock_put_fn put, void *ctx,
	uint64_t block_id, bool *failed);

/* Read the next entry of a block value at *p (advanced); false at the end or when
 * the value is damaged (then *p is set to end). */
bool ar_postblock_next(const uint8_t **p, const uint8_t *end, const uint8_t **dockey,
	const uint8_t **pos, size_t *pos_len);

#endif
