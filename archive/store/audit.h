/* The audit log: who looked at what, chained (chain.h) and checkpointed.
 *
 * An entry is one JSON object: {"seq":N,"time_us":T,"action":...,<details>,
 * "user":NAME,"uid":UID} with user and uid last, from the operating system's
 * identity of the process (or, for an entry a reader left for the server, of the
 * file's owner), never from the environment. A command writes its entry before it
 * shows any result, and refuses when it cannot. */
#ifndef ARCHIVE_AUDIT_H
#define ARCHIVE_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ar_store;

/* fragment: `"action":"search",...` (JSON members). A writer appends to the chain
 * (synced, with a checkpoint); a reader beside a running server writes the entry
 * into DATA/audit-pending/ (fsync'd) for the server to chain. 0 or -1 with a reason. */
int ar_audit_append(struct ar_store *s, uid_t uid, const char *fragment, char *err,
	size_t errlen);
/* "name (uid N)" of this process's real user. */
void ar_local_user(char *out, size_t n);

/* Chain the entries readers left in DATA/audit-pending/ (writers only). Entries that
 * let data go ("purge", "unhold") are set aside there: only a writer chains them. */
void ar_audit_collect(struct ar_store *s);

/* Every chained entry in order (the JSON object, NUL-terminated); returns how many
 * could not be opened (verify says which). */
typedef void (*ar_audit_fn)(void *ctx, const char *entry, size_t len);
uint64_t ar_audit_each(struct ar_store *s, ar_audit_fn fn, void *ctx);
/* The entry's action is `action`. */
bool ar_audit_action_is(const char *entry, const char *action);

#endif
