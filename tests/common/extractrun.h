/* Runs the extraction stage (engine/extract) alone over the bytes of one attachment,
 * as the MIME parser would hand them over (PART_BEGIN, PART_DATA in pieces, PART_END),
 * with its memory charged to a test account. For the fuzz targets and extract-dump. */
#ifndef SLUICE_TEST_EXTRACTRUN_H
#define SLUICE_TEST_EXTRACTRUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sluice/event.h"
#include "sluice/limits.h"

struct xr_result {
	size_t peak_stage;  /* most the stage held (sl_extract_memory) */
	size_t left;        /* charged after it was freed: 0 */
	bool owner_failed;  /* the account refused a charge */
};

/* force: "zip", "tar", "gzip" to read the bytes as that format, NULL to sniff. seed 0
 * feeds them whole, else in pieces of 1..257 bytes drawn from it. */
/* The next piece to feed of `left` bytes: all of them when *seed is 0, else 1..max drawn
 * from the seed (which moves on). The fuzz targets cut their input with it. */
size_t test_piece(unsigned *seed, size_t left, size_t max);

void xr_run(const struct sl_limits *lim, const char *force, const char *filename,
            const uint8_t *p, size_t n, unsigned seed, sl_event_fn fn, void *ctx,
            struct xr_result *res);

#endif
