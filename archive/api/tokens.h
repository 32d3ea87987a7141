/* The auditor API's users (docs/archive.md "Auditor API"): a token file, one user a
 * line, holding only the SHA-256 of each bearer token:
 *
 *   SHA256-OF-TOKEN  NAME  SCOPE... [release]
 *   SCOPE: all | domain:DOMAIN | mailbox:ADDRESS; release: may release quarantined mail
 *   of the scope (POST /release/ID)
 *
 * A user sees a message when one of its addresses — the envelope sender or a recipient
 * of any copy, an address in its From, To or Cc — is one of their mailboxes or in one of
 * their domains (or below it). The file must not be readable by group or others. */
#ifndef ARCHIVE_API_TOKENS_H
#define ARCHIVE_API_TOKENS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ar_api_user {
	char name[64];
	uint8_t token_sha[32];
	bool all;
	bool may_release;
	char (*domains)[256];
	size_t ndomains;
	char (*mailboxes)[256];
	size_t nmailboxes;
};

struct ar_api_users {
	struct ar_api_user *v;
	size_t n;
};

/* 0, or -1 with "FILE:LINE: reason" (or the file's problem) in err. */
int ar_api_users_load(const char *path, struct ar_api_users *out, char *err, size_t errlen);
void ar_api_users_free(struct ar_api_users *u);
/* The user whose token this is (compared in constant time), or NULL. */
const struct ar_api_user *ar_api_user_for(const struct ar_api_users *u, const char *token);
/* One address (bare, "a@b") is in the user's scope. */
bool ar_api_address_in_scope(const struct ar_api_user *u, const char *addr);
/* Some address in free text (a header: "Bob <bob@example.net>, ...") is in scope. */
bool ar_api_text_in_scope(const struct ar_api_user *u, const char *text);

#endif
