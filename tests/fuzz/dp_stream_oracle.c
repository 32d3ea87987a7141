#include "dp_stream_oracle.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TRACE_LINES 48

/* ---- reporting ------------------------------------------------------------------------ */

static char trace[TRACE_LINES][160];
static unsigned ntrace;
static bool trace_live;

void note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(trace[ntrace++ % TRACE_LINES], sizeof trace[0], fmt, ap);
	va_end(ap);
	if (trace_live)
		fprintf(stderr, "  %s\n", trace[(ntrace - 1) % TRACE_LINES]);
}

static void show_bytes(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, isprint(p[i]) && p[i] != '"' && p[i] != '\\' ? "%c" : "\\x%02x", p[i]);
}

/* Bytes for a report: the first and last 300 of a long run. */
static void show(const char *what, const uint8_t *p, size_t n)
{
	fprintf(stderr, "%s (%zu bytes): \"", what, n);
	if (n <= 600) {
		show_bytes(p, n);
	} else {
		show_bytes(p, 300);
		fprintf(stderr, "\" ... \"");
		show_bytes(p + n - 300, 300);
	}
	fprintf(stderr, "\"\n");
}

/* The oracle found the dataplane letting something through: report and abort (how a
 * libFuzzer target reports). */
void violation(const struct world *w, const char *fmt, ...)
{
	fprintf(stderr, "\n==== fuzz_dp_stream: ORACLE VIOLATION ====\n");
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nconfig: starttls=%s max_ooo=%u max_flow_memory=%llu worker_memory=%zu "
	        "closed_timeout=%llums verify_checksums=%d queue=%d auto_send=%d auto_ack=%d quirks=%d\n",
	        dp_starttls_name(w->cfg.starttls), w->cfg.max_ooo_segments,
	        (unsigned long long)w->cfg.max_flow_memory, w->o.worker_memory,
	        (unsigned long long)w->cfg.closed_timeout_ms, w->cfg.verify_checksums, w->o.queue,
	        w->o.server_auto_send, w->o.server_auto_ack, w->o.server_quirks);
	fprintf(stderr, "counters: flows_created=%llu closed=%llu expired=%llu rst_ignored=%llu "
	        "urg_cleared=%llu messages=%llu reject=%llu uninspected_starttls=%llu\n",
	        (unsigned long long)w->ctr.flows_created, (unsigned long long)w->ctr.flows_closed,
	        (unsigned long long)w->ctr.flows_expired, (unsigned long long)w->ctr.rst_ignored,
	        (unsigned long long)w->ctr.urg_cleared, (unsigned long long)w->ctr.messages,
	        (unsigned long long)w->ctr.verdicts[SL_ACT_REJECT],
	        (unsigned long long)w->ctr.uninspected[DP_UNINSPECTED_STARTTLS]);
	fprintf(stderr, "last events (oldest first):\n");
	unsigned first = ntrace > TRACE_LINES ? ntrace - TRACE_LINES : 0;
	for (unsigned i = first; i < ntrace; i++)
		fprintf(stderr, "  %s\n", trace[i % TRACE_LINES]);
	abort();
}

void harness_bug(const char *what)
{
	fprintf(stderr, "fuzz_dp_stream harness: %s\n", what);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		harness_bug("out of memory");
	return p;
}

/* ---- epochs: one per flow of the connection, with what its engine was fed ----------- */

unsigned current_epoch(const struct world *w)
{
	return (unsigned)w->ctr.flows_created;
}

static struct epoch *epoch_get(struct world *w, unsigned id)
{
	if (id >= w->nep) {
		unsigned n = w->nep ? w->nep : 8;
		while (n <= id)
			n *= 2;
		w->ep = realloc(w->ep, n * sizeof *w->ep);
		if (!w->ep)
			harness_bug("out of memory");
		memset(w->ep + w->nep, 0, (n - w->nep) * sizeof *w->ep);
		for (unsigned i = w->nep; i < n; i++) {
			sl_strbuf_init(&w->ep[i].fed[0]);
			sl_strbuf_init(&w->ep[i].fed[1]);
		}
		w->nep = n;
	}
	return &w->ep[id];
}

