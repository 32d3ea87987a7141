/* CUnit suite "fastpaths": the vector and word-at-a-time paths of the decoders and of
 * the UTF-8 check give exactly what their byte-at-a-time paths give. Fed one byte per
 * call, the decoders never take a fast path (they need 4, 8 or 32 bytes in one call),
 * so that feed is the oracle; the inputs put line ends, padding, stray and invalid
 * bytes at every offset around the 8- and 32-byte steps. */
#include <CUnit/CUnit.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "charset.h"
#include "cunit_run.h"
#include "decode.h"

static uint32_t rng = 12345;

static uint32_t next(void)
{
	rng = rng * 1103515245u + 12345u;
	return rng >> 8;
}

static const char b64_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Lines of `col` base64 characters ending in CRLF, LF or CR, then one damage. */
static size_t make_b64(uint8_t *buf, size_t n, size_t col, int eol, size_t at, uint8_t bad)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++) {
		if (c == col) {
			c = 0;
			if (eol == 0) {
				buf[i] = '\r';
				if (i + 1 < n)
					buf[++i] = '\n';
			} else {
				buf[i] = eol == 1 ? '\n' : '\r';
			}
			continue;
		}
		buf[i] = (uint8_t)b64_alpha[next() % 64];
		c++;
	}
	if (at < n)
		buf[at] = bad;
	return n;
}

static void check_b64(const uint8_t *in, size_t n)
{
	struct sl_b64 fast, slow;
	uint8_t *o1 = malloc(n + 4), *o2 = malloc(n + 4), one[8];
	sl_b64_init(&fast);
	sl_b64_init(&slow);
	size_t k1 = sl_b64_decode(&fast, in, n, o1), k2 = 0;
	for (size_t i = 0; i < n; i++) {
		size_t k = sl_b64_decode(&slow, in + i, 1, one);
		memcpy(o2 + k2, one, k);
		k2 += k;
	}
	CU_ASSERT_EQUAL(k1, k2);
	CU_ASSERT(k1 == k2 && memcmp(o1, o2, k1) == 0);
	CU_ASSERT_EQUAL(sl_b64_finish(&fast), sl_b64_finish(&slow));
	CU_ASSERT_EQUAL(fast.bad, slow.bad);
	CU_ASSERT_EQUAL(fast.after_pad, slow.after_pad);
	CU_ASSERT_EQUAL(fast.done, slow.done);
	free(o1);
	free(o2);
}

static void test_base64(void)
{
	static const uint8_t damage[] = {'=', '-', ' ', '\n', 0x80, 0xFF, 'A'};
	uint8_t buf[400];
	for (size_t col = 4; col <= 76; col += 24)
		for (int eol = 0; eol < 3; eol++)
			for (size_t at = 0; at < 140; at++)
				for (size_t d = 0; d < sizeof damage; d++)
					check_b64(buf, make_b64(buf, 100 + next() % 300, col, eol, at, damage[d]));
}

static void check_qp(const uint8_t *in, size_t n)
{
	struct sl_qp fast, slow;
	uint8_t *o1 = malloc(n + 4), *o2 = malloc(n + 4), one[8];
	sl_qp_init(&fast);
	sl_qp_init(&slow);
	size_t k1 = sl_qp_decode(&fast, in, n, o1), k2 = 0;
	for (size_t i = 0; i < n; i++) {
		size_t k = sl_qp_decode(&slow, in + i, 1, one);
		memcpy(o2 + k2, one, k);
		k2 += k;
	}
	k1 += sl_qp_finish(&fast, o1 + k1);
	k2 += sl_qp_finish(&slow, o2 + k2);
	CU_ASSERT_EQUAL(k1, k2);
	CU_ASSERT(k1 == k2 && memcmp(o1, o2, k1) == 0);
	CU_ASSERT_EQUAL(fast.bad, slow.bad);
	free(o1);
	free(o2);
}

static void test_quoted_printable(void)
{
	static const char pieces[][4] = {"=E4", "=b8", "a", " ", "=\r\n", "=\n", "==", "=G1",
	                                 "=4", "\r\n", "x=", "=3D"};
	uint8_t buf[300];
	for (int round = 0; round < 20000; round++) {
		size_t n = 0, want = next() % 250;
		int dense = round % 3; /* 0: text, 1: =XX runs, 2: anything */
		while (n + 3 < want) {
			const char *p = dense == 0 ? (next() % 10 ? "t" : pieces[next() % 12])
			              : dense == 1 ? (next() % 8 ? "=C3" : pieces[next() % 12])
			                           : pieces[next() % 12];
			size_t l = strlen(p);
			memcpy(buf + n, p, l);
			n += l;
		}
		check_qp(buf, n);
	}
}

/* The UTF-8 check against the one-sequence-at-a-time definition. */
static size_t utf8_prefix_ref(const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		size_t l = sl_utf8_seq_len(p + i, n - i);
		if (!l)
			return i;
		i += l;
	}
	return i;
}

static void test_utf8_prefix(void)
{
	static const char *seqs[] = {"a", "\xC3\xA9", "\xE4\xB8\xAD", "\xF0\x9F\x98\x80",
	                             "\xED\x9F\xBF", "\xEF\xBF\xBD", "\xF4\x8F\xBF\xBF"};
	static const uint8_t damage[] = {0x80, 0xBF, 0xC0, 0xC1, 0xE0, 0xED, 0xF0, 0xF4, 0xF5,
	                                 0xFF, 0x00};
	uint8_t buf[320];
	for (int round = 0; round < 30000; round++) {
		size_t n = 0, want = 40 + next() % 260;
		while (n + 4 < want) {
			const char *s = seqs[round % 2 ? next() % 7 : (next() % 6 ? 0 : next() % 7)];
			size_t l = strlen(s);
			memcpy(buf + n, s, l);
			n += l;
		}
		if (round % 4) {
			buf[next() % n] = damage[next() % sizeof damage];
		}
		if (round % 5 == 0)
			n -= next() % 4; /* end inside a sequence */
		CU_ASSERT_EQUAL(sl_utf8_valid_prefix(buf, n), utf8_prefix_ref(buf, n));
	}
}

int main(void)
{
	static const struct cu_test tests[] = {
		{"base64 fast paths = byte at a time", test_base64},
		{"quoted-printable fast paths = byte at a time", test_quoted_printable},
		{"UTF-8 check (AVX2 blocks) = sequence at a time", test_utf8_prefix},
		{NULL, NULL},
	};
	return cu_run_suite("fastpaths", NULL, NULL, tests);
}
