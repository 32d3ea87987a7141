#include "smtp/smtpflow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sluice/signals.h"

#include "smtp/event.h"

#define DETECT_MAX (16 * 1024) /* stream bytes after which detection gives up */
#define NO_LINE UINT64_MAX

static void on_event(void *ctx, const struct sl_event *ev);

/* ---- message scanners, reused across flows ------------------------------------- */

static void scan_free(struct dp_ctx *ctx, struct sl_msgscan *m, struct dp_ruleset *rs)
{
	sl_msgscan_free(m);
	dp_rules_unuse(&ctx->rules, rs); /* a retired bundle goes with its last scanner */
}

/* A scanner for the current bundle, reset, from the pool or new; NULL without memory. */
static struct sl_msgscan *scan_take(struct dp_ctx *ctx)
{
	struct dp_scan_pool *pl = &ctx->scans;
	struct dp_ruleset *cur = ctx->rules.cur;
	while (pl->n) {
		pl->n--;
		struct sl_msgscan *m = pl->scan[pl->n];
		if (pl->rules[pl->n] == cur) {
			sl_msgscan_reset(m, SL_DIR_UNKNOWN);
			return m;
		}
		scan_free(ctx, m, pl->rules[pl->n]); /* made for an older bundle */
	}
	struct sl_msgscan *m = sl_msgscan_new(cur->scanner, cur->policy, SL_DIR_UNKNOWN);
	if (m)
		dp_rules_use(cur);
	return m;
}

/* A flow is done with its scanner (made for the bundle rs). */
static void scan_give(struct dp_ctx *ctx, struct sl_msgscan *m, struct dp_ruleset *rs)
{
	struct dp_scan_pool *pl = &ctx->scans;
	if (!m)
		return;
	if (rs != ctx->rules.cur || pl->n == DP_SCAN_POOL) {
		scan_free(ctx, m, rs);
		return;
	}
	pl->scan[pl->n] = m;
	pl->rules[pl->n++] = rs;
}

/* The flow is done with its scanner: back to the pool, its charges released. */
static void scan_release(struct dp_smtpflow *sf)
{
	if (!sf->scan)
		return;
	sl_msgscan_set_acct(sf->scan, NULL);
	dp_mem_release(&sf->mem, sf->scan_charged);
	sf->scan_charged = 0;
	scan_give(sf->ctx, sf->scan, sf->scan_rules);
	sf->scan = NULL;
	sf->scan_rules = NULL;
}

/* A scanner for the message that begins, for the current bundle (a message keeps the
 * bundle it started with: the msgscan holds a reference). Its streams (and the classifier's token set) are charged to
 * the flow's engine account; without room the message has no scanner and the overload
 * policy decides its verdict. */
static void scan_acquire(struct dp_smtpflow *sf)
{
	struct dp_ctx *ctx = sf->ctx;
	if (sf->scan && sf->scan_rules == ctx->rules.cur) {
		sl_msgscan_reset(sf->scan, SL_DIR_UNKNOWN);
		return;
	}
	scan_release(sf);
	struct sl_msgscan *m = scan_take(ctx);
	if (!m)
		return;
	size_t n = sl_msgscan_flow_bytes(m);
	if (!dp_mem_charge(&sf->mem, n)) {
		scan_give(ctx, m, ctx->rules.cur);
		return;
	}
	sf->scan = m;
	sf->scan_rules = ctx->rules.cur;
	sf->scan_charged = n;
	sl_msgscan_set_tap(m, ctx->scan_tap, ctx->scan_tap_ctx);
	sl_msgscan_set_acct(m, &sf->acct);
}

void dp_smtpflow_pool_free(struct dp_ctx *ctx)
{
	while (ctx->scans.n) {
		ctx->scans.n--;
		scan_free(ctx, ctx->scans.scan[ctx->scans.n], ctx->scans.rules[ctx->scans.n]);
	}
	dp_verdict_pool_free(&ctx->verdicts);
	while (ctx->smtps.n)
		sl_smtp_free(ctx->smtps.smtp[--ctx->smtps.n]);
}

/* ---- engine sessions, reused across flows -------------------------------------- */

/* A session for the flow, charged to its account: from the pool (reset when it was
 * given back) or new; NULL without memory. */
static struct sl_smtp *smtp_take(struct dp_smtpflow *sf, const struct sl_limits *lim)
{
	struct dp_smtp_pool *pl = &sf->ctx->smtps;
	if (!pl->n)
		return sl_smtp_new_acct(lim, on_event, sf, &sf->acct);
	struct sl_smtp *s = pl->smtp[--pl->n];
	sl_smtp_set_events(s, on_event, sf);
	if (sl_smtp_set_acct(s, &sf->acct))
		return s;
	sl_smtp_free(s);
	return NULL;
}

/* The flow is done with its session (closed): reset now, so that the pool holds only
 * what a new session holds and the few buffers a reset keeps, charged to nobody. */
static void smtp_give(struct dp_ctx *ctx, struct sl_smtp *s)
{
	struct dp_smtp_pool *pl = &ctx->smtps;
	if (pl->n == DP_SMTP_POOL || !sl_smtp_reset(s, NULL, NULL)) {
		sl_smtp_free(s);
		return;
	}
	sl_smtp_set_acct(s, NULL);
	pl->smtp[pl->n++] = s;
}