/* ctx.feed_tap: every stream byte the engine is given. */
static void feed_tap(void *arg, const void *sfv, int dir, const uint8_t *p, size_t n)
{
	struct world *w = arg;
	const struct dp_smtpflow *sf = sfv;
	struct epoch *e = epoch_get(w, current_epoch(w));
	if (e->sf && e->sf != sf)
		violation(w, "two engine sessions fed in one flow (epoch %u)", current_epoch(w));
	e->sf = sf;
	uint64_t off = sf->fed[dir] - n;
	uint32_t isn = sf->dirs[dir].isn;
	if (e->have_isn[dir] && e->isn[dir] != isn)
		violation(w, "the engine's %s stream changed its ISN mid-session (%u, then %u)",
		          dir == SL_CLIENT ? "client" : "server", e->isn[dir], isn);
	e->have_isn[dir] = true;
	e->isn[dir] = isn;
	if (off != e->fed[dir].len)
		violation(w, "the engine was fed %s bytes at offset %llu after %zu bytes: a gap inline",
		          dir == SL_CLIENT ? "client" : "server", (unsigned long long)off, e->fed[dir].len);
	sl_strbuf_put(&e->fed[dir], p, n);
	note("engine fed %s [%llu,+%zu) epoch %u", dir == SL_CLIENT ? "client" : "server",
	     (unsigned long long)off, n, current_epoch(w));
}

/* ---- the engine's messages (a dump sink) and their verdicts (counters) --------------- */

static void *dump_begin(void *sink)
{
	struct world *w = sink;
	if (w->nmsg == W_MAX_MESSAGES)
		return NULL;
	struct engine_message *m = &w->msg[w->nmsg++];
	memset(m, 0, sizeof *m);
	m->epoch = current_epoch(w);
	sl_strbuf_init(&m->raw);
	return m;
}

static void dump_write(void *sink, void *h, const uint8_t *p, size_t n)
{
	(void)sink;
	sl_strbuf_put(&((struct engine_message *)h)->raw, p, n);
}

static int dump_commit(void *sink, void *h, const struct dp_msg_meta *meta)
{
	(void)sink;
	(void)h;
	(void)meta;
	return 1;
}

static void dump_free(void *sink)
{
	(void)sink;
}

static const struct dp_sink_ops dump_ops = {
	.begin = dump_begin,
	.write = dump_write,
	.commit = dump_commit,
	.free = dump_free,
};

/* Messages end in the order they began; counters say with which verdicts. Passes come
 * first: a reject, tempfail or quarantine ends the session for the engine. */
void attribute_messages(struct world *w)
{
	static const int order[] = {SL_ACT_PASS, SL_ACT_ALERT, SL_ACT_QUARANTINE, SL_ACT_TEMPFAIL, SL_ACT_REJECT};
	uint64_t ended = w->ctr.messages - w->seen.messages;
	for (unsigned k = 0; k < 5 && ended; k++) {
		int a = order[k];
		uint64_t d = w->ctr.verdicts[a] - w->seen.verdicts[a];
		for (; d && ended; d--, ended--) {
			if (w->nended < w->nmsg) {
				w->msg[w->nended].ended = true;
				w->msg[w->nended].action = a;
				note("engine message %u ended: %s", w->nended, sl_action_name(a));
			}
			w->nended++;
		}
	}
	w->seen.messages = w->ctr.messages;
	memcpy(w->seen.verdicts, w->ctr.verdicts, sizeof w->seen.verdicts);
}

void record_injected(struct world *w, unsigned epoch, uint32_t seq, const uint8_t *p, size_t n)
{
	struct epoch *ep = epoch_get(w, epoch);
	if (ep->ninj == ep->inj_cap) {
		ep->inj_cap = ep->inj_cap ? ep->inj_cap * 2 : 8;
		ep->inj = realloc(ep->inj, ep->inj_cap * sizeof *ep->inj);
		if (!ep->inj)
			harness_bug("out of memory");
	}
	ep->inj[ep->ninj].seq = seq;
	ep->inj[ep->ninj].len = (uint16_t)n;
	ep->inj[ep->ninj].data = xmalloc(n);
	memcpy(ep->inj[ep->ninj].data, p, n);
	ep->ninj++;
}

/* What the oracle keeps, freed. */
void oracle_free(struct world *w)
{
	for (unsigned i = 0; i < w->nep; i++) {
		sl_strbuf_free(&w->ep[i].fed[0]);
		sl_strbuf_free(&w->ep[i].fed[1]);
		for (unsigned j = 0; j < w->ep[i].ninj; j++)
			free(w->ep[i].inj[j].data);
		free(w->ep[i].inj);
	}
	free(w->ep);
	for (unsigned i = 0; i < w->nmsg; i++)
		sl_strbuf_free(&w->msg[i].raw);
}

