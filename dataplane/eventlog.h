/* The event log ([events] file): workers hand each verdict's JSON line to a writer
 * thread through per-worker rings of preallocated slots (no file I/O, lock or malloc on
 * a worker; a full ring drops the line, counted as events_dropped). The writer appends
 * to the file, rotates it past max_size (FILE.1 .. FILE.keep) and reopens it on SIGHUP
 * (dp_eventlog_reopen), so logrotate and log shippers work as with Suricata's eve.json. */
#ifndef SLUICE_DP_EVENTLOG_H
#define SLUICE_DP_EVENTLOG_H

#include "config/config.h"

struct dp_worker;
struct dp_eventlog;

/* NULL with a message on stderr when the file cannot be opened. */
struct dp_eventlog *dp_eventlog_open(const struct dp_config *cfg, struct dp_worker *workers,
                                     unsigned nworkers);
/* Start the writer thread and point each worker's inspector at its ring. */
int dp_eventlog_start(struct dp_eventlog *l);
/* Drain what is queued, stop the thread, close the file. */
void dp_eventlog_close(struct dp_eventlog *l);
/* From a signal handler: reopen the file at the next turn. */
void dp_eventlog_reopen(void);

#endif
