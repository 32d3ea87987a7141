/* The SMTP session: the public API, the client stream dispatcher, held bytes, the queue
 * of commands awaiting replies and the transactions they belong to. */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"
#include "../mime/mime_mem.h"

/* ---- events ---- */

/* Callbacks run with the caller's allocator current: what they allocate is theirs. */
void smtp_emit(struct sl_smtp *s, struct sl_event *ev)
{
	struct sl_mem *inner = sl_mem_swap(s->outer);
	s->fn(s->ctx, ev);
	sl_mem_swap(inner);
}

uint32_t smtp_txn_now(const struct sl_smtp *s)
{
	if (s->msg)
		return s->msg->id;
	if (s->cur)
		return s->cur->id;
	return s->next_txn;
}

void smtp_signal(struct sl_smtp *s, enum sl_signal sig, uint64_t off, const char *fmt, ...)
{
	char detail[192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	struct sl_event ev = {
		.type = SL_EV_SIGNAL,
		.txn = smtp_txn_now(s),
		.offset = s->msg ? s->raw_off : off,
		.name = sl_signal_name(sig),
		.value = detail,
	};
	smtp_emit(s, &ev);
}

/* MIME events reach the session's callback unchanged (the parser sets txn). */
static void mime_event(void *ctx, const struct sl_event *ev)
{
	struct sl_smtp *s = ctx;
	struct sl_mem *inner = sl_mem_swap(s->outer);
	s->fn(s->ctx, ev);
	sl_mem_swap(inner);
}

/* ---- failure ---- */

void smtp_fail(struct sl_smtp *s, enum sl_signal sig, const char *why)
{
	if (s->failed)
		return;
	s->failed = true;
	s->fail_sig = sig;
	snprintf(s->fail_why, sizeof s->fail_why, "%s", why);
}

void smtp_fail_announce(struct sl_smtp *s)
{
	if (s->mem.failed && !s->failed)
		smtp_fail(s, SL_SIG_ENGINE_MEMORY, "session out of memory; nothing more is read");
	if (!s->failed || s->fail_announced)
		return;
	s->fail_announced = true;
	smtp_signal(s, s->fail_sig, s->c_pos, "%s", s->fail_why);
}

/* After a failure: the signal, then the message in progress ends and every message
 * gets its TXN_RESULT (code 0), so that the caller can give its verdicts now. */
static void fail_settle(struct sl_smtp *s)
{
	if (!smtp_stopped(s))
		return;
	smtp_fail_announce(s);
	if (s->msg)
		smtp_msg_end(s, s->c_pos);
	for (int i = 0; i < SMTP_MAX_TXNS; i++) {
		struct smtp_txn *t = s->txns[i];
		if (t && t->msg_begun && t->msg_ended && !t->result_sent)
			smtp_txn_result(s, t, 0, s->s_pos);
	}
	s->c_wait = s->c_full = false;
}

void smtp_copy_str(char *dst, size_t cap, const uint8_t *p, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, p, n);
	dst[n] = '\0';
}

/* ---- queue of commands awaiting replies ---- */

bool smtp_queue_push(struct sl_smtp *s, const struct smtp_pending *p)
{
	if (s->q_len == SMTP_MAX_QUEUE && !smtp_may_assume(s)) {
		/* not reached: an inline client waits for room before its next command */
		smtp_fail(s, SL_SIG_SMTP_PENDING_OVERFLOW, "command queue full; a reply would be assumed");
		return false;
	}
	if (s->q_len == SMTP_MAX_QUEUE) {
		/* The client ran this far ahead of the server: assume the oldest reply. */
		if (!s->overflow_signalled) {
			s->overflow_signalled = true;
			smtp_signal(s, SL_SIG_SMTP_PENDING_OVERFLOW, s->c_pos,
			            "more than %d commands awaiting replies", SMTP_MAX_QUEUE);
		}
		struct smtp_pending old = s->queue[s->q_head];
		s->q_head = (s->q_head + 1) % s->q_cap;
		s->q_len--;
		s->late_replies++;
		smtp_resolve_unknown(s, &old, true);
	}
	if (s->q_len == s->q_cap) {
		size_t cap = s->q_cap ? s->q_cap * 2 : SMTP_FIRST_QUEUE;
		if (cap > SMTP_MAX_QUEUE)
			cap = SMTP_MAX_QUEUE;
		struct smtp_pending *q = sl_mem_alloc(&s->mem, cap * sizeof *q);
		if (!q)
			return false;
		for (size_t i = 0; i < s->q_len; i++)
			q[i] = s->queue[(s->q_head + i) % s->q_cap];
		sl_mem_free(&s->mem, s->queue, s->q_cap * sizeof *s->queue);
		s->queue = q;
		s->q_cap = cap;
		s->q_head = 0;
	}
	s->queue[(s->q_head + s->q_len) % s->q_cap] = *p;
	s->q_len++;
	if (p->slot >= 0)
		s->txns[p->slot]->refs++;
	return true;
}

