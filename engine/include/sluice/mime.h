/* The streaming MIME parser: fed the raw bytes of one message in any chunking, it emits
 * HEADER / PART_BEGIN / PART_DATA / PART_TEXT / PART_END / SIGNAL events
 * (sluice/event.h) as bytes arrive. Memory per parser is bounded by sl_limits; nothing
 * buffers a whole message or a whole part. */
#ifndef SLUICE_MIME_H
#define SLUICE_MIME_H

#include <stddef.h>
#include <stdint.h>

#include <stdbool.h>

#include "sluice/event.h"
#include "sluice/limits.h"
#include "sluice/memacct.h"

struct sl_mime;

/* NULL when out of memory. */
struct sl_mime *sl_mime_new(const struct sl_limits *lim, sl_event_fn fn, void *ctx);
/* Every heap byte of the parser charged to acct (copied; NULL: none) when it is
 * allocated (sluice/memacct.h). */
struct sl_mime *sl_mime_new_acct(const struct sl_limits *lim, sl_event_fn fn, void *ctx,
                                 const struct sl_memacct *acct);
void sl_mime_free(struct sl_mime *m);

/* Load every charset converter the parser may use (glibc gconv modules), once per
 * process, before the threads that parse start: a charset's first use otherwise reads
 * its module from disk (dlopen) on the thread that meets it -- a worker core. Kept
 * loaded until exit. 0, or -1 with err set when a converter is missing. */
int sl_mime_preload_charsets(char *err, size_t errlen);

/* True once the parser ran out of memory (its account refused or malloc failed): it
 * raised engine.memory once and emits nothing more (open parts get no PART_END); reset,
 * feed and finish do nothing after that. Inside an SMTP session the session raises the
 * signal and sl_smtp_failed() says it. */
bool sl_mime_failed(const struct sl_mime *m);

/* Start a new message; `txn` is copied into every event. */
void sl_mime_reset(struct sl_mime *m, uint32_t txn);

void sl_mime_feed(struct sl_mime *m, const uint8_t *p, size_t n);

/* End of the message: closes open entities (raising mime.unclosed_multipart where a
 * closing boundary is missing) and emits their PART_END events. */
void sl_mime_finish(struct sl_mime *m);

/* Heap bytes held now: exactly what is charged (for a parser inside an SMTP session,
 * sl_smtp_memory() counts them). */
size_t sl_mime_memory(const struct sl_mime *m);

#endif
