#include "sluice/strbuf.h"

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when it is not valid. */
size_t sl_utf8_seq_len(const uint8_t *p, size_t n);

size_t sl_utf8_seq_len(const uint8_t *p, size_t n)
{
	uint8_t c = p[0];
	if (c < 0x80)
		return 1;
	size_t len;
	uint8_t lo = 0x80, hi = 0xBF;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2;
	else if (c == 0xE0)
		len = 3, lo = 0xA0;
	else if (c == 0xED)
		len = 3, hi = 0x9F; /* no surrogates */
	else if (c >= 0xE1 && c <= 0xEF)
		len = 3;
	else if (c == 0xF0)
		len = 4, lo = 0x90;
	else if (c >= 0xF1 && c <= 0xF3)
		len = 4;
	else if (c == 0xF4)
		len = 4, hi = 0x8F;
	else
		return 0;
	if (n < len)
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if ((p[i] & 0xC0) != 0x80)
			return 0;
	return len;
}

bool sl_utf8_valid(const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		size_t l = sl_utf8_seq_len(p + i, n - i);
		if (!l)
			return false;
		i += l;
	}
	return true;
}
