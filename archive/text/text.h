/* Text rules of the full-text index, shared by the indexer and the query parser so a
 * word is the same thing on both sides (docs/archive.md "Words"):
 *  - text is case folded (Unicode full case folding, per code point);
 *  - a word is a maximal run of alphanumeric code points outside the CJK ranges, kept
 *    when at most AR_WORD_MAX bytes of UTF-8;
 *  - a run of CJK code points (Han, kana, Hangul) gives its overlapping bigrams, or the
 *    one character when the run is a single character;
 *  - everything else separates; invalid UTF-8 bytes separate too.
 * Each token is one position. */
#ifndef ARCHIVE_TEXT_H
#define ARCHIVE_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sluice/strbuf.h"

#define AR_WORD_MAX 64

typedef void (*ar_token_fn)(void *ctx, const char *tok, size_t len);

void ar_tokenize(const char *s, size_t n, ar_token_fn fn, void *ctx);

/* Case fold s into out (appended), for field values matched whole (addresses). */
void ar_fold(const char *s, size_t n, struct sl_strbuf *out);

bool ar_is_cjk(uint32_t cp);
bool ar_is_alnum(uint32_t cp);

/* Decode one UTF-8 code point at s (n > 0 bytes left). Returns its length, or 0 for
 * an invalid byte (skip one). */
size_t ar_utf8_decode(const uint8_t *s, size_t n, uint32_t *cp);
size_t ar_utf8_encode(uint32_t cp, char out[4]);

/* HTML to text: tags become a space, script/style/comments vanish, the common
 * entities and numeric references are decoded. */
void ar_html_to_text(const char *s, size_t n, struct sl_strbuf *out);

#endif
