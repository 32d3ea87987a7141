/* Test/debug (inline --dump-messages): every client byte a flow fed to the engine,
 * appended in order to DIR/flows/<client-ip>_<client-port>.client, so a test can check
 * that what the server's application read is what the engine consumed.
 *
 * The worker only copies the bytes, with the flow's client address, into chunks of a
 * pool allocated at start and pushes them on a single-producer/single-consumer ring
 * (spsc.h); the sink thread (sinkthread.h) appends each chunk to its file and gives it
 * back on a second ring. No file I/O, lock or malloc on the worker. Overload never
 * waits: no free chunk means those bytes are not dumped, dump_flow_overflow counts the
 * write and that flow's file lacks them. dump_flow_queued counts the chunks handed
 * over, dump_flow_failed those the sink thread could not append. No DPDK. */
#ifndef SLUICE_DP_FLOWDUMP_H
#define SLUICE_DP_FLOWDUMP_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/counters.h"
#include "sinkthread.h"

/* client bytes per chunk: a full-sized segment's payload fits one */
#define DP_FLOWDUMP_CHUNK 2048u

struct dp_flowdump;

/* Creates DIR/flows; a pool of `bytes` of chunks (at least one); ctr gets the counts.
 * NULL with a message in err. */
struct dp_flowdump *dp_flowdump_new(const char *dir, uint64_t bytes, struct dp_counters *ctr,
                                    char *err, size_t errlen);

/* Worker, as a dp_ctx feed_tap: the client bytes (dir SL_CLIENT) of flow sf go into the
 * queue. */
void dp_flowdump_feed(void *arg, const void *sf, int dir, const uint8_t *p, size_t n);

/* Sink thread: append what is queued to the files; the chunks handled. */
unsigned dp_flowdump_service(struct dp_flowdump *d);
/* The same as the sink thread's work. */
struct dp_sink_work dp_flowdump_work(struct dp_flowdump *d);

/* After the sink thread stopped (d may be NULL). */
void dp_flowdump_free(struct dp_flowdump *d);

#endif