/* ---- transactions ---- */

int smtp_txn_slot(const struct sl_smtp *s, const struct smtp_txn *t)
{
	for (int i = 0; i < SMTP_MAX_TXNS; i++)
		if (s->txns[i] == t)
			return i;
	return -1;
}

static bool txn_done(const struct sl_smtp *s, const struct smtp_txn *t)
{
	return t->refs == 0 && t != s->cur && t != s->msg &&
	       (!t->msg_begun || t->result_sent);
}

static void txn_free(struct sl_smtp *s, struct smtp_txn *t)
{
	sl_mem_free(&s->mem, t->env.rcpt, t->rcpt_cap * sizeof *t->env.rcpt);
	sl_mem_free(&s->mem, t, sizeof *t);
}

void smtp_txn_release(struct sl_smtp *s, struct smtp_txn *t)
{
	if (!t || !txn_done(s, t))
		return;
	int i = smtp_txn_slot(s, t);
	if (i >= 0)
		s->txns[i] = NULL;
	if (!s->spare && t->rcpt_cap <= SMTP_SPARE_RCPTS)
		s->spare = t;
	else
		txn_free(s, t);
}

/* The spare transaction, cleared but for its recipients' array, else a new one. */
static struct smtp_txn *txn_take(struct sl_smtp *s)
{
	struct smtp_txn *t = s->spare;
	if (!t)
		return sl_mem_calloc(&s->mem, sizeof *t);
	s->spare = NULL;
	struct sl_rcpt *rcpt = t->env.rcpt;
	size_t cap = t->rcpt_cap;
	memset(t, 0, sizeof *t);
	t->env.rcpt = rcpt;
	t->rcpt_cap = cap;
	return t;
}

/* Resolves the oldest pending commands as unknown until a transaction slot is free. */
static int free_slot(struct sl_smtp *s)
{
	for (;;) {
		for (int i = 0; i < SMTP_MAX_TXNS; i++)
			if (!s->txns[i])
				return i;
		if (s->q_len == 0)
			return -1; /* cannot happen: slots are held by pending commands */
		if (!smtp_may_assume(s)) {
			/* not reached: an inline client waits for a free slot first */
			smtp_fail(s, SL_SIG_SMTP_PENDING_OVERFLOW,
			          "no transaction slot free; a reply would be assumed");
			return -1;
		}
		if (!s->overflow_signalled) {
			s->overflow_signalled = true;
			smtp_signal(s, SL_SIG_SMTP_PENDING_OVERFLOW, s->c_pos,
			            "more than %d transactions awaiting replies", SMTP_MAX_TXNS);
		}
		struct smtp_pending old = s->queue[s->q_head];
		s->q_head = (s->q_head + 1) % s->q_cap;
		s->q_len--;
		s->late_replies++;
		smtp_resolve_unknown(s, &old, true);
	}
}