static bool acct_charge(void *m, size_t n)
{
	return dp_mem_charge(m, n);
}

static void acct_release(void *m, size_t n)
{
	dp_mem_release(m, n);
}

static void start_engine(struct dp_smtpflow *sf, uint64_t client_base, uint64_t server_base)
{
	/* inline, the session never assumes a reply: what it read is what goes on */
	struct sl_limits lim = sf->ctx->limits;
	lim.inline_mode = !sf->ctx->passive;
	/* extraction stops on its own budget (extract.memory: the message is rejected) well
	 * before it could take the flow to its cap (engine.memory: the session fails) */
	if (lim.extract_max_memory > sf->ctx->cfg->max_flow_memory / 2)
		lim.extract_max_memory = sf->ctx->cfg->max_flow_memory / 2;
	/* every byte the session allocates is charged as it goes, to the flow's engine
	 * account and through it to the worker's share of max_memory */
	sf->smtp = smtp_take(sf, &lim);
	if (!sf->smtp) {
		sf->overload = true;
		sf->state = DP_SF_NOT_SMTP;
		return;
	}
	sl_smtp_set_endpoints(sf->smtp, (const struct sockaddr *)&sf->client_addr,
	                      (const struct sockaddr *)&sf->server_addr);
	sf->base[SL_CLIENT] = sf->fed[SL_CLIENT] = client_base;
	sf->base[SL_SERVER] = sf->fed[SL_SERVER] = server_base;
	sf->expected = 1; /* the greeting */
	sf->state = DP_SF_SMTP;
}

void dp_smtpflow_init(struct dp_smtpflow *sf, struct dp_ctx *ctx, struct dp_tcpdir dirs[2],
                      const struct sockaddr_storage *client, const struct sockaddr_storage *server,
                      bool detect)
{
	memset(sf, 0, sizeof *sf);
	sf->ctx = ctx;
	sf->dirs = dirs;
	sf->client_addr = *client;
	sf->server_addr = *server;
	sf->smtp_port = !detect;
	/* a knob the control process may change live: new flows take the new value */
	sf->starttls = (uint8_t)__atomic_load_n(&ctx->cfg->starttls, __ATOMIC_RELAXED);
	sf->mem.limit = ctx->cfg->max_flow_memory;
	sf->mem.parent = &ctx->mem;
	sf->acct = (struct sl_memacct){acct_charge, acct_release, &sf->mem};
	/* client_txt/server_txt: written when a sink first needs them */
	if (ctx->tcp_only) {
		sf->state = DP_SF_NOT_SMTP; /* benchmark: measure the TCP side alone */
	} else if (detect) {
		sf->state = DP_SF_DETECT;
		/* line_end doubles as "start of the line not checked yet" while detecting */
		sf->line_end[SL_CLIENT] = sf->line_end[SL_SERVER] = 0;
	} else {
		start_engine(sf, 0, 0);
	}
}

static void pending_clear(struct dp_ctx *ctx, struct dp_sf_pending *p)
{
	dp_verdict_copy_give(&ctx->verdicts, p->verdict);
	memset(p, 0, sizeof *p);
}

/* The flow's addresses as text, made when a sink or the event log first needs them. */
static void addr_texts(struct dp_smtpflow *sf)
{
	if (!sf->client_txt[0]) {
		dp_addr_text(&sf->client_addr, sf->client_txt, sizeof sf->client_txt);
		dp_addr_text(&sf->server_addr, sf->server_txt, sizeof sf->server_txt);
	}
}

const char *dp_smtpflow_client_text(struct dp_smtpflow *sf)
{
	addr_texts(sf);
	return sf->client_txt;
}

const char *dp_smtpflow_server_text(struct dp_smtpflow *sf)
{
	addr_texts(sf);
	return sf->server_txt;
}

static void sink_commit(struct dp_smtpflow *sf, struct dp_sink *sink, void *h,
                        const struct sl_envelope *env, struct dp_sf_pending *p,
                        enum dp_msg_outcome outcome, int code, const char *text)
{
	if (!sink || !h)
		return;
	addr_texts(sf);
	struct dp_msg_meta m = {
		.env = env,
		.client = sf->client_txt,
		.server = sf->server_txt,
		.action = p->action,
		.direction = p->direction,
		.verdict_json = dp_verdict_copy_json(p->verdict),
		.rules = p->verdict ? p->verdict->rules : NULL,
		.nrules = p->verdict ? p->verdict->nrules : 0,
		.outcome = outcome,
		.server_code = code,
		.server_text = text,
		.bytes = p->bytes,
		.bundle_id = p->bundle_id,
		.bundle_digest = p->bundle_digest,
	};
	int rc = sink->ops->commit(sink->impl, h, &m);
	if (sink == sf->ctx->journal && rc != DP_SINK_QUEUED) {
		if (rc > 0)
			sf->ctx->ctr->journal_ok++;
		else if (rc == 0)
			sf->ctx->ctr->journal_skipped++;
		else
			sf->ctx->ctr->journal_failed++;
	}
}

/* The engine session and scanner go (back to the pool), and their memory with them. */
static void release_engine(struct dp_smtpflow *sf)
{
	if (sf->smtp)
		smtp_give(sf->ctx, sf->smtp); /* gives back all it charged */
	sf->smtp = NULL;
	scan_release(sf);
}

