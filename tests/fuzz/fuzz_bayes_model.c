/* libFuzzer target for the spam model parser (sl_bayes_model_parse): arbitrary bytes
 * must be refused with a reason or accepted as a model that holds what the format
 * says. The first input byte picks the mode: odd, the rest gets its SHA-256 field
 * recomputed, so the fuzzer gets past the checksum into the table checks and scoring;
 * even, the rest is parsed as it is. An accepted model must find each of its entries
 * by lookup and score any token list to a probability in 0..1. */
#include <math.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/bayes.h"
#include "sluice/digest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void check_accepted(const struct sl_bayes_model *m, size_t len)
{
	if (len != SL_BAYES_HEADER + (size_t)m->ntokens * SL_BAYES_ENTRY || !m->nspam || !m->nham)
		__builtin_trap(); /* accepted a model whose size or totals are wrong */
	size_t n = m->ntokens;
	uint32_t *tokens = malloc((2 * n + 1) * sizeof *tokens);
	if (!tokens)
		abort();
	for (size_t i = 0; i < n; i++) {
		const uint8_t *e = m->table + i * SL_BAYES_ENTRY;
		uint32_t s, h;
		if (!sl_bayes_lookup(m, le32(e), &s, &h) || s != le32(e + 4) || h != le32(e + 8) ||
		    s > m->nspam || h > m->nham)
			__builtin_trap(); /* an entry lookup does not find, or counts above the totals */
		tokens[2 * i] = le32(e);
		tokens[2 * i + 1] = le32(e) + 1; /* most of these are not in the table */
	}
	tokens[2 * n] = 0;
	struct sl_bayes_score sc;
	sl_bayes_classify(m, tokens, 2 * n + 1, &sc);
	if (!(sc.probability >= 0 && sc.probability <= 1) || sc.used > sc.tokens ||
	    sc.tokens != 2 * n + 1)
		__builtin_trap(); /* a probability outside 0..1 (or NaN) */
	free(tokens);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	bool fix_checksum = data[0] & 1;
	size_t len = size - 1;
	/* a copy of exactly the model's bytes: ASan sees any read past them */
	uint8_t *b = malloc(len ? len : 1);
	if (!b)
		abort();
	memcpy(b, data + 1, len);
	if (fix_checksum && len >= SL_BAYES_HEADER) {
		unsigned int dl = 0;
		if (!EVP_Digest(b + SL_BAYES_HEADER, len - SL_BAYES_HEADER, b + 32, &dl, sl_md_sha256(), NULL))
			abort();
	}
	struct sl_bayes_model m;
	const char *err = NULL;
	if (sl_bayes_model_parse(b, len, &m, &err))
		check_accepted(&m, len);
	else if (!err || !*err)
		__builtin_trap(); /* refused without a reason */
	free(b);
	return 0;
}
