/* Copies a purge deleted, as the chained audit log records them. A "purge" entry lists
 * each deleted copy's store-order number and chain link:
 *
 *   "action":"purge","purged":"SEQ:LINK,SEQ:LINK,...",...   (LINK: 64 hex digits)
 *
 * verify accepts a copy missing from the store only when an entry lists it with the
 * link stored in its place, and goes on along the chain from that link; anything else
 * missing is a deletion purge did not make. Only a writer (the key holder) chains such
 * entries (audit.h). */
#ifndef ARCHIVE_PURGED_H
#define ARCHIVE_PURGED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sluice/strbuf.h"
#include "store.h"

struct ar_purged_copy {
	uint64_t seq;
	uint8_t link[32];
};

struct ar_purged {
	struct ar_purged_copy *v; /* sorted by seq */
	size_t n;
	uint64_t messages;        /* messages the purges deleted ("messages":N of each entry) */
	uint64_t bad;             /* purge entries that could not be read or parsed */
};

/* Load from the audit log; 0, or -1 without memory. */
int ar_purged_load(struct ar_store *s, struct ar_purged *p);
/* The link a purge recorded for copy seq, or NULL when it was not purged. */
const uint8_t *ar_purged_link(const struct ar_purged *p, uint64_t seq);
void ar_purged_free(struct ar_purged *p);

/* "SEQ:LINK" of one copy, appended to out (with a comma before it unless first). */
void ar_purged_item(struct sl_strbuf *out, uint64_t seq, const uint8_t link[32], bool first);

#endif
