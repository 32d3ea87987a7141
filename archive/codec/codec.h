/* Byte codecs shared by store/ and index/ (below both): big-endian integers, varints. */
#ifndef ARCHIVE_CODEC_H
#define ARCHIVE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "sluice/strbuf.h"

void ar_put_be32(uint8_t *p, uint32_t v);
void ar_put_be64(uint8_t *p, uint64_t v);
uint32_t ar_get_be32(const uint8_t *p);
uint64_t ar_get_be64(const uint8_t *p);
/* LEB128 varints. ar_varint_get returns the bytes read, 0 on a damaged one. */
void ar_varint_put(struct sl_strbuf *b, uint64_t v);
size_t ar_varint_get(const uint8_t *p, size_t n, uint64_t *v);

#endif