void dp_smtpflow_free(struct dp_smtpflow *sf)
{
	release_engine(sf);
	for (int i = 0; i < DP_SF_PENDING; i++)
		if (sf->pending[i].used)
			pending_clear(sf->ctx, &sf->pending[i]);
	/* no sink handle is left here: dp_flow_free calls dp_smtpflow_close first, which
	 * ends unfinished messages and commits every pending one as unanswered */
	memset(sf, 0, sizeof *sf);
}

size_t dp_smtpflow_memory(const struct dp_smtpflow *sf)
{
	return sf->mem.used; /* the session, its parser, the scanner: all charged */
}

/* ---- events -------------------------------------------------------------------- */

static struct dp_sf_pending *pending_for(struct dp_smtpflow *sf, uint32_t txn)
{
	for (int i = 0; i < DP_SF_PENDING; i++)
		if (sf->pending[i].used && sf->pending[i].txn == txn)
			return &sf->pending[i];
	return NULL;
}

static struct dp_sf_pending *pending_new(struct dp_smtpflow *sf, uint32_t txn)
{
	for (int i = 0; i < DP_SF_PENDING; i++)
		if (!sf->pending[i].used) {
			struct dp_sf_pending *p = &sf->pending[i];
			memset(p, 0, sizeof *p);
			p->used = true;
			p->txn = txn;
			return p;
		}
	return NULL;
}

static void message_begin(struct dp_smtpflow *sf, const struct sl_event *ev)
{
	struct dp_ctx *ctx = sf->ctx;
	sf->in_message = true;
	sf->msg_txn = ev->txn;
	sf->msg_bytes = 0;
	if (ctx->rules.cur && ctx->cfg->mode == DP_MODE_ENFORCE)
		scan_acquire(sf);
	sf->msg_journal = ctx->journal ? ctx->journal->ops->begin(ctx->journal->impl) : NULL;
	sf->msg_dump = ctx->dump ? ctx->dump->ops->begin(ctx->dump->impl) : NULL;
}

static void raise_overlap(struct dp_smtpflow *sf)
{
	if (!sf->scan || !sf->in_message)
		return;
	struct sl_event ev = {
		.type = SL_EV_SIGNAL,
		.txn = sf->msg_txn,
		.offset = sf->msg_bytes,
		.name = "tcp.overlap",
		.value = "overlapping TCP bytes differed; the first ones were kept",
	};
	sl_msgscan_event(sf->scan, &ev);
	sf->overlap_pending = false;
	sf->ctx->ctr->signals_overlap++;
}

static void fill_enforce(struct dp_smtpflow *sf, const struct sl_event *ev, const struct sl_verdict *v)
{
	struct dp_enforce *e = &sf->enf;
	memset(e, 0, sizeof *e);
	e->action = v->action;
	e->end_off = sf->base[SL_CLIENT] + ev->offset;
	/* every reply the client is owed before ours: all but the one to the message's last
	 * element (end of DATA, counted just before; BDAT LAST, counted with its command) */
	e->replies_needed = sf->expected - 1;
	const char *r = v->reply;
	if (!r || strlen(r) < 4)
		r = v->action == SL_ACT_TEMPFAIL ? "451 4.7.1 Message deferred by policy" :
		    v->action == SL_ACT_QUARANTINE ? "250 2.0.0 Ok: queued" :
		    "554 5.7.1 Message rejected by policy";
	/* one reply line per policy line, CRLF-terminated */
	size_t n = 0;
	for (const char *s = r; *s && n + 3 < sizeof e->reply;) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);
		if (len && s[len - 1] == '\r')
			len--;
		if (len > sizeof e->reply - n - 3)
			len = sizeof e->reply - n - 3;
		memcpy(e->reply + n, s, len);
		n += len;
		e->reply[n++] = '\r';
		e->reply[n++] = '\n';
		s = nl ? nl + 1 : s + strlen(s);
	}
	e->reply_len = n;
	sf->enforce_due = true;
	sf->state = DP_SF_ENFORCE;
}

/* One event line per verdict for the event log (built into the worker's buffer; the
 * hook hands it to the writer thread). */
static void emit_event(struct dp_smtpflow *sf, const struct sl_envelope *env,
                       const struct sl_verdict *v, const struct dp_sf_pending *p)
{
	struct dp_ctx *ctx = sf->ctx;
	addr_texts(sf);
	sl_strbuf_clear(&ctx->event_buf);
	struct dp_event e = {
		.client = sf->client_txt,
		.server = sf->server_txt,
		.env = env,
		.verdict = v,
		.bundle_id = p->bundle_id,
		.bundle_digest = p->bundle_digest,
		.scanned = sf->scan != NULL,
	};
	dp_event_json(&ctx->event_buf, ctx->cfg->control_name, &e);
	if (!sl_strbuf_failed(&ctx->event_buf))
		ctx->event(ctx->event_arg, ctx->event_buf.s, ctx->event_buf.len);
	else
		ctx->ctr->events_dropped++;
}

/* What a message gets when [journal] required is set and no durable copy of it can be
 * promised: the client retries later; nothing says why to the outside. */
