/* Helpers for the MIME suites: run the parser over a message in a chosen chunking and
 * look at what came out. */
#ifndef SLUICE_TEST_MIMETEST_H
#define SLUICE_TEST_MIMETEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sluice/limits.h"
#include "sluice/mime.h"
#include "sluice/strbuf.h"

/* Chunking: 0 = whole, N > 0 = N-byte chunks, -1 = random sizes (seeded). */
char *mt_eventlog(const uint8_t *msg, size_t n, long chunk, const struct sl_limits *lim);

struct mt_part {
	struct sl_part part;
	char filename[1100];
	bool has_filename;
	char disposition[40];
	bool has_children;
	struct sl_strbuf data;  /* PART_DATA bytes */
	struct sl_strbuf text;  /* PART_TEXT bytes */
};

struct mt_result {
	struct mt_part *parts;  /* every entity, in PART_BEGIN order */
	size_t nparts;
	struct sl_strbuf headers; /* "path|name|value\n" for every HEADER */
	struct sl_strbuf signals; /* "name," for every SIGNAL */
	size_t events;
	size_t max_memory;      /* sl_mime_memory() high-water mark */
};

void mt_run(struct mt_result *r, const void *msg, size_t n, long chunk,
            const struct sl_limits *lim);
/* Fed in two pieces: [0, split) and [split, n). */
void mt_run_split(struct mt_result *r, const void *msg, size_t n, size_t split,
                  const struct sl_limits *lim);
void mt_free(struct mt_result *r);
/* The n-th leaf part (Python's walk() minus containers), or NULL. */
const struct mt_part *mt_leaf(const struct mt_result *r, size_t n);
size_t mt_nleaves(const struct mt_result *r);
bool mt_has_signal(const struct mt_result *r, const char *name);
/* Value of the first HEADER `name` of entity `path` ("" = top-level message). */
const char *mt_header(const struct mt_result *r, const char *path, const char *name);
/* Lowercase hex SHA-256 of p. */
void mt_sha256_hex(const void *p, size_t n, char out[65]);

/* Every *.eml under dir, sorted; returns the count. */
size_t mt_list_eml(const char *dir, char ***paths);

#endif