/* The engine's side of the oracle: the feed tap and the message sink. */
void oracle_init(struct world *w)
{
	ntrace = 0;
	trace_live = getenv("SLUICE_DP_STREAM_TRACE") != NULL;
	w->in.ctx.feed_tap = feed_tap;
	w->in.ctx.feed_tap_ctx = w;
	w->dump = (struct dp_sink){&dump_ops, w};
	w->in.ctx.dump = &w->dump;
}
/* ---- the oracle ---------------------------------------------------------------------- */

static bool injected_byte(const struct epoch *ep, uint32_t seq, uint8_t *b)
{
	for (unsigned i = ep->ninj; i-- > 0;) {
		uint32_t d = seq - ep->inj[i].seq;
		if (d < ep->inj[i].len) {
			*b = ep->inj[i].data[d];
			return true;
		}
	}
	return false;
}

/* The documented rewrites: a NUL of a client command line goes on as '?' (docs/dataplane.md),
 * and the STARTTLS ones: the byte at stream offset off belongs to one. */
static bool rewritten(const struct world *w, const struct epoch *ep, int dir, uint64_t off, uint8_t b)
{
	const char *with;
	if (dir == SL_CLIENT && b == '?' && off < ep->fed[dir].len && ep->fed[dir].s[off] == 0)
		return true;
	if (dir == SL_CLIENT && w->cfg.starttls != DP_STARTTLS_ALLOW)
		with = "XXXXXXXX";
	else if (dir == SL_SERVER && w->cfg.starttls == DP_STARTTLS_STRIP)
		with = "XXXXXXXA";
	else
		return false;
	const struct sl_strbuf *fed = &ep->fed[dir];
	for (uint64_t k = 0; k < 8 && k <= off; k++) {
		uint64_t at = off - k;
		if (at + 8 <= fed->len && strncasecmp(fed->s + at, "STARTTLS", 8) == 0 && with[k] == b)
			return true;
	}
	return false;
}

/* Bytes an endpoint's application read: each must be one the engine was fed (or the
 * dataplane injected) at that sequence number, in the connection's one session. */
void check_read(struct world *w, struct endpoint *e, int dir, uint32_t seq,
                       const uint8_t *p, size_t n)
{
	const char *who = dir == SL_CLIENT ? "server" : "client";
	if (!e->bound) {
		e->bound = true;
		e->epoch = w->cur_epoch;
	}
	struct epoch *ep = epoch_get(w, e->epoch);
	uint32_t base = e->tcp.irs + 1;
	if (ep->have_isn[dir] && ep->isn[dir] != base)
		violation(w, "the %s's connection (stream from seq %u) reads bytes through flow %u, whose "
		          "engine session follows another stream (from seq %u)", who, base, e->epoch,
		          ep->isn[dir]);
	uint64_t first = (uint32_t)(seq - base);
	if (ep->have_isn[dir] && first + n <= ep->fed[dir].len &&
	    memcmp(ep->fed[dir].s + first, p, n) == 0)
		return; /* all of them as fed (the common case) */
	/* documented: STARTTLS allowed, TLS seen, the rest of the connection is bridged */
	bool bypass = w->app_tls && w->cfg.starttls == DP_STARTTLS_ALLOW &&
	              w->ctr.uninspected[DP_UNINSPECTED_STARTTLS];
	uint32_t tls_seq = dir == SL_CLIENT ? w->app_tls_seq : w->server_tls_seq;
	for (size_t i = 0; i < n; i++) {
		uint32_t x = seq + (uint32_t)i;
		uint64_t off = x - base;
		uint8_t b;
		if (ep->have_isn[dir] && off < ep->fed[dir].len && (uint8_t)ep->fed[dir].s[off] == p[i])
			continue;
		if (dir == SL_SERVER && injected_byte(ep, x, &b) && b == p[i])
			continue;
		if (rewritten(w, ep, dir, off, p[i]))
			continue;
		if (bypass && !trm_seq_before(x, tls_seq))
			continue;
		if (ep->have_isn[dir] && off < ep->fed[dir].len)
			violation(w, "the %s read 0x%02x at seq %u (stream offset %llu) where the engine of flow "
			          "%u was fed 0x%02x", who, p[i], x, (unsigned long long)off, e->epoch,
			          (uint8_t)ep->fed[dir].s[off]);
		violation(w, "the %s read 0x%02x at seq %u (stream offset %llu) that the engine of flow %u "
		          "was never fed (it has %zu bytes of that stream)", who, p[i], x,
		          (unsigned long long)off, e->epoch, ep->fed[dir].len);
	}
}

