/* Quoted-printable body decoder with the semantics of Python's binascii.a2b_qp
 * (quopri.decodestring), which email's get_payload(decode=True) uses:
 *   "=XX" (hex, either case) is a byte; "==" is one '='; "=" then CR skips to the next
 *   LF (soft line break); "=" then LF is a soft line break; "=" followed by anything
 *   else is kept literally and the next byte read normally; a final "=" is dropped.
 * Trailing whitespace is kept. */
#include "decode.h"

#include <stdint.h>
#include <string.h>

enum { QP_TEXT, QP_EQ, QP_EQ_HEX, QP_SKIP_TO_LF };

void sl_qp_init(struct sl_qp *d)
{
	memset(d, 0, sizeof *d);
}

/* hex digit value + 1; 0 for anything else */
static const uint8_t hex1[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7, ['7'] = 8,
	['8'] = 9, ['9'] = 10, ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15,
	['F'] = 16, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
};

static int hexval(uint8_t c)
{
	return hex1[c] - 1;
}

size_t sl_qp_decode(struct sl_qp *d, const uint8_t *in, size_t n, uint8_t *out)
{
	uint8_t *o = out;
	size_t i = 0;
	while (i < n) {
		switch (d->state) {
		case QP_TEXT: {
			/* runs of "=XX" (non-ASCII text is mostly that) without the state machine */
			while (i + 2 < n && in[i] == '=') {
				int hi = hexval(in[i + 1]), lo = hexval(in[i + 2]);
				if (hi < 0 || lo < 0)
					break;
				*o++ = (uint8_t)(hi << 4 | lo);
				i += 3;
			}
			if (i >= n)
				break;
			const uint8_t *eq = memchr(in + i, '=', n - i);
			size_t run = eq ? (size_t)(eq - (in + i)) : n - i;
			memcpy(o, in + i, run);
			o += run;
			i += run;
			if (eq) {
				i++;
				d->state = QP_EQ;
			}
			break;
		}
		case QP_EQ: {
			uint8_t c = in[i];
			if (c == '\n') {
				i++;
				d->state = QP_TEXT;
			} else if (c == '\r') {
				i++;
				d->state = QP_SKIP_TO_LF;
			} else if (c == '=') {
				*o++ = '=';
				i++;
				d->state = QP_TEXT;
			} else if (hexval(c) >= 0) {
				d->hex1 = c;
				i++;
				d->state = QP_EQ_HEX;
			} else {
				*o++ = '=';   /* literal; c is read again as text */
				d->bad = true;
				d->state = QP_TEXT;
			}
			break;
		}
		case QP_EQ_HEX: {
			int lo = hexval(in[i]);
			if (lo >= 0) {
				*o++ = (uint8_t)(hexval(d->hex1) << 4 | lo);
				i++;
			} else {
				/* "=X" then a non-hex byte: '=' literal, X and this byte read again */
				*o++ = '=';
				*o++ = d->hex1;
				d->bad = true;
				if (in[i] == '=') {
					i++;
					d->state = QP_EQ;
					break;
				}
			}
			d->state = QP_TEXT;
			break;
		}
		default: { /* QP_SKIP_TO_LF */
			const uint8_t *lf = memchr(in + i, '\n', n - i);
			if (!lf) {
				i = n;
			} else {
				i = (size_t)(lf - in) + 1;
				d->state = QP_TEXT;
			}
			break;
		}
		}
	}
	return (size_t)(o - out);
}

size_t sl_qp_finish(struct sl_qp *d, uint8_t *out)
{
	size_t n = 0;
	if (d->state == QP_EQ_HEX) {
		out[n++] = '=';
		out[n++] = d->hex1;
	}
	d->state = QP_TEXT;
	return n;
}
