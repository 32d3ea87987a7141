/* A stored message: its raw bytes, with the encoded bodies of deduplicated parts
 * replaced by references to the part's decoded bytes (stored once, by SHA-256).
 * A reference is only made when re-encoding the decoded bytes reproduces the raw
 * body region byte for byte; export rebuilds the exact raw message. */
#ifndef ARCHIVE_SKELETON_H
#define ARCHIVE_SKELETON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sluice/strbuf.h"

#define AR_DEDUP_MIN_BYTES 512  /* smaller parts stay inline */

struct ar_part_ref {
	uint64_t raw_begin, raw_end;  /* encoded body region in the raw message */
	uint8_t sha[32];              /* SHA-256 of the decoded bytes */
	const uint8_t *data;          /* the decoded bytes */
	size_t len;
	bool used;                    /* set by build: the region became a reference */
};

/* refs sorted by raw_begin, not overlapping (leaf parts). Appends the skeleton to
 * out; sets refs[i].used for regions verified and replaced. */
void ar_skeleton_build(const uint8_t *raw, size_t n, struct ar_part_ref *refs,
	size_t nrefs, struct sl_strbuf *out);

/* Fetches a part's decoded bytes (malloc'd) or NULL. */
typedef uint8_t *(*ar_part_fetch_fn)(void *ctx, const uint8_t sha[32], size_t *len);

/* Rebuild the raw message into out. 0, or -1 with a reason. */
int ar_skeleton_rebuild(const uint8_t *skel, size_t n, ar_part_fetch_fn fetch, void *ctx,
	struct sl_strbuf *out, char *err, size_t errlen);

/* Calls fn with the SHA-256 of every part the skeleton refers to. 0, or -1 when it
 * is damaged. */
int ar_skeleton_parts(const uint8_t *skel, size_t n, void (*fn)(void *ctx, const uint8_t sha[32]),
	void *ctx);

/* Base64 with line length L (0: one line), CRLF or LF, optional final line end. */
void ar_base64_layout(const uint8_t *data, size_t len, unsigned line_len, bool crlf,
	bool trailing_eol, struct sl_strbuf *out);

#endif
