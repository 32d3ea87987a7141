/* The auditor API (docs/archive.md "Auditor API"): GET /search?q=QUERY[&limit=N],
 * /show/ID, /export/ID over HTTPS, for users of a token file (tokens.h). */
#ifndef ARCHIVE_API_H
#define ARCHIVE_API_H

#include <signal.h>

#include "store.h"
#include "tokens.h"

/* Serve on listen_fd (a bound, listening socket) until *stop. PEM texts of the
 * archive's certificate and key. 0, or -1 when it cannot start. */
int ar_api_run(struct ar_store *s, const struct ar_api_users *users, int listen_fd,
	const char *cert_pem, const char *key_pem, volatile sig_atomic_t *stop);

#endif