static const struct sl_verdict no_copy = {
	.action = SL_ACT_TEMPFAIL,
	.spam_probability = -1, /* no classifier ran */
	.reply = "451 4.3.0 Temporary failure, try again later",
};

/* [journal] required: a message the journal would keep (it goes on to the server, or is
 * quarantined) goes on only when the sink promises room for a durable copy of it. */
static bool copy_promised(struct dp_smtpflow *sf, const struct sl_verdict *v)
{
	struct dp_ctx *ctx = sf->ctx;
	if (!ctx->cfg->journal_required || ctx->passive || !ctx->journal || !ctx->journal->ops->reserve)
		return true;
	if (ctx->cfg->mode == DP_MODE_ENFORCE &&
	    (v->action == SL_ACT_REJECT || v->action == SL_ACT_TEMPFAIL))
		return true; /* held back anyway: never journaled */
	return sf->msg_journal &&
	       ctx->journal->ops->reserve(ctx->journal->impl, sf->msg_journal, sf->msg_bytes);
}

static void message_end(struct dp_smtpflow *sf, const struct sl_event *ev)
{
	struct dp_ctx *ctx = sf->ctx;
	struct dp_counters *c = ctx->ctr;
	if (sf->overlap_pending)
		raise_overlap(sf);
	const struct sl_verdict *v = dp_pass_verdict();
	if (sf->scan) {
		sl_msgscan_event(sf->scan, ev);
		v = sl_msgscan_verdict(sf->scan);
	} else if (ctx->rules.cur && ctx->cfg->mode == DP_MODE_ENFORCE) {
		/* no memory for this message's scan: the overload policy decides */
		static const struct sl_verdict overload = {
			.action = SL_ACT_TEMPFAIL,
			.spam_probability = -1, /* no classifier ran */
			.reply = "451 4.3.0 Gateway overloaded, try again later",
		};
		if (dp_config_fail_closed(ctx->cfg, sf->smtp_port))
			v = &overload;
		else
			c->uninspected[DP_UNINSPECTED_MEMORY]++;
	}
	c->messages++;
	if ((unsigned)v->action < DP_NACTIONS)
		c->verdicts[v->action]++;
	if (sf->scan) /* judged by the bundle the message began with: its rule numbers */
		for (size_t i = 0; i < v->nhits; i++)
			dp_ruleset_hit(sf->scan_rules, v->hits[i].rule);
	if (!copy_promised(sf, v)) {
		v = &no_copy;
		c->journal_required_deferred++;
	}
	sf->in_message = false;
	if (!ev->envelope || !ev->envelope->bdat)
		sf->expected++; /* the reply to the end of DATA */

	struct dp_sf_pending *p = pending_new(sf, ev->txn);
	struct dp_sf_pending local;
	if (!p) { /* more unanswered messages than slots: settle this one now */
		memset(&local, 0, sizeof local);
		p = &local;
	}
	p->action = v->action;
	p->direction = v->direction;
	p->bytes = sf->msg_bytes;
	if (sf->scan_rules) {
		p->bundle_id = sf->scan_rules->id;
		memcpy(p->bundle_digest, sf->scan_rules->digest, 16);
	}
	if (ctx->event)
		emit_event(sf, ev->envelope, v, p);
	p->journal = sf->msg_journal;
	p->dump = sf->msg_dump;
	sf->msg_journal = sf->msg_dump = NULL;
	/* the verdict's JSON and rule ids are for the sinks only: not built per message
	 * when no sink takes this one */
	if (p->journal || p->dump)
		p->verdict = dp_verdict_copy_take(&ctx->verdicts, v);

	bool enforce = !ctx->passive && (ctx->cfg->mode == DP_MODE_ENFORCE || v == &no_copy) &&
	               (v->action == SL_ACT_REJECT || v->action == SL_ACT_TEMPFAIL ||
	                v->action == SL_ACT_QUARANTINE);
	if (enforce) {
		fill_enforce(sf, ev, v);
		bool q = v->action == SL_ACT_QUARANTINE;
		sink_commit(sf, ctx->journal, p->journal, ev->envelope, p,
		            q ? DP_MSG_QUARANTINED : DP_MSG_REJECTED, 0, NULL);
		sink_commit(sf, ctx->dump, p->dump, ev->envelope, p,
		            q ? DP_MSG_QUARANTINED : DP_MSG_REJECTED, 0, NULL);
		pending_clear(ctx, p);
		return;
	}
	if (p == &local) {
		sink_commit(sf, ctx->journal, p->journal, ev->envelope, p, DP_MSG_UNANSWERED, 0, NULL);
		sink_commit(sf, ctx->dump, p->dump, ev->envelope, p, DP_MSG_UNANSWERED, 0, NULL);
		pending_clear(ctx, p);
	}
}

static const char *reply_text(struct dp_smtpflow *sf, uint64_t off)
{
	for (unsigned i = 0; i < sizeof sf->replies / sizeof sf->replies[0]; i++)
		if (sf->replies[i].code && sf->replies[i].off == off)
			return sf->replies[i].text;
	return NULL;
}

