/* Quoted-printable body decoder with the semantics of Python's binascii.a2b_qp
 * (quopri.decodestring), which email's get_payload(decode=True) uses:
 *   "=XX" (hex, either case) is a byte; "==" is one '='; "=" then CR skips to the next
 *   LF (soft line break); "=" then LF is a soft line break; "=" followed by anything
 *   else is kept literally and the next byte read normally; a final "=" is dropped.
 * Trailing whitespace is kept. */
#include "decode.h"

#include <stdbool.h>
#include <string.h>

enum { QP_TEXT, QP_EQ, QP_EQ_HEX, QP_SKIP_TO_LF };

void sl_qp_init(struct sl_qp *d)
{
	memset(d, 0, sizeof *d);
}

static int hexval(uint8_t c)
{
	static const int8_t v[256] = {
		['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7,
		['7'] = 8, ['8'] = 9, ['9'] = 10, ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14,
		['E'] = 15, ['F'] = 16, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15,
		['f'] = 16,
	};
	return v[c] - 1; /* -1 when not a hex digit */
}

/* Length of the soft line break ("=" CRLF or "=" LF) at in[i] == '=', else 0; in[i + 2]
 * must be readable. Passing over it here is what QP_EQ and QP_SKIP_TO_LF would do, without
 * leaving the fast loop at the end of every line of a wrapped body. */
static inline size_t soft_break(const uint8_t *in, size_t i)
{
	if (in[i + 1] == '\n')
		return 2;
	return in[i + 1] == '\r' && in[i + 2] == '\n' ? 3 : 0;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

static bool have_avx2;

__attribute__((constructor)) static void detect_avx2(void)
{
	__builtin_cpu_init();
	have_avx2 = __builtin_cpu_supports("avx2");
}

/* Text state, 32 bytes a step: runs without '=' are copied, "=XX" decoded in line and
 * soft line breaks dropped. Stops at any other '=', or with fewer than 32 bytes left. Output never runs ahead of input, so the 32-byte stores stay inside the
 * caller's n + 4 bytes. */
__attribute__((target("avx2"))) static void text_avx2(const uint8_t *in, size_t n, size_t *ip,
                                                     uint8_t **op)
{
	const __m256i eq = _mm256_set1_epi8('=');
	size_t i = *ip;
	uint8_t *o = *op;
	while (i + 32 <= n) {
		__m256i v = _mm256_loadu_si256((const __m256i *)(in + i));
		unsigned m = (unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, eq));
		_mm256_storeu_si256((__m256i *)o, v);
		if (!m) {
			o += 32;
			i += 32;
			continue;
		}
		unsigned k = (unsigned)__builtin_ctz(m);
		o += k;
		i += k;
		/* "=XX" runs (quoted-printable UTF-8 text is mostly these) */
		while (i + 3 <= n && in[i] == '=') {
			int hi = hexval(in[i + 1]), lo = hexval(in[i + 2]);
			if (hi < 0 || lo < 0) {
				size_t k = soft_break(in, i);
				if (k) {
					i += k;
					continue;
				}
				*ip = i;
				*op = o;
				return;
			}
			*o++ = (uint8_t)(hi << 4 | lo);
			i += 3;
		}
		if (i + 3 > n && i < n && in[i] == '=')
			break;
	}
	*ip = i;
	*op = o;
}
#endif

size_t sl_qp_decode(struct sl_qp *d, const uint8_t *in, size_t n, uint8_t *out)
{
	uint8_t *o = out;
	size_t i = 0;
	while (i < n) {
		switch (d->state) {
		case QP_TEXT: {
#if defined(__x86_64__) && defined(__GNUC__)
			if (have_avx2)
				text_avx2(in, n, &i, &o);
#endif
			/* copy eight bytes at a time while none is '='; decode "=XX" in line */
			while (i + 8 <= n) {
				uint64_t w;
				memcpy(&w, in + i, 8);
				uint64_t x = w ^ 0x3D3D3D3D3D3D3D3Dull;
				if ((x - 0x0101010101010101ull) & ~x & 0x8080808080808080ull) {
					if (in[i] != '=') {
						*o++ = in[i++];
						continue;
					}
					int hi = hexval(in[i + 1]), lo = hexval(in[i + 2]);
					if (hi < 0 || lo < 0) {
						size_t k = soft_break(in, i);
						if (!k)
							break;
						i += k;
						continue;
					}
					*o++ = (uint8_t)(hi << 4 | lo);
					i += 3;
					continue;
				}
				memcpy(o, &w, 8);
				o += 8;
				i += 8;
			}
			while (i < n && in[i] != '=')
				*o++ = in[i++];
			if (i < n) {
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
