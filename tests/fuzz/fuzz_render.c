/* libFuzzer target for the `rendered` scope (HTML to text, white space folding, line
 * cutting) and PCRE2 confirmation in streams: each input is a message run through the
 * MIME parser into a msgscan under a policy of rendered, body and message-header rules
 * (literals, look-around expressions confirmed by PCRE2, `multiple` counts, a meta),
 * whole and in chunks whose sizes come from the input. The rendered bytes and the
 * verdicts (rules, counts, scores; the order of evidence aside: body and rendered
 * streams are scanned as their batches fill) must be identical: streaming must not
 * change what is seen or matched. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sluice/mime.h"
#include "sluice/policy.h"
#include "sluice/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char rules[] =
	"rule lit { match rendered \"free money\" nocase score 1 }\n"
	"rule para { match rendered /^dear friend$/mi score 1 }\n"
	"rule ahead { match rendered, body /\\$[1-9](?!\\d{3}\\.)[0-9],[0-9]{3}(?!\\d)/ multiple score 1 }\n"
	"rule behind { match rendered /(?<=click )here\\b/i score 1 }\n"
	"rule to { match message-header:To /^<[^>]+>$/ score 1 }\n"
	"rule meta { when lit + ahead >= 2 or para score 1 }\n";

static struct sl_policy *pol;
static struct sl_scanner *sc;

static void tap(void *ctx, unsigned db, const uint8_t *p, size_t n)
{
	if (db == DB_RENDERED && p)
		sl_strbuf_put(ctx, p, n);
}

/* The verdict JSON without its evidence arrays, in place. */
static void drop_evidence(struct sl_strbuf *b)
{
	size_t o = 0;
	for (size_t i = 0; i < b->len;) {
		if (b->len - i > 12 && memcmp(b->s + i, "\"evidence\":[", 12) == 0) {
			int depth = 0;
			for (i += 11; i < b->len; i++) {
				depth += b->s[i] == '[';
				depth -= b->s[i] == ']';
				if (depth == 0) {
					i++;
					break;
				}
			}
			continue;
		}
		b->s[o++] = b->s[i++];
	}
	b->len = o;
}

static void run(const uint8_t *p, size_t n, unsigned seed, struct sl_strbuf *rendered, struct sl_strbuf *verdict)
{
	struct sl_envelope env;
	memset(&env, 0, sizeof env);
	struct sl_msgscan *m = sl_msgscan_new(sc, pol, SL_DIR_INBOUND);
	struct sl_mime *mime = m ? sl_mime_new(NULL, sl_msgscan_event_cb, m) : NULL;
	if (!mime)
		abort();
	sl_msgscan_set_tap(m, tap, rendered);
	sl_mime_reset(mime, 0);
	struct sl_event ev = {.type = SL_EV_MESSAGE_BEGIN, .envelope = &env};
	sl_msgscan_event(m, &ev);
	size_t off = 0;
	while (off < n) {
		size_t k = n - off;
		if (seed) {
			seed = seed * 1103515245u + 12345u;
			size_t c = 1 + (seed >> 16) % 61;
			if (c < k)
				k = c;
		}
		sl_mime_feed(mime, p + off, k);
		off += k;
	}
	sl_mime_finish(mime);
	struct sl_event end = {.type = SL_EV_MESSAGE_END, .envelope = &env};
	sl_msgscan_event(m, &end);
	sl_verdict_json(sl_msgscan_verdict(m), verdict);
	sl_mime_free(mime);
	sl_msgscan_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!pol) {
		struct sl_policy_file f = {.name = "render.rules", .data = (const uint8_t *)rules, .len = sizeof rules - 1};
		struct sl_policy_diag d;
		pol = sl_policy_compile_files(&f, 1, &d);
		sc = sl_scanner_new();
		if (!pol || !sc)
			abort();
	}
	unsigned seed = size ? data[0] | 1u : 1u;
	struct sl_strbuf r1, r2, v1, v2;
	sl_strbuf_init(&r1);
	sl_strbuf_init(&r2);
	sl_strbuf_init(&v1);
	sl_strbuf_init(&v2);
	run(data, size, 0, &r1, &v1);
	run(data, size, seed, &r2, &v2);
	drop_evidence(&v1);
	drop_evidence(&v2);
	if (r1.len != r2.len || (r1.len && memcmp(r1.s, r2.s, r1.len) != 0)) {
		fprintf(stderr, "rendered whole:\n%.*s\nrendered in chunks:\n%.*s\n", (int)r1.len, r1.s, (int)r2.len, r2.s);
		__builtin_trap(); /* chunking changed the rendered text */
	}
	if (v1.len != v2.len || (v1.len && memcmp(v1.s, v2.s, v1.len) != 0)) {
		fprintf(stderr, "verdict whole:     %.*s\nverdict in chunks: %.*s\n", (int)v1.len, v1.s, (int)v2.len, v2.s);
		__builtin_trap(); /* chunking changed a verdict */
	}
	sl_strbuf_free(&r1);
	sl_strbuf_free(&r2);
	sl_strbuf_free(&v1);
	sl_strbuf_free(&v2);
	return 0;
}