static void txn_result(struct dp_smtpflow *sf, const struct sl_event *ev)
{
	struct dp_sf_pending *p = pending_for(sf, ev->txn);
	if (!p)
		return;
	enum dp_msg_outcome o = ev->code == 0 ? DP_MSG_UNANSWERED :
	                        ev->code >= 200 && ev->code < 300 ? DP_MSG_DELIVERED : DP_MSG_REFUSED;
	const char *text = ev->code ? reply_text(sf, ev->offset) : NULL;
	sink_commit(sf, sf->ctx->journal, p->journal, ev->envelope, p, o, ev->code, text);
	sink_commit(sf, sf->ctx->dump, p->dump, ev->envelope, p, o, ev->code, text);
	pending_clear(sf->ctx, p);
}

static bool keyword_at(struct dp_smtpflow *sf, int dir, uint64_t off, const char *kw)
{
	size_t len, n = strlen(kw);
	const uint8_t *b = dp_tcpdir_bytes(&sf->dirs[dir], off, &len);
	return b && len >= n && strncasecmp((const char *)b, kw, n) == 0 &&
	       off >= sf->dirs[dir].fwd_off;
}

static void rewrite(struct dp_smtpflow *sf, int dir, uint64_t off, const char *with)
{
	size_t len;
	uint8_t *b = (uint8_t *)dp_tcpdir_bytes(&sf->dirs[dir], off, &len);
	memcpy(b, with, strlen(with));
	dp_tcpdir_rewritten(&sf->dirs[dir], off, strlen(with));
	sf->rewrote[dir] = true;
}

/* A NUL in a command line: servers disagree on it (Postfix's parser stops at it, so
 * "DATA\0\0EHLO x" is DATA there; others refuse the line), and the engine reads it as
 * '?'. The line goes on with every NUL made '?', so the server reads what the engine
 * read, whatever it does with it. (Message content is never changed.) */
static void normalize_nul(struct dp_smtpflow *sf, uint64_t off)
{
	struct dp_tcpdir *t = &sf->dirs[SL_CLIENT];
	size_t len;
	uint8_t *b = (uint8_t *)dp_tcpdir_bytes(t, off, &len);
	if (!b || off < t->fwd_off)
		return;
	const uint8_t *lf = memchr(b, '\n', len);
	size_t n = lf ? (size_t)(lf - b) : len;
	uint8_t *nul = memchr(b, 0, n);
	if (!nul)
		return;
	uint8_t *first = nul;
	for (; nul < b + n; nul++)
		if (!*nul)
			*nul = '?';
	dp_tcpdir_rewritten(t, off + (uint64_t)(first - b), n - (size_t)(first - b));
	sf->rewrote[SL_CLIENT] = true;
	sf->ctx->ctr->nul_rewritten++;
}

static void on_command(struct dp_smtpflow *sf, const struct sl_event *ev)
{
	sf->expected++;
	if (!sf->ctx->passive)
		normalize_nul(sf, sf->base[SL_CLIENT] + ev->offset);
	dp_protect_command(sf, ev);
	if (!ev->name || strcmp(ev->name, "STARTTLS") != 0)
		return;
	struct dp_ctx *ctx = sf->ctx;
	ctx->ctr->starttls_seen++;
	if (ctx->passive || sf->starttls == DP_STARTTLS_ALLOW)
		return;
	/* strip and block: the server sees an unknown verb of the same length and refuses it */
	uint64_t off = sf->base[SL_CLIENT] + ev->offset;
	if (keyword_at(sf, SL_CLIENT, off, "STARTTLS")) {
		rewrite(sf, SL_CLIENT, off, "XXXXXXXX");
		ctx->ctr->starttls_blocked++;
	}
}

static void on_reply(struct dp_smtpflow *sf, const struct sl_event *ev)
{
	if (!sf->reply_open)
		sf->reply_first = sf->base[SL_SERVER] + ev->offset;
	sf->reply_open = !ev->last;
	if (ev->last)
		sf->answered++;
	dp_protect_reply(sf, ev);
	struct dp_ctx *ctx = sf->ctx;
	if (ctx->journal || ctx->dump) { /* the reply texts are for the sinks */
		unsigned i = sf->nreply++ % (sizeof sf->replies / sizeof sf->replies[0]);
		sf->replies[i].off = ev->offset;
		sf->replies[i].code = ev->code;
		snprintf(sf->replies[i].text, sizeof sf->replies[i].text, "%s", ev->value ? ev->value : "");
	}
	if (ctx->passive || sf->starttls != DP_STARTTLS_STRIP || ev->code != 250 || !ev->value)
		return;
	const char *t = ev->value;
	if (strncasecmp(t, "STARTTLS", 8) != 0 || (t[8] && t[8] != ' ' && t[8] != '\r'))
		return;
	/* "250-STARTTLS": an unknown extension of the same length keeps the sequence numbers */
	uint64_t off = sf->base[SL_SERVER] + ev->offset + 4;
	if (keyword_at(sf, SL_SERVER, off, "STARTTLS")) {
		rewrite(sf, SL_SERVER, off, "XXXXXXXA");
		ctx->ctr->starttls_stripped++;
	}
}

/* A signal outside a message is kept for the next one (once per name). */
static void keep_session_signal(struct dp_smtpflow *sf, const struct sl_event *ev)
{
	if (!ev->name || sf->nsession_signals == DP_SF_SESSION_SIGNALS)
		return;
	for (unsigned i = 0; i < sf->nsession_signals; i++)
		if (strcmp(sf->session_signal[i].name, ev->name) == 0)
			return;
	unsigned i = sf->nsession_signals++;
	snprintf(sf->session_signal[i].name, sizeof sf->session_signal[i].name, "%s", ev->name);
	snprintf(sf->session_signal[i].value, sizeof sf->session_signal[i].value, "%s",
	         ev->value ? ev->value : "");
}

