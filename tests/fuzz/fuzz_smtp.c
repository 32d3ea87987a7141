/* libFuzzer target for the SMTP session. The input is a session: a sequence of
 * records, each a header byte then bytes. Header: bit 0 = direction (0 client,
 * 1 server); bits 1-7 = L: L < 127 feeds the next L*L/8+1 bytes, L == 127 is a gap
 * of the next byte's value + 1 bytes. The session runs twice, records whole and in
 * random pieces (seeded by the input); both must give the same session events. Checked:
 * no crash (ASan/UBSan), harness invariants (MESSAGE_BEGIN/END/TXN_RESULT pairing,
 * contiguous RAW offsets, consumed offset monotonic and <= bytes fed), memory under
 * a bound set by the caps. Then twice more: inline (sl_limits.inline_mode, fed as
 * sluice-dp feeds it, gaps left out), where no reply may be assumed before the close and
 * the session must not fail; and with a memory account whose budget comes from the
 * input, where running out must fail the session cleanly (engine.memory once, inside the
 * open message; harness invariants) and give every byte back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "testacct.h"

static struct transcript *decode(const uint8_t *p, size_t n)
{
	struct transcript *t = calloc(1, sizeof *t);
	size_t i = 0;
	while (i < n) {
		uint8_t h = p[i++];
		size_t l = h >> 1;
		if (t->n == t->cap) {
			t->cap = t->cap ? t->cap * 2 : 16;
			t->rec = realloc(t->rec, t->cap * sizeof *t->rec);
		}
		struct record *r = &t->rec[t->n];
		memset(r, 0, sizeof *r);
		r->dir = (h & 1) ? SL_SERVER : SL_CLIENT;
		if (l == 127) {
			if (i == n)
				break;
			r->gap = (size_t)p[i++] + 1;
		} else {
			size_t len = l * l / 8 + 1;
			if (len > n - i)
				len = n - i;
			if (len == 0)
				break;
			r->data = malloc(len);
			memcpy(r->data, p + i, len);
			r->len = len;
			i += len;
		}
		t->n++;
	}
	return t;
}

static void check_inline(const struct transcript *t, const struct sl_limits *caps)
{
	struct transcript nogaps = {.rec = malloc((t->n + 1) * sizeof *t->rec)};
	for (size_t i = 0; i < t->n; i++)
		if (!t->rec[i].gap)
			nogaps.rec[nogaps.n++] = t->rec[i];
	struct sl_limits lim = *caps;
	lim.inline_mode = true;
	struct run *r = run_inline(&nogaps, &lim, false);
	if (r->error[0] || sl_smtp_failed(r->s) || run_count_signal(r, "smtp.reply_assumed")) {
		fprintf(stderr, "inline: %s failed=%d reply_assumed=%zu\n", r->error,
		        sl_smtp_failed(r->s), run_count_signal(r, "smtp.reply_assumed"));
		abort();
	}
	sl_smtp_close(r->s);
	run_free(r);
	free(nogaps.rec);
}


static void check_budget(const struct transcript *t, const struct sl_limits *lim, uint8_t k)
{
	struct test_acct b = {.limit = 4096 + (size_t)k * 1024};
	struct sl_memacct acct = test_acct(&b);
	struct run *r = run_transcript_acct(t, CH_WHOLE, 0, lim, true, &acct);
	if (r->error[0] || (r->s && b.total != sl_smtp_memory(r->s))) {
		fprintf(stderr, "budget %zu: %s (account %zu)\n", b.limit, r->error, b.total);
		abort();
	}
	run_free(r);
	if (b.total != 0) {
		fprintf(stderr, "budget %zu: %zu bytes never released\n", b.limit, b.total);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_limits lim;
	sl_limits_default(&lim);
	lim.max_line = 256;
	lim.max_pending = 4096;
	lim.max_rcpts = 20;
	struct transcript *t = decode(data, size);
	unsigned seed = size ? data[size / 2] + 1 : 1;
	struct run *a = run_transcript(t, CH_WHOLE, 0, &lim, true);
	struct run *b = run_transcript(t, CH_RANDOM, seed, &lim, true);
	if (a->error[0] || b->error[0]) {
		fprintf(stderr, "invariant broken: %s%s\n", a->error, b->error);
		abort();
	}
	/* The session's events only: the MIME parser's own chunking invariance is
	 * fuzz_mime's to check (tests/smtp compares both logs on the transcripts). */
	if (strcmp(sl_eventlog_text(&a->log_smtp), sl_eventlog_text(&b->log_smtp)) != 0) {
		fprintf(stderr, "events depend on the chunking\n--- whole\n%s\n--- random\n%s\n",
		        sl_eventlog_text(&a->log_smtp), sl_eventlog_text(&b->log_smtp));
		abort();
	}
	/* growth: lines, held bytes, queue, 8 transactions of 20 recipients, the MIME
	 * parser's buffers (bounded by its own caps) */
	if (a->max_memory - a->base_memory > 1024 * 1024 ||
	    b->max_memory - b->base_memory > 1024 * 1024) {
		fprintf(stderr, "session memory grew by %zu / %zu, over the bound\n",
		        a->max_memory - a->base_memory, b->max_memory - b->base_memory);
		abort();
	}
	run_free(a);
	run_free(b);
	check_inline(t, &lim);
	check_budget(t, &lim, size ? data[0] : 0);
	transcript_free(t);
	return 0;
}
