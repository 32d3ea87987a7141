#include "sluice/strbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sl_strbuf_init(struct sl_strbuf *b)
{
	b->s = NULL;
	b->len = 0;
	b->cap = 0;
}

void sl_strbuf_free(struct sl_strbuf *b)
{
	free(b->s);
	sl_strbuf_init(b);
}

void sl_strbuf_clear(struct sl_strbuf *b)
{
	b->len = 0;
	if (b->s)
		b->s[0] = '\0';
}

static void reserve(struct sl_strbuf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	char *s = realloc(b->s, cap);
	if (!s)
		abort(); /* out of memory in a CLI-sized buffer: nothing sensible to do */
	b->s = s;
	b->cap = cap;
}

void sl_strbuf_put(struct sl_strbuf *b, const void *p, size_t n)
{
	reserve(b, n);
	if (n)
		memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void sl_strbuf_puts(struct sl_strbuf *b, const char *s)
{
	sl_strbuf_put(b, s, strlen(s));
}

void sl_strbuf_putc(struct sl_strbuf *b, char c)
{
	/* header decoding appends byte by byte: skip the general path when there is room */
	if (b->len + 2 <= b->cap) {
		b->s[b->len++] = c;
		b->s[b->len] = '\0';
		return;
	}
	sl_strbuf_put(b, &c, 1);
}

void sl_strbuf_vprintf(struct sl_strbuf *b, const char *fmt, va_list ap)
{
	char small[256];
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(small, sizeof small, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return;
	if ((size_t)n < sizeof small) {
		sl_strbuf_put(b, small, (size_t)n);
		return;
	}
	reserve(b, (size_t)n);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void sl_strbuf_printf(struct sl_strbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sl_strbuf_vprintf(b, fmt, ap);
	va_end(ap);
}

void sl_strbuf_hex(struct sl_strbuf *b, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	reserve(b, 2 * n);
	for (size_t i = 0; i < n; i++) {
		b->s[b->len++] = digits[p[i] >> 4];
		b->s[b->len++] = digits[p[i] & 15];
	}
	b->s[b->len] = '\0';
}

uint8_t *sl_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		sl_strbuf_put(&b, buf, n);
	int err = ferror(f) ? (errno ? errno : EIO) : 0;
	fclose(f);
	if (err) {
		sl_strbuf_free(&b);
		errno = err;
		return NULL;
	}
	*len = b.len;
	return b.s ? (uint8_t *)b.s : calloc(1, 1);
}
