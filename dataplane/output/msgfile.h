/* A message written to a temporary file as its bytes arrive, then kept under its final
 * name (rename) or discarded. Shared by the offline dump and the directory journal. */
#ifndef SLUICE_DP_MSGFILE_H
#define SLUICE_DP_MSGFILE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sink.h"

struct dp_msgfile {
	FILE *f;
	char tmp[1100];
	uint64_t bytes;
	bool failed;            /* a write failed: the file is incomplete */
};

/* mkdir -p, new directories 0700 (they hold mail); 0 or -1 with errno. */
int dp_mkdirs(const char *dir);
/* Create or truncate path 0600 (O_NOFOLLOW) and fdopen it with mode; NULL on error. */
FILE *dp_open_private(const char *path, const char *mode);

/* NULL when the file cannot be created. */
struct dp_msgfile *dp_msgfile_new(const char *dir, const char *tag, uint64_t seq);
void dp_msgfile_write(struct dp_msgfile *m, const uint8_t *p, size_t n);
/* Close and rename to path (0), or -1 (the temporary file is removed). Frees m. */
int dp_msgfile_keep(struct dp_msgfile *m, const char *path);
void dp_msgfile_discard(struct dp_msgfile *m);
/* The bytes written (malloc'd, *len set), then discard; NULL on failure (m freed). */
uint8_t *dp_msgfile_take(struct dp_msgfile *m, size_t *len);

/* The start of every file-backed sink's state: where its messages stream to. */
struct dp_msgdir {
	char dir[1024];
	char tag[32];
	uint64_t seq;
};
/* mkdir -p dir and fill d; 0, or -1 with a message. */
int dp_msgdir_init(struct dp_msgdir *d, const char *dir, const char *tag, char *err, size_t errlen);
/* dp_sink_ops.begin / .write for sinks whose state starts with a struct dp_msgdir. */
void *dp_msgdir_begin(void *impl);
void dp_msgdir_write(void *impl, void *msg, const uint8_t *p, size_t n);

/* The JSON object both sinks write for a message: file, client, server, envelope,
 * server_reply, outcome, verdict. file may be NULL. */
void dp_meta_json(const struct dp_msg_meta *m, const char *file, struct sl_strbuf *out);

#endif
