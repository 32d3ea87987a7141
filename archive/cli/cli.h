/* sluice-archive commands and what they share. */
#ifndef ARCHIVE_CLI_H
#define ARCHIVE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "ingest.h"
#include "message.h"
#include "store.h"
#include "summary.h"

int cmd_serve(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_search(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_reindex(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_search_latency(int argc, char **argv);
int cmd_journal_send(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_quarantine(int argc, char **argv);
int cmd_release(int argc, char **argv);
int cmd_hold(int argc, char **argv);
int cmd_purge(int argc, char **argv);
int cmd_api(int argc, char **argv);
int cmd_rekey(int argc, char **argv);

/* Open the store with the key file (--key FILE, else $SLUICE_ARCHIVE_KEY): read-write
 * when `write` (or when nothing else holds it), else alongside a running server as a
 * read-only secondary. Prints the error. */
struct ar_store *cli_open(const char *dir, bool write, bool create);
/* The key file named by --key (main takes it out of argv) or the environment. */
extern const char *cli_key_path;

/* 0 when the store's index has this program's format; else prints that `reindex` is
 * due and returns -1 (searching an index of another format would give wrong hits). */
int cli_check_index(struct ar_store *s);
/* Say on stderr how many acknowledged copies a search cannot find yet (indexer.h). */
void cli_note_index_lag(struct ar_store *s);

/* The audit entry for this command (audit.h), before any result is shown: 0, or -1
 * after printing why (the command must then refuse). */
int cli_audit(struct ar_store *s, const char *action, const char *detail_json);

/* Rebuild the index families from the messages and copies (reindex); 0 or 1. */
int cli_reindex(struct ar_store *s);

/* The arguments "--data DIR [--json]" (nothing else): 0, or -1 (print the usage). */
int cli_data_json_args(int argc, char **argv, const char **data, bool *json);

/* The relay's TLS options (release, api): consumes argv[*i] (and its value) when it is
 * one of them; _valid: the combination makes sense (cert with key, all need a CA). */
struct ar_smtp_tls;
bool cli_relay_tls_option(int argc, char **argv, int *i, struct ar_smtp_tls *tls);
bool cli_relay_tls_valid(const struct ar_smtp_tls *tls);

/* Parse "123" as a document id. */
bool cli_parse_docid(const char *s, uint32_t *out);

void cli_usage(void);

#endif