/* The message that just began carries the signals raised since the last one. */
static void raise_session_signals(struct dp_smtpflow *sf)
{
	for (unsigned i = 0; sf->scan && i < sf->nsession_signals; i++) {
		struct sl_event ev = {
			.type = SL_EV_SIGNAL,
			.txn = sf->msg_txn,
			.offset = 0,
			.name = sf->session_signal[i].name,
			.value = sf->session_signal[i].value,
		};
		sl_msgscan_event(sf->scan, &ev);
	}
	sf->nsession_signals = 0;
}

void dp_smtpflow_signal(struct dp_smtpflow *sf, const char *name, const char *value)
{
	struct sl_event ev = {
		.type = SL_EV_SIGNAL,
		.txn = sf->msg_txn,
		.offset = sf->msg_bytes,
		.name = name,
		.value = value,
	};
	if (sf->in_message && sf->scan)
		sl_msgscan_event(sf->scan, &ev);
	else if (!sf->in_message)
		keep_session_signal(sf, &ev);
}

static void on_signal(struct dp_smtpflow *sf, const struct sl_event *ev)
{
	if (ev->name && strcmp(ev->name, "smtp.desync") == 0)
		sf->desync = true;
	if (!sf->in_message)
		keep_session_signal(sf, ev);
}

static void on_event(void *arg, const struct sl_event *ev)
{
	struct dp_smtpflow *sf = arg;
	if (ev->type == SL_EV_SIGNAL)
		on_signal(sf, ev);
	if (sf->state == DP_SF_ENFORCE) {
		/* the verdict ended the session for the server; only its replies still count */
		if (ev->type == SL_EV_REPLY)
			on_reply(sf, ev);
		else if (ev->type == SL_EV_TXN_RESULT)
			txn_result(sf, ev);
		return;
	}
	switch (ev->type) {
	case SL_EV_COMMAND:
		on_command(sf, ev);
		return;
	case SL_EV_REPLY:
		on_reply(sf, ev);
		return;
	case SL_EV_MESSAGE_BEGIN:
		message_begin(sf, ev);
		break;
	case SL_EV_MESSAGE_END:
		message_end(sf, ev);
		return;
	case SL_EV_TXN_RESULT:
		txn_result(sf, ev);
		return;
	case SL_EV_RAW:
		sf->msg_bytes += ev->len;
		if (sf->msg_journal)
			sf->ctx->journal->ops->write(sf->ctx->journal->impl, sf->msg_journal, ev->data, ev->len);
		if (sf->msg_dump)
			sf->ctx->dump->ops->write(sf->ctx->dump->impl, sf->msg_dump, ev->data, ev->len);
		break;
	default:
		break;
	}
	if (sf->in_message && sf->scan)
		sl_msgscan_event(sf->scan, ev);
	if (ev->type == SL_EV_MESSAGE_BEGIN) {
		raise_session_signals(sf);
		if (sf->overlap_pending)
			raise_overlap(sf);
	}
}

/* ---- bytes in ------------------------------------------------------------------- */

static void feed(struct dp_smtpflow *sf, int dir, uint64_t off, const uint8_t *p, size_t n)
{
	uint64_t end = off + n;
	if (end <= sf->fed[dir])
		return;
	if (off < sf->fed[dir]) {
		p += sf->fed[dir] - off;
		off = sf->fed[dir];
	}
	if (off > sf->fed[dir]) /* bytes the engine never got (detection lookback lost) */
		sl_smtp_gap(sf->smtp, (enum sl_stream)dir, (size_t)(off - sf->fed[dir]));
	size_t len = (size_t)(end - off);
	if (dir == SL_CLIENT && !sf->ctx->passive) {
		/* inline the session assumes no reply: it takes what it can hold, the rest
		 * waits in the TCP buffers (back-pressure) until server bytes make room */
		size_t room = sl_smtp_client_room(sf->smtp);
		if (len > room)
			len = room;
		if (!len)
			return;
	}
	sf->fed[dir] = off + len;
	if (sf->ctx->feed_tap)
		sf->ctx->feed_tap(sf->ctx->feed_tap_ctx, sf, dir, p, len);
	sl_smtp_feed(sf->smtp, (enum sl_stream)dir, p, len);
	if (!sf->failed && sl_smtp_failed(sf->smtp)) {
		sf->failed = true; /* out of memory: the flow's overload policy decides */
		sf->ctx->ctr->engine_failed++;
	}
	if (sf->state == DP_SF_SMTP && sl_smtp_encrypted(sf->smtp)) {
		/* STARTTLS allowed and TLS under way: nothing more to inspect */
		sf->state = DP_SF_OPAQUE;
		sf->ctx->ctr->uninspected[DP_UNINSPECTED_STARTTLS]++;
	}
}

/* Feed what a stream already holds from `from` on (after detection; inline, client
 * bytes that waited for room). */