/* Dots at line starts removed (Postfix unstuffs after any LF, the engine after CRLF). */
static void normalized(const uint8_t *p, size_t n, struct sl_strbuf *out)
{
	sl_strbuf_clear(out);
	bool line_start = true;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '.' && line_start)
			continue;
		line_start = p[i] == '\n';
		sl_strbuf_putc(out, (char)p[i]);
	}
}

static bool same_bytes(const struct sl_strbuf *a, const struct sl_strbuf *b)
{
	return a->len == b->len && (!a->len || memcmp(a->s, b->s, a->len) == 0);
}

/* The server's application has a message whole. */
void app_commit(void *arg, const uint8_t *msg, size_t n)
{
	struct world *w = arg;
	struct endpoint *s = &w->s;
	note("server application completed a message of %zu bytes", n);
	if (n && memmem(msg, n, W_MARKER, strlen(W_MARKER))) {
		show("the message", msg, n);
		violation(w, "the server's application completed a message holding the marker");
	}
	if (w->nmsg == W_MAX_MESSAGES)
		return; /* no more engine messages kept: nothing to compare with */
	struct sl_strbuf a, b;
	sl_strbuf_init(&a);
	sl_strbuf_init(&b);
	normalized(msg, n, &a);
	for (unsigned i = s->next_message; i < w->nmsg; i++) {
		const struct engine_message *m = &w->msg[i];
		if (m->epoch != s->epoch)
			continue;
		normalized((const uint8_t *)m->raw.s, m->raw.len, &b);
		if (!same_bytes(&a, &b))
			continue;
		if (!m->ended)
			violation(w, "the server's application completed message %u before the engine judged it", i);
		if (m->action != SL_ACT_PASS && m->action != SL_ACT_ALERT)
			violation(w, "the server's application completed message %u, which the engine judged %s",
			          i, sl_action_name(m->action));
		s->next_message = i + 1;
		sl_strbuf_free(&a);
		sl_strbuf_free(&b);
		return;
	}
	show("the server completed", msg, n);
	for (unsigned i = s->next_message; i < w->nmsg; i++)
		if (w->msg[i].epoch == s->epoch)
			show(w->msg[i].ended ? "an engine message" : "an engine message (not ended)",
			     (const uint8_t *)w->msg[i].raw.s, w->msg[i].raw.len);
	violation(w, "the server's application completed a message the engine (flow %u) never scanned "
	          "as one", s->epoch);
}

void summary(const struct world *w)
{
	const struct dp_counters *c = &w->ctr;
	fprintf(stderr, "summary: flows=%llu engine messages=%llu (pass %llu, quarantine %llu, tempfail %llu, "
	        "reject %llu) enforced=%llu server app committed=%u read=%llu client read=%llu "
	        "server resets=%u rst_ignored=%llu urg_cleared=%llu overlap=%llu desync=%llu "
	        "uninspected starttls=%llu memory=%llu drops: conflict=%llu+%llu syn=%llu wrong_port=%llu "
	        "midstream=%llu fail_closed=%llu enforced=%llu\n",
	        (unsigned long long)c->flows_created, (unsigned long long)c->messages,
	        (unsigned long long)c->verdicts[SL_ACT_PASS], (unsigned long long)c->verdicts[SL_ACT_QUARANTINE],
	        (unsigned long long)c->verdicts[SL_ACT_TEMPFAIL], (unsigned long long)c->verdicts[SL_ACT_REJECT],
	        (unsigned long long)(c->enforced_reject + c->enforced_quarantine), w->app.committed,
	        (unsigned long long)w->s.tcp.delivered, (unsigned long long)w->c.tcp.delivered,
	        w->s.tcp.resets, (unsigned long long)c->rst_ignored, (unsigned long long)c->urg_cleared,
	        (unsigned long long)c->signals_overlap, (unsigned long long)c->flows_reset_desync,
	        (unsigned long long)c->uninspected[DP_UNINSPECTED_STARTTLS],
	        (unsigned long long)c->uninspected[DP_UNINSPECTED_MEMORY],
	        (unsigned long long)c->drops[DP_DROP_RETRANSMIT_CONFLICT],
	        (unsigned long long)c->drops[DP_DROP_OOO_CONFLICT], (unsigned long long)c->drops[DP_DROP_SYN_MISMATCH],
	        (unsigned long long)c->drops[DP_DROP_WRONG_PORT], (unsigned long long)c->drops[DP_DROP_MIDSTREAM_RESET],
	        (unsigned long long)c->drops[DP_DROP_FAIL_CLOSED], (unsigned long long)c->drops[DP_DROP_ENFORCED]);
}

