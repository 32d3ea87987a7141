/* The listeners' TLS: one server context, mutual authentication against the archive's
 * own CA (docs/archive.md "Transport"), and the peer's name from its certificate. */
#include "net.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

static void ssl_error(char *err, size_t errlen, const char *what, const char *path)
{
	unsigned long e = ERR_get_error();
	snprintf(err, errlen, "%s %s: %s", what, path, e ? ERR_reason_error_string(e) : "failed");
	ERR_clear_error();
}

SSL_CTX *ar_tls_server_ctx(const char *cert, const char *key, const char *ca, char *err,
	size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		snprintf(err, errlen, "TLS: cannot create a context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	/* no session cache: every connection presents and proves its certificate */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		ssl_error(err, errlen, "TLS certificate", cert);
	} else if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
		   SSL_CTX_check_private_key(ctx) != 1) {
		ssl_error(err, errlen, "TLS key", key);
	} else if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		ssl_error(err, errlen, "TLS CA", ca);
	} else {
		/* only the archive's CA is trusted, and a client certificate is required */
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
		SSL_CTX_set_verify_depth(ctx, 4);
		return ctx;
	}
	SSL_CTX_free(ctx);
	return NULL;
}

int ar_tls_peer_name(SSL *ssl, char *out, size_t n)
{
	X509 *x = SSL_get1_peer_certificate(ssl);
	if (!x)
		return -1;
	int r = -1;
	X509_NAME *sub = X509_get_subject_name(x);
	int len = sub ? X509_NAME_get_text_by_NID(sub, NID_commonName, out, (int)n) : -1;
	if (len > 0 && (size_t)len < n && strlen(out) == (size_t)len)
		r = 0; /* (a CN with a NUL inside is refused) */
	X509_free(x);
	return r;
}

bool ar_allowed(const struct ar_allow *a, const char *name)
{
	if (!a->n)
		return true; /* no list: any certificate the archive's CA signed */
	for (size_t i = 0; i < a->n; i++)
		if (!strcmp(a->names[i], name))
			return true;
	return false;
}

SSL_CTX *ar_tls_client_ctx(const char *ca, const char *cert, const char *key, char *err,
	size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		snprintf(err, errlen, "TLS: cannot create a context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		ssl_error(err, errlen, "TLS CA", ca);
	} else if (cert && SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		ssl_error(err, errlen, "TLS certificate", cert);
	} else if (cert && (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
			    SSL_CTX_check_private_key(ctx) != 1)) {
		ssl_error(err, errlen, "TLS key", key);
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		SSL_CTX_set_verify_depth(ctx, 4);
		return ctx;
	}
	SSL_CTX_free(ctx);
	return NULL;
}
