/* libFuzzer target for the streaming MIME parser. Each input is parsed whole, then
 * twice in one parser (sl_mime_reset between) in chunks whose sizes come from the input
 * itself, with small caps so the degraded paths run too; each parse's canonical event
 * log must be identical (what a parser keeps for its next message, such as the header
 * parser's stash of temporary strings, must not show) and memory must stay within the
 * caps' bound. A third run charges a memory account whose budget
 * comes from the input: running out must fail the parser cleanly (engine.memory once,
 * nothing after it) and give every byte back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eventlog.h"
#include "extractrun.h"
#include "testacct.h"
#include "sluice/mime.h"

/* The events of `passes` parses of p in one parser, one after the other. */
static char *run(const uint8_t *p, size_t n, const struct sl_limits *lim, unsigned seed,
                 unsigned passes, size_t *maxmem)
{
	struct sl_eventlog log;
	sl_eventlog_init(&log);
	struct sl_mime *m = sl_mime_new(lim, sl_eventlog_cb, &log);
	if (!m)
		abort();
	for (unsigned pass = 0; pass < passes; pass++) {
		if (pass)
			sl_mime_reset(m, 0);
		size_t off = 0;
		while (off < n) {
			size_t k = test_piece(&seed, n - off, 97);
			sl_mime_feed(m, p + off, k);
			off += k;
			size_t mem = sl_mime_memory(m);
			if (mem > *maxmem)
				*maxmem = mem;
		}
		sl_mime_finish(m);
	}
	char *text = strdup(sl_eventlog_text(&log));
	sl_mime_free(m);
	sl_eventlog_free(&log);
	return text;
}

/* engine.memory signals, and events after the first */
struct failures {
	size_t signals, after;
};

static void budget_event(void *ctx, const struct sl_event *ev)
{
	struct failures *f = ctx;
	if (f->signals)
		f->after++;
	if (ev->type == SL_EV_SIGNAL && strcmp(ev->name, "engine.memory") == 0)
		f->signals++;
}

static void run_budget(const uint8_t *p, size_t n, const struct sl_limits *lim, size_t limit)
{
	struct test_acct b = {.limit = limit};
	struct sl_memacct acct = test_acct(&b);
	struct failures f = {0, 0};
	struct sl_mime *m = sl_mime_new_acct(lim, budget_event, &f, &acct);
	if (m) {
		sl_mime_reset(m, 1);
		sl_mime_feed(m, p, n);
		sl_mime_finish(m);
		if (b.total != sl_mime_memory(m) || f.signals != (sl_mime_failed(m) ? 1u : 0u) ||
		    f.after)
			abort(); /* accounting off, or events after the failure */
		sl_mime_free(m);
	}
	if (b.total)
		abort(); /* bytes never released */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned seed = data[0] | 1u;
	struct sl_limits lim;
	sl_limits_default(&lim);
	lim.max_line = 200;
	lim.max_header_bytes = 1000;
	lim.max_headers = 40;
	lim.max_depth = 6;
	lim.max_parts = 60;
	lim.max_boundary = 70;
	lim.max_filename = 50;
	size_t mem1 = 0, mem2 = 0;
	char *a = run(data + 1, size - 1, &lim, 0, 1, &mem1);
	char *b = run(data + 1, size - 1, &lim, seed, 2, &mem2);
	size_t an = strlen(a);
	if (strlen(b) != 2 * an || memcmp(a, b, an) != 0 || memcmp(a, b + an, an) != 0)
		abort(); /* events depend on chunking, or on the message before */
	if (mem1 > 256 * 1024 || mem2 > 256 * 1024)
		abort(); /* memory not bounded by the caps */
	run_budget(data + 1, size - 1, &lim, 2048 + (size_t)data[0] * 512);
	free(a);
	free(b);
	return 0;
}