/* NULL when the session failed (no slot without an assumption, or no memory). */
struct smtp_txn *smtp_txn_new(struct sl_smtp *s)
{
	int slot = free_slot(s);
	if (slot < 0) {
		smtp_fail(s, SL_SIG_SMTP_PENDING_OVERFLOW, "no transaction slot free");
		return NULL;
	}
	struct smtp_txn *t = txn_take(s);
	if (!t)
		return NULL;
	t->id = s->next_txn++;
	memcpy(t->env.helo, s->helo, sizeof s->helo);
	memcpy(t->env.auth_user, s->auth_user, sizeof s->auth_user);
	t->env.tls = s->encrypted;
	t->env.client = s->client_ep;
	t->env.server = s->server_ep;
	t->env.direction = SL_DIR_UNKNOWN;
	s->txns[slot] = t;
	return t;
}

/* A new transaction with t's envelope: after a refused DATA the server keeps the
 * envelope, but the number that got a TXN_RESULT is not used for a message. */
struct smtp_txn *smtp_txn_clone(struct sl_smtp *s, const struct smtp_txn *t)
{
	struct smtp_txn *c = smtp_txn_new(s);
	if (!c)
		return NULL;
	uint32_t id = c->id;
	struct sl_envelope env = t->env;
	env.rcpt = NULL;
	sl_mem_free(&s->mem, c->env.rcpt, c->rcpt_cap * sizeof *c->env.rcpt); /* a spare's */
	c->env.rcpt = NULL;
	c->rcpt_cap = 0;
	if (t->env.nrcpt) {
		env.rcpt = sl_mem_alloc(&s->mem, t->env.nrcpt * sizeof *env.rcpt);
		if (!env.rcpt) {
			smtp_txn_release(s, c);
			return NULL;
		}
		memcpy(env.rcpt, t->env.rcpt, t->env.nrcpt * sizeof *env.rcpt);
	}
	c->env = env;
	c->rcpt_cap = t->env.nrcpt;
	c->rcpt_capped = t->rcpt_capped;
	c->id = id;
	return c;
}

bool smtp_txn_add_rcpt(struct sl_smtp *s, struct smtp_txn *t, const char *addr, uint32_t *idx)
{
	if (t->env.nrcpt >= s->lim.max_rcpts) {
		if (!t->rcpt_capped) {
			t->rcpt_capped = true;
			smtp_signal(s, SL_SIG_SMTP_TOO_MANY_RCPTS, s->c_pos,
			            "more than %zu recipients", s->lim.max_rcpts);
		}
		return false;
	}
	if (t->env.nrcpt == t->rcpt_cap) {
		size_t cap = t->rcpt_cap ? t->rcpt_cap * 2 : 4;
		if (cap > s->lim.max_rcpts)
			cap = s->lim.max_rcpts;
		struct sl_rcpt *r = sl_mem_realloc(&s->mem, t->env.rcpt,
		                                   t->rcpt_cap * sizeof *t->env.rcpt,
		                                   cap * sizeof *t->env.rcpt);
		if (!r)
			return false;
		t->env.rcpt = r;
		t->rcpt_cap = cap;
	}
	struct sl_rcpt *r = &t->env.rcpt[t->env.nrcpt];
	snprintf(r->addr, sizeof r->addr, "%s", addr);
	r->status = SL_RCPT_PENDING;
	r->reply_code = 0;
	*idx = (uint32_t)t->env.nrcpt++;
	return true;
}

/* The server's verdict on a transaction's content (or on its DATA command). */
void smtp_txn_result(struct sl_smtp *s, struct smtp_txn *t, int code, uint64_t off)
{
	if (t->result_sent)
		return;
	if (t->msg_begun && !t->msg_ended) {
		/* reply seen before the content ended (gap, broken server): after MESSAGE_END */
		t->result_due = true;
		t->result_code = code;
		t->result_off = off;
		return;
	}
	t->result_sent = true;
	struct sl_event ev = {
		.type = SL_EV_TXN_RESULT,
		.txn = t->id,
		.offset = off,
		.code = code,
		.last = true,
		.envelope = &t->env,
	};
	smtp_emit(s, &ev);
}

/* What the engine takes a missing reply to mean: DATA 354, AUTH final, STARTTLS 220,
 * the end of data "no reply" (TXN_RESULT code 0). signal: raise smtp.reply_assumed. */
