/* UTF-8 validation 32 bytes a step (AVX2), after Keiser and Lemire, "Validating UTF-8
 * in less than one instruction per byte" (2021): three nibble lookups classify each
 * byte pair, two saturating subtractions find the bytes that must be continuations.
 * It only says how far the input is certainly valid; the scalar validator in
 * charset.c finds the exact end of the valid prefix from there. */
#include "charset.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define TOO_SHORT (1 << 0)
#define TOO_LONG (1 << 1)
#define OVERLONG_3 (1 << 2)
#define TOO_LARGE (1 << 3)
#define SURROGATE (1 << 4)
#define OVERLONG_2 (1 << 5)
#define TOO_LARGE_1000 (1 << 6)
#define OVERLONG_4 (1 << 6)
#define TWO_CONTS (1 << 7)
#define CARRY (TOO_SHORT | TOO_LONG | TWO_CONTS)

#define C(x) ((char)(uint8_t)(x))
#define TABLE16(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p)                              \
	_mm256_broadcastsi128_si256(_mm_setr_epi8(C(a), C(b), C(c), C(d), C(e), C(f), C(g), C(h), \
	                                          C(i), C(j), C(k), C(l), C(m), C(n), C(o), C(p)))

__attribute__((target("avx2"))) static inline __m256i prev_n(__m256i in, __m256i prev, int n)
{
	__m256i joined = _mm256_permute2x128_si256(prev, in, 0x21);
	switch (n) {
	case 1:
		return _mm256_alignr_epi8(in, joined, 15);
	case 2:
		return _mm256_alignr_epi8(in, joined, 14);
	default:
		return _mm256_alignr_epi8(in, joined, 13);
	}
}

/* Error bits for the bytes of `in`, given the 32 bytes before it. */
__attribute__((target("avx2"))) static inline __m256i check_block(__m256i in, __m256i prev)
{
	const __m256i nib = _mm256_set1_epi8(0x0F);
	const __m256i b1_high = TABLE16(
		TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG,
		TWO_CONTS, TWO_CONTS, TWO_CONTS, TWO_CONTS,
		TOO_SHORT | OVERLONG_2, TOO_SHORT, TOO_SHORT | OVERLONG_3 | SURROGATE,
		TOO_SHORT | TOO_LARGE | TOO_LARGE_1000 | OVERLONG_4);
	const __m256i b1_low = TABLE16(
		CARRY | OVERLONG_3 | OVERLONG_2 | OVERLONG_4, CARRY | OVERLONG_2, CARRY, CARRY,
		CARRY | TOO_LARGE, CARRY | TOO_LARGE | TOO_LARGE_1000,
		CARRY | TOO_LARGE | TOO_LARGE_1000, CARRY | TOO_LARGE | TOO_LARGE_1000,
		CARRY | TOO_LARGE | TOO_LARGE_1000, CARRY | TOO_LARGE | TOO_LARGE_1000,
		CARRY | TOO_LARGE | TOO_LARGE_1000, CARRY | TOO_LARGE | TOO_LARGE_1000,
		CARRY | TOO_LARGE | TOO_LARGE_1000, CARRY | TOO_LARGE | TOO_LARGE_1000 | SURROGATE,
		CARRY | TOO_LARGE | TOO_LARGE_1000, CARRY | TOO_LARGE | TOO_LARGE_1000);
	const __m256i b2_high = TABLE16(
		TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT,
		TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE_1000 | OVERLONG_4,
		TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE,
		TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE,
		TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE,
		TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT);

	__m256i prev1 = prev_n(in, prev, 1);
	__m256i p1_high = _mm256_and_si256(_mm256_srli_epi16(prev1, 4), nib);
	__m256i p1_low = _mm256_and_si256(prev1, nib);
	__m256i in_high = _mm256_and_si256(_mm256_srli_epi16(in, 4), nib);
	__m256i sc = _mm256_and_si256(
		_mm256_and_si256(_mm256_shuffle_epi8(b1_high, p1_high), _mm256_shuffle_epi8(b1_low, p1_low)),
		_mm256_shuffle_epi8(b2_high, in_high));

	/* third and fourth bytes of 3- and 4-byte sequences must be continuations */
	__m256i prev2 = prev_n(in, prev, 2), prev3 = prev_n(in, prev, 3);
	__m256i third = _mm256_subs_epu8(prev2, _mm256_set1_epi8((char)(0xE0 - 0x80)));
	__m256i fourth = _mm256_subs_epu8(prev3, _mm256_set1_epi8((char)(0xF0 - 0x80)));
	__m256i must23 = _mm256_and_si256(_mm256_or_si256(third, fourth), _mm256_set1_epi8((char)0x80));
	return _mm256_xor_si256(must23, sc);
}

/* Bytes at the end of a block that start a sequence the block does not complete. */
__attribute__((target("avx2"))) static inline __m256i incomplete(__m256i in)
{
	const __m256i max = _mm256_setr_epi8(
		-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
		-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
		(char)(0xF0 - 1), (char)(0xE0 - 1), (char)(0xC0 - 1));
	return _mm256_subs_epu8(in, max);
}

__attribute__((target("avx2"))) size_t sl_utf8_valid_blocks_avx2(const uint8_t *p, size_t n)
{
	__m256i prev = _mm256_setzero_si256(), prev_inc = _mm256_setzero_si256();
	size_t i = 0;
	for (; i + 32 <= n; i += 32) {
		__m256i in = _mm256_loadu_si256((const __m256i *)(p + i));
		__m256i err;
		if (!_mm256_movemask_epi8(in)) {
			err = prev_inc; /* ASCII: fine unless a sequence was left open */
			prev_inc = _mm256_setzero_si256();
		} else {
			err = check_block(in, prev);
			prev_inc = incomplete(in);
		}
		if (!_mm256_testz_si256(err, err))
			break;
		prev = in;
	}
	/* [0, i) is valid but may end inside a sequence: back up to its lead byte */
	for (size_t k = 1; k <= 3 && k <= i; k++) {
		uint8_t c = p[i - k];
		if (c < 0x80)
			break;
		if (c >= 0xC0) {
			i -= k;
			break;
		}
	}
	return i;
}

#else

size_t sl_utf8_valid_blocks_avx2(const uint8_t *p, size_t n)
{
	(void)p;
	(void)n;
	return 0;
}

#endif
