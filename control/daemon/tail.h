/* The last lines of a file (an event log), read from its end. */
#ifndef SLUICE_CONTROL_TAIL_H
#define SLUICE_CONTROL_TAIL_H

#include <stddef.h>

#include "sluice/strbuf.h"

/* Append the last n complete lines of path (at most max_bytes of them: older lines are
 * left out first) to out, each with its newline. The number of lines appended, or -1
 * with err. A line still being written (no newline yet) is not included. */
long tail_lines(const char *path, unsigned n, size_t max_bytes, struct sl_strbuf *out,
                char *err, size_t errlen);

#endif
