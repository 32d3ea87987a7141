/* One pass over a header field's value (after the colon and the leading blanks) that
 * finds what the header parser needs to know before it decodes: where the line ends
 * are, NUL bytes, "=?" and bytes >= 0x80. Used by mime_headers.c. */
#ifndef SLUICE_MIME_HDRSCAN_H
#define SLUICE_MIME_HDRSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sluice/strbuf.h"

struct sl_hdr_scan {
	size_t len;   /* the value without its final run of CR and LF bytes */
	bool folded;  /* a CR or LF before len: the value must be copied without them */
	bool nul;     /* a NUL byte */
	bool encoded; /* "=?" in the value once every CR and LF is removed */
	bool high;    /* a byte >= 0x80 */
};

/* Both: AVX2 when the CPU has it (checked once at start-up), else byte by byte (the
 * _scalar versions, for the tests). */
void sl_hdr_scan(const uint8_t *v, size_t n, struct sl_hdr_scan *s);
void sl_hdr_scan_scalar(const uint8_t *v, size_t n, struct sl_hdr_scan *s);
/* Appends v[0, n) to out without its CR and LF bytes (header_fetch_parse). */
void sl_hdr_unfold(const uint8_t *v, size_t n, struct sl_strbuf *out);
void sl_hdr_unfold_scalar(const uint8_t *v, size_t n, struct sl_strbuf *out);

#endif
