/* Prometheus text exposition (format 0.0.4) of the dataplanes' counters and the
 * control's own (docs/control.md, "Metrics"). Samples are gathered first and written
 * grouped by family, as the format requires, whatever order they came in. */
#ifndef SLUICE_CONTROL_PROMFMT_H
#define SLUICE_CONTROL_PROMFMT_H

#include <jansson.h>

#include "sluice/strbuf.h"

struct prom;

struct prom *prom_new(void);
void prom_free(struct prom *p);

/* One sample. type is "counter" or "gauge"; labels alternate name, value and end with
 * NULL (NULL for none). A family keeps the type and help of its first sample. */
void prom_add(struct prom *p, const char *family, const char *type, const char *help,
              const char *const *labels, double value);

/* A dataplane's `stats` answer (docs/dataplane.md, the /sluice/stats JSON) as sluice_dp_*
 * families, every sample labelled dataplane="NAME". Keys it does not know become
 * sluice_dp_<path>_total counters, so a counter added to the dataplane is exported
 * without a change here. */
void prom_add_dp_stats(struct prom *p, const char *dp, const json_t *stats);

/* The exposition text. False when memory ran out (out->failed). */
bool prom_write(const struct prom *p, struct sl_strbuf *out);

/* A metric name from any text: [a-zA-Z0-9_:], others '_', no leading digit. */
void prom_name(const char *in, char *out, size_t outlen);

#endif
