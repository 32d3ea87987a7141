/* A canonical text form of an engine event stream, the same whatever the chunking of
 * the input: the RAW / PART_DATA / PART_TEXT events of one part between two other
 * events are merged, per type, into one line with their total length and SHA-256
 * (printed in that order), however they interleave. What the extraction stage finds in
 * a part (MEMBER_* events, extract.* signals) comes between that part's data events at
 * points that depend on the chunking: it is logged apart, each member's MEMBER_DATA
 * merged into one line, and printed just before the part's PART_END. Tests compare
 * these texts. */
#ifndef SLUICE_TEST_EVENTLOG_H
#define SLUICE_TEST_EVENTLOG_H

#include <openssl/evp.h>

#include "sluice/event.h"
#include "sluice/strbuf.h"

/* One run of data events of one type being merged. */
struct sl_eventlog_run {
	bool open;
	uint64_t offset, len;
	EVP_MD_CTX *hash;
};

struct sl_eventlog {
	struct sl_strbuf text;
	/* the runs being merged (RAW, PART_DATA, PART_TEXT), all of one part */
	struct sl_eventlog_run run[3];
	char run_part[SL_PATH_MAX];
	uint32_t run_txn;
	size_t events;             /* events seen, unmerged */
	struct sl_strbuf members;  /* the current part's extraction events */
	struct sl_eventlog_run member_run;
};

void sl_eventlog_init(struct sl_eventlog *log);
void sl_eventlog_free(struct sl_eventlog *log);
/* An sl_event_fn: pass the log as ctx. */
void sl_eventlog_cb(void *ctx, const struct sl_event *ev);
/* The text so far (closes any open data run). Owned by the log. */
const char *sl_eventlog_text(struct sl_eventlog *log);

#endif
