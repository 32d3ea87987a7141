/* A cheaper expression for Hyperscan's prefilter of a pattern PCRE2 confirms. A
 * prefilter only has to match a superset, and large bounded repeats are what makes
 * Hyperscan's compile slow: SpamAssassin's `<a\s[^>]{0,2048}...(?:[^<]{0,1024}<...){0,99}`
 * took 30 s of one core alone. `X{n,m}` with m >= WIDEN_FROM becomes `X{n,}`: every
 * match of the original still ends where it ended, so PCRE2, which confirms with the
 * original expression, decides exactly as before. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define WIDEN_FROM 32

/* Length of a `{n,m}` quantifier at s with m >= WIDEN_FROM, else 0; *lo_len: digits of
 * n. `{,m}` is text to PCRE2 10.42, not a quantifier, and is left alone. */
static size_t wide_repeat(const char *s, size_t *lo_len)
{
	if (*s != '{')
		return 0;
	size_t i = 1;
	while (s[i] >= '0' && s[i] <= '9')
		i++;
	*lo_len = i - 1;
	if (*lo_len == 0 || s[i] != ',' || !(s[i + 1] >= '0' && s[i + 1] <= '9'))
		return 0;
	i++;
	unsigned long hi = strtoul(s + i, NULL, 10);
	while (s[i] >= '0' && s[i] <= '9')
		i++;
	return s[i] == '}' && hi >= WIDEN_FROM ? i + 1 : 0;
}

const char *pol_prefilter_widen(struct pol_arena *a, const char *expr)
{
	size_t n = strlen(expr);
	char *out = pol_alloc(a, n + 1), *o = out;
	bool in_class = false, changed = false;
	for (size_t i = 0; i < n;) {
		const char *s = expr + i;
		size_t len = 1, lo_len, whole;
		if (s[0] == '\\' && s[1] == 'Q') { /* quoted to \E: copied as it is */
			const char *e = strstr(s + 2, "\\E");
			len = e ? (size_t)(e - s) + 2 : n - i;
		} else if (s[0] == '\\' && s[1]) {
			len = 2;
		} else if (in_class) {
			if (s[0] == '[' && s[1] == ':') { /* [:alpha:] */
				const char *e = strstr(s + 2, ":]");
				len = e ? (size_t)(e - s) + 2 : 1;
			} else if (s[0] == ']') {
				in_class = false;
			}
		} else if (s[0] == '[') {
			in_class = true;
			len += s[len] == '^';
			len += s[len] == ']'; /* a leading ] is a member */
		} else if ((whole = wide_repeat(s, &lo_len)) != 0) {
			memcpy(o, s, lo_len + 2); /* "{n," */
			o += lo_len + 2;
			*o++ = '}';
			i += whole;
			changed = true;
			continue;
		}
		memcpy(o, s, len);
		o += len;
		i += len;
	}
	*o = '\0';
	return changed ? out : expr;
}
