/* sluicectl spam: the statistical classifier's offline side (docs/spam.md). */
#ifndef SLUICECTL_SPAM_H
#define SLUICECTL_SPAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sluice/bayes.h"

/* Every message of `path`, one call each: a directory (each regular file in it, by
 * name, one message; a file starting "From " an mbox), an mbox file, or one message
 * file. false (after printing why) when `path` cannot be read. */
bool spam_each_message(const char *path,
                       bool (*fn)(void *ctx, const char *name, const uint8_t *msg, size_t len),
                       void *ctx);
/* The tokens of one message as the engine makes them, into t; false (after saying why,
 * naming the message) when the SMTP session cannot read it. */
bool spam_tokens_of(struct sl_bayes_tokens *t, const char *name, const uint8_t *msg, size_t len);

int spam_train(int argc, char **argv);
int spam_score(int argc, char **argv);

#endif
