/* Caps that bound the engine's memory per session. Crossing one raises a signal and
 * the engine goes on in a documented degraded way (see docs/engine.md); it never grows
 * without bound. */
#ifndef SLUICE_LIMITS_H
#define SLUICE_LIMITS_H

#include <stddef.h>
#include <stdint.h>

struct sl_limits {
	size_t max_line;          /* SMTP command/reply line, MIME header line (bytes) */
	size_t max_header_bytes;  /* one unfolded header field */
	size_t max_headers;       /* header fields per entity */
	unsigned max_depth;       /* multipart / message/rfc822 nesting */
	size_t max_parts;         /* entities per message */
	size_t max_rcpts;         /* RCPT per transaction kept in the envelope */
	size_t max_boundary;      /* multipart boundary length (RFC 2046 says 70) */
	size_t max_pending;       /* client bytes held while waiting for a reply (DATA) */
	size_t max_filename;      /* decoded filename bytes */
	/* extraction (docs/extraction.md): archives and documents opened in the stream */
	unsigned extract_depth;      /* containers opened inside one another; 0: off */
	uint64_t extract_max_bytes;  /* bytes extracted per message */
	size_t extract_max_members;  /* members per message */
	unsigned extract_max_ratio;  /* a member's bytes out per compressed byte in */
	uint64_t extract_max_work;   /* bytes read and written by every level: bounds time */
	size_t extract_max_memory;   /* heap held by the extraction stage */
	bool skip_part_sha256;    /* PART_END's part->sha256 is left zero: the policy hashes
	                           * what its lists need itself (the dataplane); set it only
	                           * where nothing reads part->sha256 */
	bool inline_mode;         /* an inline device forwards what the session read: it never
	                           * assumes a reply (sl_smtp_client_room(), docs/engine-smtp.md) */
};

/* Defaults: 4096-byte lines, 64 KiB headers, 1000 fields, depth 32, 10000 parts,
 * 1000 recipients, 256-byte boundaries, 256 KiB pending, 1024-byte filenames, not
 * inline (captures, offline tools); extraction on: depth 4, 16 MiB extracted, 1000
 * members, ratio 200, 64 MiB of work, 2 MiB of memory per message. */
void sl_limits_default(struct sl_limits *lim);

#endif
