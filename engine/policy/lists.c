#include "lists.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/strbuf.h"

/* Calls fn for each line (without CR/LF), with its 1-based number. */
static void each_line(struct pol_list_ctx *lc, const char *data, size_t len,
                      void (*fn)(struct pol_list_ctx *, const char *, size_t, unsigned))
{
	unsigned line = 1;
	size_t i = 0;
	while (i < len) {
		const char *nl = memchr(data + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - data) : len;
		size_t n = end - i;
		if (n && data[i + n - 1] == '\r')
			n--;
		if (memchr(data + i, '\0', n))
			pol_list_error(lc, line, 1, "NUL byte in list file");
		fn(lc, data + i, n, line);
		i = end + 1;
		line++;
	}
}

static void trim(const char **s, size_t *n, unsigned *col)
{
	while (*n && isspace((unsigned char)**s)) {
		(*s)++;
		(*n)--;
		(*col)++;
	}
	while (*n && isspace((unsigned char)(*s)[*n - 1]))
		(*n)--;
}

/* ---- keywords: one per line, UTF-8; '#' starts a comment line; "\#" a literal '#' */

static void keyword_line(struct pol_list_ctx *lc, const char *s, size_t n, unsigned line)
{
	unsigned col = 1;
	trim(&s, &n, &col);
	if (n == 0 || s[0] == '#')
		return;
	if (n >= 2 && s[0] == '\\' && s[1] == '#') {
		s++, n--, col++;
	}
	if (!sl_utf8_valid((const uint8_t *)s, n))
		pol_list_error(lc, line, col, "keyword is not valid UTF-8 (keyword files must be UTF-8; "
		                              "text is matched after conversion to UTF-8)");
	pol_list_add_literal(lc, s, n, lc->nocase, line, col);
}

void pol_list_keywords(struct pol_list_ctx *lc, const char *data, size_t len)
{
	each_line(lc, data, len, keyword_line);
}

/* ---- hashes ----------------------------------------------------------------------
 *   HEX [NAME]              plain list (sha256sum output works): MD5/SHA-1/SHA-256 by length
 *   HEX:SIZE:NAME[:...]     ClamAV .hdb (MD5) / .hsb (SHA-1, SHA-256); SIZE may be '*'
 */

static void hash_line(struct pol_list_ctx *lc, const char *s, size_t n, unsigned line)
{
	unsigned col = 1;
	trim(&s, &n, &col);
	if (n == 0 || s[0] == '#')
		return;
	size_t hl = 0;
	while (hl < n && sl_hexval(s[hl]) >= 0)
		hl++;
	enum pol_digest type;
	if (hl == 32)
		type = DIG_MD5;
	else if (hl == 40)
		type = DIG_SHA1;
	else if (hl == 64)
		type = DIG_SHA256;
	else
		pol_list_error(lc, line, col, "expected an MD5, SHA-1 or SHA-256 hex digest (32, 40 or 64 digits)");
	uint8_t d[32];
	for (size_t i = 0; i < hl / 2; i++)
		d[i] = (uint8_t)(sl_hexval(s[2 * i]) * 16 + sl_hexval(s[2 * i + 1]));
	int64_t size = -1;
	const char *label = NULL;
	struct pol_arena *a = pol_list_arena(lc);
	if (hl < n && s[hl] == ':') {
		/* ClamAV: HASH:SIZE:NAME[:FLEVEL...] */
		const char *p = s + hl + 1, *end = s + n;
		const char *colon = memchr(p, ':', (size_t)(end - p));
		if (!colon)
			pol_list_error(lc, line, col + (unsigned)hl + 1, "ClamAV hash line is HASH:SIZE:NAME");
		if (colon - p == 1 && *p == '*') {
			size = -1;
		} else {
			size = 0;
			if (colon == p)
				pol_list_error(lc, line, col + (unsigned)(p - s), "missing size");
			for (const char *q = p; q < colon; q++) {
				if (!isdigit((unsigned char)*q) || size > (INT64_MAX - 9) / 10)
					pol_list_error(lc, line, col + (unsigned)(q - s), "size must be a number or '*'");
				size = size * 10 + (*q - '0');
			}
		}
		const char *name = colon + 1;
		const char *name_end = memchr(name, ':', (size_t)(end - name));
		if (!name_end)
			name_end = end;
		if (name_end == name)
			pol_list_error(lc, line, col + (unsigned)(name - s), "missing signature name");
		label = pol_strndup(a, name, (size_t)(name_end - name));
	} else if (hl < n && isspace((unsigned char)s[hl])) {
		const char *name = s + hl;
		size_t nl = n - hl;
		unsigned c2 = col;
		trim(&name, &nl, &c2);
		if (nl && name[0] == '*') /* sha256sum's binary-mode marker */
			name++, nl--;
		label = nl ? pol_strndup(a, name, nl) : NULL;
	} else if (hl < n) {
		pol_list_error(lc, line, col + (unsigned)hl, "unexpected character after the digest");
	}
	pol_list_add_hash(lc, type, d, size, label);
}

void pol_list_hashes(struct pol_list_ctx *lc, const char *data, size_t len)
{
	each_line(lc, data, len, hash_line);
}

/* ---- ClamAV .ndb: Name:TargetType:Offset:HexSignature[:MinFL[:MaxFL]] --------------- */

static void ndb_line(struct pol_list_ctx *lc, const char *s, size_t n, unsigned line)
{
	unsigned col = 1;
	trim(&s, &n, &col);
	if (n == 0 || s[0] == '#')
		return;
	struct pol_arena *a = pol_list_arena(lc);
	const char *f[6];
	size_t fl[6], fcol[6];
	size_t nf = 0, start = 0;
	for (size_t i = 0; i <= n && nf < 6; i++) {
		if (i == n || s[i] == ':') {
			f[nf] = s + start;
			fl[nf] = i - start;
			fcol[nf] = col + start;
			nf++;
			start = i + 1;
		}
	}
	if (nf < 4)
		pol_list_error(lc, line, col, "ClamAV .ndb line is Name:TargetType:Offset:HexSignature");
	const char *name = pol_strndup(a, f[0], fl[0]);
	if (!fl[0])
		pol_list_error(lc, line, col, "missing signature name");
	bool target_any = fl[1] == 1 && f[1][0] == '0';
	if (!target_any) {
		if (lc->ignore_unsupported) {
			pol_list_skipped(lc);
			return;
		}
		pol_list_error(lc, line, (unsigned)fcol[1],
		               "signature %s: target type %.*s is not supported (only 0, any file); "
		               "add ignore-unsupported to skip such signatures", name, (int)fl[1], f[1]);
	}
	const char *offset = pol_strndup(a, f[2], fl[2]);
	const char *hex = pol_strndup(a, f[3], fl[3]);
	const char *err = NULL;
	size_t errcol = 0;
	char *expr = pol_ndb_to_regex(a, offset, hex, &err, &errcol);
	if (!expr) {
		if (lc->ignore_unsupported) {
			pol_list_skipped(lc);
			return;
		}
		unsigned c = errcol == (size_t)-1 ? (unsigned)fcol[2] : (unsigned)(fcol[3] + errcol);
		pol_list_error(lc, line, c, "signature %s: %s%s", name, err,
		               " (add ignore-unsupported to skip such signatures)");
	}
	pol_list_add_regex(lc, expr, name, line, col);
}

void pol_list_ndb(struct pol_list_ctx *lc, const char *data, size_t len)
{
	each_line(lc, data, len, ndb_line);
}
