/* Charsets: labels as written in mail resolved the way Python's codecs.lookup() does,
 * one-shot decoding of header text with Python's semantics, and the streaming
 * conversion of text bodies to UTF-8 (iconv). */
#ifndef SLUICE_MIME_CHARSET_H
#define SLUICE_MIME_CHARSET_H

#include <iconv.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sluice/strbuf.h"
#include "decode.h"

enum sl_cs_kind {
	SL_CS_UNKNOWN,
	SL_CS_ASCII,
	SL_CS_UTF8,
	SL_CS_LATIN1,
	SL_CS_ICONV,
};

struct sl_cs {
	enum sl_cs_kind kind;
	const char *iconv_name; /* SL_CS_ICONV only */
};

/* Resolve a label. `body` selects the superset used for body text (gb2312 -> GB18030,
 * big5 -> CP950, ...) rather than the codec Python would use for headers. */
struct sl_cs sl_charset_lookup(const char *label, size_t n, bool body);

/* A few iconv descriptors kept open per parser: opening one per part is costly. */
#define SL_ICONV_CACHE 4
struct sl_iconv_cache {
	struct {
		const char *name;   /* static string from the alias table */
		iconv_t cd;
		uint64_t used;
	} e[SL_ICONV_CACHE];
	uint64_t tick;
};
void sl_iconv_cache_init(struct sl_iconv_cache *c);
void sl_iconv_cache_free(struct sl_iconv_cache *c);
/* Empty c for another flow: its descriptors go to the thread's stash (iconv_stash.c),
 * uncharged, else are closed. */
void sl_iconv_cache_recycle(struct sl_iconv_cache *c);
/* A descriptor from `from` to UTF-8 in its initial state, or (iconv_t)-1. */
iconv_t sl_iconv_cache_get(struct sl_iconv_cache *c, const char *from);
/* The calling thread's stash of open descriptors (iconv_stash.c): take one from
 * `from` ((iconv_t)-1 when none), or put one back (false when full). */
iconv_t sl_iconv_stash_take(const char *from);
bool sl_iconv_stash_put(const char *from, iconv_t cd);

/* Decode header text (an RFC 2047 word, an RFC 2231 value) as Python's
 * bytes.decode(charset, 'surrogateescape') would, appending to b: decodable bytes
 * become UTF-8, undecodable ones are appended raw (sl_utf8_sanitize later turns them
 * into U+FFFD, as email's _sanitize does). Unknown charsets append the bytes raw.
 * Returns false when the charset is unknown. */
bool sl_charset_decode_header(struct sl_iconv_cache *cache, struct sl_strbuf *b,
                              const char *label, size_t label_len,
                              const uint8_t *p, size_t n, bool *undecodable);
/* As above; *ascii_undecodable is set when an undecodable byte is ASCII, which
 * Python's surrogateescape cannot represent (the decode then raises). */
bool sl_charset_decode_header2(struct sl_iconv_cache *cache, struct sl_strbuf *b,
                               const char *label, size_t label_len, const uint8_t *p,
                               size_t n, bool *undecodable, bool *ascii_undecodable);

/* Append p as valid UTF-8: every maximal invalid subpart becomes one U+FFFD, as
 * Python's bytes.decode('utf-8', 'replace') does. Returns the number replaced. */
size_t sl_utf8_sanitize(struct sl_strbuf *b, const uint8_t *p, size_t n);
/* Length of the valid UTF-8 prefix of p. */
size_t sl_utf8_valid_prefix(const uint8_t *p, size_t n);
/* How far p is certainly valid UTF-8, in 32-byte steps (AVX2; the caller checks the
 * CPU): a sequence boundary, at most the length of the valid prefix. */
size_t sl_utf8_valid_blocks_avx2(const uint8_t *p, size_t n);

/* Streaming conversion of a text body to UTF-8. Invalid input becomes U+FFFD. */
struct sl_dbcs;
struct sl_textconv {
	enum sl_cs_kind kind;
	iconv_t cd;
	struct sl_dbcs *dbcs; /* double-byte charsets: iconv's answers cached per pair */
	uint8_t carry[32];  /* an incomplete sequence waiting for its next bytes */
	size_t ncarry;
	size_t replaced;    /* invalid sequences replaced so far */
	/* iconv charsets without a pair cache go to iconv in pieces cut at fixed places
	 * of the text (every sizeof seg bytes), never where the input happened to be
	 * cut: stateful ones (UTF-7, ISO-2022) otherwise decoded differently by chunking */
	uint8_t seg[64];
	size_t nseg;
};
void sl_textconv_open(struct sl_textconv *t, struct sl_iconv_cache *cache, struct sl_cs cs);
void sl_textconv_feed(struct sl_textconv *t, const uint8_t *p, size_t n, sl_sink_fn sink,
                      void *ctx);
void sl_textconv_finish(struct sl_textconv *t, sl_sink_fn sink, void *ctx);

#endif