static void assume_effect(struct sl_smtp *s, const struct smtp_pending *p, bool signal)
{
	struct smtp_txn *t = p->slot >= 0 ? s->txns[p->slot] : NULL;
	static const char *const what[] = {
		[CMD_DATA] = "DATA not seen; assumed 354",
		[CMD_AUTH] = "AUTH not seen; assumed final",
		[CMD_AUTH_RESPONSE] = "AUTH not seen; assumed final",
		[CMD_STARTTLS] = "STARTTLS not seen; assumed 220",
	};
	bool waited = p->blocks && s->c_wait;
	if (waited)
		s->c_wait = false;
	switch ((enum smtp_cmd)p->cmd) {
	case CMD_DATA:
		if (waited && t && !t->msg_begun) {
			s->cstate = C_DATA;
			smtp_msg_begin(s, t, false);
		}
		break;
	case CMD_AUTH:
	case CMD_AUTH_RESPONSE:
		s->auth_continue = false;
		break;
	case CMD_STARTTLS:
		if (waited)
			s->tls_check_client = s->tls_check_server = true;
		break;
	case CMD_END_OF_DATA:
		if (t)
			smtp_txn_result(s, t, 0, s->s_pos);
		break;
	case CMD_BDAT:
		if (t && p->last)
			smtp_txn_result(s, t, t->bdat_fail, s->s_pos);
		break;
	default:
		break;
	}
	/* after a message the assumed 354 began: the signal is the message's */
	if (waited && signal && p->cmd < sizeof what / sizeof what[0] && what[p->cmd])
		smtp_signal(s, SL_SIG_SMTP_REPLY_ASSUMED, s->c_pos, "reply to %s", what[p->cmd]);
}

/* A pending command taken off the queue without its reply: lost in a gap, the
 * connection closed, or the queue overflowed (assumed). */
void smtp_resolve_unknown(struct sl_smtp *s, const struct smtp_pending *p, bool assumed)
{
	struct smtp_txn *t = p->slot >= 0 ? s->txns[p->slot] : NULL;
	if (!p->assumed)
		assume_effect(s, p, assumed);
	if (t) {
		t->refs--;
		smtp_txn_release(s, t);
	}
}

/* The client's bytes wait for the reply to the last command and cannot wait longer:
 * take that reply as assumed now. The command stays queued; its real reply, when it
 * comes, is checked against the assumption (smtp.desync). */
static void assume_waiting(struct sl_smtp *s)
{
	if (!s->c_wait || !s->q_len) {
		s->c_wait = false;
		return;
	}
	struct smtp_pending *tail = &s->queue[(s->q_head + s->q_len - 1) % s->q_cap];
	assume_effect(s, tail, true);
	tail->assumed = true;
	s->c_wait = false;
}

/* ---- the client stream ---- */

bool smtp_cmd_room(const struct sl_smtp *s)
{
	if (s->q_len >= SMTP_MAX_QUEUE)
		return false;
	for (int i = 0; i < SMTP_MAX_TXNS; i++)
		if (!s->txns[i])
			return true;
	return false;
}

/* Interprets client bytes until they run out or the meaning of the next ones waits
 * for a reply. Returns the bytes used; c_pos advances by as much. */
