/* purge (docs/archive.md "Retention and legal hold"): every hold evaluated as a
 * search, every copy against the retention rules; up to `max` messages past retention
 * and under no hold are deleted — their copies' values, the message, the attachment
 * bodies no remaining message refers to — after a chained audit entry ("purge")
 * naming each deleted copy and its chain link (purged.h), one entry per chunk of
 * copies, each before its own synced deletion batch. The index is left to rebuild
 * (reindex). Needs the store to itself. */
#ifndef ARCHIVE_RETENTION_PURGE_H
#define ARCHIVE_RETENTION_PURGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rules.h"
#include "store.h"

struct ar_purge_result {
	uint32_t *ids;   /* the messages past retention and under no hold (up to max) */
	size_t n;
	size_t purged;   /* of them deleted (0 on a dry run; fewer when a chunk failed) */
	size_t held;     /* past retention, kept by a legal hold */
};

/* 0, or -1 with a reason (res->purged says how far it got). retention_sha: the rules
 * file's SHA-256 in hex, recorded in each entry. */
int ar_purge(struct ar_store *s, const struct ar_retention *rt, const char *retention_sha,
	size_t max, bool dry, struct ar_purge_result *res, char *err, size_t errlen);
void ar_purge_result_free(struct ar_purge_result *res);

#endif
