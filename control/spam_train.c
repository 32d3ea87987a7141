/* sluicectl spam train --spam PATH... --ham PATH... --out MODEL [--min-count N]
 * [--robx X] [--robs S] [--min-dev D]: count, for every token, the spam and ham messages
 * holding it, and write the model file (sluice/bayes.h) sorted by token, with the
 * scoring constants it is to be used with. */
#include <errno.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spam.h"
#include "sluice/digest.h"

struct count {
	uint32_t hash, spam, ham;
};

struct trainer {
	struct sl_bayes_tokens *tok;
	struct count *slots;      /* open addressing, hash 0 = empty */
	size_t cap, used;
	uint32_t nspam, nham;
	size_t saturated;         /* messages with more distinct tokens than the set keeps */
	bool is_spam;
	bool failed;
};

static bool grow(struct trainer *t)
{
	size_t cap = t->cap ? 2 * t->cap : 65536;
	struct count *s = calloc(cap, sizeof *s);
	if (!s)
		return false;
	for (size_t i = 0; i < t->cap; i++) {
		if (!t->slots[i].hash)
			continue;
		size_t j = t->slots[i].hash & (cap - 1);
		while (s[j].hash)
			j = (j + 1) & (cap - 1);
		s[j] = t->slots[i];
	}
	free(t->slots);
	t->slots = s;
	t->cap = cap;
	return true;
}

static bool count_token(struct trainer *t, uint32_t h)
{
	if (2 * (t->used + 1) > t->cap && !grow(t))
		return false;
	size_t j = h & (t->cap - 1);
	while (t->slots[j].hash && t->slots[j].hash != h)
		j = (j + 1) & (t->cap - 1);
	if (!t->slots[j].hash) {
		t->slots[j].hash = h;
		t->used++;
	}
	if (t->is_spam)
		t->slots[j].spam++;
	else
		t->slots[j].ham++;
	return true;
}

static bool learn(void *ctx, const char *name, const uint8_t *msg, size_t len)
{
	struct trainer *t = ctx;
	if (!spam_tokens_of(t->tok, name, msg, len)) {
		t->failed = true;
		return false;
	}
	size_t n;
	const uint32_t *tokens = sl_bayes_tokens_list(t->tok, &n);
	for (size_t i = 0; i < n; i++)
		if (!count_token(t, tokens[i])) {
			fprintf(stderr, "sluicectl spam train: out of memory\n");
			t->failed = true;
			return false;
		}
	t->saturated += sl_bayes_tokens_saturated(t->tok);
	if (t->is_spam)
		t->nspam++;
	else
		t->nham++;
	return true;
}

static int by_hash(const void *a, const void *b)
{
	uint32_t x = ((const struct count *)a)->hash, y = ((const struct count *)b)->hash;
	return x < y ? -1 : x > y;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* The model's bytes: the kept tokens (in at least min_count messages) sorted, then the
 * header with their SHA-256. */
static uint8_t *model_bytes(struct trainer *t, uint32_t min_count, const uint16_t consts[3],
                            size_t *len, uint32_t *ntokens)
{
	size_t k = 0;
	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i].hash && t->slots[i].spam + t->slots[i].ham >= min_count)
			t->slots[k++] = t->slots[i];
	if (k) /* no slots at all when no message gave a token: qsort(NULL) is undefined */
		qsort(t->slots, k, sizeof *t->slots, by_hash);
	*len = SL_BAYES_HEADER + k * SL_BAYES_ENTRY;
	uint8_t *b = calloc(1, *len);
	if (!b)
		return NULL;
	for (size_t i = 0; i < k; i++) {
		uint8_t *e = b + SL_BAYES_HEADER + i * SL_BAYES_ENTRY;
		put32(e, t->slots[i].hash);
		put32(e + 4, t->slots[i].spam);
		put32(e + 8, t->slots[i].ham);
	}
	memcpy(b, "SLBAYES\0", 8);
	put32(b + 8, SL_BAYES_VERSION);
	put32(b + 12, consts[0] | (uint32_t)consts[1] << 16);
	put32(b + 28, consts[2]);
	put32(b + 16, t->nspam);
	put32(b + 20, t->nham);
	put32(b + 24, (uint32_t)k);
	unsigned int dl = 0;
	if (!EVP_Digest(b + SL_BAYES_HEADER, k * SL_BAYES_ENTRY, b + 32, &dl, sl_md_sha256(), NULL)) {
		free(b);
		return NULL;
	}
	*ntokens = (uint32_t)k;
	return b;
}

/* Written beside `out` and renamed: a reader never sees half a model. */
static bool write_model(const char *out, const uint8_t *b, size_t len)
{
	char tmp[4096];
	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", out) >= sizeof tmp) {
		fprintf(stderr, "%s: name too long\n", out);
		return false;
	}
	FILE *f = fopen(tmp, "wb");
	if (!f) {
		fprintf(stderr, "%s: cannot create: %s\n", tmp, strerror(errno));
		return false;
	}
	bool ok = fwrite(b, 1, len, f) == len;
	ok &= fclose(f) == 0;
	if (!ok || rename(tmp, out) != 0) {
		fprintf(stderr, "%s: cannot write: %s\n", out, strerror(errno));
		remove(tmp);
		return false;
	}
	return true;
}

