/* A MIME parser that charges the allocator of its owner (the SMTP session) instead of
 * its own: the owner reports failures (engine.memory) and counts the bytes. */
#ifndef SLUICE_MIME_MEM_H
#define SLUICE_MIME_MEM_H

#include "../core/mem.h"
#include "sluice/mime.h"

struct sl_mime *sl_mime_new_mem(const struct sl_limits *lim, sl_event_fn fn, void *ctx,
                                struct sl_mem *mem);

/* The parser as create() left it, for the owner's next connection: what messages grew
 * (deeper frames, boundaries, filenames, charset converters, header buffers over 1 KiB,
 * the extractor's deeper levels, inflaters and XML tokenizers) is freed; the struct, its
 * frame slots, four shallowest frames, line buffer, digest, header buffers up to 1 KiB,
 * the header parser's stash of temporary strings and the extractor with its first level
 * are kept. Not for a failed parser. */
void sl_mime_recycle(struct sl_mime *m);

#endif
