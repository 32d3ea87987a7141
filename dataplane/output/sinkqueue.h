/* The queued sink: file I/O off the worker. A worker's journal sink is wrapped in a
 * dp_sinkq whose begin/write/commit copy the message into chunks of a pool allocated
 * at start and push them on a single-producer/single-consumer ring (spsc.h); the sink
 * thread (sinkthread.h) empties the rings of all workers into the real sinks
 * (dirsink, archivesink) and gives chunks back on a second ring. commit deep-copies
 * the metadata (sinkmeta.h) and answers DP_SINK_QUEUED; the sink thread counts
 * journal_ok/skipped/failed in the worker's counters (the worker never writes them).
 * The --dump-messages sink is queued the same way, with its dump_* counters.
 *
 * Overload never waits: no free chunk or message slot means that message's copy is
 * cut (truncated: the real sink discards it, journal_failed) and journal_overflow
 * counts it. The rings hold every chunk and slot there is, so a push never fails.
 *
 * [journal] required: reserve answers on the worker from the copy's own state (not
 * truncated) and the real sink's thread-safe reserve_room; the room travels with the
 * commit. A message holds a slot (small) from begin to commit and at least one chunk
 * from its first byte on. No DPDK. */
#ifndef SLUICE_DP_SINKQUEUE_H
#define SLUICE_DP_SINKQUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "pipeline/counters.h"
#include "sink.h"
#include "sinkthread.h"

/* message bytes per pooled chunk; a message's metadata (envelope, verdict JSON, rule
 * ids) takes one more at commit and must fit in it */
#define DP_SINKQ_CHUNK (16u * 1024)

struct dp_sinkq;

/* The counters a queue writes, the journal's or the dump's: queued and overflow on the
 * worker, ok/skipped/failed on the sink thread. */
struct dp_sinkq_counters {
	uint64_t *queued, *overflow, *ok, *skipped, *failed;
};
struct dp_sinkq_counters dp_sinkq_journal_counters(struct dp_counters *c);
struct dp_sinkq_counters dp_sinkq_dump_counters(struct dp_counters *c);

/* Wrap *inner (owned from now on; its ops run on the sink thread only): *out is the
 * sink the worker uses. `messages` in flight at most, `bytes` of chunks; ctr's
 * counters (in the worker's dp_counters) get the counts. NULL when the memory cannot
 * be had. */
struct dp_sinkq *dp_sinkq_new(const struct dp_sink *inner, unsigned messages, uint64_t bytes,
                              struct dp_sinkq_counters ctr, struct dp_sink *out);

/* Sink thread: hand what is queued to the real sink; the items handled. */
unsigned dp_sinkq_service(struct dp_sinkq *q);

/* The same as the sink thread's work. */
struct dp_sink_work dp_sinkq_work(struct dp_sinkq *q);

#endif
