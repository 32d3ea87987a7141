/* Capped accumulation of one command or reply line. */
#include <stdlib.h>
#include <string.h>

#include "session.h"

void smtp_line_free(struct sl_mem *mem, struct smtp_line *l)
{
	sl_mem_free(mem, l->buf, l->cap);
	memset(l, 0, sizeof *l);
}

void smtp_line_reset(struct sl_mem *mem, struct smtp_line *l)
{
	l->len = 0;
	l->open = false;
	l->truncated = false;
	/* a long line's buffer is not kept: sessions idle with small buffers */
	if (l->cap > 1024) {
		sl_mem_free(mem, l->buf, l->cap);
		l->buf = NULL;
		l->cap = 0;
	}
}

size_t smtp_line_memory(const struct smtp_line *l)
{
	return l->cap;
}

bool smtp_line_add(struct sl_mem *mem, struct smtp_line *l, const uint8_t *p, size_t n,
                   uint64_t off, size_t max)
{
	if (!l->open) {
		l->open = true;
		l->start = off;
	}
	if (l->truncated)
		return true;
	bool fits = true;
	if (l->len + n > max) {
		n = max - l->len;
		l->truncated = true;
		fits = false;
	}
	if (l->len + n + 1 > l->cap) {
		size_t cap = l->cap ? l->cap : 128;
		while (cap < l->len + n + 1)
			cap *= 2;
		if (cap > max + 1)
			cap = max + 1;
		uint8_t *b = sl_mem_realloc(mem, l->buf, l->cap, cap);
		if (!b)
			return fits; /* mem failed: the session stops at its next check */
		l->buf = b;
		l->cap = cap;
	}
	if (n)
		memcpy(l->buf + l->len, p, n);
	l->len += n;
	l->buf[l->len] = '\0';
	return fits;
}
