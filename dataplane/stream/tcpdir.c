#include "stream/tcpdir.h"

#include <stdlib.h>
#include <string.h>

/* Segments further than this from the receive edge are not of this connection. */
#define WINDOW_MAX (1u << 30)
#define PASSIVE_RETAIN (256u * 1024)
#define MIN_BUF DP_BUF_MIN
#define MAX_GROW_CAP (256u * 1024) /* beyond this, compact rather than grow */

void dp_tcpdir_init(struct dp_tcpdir *d, uint32_t isn, unsigned max_ooo, struct dp_mem *mem,
                    struct dp_objpool *holders, struct dp_bufpool *bufs, bool passive)
{
	memset(d, 0, sizeof *d);
	d->started = true;
	d->isn = isn;
	d->max_ooo = max_ooo;
	d->mem = mem;
	d->holders = holders;
	d->bufs = bufs;
	d->passive = passive;
	d->retain_passive = PASSIVE_RETAIN;
}

/* A piece's bytes come from the holder pool when they fit a holder; NULL when it is
 * empty (the worker's share of memory is taken). */
static uint8_t *ooo_alloc(struct dp_tcpdir *d, uint32_t len)
{
	if (d->holders && len <= DP_OOO_HOLDER)
		return dp_objpool_get(d->holders);
	return malloc(len);
}

static void ooo_free(struct dp_tcpdir *d, uint8_t *data, uint32_t len)
{
	if (d->holders && len <= DP_OOO_HOLDER)
		dp_objpool_put(d->holders, data);
	else
		free(data);
}

/* The retained bytes' buffer: from the worker's size classes up to DP_BUF_MAX (its
 * size rounded up to a class there), malloc'd beyond, and when the classes have carved
 * the worker's share (kept slabs of other sizes; the charge to the flow's account, made
 * before, still bounds the bytes). */
static size_t buf_size(const struct dp_tcpdir *d, size_t n)
{
	size_t s = d->bufs ? dp_bufpool_size(n) : 0;
	return s ? s : n;
}

static uint8_t *buf_alloc(struct dp_tcpdir *d, size_t size, bool *heap)
{
	uint8_t *b = NULL;
	if (d->bufs && size <= DP_BUF_MAX)
		b = dp_bufpool_get(d->bufs, size);
	*heap = !b;
	return b ? b : malloc(size);
}

static void buf_free(struct dp_tcpdir *d, uint8_t *buf, size_t size, bool heap)
{
	if (!buf)
		return;
	if (heap)
		free(buf);
	else
		dp_bufpool_put(d->bufs, buf, size);
}

void dp_tcpdir_free(struct dp_tcpdir *d)
{
	if (d->mem)
		dp_mem_release(d->mem, dp_tcpdir_memory(d));
	for (unsigned i = 0; i < d->nooo; i++)
		ooo_free(d, d->ooo[i].data, d->ooo[i].len);
	free(d->ooo);
	buf_free(d, d->buf, d->cap, d->buf_heap);
	memset(d, 0, sizeof *d);
}

size_t dp_tcpdir_memory(const struct dp_tcpdir *d)
{
	return d->cap + d->ooo_bytes + (size_t)d->ooo_cap * sizeof *d->ooo;
}

int64_t dp_tcpdir_offset(const struct dp_tcpdir *d, uint32_t seq)
{
	int32_t delta = (int32_t)(seq - dp_tcpdir_seq(d, d->rcv_off));
	return (int64_t)d->rcv_off + delta;
}

const uint8_t *dp_tcpdir_bytes(const struct dp_tcpdir *d, uint64_t off, size_t *len)
{
	if (off < d->head_off || off > d->rcv_off) {
		*len = 0;
		return NULL;
	}
	*len = (size_t)(d->rcv_off - off);
	return d->buf ? d->buf + d->start + (off - d->head_off) : NULL;
}

static bool charge(struct dp_tcpdir *d, size_t n)
{
	return !d->mem || dp_mem_charge(d->mem, n);
}

static void uncharge(struct dp_tcpdir *d, size_t n)
{
	if (d->mem)
		dp_mem_release(d->mem, n);
}

static void compact(struct dp_tcpdir *d)
{
	memmove(d->buf, d->buf + d->start, d->len);
	d->start = 0;
}

