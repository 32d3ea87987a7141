/* TCP normalization of one direction: sequence wrap, out-of-order hold and in-order
 * release, retransmissions (same and different bytes), overlaps, caps, passive
 * first-data-wins, and a randomized model check. */
#include <stdlib.h>
#include <string.h>

#include "stream/tcpdir.h"
#include "cunit_run.h"

static const uint8_t *text(void)
{
	static uint8_t t[1 << 16];
	if (!t[0])
		for (size_t i = 0; i < sizeof t; i++)
			t[i] = (uint8_t)('a' + (i * 7 + i / 13) % 26);
	return t;
}

static void in_order_bytes(struct dp_tcpdir *d, uint64_t from, const uint8_t *want, size_t n)
{
	size_t len;
	const uint8_t *b = dp_tcpdir_bytes(d, from, &len);
	CU_ASSERT_EQUAL_FATAL(len, n);
	CU_ASSERT_EQUAL(memcmp(b, want, n), 0);
}

static void test_in_order_with_wrap(void)
{
	struct dp_tcpdir d;
	struct dp_seg_result r;
	const uint8_t *t = text();
	uint32_t isn = 0xfffffff0u;
	dp_tcpdir_init(&d, isn, 8, NULL, NULL, NULL, false);
	for (uint32_t i = 0; i < 10; i++) {
		dp_tcpdir_data(&d, isn + i * 10, t + i * 10, 10, &r);
		CU_ASSERT_EQUAL(r.status, DP_SEG_OK);
		CU_ASSERT_EQUAL(r.new_from, i * 10);
		CU_ASSERT_EQUAL(r.new_to, i * 10 + 10);
		CU_ASSERT_FALSE(r.old_bytes);
	}
	CU_ASSERT_EQUAL(d.rcv_off, 100);
	CU_ASSERT_EQUAL(dp_tcpdir_seq(&d, 100), (uint32_t)(isn + 100));
	CU_ASSERT_EQUAL(dp_tcpdir_offset(&d, 0x00000010u), 32);
	in_order_bytes(&d, 0, t, 100);
	/* nothing forwarded: an ACK frees nothing */
	dp_tcpdir_ack(&d, isn + 50);
	CU_ASSERT_EQUAL(d.una_off, 0);
	dp_tcpdir_forwarded(&d, 60);
	dp_tcpdir_ack(&d, isn + 50);
	CU_ASSERT_EQUAL(d.una_off, 50);
	CU_ASSERT_EQUAL(d.head_off, 50);
	in_order_bytes(&d, 50, t + 50, 50);
	/* ACK beyond what was forwarded is clamped */
	dp_tcpdir_ack(&d, isn + 90);
	CU_ASSERT_EQUAL(d.una_off, 60);
	dp_tcpdir_free(&d);
}

static void test_out_of_order_hold_and_release(void)
{
	struct dp_tcpdir d;
	struct dp_seg_result r;
	const uint8_t *t = text();
	dp_tcpdir_init(&d, 1000, 2, NULL, NULL, NULL, false);
	dp_tcpdir_data(&d, 1020, t + 20, 10, &r);
	CU_ASSERT_EQUAL(r.status, DP_SEG_OK);
	CU_ASSERT_TRUE(r.held_ooo);
	CU_ASSERT_EQUAL(r.new_to, 0);
	dp_tcpdir_data(&d, 1040, t + 40, 10, &r);
	CU_ASSERT_EQUAL(r.status, DP_SEG_OK);
	/* a third hole-separated segment exceeds the hold of 2 */
	dp_tcpdir_data(&d, 1060, t + 60, 10, &r);
	CU_ASSERT_EQUAL(r.status, DP_SEG_OOO_FULL);
	CU_ASSERT_EQUAL(d.nooo, 2);
	/* filling the first hole releases up to the second */
	dp_tcpdir_data(&d, 1000, t, 20, &r);
	CU_ASSERT_EQUAL(r.status, DP_SEG_OK);
	CU_ASSERT_EQUAL(r.new_from, 0);
	CU_ASSERT_EQUAL(r.new_to, 30);
	CU_ASSERT_EQUAL(d.nooo, 1);
	/* one segment covering the hole and overlapping the held one (same bytes) */
	dp_tcpdir_data(&d, 1025, t + 25, 30, &r);
	CU_ASSERT_EQUAL(r.status, DP_SEG_OK);
	CU_ASSERT_TRUE(r.old_bytes);
	CU_ASSERT_EQUAL(r.new_to, 55);
	CU_ASSERT_EQUAL(d.nooo, 0);
	CU_ASSERT_EQUAL(d.ooo_bytes, 0);
	in_order_bytes(&d, 0, t, 55);
	dp_tcpdir_free(&d);
}

