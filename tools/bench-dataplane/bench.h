/* What tools/bench-dataplane's parts share: the capture's frames and the pass counter. */
#ifndef SLUICE_BENCH_DATAPLANE_H
#define SLUICE_BENCH_DATAPLANE_H

#include <stddef.h>
#include <stdint.h>

struct frame {
	uint8_t *data;
	uint16_t len;
	int16_t port_off;  /* offset of the client's TCP port, -1 when not TCP */
	int16_t csum_off;  /* offset of the TCP checksum */
};

extern struct frame *frames;
extern size_t nframes;
extern unsigned pass_no;

/* Give every flow new client ports for pass k (previous pass prev). */
void shift_ports(unsigned k, unsigned prev);
double thread_seconds(void);
/* Heap allocations (malloc, calloc, realloc, aligned) by this thread so far
 * (malloc_count.c). */
uint64_t bench_thread_allocs(void);
/* Record where this thread's allocations come from while on (SLUICE_ALLOC_SITES). */
void bench_alloc_sites_arm(int on);

#endif