static size_t client_run(struct sl_smtp *s, const uint8_t *p, size_t n)
{
	size_t used = 0;
	while (used < n && !smtp_waiting(s) && !smtp_stopped(s)) {
		size_t k = 0;
		if (s->tls_check_client) {
			/* the first bytes after a 220 to STARTTLS: a TLS record or plaintext */
			uint8_t c = p[used];
			if (s->tls_saw_0x16) {
				s->tls_saw_0x16 = false;
				s->tls_check_client = s->tls_check_server = false;
				if (c == 0x03) {
					smtp_set_encrypted(s);
					continue;
				}
				smtp_signal(s, SL_SIG_SMTP_PLAINTEXT_AFTER_STARTTLS, s->c_pos - 1,
				            "client went on in plaintext after 220 to STARTTLS");
				static const uint8_t hs = 0x16;
				s->c_pos--; /* the 0x16 is reinterpreted as a command byte */
				smtp_cmd_run(s, &hs, 1);
				continue;
			}
			if (c == 0x16) {
				s->tls_saw_0x16 = true;
				s->c_pos++;
				used++;
				continue;
			}
			s->tls_check_client = s->tls_check_server = false;
			smtp_signal(s, SL_SIG_SMTP_PLAINTEXT_AFTER_STARTTLS, s->c_pos,
			            "client went on in plaintext after 220 to STARTTLS");
		}
		switch (s->cstate) {
		case C_CMD:
			k = smtp_cmd_run(s, p + used, n - used);
			break;
		case C_DATA:
			k = smtp_data_run(s, p + used, n - used);
			break;
		case C_BDAT:
			k = smtp_bdat_run(s, p + used, n - used);
			break;
		case C_OPAQUE:
			k = n - used;
			s->c_pos += k;
			break;
		}
		used += k;
	}
	return used;
}

static bool hold(struct sl_smtp *s, const uint8_t *p, size_t n)
{
	if (s->held_len + n > s->held_cap) {
		size_t cap = s->held_cap ? s->held_cap : 1024;
		while (cap < s->held_len + n)
			cap *= 2;
		uint8_t *h = sl_mem_realloc(&s->mem, s->held, s->held_cap, cap);
		if (!h)
			return false;
		s->held = h;
		s->held_cap = cap;
	}
	memcpy(s->held + s->held_len, p, n);
	s->held_len += n;
	return true;
}

/* Runs the held bytes now that the reply they waited for is known. */
void smtp_drain_held(struct sl_smtp *s)
{
	while (s->held_len && !smtp_waiting(s) && !smtp_stopped(s)) {
		size_t used = client_run(s, s->held, s->held_len);
		memmove(s->held, s->held + used, s->held_len - used);
		s->held_len -= used;
	}
	if (!s->held_len && s->held_cap > 4096) {
		sl_mem_free(&s->mem, s->held, s->held_cap);
		s->held = NULL;
		s->held_cap = 0;
	}
}

/* The end: every command still waiting is taken as answered the way the engine
 * assumes (DATA 354, STARTTLS 220, ...) and leaves the queue. */
static void resolve_all(struct sl_smtp *s)
{
	while (s->q_len) {
		struct smtp_pending old = s->queue[s->q_head];
		s->q_head = (s->q_head + 1) % s->q_cap;
		s->q_len--;
		smtp_resolve_unknown(s, &old, true);
	}
}

/* Captures (and inline sessions at close): replies that never came are assumed until
 * nothing is held any more. */
static void assume_all_waiting(struct sl_smtp *s)
{
	while ((smtp_waiting(s) || s->held_len) && !smtp_stopped(s)) {
		assume_waiting(s);
		s->c_full = false; /* may_assume: the queue makes room by assuming the oldest */
		smtp_drain_held(s);
	}
}

static void client_feed(struct sl_smtp *s, const uint8_t *p, size_t n)
{
	if (!smtp_waiting(s) && s->held_len)
		smtp_drain_held(s);
	while (n && !smtp_stopped(s)) {
		if (!smtp_waiting(s) && !s->held_len) {
			size_t used = client_run(s, p, n);
			p += used;
			n -= used;
			continue;
		}
		if (s->c_wait && !s->wait_signalled) {
			s->wait_signalled = true;
			smtp_signal(s, SL_SIG_SMTP_DATA_BEFORE_REPLY, s->c_pos + s->held_len,
			            "client bytes before the reply to the previous command");
		}
		size_t room = s->lim.max_pending - s->held_len;
		size_t k = n < room ? n : room;
		if (!hold(s, p, k))
			return;
		p += k;
		n -= k;
		if (n) {
			smtp_signal(s, SL_SIG_SMTP_PENDING_OVERFLOW, s->c_pos + s->held_len,
			            "more than %zu client bytes held for a reply", s->lim.max_pending);
			if (!smtp_may_assume(s)) {
				smtp_fail(s, SL_SIG_SMTP_PENDING_OVERFLOW,
				          "inline: client bytes fed beyond sl_smtp_client_room()");
				return;
			}
			assume_waiting(s);
			smtp_drain_held(s);
		}
	}
}