static void test_retransmission_conflicts_inline(void)
{
	struct dp_tcpdir d;
	struct dp_seg_result r;
	const uint8_t *t = text();
	uint8_t evil[32];
	dp_tcpdir_init(&d, 5, 8, NULL, NULL, NULL, false);
	dp_tcpdir_data(&d, 5, t, 20, &r);
	/* identical retransmission: accepted, nothing new */
	dp_tcpdir_data(&d, 10, t + 5, 10, &r);
	CU_ASSERT_EQUAL(r.status, DP_SEG_OK);
	CU_ASSERT_TRUE(r.old_bytes);
	CU_ASSERT_EQUAL(r.new_from, r.new_to);
	/* different bytes: refused, nothing changes, even the new tail */
	memcpy(evil, t + 10, 20);
	evil[3] ^= 1;
	dp_tcpdir_data(&d, 15, evil, 20, &r);
	CU_ASSERT_EQUAL(r.status, DP_SEG_CONFLICT);
	CU_ASSERT_EQUAL(d.rcv_off, 20);
	/* conflicting with a held out-of-order segment: refused too */
	dp_tcpdir_data(&d, 35, t + 30, 10, &r);
	memcpy(evil, t + 20, 20);
	evil[15] ^= 1; /* offset 35: inside the held segment */
	dp_tcpdir_data(&d, 25, evil, 20, &r);
	CU_ASSERT_EQUAL(r.status, DP_SEG_CONFLICT);
	CU_ASSERT_EQUAL(d.rcv_off, 20);
	CU_ASSERT_EQUAL(d.nooo, 1);
	/* the honest bytes fill it */
	dp_tcpdir_data(&d, 25, t + 20, 20, &r);
	CU_ASSERT_EQUAL(r.status, DP_SEG_OK);
	CU_ASSERT_EQUAL(d.rcv_off, 40);
	in_order_bytes(&d, 0, t, 40);
	dp_tcpdir_free(&d);
}

static void test_passive_first_data_wins(void)
{
	struct dp_tcpdir d;
	struct dp_seg_result r;
	const uint8_t *t = text();
	uint8_t evil[64];
	dp_tcpdir_init(&d, 0, 8, NULL, NULL, NULL, true);
	dp_tcpdir_data(&d, 0, t, 20, &r);
	/* out of order first, then a conflicting in-order segment covering it */
	dp_tcpdir_data(&d, 30, t + 30, 10, &r);
	memset(evil, 'X', sizeof evil);
	dp_tcpdir_data(&d, 10, evil, 40, &r);
	CU_ASSERT_EQUAL(r.status, DP_SEG_OK);
	CU_ASSERT_TRUE(r.conflict);
	CU_ASSERT_EQUAL(r.new_to, 50);
	size_t len;
	const uint8_t *b = dp_tcpdir_bytes(&d, 0, &len);
	CU_ASSERT_EQUAL_FATAL(len, 50);
	CU_ASSERT_EQUAL(memcmp(b, t, 20), 0);          /* first data: original */
	CU_ASSERT_EQUAL(memcmp(b + 20, evil, 10), 0);   /* only the X bytes filled the hole */
	CU_ASSERT_EQUAL(memcmp(b + 30, t + 30, 10), 0); /* held bytes kept */
	CU_ASSERT_EQUAL(memcmp(b + 40, evil, 10), 0);
	dp_tcpdir_free(&d);
}

