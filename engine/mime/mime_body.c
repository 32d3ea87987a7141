/* The body of one entity: the encoded bytes Python's email would hold as the payload
 * (the final line end withheld until we know whether a boundary claims it), decoded
 * incrementally, hashed (SHA-256 of the decoded bytes), emitted as PART_DATA, and for
 * text parts converted to UTF-8 and emitted as PART_TEXT. */
#include "mime_int.h"

#include <string.h>

#include "sluice/digest.h"

static void text_out(void *ctx, const uint8_t *p, size_t n)
{
	struct sl_mime *m = ctx;
	struct frame *f = sl_mime_top(m);
	struct sl_event ev = {
		.type = SL_EV_PART_TEXT,
		.txn = m->txn,
		.offset = m->b.text_off,
		.part = &f->part,
		.data = p,
		.len = n,
	};
	sl_mime_emit(m, &ev);
	m->b.text_off += n;
}

/* Transfer-decoded bytes: hashed, emitted, converted. */
static void decoded_out(void *ctx, const uint8_t *p, size_t n)
{
	struct sl_mime *m = ctx;
	struct body *b = &m->b;
	if (!n)
		return;
	EVP_DigestUpdate(b->sha, p, n);
	struct frame *f = sl_mime_top(m);
	if (b->emit) {
		struct sl_event ev = {
			.type = SL_EV_PART_DATA,
			.txn = m->txn,
			.offset = b->decoded,
			.part = &f->part,
			.data = p,
			.len = n,
		};
		sl_mime_emit(m, &ev);
	}
	b->decoded += n;
	if (b->text) {
		/* raised at the end of the part: a signal between data events would make the
		 * event stream depend on where the input was cut */
		if (!b->nul_seen && memchr(p, 0, n))
			b->nul_seen = true;
		sl_textconv_feed(&b->tc, p, n, text_out, m);
	}
}

static void decode_raw(struct sl_mime *m, const uint8_t *p, size_t n)
{
	struct body *b = &m->b;
	size_t slice = m->dec_cap - 8;
	switch (b->enc) {
	case SL_ENC_BASE64:
		while (n) {
			size_t k = n < slice ? n : slice;
			decoded_out(m, m->dec, sl_b64_decode(&b->b64, p, k, m->dec));
			p += k, n -= k;
		}
		break;
	case SL_ENC_QP:
		while (n) {
			size_t k = n < slice ? n : slice;
			decoded_out(m, m->dec, sl_qp_decode(&b->qp, p, k, m->dec));
			p += k, n -= k;
		}
		break;
	case SL_ENC_UUENCODE:
		sl_uu_decode(&b->uu, p, n, decoded_out, m);
		break;
	default:
		decoded_out(m, p, n);
		break;
	}
}

void sl_body_start(struct sl_mime *m, struct frame *f, bool emit)
{
	struct body *b = &m->b;
	b->active = true;
	b->enc = f->part.encoding;
	sl_b64_init(&b->b64);
	sl_qp_init(&b->qp);
	sl_uu_init(&b->uu);
	EVP_DigestInit_ex(b->sha, sl_md_sha256(), NULL);
	b->decoded = 0;
	b->text_off = 0;
	b->emit = emit;
	b->text = f->text;
	b->nul_seen = false;
	b->nheld = 0;
	b->raw_end = f->part.raw_body_begin;
	if (b->text) {
		struct sl_cs cs = {SL_CS_UTF8, NULL};
		if (f->part.charset[0]) {
			cs = sl_charset_lookup(f->part.charset, strlen(f->part.charset), true);
			if (cs.kind == SL_CS_UNKNOWN) {
				sl_mime_signal(m, SL_SIG_MIME_UNKNOWN_CHARSET, f->part.charset, m->off);
				cs.kind = SL_CS_UTF8;
			}
		}
		sl_textconv_open(&b->tc, &m->iconv, cs);
		if (b->tc.kind == SL_CS_UNKNOWN) /* iconv lacks it after all */
			b->tc.kind = SL_CS_UTF8;
	}
}

static size_t trailing_eol(const uint8_t *p, size_t n)
{
	if (p[n - 1] == '\n')
		return n >= 2 && p[n - 2] == '\r' ? 2 : 1;
	return p[n - 1] == '\r' ? 1 : 0;
}

void sl_body_data(struct sl_mime *m, const uint8_t *p, size_t n, uint64_t off)
{
	struct body *b = &m->b;
	if (!n || !b->active)
		return;
	if (b->nheld == 1 && b->held[0] == '\r' && p[0] == '\n') {
		b->held[1] = '\n'; /* the CRLF was split between two calls */
		b->nheld = 2;
		p++, n--, off++;
		b->raw_end = off;
		if (!n)
			return;
	}
	if (b->nheld) {
		decode_raw(m, b->held, b->nheld);
		b->nheld = 0;
	}
	size_t k = trailing_eol(p, n);
	decode_raw(m, p, n - k);
	memcpy(b->held, p + n - k, k);
	b->nheld = k;
	b->raw_end = off + n;
}

void sl_body_end(struct sl_mime *m, struct frame *f, bool strip)
{
	struct body *b = &m->b;
	if (!b->active)
		return;
	if (b->nheld) {
		if (strip)
			b->raw_end -= b->nheld;
		else
			decode_raw(m, b->held, b->nheld);
		b->nheld = 0;
	}
	uint64_t at = b->raw_end;
	switch (b->enc) {
	case SL_ENC_BASE64:
		if (!sl_b64_finish(&b->b64))
			sl_mime_signal(m, SL_SIG_MIME_BAD_BASE64, "one base64 character too many at the end", at);
		else if (b->b64.bad)
			sl_mime_signal(m, SL_SIG_MIME_BAD_BASE64, "characters outside the alphabet skipped", at);
		else if (b->b64.after_pad)
			sl_mime_signal(m, SL_SIG_MIME_BAD_BASE64, "data after the padding ignored", at);
		break;
	case SL_ENC_QP: {
		uint8_t tail[4];
		decoded_out(m, tail, sl_qp_finish(&b->qp, tail));
		if (b->qp.bad)
			sl_mime_signal(m, SL_SIG_MIME_BAD_QP, NULL, at);
		break;
	}
	case SL_ENC_UUENCODE:
		sl_uu_finish(&b->uu, decoded_out, m);
		if (b->uu.failed)
			sl_mime_signal(m, SL_SIG_MIME_BAD_UUENCODE, NULL, at);
		break;
	default:
		break;
	}
	if (b->text) {
		sl_textconv_finish(&b->tc, text_out, m);
		if (b->nul_seen)
			sl_mime_signal(m, SL_SIG_MIME_NUL, "NUL byte in a text body", at);
		if (b->tc.replaced)
			sl_mime_signal(m, SL_SIG_MIME_BAD_CHARSET, f->part.charset, at);
	}
	unsigned mdlen = 0;
	EVP_DigestFinal_ex(b->sha, f->part.sha256, &mdlen);
	f->part.decoded_bytes = b->decoded;
	f->part.raw_body_end = b->raw_end;
	b->active = false;
}
