/* The statistical spam classifier (docs/spam.md, "Statistical classifier"): tokens of a
 * message and a trained model scoring them, after Gary Robinson's "A Statistical
 * Approach to the Spam Problem" (Linux Journal, 2003) as bogofilter implements it:
 * per-token probabilities with Robinson's f(w), combined with Fisher's chi-square.
 *
 * Tokens: the message's `rendered` text (Subject and decoded text parts, HTML rendered;
 * render.h) and some top-level header fields, cut into words, hashed to 32 bits, kept
 * once each in a fixed-size set per message: no allocation per event, the same set
 * whatever the chunking of the input.
 *
 * Model file: a 64-byte header then the token table, little-endian:
 *   "SLBAYES\0"  u32 version (2)  u16 x  u16 s  u32 spam messages  u32 ham messages
 *   u32 tokens  u16 min_dev  u16 reserved (0)  u8[32] SHA-256 of the table
 *   tokens x { u32 hash, u32 spam messages holding it, u32 ham messages holding it },
 *   sorted by hash, each hash once.
 * x, s and min_dev are the scoring constants (sl_bayes_classify) in units of 1/10000,
 * chosen at training; a version-1 file (reserved zeros there) has bogofilter's defaults. */
#ifndef SLUICE_BAYES_H
#define SLUICE_BAYES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sluice/event.h"

#define SL_BAYES_HEADER 64
#define SL_BAYES_ENTRY 12
#define SL_BAYES_VERSION 2
/* bogofilter 1.2.5's defaults (`bogofilter -C -Q`) */
#define SL_BAYES_ROBX 0.52
#define SL_BAYES_ROBS 0.0178
#define SL_BAYES_MIN_DEV 0.375
#define SL_BAYES_CONST_UNIT 10000.0

/* ---- tokens of one message ---- */
struct sl_bayes_tokens;
struct sl_bayes_tokens *sl_bayes_tokens_new(void);
void sl_bayes_tokens_free(struct sl_bayes_tokens *t);
void sl_bayes_tokens_reset(struct sl_bayes_tokens *t);
/* Feed the engine's events of one message (MESSAGE_END completes it). */
void sl_bayes_tokens_event(struct sl_bayes_tokens *t, const struct sl_event *ev);
/* The distinct token hashes (valid until the next reset), in first-seen order. */
const uint32_t *sl_bayes_tokens_list(const struct sl_bayes_tokens *t, size_t *n);
/* More distinct tokens than the set holds were seen (the first ones are kept). */
bool sl_bayes_tokens_saturated(const struct sl_bayes_tokens *t);
/* The bytes one token set holds (a fixed size, about 28 KiB): for memory accounting. */
size_t sl_bayes_tokens_bytes(void);

/* ---- a model ---- */
struct sl_bayes_model {
	uint32_t nspam, nham, ntokens;
	double robx, robs, min_dev; /* Robinson's x and s, and min_dev (sl_bayes_classify) */
	const uint8_t *table;     /* ntokens entries, in the caller's bytes */
	uint8_t sha256[32];
};
/* Check and map a model file's bytes (kept by the caller). false with *err on a bad file. */
bool sl_bayes_model_parse(const uint8_t *data, size_t len, struct sl_bayes_model *m,
                          const char **err);

struct sl_bayes_score {
	double probability;       /* 0 ham .. 1 spam; 0.5 when nothing decides */
	uint32_t tokens;          /* distinct tokens of the message */
	uint32_t used;            /* of them, far enough from neutral to count */
};
/* The message's spam probability under the model. */
void sl_bayes_classify(const struct sl_bayes_model *m, const uint32_t *tokens, size_t n,
                       struct sl_bayes_score *out);

/* One token's counts (for tests and `spam train`); false when the model lacks it. */
bool sl_bayes_lookup(const struct sl_bayes_model *m, uint32_t hash, uint32_t *spam, uint32_t *ham);
/* The hash of a body word as the tokenizer makes it (for tests): `word` as written. */
uint32_t sl_bayes_hash_word(const char *word);

#endif
