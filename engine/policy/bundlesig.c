/* Ed25519 over the bundle bytes with OpenSSL's EVP (PureEdDSA: no separate digest). */
#include "sluice/bundlesig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#define SIG_LEN 64

static int fail(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	if (e)
		snprintf(err, errlen, "%s: %s", what, ERR_reason_error_string(e));
	else
		snprintf(err, errlen, "%s", what);
	ERR_clear_error();
	return -1;
}

static EVP_PKEY *read_key(const char *path, bool private, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	EVP_PKEY *k = private ? PEM_read_PrivateKey(f, NULL, NULL, NULL)
	                      : PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (!k) {
		char what[300];
		snprintf(what, sizeof what, "%s: not a PEM %s key", path, private ? "private" : "public");
		fail(err, errlen, what);
		return NULL;
	}
	if (EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
		snprintf(err, errlen, "%s: not an Ed25519 key", path);
		EVP_PKEY_free(k);
		return NULL;
	}
	return k;
}

/* hex SHA-256 of the raw public key: names the key in the signed form */
static int key_id(EVP_PKEY *k, char out[65], char *err, size_t errlen)
{
	uint8_t raw[32], md[32];
	size_t rl = sizeof raw;
	unsigned ml = 0;
	if (EVP_PKEY_get_raw_public_key(k, raw, &rl) != 1 || rl != 32 ||
	    EVP_Digest(raw, rl, md, &ml, EVP_sha256(), NULL) != 1)
		return fail(err, errlen, "key id");
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

int sl_bundlesig_keygen(const char *private_pem, const char *public_pem, char *err, size_t errlen)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!k)
		return fail(err, errlen, "key generation");
	int rc = -1;
	mode_t old = umask(077);
	FILE *f = fopen(private_pem, "wx");
	umask(old);
	if (!f) {
		snprintf(err, errlen, "%s: %s", private_pem, strerror(errno));
		goto out;
	}
	bool ok = PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1;
	if (fclose(f) != 0 || !ok) {
		fail(err, errlen, private_pem);
		goto out;
	}
	f = fopen(public_pem, "w");
	if (!f) {
		snprintf(err, errlen, "%s: %s", public_pem, strerror(errno));
		goto out;
	}
	ok = PEM_write_PUBKEY(f, k) == 1;
	if (fclose(f) != 0 || !ok) {
		fail(err, errlen, public_pem);
		goto out;
	}
	rc = 0;
out:
	EVP_PKEY_free(k);
	return rc;
}

/* The bytes the signature covers: the header without its sig line, then the rest. */
static bool signed_message(EVP_MD_CTX *c, bool verify, const char *head, size_t hl, const uint8_t *rest,
                           size_t rl, const uint8_t *sig, size_t *sl)
{
	/* Ed25519 is one-shot (no streaming update): join the parts */
	uint8_t *m = malloc(hl + rl ? hl + rl : 1);
	if (!m)
		return false;
	memcpy(m, head, hl);
	memcpy(m + hl, rest, rl);
	bool ok = verify ? EVP_DigestVerify(c, sig, *sl, m, hl + rl) == 1
	                 : EVP_DigestSign(c, (uint8_t *)sig, sl, m, hl + rl) == 1;
	free(m);
	return ok;
}

int sl_bundlesig_sign(const uint8_t *bundle, size_t n, uint64_t version, const char *private_pem,
                      struct sl_strbuf *out, char *err, size_t errlen)
{
	EVP_PKEY *k = read_key(private_pem, true, err, errlen);
	if (!k)
		return -1;
	int rc = -1;
	uint8_t sig[SIG_LEN];
	size_t sl = sizeof sig;
	char id[65], b64[4 * ((SIG_LEN + 2) / 3) + 1], head[256];
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	if (key_id(k, id, err, errlen))
		goto out;
	int hl = snprintf(head, sizeof head, "%skey %s\nversion %llu\nsize %zu\n", SL_BUNDLESIG_MAGIC,
	                  id, (unsigned long long)version, n);
	/* signed: the header lines, the blank line, the bundle */
	struct sl_strbuf rest;
	sl_strbuf_init(&rest);
	sl_strbuf_putc(&rest, '\n');
	sl_strbuf_put(&rest, bundle, n);
	bool ok = !sl_strbuf_failed(&rest) && c && EVP_DigestSignInit(c, NULL, NULL, NULL, k) == 1 &&
	          signed_message(c, false, head, (size_t)hl, (const uint8_t *)rest.s, rest.len, sig, &sl) &&
	          sl == SIG_LEN;
	sl_strbuf_free(&rest);
	if (!ok) {
		fail(err, errlen, "signing");
		goto out;
	}
	EVP_EncodeBlock((unsigned char *)b64, sig, SIG_LEN);
	sl_strbuf_put(out, head, (size_t)hl);
	sl_strbuf_printf(out, "sig %s\n\n", b64);
	sl_strbuf_put(out, bundle, n);
	if (sl_strbuf_failed(out)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = 0;
out:
	EVP_MD_CTX_free(c);
	EVP_PKEY_free(k);
	return rc;
}

bool sl_bundlesig_is_signed(const uint8_t *b, size_t n)
{
	size_t m = strlen(SL_BUNDLESIG_MAGIC);
	return n >= m && memcmp(b, SL_BUNDLESIG_MAGIC, m) == 0;
}

/* The value of header line `name` at *p (which advances past its LF), NUL-terminated
 * into out; false when the line is not `name value`. */
static bool header_line(const uint8_t **p, const uint8_t *end, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);
	const uint8_t *lf = memchr(*p, '\n', (size_t)(end - *p));
	if (!lf || (size_t)(lf - *p) < nl + 2 || memcmp(*p, name, nl) != 0 || (*p)[nl] != ' ')
		return false;
	size_t vl = (size_t)(lf - *p) - nl - 1;
	if (vl >= cap)
		return false;
	memcpy(out, *p + nl + 1, vl);
	out[vl] = 0;
	*p = lf + 1;
	return true;
}

