#include "sluice/strbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"

/* What s points to while nothing is owned and an append failed: callers may read s and
 * write its terminator. Per thread, so that those writes never race. */
static __thread char empty[1];

void sl_strbuf_init(struct sl_strbuf *b)
{
	b->s = NULL;
	b->len = 0;
	b->cap = 0;
	b->failed = false;
}

void sl_strbuf_free(struct sl_strbuf *b)
{
	if (b->cap)
		sl_mem_free(sl_mem_current(), b->s, b->cap);
	sl_strbuf_init(b);
}

void sl_strbuf_clear(struct sl_strbuf *b)
{
	b->len = 0;
	if (b->s)
		b->s[0] = '\0';
}

/* Room for `extra` more bytes and the terminator; false (bytes to drop) when there is
 * no memory for them. */
static bool reserve(struct sl_strbuf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return true;
	if (extra > SIZE_MAX / 2 - b->len)
		need = SIZE_MAX; /* cannot be had: fails below */
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need && cap <= SIZE_MAX / 2)
		cap *= 2;
	char *s = cap < need ? NULL
	                     : sl_mem_realloc(sl_mem_current(), b->cap ? b->s : NULL, b->cap, cap);
	if (!s) {
		b->failed = true;
		if (!b->s)
			b->s = empty;
		if (!b->cap)
			empty[0] = '\0';
		return false;
	}
	b->s = s;
	b->cap = cap;
	return true;
}

void sl_strbuf_put(struct sl_strbuf *b, const void *p, size_t n)
{
	if (!reserve(b, n))
		return;
	if (n)
		memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void sl_strbuf_puts(struct sl_strbuf *b, const char *s)
{
	sl_strbuf_put(b, s, strlen(s));
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
	if (!reserve(b, (size_t)n))
		return;
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
	if (n > SIZE_MAX / 4 || !reserve(b, 2 * n))
		return;
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
	/* the caller frees the buffer with free(): it is nobody's charge */
	struct sl_mem *outer = sl_mem_swap(NULL);
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0 && !b.failed)
		sl_strbuf_put(&b, buf, n);
	int err = b.failed ? ENOMEM : ferror(f) ? (errno ? errno : EIO) : 0;
	fclose(f);
	sl_mem_swap(outer);
	if (err) {
		sl_strbuf_free(&b);
		errno = err;
		return NULL;
	}
	*len = b.len;
	if (b.cap)
		return (uint8_t *)b.s;
	uint8_t *z = calloc(1, 1);
	if (!z)
		errno = ENOMEM;
	return z;
}
