/* Base64 body decoder with the semantics of Python's binascii.a2b_base64 (non-strict),
 * which email's get_payload(decode=True) uses: characters outside the alphabet are
 * skipped, a complete padding sequence ends the data (anything after it is ignored),
 * and leftover bits at the end are dropped. */
#include "decode.h"

#include <string.h>

#define INV 0xFF
#define PAD 0xFE

/* sextet value of each byte; INV outside the alphabet, PAD for '=' */
static const uint8_t table[256] = {
	INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV,
	INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV,
	INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, 62, INV, INV, INV, 63,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, INV, INV, INV, PAD, INV, INV,
	INV, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, INV, INV, INV, INV, INV,
	INV, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, INV, INV, INV, INV, INV,
	INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV,
	INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV,
	INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV,
	INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV,
	INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV,
	INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV,
	INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV,
	INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV, INV,
};

void sl_b64_init(struct sl_b64 *d)
{
	memset(d, 0, sizeof *d);
}

/* Four tables, one per position in a quad, holding the sextet already shifted into
 * place; a byte outside the alphabet sets bit 24, so one OR of four lookups decodes a
 * quad and tells whether it was clean. */
#define BAD_BIT 0x01000000u
static uint32_t quad_table[4][256];

__attribute__((constructor)) static void quad_tables_init(void)
{
	for (int c = 0; c < 256; c++) {
		uint32_t v = table[c];
		for (int k = 0; k < 4; k++)
			quad_table[k][c] = v < 64 ? v << (18 - 6 * k) : BAD_BIT;
	}
}

static inline uint32_t quad(const uint8_t *in)
{
	return quad_table[0][in[0]] | quad_table[1][in[1]] | quad_table[2][in[2]] |
	       quad_table[3][in[3]];
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* 32 alphabet characters to 24 bytes (the 8 bytes after them in `out` are
 * scratch); false, with nothing written, when any of the 32 is not in the alphabet. */
__attribute__((target("avx2"))) static bool block32_avx2(const uint8_t *in, uint8_t *out)
{
	__m256i c = _mm256_loadu_si256((const __m256i *)in);
	/* signed compares: bytes >= 0x80 are negative and in no range */
	__m256i upper = _mm256_and_si256(_mm256_cmpgt_epi8(c, _mm256_set1_epi8(0x40)),
	                                 _mm256_cmpgt_epi8(_mm256_set1_epi8(0x5B), c));
	__m256i lower = _mm256_and_si256(_mm256_cmpgt_epi8(c, _mm256_set1_epi8(0x60)),
	                                 _mm256_cmpgt_epi8(_mm256_set1_epi8(0x7B), c));
	__m256i digit = _mm256_and_si256(_mm256_cmpgt_epi8(c, _mm256_set1_epi8(0x2F)),
	                                 _mm256_cmpgt_epi8(_mm256_set1_epi8(0x3A), c));
	__m256i plus = _mm256_cmpeq_epi8(c, _mm256_set1_epi8('+'));
	__m256i slash = _mm256_cmpeq_epi8(c, _mm256_set1_epi8('/'));
	__m256i valid = _mm256_or_si256(_mm256_or_si256(upper, lower),
	                                _mm256_or_si256(digit, _mm256_or_si256(plus, slash)));
	if ((unsigned)_mm256_movemask_epi8(valid) != 0xFFFFFFFFu)
		return false;
	/* sextet = c + shift: 'A' -> 0, 'a' -> 26, '0' -> 52, '+' -> 62, '/' -> 63 */
	__m256i shift = _mm256_or_si256(
		_mm256_or_si256(_mm256_and_si256(upper, _mm256_set1_epi8(-65)),
		                _mm256_and_si256(lower, _mm256_set1_epi8(-71))),
		_mm256_or_si256(_mm256_and_si256(digit, _mm256_set1_epi8(4)),
		                _mm256_or_si256(_mm256_and_si256(plus, _mm256_set1_epi8(19)),
		                                _mm256_and_si256(slash, _mm256_set1_epi8(16)))));
	__m256i v = _mm256_add_epi8(c, shift);
	/* four sextets a b c d -> the 24-bit a<<18 | b<<12 | c<<6 | d in each 32-bit lane */
	v = _mm256_maddubs_epi16(v, _mm256_set1_epi32(0x01400140));
	v = _mm256_madd_epi16(v, _mm256_set1_epi32(0x00011000));
	v = _mm256_shuffle_epi8(v, _mm256_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1,
	                                            2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1));
	v = _mm256_permutevar8x32_epi32(v, _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 7, 7));
	_mm256_storeu_si256((__m256i *)out, v);
	return true;
}