/* Room for n more bytes at the end of the buffer. Moving the kept bytes to the front
 * is worth it only when that frees at least as much room as it moves (else a window
 * of retained bytes would be moved again for every segment): otherwise the buffer
 * grows, and compacts only when it may not. */
static bool reserve(struct dp_tcpdir *d, size_t n)
{
	if (d->start + d->len + n <= d->cap)
		return true;
	bool fits = d->len + n <= d->cap;
	if (fits && d->start >= d->len) {
		compact(d);
		return true;
	}
	if (fits && d->cap >= MAX_GROW_CAP) {
		compact(d);
		return true;
	}
	size_t need = d->len + n;
	size_t want = d->cap * 2 > need ? d->cap * 2 : need;
	if (want < MIN_BUF)
		want = MIN_BUF;
	want = buf_size(d, want);
	if (!charge(d, want - d->cap)) {
		want = buf_size(d, need);
		if (want <= d->cap || !charge(d, want - d->cap)) {
			if (!fits)
				return false;
			compact(d); /* no memory to grow: move after all */
			return true;
		}
	}
	bool heap;
	uint8_t *nb = buf_alloc(d, want, &heap);
	if (!nb) {
		uncharge(d, want - d->cap);
		if (!fits)
			return false;
		compact(d);
		return true;
	}
	if (d->len)
		memcpy(nb, d->buf + d->start, d->len);
	buf_free(d, d->buf, d->cap, d->buf_heap);
	d->buf = nb;
	d->buf_heap = heap;
	d->start = 0;
	d->cap = want;
	return true;
}

static void append(struct dp_tcpdir *d, const uint8_t *p, size_t n)
{
	memcpy(d->buf + d->start + d->len, p, n);
	d->len += n;
	d->rcv_off += n;
}

/* Free retained bytes nobody needs any more. */
static void release(struct dp_tcpdir *d)
{
	uint64_t to = d->una_off < d->fwd_off ? d->una_off : d->fwd_off;
	if (d->passive && d->rcv_off > d->retain_passive && to < d->rcv_off - d->retain_passive)
		to = d->rcv_off - d->retain_passive;
	if (to > d->rcv_off)
		to = d->rcv_off;
	if (to <= d->head_off)
		return;
	size_t n = (size_t)(to - d->head_off);
	d->start += n;
	d->len -= n;
	d->head_off = to;
	if (d->len == 0)
		d->start = 0;
}

/* held is what a rewrite made of sent (see dp_tcpdir_rewritten) */
static bool rewrite_of(uint8_t held, uint8_t sent)
{
	if (held == '?')
		return sent == 0;
	return held == 'X' && sent && strchr("STARTLSstartls", sent);
}

/* Stored [at, at+n) against p: equal, or different only where a rewrite explains it. */
static bool same_stored(const struct dp_tcpdir *d, uint64_t at, const uint8_t *held,
                        const uint8_t *p, size_t n, bool *rewritten)
{
	if (!memcmp(held, p, n))
		return true;
	for (size_t i = 0; i < n; i++) {
		if (held[i] == p[i])
			continue;
		if (at + i < d->rw_from || at + i >= d->rw_to || !rewrite_of(held[i], p[i]))
			return false;
		*rewritten = true;
	}
	return true;
}

bool dp_tcpdir_same(const struct dp_tcpdir *d, uint64_t off, const uint8_t *p, uint32_t len,
                    bool *rewritten)
{
	uint64_t end = off + len;
	/* in-order store */
	uint64_t a = off > d->head_off ? off : d->head_off;
	uint64_t b = end < d->rcv_off ? end : d->rcv_off;
	if (a < b && !same_stored(d, a, d->buf + d->start + (a - d->head_off), p + (a - off),
	                          (size_t)(b - a), rewritten))
		return false;
	/* out-of-order store (never rewritten: rewrites follow the engine, in order) */
	for (unsigned i = 0; i < d->nooo; i++) {
		const struct dp_ooo_seg *s = &d->ooo[i];
		a = off > s->off ? off : s->off;
		b = end < s->off + s->len ? end : s->off + s->len;
		if (a < b && memcmp(s->data + (a - s->off), p + (a - off), (size_t)(b - a)))
			return false;
	}
	return true;
}

