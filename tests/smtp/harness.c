#include "harness.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fail(struct run *r, const char *fmt, const char *a, unsigned long long v)
{
	if (r->error[0])
		return;
	snprintf(r->error, sizeof r->error, fmt, a, v);
}

static struct msg_rec *find_msg(struct run *r, uint32_t txn)
{
	for (size_t i = r->nmsgs; i > 0; i--)
		if (r->msgs[i - 1].txn == txn)
			return &r->msgs[i - 1];
	return NULL;
}

static void copy_env(struct msg_rec *m, const struct sl_envelope *e)
{
	free(m->rcpt);
	m->env = *e;
	m->rcpt = NULL;
	if (e->nrcpt) {
		m->rcpt = malloc(e->nrcpt * sizeof *m->rcpt);
		memcpy(m->rcpt, e->rcpt, e->nrcpt * sizeof *m->rcpt);
	}
	m->env.rcpt = m->rcpt;
}

static bool is_mime_event(const struct sl_event *ev)
{
	switch (ev->type) {
	case SL_EV_HEADER:
	case SL_EV_PART_BEGIN:
	case SL_EV_PART_DATA:
	case SL_EV_PART_TEXT:
	case SL_EV_PART_END:
		return true;
	case SL_EV_SIGNAL:
		return strncmp(ev->name, "mime.", 5) == 0;
	default:
		return false;
	}
}

/* engine.memory: raised once, inside the message open at the time if any; after it no
 * MIME event, no new message, and only that message may still end. */
static void check_failure(struct run *r, const struct sl_event *ev, bool mime)
{
	if (mime && r->failure_seen)
		fail(r, "%sMIME event after engine.memory (type %llu)", "", ev->type);
	if (mime || !r->failure_seen)
		return;
	if (ev->type == SL_EV_MESSAGE_BEGIN)
		fail(r, "%sMESSAGE_BEGIN after engine.memory (txn %llu)", "", ev->txn);
	if (ev->type == SL_EV_MESSAGE_END && ev->txn != r->failure_txn)
		fail(r, "%sa message ended after engine.memory outside it (txn %llu)", "", ev->txn);
	if (ev->type == SL_EV_SIGNAL && strcmp(ev->name, "engine.memory") == 0)
		fail(r, "%sengine.memory raised twice (txn %llu)", "", ev->txn);
}

static void note_failure(struct run *r, const struct sl_event *ev)
{
	r->failure_seen = true;
	r->failure_txn = ev->txn;
	for (size_t i = 0; i < r->nmsgs; i++)
		if (!r->msgs[i].ended && r->msgs[i].txn != ev->txn)
			fail(r, "%sengine.memory outside the open message (txn %llu)", "", r->msgs[i].txn);
}

