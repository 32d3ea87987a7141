/* The archive reads messages with the engine's streaming MIME parser, the one the
 * gateway scans with: what was scanned is what is indexed (docs/archive.md). */
#include "ingest.h"

#include "sluice/limits.h"
#include "sluice/mime.h"

void ar_analyse_message(const uint8_t *raw, size_t n, struct ar_doc *doc)
{
	struct sl_limits lim;
	sl_limits_default(&lim);
	struct sl_mime *m = sl_mime_new(&lim, ar_doc_event, doc);
	sl_mime_reset(m, 0);
	sl_mime_feed(m, raw, n);
	sl_mime_finish(m);
	sl_mime_free(m);
}