void smtp_set_encrypted(struct sl_smtp *s)
{
	s->encrypted = true;
	s->tls_check_client = s->tls_check_server = false;
	if (s->msg)
		smtp_msg_abort(s, s->c_pos, "TLS started inside a message");
	if (s->cur)
		s->cur->env.tls = true;
	s->cstate = C_OPAQUE;
	/* nothing sent in the clear can be matched to what follows */
	while (s->q_len) {
		struct smtp_pending old = s->queue[s->q_head];
		s->q_head = (s->q_head + 1) % s->q_cap;
		s->q_len--;
		smtp_resolve_unknown(s, &old, false);
	}
	s->c_wait = s->c_full = false; /* held bytes, if any, drain as opaque */
	smtp_line_reset(&s->mem, &s->cline);
	smtp_line_reset(&s->mem, &s->sline);
}

/* ---- public API ---- */

/* Every entry point: the session's allocator is current inside it, the caller's is put
 * back on the way out; a failure is settled before returning. */
static void enter(struct sl_smtp *s)
{
	s->outer = sl_mem_swap(&s->mem);
}

static void leave(struct sl_smtp *s)
{
	fail_settle(s);
	sl_mem_swap(s->outer);
}

struct sl_smtp *sl_smtp_new_acct(const struct sl_limits *lim, sl_event_fn fn, void *ctx,
                                 const struct sl_memacct *acct)
{
	struct sl_mem mem;
	sl_mem_init(&mem, acct);
	struct sl_smtp *s = sl_mem_calloc(&mem, sizeof *s);
	if (!s)
		return NULL;
	s->mem = mem;
	if (lim)
		s->lim = *lim;
	else
		sl_limits_default(&s->lim);
	if (s->lim.max_line < 16)
		s->lim.max_line = 16;
	s->fn = fn;
	s->ctx = ctx;
	s->cstate = C_CMD;
	s->dot_hold = UINT64_MAX;
	enter(s);
	s->mime = sl_mime_new_mem(&s->lim, mime_event, s, &s->mem);
	struct smtp_pending greeting = {.cmd = CMD_GREETING, .slot = -1};
	bool ok = s->mime && smtp_queue_push(s, &greeting);
	sl_mem_swap(s->outer);
	if (!ok) {
		sl_smtp_free(s);
		return NULL;
	}
	return s;
}

struct sl_smtp *sl_smtp_new(const struct sl_limits *lim, sl_event_fn fn, void *ctx)
{
	return sl_smtp_new_acct(lim, fn, ctx, NULL);
}

/* What one connection made the session hold: transactions, line buffers, held bytes. */
/* Everything of the connection but its two line buffers. */
static void connection_free_state(struct sl_smtp *s)
{
	for (int i = 0; i < SMTP_MAX_TXNS; i++)
		if (s->txns[i])
			txn_free(s, s->txns[i]);
	sl_mem_free(&s->mem, s->held, s->held_cap);
}

static void connection_free(struct sl_smtp *s)
{
	connection_free_state(s);
	smtp_line_free(&s->mem, &s->cline);
	smtp_line_free(&s->mem, &s->sline);
}

void sl_smtp_free(struct sl_smtp *s)
{
	if (!s)
		return;
	struct sl_mem *outer = sl_mem_swap(&s->mem);
	connection_free(s);
	if (s->spare)
		txn_free(s, s->spare);
	sl_mem_free(&s->mem, s->queue, s->q_cap * sizeof *s->queue);
	sl_mime_free(s->mime);
	struct sl_mem mem = s->mem;
	sl_mem_free(&mem, s, sizeof *s);
	sl_mem_swap(outer);
}

