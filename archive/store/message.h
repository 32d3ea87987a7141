/* Reading what the store holds: a message's raw bytes, a document's copies. */
#ifndef ARCHIVE_MESSAGE_H
#define ARCHIVE_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "copy.h"
#include "store.h"

/* The raw bytes of a stored message, rebuilt from its skeleton and verified against
 * its SHA-256, appended to out. 0 or -1 with a reason. */
int ar_message_load(struct ar_store *s, const uint8_t blob[32], struct sl_strbuf *out,
	char *err, size_t errlen);

/* Copies of a document: calls fn with each stored copy, in store order. */
typedef void (*ar_copy_fn)(void *ctx, const struct ar_copy *c);
void ar_doc_copies(struct ar_store *s, const uint8_t blob[32], ar_copy_fn fn, void *ctx);
/* Every stored copy, in store order; returns how many could not be read or decoded. */
uint64_t ar_copies_each(struct ar_store *s, ar_copy_fn fn, void *ctx);
/* The document id of a stored message; UINT32_MAX when it has none. */
uint32_t ar_blob_docid(struct ar_store *s, const uint8_t blob[32]);

#endif
