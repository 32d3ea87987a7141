/* libFuzzer: reading a posting block (archive/index/postblock.c) from any bytes, as a
 * damaged store would hand it to search: entries stay inside the value, the walk ends,
 * and positions decode without reading past their slice. */
#include <stdint.h>
#include <stdlib.h>

#include "postblock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size, *key, *pos;
	size_t pos_len, entries = 0;
	while (ar_postblock_next(&p, end, &key, &pos, &pos_len)) {
		if (key < data || key + 8 > end || pos < key + 8 || pos + pos_len > end || p > end)
			abort();
		size_t off = 0;
		uint64_t v;
		size_t k;
		while (off < pos_len && (k = ar_varint_get(pos + off, pos_len - off, &v)) != 0)
			off += k;
		if (++entries > size)
			abort(); /* every entry consumes at least 9 bytes */
	}
	if (p != end)
		abort(); /* a walk ends at the end (damage makes it skip there) */
	return 0;
}
