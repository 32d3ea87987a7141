/* Incremental Content-Transfer-Encoding decoders. Each is fed the encoded body in any
 * chunking and writes decoded bytes to a caller buffer; the result is the same
 * whatever the chunking. The semantics follow Python's email package (binascii
 * a2b_base64 non-strict, a2b_qp, a2b_uu), so decoded bytes and their SHA-256 agree
 * with email.message.Message.get_payload(decode=True); docs/engine-mime.md lists
 * where they cannot (invalid base64 length, broken uuencode). */
#ifndef SLUICE_MIME_DECODE_H
#define SLUICE_MIME_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Worst-case output size for n input bytes (base64, quoted-printable). */
#define SL_DECODE_MAX_OUT(n) ((n) + 4)

struct sl_b64 {
	uint32_t bits;    /* pending sextets */
	unsigned quad;    /* sextets in the current quad, 0..3 */
	unsigned pads;    /* '=' seen in the current padding run */
	bool done;        /* a complete padding sequence ended the data */
	bool bad;         /* characters outside the alphabet (other than CR/LF) */
	bool after_pad;   /* data followed a padding sequence */
};

void sl_b64_init(struct sl_b64 *d);
size_t sl_b64_decode(struct sl_b64 *d, const uint8_t *in, size_t n, uint8_t *out);
/* True when the data ended cleanly (no dangling sextet). */
bool sl_b64_finish(struct sl_b64 *d);

struct sl_qp {
	unsigned state;   /* see qp.c */
	uint8_t hex1;
	bool bad;         /* an '=' not followed by two hex digits or a line end */
};

void sl_qp_init(struct sl_qp *d);
size_t sl_qp_decode(struct sl_qp *d, const uint8_t *in, size_t n, uint8_t *out);
/* Bytes still owed at the end of the data (at most 2). */
size_t sl_qp_finish(struct sl_qp *d, uint8_t *out);

#define SL_UU_LINE_MAX 256
struct sl_uu {
	unsigned state;   /* see uu.c */
	uint8_t line[SL_UU_LINE_MAX];
	size_t len;
	bool tail_garbage; /* bytes past SL_UU_LINE_MAX that a2b_uu would reject */
	bool pending_cr;
	bool failed;      /* Python would give up and return the raw body */
};

/* uuencode decodes a line at a time (a 2-byte line can stand for 63 bytes), so it
 * hands its output to a sink rather than to a buffer. */
typedef void (*sl_sink_fn)(void *ctx, const uint8_t *p, size_t n);
void sl_uu_init(struct sl_uu *d);
void sl_uu_decode(struct sl_uu *d, const uint8_t *in, size_t n, sl_sink_fn sink, void *ctx);
void sl_uu_finish(struct sl_uu *d, sl_sink_fn sink, void *ctx);

#endif
