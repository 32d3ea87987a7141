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
	struct sl_event ev = {
		.type = SL_EV_PART_TEXT,
		.txn = m->txn,
		.offset = m->b.text_off,
		.part = m->b.part,
		.data = p,
		.len = n,
	};
	sl_mime_callout(m, &ev);
	m->b.text_off += n;
}

/* The staged decoded bytes: hashed, emitted, converted -- one digest update, one
 * PART_DATA and as few PART_TEXT events as the conversion allows per feed call,
 * instead of one per run of input between line starts. */
void sl_body_flush(struct sl_mime *m)
{
	struct body *b = &m->b;
	size_t n = b->staged;
	if (!n)
		return;
	b->staged = 0;
	const uint8_t *p = m->dec;
	if (b->hashing && !sl_hash_update(&b->sha, p, n))
		m->mem->failed = true; /* OpenSSL could not go on: no hash, the part is not scanned */
	if (b->emit) {
		struct sl_event ev = {
			.type = SL_EV_PART_DATA,
			.txn = m->txn,
			.offset = b->decoded,
			.part = b->part,
			.data = p,
			.len = n,
		};
		sl_mime_callout(m, &ev);
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

/* Room for decoder output at the end of the staged bytes: `*k` of the `n` input bytes
 * fit (a decoder writes at most its input + 4 bytes; the AVX2 base64 block needs the
 * same slack). */
static uint8_t *stage_room(struct sl_mime *m, size_t n, size_t *k)
{
	if (m->dec_cap - m->b.staged < 64)
		sl_body_flush(m);
	size_t room = m->dec_cap - m->b.staged - 8;
	*k = n < room ? n : room;
	return m->dec + m->b.staged;
}

/* Transfer-decoded bytes from elsewhere (identity encodings, uuencode, QP's tail). */
static void decoded_out(void *ctx, const uint8_t *p, size_t n)
{
	struct sl_mime *m = ctx;
	struct body *b = &m->b;
	while (n) {
		size_t room = m->dec_cap - b->staged;
		if (!room) {
			sl_body_flush(m);
			continue;
		}
		size_t k = n < room ? n : room;
		memcpy(m->dec + b->staged, p, k);
		b->staged += k;
		p += k, n -= k;
	}
}

static void decode_raw(struct sl_mime *m, const uint8_t *p, size_t n)
{
	struct body *b = &m->b;
	size_t k;
	switch (b->enc) {
	case SL_ENC_BASE64:
		while (n) {
			uint8_t *o = stage_room(m, n, &k);
			b->staged += sl_b64_decode(&b->b64, p, k, o);
			p += k, n -= k;
		}
		break;
	case SL_ENC_QP:
		while (n) {
			uint8_t *o = stage_room(m, n, &k);
			b->staged += sl_qp_decode(&b->qp, p, k, o);
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
	sl_body_flush(m); /* never needed: the previous body ended first */
	b->active = true;
	b->part = &f->part;
	b->staged = 0;
	b->enc = f->part.encoding;
	sl_b64_init(&b->b64);
	sl_qp_init(&b->qp);
	sl_uu_init(&b->uu);
	b->hashing = !m->lim.skip_part_sha256;
	if (b->hashing && !sl_hash_init(&b->sha, SL_HASH_SHA256))
		m->mem->failed = true;
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
	if (b->enc == SL_ENC_QP) {
		uint8_t tail[4];
		decoded_out(m, tail, sl_qp_finish(&b->qp, tail));
	} else if (b->enc == SL_ENC_UUENCODE) {
		sl_uu_finish(&b->uu, decoded_out, m);
	}
	sl_body_flush(m); /* every decoded byte out before the signals and the last text */
	switch (b->enc) {
	case SL_ENC_BASE64:
		if (!sl_b64_finish(&b->b64))
			sl_mime_signal(m, SL_SIG_MIME_BAD_BASE64, "one base64 character too many at the end", at);
		else if (b->b64.bad)
			sl_mime_signal(m, SL_SIG_MIME_BAD_BASE64, "characters outside the alphabet skipped", at);
		else if (b->b64.after_pad)
			sl_mime_signal(m, SL_SIG_MIME_BAD_BASE64, "data after the padding ignored", at);
		break;
	case SL_ENC_QP:
		if (b->qp.bad)
			sl_mime_signal(m, SL_SIG_MIME_BAD_QP, NULL, at);
		break;
	case SL_ENC_UUENCODE:
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
	if (!b->hashing)
		memset(f->part.sha256, 0, sizeof f->part.sha256);
	else if (!sl_hash_final(&b->sha, f->part.sha256, &mdlen))
		m->mem->failed = true;
	f->part.decoded_bytes = b->decoded;
	f->part.raw_body_end = b->raw_end;
	b->active = false;
}