static void on_event(void *ctx, const struct sl_event *ev)
{
	struct run *r = ctx;
	check_failure(r, ev, is_mime_event(ev));
	if (ev->type == SL_EV_SIGNAL && strcmp(ev->name, "engine.memory") == 0 && !r->failure_seen)
		note_failure(r, ev);
	if (is_mime_event(ev)) {
		r->mime_events++;
		sl_eventlog_cb(&r->log_mime, ev);
		return;
	}
	sl_eventlog_cb(&r->log_smtp, ev);
	if (ev->type == SL_EV_MESSAGE_BEGIN || ev->type == SL_EV_MESSAGE_END)
		sl_eventlog_cb(&r->log_mime, ev);
	struct sl_strbuf *t = &r->trace;
	struct msg_rec *m = NULL;
	switch (ev->type) {
	case SL_EV_COMMAND:
		sl_strbuf_printf(t, "%s ", ev->name);
		break;
	case SL_EV_REPLY:
		if (ev->last)
			sl_strbuf_printf(t, "%d ", ev->code);
		break;
	case SL_EV_MESSAGE_BEGIN:
		sl_strbuf_printf(t, "begin%u ", ev->txn);
		if (find_msg(r, ev->txn))
			fail(r, "%stwo MESSAGE_BEGIN for txn %llu", "", ev->txn);
		if ((r->nmsgs & (r->nmsgs - 1)) == 0) /* capacity doubles at powers of two */
			r->msgs = realloc(r->msgs, (r->nmsgs ? r->nmsgs * 2 : 1) * sizeof *r->msgs);
		m = &r->msgs[r->nmsgs++];
		memset(m, 0, sizeof *m);
		m->txn = ev->txn;
		m->begin_off = ev->offset;
		sl_strbuf_init(&m->raw);
		sl_strbuf_puts(&m->raw, "");
		if (!ev->envelope)
			fail(r, "%sMESSAGE_BEGIN without envelope (txn %llu)", "", ev->txn);
		break;
	case SL_EV_RAW:
		r->raw_events++;
		m = find_msg(r, ev->txn);
		if (!m || m->ended) {
			fail(r, "%sRAW outside a message (txn %llu)", "", ev->txn);
			break;
		}
		if (ev->offset != m->raw.len)
			fail(r, "%sRAW offset not contiguous at %llu", "", ev->offset);
		if (ev->len == 0)
			fail(r, "%sempty RAW event at %llu", "", ev->offset);
		sl_strbuf_put(&m->raw, ev->data, ev->len);
		break;
	case SL_EV_MESSAGE_END:
		sl_strbuf_printf(t, "end%u ", ev->txn);
		m = find_msg(r, ev->txn);
		if (!m || m->ended) {
			fail(r, "%sMESSAGE_END without MESSAGE_BEGIN (txn %llu)", "", ev->txn);
			break;
		}
		m->ended = true;
		m->end_off = ev->offset;
		copy_env(m, ev->envelope);
		break;
	case SL_EV_TXN_RESULT:
		sl_strbuf_printf(t, "result%u=%d ", ev->txn, ev->code);
		r->last_env = *ev->envelope;
		r->last_env.rcpt = NULL;
		m = find_msg(r, ev->txn);
		if (m && m->has_result) {
			m = NULL; /* a later refused DATA of the same number: not this message */
		}
		if (m && !m->ended)
			fail(r, "%sTXN_RESULT before MESSAGE_END (txn %llu)", "", ev->txn);
		if (m) {
			m->has_result = true;
			m->code = ev->code;
			copy_env(m, ev->envelope);
		} else {
			r->refused++;
			r->refused_code = ev->code;
		}
		break;
	case SL_EV_SIGNAL: {
		sl_strbuf_printf(t, "!%s ", ev->name);
		if ((r->nsigs & (r->nsigs - 1)) == 0)
			r->sigs = realloc(r->sigs, (r->nsigs ? r->nsigs * 2 : 1) * sizeof *r->sigs);
		struct sig_rec *sg = &r->sigs[r->nsigs++];
		snprintf(sg->name, sizeof sg->name, "%s", ev->name);
		snprintf(sg->detail, sizeof sg->detail, "%s", ev->value ? ev->value : "");
		sg->txn = ev->txn;
		sg->off = ev->offset;
		break;
	}
	default:
		break;
	}
}

