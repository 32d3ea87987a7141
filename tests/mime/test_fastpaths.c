/* CUnit suite "fastpaths": the vector and word-at-a-time paths of the decoders and of
 * the UTF-8 check give exactly what their byte-at-a-time paths give. Fed one byte per
 * call, the decoders never take a fast path (they need 4, 8 or 32 bytes in one call),
 * so that feed is the oracle; the inputs put line ends, padding, stray and invalid
 * bytes at every offset around the 8- and 32-byte steps. The header value scan is
 * checked against what the parser did before it (unfold, then look for NUL, "=?" and
 * 8-bit bytes, each in its own pass). */
#include <CUnit/CUnit.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "charset.h"
#include "cunit_run.h"
#include "decode.h"
#include "hdrscan.h"
#include "pyemail.h"

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
	                                 "=4", "\r\n", "x=", "=3D", "=\r", "\r"};
	const size_t np = sizeof pieces / sizeof pieces[0];
	uint8_t buf[300];
	for (int round = 0; round < 20000; round++) {
		size_t n = 0, want = next() % 250;
		int dense = round % 3; /* 0: text, 1: =XX runs, 2: anything */
		while (n + 3 < want) {
			const char *p = dense == 0 ? (next() % 10 ? "t" : pieces[next() % np])
			              : dense == 1 ? (next() % 8 ? "=C3" : pieces[next() % np])
			                           : pieces[next() % np];
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

/* The header parser's view before the one-pass scan: every CR and LF removed (one
 * segment at a time, as mime_headers.c did), then memchr, memmem and a byte loop. */
struct old_view {
	uint8_t *value;
	size_t len;
	bool nul, encoded, high;
};

static void old_view(const uint8_t *raw, size_t n, struct old_view *o)
{
	o->value = malloc(n + 1);
	o->len = 0;
	size_t i = 0;
	while (i < n) {
		const uint8_t *p = raw + i;
		const uint8_t *lf = memchr(p, '\n', n - i);
		const uint8_t *cr = memchr(p, '\r', lf ? (size_t)(lf - p) : n - i);
		const uint8_t *eol = cr ? cr : lf;
		size_t k = eol ? (size_t)(eol - p) : n - i;
		memcpy(o->value + o->len, p, k);
		o->len += k;
		i += k + (eol ? 1 : 0);
	}
	o->nul = memchr(raw, 0, n) != NULL;
	o->encoded = memmem(o->value, o->len, "=?", 2) != NULL;
	o->high = false;
	for (size_t k = 0; k < o->len; k++)
		o->high |= o->value[k] >= 0x80;
}

static void check_hdr_scan(const uint8_t *v, size_t n)
{
	struct old_view o;
	struct sl_hdr_scan fast, slow;
	old_view(v, n, &o);
	sl_hdr_scan(v, n, &fast);
	sl_hdr_scan_scalar(v, n, &slow);
	CU_ASSERT(memcmp(&fast, &slow, sizeof fast) == 0);
	CU_ASSERT_EQUAL(fast.nul, o.nul);
	CU_ASSERT_EQUAL(fast.encoded, o.encoded);
	CU_ASSERT_EQUAL(fast.high, o.high);
	/* the value the parser decodes: the bytes themselves, or their unfolded copy */
	struct sl_strbuf u;
	sl_strbuf_init(&u);
	if (fast.folded)
		sl_hdr_unfold(v, fast.len, &u);
	else
		sl_strbuf_put(&u, v, fast.len);
	CU_ASSERT(!fast.folded || memchr(v, '\r', fast.len) || memchr(v, '\n', fast.len));
	CU_ASSERT(u.len == o.len && memcmp(u.s, o.value, o.len) == 0);
	struct sl_strbuf us;
	sl_strbuf_init(&us);
	sl_hdr_unfold_scalar(v, n, &us);
	CU_ASSERT(us.len == o.len && memcmp(us.s, o.value, o.len) == 0);
	sl_strbuf_free(&us);
	sl_strbuf_free(&u);
	free(o.value);
}

static void test_header_scan(void)
{
	static const char *edges[] = {
		"", "\r\n", "\n", "\r", "=?", "=", "?", "=\r\n?", "=\r\n ?", "a=?\r\n", "x\ry\r\n",
		"=?utf-8?q?a?=\r\n", "abc\r\n\tdef\r\n", "\r\n\r\n=", "a=\r", "?\r\n=", "==\n??",
	};
	for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
		check_hdr_scan((const uint8_t *)edges[i], strlen(edges[i]));
	static const uint8_t alpha[] = {'a', 'Z', ' ', '\t', '\r', '\n', '=', '?', 0, 0x80,
	                                0xC3, 0xA9, 0xFF, 0xE4, ';', '"'};
	uint8_t buf[1100];
	for (int round = 0; round < 40000; round++) {
		size_t n = round % 10 ? next() % 200 : 998 + next() % 100;
		int mix = round % 4; /* 0: text with rare specials, else: any of alpha */
		for (size_t i = 0; i < n; i++)
			buf[i] = mix == 0 && next() % 16 ? (uint8_t)('a' + next() % 26)
			                                 : alpha[next() % sizeof alpha];
		if (n >= 2 && round % 3 == 0) { /* the usual end of a field */
			buf[n - 2] = '\r';
			buf[n - 1] = '\n';
		}
		if (n >= 4 && round % 5 == 0) { /* "=?" around a 32-byte step, maybe split */
			size_t at = (next() % (n / 32 + 1)) * 32 + next() % 3;
			at -= at > 0; /* '=' at 31, '?' at 32: across the step */
			if (at + 3 < n) {
				buf[at] = '=';
				buf[at + 1] = round % 2 ? '?' : '\n';
				buf[at + 2] = '?';
			}
		}
		check_hdr_scan(buf, n);
	}
}

/* Python's str.replace(a, b) for a 2-byte a and a 1-byte b, in place. */
static size_t py_replace(char *s, size_t n, const char *a, char b)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		bool hit = i + 1 < n && s[i] == a[0] && s[i + 1] == a[1];
		s[o++] = hit ? b : s[i];
		i += hit;
	}
	return o;
}

