/* A growable byte string, and JSON output on top of it (one writer for every tool that
 * prints JSON: inspect, rules test, verdicts, archive search). */
#ifndef SLUICE_STRBUF_H
#define SLUICE_STRBUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sl_strbuf {
	char *s;       /* always NUL-terminated once anything was appended */
	size_t len;
	size_t cap;    /* 0: s is NULL or a shared empty string, not owned */
	bool failed;   /* an append could not get memory: its bytes were dropped */
};

/* Memory comes from the thread's current engine allocator (engine/core/mem.h): inside an
 * accounted object's calls it is charged to that object's account. An append that
 * cannot get memory (refused or malloc failed) drops its bytes, sets `failed` and marks
 * that allocator failed; it never aborts. After any append s is non-NULL. */

void sl_strbuf_init(struct sl_strbuf *b);
void sl_strbuf_free(struct sl_strbuf *b);
void sl_strbuf_clear(struct sl_strbuf *b);
static inline bool sl_strbuf_failed(const struct sl_strbuf *b)
{
	return b->failed;
}
void sl_strbuf_put(struct sl_strbuf *b, const void *p, size_t n);
void sl_strbuf_puts(struct sl_strbuf *b, const char *s);
/* Inline: header decoding appends byte by byte (3 % of SMTP+MIME as a call). */
static inline void sl_strbuf_putc(struct sl_strbuf *b, char c)
{
	if (b->len + 2 <= b->cap) {
		b->s[b->len++] = c;
		b->s[b->len] = '\0';
		return;
	}
	sl_strbuf_put(b, &c, 1);
}
void sl_strbuf_printf(struct sl_strbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sl_strbuf_vprintf(struct sl_strbuf *b, const char *fmt, va_list ap);
/* The whole file at path in a malloc'd buffer (NUL-terminated, never NULL for an empty
 * file), its size in *len; NULL with errno set when it cannot be opened, read or held
 * (ENOMEM). */
uint8_t *sl_read_file(const char *path, size_t *len);
/* Lowercase hex of n bytes. */
void sl_strbuf_hex(struct sl_strbuf *b, const uint8_t *p, size_t n);
/* The value of the hex digit c (either case), or -1. */
static inline int sl_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A JSON string literal, quotes included. Bytes that are not valid UTF-8 become
 * U+FFFD, control characters are escaped. s == NULL writes null. */
void sl_json_str(struct sl_strbuf *b, const char *s);
void sl_json_strn(struct sl_strbuf *b, const char *s, size_t n);
/* `"key":` with a leading comma unless first. */
void sl_json_key(struct sl_strbuf *b, const char *key, bool first);

/* Validates UTF-8 (RFC 3629: no overlongs, no surrogates). */
bool sl_utf8_valid(const uint8_t *p, size_t n);
/* Length of the valid UTF-8 sequence at p (1..4), or 0 when it is not valid. */
size_t sl_utf8_seq_len(const uint8_t *p, size_t n);
/* The same, with *bad set to the length of the maximal invalid subpart (>= 1) on 0. */
size_t sl_utf8_seq(const uint8_t *p, size_t n, size_t *bad);

#endif
