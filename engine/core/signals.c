#include "sluice/signals.h"

#include <string.h>

static const struct {
	const char *name;
	const char *doc;
} signals[] = {
#define SL_SIGNAL(id, name, doc) [id] = {name, doc},
#include "sluice/signals.def"
#undef SL_SIGNAL
};

const char *sl_signal_name(enum sl_signal s)
{
	return s < SL_SIG_COUNT ? signals[s].name : "unknown";
}

const char *sl_signal_doc(enum sl_signal s)
{
	return s < SL_SIG_COUNT ? signals[s].doc : "";
}

enum sl_signal sl_signal_lookup(const char *name)
{
	for (int i = 0; i < SL_SIG_COUNT; i++)
		if (strcmp(signals[i].name, name) == 0)
			return (enum sl_signal)i;
	return SL_SIG_COUNT;
}
