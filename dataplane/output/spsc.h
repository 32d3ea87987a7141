/* A lock-free ring of pointers between exactly one producer thread and one consumer
 * thread (rte_ring's SP/SC mode, without DPDK so the core stays unit-testable under
 * ASan). The capacity is a power of two; head and tail run freely and wrap through
 * the index mask. Neither side ever waits: a full ring refuses, an empty one returns
 * nothing. */
#ifndef SLUICE_DP_SPSC_H
#define SLUICE_DP_SPSC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dp_spsc {
	_Alignas(64) _Atomic uint32_t head; /* written by the producer only */
	_Alignas(64) _Atomic uint32_t tail; /* written by the consumer only */
	_Alignas(64) uint32_t mask;
	void **slot;
};

/* slots: a power of two >= 2 of them, owned by the caller. */
static inline void dp_spsc_init(struct dp_spsc *r, void **slots, uint32_t n)
{
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	r->mask = n - 1;
	r->slot = slots;
}

/* The ring size (a power of two, at least 2) that holds n entries; 2^31 at most. */
static inline uint32_t dp_spsc_size_for(uint64_t n)
{
	uint32_t p = 2;
	while (p < n && p < (1u << 31))
		p <<= 1;
	return p;
}

/* Producer: false when the ring is full (nothing stored). */
static inline bool dp_spsc_push(struct dp_spsc *r, void *p)
{
	uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint32_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	if (head - tail > r->mask)
		return false;
	r->slot[head & r->mask] = p;
	atomic_store_explicit(&r->head, head + 1, memory_order_release);
	return true;
}

/* Consumer: NULL when the ring is empty. */
static inline void *dp_spsc_pop(struct dp_spsc *r)
{
	uint32_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint32_t head = atomic_load_explicit(&r->head, memory_order_acquire);
	if (head == tail)
		return NULL;
	void *p = r->slot[tail & r->mask];
	atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
	return p;
}

/* Either side: the entries queued (a moment's view from the other side). */
static inline uint32_t dp_spsc_count(struct dp_spsc *r)
{
	return atomic_load_explicit(&r->head, memory_order_acquire) -
	       atomic_load_explicit(&r->tail, memory_order_acquire);
}

#endif
