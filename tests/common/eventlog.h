/* A canonical text form of an engine event stream, the same whatever the chunking of
 * the input: consecutive RAW / PART_DATA / PART_TEXT events of one part are merged into
 * one line with their total length and SHA-256. Tests compare these texts. */
#ifndef SLUICE_TEST_EVENTLOG_H
#define SLUICE_TEST_EVENTLOG_H

#include <openssl/evp.h>

#include "sluice/event.h"
#include "sluice/strbuf.h"

struct sl_eventlog {
	struct sl_strbuf text;
	/* the data run being merged */
	int run_type;              /* -1 when none */
	char run_part[SL_PATH_MAX];
	uint32_t run_txn;
	uint64_t run_offset, run_len;
	EVP_MD_CTX *run_hash;
	size_t events;             /* events seen, unmerged */
};

void sl_eventlog_init(struct sl_eventlog *log);
void sl_eventlog_free(struct sl_eventlog *log);
/* An sl_event_fn: pass the log as ctx. */
void sl_eventlog_cb(void *ctx, const struct sl_event *ev);
/* The text so far (closes any open data run). Owned by the log. */
const char *sl_eventlog_text(struct sl_eventlog *log);

#endif
