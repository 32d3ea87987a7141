#include "sluice/strbuf.h"

/* RFC 3629, table 3-7 of Unicode: the lead byte gives the length and the range of the
 * second byte. */
size_t sl_utf8_seq(const uint8_t *p, size_t n, size_t *bad)
{
	uint8_t c = p[0];
	size_t len;
	uint8_t lo = 0x80, hi = 0xBF; /* the second byte's range */
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2;
	else if (c == 0xE0)
		len = 3, lo = 0xA0; /* no overlongs */
	else if (c == 0xED)
		len = 3, hi = 0x9F; /* no surrogates */
	else if (c >= 0xE1 && c <= 0xEF)
		len = 3;
	else if (c == 0xF0)
		len = 4, lo = 0x90;
	else if (c >= 0xF1 && c <= 0xF3)
		len = 4;
	else if (c == 0xF4)
		len = 4, hi = 0x8F; /* up to U+10FFFF */
	else {
		*bad = 1;
		return 0;
	}
	for (size_t i = 1; i < len; i++) {
		if (i >= n || p[i] < lo || p[i] > hi) {
			*bad = i;
			return 0;
		}
		lo = 0x80, hi = 0xBF;
	}
	return len;
}

size_t sl_utf8_seq_len(const uint8_t *p, size_t n)
{
	size_t bad;
	return sl_utf8_seq(p, n, &bad);
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
