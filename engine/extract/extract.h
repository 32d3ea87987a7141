/* The extraction stage (docs/extraction.md): between MIME decoding and its consumers.
 * It watches a parser's PART_BEGIN / PART_DATA / PART_END events; a leaf part whose
 * bytes are an archive (ZIP, gzip, tar) or a PDF is opened as its bytes arrive, and what
 * it holds is emitted as MEMBER_BEGIN / MEMBER_DATA / MEMBER_END events inside that part
 * (the text of OOXML and ODF document parts and of PDF content streams as UTF-8, other
 * members as bytes), with SIGNAL events for encryption, damage, formats not opened and
 * every limit hit.
 *
 * Memory: charged to the owner's allocator (the MIME parser's, so an SMTP session's
 * account) and capped by sl_limits.extract_max_memory; levels, inflaters and XML parsers
 * are made on first use and kept for the next message: no allocation per packet once
 * warm. Work per message is capped by extract_max_work (the engine has no clock: the
 * bytes read and written by every level bound the time). Internal to engine/. */
#ifndef SLUICE_EXTRACT_H
#define SLUICE_EXTRACT_H

#include <stdbool.h>

#include "sluice/event.h"
#include "sluice/limits.h"

struct sl_mem;
struct sl_extract;

/* NULL when out of memory or when lim->extract_depth is 0 (extraction off). Events go
 * to out(ctx, ev), called with whatever allocator is current. */
struct sl_extract *sl_extract_new(const struct sl_limits *lim, struct sl_mem *mem,
                                  sl_event_fn out, void *ctx);
void sl_extract_free(struct sl_extract *x);
/* A new message: the per-message caps start again. */
void sl_extract_reset(struct sl_extract *x);
/* ... and for another connection: the levels archives grew and what they hold are freed
 * too, but for the first level's struct (every leaf part is read at level 0). */
void sl_extract_recycle(struct sl_extract *x);
/* An event of the MIME parser, before it is delivered (PART_END: members end first). */
void sl_extract_before(struct sl_extract *x, const struct sl_event *ev);
/* ... and after it was delivered (PART_BEGIN, PART_DATA: members follow). */
void sl_extract_after(struct sl_extract *x, const struct sl_event *ev);
/* Heap held now. */
size_t sl_extract_memory(const struct sl_extract *x);

/* Fuzzers: read level 0 as this format whatever its first bytes ("zip", "tar", "gzip",
 * "xml"; NULL: sniff). */
void sl_extract_force(struct sl_extract *x, const char *format);

#endif