void dp_tcpdir_rewritten(struct dp_tcpdir *d, uint64_t off, size_t len)
{
	if (d->rw_to <= d->head_off || d->rw_from >= d->rw_to) {
		d->rw_from = off;
		d->rw_to = off + len;
		return;
	}
	if (off < d->rw_from)
		d->rw_from = off;
	if (off + len > d->rw_to)
		d->rw_to = off + len;
}

/* Move out-of-order segments that now touch the receive edge into the buffer. */
static bool drain(struct dp_tcpdir *d)
{
	while (d->nooo && d->ooo[0].off <= d->rcv_off) {
		struct dp_ooo_seg *s = &d->ooo[0];
		uint64_t end = s->off + s->len;
		if (end > d->rcv_off) {
			size_t skip = (size_t)(d->rcv_off - s->off), n = s->len - skip;
			if (!reserve(d, n))
				return false;
			append(d, s->data + skip, n);
		}
		ooo_free(d, s->data, s->len);
		uncharge(d, s->len);
		d->ooo_bytes -= s->len;
		memmove(d->ooo, d->ooo + 1, (d->nooo - 1) * sizeof *d->ooo);
		d->nooo--;
	}
	return true;
}

struct piece {
	uint64_t off;
	uint32_t len;
	uint32_t src; /* offset in the segment */
};

void dp_tcpdir_data(struct dp_tcpdir *d, uint32_t seq, const uint8_t *p, uint32_t len,
                    struct dp_seg_result *r)
{
	memset(r, 0, sizeof *r);
	r->new_from = r->new_to = d->rcv_off;
	int64_t off = dp_tcpdir_offset(d, seq);
	r->seg_off = off < 0 ? 0 : (uint64_t)off;
	if (!len)
		return;
	if (off < 0) {
		r->before_start = true;
		if ((int64_t)len <= -off)
			return;
		p += -off;
		len -= (uint32_t)-off;
		off = 0;
	}
	uint64_t o = (uint64_t)off, end = o + len;
	if (end > d->rcv_off + WINDOW_MAX || o + WINDOW_MAX < d->rcv_off) {
		r->status = DP_SEG_WINDOW;
		return;
	}
	r->old_bytes = o < d->rcv_off;
	bool same = dp_tcpdir_same(d, o, p, len, &r->rewritten);
	if (!same) {
		r->conflict = true;
		if (!d->passive) {
			r->status = DP_SEG_CONFLICT;
			return;
		}
	}
	if (end <= d->rcv_off)
		return; /* nothing new */

