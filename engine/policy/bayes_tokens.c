/* The classifier's tokens of one message (sluice/bayes.h): the rendered text and a few
 * top-level header fields cut into words, each word hashed to 32 bits and kept once in
 * a fixed-size open-addressing set. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "render.h"
#include "sluice/bayes.h"

#define BAYES_SLOTS 4096      /* power of two, twice the tokens kept: short probes */
#define BAYES_MAX_TOKENS 2048 /* distinct tokens per message; later new ones are not kept */
#define BAYES_WORD_MIN 3
#define BAYES_WORD_MAX 40     /* longer words become one token per first byte and length class */
#define FNV_BASIS 2166136261u
#define FNV_PRIME 16777619u

/* Header fields whose words are tokens, each word marked with its field's name. */
static const char *const token_fields[] = {
	"from", "reply-to", "return-path", "x-mailer", "user-agent", "content-type",
};

struct sl_bayes_tokens {
	struct render render;
	bool open;
	char subject[1024];
	size_t subject_len;
	uint32_t seed;            /* hash state of the field the word belongs to */
	uint8_t word[BAYES_WORD_MAX];
	size_t word_len;          /* bytes of the word so far (may exceed BAYES_WORD_MAX) */
	uint32_t n;
	bool saturated;
	uint32_t order[BAYES_MAX_TOKENS];
	uint32_t slots[BAYES_SLOTS];
};

static uint32_t fnv(uint32_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * FNV_PRIME;
	return h;
}

static void add(struct sl_bayes_tokens *t, uint32_t h)
{
	if (h == 0)
		h = 1; /* 0 marks an empty slot */
	uint32_t i = h & (BAYES_SLOTS - 1);
	while (t->slots[i]) {
		if (t->slots[i] == h)
			return;
		i = (i + 1) & (BAYES_SLOTS - 1);
	}
	if (t->n == BAYES_MAX_TOKENS) {
		t->saturated = true;
		return;
	}
	t->slots[i] = h;
	t->order[t->n++] = h;
}

static bool word_byte(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80 ||
	       c == '$' || c == '\'' || c == '-' || c == '_' || c == '.';
}

static bool edge_byte(uint8_t c)
{
	return c == '\'' || c == '-' || c == '_' || c == '.';
}

/* The word gathered so far is complete: trimmed of punctuation at its ends, kept when
 * long enough. */
static void word_end(struct sl_bayes_tokens *t)
{
	size_t n = t->word_len;
	t->word_len = 0;
	if (n > BAYES_WORD_MAX) {
		uint8_t longw[3] = {'\x01', t->word[0], (uint8_t)(n / 8 > 255 ? 255 : n / 8)};
		add(t, fnv(t->seed, longw, sizeof longw));
		return;
	}
	size_t b = 0;
	while (b < n && edge_byte(t->word[b]))
		b++;
	while (n > b && edge_byte(t->word[n - 1]))
		n--;
	if (n - b >= BAYES_WORD_MIN)
		add(t, fnv(t->seed, t->word + b, n - b));
}

static void words(struct sl_bayes_tokens *t, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		if (!word_byte(c)) {
			if (t->word_len)
				word_end(t);
			continue;
		}
		if (c >= 'A' && c <= 'Z')
			c = (uint8_t)(c - 'A' + 'a');
		if (t->word_len < BAYES_WORD_MAX)
			t->word[t->word_len] = c;
		t->word_len++;
	}
}

static void rendered_out(void *ctx, const uint8_t *p, size_t n)
{
	words(ctx, p, n);
}

static void field(struct sl_bayes_tokens *t, const char *name, const char *value)
{
	uint8_t lname[32];
	size_t nl = strlen(name);
	for (size_t i = 0; i < nl && i < sizeof lname; i++)
		lname[i] = (uint8_t)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] - 'A' + 'a' : name[i]);
	if (t->word_len) /* a header cannot cut a body word; stay safe anyway */
		word_end(t);
	uint32_t body_seed = t->seed;
	t->seed = fnv(fnv(FNV_BASIS, lname, nl < sizeof lname ? nl : sizeof lname), (const uint8_t *)":", 1);
	words(t, (const uint8_t *)value, strlen(value));
	if (t->word_len)
		word_end(t);
	t->seed = body_seed;
}

static void header(struct sl_bayes_tokens *t, const struct sl_event *ev)
{
	if (!ev->part || ev->part->depth != 0 || !ev->name || !ev->value)
		return;
	if (strcasecmp(ev->name, "subject") == 0) {
		size_t sl = strlen(ev->value);
		t->subject_len = sl < sizeof t->subject ? sl : sizeof t->subject;
		memcpy(t->subject, ev->value, t->subject_len);
		return;
	}
	for (size_t i = 0; i < sizeof token_fields / sizeof token_fields[0]; i++)
		if (strcasecmp(ev->name, token_fields[i]) == 0)
			field(t, ev->name, ev->value);
}

/* The rendered text starts when the top-level headers are complete (the Subject known). */
static void open_text(struct sl_bayes_tokens *t)
{
	if (t->open)
		return;
	t->open = true;
	render_begin(&t->render, rendered_out, t);
	render_subject(&t->render, (const uint8_t *)t->subject, t->subject_len);
}

void sl_bayes_tokens_event(struct sl_bayes_tokens *t, const struct sl_event *ev)
{
	switch (ev->type) {
	case SL_EV_MESSAGE_BEGIN:
		sl_bayes_tokens_reset(t);
		break;
	case SL_EV_HEADER:
		header(t, ev);
		break;
	case SL_EV_PART_BEGIN:
		open_text(t);
		if (ev->part && ev->part->kind == SL_PART_LEAF) {
			bool html = strcmp(ev->part->content_type, "text/html") == 0;
			render_part(&t->render, html || strcmp(ev->part->content_type, "text/plain") == 0, html);
		}
		break;
	case SL_EV_PART_TEXT:
		if (t->open)
			render_text(&t->render, ev->data, ev->len);
		break;
	case SL_EV_MESSAGE_END:
		open_text(t);
		render_end(&t->render);
		if (t->word_len)
			word_end(t);
		break;
	default:
		break;
	}
}

struct sl_bayes_tokens *sl_bayes_tokens_new(void)
{
	struct sl_bayes_tokens *t = calloc(1, sizeof *t);
	if (t)
		t->seed = FNV_BASIS;
	return t;
}

void sl_bayes_tokens_free(struct sl_bayes_tokens *t)
{
	free(t);
}

void sl_bayes_tokens_reset(struct sl_bayes_tokens *t)
{
	for (uint32_t i = 0; i < t->n; i++) {
		uint32_t s = t->order[i] & (BAYES_SLOTS - 1);
		while (t->slots[s]) { /* clear the probe run holding it (at most the whole table) */
			t->slots[s] = 0;
			s = (s + 1) & (BAYES_SLOTS - 1);
		}
	}
	t->n = 0;
	t->saturated = false;
	t->open = false;
	t->subject_len = 0;
	t->word_len = 0;
	t->seed = FNV_BASIS;
}

const uint32_t *sl_bayes_tokens_list(const struct sl_bayes_tokens *t, size_t *n)
{
	*n = t->n;
	return t->order;
}

bool sl_bayes_tokens_saturated(const struct sl_bayes_tokens *t)
{
	return t->saturated;
}

size_t sl_bayes_tokens_bytes(void)
{
	return sizeof(struct sl_bayes_tokens);
}

uint32_t sl_bayes_hash_word(const char *word)
{
	uint32_t h = fnv(FNV_BASIS, (const uint8_t *)word, strlen(word));
	return h ? h : 1;
}
