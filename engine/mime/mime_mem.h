/* A MIME parser that charges the allocator of its owner (the SMTP session) instead of
 * its own: the owner reports failures (engine.memory) and counts the bytes. */
#ifndef SLUICE_MIME_MEM_H
#define SLUICE_MIME_MEM_H

#include "../core/mem.h"
#include "sluice/mime.h"

struct sl_mime *sl_mime_new_mem(const struct sl_limits *lim, sl_event_fn fn, void *ctx,
                                struct sl_mem *mem);

#endif