static bool feed_stored(struct dp_smtpflow *sf, int dir, uint64_t from)
{
	struct dp_tcpdir *d = &sf->dirs[dir];
	if (!d->started || from >= d->rcv_off)
		return true;
	size_t len;
	const uint8_t *b = dp_tcpdir_bytes(d, from, &len);
	if (!b)
		return false;
	feed(sf, dir, from, b, len);
	return true;
}

void dp_smtpflow_feed_waiting(struct dp_smtpflow *sf)
{
	if (sf->smtp && !sf->ctx->passive && (sf->state == DP_SF_SMTP || sf->state == DP_SF_ENFORCE))
		feed_stored(sf, SL_CLIENT, sf->fed[SL_CLIENT]);
}

/* New in-order bytes of a stream the engine reads. */
static void feed_new(struct dp_smtpflow *sf, int dir, uint64_t off, const uint8_t *p, size_t n)
{
	if (dir == SL_CLIENT && !sf->ctx->passive && sf->fed[SL_CLIENT] < off) {
		feed_stored(sf, SL_CLIENT, sf->fed[SL_CLIENT]); /* earlier bytes wait: in order */
		return;
	}
	feed(sf, dir, off, p, n);
	if (dir == SL_SERVER)
		dp_smtpflow_feed_waiting(sf); /* replies may have made room */
}

static bool line_start_is(const uint8_t *b, const char *what, size_t n)
{
	return strncasecmp((const char *)b, what, n) == 0;
}

/* Content detection: the server greets with a "220" line, or (one-sided captures)
 * the client says EHLO/HELO at a line start. */
static void detect(struct dp_smtpflow *sf, int dir, uint64_t off, const uint8_t *p, size_t n)
{
	uint64_t end = off + n, pos = off;
	uint64_t *ls = &sf->line_end[dir]; /* line start awaiting its check, or NO_LINE */
	for (;;) {
		if (*ls != NO_LINE && end >= *ls + 5) {
			size_t len;
			const uint8_t *b = dp_tcpdir_bytes(&sf->dirs[dir], *ls, &len);
			bool hit = false;
			if (b && len >= 5) {
				if (dir == SL_SERVER)
					hit = line_start_is(b, "220 ", 4) || line_start_is(b, "220-", 4);
				else
					hit = line_start_is(b, "EHLO ", 5) || line_start_is(b, "HELO ", 5);
			}
			if (hit) {
				uint64_t at = *ls;
				struct dp_tcpdir *other = &sf->dirs[!dir];
				uint64_t other_base = other->started ? other->rcv_off : 0;
				sf->ctx->ctr->flows_smtp_detected++;
				if (dir == SL_SERVER)
					start_engine(sf, other_base, at);
				else
					start_engine(sf, at, other_base);
				if (!sf->smtp)
					return; /* no memory for it: overload */
				sf->line_end[SL_CLIENT] = sf->base[SL_CLIENT];
				sf->line_end[SL_SERVER] = sf->base[SL_SERVER];
				if (!feed_stored(sf, SL_SERVER, sf->base[SL_SERVER]) ||
				    !feed_stored(sf, SL_CLIENT, sf->base[SL_CLIENT]))
					sf->state = DP_SF_NOT_SMTP;
				return;
			}
			*ls = NO_LINE;
		}
		if (pos >= end)
			break;
		const uint8_t *lf = memchr(p + (pos - off), '\n', (size_t)(end - pos));
		if (!lf)
			break;
		pos = off + (uint64_t)(lf - p) + 1;
		*ls = pos;
	}
	if (end > DETECT_MAX && sf->dirs[dir].rcv_off > DETECT_MAX) {
		sf->state = DP_SF_NOT_SMTP;
		sf->ctx->ctr->uninspected[DP_UNINSPECTED_NOT_SMTP]++;
	}
}

void dp_smtpflow_data(struct dp_smtpflow *sf, int dir, uint64_t off, const uint8_t *p, size_t n)
{
	sf->rewrote[SL_CLIENT] = sf->rewrote[SL_SERVER] = false;
	if (!n)
		return;
	switch (sf->state) {
	case DP_SF_DETECT:
		detect(sf, dir, off, p, n);
		return;
	case DP_SF_ENFORCE:
		if (dir == SL_CLIENT)
			return; /* the server never gets these: not its session any more */
		__attribute__((fallthrough)); /* the server's replies due before ours */
	case DP_SF_SMTP: {
		if (dir == SL_CLIENT && sf->state == DP_SF_SMTP) {
			dp_protect_client_data(sf, off, p, n);
			if (sf->state != DP_SF_SMTP)
				return; /* closed by the protection: the server gets none of it */
		}
		const uint8_t *lf = memrchr(p, '\n', n);
		if (lf)
			sf->line_end[dir] = off + (uint64_t)(lf - p) + 1;
		feed_new(sf, dir, off, p, n);
		if (dir == SL_CLIENT)
			dp_protect_client_fed(sf);
		return;
	}
	default:
		return;
	}
}

void dp_smtpflow_gap(struct dp_smtpflow *sf, int dir, uint64_t n)
{
	if (sf->state != DP_SF_SMTP || !n)
		return;
	sl_smtp_gap(sf->smtp, (enum sl_stream)dir, (size_t)n);
	sf->fed[dir] += n;
	sf->line_end[dir] = sf->fed[dir];
}

