#include "sluice/strbuf.h"

#include <string.h>

void sl_json_strn(struct sl_strbuf *b, const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	sl_strbuf_putc(b, '"');
	size_t i = 0;
	while (i < n) {
		uint8_t c = p[i];
		if (c == '"' || c == '\\') {
			sl_strbuf_putc(b, '\\');
			sl_strbuf_putc(b, (char)c);
			i++;
		} else if (c == '\n') {
			sl_strbuf_puts(b, "\\n"), i++;
		} else if (c == '\r') {
			sl_strbuf_puts(b, "\\r"), i++;
		} else if (c == '\t') {
			sl_strbuf_puts(b, "\\t"), i++;
		} else if (c < 0x20 || c == 0x7f) {
			sl_strbuf_printf(b, "\\u%04x", c), i++;
		} else if (c < 0x80) {
			sl_strbuf_putc(b, (char)c), i++;
		} else {
			size_t l = sl_utf8_seq_len(p + i, n - i);
			if (l) {
				sl_strbuf_put(b, p + i, l);
				i += l;
			} else {
				sl_strbuf_puts(b, "\\ufffd");
				i++;
			}
		}
	}
	sl_strbuf_putc(b, '"');
}

void sl_json_str(struct sl_strbuf *b, const char *s)
{
	if (!s)
		sl_strbuf_puts(b, "null");
	else
		sl_json_strn(b, s, strlen(s));
}

void sl_json_key(struct sl_strbuf *b, const char *key, bool first)
{
	if (!first)
		sl_strbuf_putc(b, ',');
	sl_json_str(b, key);
	sl_strbuf_putc(b, ':');
}
