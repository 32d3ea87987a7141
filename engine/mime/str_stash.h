/* Storage for a parser's short-lived strings (the header parser's temporaries: a
 * token's str(), an address's parts, an encoded word's text), kept between uses so
 * that a string made and dropped per token, address or encoded word does not go to
 * malloc (issue 14). What is kept is capped: at most STR_STASH_SLOTS buffers and
 * STR_STASH_BYTES bytes in all; a string that grew past that gives its storage back
 * when it is dropped. The storage is the thread's current allocator's (sl_strbuf),
 * which during the parser's calls is the parser's: kept storage stays charged to it. */
#ifndef SLUICE_MIME_STR_STASH_H
#define SLUICE_MIME_STR_STASH_H

#include <stddef.h>

#include "sluice/strbuf.h"

#define STR_STASH_SLOTS 8
#define STR_STASH_BYTES 4096

struct sl_str_stash {
	struct sl_strbuf slot[STR_STASH_SLOTS];
	unsigned n;   /* slots holding storage */
	size_t bytes; /* their capacity */
};

/* b becomes an empty string, on kept storage when there is some (b's own is not
 * looked at: b need not be initialized). */
void sl_str_stash_take(struct sl_str_stash *st, struct sl_strbuf *b);
/* b's storage back to the stash, or freed (over the cap, or b failed); b is left an
 * empty string owning nothing. */
void sl_str_stash_give(struct sl_str_stash *st, struct sl_strbuf *b);
/* Frees what is kept; with the allocator it was charged to current. */
void sl_str_stash_free(struct sl_str_stash *st);
/* Bytes kept (for the tests). */
size_t sl_str_stash_memory(const struct sl_str_stash *st);

#endif
