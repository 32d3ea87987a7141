/* libFuzzer target for the classifier's tokenizer (sluice/bayes.h): each input is a
 * message run through the MIME parser into sl_bayes_tokens, whole and in chunks whose
 * sizes come from the input. The two token sets (and whether the set saturated) must be
 * identical: a message's tokens must not depend on how its packets fell. The chunked
 * run reuses one tokenizer across inputs, so a reset must forget the last message. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extractrun.h"
#include "sluice/bayes.h"
#include "sluice/mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void tokens_cb(void *ctx, const struct sl_event *ev)
{
	sl_bayes_tokens_event(ctx, ev);
}

static void run(struct sl_bayes_tokens *t, const uint8_t *p, size_t n, unsigned seed)
{
	struct sl_mime *mime = sl_mime_new(NULL, tokens_cb, t);
	if (!mime)
		abort();
	sl_mime_reset(mime, 0);
	struct sl_event begin = {.type = SL_EV_MESSAGE_BEGIN};
	sl_bayes_tokens_event(t, &begin);
	size_t off = 0;
	while (off < n) {
		size_t k = test_piece(&seed, n - off, 61);
		sl_mime_feed(mime, p + off, k);
		off += k;
	}
	sl_mime_finish(mime);
	struct sl_event end = {.type = SL_EV_MESSAGE_END};
	sl_bayes_tokens_event(t, &end);
	sl_mime_free(mime);
}

static int by_value(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* The distinct tokens, sorted, in a copy the caller frees. */
static uint32_t *sorted_tokens(const struct sl_bayes_tokens *t, size_t *n)
{
	const uint32_t *list = sl_bayes_tokens_list(t, n);
	uint32_t *copy = malloc((*n ? *n : 1) * sizeof *copy);
	if (!copy)
		abort();
	memcpy(copy, list, *n * sizeof *copy);
	qsort(copy, *n, sizeof *copy, by_value);
	for (size_t i = 1; i < *n; i++)
		if (copy[i] == copy[i - 1])
			__builtin_trap(); /* a token listed twice */
	return copy;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sl_bayes_tokens *reused;
	struct sl_bayes_tokens *whole = sl_bayes_tokens_new();
	if (!reused)
		reused = sl_bayes_tokens_new();
	if (!whole || !reused)
		abort();
	run(whole, data, size, 0);
	run(reused, data, size, size ? data[0] | 1u : 1u);
	size_t n1, n2;
	uint32_t *t1 = sorted_tokens(whole, &n1), *t2 = sorted_tokens(reused, &n2);
	bool sat1 = sl_bayes_tokens_saturated(whole), sat2 = sl_bayes_tokens_saturated(reused);
	/* a saturated set keeps the first tokens seen, which chunking does not reorder */
	if (n1 != n2 || sat1 != sat2 || (n1 && memcmp(t1, t2, n1 * sizeof *t1) != 0)) {
		fprintf(stderr, "tokens whole: %zu%s, in chunks: %zu%s\n", n1, sat1 ? " (saturated)" : "",
		        n2, sat2 ? " (saturated)" : "");
		__builtin_trap(); /* chunking changed the token set */
	}
	free(t1);
	free(t2);
	sl_bayes_tokens_free(whole);
	return 0;
}