void dp_smtpflow_overlap(struct dp_smtpflow *sf)
{
	sf->overlap_pending = true;
	if (sf->in_message)
		raise_overlap(sf);
}

void dp_smtpflow_close(struct dp_smtpflow *sf)
{
	if (sf->smtp && sf->state != DP_SF_ENFORCE)
		sl_smtp_close(sf->smtp); /* unfinished messages end; TXN_RESULT code 0 */
	/* whatever the engine still owed: unanswered */
	for (int i = 0; i < DP_SF_PENDING; i++) {
		struct dp_sf_pending *p = &sf->pending[i];
		if (!p->used)
			continue;
		static const struct sl_envelope none;
		sink_commit(sf, sf->ctx->journal, p->journal, &none, p, DP_MSG_UNANSWERED, 0, NULL);
		sink_commit(sf, sf->ctx->dump, p->dump, &none, p, DP_MSG_UNANSWERED, 0, NULL);
		pending_clear(sf->ctx, p);
	}
}

uint64_t dp_smtpflow_limit(const struct dp_smtpflow *sf, int dir, uint64_t rcv_off)
{
	uint64_t lim = rcv_off;
	switch (sf->state) {
	case DP_SF_NOT_SMTP:
	case DP_SF_OPAQUE:
		return rcv_off;
	case DP_SF_DETECT:
		/* only the first bytes of a line not checked yet are held */
		if (sf->line_end[dir] != NO_LINE && sf->line_end[dir] < lim)
			lim = sf->line_end[dir];
		return lim;
	case DP_SF_ENFORCE:
		if (dir == SL_CLIENT && sf->enf.end_off - 1 < lim)
			lim = sf->enf.end_off - 1;
		if (dir == SL_SERVER && sf->line_end[dir] < lim)
			lim = sf->line_end[dir];
		return lim;
	case DP_SF_SMTP:
		break;
	}
	if (dir == SL_SERVER && dp_protect_greeting_held(sf))
		return sf->dirs[SL_SERVER].fwd_off; /* greet_wait: nothing of the server yet */
	if (dir == SL_CLIENT) {
		uint64_t c = sf->base[SL_CLIENT] + sl_smtp_client_consumed(sf->smtp);
		if (!sf->in_message && sf->line_end[dir] < c)
			c = sf->line_end[dir];
		return c < lim ? c : lim;
	}
	return sf->line_end[dir] < lim ? sf->line_end[dir] : lim;
}

void dp_smtpflow_enforced(struct dp_smtpflow *sf)
{
	struct dp_counters *c = sf->ctx->ctr;
	sf->enforce_due = false;
	/* the server is reset and the flow answers the client itself from now on: the
	 * engine is never fed again, so its memory goes back now rather than when the
	 * client finally closes (a client that ignores our reply can take many seconds) */
	release_engine(sf);
	if (sf->enf.protect)
		return; /* counted by the protection (protect_closed) */
	if (sf->enf.action == SL_ACT_QUARANTINE)
		c->enforced_quarantine++;
	else
		c->enforced_reject++;
}

/* A message in progress when the protection closes the session: the server never gets
 * its end, so the sinks drop it. */
static void abandon_message(struct dp_smtpflow *sf)
{
	if (!sf->in_message)
		return;
	static const struct sl_envelope none;
	struct dp_sf_pending p;
	memset(&p, 0, sizeof p);
	p.action = SL_ACT_TEMPFAIL;
	p.bytes = sf->msg_bytes;
	sink_commit(sf, sf->ctx->journal, sf->msg_journal, &none, &p, DP_MSG_REJECTED, 0, NULL);
	sink_commit(sf, sf->ctx->dump, sf->msg_dump, &none, &p, DP_MSG_REJECTED, 0, NULL);
	sf->msg_journal = sf->msg_dump = NULL;
	sf->in_message = false;
}

void dp_smtpflow_protect_close(struct dp_smtpflow *sf, enum dp_close_at at, uint64_t off,
                               const char *reply)
{
	if (sf->enforce_due || sf->state != DP_SF_SMTP || sf->ctx->passive)
		return;
	struct dp_enforce *e = &sf->enf;
	memset(e, 0, sizeof *e);
	e->action = SL_ACT_TEMPFAIL;
	e->protect = true;
	e->reply_len = strlen(reply) < sizeof e->reply ? strlen(reply) : sizeof e->reply - 1;
	memcpy(e->reply, reply, e->reply_len);
	uint64_t forwarded = sf->dirs[SL_CLIENT].fwd_off;
	switch (at) {
	case DP_CLOSE_AT_COMMAND:
		/* the command never reaches the server; replies owed before it still do */
		e->end_off = off + 1;
		e->replies_needed = sf->expected - 1;
		break;
	case DP_CLOSE_AT_REPLY:
		/* the reply being read is replaced by ours; nothing more of the client goes */
		e->end_off = forwarded + 1;
		e->replies_needed = sf->answered ? sf->answered - 1 : 0;
		e->server_upto = sf->reply_first;
		break;
	case DP_CLOSE_AT_DATA:
		e->end_off = off + 1;
		e->replies_needed = sf->answered;
		break;
	}
	if (e->end_off < forwarded + 1)
		e->end_off = forwarded + 1;
	abandon_message(sf);
	sf->enforce_due = true;
	sf->state = DP_SF_ENFORCE;
}
