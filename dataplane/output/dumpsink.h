/* --dump-messages: every message as DIR/<n>.eml (those the server accepted or whose
 * answer never came) and one DIR/verdicts.jsonl line per message; offline for a
 * capture, inline (test/debug) per worker. */
#ifndef SLUICE_DP_DUMPSINK_H
#define SLUICE_DP_DUMPSINK_H

#include "sink.h"

/* Creates dir if missing. 0, or -1 with a message in err. */
int dp_dumpsink_open(struct dp_sink *s, const char *dir, char *err, size_t errlen);
/* Messages written, messages seen. */
void dp_dumpsink_counts(const struct dp_sink *s, uint64_t *written, uint64_t *seen);

#endif