	/* The new bytes not already held out of order, as pieces. */
	struct piece pcs[64];
	unsigned npc = 0;
	uint64_t cur = o > d->rcv_off ? o : d->rcv_off;
	for (unsigned i = 0; i <= d->nooo && cur < end; i++) {
		uint64_t stop = i < d->nooo ? d->ooo[i].off : end;
		if (stop > end)
			stop = end;
		if (stop > cur) {
			if (npc == sizeof pcs / sizeof pcs[0]) {
				r->status = DP_SEG_OOO_FULL;
				return;
			}
			pcs[npc++] = (struct piece){cur, (uint32_t)(stop - cur), (uint32_t)(cur - o)};
			cur = stop;
		}
		if (i < d->nooo && d->ooo[i].off + d->ooo[i].len > cur)
			cur = d->ooo[i].off + d->ooo[i].len;
	}
	unsigned new_ooo = npc - (npc && pcs[0].off == d->rcv_off ? 1 : 0);
	if (d->nooo + new_ooo > d->max_ooo) {
		r->status = DP_SEG_OOO_FULL;
		return;
	}
	size_t ooo_need = 0;
	for (unsigned i = 0; i < npc; i++)
		if (pcs[i].off != d->rcv_off)
			ooo_need += pcs[i].len;
	if (new_ooo && d->nooo + new_ooo > d->ooo_cap) {
		unsigned ncap = d->ooo_cap ? d->ooo_cap * 2 : 8;
		while (ncap < d->nooo + new_ooo)
			ncap *= 2;
		size_t grow = (size_t)(ncap - d->ooo_cap) * sizeof *d->ooo;
		if (!charge(d, grow)) {
			r->status = DP_SEG_MEMORY;
			return;
		}
		struct dp_ooo_seg *n = realloc(d->ooo, (size_t)ncap * sizeof *d->ooo);
		if (!n) {
			uncharge(d, grow);
			r->status = DP_SEG_MEMORY;
			return;
		}
		d->ooo = n;
		d->ooo_cap = ncap;
	}
	if (npc && pcs[0].off == d->rcv_off && !reserve(d, pcs[0].len)) {
		r->status = DP_SEG_MEMORY;
		return;
	}
	if (ooo_need && !charge(d, ooo_need)) {
		r->status = DP_SEG_MEMORY;
		return;
	}
	/* the holders first: without all of them the segment is refused whole */
	uint8_t *copies[sizeof pcs / sizeof pcs[0]];
	for (unsigned i = 0; i < npc; i++) {
		if (pcs[i].off == d->rcv_off)
			continue;
		if (!(copies[i] = ooo_alloc(d, pcs[i].len))) {
			while (i-- > 0)
				if (pcs[i].off != d->rcv_off)
					ooo_free(d, copies[i], pcs[i].len);
			uncharge(d, ooo_need);
			r->status = DP_SEG_MEMORY;
			return;
		}
	}
	/* commit */
	for (unsigned i = 0; i < npc; i++) {
		if (pcs[i].off == d->rcv_off) {
			append(d, p + pcs[i].src, pcs[i].len);
			continue;
		}
		uint8_t *copy = copies[i];
		memcpy(copy, p + pcs[i].src, pcs[i].len);
		unsigned at = 0;
		while (at < d->nooo && d->ooo[at].off < pcs[i].off)
			at++;
		memmove(d->ooo + at + 1, d->ooo + at, (d->nooo - at) * sizeof *d->ooo);
		d->ooo[at] = (struct dp_ooo_seg){pcs[i].off, pcs[i].len, copy};
		d->nooo++;
		d->ooo_bytes += pcs[i].len;
		r->held_ooo = true;
	}
	if (!drain(d))
		r->status = DP_SEG_MEMORY; /* the rest stays out of order */
	r->new_to = d->rcv_off;
	if (d->passive)
		dp_tcpdir_forwarded(d, d->rcv_off);
}

void dp_tcpdir_ack(struct dp_tcpdir *d, uint32_t ack)
{
	int64_t off = dp_tcpdir_offset(d, ack);
	if (off <= (int64_t)d->una_off)
		return;
	d->una_off = (uint64_t)off < d->fwd_off ? (uint64_t)off : d->fwd_off;
	release(d);
}

void dp_tcpdir_forwarded(struct dp_tcpdir *d, uint64_t off)
{
	if (off > d->rcv_off)
		off = d->rcv_off;
	if (off > d->fwd_off)
		d->fwd_off = off;
	release(d);
}

void dp_tcpdir_fin(struct dp_tcpdir *d, uint32_t seq)
{
	int64_t off = dp_tcpdir_offset(d, seq);
	if (off < 0)
		return;
	if (!d->fin || (uint64_t)off < d->fin_off) {
		d->fin = true;
		d->fin_off = (uint64_t)off;
	}
}

uint64_t dp_tcpdir_skip_gap(struct dp_tcpdir *d, uint64_t upto, struct dp_seg_result *r)
{
	memset(r, 0, sizeof *r);
	r->new_from = r->new_to = d->rcv_off;
	uint64_t target = d->nooo ? d->ooo[0].off : upto;
	if (upto < target)
		target = upto;
	if (target == DP_SKIP_HELD || target <= d->rcv_off)
		return 0;
	uint64_t gap = target - d->rcv_off;
	/* the stored bytes stay comparable only up to the gap: forget them */
	d->head_off = d->rcv_off = d->fwd_off = target;
	if (d->una_off < d->head_off)
		d->una_off = d->head_off;
	d->start = d->len = 0;
	r->new_from = d->rcv_off;
	if (!drain(d))
		r->status = DP_SEG_MEMORY;
	r->new_to = d->rcv_off;
	if (d->passive)
		dp_tcpdir_forwarded(d, d->rcv_off);
	return gap;
}
