/* The archive reads messages with the engine's streaming MIME parser, the one the
 * gateway scans with: what was scanned is what is indexed (docs/archive.md). */
#include <pthread.h>
#include <stdlib.h>

#include "ingest.h"

#include "sluice/limits.h"
#include "sluice/mime.h"

/* One parser per thread, reset per message as the SMTP engine does per transaction:
 * creating one per message cost a zeroed 20 KB block (which the allocator zeroes by
 * unmapping pages: a TLB shootdown on every CPU) and fresh iconv descriptors. */
struct parser {
	struct sl_mime *m;
	struct ar_doc *doc; /* the message being read */
};

static pthread_key_t parser_key;
static pthread_once_t parser_once = PTHREAD_ONCE_INIT;

static void parser_free(void *p)
{
	struct parser *tp = p;
	sl_mime_free(tp->m);
	free(tp);
}

static void parser_key_init(void)
{
	pthread_key_create(&parser_key, parser_free);
}

static void forward_event(void *ctx, const struct sl_event *ev)
{
	ar_doc_event(((struct parser *)ctx)->doc, ev);
}

static struct parser *thread_parser(void)
{
	pthread_once(&parser_once, parser_key_init);
	struct parser *tp = pthread_getspecific(parser_key);
	if (tp)
		return tp;
	tp = calloc(1, sizeof *tp);
	if (!tp)
		return NULL;
	struct sl_limits lim;
	sl_limits_default(&lim);
	tp->m = sl_mime_new(&lim, forward_event, tp);
	if (!tp->m) {
		free(tp);
		return NULL;
	}
	pthread_setspecific(parser_key, tp);
	return tp;
}

void ar_analyse_message(const uint8_t *raw, size_t n, struct ar_doc *doc)
{
	struct parser *tp = thread_parser();
	if (!tp)
		abort(); /* out of memory */
	tp->doc = doc;
	sl_mime_reset(tp->m, 0);
	sl_mime_feed(tp->m, raw, n);
	sl_mime_finish(tp->m);
	tp->doc = NULL;
}
