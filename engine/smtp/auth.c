/* User names out of AUTH exchanges: PLAIN, LOGIN, CRAM-MD5 and XOAUTH2 show them. */
#include <openssl/evp.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "session.h"

enum smtp_auth_mech smtp_auth_mech(const char *name, size_t n)
{
	static const struct {
		const char *name;
		enum smtp_auth_mech mech;
	} mechs[] = {
		{"PLAIN", AUTH_PLAIN},
		{"LOGIN", AUTH_LOGIN},
		{"CRAM-MD5", AUTH_CRAM_MD5},
		{"XOAUTH2", AUTH_XOAUTH2},
	};
	for (size_t i = 0; i < sizeof mechs / sizeof mechs[0]; i++)
		if (strlen(mechs[i].name) == n && strncasecmp(name, mechs[i].name, n) == 0)
			return mechs[i].mech;
	return AUTH_OTHER;
}

/* Decodes base64 (no line breaks) into out; returns the length, or -1. */
static int b64_decode(const char *in, size_t n, uint8_t *out, size_t cap)
{
	char buf[1024 + 4];
	if (n > 1024)
		n = 1024;
	n -= n % 4;
	if (n == 0 || cap < n / 4 * 3)
		return -1;
	memcpy(buf, in, n);
	int len = EVP_DecodeBlock(out, (const unsigned char *)buf, (int)n);
	if (len < 0)
		return -1;
	for (size_t i = n; i > 0 && buf[i - 1] == '='; i--)
		len--;
	return len;
}

static void set_identity(struct sl_smtp *s, const uint8_t *p, size_t n)
{
	smtp_copy_str(s->auth_candidate, sizeof s->auth_candidate, p, n);
}

void smtp_auth_identity(struct sl_smtp *s, const char *b64, size_t n)
{
	unsigned step = s->auth_step++;
	if (step != 0 || (n == 1 && b64[0] == '='))
		return;
	uint8_t d[1024];
	int len = b64_decode(b64, n, d, sizeof d);
	if (len < 0)
		return;
	size_t dl = (size_t)len;
	switch ((enum smtp_auth_mech)s->auth_mech) {
	case AUTH_PLAIN: {
		/* authzid NUL authcid NUL passwd */
		const uint8_t *a = memchr(d, 0, dl);
		if (!a)
			return;
		a++;
		const uint8_t *e = memchr(a, 0, dl - (size_t)(a - d));
		if (e)
			set_identity(s, a, (size_t)(e - a));
		return;
	}
	case AUTH_LOGIN:
		set_identity(s, d, dl);
		return;
	case AUTH_CRAM_MD5: {
		/* "user hexdigest" */
		const uint8_t *sp = memrchr(d, ' ', dl);
		if (sp)
			set_identity(s, d, (size_t)(sp - d));
		return;
	}
	case AUTH_XOAUTH2: {
		/* "user=NAME ^A auth=Bearer TOKEN ^A ^A" */
		if (dl < 5 || memcmp(d, "user=", 5) != 0)
			return;
		const uint8_t *e = memchr(d + 5, 0x01, dl - 5);
		set_identity(s, d + 5, e ? (size_t)(e - d - 5) : dl - 5);
		return;
	}
	case AUTH_OTHER:
		return;
	}
}
