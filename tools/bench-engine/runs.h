/* The measured runs of the engine benchmark. Each does one pass over its input and
 * returns the bytes it processed; counts of what the engine reported go to a tally, so
 * the caller can tell a fast run from a run that did nothing. */
#ifndef BENCH_RUNS_H
#define BENCH_RUNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "inputs.h"
#include "sluice/limits.h"

struct sl_policy;
struct sl_scanner;
struct sl_msgscan;
struct sl_blockscan;

#define BENCH_MAX_DB 16

struct tally {
	uint64_t messages;      /* MESSAGE_END */
	uint64_t txn_results;   /* TXN_RESULT */
	uint64_t leaf_parts;    /* PART_END of leaf parts */
	uint64_t decoded_bytes; /* PART_DATA bytes */
	uint64_t text_bytes;    /* PART_TEXT bytes */
	uint64_t members;       /* MEMBER_BEGIN: files and document text found in attachments */
	uint64_t member_bytes;  /* MEMBER_DATA bytes */
	uint64_t signals;       /* unexpected ones */
	uint64_t utf8_headers;  /* mime.8bit_header on messages the corpus sent with SMTPUTF8 */
	char first_signal[160]; /* name of the first unexpected signal */
	uint64_t verdicts[5];   /* by enum sl_action (policy run only) */
	uint64_t dlp_messages;  /* messages where a card or Taiwan ID rule fired */
	size_t stream_bytes;    /* Hyperscan stream state per message */
	size_t session_new;     /* sl_smtp_memory of a new session */
	size_t session_max;     /* ... the largest at the end of a session */
};

/* The matcher's streamed bytes, grouped as one block per scope instance (part), per
 * database: what the raw-scan ceiling scans. */
struct scan_blocks {
	unsigned ndb;
	struct {
		uint8_t *buf;
		size_t len, cap;
		size_t *starts;     /* block i is buf[starts[i] .. starts[i+1] or len) */
		size_t nblocks, bcap;
	} db[BENCH_MAX_DB];
	uint64_t bytes;
};

struct policy_run {
	struct sl_policy *policy;
	struct sl_scanner *scanner;
	struct sl_msgscan *msgscan;
	struct scan_blocks *collect; /* non-NULL: record what the matcher scans (not timed) */
	FILE *verdicts;              /* non-NULL: one JSON verdict per message (not timed) */
	const struct sl_limits *lim; /* the sessions' limits (NULL: as sluice-dp runs them) */
};

/* Messages (corpus order) whose headers are raw UTF-8 (RFC 6532, sent with SMTPUTF8):
 * mime.8bit_header is expected there and nowhere else. */
void bench_expect_utf8_headers(const bool *by_message, size_t n);

uint64_t run_memcpy(const struct bench_streams *s, size_t chunk);
uint64_t run_mime(const struct bench_messages *m, size_t chunk, struct tally *t);
uint64_t run_smtp(const struct bench_streams *s, size_t chunk, struct tally *t,
                  struct policy_run *pr);
/* Raw Hyperscan block mode over the collected blocks; -1 on a scan error. */
int64_t run_blockscan(struct sl_blockscan *b, const struct scan_blocks *blocks, uint64_t *matches);

void scan_blocks_free(struct scan_blocks *b);

#endif
