/* A message's metadata (struct dp_msg_meta with its envelope, verdict JSON and rule
 * ids) deep-copied into a fixed buffer on the worker and read back on the sink thread:
 * the worker's strings are gone by the time the sink writes. Only the envelope fields
 * a sink reads travel (HELO, MAIL FROM, the recipients that count, BDAT). No DPDK. */
#ifndef SLUICE_DP_SINKMETA_H
#define SLUICE_DP_SINKMETA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sink.h"

struct dp_sinkmeta {
	struct dp_msg_meta m;       /* scalars; its pointers are rebuilt by dp_sinkmeta_open */
	bool has_env, has_text, bdat;
	uint32_t nrcpt;             /* recipients that count */
	size_t len;                 /* of the strings in buf */
	size_t cap;
	char *buf;                  /* NUL-separated strings, in a fixed order */
};

/* Copy m into s->buf (cap bytes, owned by the caller; NULL with cap 0; no allocation).
 * false when it does not fit: s then holds the scalars only. */
bool dp_sinkmeta_pack(struct dp_sinkmeta *s, const struct dp_msg_meta *m);

/* The bytes dp_sinkmeta_pack needs for m's strings. */
size_t dp_sinkmeta_need(const struct dp_msg_meta *m);

/* The metadata back as a dp_msg_meta whose pointers lead into s->buf, *env and a
 * malloc'd recipient and rule array (*rcpt, *rules: free them after the commit).
 * false on no memory (out then carries the scalars only). */
bool dp_sinkmeta_open(const struct dp_sinkmeta *s, struct dp_msg_meta *out, struct sl_envelope *env,
                      struct sl_rcpt **rcpt, const char ***rules);

#endif
