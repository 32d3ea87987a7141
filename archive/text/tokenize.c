/* The tokenizer: case folding, words, CJK bigrams (see text.h). */
#include "text.h"

#include <string.h>

#include "unicode_tables.h"

size_t ar_utf8_decode(const uint8_t *s, size_t n, uint32_t *cp)
{
	uint8_t c = s[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	size_t len;
	uint32_t v, min;
	if ((c & 0xE0) == 0xC0) {
		len = 2; v = c & 0x1F; min = 0x80;
	} else if ((c & 0xF0) == 0xE0) {
		len = 3; v = c & 0x0F; min = 0x800;
	} else if ((c & 0xF8) == 0xF0) {
		len = 4; v = c & 0x07; min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*cp = v;
	return len;
}

size_t ar_utf8_encode(uint32_t cp, char out[4])
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Folds cp into out[] (1 to 3 code points); returns how many. */
static int fold_cp(uint32_t cp, uint32_t out[3])
{
	if (cp < 0x80) {
		out[0] = (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
		return 1;
	}
	size_t lo = 0, hi = ar_fold_table_len;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (ar_fold_table[mid].cp < cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < ar_fold_table_len && ar_fold_table[lo].cp == cp) {
		int k = 0;
		for (; k < 3 && ar_fold_table[lo].to[k]; k++)
			out[k] = ar_fold_table[lo].to[k];
		return k;
	}
	out[0] = cp;
	return 1;
}

bool ar_is_alnum(uint32_t cp)
{
	if (cp < 0x80)
		return (cp >= '0' && cp <= '9') || ((cp | 32) >= 'a' && (cp | 32) <= 'z');
	size_t lo = 0, hi = ar_alnum_ranges_len;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (ar_alnum_ranges[mid].hi < cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ar_alnum_ranges_len && ar_alnum_ranges[lo].lo <= cp;
}

bool ar_is_cjk(uint32_t cp)
{
	bool in = (cp >= 0x3040 && cp <= 0x30FF) ||   /* hiragana, katakana */
		  (cp >= 0x3400 && cp <= 0x4DBF) ||   /* CJK extension A */
		  (cp >= 0x4E00 && cp <= 0x9FFF) ||   /* CJK unified ideographs */
		  (cp >= 0xAC00 && cp <= 0xD7AF) ||   /* Hangul syllables */
		  (cp >= 0xF900 && cp <= 0xFAFF) ||   /* compatibility ideographs */
		  (cp >= 0x20000 && cp <= 0x3134F);   /* extensions B..G */
	return in && ar_is_alnum(cp);
}

void ar_fold(const char *s, size_t n, struct sl_strbuf *out)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0;
	while (i < n) {
		uint32_t cp, f[3];
		size_t l = ar_utf8_decode(p + i, n - i, &cp);
		if (!l) {
			sl_strbuf_putc(out, (char)p[i]); /* keep odd bytes as they are */
			i++;
			continue;
		}
		i += l;
		int k = fold_cp(cp, f);
		for (int j = 0; j < k; j++) {
			char u[4];
			sl_strbuf_put(out, u, ar_utf8_encode(f[j], u));
		}
	}
}

struct tok_state {
	char word[AR_WORD_MAX];
	size_t wlen;
	bool wtoo_long;
	uint32_t cjk_prev;    /* previous CJK code point of the run, 0 when none */
	size_t cjk_run;
	ar_token_fn fn;
	void *ctx;
};

static void end_word(struct tok_state *t)
{
	if (t->wlen && !t->wtoo_long)
		t->fn(t->ctx, t->word, t->wlen);
	t->wlen = 0;
	t->wtoo_long = false;
}

static void end_cjk(struct tok_state *t)
{
	if (t->cjk_run == 1) {
		char u[4];
		t->fn(t->ctx, u, ar_utf8_encode(t->cjk_prev, u));
	}
	t->cjk_run = 0;
	t->cjk_prev = 0;
}

static void add_cp(struct tok_state *t, uint32_t cp)
{
	if (ar_is_cjk(cp)) {
		end_word(t);
		if (t->cjk_run) {
			char bi[8];
			size_t l = ar_utf8_encode(t->cjk_prev, bi);
			l += ar_utf8_encode(cp, bi + l);
			t->fn(t->ctx, bi, l);
		}
		t->cjk_prev = cp;
		t->cjk_run++;
	} else if (ar_is_alnum(cp)) {
		end_cjk(t);
		char u[4];
		size_t l = ar_utf8_encode(cp, u);
		if (t->wlen + l > AR_WORD_MAX) {
			t->wtoo_long = true;
		} else {
			memcpy(t->word + t->wlen, u, l);
			t->wlen += l;
		}
	} else {
		end_word(t);
		end_cjk(t);
	}
}

void ar_tokenize(const char *s, size_t n, ar_token_fn fn, void *ctx)
{
	struct tok_state t = { .fn = fn, .ctx = ctx };
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0;
	while (i < n) {
		uint32_t cp, f[3];
		size_t l = ar_utf8_decode(p + i, n - i, &cp);
		if (!l) {
			add_cp(&t, ' ');
			i++;
			continue;
		}
		i += l;
		int k = fold_cp(cp, f);
		for (int j = 0; j < k; j++)
			add_cp(&t, f[j]);
	}
	end_word(&t);
	end_cjk(&t);
}
