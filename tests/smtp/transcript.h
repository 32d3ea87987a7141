/* SMTP test transcripts: the two streams of a session, interleaved as on the wire.
 * Format (tests/data/smtp/README.md): one record per line,
 *   C <bytes>   client to server        S <bytes>   server to client
 *   G C <n>     n client bytes missing  G S <n>     n server bytes missing
 *   # comment
 * <bytes> is printable ASCII with \r \n \t \\ \xHH escapes. */
#ifndef SLUICE_TEST_TRANSCRIPT_H
#define SLUICE_TEST_TRANSCRIPT_H

#include <stddef.h>
#include <stdint.h>

#include "sluice/smtp.h"

struct record {
	enum sl_stream dir;
	size_t gap;    /* > 0: a gap of this many bytes, data unused */
	uint8_t *data;
	size_t len;
};

struct transcript {
	struct record *rec;
	size_t n, cap;
};

/* NULL with a message on stderr when the text is malformed. */
struct transcript *transcript_parse(const char *text, size_t len);
/* path relative to $SLUICE_SOURCE_ROOT/tests/data/smtp/ */
struct transcript *transcript_load(const char *path);
void transcript_free(struct transcript *t);

/* Reads a whole file relative to $SLUICE_SOURCE_ROOT (NULL when missing). */
uint8_t *read_source_file(const char *relpath, size_t *len);

#endif
