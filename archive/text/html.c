/* HTML to plain text for the index. Deliberately small and predictable (a reference
 * can reproduce it, see docs/archive.md): not a renderer. */
#include "text.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool starts_ci(const char *s, size_t n, const char *lit)
{
	size_t l = strlen(lit);
	return n >= l && strncasecmp(s, lit, l) == 0;
}

/* Find lit (case-insensitive) in s[0..n); returns its offset or n. */
static size_t find_ci(const char *s, size_t n, const char *lit)
{
	size_t l = strlen(lit);
	for (size_t i = 0; i + l <= n; i++)
		if (strncasecmp(s + i, lit, l) == 0)
			return i;
	return n;
}

static const struct {
	const char *name;
	uint32_t cp;
} entities[] = {
	{ "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' }, { "apos", '\'' },
	{ "nbsp", 0xA0 },
};

/* Decode an entity at s[0] == '&'; returns bytes consumed (0: not an entity). */
static size_t entity(const char *s, size_t n, uint32_t *cp)
{
	size_t semi = 1;
	while (semi < n && semi < 12 && s[semi] != ';')
		semi++;
	if (semi >= n || s[semi] != ';')
		return 0;
	if (s[1] == '#') {
		bool hex = semi > 2 && (s[2] == 'x' || s[2] == 'X');
		size_t start = hex ? 3 : 2;
		if (start >= semi)
			return 0;
		uint32_t v = 0;
		for (size_t i = start; i < semi; i++) {
			char c = s[i];
			int d;
			if (c >= '0' && c <= '9')
				d = c - '0';
			else if (hex && (c | 32) >= 'a' && (c | 32) <= 'f')
				d = (c | 32) - 'a' + 10;
			else
				return 0;
			v = v * (hex ? 16 : 10) + (uint32_t)d;
			if (v > 0x10FFFF)
				return 0;
		}
		if (v == 0 || (v >= 0xD800 && v <= 0xDFFF))
			return 0;
		*cp = v;
		return semi + 1;
	}
	for (size_t i = 0; i < sizeof entities / sizeof entities[0]; i++) {
		size_t l = strlen(entities[i].name);
		if (l == semi - 1 && memcmp(s + 1, entities[i].name, l) == 0) {
			*cp = entities[i].cp;
			return semi + 1;
		}
	}
	return 0;
}

void ar_html_to_text(const char *s, size_t n, struct sl_strbuf *out)
{
	size_t i = 0;
	while (i < n) {
		char c = s[i];
		if (c == '<') {
			const char *rest = s + i;
			size_t left = n - i;
			size_t skip;
			if (starts_ci(rest, left, "<!--")) {
				size_t e = find_ci(rest + 4, left - 4, "-->");
				skip = 4 + e + (e < left - 4 ? 3 : 0);
			} else if (starts_ci(rest, left, "<script") || starts_ci(rest, left, "<style")) {
				const char *close = starts_ci(rest, left, "<script") ? "</script" : "</style";
				size_t e = find_ci(rest, left, close);
				if (e < left) {
					const char *gt = memchr(rest + e, '>', left - e);
					skip = gt ? (size_t)(gt - rest) + 1 : left;
				} else {
					skip = left;
				}
			} else {
				const char *gt = memchr(rest, '>', left);
				skip = gt ? (size_t)(gt - rest) + 1 : left;
			}
			sl_strbuf_putc(out, ' ');
			i += skip;
		} else if (c == '&') {
			uint32_t cp;
			size_t l = entity(s + i, n - i, &cp);
			if (l) {
				char u[4];
				sl_strbuf_put(out, u, ar_utf8_encode(cp, u));
				i += l;
			} else {
				sl_strbuf_putc(out, c);
				i++;
			}
		} else {
			size_t j = i;
			while (j < n && s[j] != '<' && s[j] != '&')
				j++;
			sl_strbuf_put(out, s + i, j - i);
			i = j;
		}
	}
}
