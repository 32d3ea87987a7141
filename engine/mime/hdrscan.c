/* The header value scan (hdrscan.h): every field of every entity goes through it, so
 * it looks at each byte once, 32 at a time with AVX2, instead of one pass to unfold,
 * one for NUL, one for "=?" and one more to validate UTF-8. */
#include "hdrscan.h"

#include <string.h>

static inline bool is_break(uint8_t c)
{
	return c == '\r' || c == '\n';
}

/* The '?' at v[q] ends "=?" of the unfolded value: the byte before it, line ends
 * skipped, is '='. */
static bool ends_ew_start(const uint8_t *v, size_t q)
{
	while (q && is_break(v[q - 1]))
		q--;
	return q && v[q - 1] == '=';
}

/* Bytes [i, n); s->len holds the first line end seen so far (n when none). */
static void scan_bytes(const uint8_t *v, size_t i, size_t n, struct sl_hdr_scan *s)
{
	for (; i < n; i++) {
		uint8_t c = v[i];
		s->nul |= c == 0;
		s->high |= c >= 0x80;
		if (is_break(c) && s->len == n)
			s->len = i;
		if (c == '?' && !s->encoded)
			s->encoded = ends_ew_start(v, i);
	}
}

/* From the first line end (in s->len) to what hdrscan.h promises. */
static void finish(const uint8_t *v, size_t n, struct sl_hdr_scan *s)
{
	size_t first = s->len, len = n;
	while (len && is_break(v[len - 1]))
		len--;
	s->len = len;
	s->folded = first < len;
}

void sl_hdr_scan_scalar(const uint8_t *v, size_t n, struct sl_hdr_scan *s)
{
	*s = (struct sl_hdr_scan){.len = n};
	scan_bytes(v, 0, n, s);
	finish(v, n, s);
}

void sl_hdr_unfold_scalar(const uint8_t *v, size_t n, struct sl_strbuf *out)
{
	size_t start = 0;
	for (size_t i = 0; i < n; i++)
		if (is_break(v[i])) {
			sl_strbuf_put(out, v + start, i - start);
			start = i + 1;
		}
	sl_strbuf_put(out, v + start, n - start);
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

static bool have_avx2;

__attribute__((constructor)) static void detect_avx2(void)
{
	__builtin_cpu_init();
	have_avx2 = __builtin_cpu_supports("avx2");
}

/* 32 bytes from v + i; past n, filler that is none of the bytes looked for. */
__attribute__((target("avx2"))) static inline __m256i load_block(const uint8_t *v, size_t i,
                                                                 size_t n)
{
	if (i + 32 <= n)
		return _mm256_loadu_si256((const __m256i *)(v + i));
	uint8_t tail[32];
	memset(tail, 'a', sizeof tail);
	memcpy(tail, v + i, n - i);
	return _mm256_loadu_si256((const __m256i *)tail);
}

__attribute__((target("avx2"))) static inline unsigned breaks_of(__m256i b)
{
	return (unsigned)_mm256_movemask_epi8(_mm256_or_si256(
		_mm256_cmpeq_epi8(b, _mm256_set1_epi8('\r')), _mm256_cmpeq_epi8(b, _mm256_set1_epi8('\n'))));
}

__attribute__((target("avx2"))) static void scan_avx2(const uint8_t *v, size_t n,
                                                      struct sl_hdr_scan *s)
{
	const __m256i zero = _mm256_setzero_si256(), qm = _mm256_set1_epi8('?');
	__m256i any_nul = zero, any_high = zero;
	for (size_t i = 0; i < n; i += 32) {
		__m256i b = load_block(v, i, n);
		any_nul = _mm256_or_si256(any_nul, _mm256_cmpeq_epi8(b, zero));
		any_high = _mm256_or_si256(any_high, b);
		unsigned brk = breaks_of(b);
		if (brk && s->len == n)
			s->len = i + (size_t)__builtin_ctz(brk);
		/* '?' is rare in header values: each one is checked on its own */
		unsigned q = (unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi8(b, qm));
		for (; q && !s->encoded; q &= q - 1)
			s->encoded = ends_ew_start(v, i + (size_t)__builtin_ctz(q));
	}
	s->nul = _mm256_movemask_epi8(_mm256_cmpeq_epi8(any_nul, zero)) != -1;
	s->high = _mm256_movemask_epi8(any_high) != 0;
}

__attribute__((target("avx2"))) static void unfold_avx2(const uint8_t *v, size_t n,
                                                        struct sl_strbuf *out)
{
	size_t start = 0;
	for (size_t i = 0; i < n; i += 32)
		for (unsigned brk = breaks_of(load_block(v, i, n)); brk; brk &= brk - 1) {
			size_t at = i + (size_t)__builtin_ctz(brk);
			sl_strbuf_put(out, v + start, at - start);
			start = at + 1;
		}
	sl_strbuf_put(out, v + start, n - start);
}

void sl_hdr_scan(const uint8_t *v, size_t n, struct sl_hdr_scan *s)
{
	if (!have_avx2) {
		sl_hdr_scan_scalar(v, n, s);
		return;
	}
	*s = (struct sl_hdr_scan){.len = n};
	scan_avx2(v, n, s);
	finish(v, n, s);
}

void sl_hdr_unfold(const uint8_t *v, size_t n, struct sl_strbuf *out)
{
	if (have_avx2)
		unfold_avx2(v, n, out);
	else
		sl_hdr_unfold_scalar(v, n, out);
}

#else

void sl_hdr_scan(const uint8_t *v, size_t n, struct sl_hdr_scan *s)
{
	sl_hdr_scan_scalar(v, n, s);
}

void sl_hdr_unfold(const uint8_t *v, size_t n, struct sl_strbuf *out)
{
	sl_hdr_unfold_scalar(v, n, out);
}

#endif