static void test_memory_cap(void)
{
	struct dp_mem worker = {0, 64 * 1024, NULL};
	struct dp_mem flow = {0, 16 * 1024, &worker};
	struct dp_tcpdir d;
	struct dp_seg_result r;
	static uint8_t big[1 << 16];
	dp_tcpdir_init(&d, 0, 8, &flow, NULL, NULL, false);
	dp_tcpdir_data(&d, 0, big, 12000, &r);
	CU_ASSERT_EQUAL(r.status, DP_SEG_OK);
	CU_ASSERT_EQUAL(flow.used, worker.used);
	CU_ASSERT(flow.used <= flow.limit);
	dp_tcpdir_data(&d, 12000, big, 8000, &r);
	CU_ASSERT_EQUAL(r.status, DP_SEG_MEMORY);
	CU_ASSERT_EQUAL(d.rcv_off, 12000);
	/* out of order bytes count too */
	dp_tcpdir_data(&d, 14000, big, 6000, &r);
	CU_ASSERT_EQUAL(r.status, DP_SEG_MEMORY);
	/* forwarded and acknowledged: room again */
	dp_tcpdir_forwarded(&d, 12000);
	dp_tcpdir_ack(&d, 12000);
	dp_tcpdir_data(&d, 12000, big, 8000, &r);
	CU_ASSERT_EQUAL(r.status, DP_SEG_OK);
	CU_ASSERT(flow.used <= flow.limit);
	dp_tcpdir_free(&d);
	CU_ASSERT_EQUAL(flow.used, 0);
	CU_ASSERT_EQUAL(worker.used, 0);
}

static void test_window_and_before_start(void)
{
	struct dp_tcpdir d;
	struct dp_seg_result r;
	const uint8_t *t = text();
	dp_tcpdir_init(&d, 100, 8, NULL, NULL, NULL, false);
	dp_tcpdir_data(&d, 100 + (1u << 31) - 5, t, 10, &r);
	CU_ASSERT_EQUAL(r.status, DP_SEG_WINDOW);
	dp_tcpdir_data(&d, 100 + (1u << 30) + 5, t, 10, &r);
	CU_ASSERT_EQUAL(r.status, DP_SEG_WINDOW);
	/* bytes before the first data byte (a SYN's sequence number) are clipped */
	dp_tcpdir_data(&d, 95, t, 10, &r);
	CU_ASSERT_EQUAL(r.status, DP_SEG_OK);
	CU_ASSERT_TRUE(r.before_start);
	CU_ASSERT_EQUAL(r.new_to, 5);
	in_order_bytes(&d, 0, t + 5, 5);
	dp_tcpdir_data(&d, 90, t, 5, &r);
	CU_ASSERT_EQUAL(r.new_to, 5);
	dp_tcpdir_free(&d);
}

static void test_skip_gap(void)
{
	struct dp_tcpdir d;
	struct dp_seg_result r;
	const uint8_t *t = text();
	dp_tcpdir_init(&d, 0, 8, NULL, NULL, NULL, true);
	dp_tcpdir_data(&d, 0, t, 10, &r);
	CU_ASSERT_EQUAL(dp_tcpdir_skip_gap(&d, DP_SKIP_HELD, &r), 0);
	dp_tcpdir_data(&d, 50, t + 50, 10, &r);
	dp_tcpdir_data(&d, 60, t + 60, 10, &r);
	CU_ASSERT_EQUAL(d.rcv_off, 10);
	/* an acknowledgement proves bytes 10..30 passed: skip to 30 only */
	CU_ASSERT_EQUAL(dp_tcpdir_skip_gap(&d, 30, &r), 20);
	CU_ASSERT_EQUAL(d.rcv_off, 30);
	CU_ASSERT_EQUAL(r.new_to, 30);
	CU_ASSERT_EQUAL(dp_tcpdir_skip_gap(&d, DP_SKIP_HELD, &r), 20);
	CU_ASSERT_EQUAL(r.new_from, 50);
	CU_ASSERT_EQUAL(r.new_to, 70);
	in_order_bytes(&d, 50, t + 50, 20);
	/* nothing held: skipping to an acknowledged point */
	CU_ASSERT_EQUAL(dp_tcpdir_skip_gap(&d, 75, &r), 5);
	CU_ASSERT_EQUAL(d.rcv_off, 75);
	dp_tcpdir_free(&d);
}

