/* Legal holds (docs/archive.md "Retention and legal hold"): kept as entries of the
 * chained audit log — "hold" (a name and a search query, as hex and as text) and
 * "unhold" (a name) — so the set in force is their replay, and nobody changes it
 * unseen. */
#ifndef ARCHIVE_RETENTION_HOLDS_H
#define ARCHIVE_RETENTION_HOLDS_H

#include <stdbool.h>
#include <stddef.h>

#include "sluice/strbuf.h"
#include "store.h"

struct ar_hold {
	char name[65];
	char *query;
	char user[128];   /* who placed it (the entry's user) */
};

struct ar_holds {
	struct ar_hold *v;
	size_t n;
	bool failed;      /* an entry could not be read: a purge must not run */
};

/* The holds in force. */
void ar_holds_load(struct ar_store *s, struct ar_holds *h);
void ar_holds_free(struct ar_holds *h);
/* A hold's name: 1-64 letters, digits, '.', '_', '-'. */
bool ar_hold_name_ok(const char *s);
/* The members of the "hold" entry placing a hold (name, query as hex and as text). */
void ar_hold_fragment(struct sl_strbuf *f, const char *name, const char *query);

#endif
