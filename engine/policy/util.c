/* Arena, growable arrays, hashing and diagnostics for the policy code. */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pol_block {
	struct pol_block *next;
	size_t used, cap;
	max_align_t data[];
};

struct pol_arena {
	struct pol_block *head;
};

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		abort(); /* building a policy: nothing sensible to do without memory */
	return p;
}

struct pol_arena *pol_arena_new(void)
{
	struct pol_arena *a = xmalloc(sizeof *a);
	a->head = NULL;
	return a;
}

void pol_arena_free(struct pol_arena *a)
{
	if (!a)
		return;
	struct pol_block *b = a->head;
	while (b) {
		struct pol_block *next = b->next;
		free(b);
		b = next;
	}
	free(a);
}

void *pol_alloc(struct pol_arena *a, size_t n)
{
	n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	struct pol_block *b = a->head;
	if (!b || b->cap - b->used < n) {
		size_t cap = n > 60000 ? n : 60000;
		b = xmalloc(sizeof *b + cap);
		b->used = 0;
		b->cap = cap;
		b->next = a->head;
		a->head = b;
	}
	void *p = (char *)b->data + b->used;
	b->used += n;
	memset(p, 0, n);
	return p;
}

char *pol_strndup(struct pol_arena *a, const char *s, size_t n)
{
	char *d = pol_alloc(a, n + 1);
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

char *pol_strdup(struct pol_arena *a, const char *s)
{
	return pol_strndup(a, s, strlen(s));
}

void pol_vec_init(struct pol_vec *vec, size_t elem_size)
{
	vec->v = NULL;
	vec->n = vec->cap = 0;
	vec->size = elem_size;
}

void *pol_vec_push(struct pol_vec *vec)
{
	if (vec->n == vec->cap) {
		vec->cap = vec->cap ? vec->cap * 2 : 16;
		void *v = realloc(vec->v, vec->cap * vec->size);
		if (!v)
			abort();
		vec->v = v;
	}
	void *e = (char *)vec->v + vec->n++ * vec->size;
	memset(e, 0, vec->size);
	return e;
}

void pol_vec_free(struct pol_vec *vec)
{
	free(vec->v);
	pol_vec_init(vec, vec->size);
}

/* FNV-1a, 64 bit: keys for distinct counts; not a security boundary. */
uint64_t pol_hash64(const void *p, size_t n, uint64_t seed)
{
	const uint8_t *b = p;
	uint64_t h = 0xcbf29ce484222325ULL ^ seed;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

void pol_diag(struct sl_policy_diag *d, const char *file, unsigned line, unsigned col,
              const char *fmt, ...)
{
	if (!d)
		return;
	snprintf(d->file, sizeof d->file, "%s", file ? file : "");
	d->line = line;
	d->col = col;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->msg, sizeof d->msg, fmt, ap);
	va_end(ap);
}

const char *pol_file_name(const struct sl_policy *p, uint32_t file)
{
	return file < p->nsources ? p->sources[file].path : "";
}

const char *pol_db_scope_name(unsigned db)
{
	switch (db) {
	case DB_BODY: return "body";
	case DB_ATTACH: return "attachment";
	case DB_ATTACH_TEXT: return "attachment-text";
	case DB_ATTACH_RAW: return "attachment";
	case DB_RAW: return "raw";
	case DB_MEMBER: return "member";
	case DB_DOCTEXT: return "document-text";
	case DB_MEMBER_NAME: return "archive-member";
	case DB_RENDERED: return "rendered";
	case DB_MAIL_FROM: return "mail-from";
	case DB_RCPT_TO: return "rcpt-to";
	case DB_HELO: return "helo";
	case DB_HEADER: return "header";
	case DB_FILENAME: return "filename";
	}
	return "header";
}