/* Random segmentation, reordering, duplication and overlapping retransmissions of one
 * stream; inline mode must rebuild it exactly, passive mode with some conflicting
 * bytes must match a first-data-wins model. */
static void shuffle_run(bool passive, unsigned seed)
{
	enum { N = 20000 };
	const uint8_t *t = text();
	struct { uint32_t off, len; bool bad; } segs[4096];
	unsigned n = 0;
	srand(seed);
	for (uint32_t off = 0; off < N && n < 2000;) {
		uint32_t len = 1 + (uint32_t)rand() % 1460;
		if (off + len > N)
			len = N - off;
		segs[n++] = (typeof(segs[0])){off, len, false};
		if (rand() % 4 == 0 && n < 4000) { /* overlapping retransmission */
			uint32_t o2 = off > 700 ? off - (uint32_t)rand() % 700 : 0;
			uint32_t l2 = 1 + (uint32_t)rand() % 1400;
			if (o2 + l2 > N)
				l2 = N - o2;
			segs[n++] = (typeof(segs[0])){o2, l2, passive && rand() % 2};
		}
		off += len;
	}
	for (unsigned i = n - 1; i > 0; i--) { /* local reordering */
		unsigned j = i - (unsigned)rand() % (i < 6 ? i + 1 : 6);
		typeof(segs[0]) tmp = segs[i];
		segs[i] = segs[j];
		segs[j] = tmp;
	}
	static uint8_t model[N], have[N], bad[1500];
	memset(have, 0, sizeof have);
	struct dp_tcpdir d;
	struct dp_seg_result r;
	uint32_t isn = 0xffffff00u + seed;
	struct dp_objpool holders; /* odd seeds: the malloc'd pieces only */
	CU_ASSERT_EQUAL_FATAL(dp_objpool_init(&holders, DP_OOO_HOLDER, 4096, 64, NULL), 0);
	struct dp_bufpool bufs; /* seeds 1, 2 of 3: the retained bytes from size classes */
	CU_ASSERT_EQUAL_FATAL(dp_bufpool_init(&bufs, 4, UINT64_MAX, NULL), 0);
	dp_tcpdir_init(&d, isn, 4096, NULL, seed % 2 ? NULL : &holders, seed % 3 ? &bufs : NULL,
	               passive);
	unsigned held = 0, conflicts = 0, nbad = 0;
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *p = t + segs[i].off;
		if (segs[i].bad) {
			for (uint32_t k = 0; k < segs[i].len; k++)
				bad[k] = (uint8_t)(t[segs[i].off + k] ^ 0x20);
			p = bad;
		}
		dp_tcpdir_data(&d, isn + segs[i].off, p, segs[i].len, &r);
		CU_ASSERT_EQUAL(r.status, DP_SEG_OK);
		held += r.held_ooo;
		conflicts += r.conflict;
		nbad += segs[i].bad;
		for (uint32_t k = 0; k < segs[i].len; k++)
			if (!have[segs[i].off + k]) {
				have[segs[i].off + k] = 1;
				model[segs[i].off + k] = p[k];
			}
		if (!passive)
			dp_tcpdir_forwarded(&d, d.rcv_off); /* keep everything: never acked */
	}
	CU_ASSERT(held > 0);              /* the run did reorder */
	CU_ASSERT_EQUAL(conflicts > 0, nbad > 0 && passive);
	CU_ASSERT_EQUAL_FATAL(d.rcv_off, N);
	size_t len;
	const uint8_t *b = dp_tcpdir_bytes(&d, 0, &len);
	CU_ASSERT_EQUAL_FATAL(len, N);
	CU_ASSERT_EQUAL(memcmp(b, passive ? model : t, N), 0);
	CU_ASSERT_EQUAL(d.nooo, 0);
	CU_ASSERT_EQUAL(holders.in_use, 0);
	if (!(seed % 2))
		CU_ASSERT(holders.made > 0);
	CU_ASSERT_EQUAL(dp_bufpool_in_use(&bufs), seed % 3 ? 1 : 0);
	if (seed % 3)
		CU_ASSERT_EQUAL(d.cap, dp_bufpool_size(N)); /* grown class by class, all kept */
	dp_tcpdir_free(&d);
	CU_ASSERT_EQUAL(dp_bufpool_in_use(&bufs), 0);
	dp_objpool_fini(&holders);
	dp_bufpool_fini(&bufs);
}

