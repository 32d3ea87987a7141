/* The archive journal sink: each message that passed (and the server took, or whose
 * answer never came) or was quarantined becomes one journal record (envelope, client
 * and server, verdict and rules, raw bytes) handed to libsluice-journal's spooling
 * sender (archive/journal/journal.h), which never blocks: it queues in memory, spools
 * durably and delivers to sluice-archive on its own threads. The message streams to a
 * temporary file while it arrives; only at commit is it read back for the record. */
#ifndef SLUICE_DP_ARCHIVESINK_H
#define SLUICE_DP_ARCHIVESINK_H

#include "sink.h"

struct sl_journal;

/* One sender for the whole process (its submit is thread-safe); each worker gets a sink
 * with its own tag for temporary files in tmpdir. */
int dp_archivesink_open(struct dp_sink *s, struct sl_journal *j, const char *tmpdir,
                        const char *tag, char *err, size_t errlen);

#endif
