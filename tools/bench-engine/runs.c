/* The measured runs: memcpy of the same bytes (the ceiling), MIME only, whole SMTP
 * sessions (parse + decode), the same with the policy matcher, and raw Hyperscan over
 * the bytes the matcher scanned. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runs.h"
#include "sluice/event.h"
#include "sluice/mime.h"
#include "sluice/policy.h"
#include "sluice/smtp.h"
#include "sluice/strbuf.h"

/* ---- memcpy ---------------------------------------------------------------------- */

#define RING (64 * 1024)

uint64_t run_memcpy(const struct bench_streams *s, size_t chunk)
{
	static uint8_t ring[RING + 65536];
	size_t at = 0;
	uint64_t n = 0;
	for (size_t i = 0; i < s->nwrites; i++) {
		const struct bench_write *w = &s->writes[i];
		for (size_t off = 0; off < w->len; off += chunk) {
			size_t k = w->len - off < chunk ? w->len - off : chunk;
			if (at + k > RING)
				at = 0;
			memcpy(ring + at, w->p + off, k);
			/* the copy must happen: make the compiler assume ring is read */
			__asm__ volatile("" : : "r"(ring) : "memory");
			at += k;
			n += k;
		}
	}
	return n;
}

/* ---- what the engine reports ------------------------------------------------------- */

struct run_ctx {
	struct tally *t;
	struct policy_run *pr;
	const char *cur_part;    /* part path of the event being fed (for the tap) */
	const char *open_part[BENCH_MAX_DB];
	char open_path[BENCH_MAX_DB][SL_PATH_MAX];
	bool open[BENCH_MAX_DB];
};

static const bool *utf8_header_ok;
static size_t utf8_header_n;

void bench_expect_utf8_headers(const bool *by_message, size_t n)
{
	utf8_header_ok = by_message;
	utf8_header_n = n;
}

/* Signals arrive before their message's MESSAGE_END: the message is number t->messages. */
static bool expected_signal(const struct tally *t, const struct sl_event *ev)
{
	return ev->name && strcmp(ev->name, "mime.8bit_header") == 0 &&
	       t->messages < utf8_header_n && utf8_header_ok[t->messages];
}

static void count_event(struct tally *t, const struct sl_event *ev)
{
	switch (ev->type) {
	case SL_EV_PART_DATA:
		t->decoded_bytes += ev->len;
		break;
	case SL_EV_PART_TEXT:
		t->text_bytes += ev->len;
		break;
	case SL_EV_MEMBER_BEGIN:
		t->members += ev->member && ev->member->kind != SL_MEMBER_CONTAINER;
		break;
	case SL_EV_MEMBER_DATA:
		t->member_bytes += ev->len;
		break;
	case SL_EV_PART_END:
		if (ev->part && ev->part->kind == SL_PART_LEAF)
			t->leaf_parts++;
		break;
	case SL_EV_MESSAGE_END:
		t->messages++;
		break;
	case SL_EV_TXN_RESULT:
		t->txn_results++;
		break;
	case SL_EV_SIGNAL:
		if (expected_signal(t, ev)) {
			t->utf8_headers++;
			break;
		}
		if (t->signals++ == 0) {
			size_t k = strlen(ev->name ? ev->name : "?");
			if (k >= sizeof t->first_signal)
				k = sizeof t->first_signal - 1;
			memcpy(t->first_signal, ev->name ? ev->name : "?", k);
			t->first_signal[k] = 0;
		}
		break;
	default:
		break;
	}
}

static void verdict_done(struct run_ctx *x)
{
	const struct sl_verdict *v = sl_msgscan_verdict(x->pr->msgscan);
	if (!v)
		return;
	if ((unsigned)v->action < 5)
		x->t->verdicts[v->action]++;
	/* the rules the corpus plants positives for (its index: dlp.cards, dlp.tw_ids) */
	for (size_t i = 0; i < v->nhits; i++)
		if (strcmp(v->hits[i].id, "dlp.credit-card") == 0 ||
		    strcmp(v->hits[i].id, "dlp.card-dump") == 0 ||
		    strcmp(v->hits[i].id, "dlp.tw-national-id") == 0) {
			x->t->dlp_messages++;
			break;
		}
	if (x->pr->verdicts) {
		struct sl_strbuf b;
		sl_strbuf_init(&b);
		sl_verdict_json(v, &b);
		fprintf(x->pr->verdicts, "{\"n\":%llu,%s\n", (unsigned long long)x->t->messages - 1,
		        b.s + 1);
		sl_strbuf_free(&b);
	}
	size_t sb = sl_msgscan_stream_bytes(x->pr->msgscan);
	if (sb > x->t->stream_bytes)
		x->t->stream_bytes = sb;
}

static void on_event(void *ctx, const struct sl_event *ev)
{
	struct run_ctx *x = ctx;
	count_event(x->t, ev);
	if (!x->pr)
		return;
	if (ev->type == SL_EV_MESSAGE_BEGIN) {
		sl_msgscan_reset(x->pr->msgscan, SL_DIR_UNKNOWN);
		memset(x->open, 0, sizeof x->open);
	}
	x->cur_part = ev->part ? ev->part->path : "";
	sl_msgscan_event(x->pr->msgscan, ev);
	if (ev->type == SL_EV_MESSAGE_END)
		verdict_done(x);
}

/* ---- collecting the matcher's scanned bytes (untimed pass) ------------------------ */