/* Out-of-order bytes in pooled holders: an empty pool refuses the segment whole
 * (DP_SEG_MEMORY, nothing charged), holders go back as the holes fill, and a piece
 * larger than a holder is held all the same (malloc'd). */
static void test_ooo_holder_pool(void)
{
	struct dp_mem flow = {0, 1 << 20, NULL};
	struct dp_objpool holders;
	CU_ASSERT_EQUAL_FATAL(dp_objpool_init(&holders, DP_OOO_HOLDER, 1, 1, NULL), 0);
	struct dp_tcpdir d;
	struct dp_seg_result r;
	const uint8_t *t = text();
	dp_tcpdir_init(&d, 0, 8, &flow, &holders, NULL, false);
	dp_tcpdir_data(&d, 100, t + 100, 50, &r);
	CU_ASSERT_EQUAL(r.status, DP_SEG_OK);
	CU_ASSERT_TRUE(r.held_ooo);
	CU_ASSERT_EQUAL(holders.in_use, 1);
	size_t used = flow.used;
	dp_tcpdir_data(&d, 200, t + 200, 50, &r); /* no second holder */
	CU_ASSERT_EQUAL(r.status, DP_SEG_MEMORY);
	CU_ASSERT_EQUAL(d.nooo, 1);
	CU_ASSERT_EQUAL(flow.used, used);
	dp_tcpdir_data(&d, 5000, t + 5000, DP_OOO_HOLDER + 100, &r); /* bigger than a holder */
	CU_ASSERT_EQUAL(r.status, DP_SEG_OK);
	CU_ASSERT_EQUAL(d.nooo, 2);
	CU_ASSERT_EQUAL(holders.in_use, 1);
	dp_tcpdir_data(&d, 0, t, 100, &r); /* the hole fills: the holder goes back */
	CU_ASSERT_EQUAL(r.status, DP_SEG_OK);
	CU_ASSERT_EQUAL(r.new_to, 150);
	CU_ASSERT_EQUAL(holders.in_use, 0);
	dp_tcpdir_data(&d, 200, t + 200, 50, &r); /* and takes this one now */
	CU_ASSERT_EQUAL(r.status, DP_SEG_OK);
	CU_ASSERT_EQUAL(holders.in_use, 1);
	dp_tcpdir_data(&d, 150, t + 150, 4850, &r);
	CU_ASSERT_EQUAL(r.status, DP_SEG_OK);
	CU_ASSERT_EQUAL(r.new_to, 5000 + DP_OOO_HOLDER + 100);
	CU_ASSERT_EQUAL(holders.in_use, 0);
	in_order_bytes(&d, 0, t, 5000 + DP_OOO_HOLDER + 100);
	dp_tcpdir_free(&d);
	CU_ASSERT_EQUAL(flow.used, 0);
	dp_objpool_fini(&holders);
}

/* The retained bytes in buffers of the worker's size classes: the first of the smallest
 * class, each growth a move up a class (the smaller one given back), charged as the
 * class's size; an exhausted class gives way to malloc, charged the same (the flow's
 * account bounds the bytes either way); beyond the largest class, malloc; all back at
 * the end. */