static bool parse_u64(const char *s, uint64_t *v)
{
	char *e;
	errno = 0;
	unsigned long long x = strtoull(s, &e, 10);
	if (errno || *e || !s[0] || s[0] == '-')
		return false;
	*v = x;
	return true;
}

/* The parts of a signed bundle. */
struct parts {
	char id[80];
	size_t head_len;           /* the header up to (not with) the sig line */
	const uint8_t *rest;       /* the blank line and the bundle */
	uint8_t sig[SIG_LEN + 3];
	struct sl_bundlesig_info info;
};

static int split(const uint8_t *s, size_t n, struct parts *pt, char *err, size_t errlen)
{
	if (!sl_bundlesig_is_signed(s, n)) {
		snprintf(err, errlen, "not a signed bundle (this dataplane loads only signed bundles)");
		return -1;
	}
	const uint8_t *p = s + strlen(SL_BUNDLESIG_MAGIC), *end = s + n;
	char ver[32], size[32], b64[120];
	uint64_t sz;
	if (!header_line(&p, end, "key", pt->id, sizeof pt->id) ||
	    !header_line(&p, end, "version", ver, sizeof ver) || !header_line(&p, end, "size", size, sizeof size)) {
		snprintf(err, errlen, "signed bundle: damaged header");
		return -1;
	}
	pt->head_len = (size_t)(p - s);
	if (!header_line(&p, end, "sig", b64, sizeof b64) || p >= end || *p != '\n' ||
	    !parse_u64(ver, &pt->info.version) || !parse_u64(size, &sz)) {
		snprintf(err, errlen, "signed bundle: damaged header");
		return -1;
	}
	pt->rest = p++;
	if (sz != (uint64_t)(end - p)) {
		snprintf(err, errlen, "signed bundle: size %s does not match the %zu bytes that follow",
		         size, (size_t)(end - p));
		return -1;
	}
	int sl = strlen(b64) == 4 * ((SIG_LEN + 2) / 3) ?
	         EVP_DecodeBlock(pt->sig, (const unsigned char *)b64, (int)strlen(b64)) : -1;
	if (sl < SIG_LEN) {
		snprintf(err, errlen, "signed bundle: the signature is not base64 of 64 bytes");
		return -1;
	}
	pt->info.bundle = p;
	pt->info.len = (size_t)(end - p);
	return 0;
}

int sl_bundlesig_parse(const uint8_t *s, size_t n, struct sl_bundlesig_info *info, char *err,
                       size_t errlen)
{
	struct parts pt;
	if (split(s, n, &pt, err, errlen))
		return -1;
	*info = pt.info;
	return 0;
}

int sl_bundlesig_verify(const uint8_t *s, size_t n, const char *public_pem,
                        struct sl_bundlesig_info *info, char *err, size_t errlen)
{
	struct parts pt;
	if (split(s, n, &pt, err, errlen))
		return -1;
	char want_id[65];
	EVP_PKEY *k = read_key(public_pem, false, err, errlen);
	if (!k)
		return -1;
	int rc = -1;
	EVP_MD_CTX *c = NULL;
	if (key_id(k, want_id, err, errlen))
		goto out;
	if (strcmp(pt.id, want_id) != 0) {
		snprintf(err, errlen, "signed by another key (%.16s..., this dataplane trusts %.16s...)",
		         pt.id, want_id);
		goto out;
	}
	c = EVP_MD_CTX_new();
	if (!c || EVP_DigestVerifyInit(c, NULL, NULL, NULL, k) != 1) {
		fail(err, errlen, "verification");
		goto out;
	}
	size_t siglen = SIG_LEN;
	if (!signed_message(c, true, (const char *)s, pt.head_len, pt.rest, (size_t)(s + n - pt.rest),
	                    pt.sig, &siglen)) {
		ERR_clear_error();
		snprintf(err, errlen, "the signature does not verify: the bundle was changed or signed by another key");
		goto out;
	}
	*info = pt.info;
	rc = 0;
out:
	EVP_MD_CTX_free(c);
	EVP_PKEY_free(k);
	return rc;
}
