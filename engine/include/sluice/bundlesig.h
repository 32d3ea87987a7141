/* Signed rule bundles (docs/control.md): sluice-control signs every bundle it pushes
 * with its Ed25519 key; a dataplane configured with the public key loads only bundles
 * that key signed. The signed form is a short text header, then the bundle unchanged:
 *
 *   SLUICE-SIGNED-BUNDLE 1\n
 *   key <hex SHA-256 of the raw 32-byte public key>\n
 *   version <the control's version id of this policy, decimal>\n
 *   size <bundle length>\n
 *   sig <base64 Ed25519 signature>\n
 *   \n
 *   <bundle bytes (sl_policy_save's format)>
 *
 * The signature covers everything but its own line (the header lines before it, the
 * blank line and the bundle), so the version id a dataplane reports is the signer's too.
 *
 * Keys are PEM files (PKCS#8 private, SubjectPublicKeyInfo public) as OpenSSL writes
 * them (`openssl genpkey -algorithm ed25519`). */
#ifndef SLUICE_BUNDLESIG_H
#define SLUICE_BUNDLESIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sluice/strbuf.h"

#define SL_BUNDLESIG_MAGIC "SLUICE-SIGNED-BUNDLE 1\n"

/* A new Ed25519 key pair, written as PEM (the private file mode 0600). 0, or -1 with a
 * message in err. */
int sl_bundlesig_keygen(const char *private_pem, const char *public_pem, char *err, size_t errlen);

/* Sign bundle bytes as version `version` with a private key file: the signed form is
 * appended to out. */
int sl_bundlesig_sign(const uint8_t *bundle, size_t n, uint64_t version, const char *private_pem,
                      struct sl_strbuf *out, char *err, size_t errlen);

/* True when the bytes start like a signed bundle. */
bool sl_bundlesig_is_signed(const uint8_t *b, size_t n);

/* What a verified signed bundle holds. */
struct sl_bundlesig_info {
	const uint8_t *bundle;   /* inside the signed bytes */
	size_t len;
	uint64_t version;
};

/* Read a signed bundle's header without checking the signature (a dataplane that was
 * given no key: it loads what comes, as documented). 0, or -1 when the form is wrong. */
int sl_bundlesig_parse(const uint8_t *signed_bytes, size_t n, struct sl_bundlesig_info *info,
                       char *err, size_t errlen);

/* Check a signed bundle against a public key file. 0 with *info filled, or -1 with a
 * message in err when the form is wrong, the key is another, or the signature does not
 * verify. */
int sl_bundlesig_verify(const uint8_t *signed_bytes, size_t n, const char *public_pem,
                        struct sl_bundlesig_info *info, char *err, size_t errlen);

#endif