static void test_retained_pool(void)
{
	struct dp_mem flow = {0, 4 << 20, NULL};
	struct dp_bufpool bufs;
	CU_ASSERT_EQUAL_FATAL(dp_bufpool_init(&bufs, 1, UINT64_MAX, NULL), 0);
	static uint8_t big[DP_BUF_MAX * 2];
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (uint8_t)(i * 31 + i / 251);
	struct dp_tcpdir d, e;
	struct dp_seg_result r;
	dp_tcpdir_init(&d, 0, 8, &flow, NULL, &bufs, false);
	dp_tcpdir_data(&d, 0, big, 1000, &r);
	CU_ASSERT_EQUAL(r.status, DP_SEG_OK);
	CU_ASSERT_EQUAL(d.cap, DP_BUF_MIN);
	CU_ASSERT_EQUAL(bufs.cls[0].in_use, 1);
	CU_ASSERT_EQUAL(flow.used, DP_BUF_MIN);
	dp_tcpdir_data(&d, 1000, big + 1000, 5000, &r); /* 6000 bytes: the 8 KiB class */
	CU_ASSERT_EQUAL(r.status, DP_SEG_OK);
	CU_ASSERT_EQUAL(d.cap, 2 * DP_BUF_MIN);
	CU_ASSERT_EQUAL(bufs.cls[0].in_use, 0);
	CU_ASSERT_EQUAL(bufs.cls[1].in_use, 1);
	CU_ASSERT_EQUAL(flow.used, 2 * DP_BUF_MIN);
	in_order_bytes(&d, 0, big, 6000);

	/* the one 8 KiB buffer is taken: another direction grows into that size from the heap */
	dp_tcpdir_init(&e, 0, 8, &flow, NULL, &bufs, false);
	dp_tcpdir_data(&e, 0, big, 100, &r);
	CU_ASSERT_EQUAL(r.status, DP_SEG_OK);
	CU_ASSERT_FALSE(e.buf_heap);
	size_t used = flow.used;
	dp_tcpdir_data(&e, 100, big + 100, 5000, &r);
	CU_ASSERT_EQUAL(r.status, DP_SEG_OK);
	CU_ASSERT_TRUE(e.buf_heap);
	CU_ASSERT_EQUAL(e.cap, 2 * DP_BUF_MIN);
	CU_ASSERT_EQUAL(flow.used, used + DP_BUF_MIN);
	CU_ASSERT_EQUAL(bufs.cls[0].in_use, 0); /* its 4 KiB one went back */
	in_order_bytes(&e, 0, big, 5100);

	/* d grows on, through every class and past the largest (malloc'd) */
	uint64_t off = 6000;
	while (off < DP_BUF_MAX + 5000) {
		dp_tcpdir_data(&d, (uint32_t)off, big + off, 1448, &r);
		CU_ASSERT_EQUAL_FATAL(r.status, DP_SEG_OK);
		off += 1448;
	}
	CU_ASSERT(d.cap > DP_BUF_MAX);
	CU_ASSERT_EQUAL(dp_bufpool_in_use(&bufs), 0); /* e's is the heap's */
	CU_ASSERT_EQUAL(flow.used, d.cap + 2 * DP_BUF_MIN);
	in_order_bytes(&d, 0, big, (size_t)off);

	/* the 16 KiB class is free: e moves from its heap buffer into it */
	dp_tcpdir_data(&e, 5100, big + 5100, 5000, &r);
	CU_ASSERT_EQUAL(r.status, DP_SEG_OK);
	CU_ASSERT_EQUAL(e.cap, 4 * DP_BUF_MIN);
	CU_ASSERT_FALSE(e.buf_heap);
	CU_ASSERT_EQUAL(bufs.cls[2].in_use, 1);
	in_order_bytes(&e, 0, big, 10100);
	dp_tcpdir_free(&d);
	dp_tcpdir_free(&e);
	CU_ASSERT_EQUAL(dp_bufpool_in_use(&bufs), 0);
	CU_ASSERT_EQUAL(flow.used, 0);
	dp_bufpool_fini(&bufs);
}

