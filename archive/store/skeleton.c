#include "skeleton.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

enum { OP_INLINE = 1, OP_BASE64 = 2 };
#define SKELETON_VERSION 'S'

void ar_base64_layout(const uint8_t *data, size_t len, unsigned line_len, bool crlf,
	bool trailing_eol, struct sl_strbuf *out)
{
	size_t enc_len = 4 * ((len + 2) / 3);
	char *enc = malloc(enc_len + 1);
	EVP_EncodeBlock((unsigned char *)enc, data, (int)len);
	const char *eol = crlf ? "\r\n" : "\n";
	if (line_len == 0) {
		sl_strbuf_put(out, enc, enc_len);
	} else {
		for (size_t off = 0; off < enc_len; off += line_len) {
			size_t l = enc_len - off < line_len ? enc_len - off : line_len;
			sl_strbuf_put(out, enc + off, l);
			if (off + l < enc_len)
				sl_strbuf_puts(out, eol);
		}
	}
	if (trailing_eol)
		sl_strbuf_puts(out, eol);
	free(enc);
}

/* Guess the layout of a base64 region and check that it re-encodes exactly. */
static bool layout_matches(const uint8_t *region, size_t rlen, const struct ar_part_ref *r,
	unsigned *line_len, bool *crlf, bool *trailing)
{
	const uint8_t *nl = memchr(region, '\n', rlen);
	*crlf = nl && nl > region && nl[-1] == '\r';
	*line_len = nl ? (unsigned)(nl - region - (*crlf ? 1 : 0)) : 0;
	*trailing = rlen && region[rlen - 1] == '\n';
	if (nl && (size_t)(nl - region) + 1 == rlen)
		*line_len = 0; /* a single line followed by its line end */
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	ar_base64_layout(r->data, r->len, *line_len, *crlf, *trailing, &b);
	bool ok = b.len == rlen && memcmp(b.s, region, rlen) == 0;
	sl_strbuf_free(&b);
	return ok;
}

static void put_inline(struct sl_strbuf *out, const uint8_t *p, size_t n)
{
	if (!n)
		return;
	sl_strbuf_putc(out, OP_INLINE);
	ar_varint_put(out, n);
	sl_strbuf_put(out, p, n);
}

void ar_skeleton_build(const uint8_t *raw, size_t n, struct ar_part_ref *refs,
	size_t nrefs, struct sl_strbuf *out)
{
	sl_strbuf_putc(out, SKELETON_VERSION);
	size_t at = 0;
	for (size_t i = 0; i < nrefs; i++) {
		struct ar_part_ref *r = &refs[i];
		r->used = false;
		if (r->raw_begin < at || r->raw_end > n || r->raw_begin >= r->raw_end ||
		    r->len < AR_DEDUP_MIN_BYTES)
			continue;
		unsigned line_len;
		bool crlf, trailing;
		if (!layout_matches(raw + r->raw_begin, r->raw_end - r->raw_begin, r, &line_len,
				&crlf, &trailing))
			continue;
		put_inline(out, raw + at, r->raw_begin - at);
		sl_strbuf_putc(out, OP_BASE64);
		sl_strbuf_put(out, r->sha, 32);
		ar_varint_put(out, r->len);
		ar_varint_put(out, line_len);
		sl_strbuf_putc(out, (char)((crlf ? 1 : 0) | (trailing ? 2 : 0)));
		at = r->raw_end;
		r->used = true;
	}
	put_inline(out, raw + at, n - at);
}

int ar_skeleton_rebuild(const uint8_t *skel, size_t n, ar_part_fetch_fn fetch, void *ctx,
	struct sl_strbuf *out, char *err, size_t errlen)
{
	if (n < 1 || skel[0] != SKELETON_VERSION) {
		snprintf(err, errlen, "unknown skeleton version");
		return -1;
	}
	size_t i = 1;
	while (i < n) {
		uint8_t op = skel[i++];
		uint64_t len, line_len;
		size_t k;
		if (op == OP_INLINE) {
			if (!(k = ar_varint_get(skel + i, n - i, &len)) || len > n - i - k)
				goto corrupt;
			i += k;
			sl_strbuf_put(out, skel + i, len);
			i += len;
		} else if (op == OP_BASE64) {
			if (n - i < 32)
				goto corrupt;
			const uint8_t *sha = skel + i;
			i += 32;
			if (!(k = ar_varint_get(skel + i, n - i, &len)))
				goto corrupt;
			i += k;
			if (!(k = ar_varint_get(skel + i, n - i, &line_len)) || i + k >= n)
				goto corrupt;
			i += k;
			uint8_t flags = skel[i++];
			size_t plen;
			uint8_t *part = fetch(ctx, sha, &plen);
			if (!part || plen != len) {
				free(part);
				snprintf(err, errlen, "missing or damaged part");
				return -1;
			}
			ar_base64_layout(part, plen, (unsigned)line_len, flags & 1, flags & 2, out);
			free(part);
		} else {
			goto corrupt;
		}
	}
	return 0;
corrupt:
	snprintf(err, errlen, "corrupt skeleton at byte %zu", i);
	return -1;
}

int ar_skeleton_parts(const uint8_t *skel, size_t n, void (*fn)(void *ctx, const uint8_t sha[32]),
	void *ctx)
{
	if (n < 1 || skel[0] != SKELETON_VERSION)
		return -1;
	for (size_t i = 1; i < n;) {
		uint8_t op = skel[i++];
		uint64_t len;
		size_t k;
		if (op == OP_INLINE) {
			if (!(k = ar_varint_get(skel + i, n - i, &len)) || len > n - i - k)
				return -1;
			i += k + len;
			continue;
		}
		if (op != OP_BASE64 || n - i < 32)
			return -1;
		fn(ctx, skel + i);
		i += 32;
		for (int field = 0; field < 2; field++) { /* decoded length, line length */
			if (!(k = ar_varint_get(skel + i, n - i, &len)))
				return -1;
			i += k;
		}
		if (i >= n)
			return -1;
		i++; /* flags */
	}
	return 0;
}
