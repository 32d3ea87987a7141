/* Byte codecs the store and the index share. */
#include "codec.h"

void ar_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

void ar_put_be64(uint8_t *p, uint64_t v)
{
	ar_put_be32(p, (uint32_t)(v >> 32));
	ar_put_be32(p + 4, (uint32_t)v);
}

uint32_t ar_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

uint64_t ar_get_be64(const uint8_t *p)
{
	return (uint64_t)ar_get_be32(p) << 32 | ar_get_be32(p + 4);
}

void ar_varint_put(struct sl_strbuf *b, uint64_t v)
{
	uint8_t buf[10];
	size_t n = 0;
	while (v >= 0x80) {
		buf[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	buf[n++] = (uint8_t)v;
	sl_strbuf_put(b, buf, n);
}

size_t ar_varint_get(const uint8_t *p, size_t n, uint64_t *v)
{
	uint64_t r = 0;
	for (size_t i = 0; i < n && i < 10; i++) {
		r |= (uint64_t)(p[i] & 0x7F) << (7 * i);
		if (!(p[i] & 0x80)) {
			*v = r;
			return i + 1;
		}
	}
	return 0;
}