/* A class's bound: no more buffers than the memory share holds in that size. */
static void test_retained_pool_bounds(void)
{
	struct dp_bufpool bufs;
	CU_ASSERT_EQUAL_FATAL(dp_bufpool_init(&bufs, 100, 64 * 1024, NULL), 0);
	CU_ASSERT_EQUAL(bufs.cls[0].cap, 16);
	CU_ASSERT_EQUAL(bufs.cls[4].cap, 1);
	CU_ASSERT_EQUAL(bufs.cls[5].cap, 0);
	CU_ASSERT_PTR_NULL(dp_bufpool_get(&bufs, DP_BUF_MAX));
	dp_bufpool_fini(&bufs);
	/* all classes together carve no more than the share: with 128 KiB the first slabs
	 * (16 x 4 KiB, 8 x 8 KiB, ...) already exceed it, so the 4 KiB class hands out its
	 * first slab and then nothing, below its own cap of 32... */
	CU_ASSERT_EQUAL_FATAL(dp_bufpool_init(&bufs, 100, 128 * 1024, NULL), 0);
	CU_ASSERT_EQUAL(bufs.cls[0].cap, 32);
	CU_ASSERT(bufs.carved > 128 * 1024);
	void *got[33];
	unsigned n = 0;
	while (n < 33 && (got[n] = dp_bufpool_get(&bufs, DP_BUF_MIN)))
		n++;
	CU_ASSERT_EQUAL(n, 16);
	CU_ASSERT_EQUAL(bufs.cls[0].made, 16);
	while (n)
		dp_bufpool_put(&bufs, got[--n], DP_BUF_MIN);
	dp_bufpool_fini(&bufs);
	/* ...and with room for it, a class grows a slab at a time, counted in carved */
	CU_ASSERT_EQUAL_FATAL(dp_bufpool_init(&bufs, 100, 4u << 20, NULL), 0);
	uint64_t carved = bufs.carved;
	unsigned first = bufs.cls[0].made;
	for (n = 0; n <= first; n++)
		CU_ASSERT_PTR_NOT_NULL(got[n % 33] = dp_bufpool_get(&bufs, DP_BUF_MIN));
	CU_ASSERT_EQUAL(bufs.carved, carved + (uint64_t)(bufs.cls[0].made - first) * DP_BUF_MIN);
	CU_ASSERT(bufs.cls[0].made > first);
	CU_ASSERT_EQUAL(dp_bufpool_size(1), DP_BUF_MIN);
	CU_ASSERT_EQUAL(dp_bufpool_size(DP_BUF_MIN + 1), 2 * DP_BUF_MIN);
	CU_ASSERT_EQUAL(dp_bufpool_size(DP_BUF_MAX), DP_BUF_MAX);
	CU_ASSERT_EQUAL(dp_bufpool_size(DP_BUF_MAX + 1), 0);
	dp_bufpool_fini(&bufs);
}

static void test_random_inline(void)
{
	for (unsigned s = 1; s <= 20; s++)
		shuffle_run(false, s);
}

static void test_random_passive(void)
{
	for (unsigned s = 1; s <= 20; s++)
		shuffle_run(true, s);
}

int main(void)
{
	static const struct cu_test tests[] = {
		{"in order across sequence wrap", test_in_order_with_wrap},
		{"out of order held, released in order", test_out_of_order_hold_and_release},
		{"conflicting retransmissions refused", test_retransmission_conflicts_inline},
		{"passive: first data wins", test_passive_first_data_wins},
		{"memory caps", test_memory_cap},
		{"out-of-order holders from a pool", test_ooo_holder_pool},
		{"retained bytes from size classes", test_retained_pool},
		{"size classes bounded by the memory share", test_retained_pool_bounds},
		{"window and before-start", test_window_and_before_start},
		{"passive gap skip", test_skip_gap},
		{"random reorder/overlap, inline", test_random_inline},
		{"random reorder/overlap/conflict, passive", test_random_passive},
		{NULL, NULL},
	};
	return cu_run_suite("dataplane tcpdir", NULL, NULL, tests);
}