static int blocks_append(struct scan_blocks *b, unsigned d, bool new_block, const uint8_t *p,
                         size_t n)
{
	if (new_block) {
		if (b->db[d].nblocks == b->db[d].bcap) {
			size_t nc = b->db[d].bcap ? b->db[d].bcap * 2 : 1024;
			size_t *ns = realloc(b->db[d].starts, nc * sizeof *ns);
			if (!ns)
				return -1;
			b->db[d].starts = ns;
			b->db[d].bcap = nc;
		}
		b->db[d].starts[b->db[d].nblocks++] = b->db[d].len;
	}
	if (b->db[d].len + n > b->db[d].cap) {
		size_t nc = b->db[d].cap ? b->db[d].cap : 1 << 20;
		while (nc < b->db[d].len + n)
			nc *= 2;
		uint8_t *nb = realloc(b->db[d].buf, nc);
		if (!nb)
			return -1;
		b->db[d].buf = nb;
		b->db[d].cap = nc;
	}
	if (n) /* an empty header value comes as NULL */
		memcpy(b->db[d].buf + b->db[d].len, p, n);
	b->db[d].len += n;
	b->bytes += n;
	return 0;
}

static void on_tap(void *ctx, unsigned db, const uint8_t *p, size_t n)
{
	struct run_ctx *x = ctx;
	struct scan_blocks *b = x->pr->collect;
	if (db >= BENCH_MAX_DB || db >= b->ndb)
		abort();   /* the policy has more databases than the benchmark can hold */
	/* a new scope instance: another part, or the first bytes of this message */
	bool fresh = !x->open[db] || strcmp(x->open_path[db], x->cur_part) != 0;
	if (fresh) {
		x->open[db] = true;
		snprintf(x->open_path[db], SL_PATH_MAX, "%s", x->cur_part);
	}
	if (blocks_append(b, db, fresh, p, n))
		abort();
}

void scan_blocks_free(struct scan_blocks *b)
{
	for (unsigned d = 0; d < BENCH_MAX_DB; d++) {
		free(b->db[d].buf);
		free(b->db[d].starts);
	}
	memset(b, 0, sizeof *b);
}

/* ---- the runs ---------------------------------------------------------------------- */

/* The engine as sluice-dp runs it: no SHA-256 of every part (the policy hashes what its
 * lists need). */
static const struct sl_limits *dataplane_limits(void)
{
	static struct sl_limits lim;
	static bool set;
	if (!set) {
		sl_limits_default(&lim);
		lim.skip_part_sha256 = true;
		set = true;
	}
	return &lim;
}

uint64_t run_mime(const struct bench_messages *m, size_t chunk, struct tally *t)
{
	struct run_ctx x = {.t = t};
	struct sl_mime *mp = sl_mime_new(dataplane_limits(), on_event, &x);
	if (!mp)
		return 0;
	uint64_t n = 0;
	for (size_t i = 0; i < m->n; i++) {
		const uint8_t *p = m->buf + m->off[i];
		size_t len = m->len[i];
		sl_mime_reset(mp, (uint32_t)i);
		for (size_t off = 0; off < len; off += chunk)
			sl_mime_feed(mp, p + off, len - off < chunk ? len - off : chunk);
		sl_mime_finish(mp);
		t->messages++;
		n += len;
	}
	sl_mime_free(mp);
	return n;
}

uint64_t run_smtp(const struct bench_streams *s, size_t chunk, struct tally *t,
                  struct policy_run *pr)
{
	struct run_ctx x = {.t = t, .pr = pr};
	if (pr && pr->collect)
		sl_msgscan_set_tap(pr->msgscan, on_tap, &x);
	uint64_t n = 0;
	for (size_t i = 0; i < s->nsessions; i++) {
		struct sl_smtp *sm = sl_smtp_new(pr && pr->lim ? pr->lim : dataplane_limits(), on_event, &x);
		if (!sm)
			return 0;
		if (!t->session_new)
			t->session_new = sl_smtp_memory(sm);
		const struct bench_session *ss = &s->sessions[i];
		for (size_t j = ss->first; j < ss->first + ss->n; j++) {
			const struct bench_write *w = &s->writes[j];
			enum sl_stream dir = w->side == BENCH_CLIENT ? SL_CLIENT : SL_SERVER;
			for (size_t off = 0; off < w->len; off += chunk)
				sl_smtp_feed(sm, dir, w->p + off, w->len - off < chunk ? w->len - off : chunk);
			n += w->len;
		}
		sl_smtp_close(sm);
		size_t mem = sl_smtp_memory(sm); /* what the dataplane holds per flow */
		if (mem > t->session_max)
			t->session_max = mem;
		sl_smtp_free(sm);
	}
	if (pr && pr->collect)
		sl_msgscan_set_tap(pr->msgscan, NULL, NULL);
	return n;
}

int64_t run_blockscan(struct sl_blockscan *b, const struct scan_blocks *blocks, uint64_t *matches)
{
	int64_t n = 0;
	for (unsigned d = 0; d < blocks->ndb; d++) {
		for (size_t i = 0; i < blocks->db[d].nblocks; i++) {
			size_t start = blocks->db[d].starts[i];
			size_t end = i + 1 < blocks->db[d].nblocks ? blocks->db[d].starts[i + 1]
			                                          : blocks->db[d].len;
			long r = sl_blockscan_scan(b, d, blocks->db[d].buf + start, end - start);
			if (r < 0)
				return -1;
			*matches += (uint64_t)r;
			n += (int64_t)(end - start);
		}
	}
	return n;
}
