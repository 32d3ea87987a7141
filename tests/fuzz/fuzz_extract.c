/* libFuzzer targets for the extraction stage's parsers (engine/extract), one per format:
 * EXTRACT_FORMAT "zip", "tar", "gzip", "pdf" (objects, streams, content-stream text)
 * reads the input as that format at level 0 whatever
 * its first bytes; "xml" wraps it in a stored ZIP as word/document.xml, so the XML
 * tokenizer reads it. Each input runs whole and in input-derived pieces: the canonical
 * event logs must match, MEMBER_BEGIN/END must nest, memory must stay within the stage's
 * budget and come back to zero, and a tight budget must stop the stage cleanly. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "eventlog.h"
#include "extractrun.h"

struct sink {
	struct sl_eventlog log;
	int open;          /* MEMBER_BEGIN without its END */
};

static void on_event(void *ctx, const struct sl_event *ev)
{
	struct sink *s = ctx;
	if (ev->type == SL_EV_MEMBER_BEGIN)
		s->open++;
	if (ev->type == SL_EV_MEMBER_END && --s->open < 0)
		abort(); /* an END without its BEGIN */
	if (ev->type == SL_EV_MEMBER_DATA && s->open <= 0)
		abort();
	sl_eventlog_cb(&s->log, ev);
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v), put16(p + 2, (uint16_t)(v >> 16)); }

/* A stored ZIP holding one member (the XML target). */
static uint8_t *wrap_zip(const uint8_t *data, size_t n, size_t *out)
{
	static const char name[] = "word/document.xml", head[] = "<?xml version=\"1.0\"?>";
	size_t nl = sizeof name - 1, hl = sizeof head - 1, dn = hl + n;
	uint8_t *z = calloc(1, 30 + nl + dn + 46 + nl + 22);
	if (!z)
		abort();
	memcpy(z + 30 + nl, head, hl);
	memcpy(z + 30 + nl + hl, data, n);
	uint32_t crc = (uint32_t)crc32(0, z + 30 + nl, (uInt)dn);
	put32(z, 0x04034b50), put32(z + 14, crc), put32(z + 18, (uint32_t)dn), put32(z + 22, (uint32_t)dn);
	put16(z + 26, (uint16_t)nl);
	memcpy(z + 30, name, nl);
	uint8_t *c = z + 30 + nl + dn;
	put32(c, 0x02014b50), put32(c + 16, crc), put32(c + 20, (uint32_t)dn), put32(c + 24, (uint32_t)dn);
	put16(c + 28, (uint16_t)nl);
	memcpy(c + 46, name, nl);
	uint8_t *e = c + 46 + nl;
	put32(e, 0x06054b50), put16(e + 8, 1), put16(e + 10, 1), put32(e + 12, (uint32_t)(46 + nl));
	put32(e + 16, (uint32_t)(30 + nl + dn));
	*out = (size_t)(e + 22 - z);
	return z;
}

static char *run(const uint8_t *p, size_t n, unsigned seed, size_t budget)
{
	struct sl_limits lim;
	sl_limits_default(&lim);
	lim.extract_max_bytes = 4u << 20;
	lim.extract_max_work = 16u << 20;
	if (budget)
		lim.extract_max_memory = budget;
	struct sink s = {.open = 0};
	sl_eventlog_init(&s.log);
	struct xr_result r;
	bool xml = strcmp(EXTRACT_FORMAT, "xml") == 0;
	xr_run(&lim, xml ? NULL : EXTRACT_FORMAT, "fuzz.bin", p, n, seed, on_event, &s, &r);
	if (s.open != 0)
		abort(); /* a member left open at the end of its part */
	if (r.peak_stage > lim.extract_max_memory || r.left != 0)
		abort(); /* over its own budget, or bytes not given back */
	char *text = strdup(sl_eventlog_text(&s.log));
	sl_eventlog_free(&s.log);
	return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n = size;
	uint8_t *owned = NULL;
	const uint8_t *p = data;
	if (strcmp(EXTRACT_FORMAT, "xml") == 0)
		p = owned = wrap_zip(data, size, &n);
	char *whole = run(p, n, 0, 0);
	char *pieces = run(p, n, size ? 1u + data[0] : 1u, 0);
	if (strcmp(whole, pieces) != 0) { /* the chunking changed what was extracted */
		fprintf(stderr, "whole:\n%s\npieces:\n%s\n", whole, pieces);
		abort();
	}
	/* a budget too small for an inflater: the stage stops (extract.memory), cleanly */
	free(run(p, n, 7, 24 * 1024));
	free(whole);
	free(pieces);
	free(owned);
	return 0;
}