bool sl_smtp_reset(struct sl_smtp *s, sl_event_fn fn, void *ctx)
{
	if (smtp_stopped(s))
		return false;
	struct sl_mem *outer = sl_mem_swap(&s->mem);
	connection_free_state(s);
	/* the line buffers are kept up to smtp_line_reset's cap, still charged to the
	 * session (sl_smtp_set_acct moves them): no malloc for the next connection's lines */
	smtp_line_reset(&s->mem, &s->cline);
	smtp_line_reset(&s->mem, &s->sline);
	struct smtp_line cline = s->cline, sline = s->sline;
	struct smtp_txn *spare = s->spare; /* kept too, charged the same way */
	struct smtp_pending *queue = s->queue; /* kept at its first size: no malloc */
	size_t q_cap = s->q_cap;
	if (q_cap != SMTP_FIRST_QUEUE) {
		sl_mem_free(&s->mem, queue, q_cap * sizeof *queue);
		queue = NULL;
		q_cap = 0;
	}
	sl_mime_recycle(s->mime);
	/* what sl_smtp_new_acct sets; the rest starts zeroed as calloc left it */
	struct sl_limits lim = s->lim;
	struct sl_mem mem = s->mem;
	struct sl_mime *mime = s->mime;
	memset(s, 0, sizeof *s);
	s->lim = lim;
	s->mem = mem;
	s->mime = mime;
	s->queue = queue;
	s->q_cap = q_cap;
	s->cline = cline;
	s->sline = sline;
	s->spare = spare;
	s->fn = fn;
	s->ctx = ctx;
	s->cstate = C_CMD;
	s->dot_hold = UINT64_MAX;
	s->outer = outer;
	struct smtp_pending greeting = {.cmd = CMD_GREETING, .slot = -1};
	bool ok = smtp_queue_push(s, &greeting);
	sl_mem_swap(outer);
	return ok && !smtp_stopped(s);
}

void sl_smtp_set_events(struct sl_smtp *s, sl_event_fn fn, void *ctx)
{
	s->fn = fn;
	s->ctx = ctx;
}

bool sl_smtp_set_acct(struct sl_smtp *s, const struct sl_memacct *acct)
{
	size_t n = s->mem.charged;
	if (s->mem.acct.release)
		s->mem.acct.release(s->mem.acct.ctx, n);
	s->mem.acct = (struct sl_memacct){0};
	if (!acct || !acct->charge || !acct->release)
		return true;
	if (!acct->charge(acct->ctx, n))
		return false;
	s->mem.acct = *acct;
	return true;
}

static void copy_endpoint(struct sl_endpoint *ep, const struct sockaddr *sa)
{
	memset(ep, 0, sizeof *ep);
	if (!sa)
		return;
	size_t n = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
	         : sa->sa_family == AF_INET  ? sizeof(struct sockaddr_in)
	                                     : 0;
	if (n)
		memcpy(&ep->addr, sa, n);
}

void sl_smtp_set_endpoints(struct sl_smtp *s, const struct sockaddr *client,
                           const struct sockaddr *server)
{
	copy_endpoint(&s->client_ep, client);
	copy_endpoint(&s->server_ep, server);
	for (int i = 0; i < SMTP_MAX_TXNS; i++) {
		if (s->txns[i]) {
			s->txns[i]->env.client = s->client_ep;
			s->txns[i]->env.server = s->server_ep;
		}
	}
}

void sl_smtp_feed(struct sl_smtp *s, enum sl_stream dir, const uint8_t *p, size_t n)
{
	if (s->closed || smtp_stopped(s) || n == 0)
		return;
	enter(s);
	if (dir == SL_CLIENT) {
		client_feed(s, p, n);
	} else if (s->encrypted) {
		s->s_pos += n;
	} else {
		smtp_server_run(s, p, n);
		if (!smtp_waiting(s) && s->held_len)
			smtp_drain_held(s);
	}
	leave(s);
}