/* email.utils.unquote, in place */
static size_t py_unquote(char *s, size_t n)
{
	if (n < 2 || !((s[0] == '"' && s[n - 1] == '"') || (s[0] == '<' && s[n - 1] == '>')))
		return n;
	bool quoted = s[0] == '"';
	memmove(s, s + 1, n - 2);
	n -= 2;
	return quoted ? py_replace(s, py_replace(s, n, "\\\\", '\\'), "\\\"", '"') : n;
}

/* get_param's view of a parameter value (unquote, quote, unquote, unquote), for every
 * value of up to 6 bytes of quotes, backslashes, angle brackets and a letter. */
static void test_param_unquote(void)
{
	static const char alpha[] = "a\"\\<>";
	struct sl_py_env env = {0}; /* its temporaries' stash, reused by every call */
	for (size_t len = 0; len <= 6; len++) {
		size_t total = 1;
		for (size_t k = 0; k < len; k++)
			total *= 5;
		for (size_t code = 0; code < total; code++) {
			char v[8], q[20], hdr[40];
			for (size_t k = 0, c = code; k < len; k++, c /= 5)
				v[k] = alpha[c % 5];
			size_t an = py_unquote(memcpy(q + 1, v, len), len); /* unquote(v) at q + 1 */
			char a[8];
			memcpy(a, q + 1, an);
			size_t qn = 0;
			q[qn++] = '"';
			for (size_t k = 0; k < an; k++) {
				if (a[k] == '\\' || a[k] == '"')
					q[qn++] = '\\';
				q[qn++] = a[k];
			}
			q[qn++] = '"';
			qn = py_unquote(q, py_unquote(q, qn));
			int hn = snprintf(hdr, sizeof hdr, "a/b; name=%.*s", (int)len, v);
			struct sl_strbuf got;
			sl_strbuf_init(&got);
			CU_ASSERT(sl_py_get_param(&env, hdr, (size_t)hn, "name", &got));
			bool same = got.len == qn && memcmp(got.s ? got.s : "", q, qn) == 0;
			if (!same)
				fprintf(stderr, "\n[%.*s]: got [%s], want [%.*s]\n", (int)len, v,
				        got.s ? got.s : "", (int)qn, q);
			CU_ASSERT(same);
			sl_strbuf_free(&got);
		}
	}
	sl_py_env_free(&env);
}

/* A bare token is its own str(); anything else goes through the parser as before
 * (the expected values are Python 3.11's str(header)). */
static void test_cte_token(void)
{
	static const char *cases[][2] = {
		{"base64", "base64"}, {"7bit", "7bit"}, {"Quoted-Printable", "Quoted-Printable"},
		{"base64 ", "base64 "}, {"base64 (comment)", "base64 (comment)"}, {"", ""},
		{"=?utf-8?q?base64?=", "base64"}, {"\"b\\ase\"", "\"base\""},
	};
	struct sl_iconv_cache ic;
	sl_iconv_cache_init(&ic);
	struct sl_py_env env = {.iconv = &ic};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct sl_strbuf out;
		sl_strbuf_init(&out);
		unsigned flags = 0;
		sl_py_cte(&env, (const uint8_t *)cases[i][0], strlen(cases[i][0]), &out, &flags);
		if (strcmp(out.s ? out.s : "", cases[i][1]) != 0)
			fprintf(stderr, "\n[%s]: got [%s]\n", cases[i][0], out.s ? out.s : "");
		CU_ASSERT_STRING_EQUAL(out.s ? out.s : "", cases[i][1]);
		sl_strbuf_free(&out);
	}
	sl_py_env_free(&env);
	sl_iconv_cache_free(&ic);
}

int main(void)
{
	static const struct cu_test tests[] = {
		{"base64 fast paths = byte at a time", test_base64},
		{"quoted-printable fast paths = byte at a time", test_quoted_printable},
		{"UTF-8 check (AVX2 blocks) = sequence at a time", test_utf8_prefix},
		{"header value scan (AVX2, one pass) = unfold then search", test_header_scan},
		{"parameter values unquoted as get_param does", test_param_unquote},
		{"Content-Transfer-Encoding: bare token", test_cte_token},
		{NULL, NULL},
	};
	return cu_run_suite("fastpaths", NULL, NULL, tests);
}
