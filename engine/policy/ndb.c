/* ClamAV extended body signatures (.ndb) to Hyperscan expressions.
 * Supported: hex bytes, ?? and nibble wildcards, *, {n} {n-m} {-m} {n-}, [n-m],
 * (aa|bb|...) alternatives (hex and ?? inside), !(aa|bb) single-byte negation;
 * offsets '*', 'N' and 'N,M'. Everything else is refused with its position, never
 * approximated. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sluice/strbuf.h"

struct out {
	char *s;
	size_t n, cap;
};

static void put(struct out *o, const char *s)
{
	size_t l = strlen(s);
	if (o->n + l + 1 > o->cap) {
		o->cap = (o->n + l + 1) * 2;
		char *ns = realloc(o->s, o->cap);
		if (!ns)
			abort();
		o->s = ns;
	}
	memcpy(o->s + o->n, s, l + 1);
	o->n += l;
}

/* One byte position: two chars of hex or nibble wildcards. */
static bool byte_expr(const char *h, struct out *o)
{
	char buf[128];
	int hi = sl_hexval(h[0]), lo = sl_hexval(h[1]);
	if (h[0] == '?' && h[1] == '?') {
		put(o, ".");
	} else if (hi >= 0 && lo >= 0) {
		snprintf(buf, sizeof buf, "\\x%02x", hi * 16 + lo);
		put(o, buf);
	} else if (hi >= 0 && h[1] == '?') {
		snprintf(buf, sizeof buf, "[\\x%02x-\\x%02x]", hi * 16, hi * 16 + 15);
		put(o, buf);
	} else if (h[0] == '?' && lo >= 0) {
		put(o, "[");
		for (int k = 0; k < 16; k++) {
			snprintf(buf, sizeof buf, "\\x%02x", k * 16 + lo);
			put(o, buf);
		}
		put(o, "]");
	} else {
		return false;
	}
	return true;
}

static bool parse_num(const char **p, unsigned long *v)
{
	char *end;
	if (**p < '0' || **p > '9')
		return false;
	*v = strtoul(*p, &end, 10);
	if (*v > 1000000)
		return false;
	*p = end;
	return true;
}

char *pol_ndb_to_regex(struct pol_arena *a, const char *offset, const char *hex,
                       const char **err, size_t *errcol)
{
	struct out o = {0};
	char buf[96];
	*errcol = (size_t)-1;
	if (strcmp(offset, "*") != 0) {
		const char *p = offset;
		unsigned long n, m = 0;
		bool range = false;
		if (!parse_num(&p, &n)) {
			*err = "only the offsets *, N and N,M are supported (EOF-, EP+, S sections are not)";
			return NULL;
		}
		if (*p == ',') {
			p++;
			range = true;
			if (!parse_num(&p, &m)) {
				*err = "bad offset N,M";
				return NULL;
			}
		}
		if (*p) {
			*err = "only the offsets *, N and N,M are supported (EOF-, EP+, S sections are not)";
			return NULL;
		}
		if (range && m > 0)
			snprintf(buf, sizeof buf, "^.{%lu,%lu}", n, n + m);
		else if (n > 0)
			snprintf(buf, sizeof buf, "^.{%lu}", n);
		else
			snprintf(buf, sizeof buf, "^"); /* Hyperscan refuses .{0} */
		put(&o, buf);
	}
	const char *p = hex;
	size_t fixed = 0;
	if (!*p) {
		*err = "empty signature";
		*errcol = 0;
		free(o.s);
		return NULL;
	}
	while (*p) {
		size_t col = (size_t)(p - hex);
		if (*p == '*') {
			put(&o, ".*");
			p++;
		} else if (*p == '{' || *p == '[') {
			char close = *p == '{' ? '}' : ']';
			p++;
			unsigned long n = 0, m = 0;
			bool has_n = parse_num(&p, &n), has_m = false;
			if (*p == '-') {
				p++;
				has_m = parse_num(&p, &m);
				if (has_n && has_m)
					snprintf(buf, sizeof buf, ".{%lu,%lu}", n, m);
				else if (has_n)
					snprintf(buf, sizeof buf, ".{%lu,}", n);
				else if (has_m)
					snprintf(buf, sizeof buf, ".{0,%lu}", m);
				else
					goto bad_jump;
				if (has_n && has_m && m < n)
					goto bad_jump;
			} else if (has_n) {
				snprintf(buf, sizeof buf, ".{%lu}", n);
			} else {
				goto bad_jump;
			}
			if (*p != close)
				goto bad_jump;
			p++;
			put(&o, buf);
			continue;
		bad_jump:
			*err = "bad jump: use {n}, {n-m}, {-m}, {n-} or [n-m]";
			*errcol = col;
			free(o.s);
			return NULL;
		} else if (*p == '(' || (*p == '!' && p[1] == '(')) {
			bool neg = *p == '!';
			p += neg ? 2 : 1;
			if ((p[0] == 'B' || p[0] == 'L' || p[0] == 'W') && p[1] == ')') {
				*err = "anchors (B), (L), (W) are not supported";
				*errcol = col;
				free(o.s);
				return NULL;
			}
			put(&o, neg ? "[^" : "(?:");
			bool first = true;
			for (;;) {
				if (!first && !neg)
					put(&o, "|");
				first = false;
				size_t len = 0;
				while (sl_hexval(p[0]) >= 0 || p[0] == '?') {
					if (sl_hexval(p[1]) < 0 && p[1] != '?') {
						*err = "odd number of hex digits in alternative";
						*errcol = (size_t)(p - hex);
						free(o.s);
						return NULL;
					}
					if (neg && (p[0] == '?' || p[1] == '?')) {
						*err = "wildcards inside a negated alternative are not supported";
						*errcol = (size_t)(p - hex);
						free(o.s);
						return NULL;
					}
					byte_expr(p, &o);
					p += 2;
					len++;
				}
				if (len == 0 || (neg && len != 1)) {
					*err = neg ? "negated alternatives must be single bytes: !(aa|bb)"
					           : "empty alternative";
					*errcol = (size_t)(p - hex);
					free(o.s);
					return NULL;
				}
				if (*p == '|') {
					p++;
					continue;
				}
				if (*p == ')') {
					p++;
					break;
				}
				*err = "alternatives are (aa|bb|...)";
				*errcol = (size_t)(p - hex);
				free(o.s);
				return NULL;
			}
			put(&o, neg ? "]" : ")");
		} else if ((sl_hexval(p[0]) >= 0 || p[0] == '?') && p[1] && (sl_hexval(p[1]) >= 0 || p[1] == '?')) {
			if (sl_hexval(p[0]) >= 0 && sl_hexval(p[1]) >= 0)
				fixed++;
			byte_expr(p, &o);
			p += 2;
		} else {
			*err = sl_hexval(p[0]) >= 0 || p[0] == '?' ? "odd number of hex digits"
			                                       : "unexpected character in signature";
			*errcol = col;
			free(o.s);
			return NULL;
		}
	}
	if (fixed < 2) {
		*err = "a signature needs at least two fixed bytes";
		*errcol = 0;
		free(o.s);
		return NULL;
	}
	char *r = pol_strdup(a, o.s);
	free(o.s);
	return r;
}
