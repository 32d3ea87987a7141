/* The oracle of fuzz_dp_stream (dp_stream_world.h says what it checks): what each
 * engine session was fed (feed_tap), the engine's messages and verdicts (a dump sink
 * and the counters), the checks on what the endpoints' applications read, and the
 * reports. Private to the world. */
#ifndef SLUICE_DP_STREAM_ORACLE_H
#define SLUICE_DP_STREAM_ORACLE_H

#include "dp_stream_world.h"

/* A line of the trace printed with a violation (SLUICE_DP_STREAM_TRACE: all of them,
 * as they come). */
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The oracle found the dataplane letting something through: report and abort (how a
 * libFuzzer target reports). */
void violation(const struct world *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
/* A harness invariant broke: a bug in the harness, not in the dataplane. */
void harness_bug(const char *what) __attribute__((noreturn));
void *xmalloc(size_t n);

void oracle_init(struct world *w);
void oracle_free(struct world *w);

/* The flow a frame comes from: flows_created when it ran (one port pair: the latest). */
unsigned current_epoch(const struct world *w);
/* Messages that ended since the last call get their verdicts (from the counters). */
void attribute_messages(struct world *w);
/* The dataplane sent the client bytes of its own (a verdict's reply) at seq. */
void record_injected(struct world *w, unsigned epoch, uint32_t seq, const uint8_t *p, size_t n);

/* Bytes an endpoint's application read at seq, from the stream of direction dir. */
void check_read(struct world *w, struct endpoint *e, int dir, uint32_t seq,
                const uint8_t *p, size_t n);
/* The server's application completed a message (its ssm_ops commit). */
void app_commit(void *arg, const uint8_t *msg, size_t n);

/* SLUICE_DP_STREAM_SUMMARY: one line per run (what a seed reached). */
void summary(const struct world *w);

#endif
