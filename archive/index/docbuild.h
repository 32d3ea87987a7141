/* What the archive learns from one message's engine events (sluice/event.h): the
 * summary shown in search results, the postings of its content, and the parts that
 * can be stored once (attachment dedup). Fed by the engine's MIME parser, extraction
 * included: the text inside archives and documents is indexed as the gateway scanned
 * it, and member names as filenames. */
#ifndef ARCHIVE_DOCBUILD_H
#define ARCHIVE_DOCBUILD_H

#include <stdbool.h>
#include <stdint.h>

#include "sluice/event.h"
#include "sluice/strbuf.h"
#include "skeleton.h"
#include "terms.h"

#define AR_MAX_TEXT_BYTES (32u << 20) /* text indexed per message; the rest is not */

struct ar_doc {
	int64_t date;
	bool has_date;
	struct sl_strbuf from, to, subject, message_id; /* display values */
	bool has_attachment;
	bool text_truncated;
	struct ar_terms terms;

	/* the leaf part being read */
	bool in_leaf, leaf_text, leaf_html, leaf_collect;
	struct sl_strbuf text;
	struct sl_strbuf data;
	size_t text_total;

	/* a member the extraction stage found inside it (docs/extraction.md): document
	 * text, or a file's bytes, indexed as body text when they are UTF-8 */
	bool in_member;
	struct sl_strbuf member;

	struct ar_part_ref *refs; /* dedup candidates, data owned */
	size_t nrefs, refs_cap;
};

void ar_doc_init(struct ar_doc *d);
void ar_doc_free(struct ar_doc *d);
/* An sl_event_fn: pass the doc as ctx. */
void ar_doc_event(void *ctx, const struct sl_event *ev);
/* After the last event: sort the postings. */
void ar_doc_finish(struct ar_doc *d);

#endif
