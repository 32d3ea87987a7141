/* Running a parsed query against the store. */
#ifndef ARCHIVE_SEARCH_H
#define ARCHIVE_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "query.h"
#include "store.h"
#include "summary.h"

/* Called per hit, newest first, with the hit's doc key; return false to stop. */
typedef bool (*ar_hit_fn)(void *ctx, const uint8_t dockey[AR_DOCKEY_LEN]);

/* Calls fn for up to limit hits (0: all); returns the number of hits. */
size_t ar_search(struct ar_store *s, const struct ar_qnode *q, size_t limit,
	ar_hit_fn fn, void *ctx);

/* The summary of a document (0), or -1 when it has none. */
int ar_summary_load(struct ar_store *s, uint32_t docid, struct ar_summary *out);

#endif
