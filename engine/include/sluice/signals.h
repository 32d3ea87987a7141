/* Named anomalies the engine raises. Rules refer to them by name (`smtp.smuggling`),
 * so the list is the contract: every signal is declared once, in engine/include/sluice/signals.def,
 * with a line of documentation, and docs/signals.md lists them. */
#ifndef SLUICE_SIGNALS_H
#define SLUICE_SIGNALS_H

#include <stddef.h>

enum sl_signal {
#define SL_SIGNAL(id, name, doc) id,
#include "sluice/signals.def"
#undef SL_SIGNAL
	SL_SIG_COUNT
};

const char *sl_signal_name(enum sl_signal s);
const char *sl_signal_doc(enum sl_signal s);
/* Returns the signal with this name, or SL_SIG_COUNT when there is none. */
enum sl_signal sl_signal_lookup(const char *name);

#endif
