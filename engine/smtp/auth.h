/* SMTP AUTH (RFC 4954): the identity a client authenticates as, when visible. */
#ifndef SLUICE_SMTP_AUTH_H
#define SLUICE_SMTP_AUTH_H

#include <stddef.h>

struct sl_smtp;

enum smtp_auth_mech { AUTH_OTHER, AUTH_PLAIN, AUTH_LOGIN, AUTH_CRAM_MD5, AUTH_XOAUTH2 };

enum smtp_auth_mech smtp_auth_mech(const char *name, size_t n);

/* One base64 client response (initial, or to a 334): records in s->auth_candidate the
 * user name it reveals, if any. Passwords are never kept. */
void smtp_auth_identity(struct sl_smtp *s, const char *b64, size_t n);

#endif
