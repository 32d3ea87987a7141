/* Putting a version (or a knob) on a set of dataplanes, all or nothing (docs/control.md):
 * each dataplane swaps atomically; when one refuses, the others are put back on the
 * version they ran before. A dataplane that is down or does not answer in time is
 * pending: it gets the version when it answers again (its link's thread). */
#ifndef SLUICE_CONTROL_APPLY_H
#define SLUICE_CONTROL_APPLY_H

#include <jansson.h>

#include "ctl.h"
#include "link.h"

/* The dataplanes a request names in "dataplanes": [NAME, ...], or all of them. Their
 * count, or -1 with err naming the one that is not configured. out holds nlinks. */
int apply_targets(struct ctl *c, const json_t *req, struct dp_link **out, char *err, size_t errlen);

enum apply_result {
	APPLY_OK,        /* every target runs it */
	APPLY_PENDING,   /* no refusal; some targets will get it when they answer */
	APPLY_REFUSED,   /* a target refused: every target back where it was */
	APPLY_FAILED,    /* the state could not be saved: nothing changed */
};
const char *apply_result_name(enum apply_result r);

/* Make `version` what the targets run. One result object per target is appended to
 * `results`: {dataplane, result, detail, swap_ms, running}. */
enum apply_result apply_version(struct ctl *c, struct dp_link **t, int n, int64_t version,
                                json_t *results, char *err, size_t errlen);

/* Bring the targets to what the state now says (a knob changed): results as above. */
enum apply_result apply_converge(struct ctl *c, struct dp_link **t, int n, json_t *results);

#endif
