/* The parts of `sluicectl rules` (cmd_rules.c dispatches). */
#ifndef SLUICECTL_RULES_H
#define SLUICECTL_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sluice/policy.h"

struct sl_policy *rules_load(const char *path);
void rules_print_diag(const struct sl_policy_diag *d);

int rules_test(int argc, char **argv);
/* Against a running sluice-control (rules_push.c, rules_versions.c). */
int rules_push(int argc, char **argv);
int rules_list(int argc, char **argv);
int rules_diff(int argc, char **argv);
int rules_rollback(int argc, char **argv);
/* The built-in synthetic corpus of `rules cost` (rules_corpus.c). */
size_t rules_builtin_corpus_size(void);
uint8_t *rules_builtin_corpus(size_t i, size_t *len);
int rules_cost(int argc, char **argv);
/* SpamAssassin rule files to policy (rules_import_sa.c, sa_cf.c, sa_regex.c). */
int rules_import_sa(int argc, char **argv);
/* A ClamAV database directory to list files and policy (rules_import_clamav.c). */
int rules_import_clamav(int argc, char **argv);

/* Envelope options for feeding a message file "as the dataplane will". */
struct rules_envelope_opts {
	const char *helo;
	const char *mail_from;      /* NULL: the From: header's address */
	const char **rcpt;          /* NULL: To:, Cc: and Bcc: addresses */
	size_t nrcpt;
	const char *client_ip;      /* NULL: unknown */
};

/* Runs one message (the bytes of a .eml file) through the SMTP session and the MIME
 * parser as a client would send it (EHLO, MAIL, RCPT, DATA, the file dot-stuffed, end
 * of data), with the envelope from the options or the message's headers, and every
 * event into `fn`. Returns false with *err when the session saw no end of data. */
bool rules_feed_message(const uint8_t *msg, size_t len, const struct rules_envelope_opts *o,
                        void (*fn)(void *ctx, const struct sl_event *ev), void *ctx,
                        const char **err);

#endif
