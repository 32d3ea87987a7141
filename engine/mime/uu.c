/* uuencode body decoder (Content-Transfer-Encoding x-uuencode, uuencode, uue, x-uue)
 * with the semantics of Python 3.11's email.message._decode_uu: lines are split on
 * CR, LF or CRLF; everything before a "begin <octal mode> ..." line is skipped; each
 * line is decoded with binascii.a2b_uu (with its "broken uuencoder" fallback); an
 * "end" line stops decoding. Where Python gives up (no begin line, an empty line,
 * an undecodable line) it returns the undecoded body; we stop and set `failed`. */
#include "decode.h"

#include <string.h>

enum { UU_BEGIN, UU_DATA, UU_DONE };

void sl_uu_init(struct sl_uu *d)
{
	memset(d, 0, sizeof *d);
}

/* Python's int(mode, 8) for the usual forms: [+-]digits with single underscores. */
static bool octal_mode(const uint8_t *p, size_t n)
{
	while (n && (*p == ' ' || *p == '\t'))
		p++, n--;
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (n && (*p == '+' || *p == '-'))
		p++, n--;
	if (n >= 2 && p[0] == '0' && (p[1] == 'o' || p[1] == 'O'))
		p += 2, n -= 2;
	if (!n)
		return false;
	bool prev_digit = false;
	for (size_t i = 0; i < n; i++) {
		if (p[i] >= '0' && p[i] <= '7')
			prev_digit = true;
		else if (p[i] == '_' && prev_digit && i + 1 < n)
			prev_digit = false;
		else
			return false;
	}
	return prev_digit;
}

/* binascii.a2b_uu; returns the decoded length or -1 on error. A line shorter than
 * its length byte says is padded with zero sextets, as Python does. */
static int a2b_uu(const uint8_t *p, size_t n, bool tail_garbage, uint8_t *out)
{
	unsigned bin_len = (unsigned)(p[0] - ' ') & 077;
	uint32_t left = 0;
	unsigned bits = 0;
	int o = 0;
	size_t i = 1;
	for (; bin_len > 0; i++) {
		uint32_t ch = i < n ? p[i] : 0;
		if (i >= n || ch == '\n' || ch == '\r') {
			ch = 0;
		} else {
			if (ch < ' ' || ch > ' ' + 64)
				return -1;
			ch = (ch - ' ') & 077;
		}
		left = left << 6 | ch;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(left >> bits);
			left &= (1u << bits) - 1;
			bin_len--;
		}
	}
	for (; i < n; i++)
		if (p[i] != ' ' && p[i] != ' ' + 64 && p[i] != '\n' && p[i] != '\r')
			return -1;
	return tail_garbage ? -1 : o;
}

static void end_line(struct sl_uu *d, sl_sink_fn sink, void *ctx)
{
	const uint8_t *p = d->line;
	size_t n = d->len;
	bool garbage = d->tail_garbage;
	d->len = 0;
	d->tail_garbage = false;
	if (d->state == UU_BEGIN) {
		if (n >= 6 && memcmp(p, "begin ", 6) == 0) {
			const uint8_t *mode = p + 6, *sp = memchr(mode, ' ', n - 6);
			size_t mlen = sp ? (size_t)(sp - mode) : n - 6;
			if (octal_mode(mode, mlen))
				d->state = UU_DATA;
		}
		return;
	}
	if (d->state != UU_DATA)
		return;
	if (n == 0) {
		d->failed = true; /* "Truncated input" */
		d->state = UU_DONE;
		return;
	}
	size_t b = 0, e = n;
	while (b < e && strchr(" \t\r\n\f", p[b]) && p[b])
		b++;
	while (e > b && strchr(" \t\r\n\f", p[e - 1]) && p[e - 1])
		e--;
	if (!garbage && e - b == 3 && memcmp(p + b, "end", 3) == 0) {
		d->state = UU_DONE;
		return;
	}
	uint8_t out[64];
	int k = a2b_uu(p, n, garbage, out);
	if (k < 0) {
		size_t nbytes = ((((size_t)p[0] - 32) & 63) * 4 + 5) / 3;
		k = a2b_uu(p, nbytes < n ? nbytes : n, false, out);
	}
	if (k < 0) {
		d->failed = true;
		d->state = UU_DONE;
		return;
	}
	if (k)
		sink(ctx, out, (size_t)k);
}

void sl_uu_decode(struct sl_uu *d, const uint8_t *in, size_t n, sl_sink_fn sink, void *ctx)
{
	for (size_t i = 0; i < n && d->state != UU_DONE; i++) {
		uint8_t c = in[i];
		if (d->pending_cr) {
			d->pending_cr = false;
			if (c == '\n')
				continue; /* CRLF: the line already ended at CR */
		}
		if (c == '\r' || c == '\n') {
			end_line(d, sink, ctx);
			d->pending_cr = c == '\r';
			continue;
		}
		if (d->len < SL_UU_LINE_MAX)
			d->line[d->len++] = c;
		else if (c != ' ' && c != '`')
			d->tail_garbage = true;
	}
}

void sl_uu_finish(struct sl_uu *d, sl_sink_fn sink, void *ctx)
{
	if (d->len || d->tail_garbage)
		end_line(d, sink, ctx);
	if (d->state == UU_BEGIN)
		d->failed = true; /* "`begin` line not found" */
}
