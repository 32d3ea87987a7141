/* The key file (keyfile.h). */
#include "keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

static int unhex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return s[2 * n] == '\0' || s[2 * n] == '\n' ? 0 : -1;
}

/* A key file with this KEK and Ed25519 seed; both are wiped. */
static int write_keys(const char *path, uint8_t kek[32], uint8_t seed[32], char *err, size_t errlen)
{
	char hk[65], hs[65];
	hex(kek, 32, hk);
	hex(seed, 32, hs);
	OPENSSL_cleanse(kek, 32);
	OPENSSL_cleanse(seed, 32);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	char text[256];
	int n = snprintf(text, sizeof text, "sluice-archive key v1\nkek %s\nsign %s\n", hk, hs);
	OPENSSL_cleanse(hk, sizeof hk);
	OPENSSL_cleanse(hs, sizeof hs);
	bool ok = write(fd, text, (size_t)n) == n && fsync(fd) == 0;
	OPENSSL_cleanse(text, sizeof text);
	if (close(fd) != 0 || !ok) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}

int ar_keys_generate(const char *path, char *err, size_t errlen)
{
	uint8_t kek[32], seed[32];
	if (RAND_bytes(kek, 32) != 1 || RAND_bytes(seed, 32) != 1) {
		snprintf(err, errlen, "no randomness");
		return -1;
	}
	return write_keys(path, kek, seed, err, errlen);
}

int ar_keys_generate_rekey(const char *path, const struct ar_keys *old, bool new_sign,
	char *err, size_t errlen)
{
	uint8_t kek[32], seed[32];
	size_t n = sizeof seed;
	if (!new_sign && (EVP_PKEY_get_raw_private_key(old->sign, seed, &n) != 1 || n != 32)) {
		snprintf(err, errlen, "cannot read the signing key");
		return -1;
	}
	if (RAND_bytes(kek, 32) != 1 || (new_sign && RAND_bytes(seed, 32) != 1)) {
		OPENSSL_cleanse(seed, 32);
		snprintf(err, errlen, "no randomness");
		return -1;
	}
	return write_keys(path, kek, seed, err, errlen);
}

int ar_keys_load(const char *path, struct ar_keys *k, char *err, size_t errlen)
{
	memset(k, 0, sizeof *k);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "key file %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (st.st_mode & 077) {
		close(fd);
		snprintf(err, errlen, "key file %s is readable by others (mode %03o): chmod 600 it",
			path, (unsigned)(st.st_mode & 0777));
		return -1;
	}
	char text[512];
	ssize_t n = read(fd, text, sizeof text - 1);
	close(fd);
	if (n < 0)
		n = 0;
	text[n] = '\0';
	uint8_t seed[32];
	char *kl = strstr(text, "\nkek "), *sl = strstr(text, "\nsign ");
	int r = strncmp(text, "sluice-archive key v1\n", 22) || !kl || !sl ||
		unhex(kl + 5, k->kek, 32) || unhex(sl + 6, seed, 32) ? -1 : 0;
	OPENSSL_cleanse(text, sizeof text);
	if (r == 0) {
		k->sign = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
		size_t pl = 32;
		if (!k->sign || EVP_PKEY_get_raw_public_key(k->sign, k->sign_pub, &pl) != 1)
			r = -1;
	}
	OPENSSL_cleanse(seed, 32);
	if (r < 0) {
		snprintf(err, errlen, "key file %s: not a sluice-archive key file", path);
		ar_keys_free(k);
		return -1;
	}
	ar_key_id(k->sign_pub, k->id);
	return 0;
}

void ar_key_id(const uint8_t pub[32], uint8_t id[8])
{
	uint8_t h[32];
	SHA256(pub, 32, h);
	memcpy(id, h, 8);
}

void ar_keys_free(struct ar_keys *k)
{
	EVP_PKEY_free(k->sign);
	OPENSSL_cleanse(k, sizeof *k);
}

int ar_keys_sign(const struct ar_keys *k, const uint8_t *msg, size_t n, uint8_t sig[64])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t sl = 64;
	int ok = ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->sign) == 1 &&
		 EVP_DigestSign(ctx, sig, &sl, msg, n) == 1 && sl == 64;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

int ar_keys_verify(const uint8_t pub[32], const uint8_t *msg, size_t n, const uint8_t sig[64])
{
	EVP_PKEY *pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = pk && ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk) == 1 &&
		 EVP_DigestVerify(ctx, sig, 64, msg, n) == 1;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pk);
	return ok ? 0 : -1;
}
