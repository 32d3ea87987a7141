/* sluice-archive commands and what they share. */
#ifndef ARCHIVE_CLI_H
#define ARCHIVE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ingest.h"
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

/* Open the store: read-write when `write` (or when nothing else holds it), else
 * alongside a running server as a read-only secondary. Prints the error. */
struct ar_store *cli_open(const char *dir, bool write, bool create);

/* 0 when the store's index has this program's format; else prints that `reindex` is
 * due and returns -1 (searching an index of another format would give wrong hits). */
int cli_check_index(struct ar_store *s);

/* The archive's own audit log: who did what. Written into the audit family, or, when
 * a server holds the store, into DIR/audit-pending/ for the server to take in. */
void cli_audit(struct ar_store *s, const char *action, const char *detail_json);
/* Move DIR/audit-pending/ entries into the audit family (server and writers). */
void ar_audit_collect(struct ar_store *s);

/* The raw bytes of a stored message, rebuilt from its skeleton and verified against
 * its SHA-256. 0 or -1 with a reason. */
int ar_message_load(struct ar_store *s, const uint8_t blob[32], struct sl_strbuf *out,
	char *err, size_t errlen);

/* Parse "123" as a document id. */
bool cli_parse_docid(const char *s, uint32_t *out);

/* Copies of a document: calls fn with each stored copy's metadata, in store order. */
typedef void (*ar_copy_fn)(void *ctx, uint64_t seq, const struct sl_journal_decoded *d);
void ar_doc_copies(struct ar_store *s, const uint8_t blob[32], ar_copy_fn fn, void *ctx);

void cli_usage(void);

#endif
