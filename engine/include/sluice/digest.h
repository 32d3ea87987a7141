/* Message digests fetched from OpenSSL once per process. EVP_sha256() and friends
 * make every EVP_DigestInit_ex() look the algorithm up in the provider again (OpenSSL
 * 3); the engine starts a digest per MIME part, so it uses these instead. */
#ifndef SLUICE_DIGEST_H
#define SLUICE_DIGEST_H

#include <openssl/evp.h>

const EVP_MD *sl_md_sha256(void);
const EVP_MD *sl_md_sha1(void);
const EVP_MD *sl_md_md5(void);

#endif
