/* The directory journal sink: each message that passed (and the server accepted, or
 * whose answer never came) or was quarantined becomes DIR/<id>.eml plus DIR/<id>.json
 * (addresses, envelope, server reply, outcome, verdict). Files appear complete (written
 * under a temporary name, then renamed). One sink per worker (own file names). */
#ifndef SLUICE_DP_DIRSINK_H
#define SLUICE_DP_DIRSINK_H

#include "sink.h"

/* tag makes this sink's names unique (e.g. the worker number). */
int dp_dirsink_open(struct dp_sink *s, const char *dir, const char *tag, char *err, size_t errlen);

#endif