static uint32_t next_rand(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

static void check_after_feed(struct run *r, uint64_t *last_consumed)
{
	uint64_t c = sl_smtp_client_consumed(r->s);
	if (c < *last_consumed)
		fail(r, "%sconsumed went backwards to %llu", "", c);
	if (c > r->client_fed)
		fail(r, "%sconsumed %llu beyond the bytes fed", "", c);
	*last_consumed = c;
	size_t mem = sl_smtp_memory(r->s);
	if (mem > r->max_memory)
		r->max_memory = mem;
}

static void feed(struct run *r, enum sl_stream dir, const uint8_t *p, size_t n,
                 enum chunking ch, uint32_t *rng, uint64_t *last_consumed)
{
	while (n) {
		size_t k = n;
		if (ch == CH_BYTE) {
			k = 1;
		} else if (ch == CH_RANDOM) {
			uint32_t x = next_rand(rng);
			/* mostly small pieces, now and then a large one */
			k = (x & 7) ? 1 + (x >> 8) % 17 : 1 + (x >> 8) % 65536;
			if (k > n)
				k = n;
		}
		if (dir == SL_CLIENT)
			r->client_fed += k;
		sl_smtp_feed(r->s, dir, p, k);
		check_after_feed(r, last_consumed);
		p += k;
		n -= k;
	}
}

static struct run *run_alloc(void)
{
	struct run *r = calloc(1, sizeof *r);
	sl_eventlog_init(&r->log_smtp);
	sl_eventlog_init(&r->log_mime);
	sl_strbuf_init(&r->trace);
	sl_strbuf_puts(&r->trace, "");
	return r;
}

static struct run *run_new(const struct sl_limits *lim, const struct sl_memacct *acct)
{
	struct run *r = run_alloc();
	r->s = sl_smtp_new_acct(lim, on_event, r, acct);
	if (r->s)
		r->base_memory = r->max_memory = sl_smtp_memory(r->s);
	return r;
}

static void run_close(struct run *r, uint64_t *last_consumed)
{
	sl_smtp_close(r->s);
	check_after_feed(r, last_consumed);
	for (size_t i = 0; i < r->nmsgs; i++)
		if (!r->msgs[i].ended || !r->msgs[i].has_result)
			fail(r, "%smessage txn %llu not ended with a result after close", "",
			     r->msgs[i].txn);
}

static void run_records(struct run *r, const struct transcript *t, enum chunking ch,
                        unsigned seed, bool close);

struct run *run_transcript(const struct transcript *t, enum chunking ch, unsigned seed,
                           const struct sl_limits *lim, bool close)
{
	return run_transcript_acct(t, ch, seed, lim, close, NULL);
}

struct run *run_transcript_acct(const struct transcript *t, enum chunking ch, unsigned seed,
                                const struct sl_limits *lim, bool close,
                                const struct sl_memacct *acct)
{
	struct run *r = run_new(lim, acct);
	if (r->s)
		run_records(r, t, ch, seed, close);
	return r;
}

struct run *run_transcript_reset(const struct transcript *t, struct sl_smtp *s,
                                 enum chunking ch, unsigned seed, bool close)
{
	struct run *r = run_alloc();
	if (!sl_smtp_reset(s, on_event, r)) {
		sl_smtp_free(s);
		return r;
	}
	r->s = s;
	r->base_memory = r->max_memory = sl_smtp_memory(s);
	run_records(r, t, ch, seed, close);
	return r;
}

static void run_records(struct run *r, const struct transcript *t, enum chunking ch,
                        unsigned seed, bool close)
{
	uint32_t rng = seed * 2654435761u + 1;
	uint64_t last_consumed = 0;
	struct sl_strbuf merged;
	sl_strbuf_init(&merged);
	for (size_t i = 0; i < t->n; i++) {
		const struct record *rec = &t->rec[i];
		if (rec->gap) {
			if (rec->dir == SL_CLIENT)
				r->client_fed += rec->gap;
			sl_smtp_gap(r->s, rec->dir, rec->gap);
			check_after_feed(r, &last_consumed);
			continue;
		}
		if (ch == CH_MERGED) {
			sl_strbuf_put(&merged, rec->data, rec->len);
			const struct record *nx = i + 1 < t->n ? &t->rec[i + 1] : NULL;
			if (nx && !nx->gap && nx->dir == rec->dir)
				continue;
			feed(r, rec->dir, (const uint8_t *)merged.s, merged.len, ch, &rng,
			     &last_consumed);
			sl_strbuf_clear(&merged);
			continue;
		}
		feed(r, rec->dir, rec->data, rec->len, ch, &rng, &last_consumed);
	}
	sl_strbuf_free(&merged);
	if (close)
		run_close(r, &last_consumed);
}

/* Feeds the backlog as far as the session has room. */
static void pump(struct run *r, struct sl_strbuf *backlog, size_t *head, uint64_t *last_consumed)
{
	while (*head < backlog->len) {
		size_t room = sl_smtp_client_room(r->s);
		if (room == 0)
			break; /* the device keeps the rest until server bytes arrive */
		size_t k = backlog->len - *head;
		if (k > room)
			k = room;
		r->client_fed += k;
		sl_smtp_feed(r->s, SL_CLIENT, (const uint8_t *)backlog->s + *head, k);
		check_after_feed(r, last_consumed);
		*head += k;
	}
	if (backlog->len - *head > r->backlog_peak)
		r->backlog_peak = backlog->len - *head;
}

struct run *run_inline(const struct transcript *t, const struct sl_limits *lim, bool close)
{
	struct run *r = run_new(lim, NULL);
	uint64_t last_consumed = 0;
	struct sl_strbuf backlog;
	sl_strbuf_init(&backlog);
	sl_strbuf_puts(&backlog, "");
	size_t head = 0;
	for (size_t i = 0; i < t->n; i++) {
		const struct record *rec = &t->rec[i];
		if (rec->gap) {
			fail(r, "%sgap record in an inline run (%llu)", "", i);
			continue;
		}
		if (rec->dir == SL_CLIENT) {
			sl_strbuf_put(&backlog, rec->data, rec->len);
		} else {
			sl_smtp_feed(r->s, SL_SERVER, rec->data, rec->len);
			check_after_feed(r, &last_consumed);
		}
		pump(r, &backlog, &head, &last_consumed);
	}
	r->backlog_left = backlog.len - head;
	sl_strbuf_free(&backlog);
	if (close)
		run_close(r, &last_consumed);
	return r;
}

struct run *run_text(const char *text)
{
	struct transcript *t = transcript_parse(text, strlen(text));
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	struct run *r = run_transcript(t, CH_WHOLE, 0, NULL, true);
	transcript_free(t);
	CU_ASSERT_STRING_EQUAL(r->error, "");
	return r;
}

void run_free(struct run *r)
{
	if (!r)
		return;
	sl_smtp_free(r->s);
	sl_eventlog_free(&r->log_smtp);
	sl_eventlog_free(&r->log_mime);
	sl_strbuf_free(&r->trace);
	for (size_t i = 0; i < r->nmsgs; i++) {
		sl_strbuf_free(&r->msgs[i].raw);
		free(r->msgs[i].rcpt);
	}
	free(r->msgs);
	free(r->sigs);
	free(r);
}

size_t run_count_signal(const struct run *r, const char *name)
{
	size_t n = 0;
	for (size_t i = 0; i < r->nsigs; i++)
		if (strcmp(r->sigs[i].name, name) == 0)
			n++;
	return n;
}

const struct sig_rec *run_find_signal(const struct run *r, const char *name)
{
	for (size_t i = 0; i < r->nsigs; i++)
		if (strcmp(r->sigs[i].name, name) == 0)
			return &r->sigs[i];
	return NULL;
}

/* Index of the first differing line, for a readable failure. */
static void describe_diff(char *out, size_t cap, const char *what, const char *a,
                          const char *b)
{
	size_t line = 1, i = 0;
	while (a[i] && a[i] == b[i]) {
		if (a[i] == '\n')
			line++;
		i++;
	}
	size_t s = i;
	while (s > 0 && a[s - 1] != '\n')
		s--;
	snprintf(out, cap, "%s differs at line %zu:\n  whole: %.200s\n  other: %.200s", what,
	         line, a + s, b + s);
}

const char *run_invariance(const struct transcript *t, const struct sl_limits *lim)
{
	static char msg[1024];
	msg[0] = '\0';
	struct run *ref = run_transcript(t, CH_WHOLE, 0, lim, true);
	if (ref->error[0]) {
		snprintf(msg, sizeof msg, "whole: %s", ref->error);
		run_free(ref);
		return msg;
	}
	const char *ref_smtp = sl_eventlog_text(&ref->log_smtp);
	const char *ref_mime = sl_eventlog_text(&ref->log_mime);
	static const struct {
		enum chunking ch;
		unsigned seed;
		const char *name;
	} modes[] = {
		{CH_MERGED, 0, "merged"},   {CH_BYTE, 0, "1-byte"},     {CH_RANDOM, 1, "random#1"},
		{CH_RANDOM, 2, "random#2"}, {CH_RANDOM, 3, "random#3"},
	};
	for (size_t i = 0; i < sizeof modes / sizeof modes[0] && !msg[0]; i++) {
		struct run *o = run_transcript(t, modes[i].ch, modes[i].seed, lim, true);
		char what[64];
		if (o->error[0]) {
			snprintf(msg, sizeof msg, "%s: %s", modes[i].name, o->error);
		} else if (strcmp(ref_smtp, sl_eventlog_text(&o->log_smtp)) != 0) {
			snprintf(what, sizeof what, "%s smtp log", modes[i].name);
			describe_diff(msg, sizeof msg, what, ref_smtp, sl_eventlog_text(&o->log_smtp));
		} else if (strcmp(ref_mime, sl_eventlog_text(&o->log_mime)) != 0) {
			snprintf(what, sizeof what, "%s mime log", modes[i].name);
			describe_diff(msg, sizeof msg, what, ref_mime, sl_eventlog_text(&o->log_mime));
		}
		run_free(o);
	}
	run_free(ref);
	return msg;
}
