/* Perl match operators of SpamAssassin rules, and their ReplaceTags expansion, written
 * as policy regular expressions. The expression itself is kept as written: the policy
 * compiler gives it to Hyperscan, or as a prefilter to Hyperscan and PCRE2 (Perl
 * syntax) when Hyperscan cannot match it exactly. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "sa_import.h"

struct buf {
	char *s;
	size_t n, cap;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->s = realloc(b->s, b->cap);
		if (!b->s) {
			fprintf(stderr, "sluicectl: out of memory\n");
			exit(1);
		}
	}
	memcpy(b->s + b->n, s, n);
	b->n += n;
	b->s[b->n] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

char *sa_regex_take(const char **s, char *flags, size_t flagsz, const char **err)
{
	const char *p = *s;
	while (isspace((unsigned char)*p))
		p++;
	char open;
	if (*p == '/') {
		open = '/';
	} else if (*p == 'm' && p[1] && !isalnum((unsigned char)p[1]) && !isspace((unsigned char)p[1])) {
		open = *++p;
	} else {
		*err = "not a regular expression (/.../ or m{...})";
		return NULL;
	}
	char close = open == '{' ? '}' : open == '(' ? ')' : open == '[' ? ']' : open == '<' ? '>' : open;
	const char *start = ++p;
	int depth = 0;
	for (; *p; p++) {
		if (*p == '\\' && p[1]) {
			p++;
			continue;
		}
		if (open != close && *p == open)
			depth++;
		else if (*p == close && depth-- == 0)
			break;
	}
	if (!*p) {
		*err = "unterminated regular expression";
		return NULL;
	}
	size_t n = (size_t)(p - start);
	char *re = malloc(n + 1);
	if (!re)
		exit(1);
	memcpy(re, start, n);
	re[n] = '\0';
	p++;
	size_t nf = 0;
	while (isalpha((unsigned char)*p)) {
		if (nf + 1 < flagsz)
			flags[nf++] = *p;
		p++;
	}
	flags[nf] = '\0';
	*s = p;
	return re;
}

static const char *tag_value(const struct sa_conf *c, const char *kind, const char *name, size_t nl)
{
	const char *v = NULL;
	for (size_t i = 0; i < c->ntags; i++) /* the last definition wins */
		if (strcmp(c->tags[i].kind, kind) == 0 && strlen(c->tags[i].name) == nl &&
		    strncmp(c->tags[i].name, name, nl) == 0)
			v = c->tags[i].value;
	return v;
}

/* Remove the first "<KIND NAME>" from b; its NAME into out. */
static bool take_directive(struct buf *b, const char *kind, char *out, size_t outsz)
{
	char pat[16];
	snprintf(pat, sizeof pat, "<%s ", kind);
	char *a = strstr(b->s, pat);
	if (!a)
		return false;
	char *e = strchr(a + strlen(pat), '>');
	if (!e || e == a + strlen(pat))
		return false;
	size_t nl = (size_t)(e - (a + strlen(pat)));
	snprintf(out, outsz, "%.*s", (int)nl, a + strlen(pat));
	memmove(a, e + 1, strlen(e + 1) + 1);
	b->n = strlen(b->s);
	return true;
}

/* One pass of Mail::SpamAssassin::Plugin::ReplaceTags over b. True when a
 * replacement brought in more tags. */
static bool replace_pass(const struct sa_conf *c, struct buf *b)
{
	char pre[128] = "", post[128] = "", inter[128] = "";
	take_directive(b, "pre", pre, sizeof pre);
	take_directive(b, "post", post, sizeof post);
	take_directive(b, "inter", inter, sizeof inter);
	const char *prev = pre[0] ? tag_value(c, "pre", pre, strlen(pre)) : NULL;
	const char *postv = post[0] ? tag_value(c, "post", post, strlen(post)) : NULL;
	const char *interv = inter[0] ? tag_value(c, "inter", inter, strlen(inter)) : NULL;
	/* split(/(<[^<>]+>)/): text and tags alternate; Perl drops trailing empty fields */
	struct buf out = {0};
	put(&out, "", 0);
	bool again = false;
	const char *p = b->s;
	size_t pending_empty = 0; /* empty text fields not yet known to be non-trailing */
	for (;;) {
		const char *t = p;
		const char *tag = NULL, *tagend = NULL;
		for (; *t; t++)
			if (*t == '<') {
				const char *e = t + 1;
				while (*e && *e != '<' && *e != '>')
					e++;
				if (*e == '>' && e > t + 1) {
					tag = t;
					tagend = e + 1;
					break;
				}
			}
		size_t textlen = (size_t)((tag ? tag : t) - p);
		if (textlen) {
			for (; pending_empty; pending_empty--)
				if (interv)
					puts_(&out, interv);
			put(&out, p, textlen);
		} else if (tag || !*t) {
			pending_empty++;
		}
		if (!tag)
			break;
		for (; pending_empty; pending_empty--)
			if (interv)
				puts_(&out, interv);
		const char *name = tag + 1;
		size_t nl = (size_t)(tagend - 1 - name);
		const char *v = tag_value(c, "tag", name, nl);
		if (prev)
			puts_(&out, prev);
		if (v) {
			puts_(&out, v);
			again |= strchr(v, '<') && strchr(v, '>');
		} else {
			put(&out, tag, (size_t)(tagend - tag));
		}
		if (postv)
			puts_(&out, postv);
		p = tagend;
	}
	free(b->s);
	*b = out;
	return again;
}

char *sa_replace_tags(const struct sa_conf *c, const char *re)
{
	struct buf b = {0};
	puts_(&b, re);
	for (int pass = 0; pass <= 5; pass++)
		if (!replace_pass(c, &b))
			break;
	return b.s;
}

char *sa_regex_policy(const char *re, const char *flags, const char *extra)
{
	struct buf b = {0};
	puts_(&b, "/");
	if (strchr(flags, 'x'))
		puts_(&b, "(?x)");
	for (const char *p = re; *p; p++) {
		if (*p == '\\' && p[1]) {
			put(&b, p, 2);
			p++;
		} else if (*p == '/') {
			puts_(&b, "\\/");
		} else {
			put(&b, p, 1);
		}
	}
	puts_(&b, "/");
	const char *keep = "ims";
	for (const char *k = keep; *k; k++)
		if (strchr(flags, *k) || strchr(extra, *k))
			put(&b, k, 1);
	return b.s;
}
