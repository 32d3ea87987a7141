/* One direction of a TCP connection as the dataplane sees it: sequence numbers mapped
 * to 64-bit stream offsets (wrap-safe), the bytes the receiver has not acknowledged
 * yet (retained to compare retransmissions) plus the bytes not forwarded yet (held),
 * and a bounded set of out-of-order segments released in order.
 *
 *        head_off        una_off      fwd_off          rcv_off        ooo segments
 *   ... ----|==============|============|================|....[###]...[##]....
 *           retained copy   (acked: freed) forwarded      held (not yet sent)
 *
 * Stored bytes always win: a retransmission or out-of-order segment whose bytes differ
 * from bytes already stored is a conflict. Inline, the whole segment is refused (the
 * caller drops it); passive (captures), the stored bytes are kept, the new ones used
 * only where nothing was stored (first data wins). No DPDK. */
#ifndef SLUICE_DP_TCPDIR_H
#define SLUICE_DP_TCPDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/bufpool.h"
#include "pipeline/objpool.h"
#include "stream/mem.h"

/* Bytes of one out-of-order holder (the ooo_holders pool): a full segment of a 1500-byte
 * MTU fits; a larger piece (jumbo frames, a capture taken before segmentation) is
 * malloc'd. */
#define DP_OOO_HOLDER 2048

struct dp_ooo_seg {
	uint64_t off;
	uint32_t len;
	uint8_t *data;
};

struct dp_tcpdir {
	bool started;
	uint32_t isn;            /* sequence number of stream offset 0 */
	uint64_t rcv_off;        /* everything before was received in order */
	uint64_t fwd_off;        /* everything before was sent to the receiver */
	uint64_t una_off;        /* everything before was acknowledged by the receiver */
	uint64_t head_off;       /* stream offset of buf[start] */
	uint8_t *buf;
	size_t start, len, cap;  /* buf[start .. start+len) holds [head_off, rcv_off) */
	struct dp_ooo_seg *ooo;  /* sorted by offset, disjoint */
	unsigned nooo, ooo_cap, max_ooo;
	size_t ooo_bytes;
	bool fin;                /* FIN seen; its offset: */
	uint64_t fin_off;
	bool passive;            /* a capture: nothing is held, first data wins */
	size_t retain_passive;   /* passive: bytes kept behind rcv_off for comparisons */
	uint64_t rw_from, rw_to; /* the span where stored bytes were rewritten (empty: equal) */
	struct dp_mem *mem;
	struct dp_objpool *holders; /* out-of-order bytes up to DP_OOO_HOLDER; NULL: malloc */
	struct dp_bufpool *bufs;    /* buf up to DP_BUF_MAX; NULL (or larger): malloc */
	bool buf_heap;              /* buf came from malloc (larger, or the classes full) */
};

enum dp_seg_status {
	DP_SEG_OK,        /* accepted (new bytes, duplicate or held out of order) */
	DP_SEG_CONFLICT,  /* bytes differ from stored ones (inline: refused) */
	DP_SEG_OOO_FULL,  /* out of order and the hold is full: refused */
	DP_SEG_MEMORY,    /* no memory under the caps: refused */
	DP_SEG_WINDOW,    /* too far from the expected sequence: refused */
};

struct dp_seg_result {
	enum dp_seg_status status;
	uint64_t seg_off;        /* stream offset of the segment's first byte */
	uint64_t new_from;       /* bytes newly in order: [new_from, new_to) */
	uint64_t new_to;
	bool old_bytes;          /* the segment covered bytes already received */
	bool conflict;           /* some bytes differed (passive: old kept) */
	bool held_ooo;           /* some bytes were stored out of order */
	bool before_start;       /* bytes before offset 0 (clipped) */
	bool rewritten;          /* matched stored bytes only as their rewrite: send ours */
};

/* isn: sequence number of the first data byte. max_ooo: out-of-order segments held at
 * most. mem, holders and bufs may be NULL. passive: reading a capture (see above). */
void dp_tcpdir_init(struct dp_tcpdir *d, uint32_t isn, unsigned max_ooo, struct dp_mem *mem,
                    struct dp_objpool *holders, struct dp_bufpool *bufs, bool passive);
void dp_tcpdir_free(struct dp_tcpdir *d);

/* Stream offset of a sequence number near the receive edge (wrap-safe). Negative
 * values (before the stream start) come back as offsets > rcv_off + 2^31. */
int64_t dp_tcpdir_offset(const struct dp_tcpdir *d, uint32_t seq);
static inline uint32_t dp_tcpdir_seq(const struct dp_tcpdir *d, uint64_t off)
{
	return d->isn + (uint32_t)off;
}

/* A segment's payload. Passive: first data wins on conflict, never refused for it. */
void dp_tcpdir_data(struct dp_tcpdir *d, uint32_t seq, const uint8_t *p, uint32_t len,
                    struct dp_seg_result *r);

/* Stored bytes from off up to rcv_off (off >= head_off); *len set. */
const uint8_t *dp_tcpdir_bytes(const struct dp_tcpdir *d, uint64_t off, size_t *len);

/* Compare [off, off+len) with stored bytes where stored; true when all stored agree. */
bool dp_tcpdir_same(const struct dp_tcpdir *d, uint64_t off, const uint8_t *p, uint32_t len,
                    bool *rewritten);

/* Stored bytes [off, off+len) were rewritten (a NUL made '?', STARTTLS made XXXXXXXX):
 * a retransmission of the original bytes there is no conflict, and what goes on is
 * our copy (dp_seg_result.rewritten). */
void dp_tcpdir_rewritten(struct dp_tcpdir *d, uint64_t off, size_t len);

/* The receiver acknowledged up to `ack` (sequence number). */
void dp_tcpdir_ack(struct dp_tcpdir *d, uint32_t ack);
/* Bytes up to off were sent to the receiver. */
void dp_tcpdir_forwarded(struct dp_tcpdir *d, uint64_t off);
/* FIN at sequence number seq (after the data). */
void dp_tcpdir_fin(struct dp_tcpdir *d, uint32_t seq);

/* Passive: give up on missing bytes, up to `upto` or the first out-of-order segment,
 * whichever comes first (DP_SKIP_HELD: up to that segment); what follows and is held
 * comes into order. Returns how many bytes were skipped. */
#define DP_SKIP_HELD UINT64_MAX
uint64_t dp_tcpdir_skip_gap(struct dp_tcpdir *d, uint64_t upto, struct dp_seg_result *r);

size_t dp_tcpdir_memory(const struct dp_tcpdir *d);

#endif
