/* A memory account: who pays for the heap an engine object (an SMTP session and its MIME
 * parser, a standalone MIME parser) takes while bytes are fed. The object asks charge()
 * before each allocation and calls release() for what it frees; a false from charge(),
 * like a failed malloc, puts the object into its failed state (signal engine.memory,
 * nothing more interpreted; sl_smtp_failed(), sl_mime_failed()). It never aborts.
 *
 * Sizes are the requested sizes (not what the allocator rounds them to). Opaque
 * allocations are charged by documented estimates: an iconv descriptor SL_MEMACCT_ICONV
 * bytes (glibc 2.36 allocates 32,688 for every charset we measured). Per-thread buffers shared by every parser of a thread (the
 * 16 KiB decode buffer, the header parser's first 16 KiB arena block) and process-wide
 * tables (pinned iconv modules, double-byte charset caches) are charged to nobody.
 *
 * charge() and release() are called from inside the object's calls (feed, gap, close,
 * free, new), never from an event callback's context, on the caller's thread. */
#ifndef SLUICE_MEMACCT_H
#define SLUICE_MEMACCT_H

#include <stdbool.h>
#include <stddef.h>

struct sl_memacct {
	bool (*charge)(void *ctx, size_t n); /* false: refused, nothing was allocated */
	void (*release)(void *ctx, size_t n);
	void *ctx;
};

#define SL_MEMACCT_ICONV (34 * 1024)

#endif
