/* The auditor API (docs/archive.md "Auditor API"): GET /search?q=QUERY[&limit=N],
 * /show/ID, /export/ID and POST /release/ID over HTTPS, for users of a token file
 * (tokens.h). */
#ifndef ARCHIVE_API_H
#define ARCHIVE_API_H

#include <signal.h>

#include "net.h"
#include "store.h"
#include "tokens.h"

struct ar_api_config {
	int listen_fd;                  /* a bound, listening socket */
	const char *cert_pem, *key_pem; /* the archive's certificate and key (PEM text) */
	const char *relay;              /* the mail host releases go to; NULL: no release */
	const struct ar_smtp_tls *relay_tls; /* STARTTLS to it; NULL: plain SMTP */
};

/* Serve until *stop. 0, or -1 when it cannot start. */
int ar_api_run(struct ar_store *s, const struct ar_api_users *users,
	const struct ar_api_config *cfg, volatile sig_atomic_t *stop);

#endif