static int usage(void)
{
	fprintf(stderr, "usage: sluicectl spam train --spam PATH... --ham PATH... --out MODEL "
	                "[--min-count N] [--robx X] [--robs S] [--min-dev D]\n  PATH: a directory of "
	                ".eml files (or mbox files), an mbox file, or one message\n");
	return 2;
}

/* A scoring constant in the model's units (1/10000), within (lo, hi) exclusive, or lo
 * itself when lo_ok. */
static bool constant_arg(const char *name, const char *arg, double lo, double hi, bool lo_ok,
                         uint16_t *out)
{
	char *end;
	errno = 0;
	double v = strtod(arg, &end);
	long u = lround(v * SL_BAYES_CONST_UNIT);
	if (errno || end == arg || *end || !(v < hi) || !(v > lo || (lo_ok && v == lo)) ||
	    fabs(u - v * SL_BAYES_CONST_UNIT) > 1e-6 || (u == 0 && !lo_ok)) {
		fprintf(stderr, "sluicectl spam train: %s is a number %s %g and below %g, in steps of "
		        "0.0001\n", name, lo_ok ? "from" : "above", lo, hi);
		return false;
	}
	*out = (uint16_t)u;
	return true;
}

int spam_train(int argc, char **argv)
{
	const char *out = NULL;
	unsigned long min_count = 2;
	uint16_t consts[3] = {(uint16_t)lround(SL_BAYES_ROBX * SL_BAYES_CONST_UNIT),
	                      (uint16_t)lround(SL_BAYES_ROBS * SL_BAYES_CONST_UNIT),
	                      (uint16_t)lround(SL_BAYES_MIN_DEV * SL_BAYES_CONST_UNIT)};
	int nsp = 0, nhm = 0;
	for (int i = 1; i < argc; i += 2) { /* OPTION VALUE pairs */
		const char *a = argv[i];
		if (i + 1 >= argc || a[0] != '-')
			return usage();
		if (strcmp(a, "--spam") == 0) {
			nsp++;
		} else if (strcmp(a, "--ham") == 0) {
			nhm++;
		} else if (strcmp(a, "--out") == 0) {
			out = argv[i + 1];
		} else if (strcmp(a, "--min-count") == 0) {
			char *end;
			min_count = strtoul(argv[i + 1], &end, 10);
			if (*end || min_count < 1 || min_count > 1000000) {
				fprintf(stderr, "sluicectl spam train: --min-count is a number from 1 to 1000000\n");
				return 2;
			}
		} else if (strcmp(a, "--robx") == 0) {
			if (!constant_arg(a, argv[i + 1], 0, 1, false, &consts[0]))
				return 2;
		} else if (strcmp(a, "--robs") == 0) {
			if (!constant_arg(a, argv[i + 1], 0, 6.5, false, &consts[1]))
				return 2;
		} else if (strcmp(a, "--min-dev") == 0) {
			if (!constant_arg(a, argv[i + 1], 0, 0.5, true, &consts[2]))
				return 2;
		} else {
			return usage();
		}
	}
	if (!out || !nsp || !nhm)
		return usage();
	struct trainer t = {.tok = sl_bayes_tokens_new()};
	if (!t.tok) {
		fprintf(stderr, "sluicectl spam train: out of memory\n");
		return 1;
	}
	bool ok = true;
	for (int i = 1; ok && i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--spam") != 0 && strcmp(argv[i], "--ham") != 0)
			continue;
		t.is_spam = strcmp(argv[i], "--spam") == 0;
		ok = spam_each_message(argv[i + 1], learn, &t) && !t.failed;
	}
	int rc = 1;
	uint8_t *b = NULL;
	size_t len = 0;
	uint32_t ntokens = 0;
	if (!ok) {
		fprintf(stderr, "sluicectl spam train: no model written\n");
	} else if (!t.nspam || !t.nham) {
		fprintf(stderr, "sluicectl spam train: %s; no model written\n",
		        !t.nspam ? "no spam message found" : "no ham message found");
	} else if (!(b = model_bytes(&t, (uint32_t)min_count, consts, &len, &ntokens))) {
		fprintf(stderr, "sluicectl spam train: out of memory\n");
	} else if (write_model(out, b, len)) {
		printf("%s: %u spam, %u ham messages; %u tokens kept (%zu seen, kept if in >= %lu "
		       "messages); %zu bytes; x %g, s %g, min_dev %g", out, t.nspam, t.nham, ntokens, t.used,
		       min_count, len, consts[0] / SL_BAYES_CONST_UNIT, consts[1] / SL_BAYES_CONST_UNIT,
		       consts[2] / SL_BAYES_CONST_UNIT);
		if (t.saturated)
			printf("; %zu messages had more distinct tokens than the %s", t.saturated,
			       "per-message set keeps (first ones used)");
		printf("\n");
		rc = 0;
	}
	free(b);
	free(t.slots);
	sl_bayes_tokens_free(t.tok);
	return rc;
}