static bool have_avx2;

__attribute__((constructor)) static void detect_avx2(void)
{
	__builtin_cpu_init();
	have_avx2 = __builtin_cpu_supports("avx2");
}
#endif

/* Whole quads of valid characters, and the line ends between them, while the input
 * allows it: the common case of well-formed lines. Line ends between quads change no
 * state (they are skipped either way). Returns the input consumed; *o advances and
 * *quads says whether a quad was decoded. */
static size_t fast_quads(const uint8_t *in, size_t n, uint8_t **o, bool *quads)
{
	size_t i = 0;
	uint8_t *out = *o;
	uint8_t *start = out;
	for (;;) {
#if defined(__x86_64__) && defined(__GNUC__)
		/* out + 32 stays inside the caller's n + 4 bytes: 24 bytes out per 32 in */
		if (have_avx2)
			while (i + 32 <= n && block32_avx2(in + i, out)) {
				out += 24;
				i += 32;
			}
#endif
		while (i + 8 <= n) {
			uint32_t a = quad(in + i), b = quad(in + i + 4);
			if ((a | b) & BAD_BIT)
				break;
			out[0] = (uint8_t)(a >> 16), out[1] = (uint8_t)(a >> 8), out[2] = (uint8_t)a;
			out[3] = (uint8_t)(b >> 16), out[4] = (uint8_t)(b >> 8), out[5] = (uint8_t)b;
			out += 6;
			i += 8;
		}
		while (i + 4 <= n) {
			uint32_t a = quad(in + i);
			if (a & BAD_BIT)
				break;
			out[0] = (uint8_t)(a >> 16), out[1] = (uint8_t)(a >> 8), out[2] = (uint8_t)a;
			out += 3;
			i += 4;
		}
		size_t e = i;
		if (e < n && in[e] == '\r')
			e++;
		if (e < n && in[e] == '\n')
			e++;
		if (e == i || e == n)
			break;
		i = e; /* a line end with more input after it */
	}
	*quads = out != start;
	*o = out;
	return i;
}

static void note_trailing(struct sl_b64 *d, const uint8_t *in, size_t n)
{
	for (size_t i = 0; i < n && !d->after_pad; i++)
		if (table[in[i]] < 64)
			d->after_pad = true;
}

size_t sl_b64_decode(struct sl_b64 *d, const uint8_t *in, size_t n, uint8_t *out)
{
	if (d->done) {
		note_trailing(d, in, n);
		return 0;
	}
	uint8_t *o = out;
	size_t i = 0;
	while (i < n) {
		if (d->quad == 0) {
			bool quads;
			size_t k = fast_quads(in + i, n - i, &o, &quads);
			if (quads)
				d->pads = 0;
			i += k;
			if (i == n)
				break;
		}
		uint8_t ch = in[i++];
		uint8_t v = table[ch];
		if (v == PAD) {
			if (d->quad >= 2 && d->quad + ++d->pads >= 4) {
				d->done = true;
				note_trailing(d, in + i, n - i);
				break;
			}
			if (d->quad < 2)
				d->bad = true;
			continue;
		}
		if (v == INV) {
			if (ch != '\r' && ch != '\n')
				d->bad = true;
			continue;
		}
		d->pads = 0;
		d->bits = d->bits << 6 | v;
		switch (d->quad) {
		case 0:
			d->quad = 1;
			break;
		case 1:
			*o++ = (uint8_t)(d->bits >> 4);
			d->bits &= 0x0F;
			d->quad = 2;
			break;
		case 2:
			*o++ = (uint8_t)(d->bits >> 2);
			d->bits &= 0x03;
			d->quad = 3;
			break;
		default:
			*o++ = (uint8_t)d->bits;
			d->bits = 0;
			d->quad = 0;
			break;
		}
	}
	return (size_t)(o - out);
}

bool sl_b64_finish(struct sl_b64 *d)
{
	return d->done || d->quad != 1;
}