static void client_gap(struct sl_smtp *s, size_t n)
{
	if (s->encrypted) {
		s->c_pos += n;
		return;
	}
	if ((smtp_waiting(s) || s->held_len) && !smtp_may_assume(s)) {
		/* inline: held bytes cannot be kept in order around a hole without assuming */
		smtp_fail(s, SL_SIG_SMTP_GAP, "client bytes missing while bytes wait for a reply");
		return;
	}
	/* Bytes held for a reply cannot be kept in order around a hole: assume it. */
	assume_all_waiting(s);
	if (smtp_stopped(s))
		return;
	smtp_signal(s, SL_SIG_SMTP_GAP, s->c_pos, "%zu client bytes missing", n);
	s->tls_check_client = false;
	s->tls_saw_0x16 = false;
	switch (s->cstate) {
	case C_OPAQUE:
		break;
	case C_DATA:
		/* the message has a hole; a line start is no longer known */
		smtp_data_release_cr(s);
		s->gap_in_msg = true;
		s->dstate = D_MID;
		break;
	case C_BDAT:
		if (n < s->bdat_left) {
			s->bdat_left -= n;
			s->gap_in_msg = true;
			break;
		}
		n -= s->bdat_left;
		s->c_pos += s->bdat_left;
		s->bdat_left = 0;
		s->gap_in_msg = true;
		s->cstate = C_CMD;
		if (s->bdat_last)
			smtp_msg_end(s, s->c_pos);
		/* fall through: the rest of the hole held commands */
		/* FALLTHROUGH */
	case C_CMD:
		/* resynchronise at the first byte after the hole, taken as a line start */
		smtp_line_reset(&s->mem, &s->cline);
		s->auth_continue = false;
		break;
	}
	s->c_pos += n;
}

void sl_smtp_gap(struct sl_smtp *s, enum sl_stream dir, size_t n)
{
	if (s->closed || smtp_stopped(s) || n == 0)
		return;
	enter(s);
	if (dir == SL_CLIENT) {
		client_gap(s, n);
	} else {
		if (!s->encrypted) {
			smtp_signal(s, SL_SIG_SMTP_GAP, s->s_pos, "%zu server bytes missing", n);
			smtp_line_reset(&s->mem, &s->sline);
			s->s_multi = false;
			s->s_resync = true;
		}
		s->s_pos += n;
	}
	leave(s);
}

void sl_smtp_close(struct sl_smtp *s)
{
	if (s->closed)
		return;
	enter(s);
	if (!smtp_stopped(s)) {
		/* replies that never came: interpret what the client sent the assumed way
		 * (inline too: nothing is forwarded after the close) */
		s->closing = true;
		assume_all_waiting(s);
		resolve_all(s);
		if (s->msg && !smtp_stopped(s))
			smtp_msg_abort(s, s->c_pos, "connection closed inside a message");
		s->cur = NULL;
		for (int i = 0; i < SMTP_MAX_TXNS; i++)
			smtp_txn_release(s, s->txns[i]);
	}
	s->closed = true;
	leave(s);
}

uint64_t sl_smtp_client_consumed(const struct sl_smtp *s)
{
	return s->dot_hold < s->c_pos ? s->dot_hold : s->c_pos;
}

/* A wait can begin at any byte of a feed (a DATA line inside it), and then the rest of
 * the feed is held: so the room is what can still be held, waiting or not. */
size_t sl_smtp_client_room(const struct sl_smtp *s)
{
	if (s->closed || smtp_stopped(s) || s->encrypted)
		return SIZE_MAX;
	return s->held_len < s->lim.max_pending ? s->lim.max_pending - s->held_len : 0;
}

bool sl_smtp_failed(const struct sl_smtp *s)
{
	return smtp_stopped(s);
}

size_t sl_smtp_command_line_len(const struct sl_smtp *s)
{
	if (s->cstate != C_CMD || !s->cline.open)
		return 0;
	return s->cline.truncated ? SIZE_MAX : s->cline.len;
}

bool sl_smtp_encrypted(const struct sl_smtp *s)
{
	return s->encrypted;
}

size_t sl_smtp_memory(const struct sl_smtp *s)
{
	return s->mem.charged;
}
