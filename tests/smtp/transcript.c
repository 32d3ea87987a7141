#include "transcript.h"

#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/strbuf.h"

static struct record *add(struct transcript *t)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 32;
		t->rec = realloc(t->rec, t->cap * sizeof *t->rec);
		if (!t->rec)
			abort();
	}
	struct record *r = &t->rec[t->n++];
	memset(r, 0, sizeof *r);
	return r;
}

/* Decodes the escaped bytes of one record line; false on a bad escape. */
static bool unescape(const char *p, size_t n, struct record *r)
{
	r->data = malloc(n + 1);
	if (!r->data)
		abort();
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] != '\\') {
			r->data[o++] = (uint8_t)p[i];
			continue;
		}
		if (++i == n)
			return false;
		switch (p[i]) {
		case 'r': r->data[o++] = '\r'; break;
		case 'n': r->data[o++] = '\n'; break;
		case 't': r->data[o++] = '\t'; break;
		case '\\': r->data[o++] = '\\'; break;
		case 'x': {
			if (i + 2 >= n)
				return false;
			int h = sl_hexval(p[i + 1]), l = sl_hexval(p[i + 2]);
			if (h < 0 || l < 0)
				return false;
			r->data[o++] = (uint8_t)(h * 16 + l);
			i += 2;
			break;
		}
		default:
			return false;
		}
	}
	r->len = o;
	return true;
}

struct transcript *transcript_parse(const char *text, size_t len)
{
	struct transcript *t = calloc(1, sizeof *t);
	if (!t)
		abort();
	size_t lineno = 0;
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		lineno++;
		size_t n = (size_t)(le - p);
		bool ok = true;
		if (n == 0 || p[0] == '#') {
			/* blank or comment */
		} else if (n >= 2 && (p[0] == 'C' || p[0] == 'S') && p[1] == ' ') {
			struct record *r = add(t);
			r->dir = p[0] == 'C' ? SL_CLIENT : SL_SERVER;
			ok = unescape(p + 2, n - 2, r);
		} else if (n >= 5 && p[0] == 'G' && p[1] == ' ' && (p[2] == 'C' || p[2] == 'S') &&
		           p[3] == ' ') {
			struct record *r = add(t);
			r->dir = p[2] == 'C' ? SL_CLIENT : SL_SERVER;
			r->gap = strtoul(p + 4, NULL, 10);
			ok = r->gap > 0;
		} else {
			ok = false;
		}
		if (!ok) {
			fprintf(stderr, "transcript line %zu is malformed\n", lineno);
			transcript_free(t);
			return NULL;
		}
		p = le + 1;
	}
	return t;
}

uint8_t *read_source_file(const char *relpath, size_t *len)
{
	const char *root = getenv("SLUICE_SOURCE_ROOT");
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", root ? root : ".", relpath);
	return sl_read_file(path, len);
}

struct transcript *transcript_load(const char *path)
{
	char rel[1024];
	snprintf(rel, sizeof rel, "tests/data/smtp/%s", path);
	size_t len;
	uint8_t *text = read_source_file(rel, &len);
	if (!text) {
		fprintf(stderr, "cannot read %s\n", rel);
		return NULL;
	}
	struct transcript *t = transcript_parse((const char *)text, len);
	free(text);
	return t;
}

void transcript_free(struct transcript *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		free(t->rec[i].data);
	free(t->rec);
	free(t);
}
