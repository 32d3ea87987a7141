/* verify: everything the archive can check about itself (docs/archive.md "Verify"):
 * the signed checkpoints, the copy chain and the audit chain link by link, each copy
 * against its message, every message against its SHA-256. */
#ifndef ARCHIVE_VERIFY_H
#define ARCHIVE_VERIFY_H

#include <stdint.h>

#include "store.h"

struct ar_verify_result {
	uint64_t copies, messages, audit_entries, checkpoints;
	uint64_t purged;             /* copies a purge deleted (the audit log vouches for them) */
	uint64_t damaged;            /* every problem found */
	char first_copy_break[512];  /* the first broken link of each chain ("" none) */
	char first_audit_break[512];
};

/* Problems are printed to stderr as found. */
void ar_verify(struct ar_store *s, struct ar_verify_result *r);

#endif
