/* The document summary (docs family): what a search result shows without reading
 * the message. Layout: version, doc key, date, size, blob, ncopies (fixed offsets),
 * then length-prefixed from, to, subject, message_id. */
#ifndef ARCHIVE_SUMMARY_H
#define ARCHIVE_SUMMARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sluice/strbuf.h"

#define AR_SUMMARY_NCOPIES_OFF 57
#define AR_SUMMARY_FLAG_ATTACHMENT 1

struct ar_summary {
	uint32_t docid;
	uint8_t dockey[8];
	int64_t date;
	uint64_t size;
	uint8_t blob[32];
	uint32_t ncopies;
	uint8_t flags;
	char *from, *to, *subject, *message_id;
};

void ar_summary_encode(const struct ar_summary *s, struct sl_strbuf *out);
/* 0, or -1 when damaged. Strings are malloc'd: ar_summary_free. */
int ar_summary_decode(const uint8_t *p, size_t n, struct ar_summary *s);
void ar_summary_free(struct ar_summary *s);

#endif
