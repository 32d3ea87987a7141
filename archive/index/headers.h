/* Reading the header fields the index needs: address lists, dates, message ids.
 * Values arrive unfolded and RFC 2047-decoded (HEADER events). */
#ifndef ARCHIVE_HEADERS_H
#define ARCHIVE_HEADERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ar_addr {
	char *addr;     /* "local@domain" as written (may be "" for a bare name) */
	char *display;  /* display name, quotes removed, or "" */
};

/* Parse an RFC 5322 address list (groups, quoted names, comments, <angle addr>).
 * Returns the number of entries in *out (free with ar_addrs_free). */
size_t ar_parse_addresses(const char *value, struct ar_addr **out);
void ar_addrs_free(struct ar_addr *a, size_t n);

/* RFC 5322 date-time ("[Day,] DD Mon YYYY HH:MM[:SS] zone", obsolete forms and
 * named zones too) to seconds since the epoch, UTC. */
bool ar_parse_date(const char *value, int64_t *out);

/* Calls fn for each <id> in value (without the brackets). */
void ar_parse_msgids(const char *value, void (*fn)(void *ctx, const char *id, size_t n),
	void *ctx);

#endif
