/* Client command lines: verbs, MAIL/RCPT paths and parameters, BDAT sizes, AUTH. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "session.h"

static const struct {
	const char *verb;
	enum smtp_cmd cmd;
} verbs[] = {
	{"HELO", CMD_HELO}, {"EHLO", CMD_EHLO}, {"LHLO", CMD_EHLO}, {"MAIL", CMD_MAIL},
	{"RCPT", CMD_RCPT}, {"DATA", CMD_DATA}, {"BDAT", CMD_BDAT}, {"RSET", CMD_RSET},
	{"NOOP", CMD_NOOP}, {"VRFY", CMD_VRFY}, {"EXPN", CMD_EXPN}, {"HELP", CMD_HELP},
	{"AUTH", CMD_AUTH}, {"STARTTLS", CMD_STARTTLS}, {"QUIT", CMD_QUIT},
	/* extensions a server may offer: known, nothing to follow */
	{"ETRN", CMD_OTHER}, {"ATRN", CMD_OTHER}, {"TURN", CMD_OTHER}, {"XCLIENT", CMD_OTHER},
	{"XFORWARD", CMD_OTHER}, {"VERB", CMD_OTHER}, {"ONEX", CMD_OTHER},
};

struct cmdline {
	uint64_t off;         /* client offset of the line */
	const uint8_t *line;  /* without CR LF */
	size_t len;
	char verb[16];
	const char *arg;      /* NUL-terminated, inside the line buffer */
	size_t arglen;
};

static void emit_command(struct sl_smtp *s, const struct cmdline *c, const char *value,
                         bool with_bytes)
{
	struct sl_event ev = {
		.type = SL_EV_COMMAND,
		.txn = smtp_txn_now(s),
		.offset = c->off,
		.name = c->verb,
		.value = value,
		.data = with_bytes ? c->line : NULL,
		.len = with_bytes ? c->len : 0,
	};
	smtp_emit(s, &ev);
}

/* Returns the queued entry, or NULL when the session failed (no memory). */
static struct smtp_pending *push(struct sl_smtp *s, enum smtp_cmd cmd, struct smtp_txn *t,
                                 bool blocks)
{
	struct smtp_pending p = {
		.cmd = (uint8_t)cmd,
		.blocks = blocks,
		.slot = (int8_t)(t ? smtp_txn_slot(s, t) : -1),
		.txn = t ? t->id : smtp_txn_now(s),
		.rcpt = UINT32_MAX,
	};
	if (!smtp_queue_push(s, &p))
		return NULL;
	if (blocks) {
		s->c_wait = true;
		s->wait_signalled = false;
	}
	return &s->queue[(s->q_head + s->q_len - 1) % s->q_cap];
}

/* A new client transaction replaces the open one (which lives on while its replies
 * are pending). */
static struct smtp_txn *open_txn(struct sl_smtp *s)
{
	struct smtp_txn *old = s->cur;
	s->cur = NULL;
	smtp_txn_release(s, old);
	s->cur = smtp_txn_new(s);
	return s->cur;
}

/* The open transaction, if content may still come for it. After a refused DATA the
 * server keeps the envelope and the client may add recipients and try again: that
 * goes on under a new number with a copy of the envelope, since the old number has
 * had its TXN_RESULT. */
static struct smtp_txn *open_for_content(struct sl_smtp *s)
{
	struct smtp_txn *t = s->cur;
	if (!t || t->msg_begun)
		return NULL;
	if (t->result_sent) {
		s->cur = smtp_txn_clone(s, t);
		smtp_txn_release(s, t);
	}
	return s->cur; /* NULL when the session failed */
}

static void close_txn(struct sl_smtp *s)
{
	struct smtp_txn *old = s->cur;
	s->cur = NULL;
	smtp_txn_release(s, old);
}

/* "FROM:<path>" / "TO:<path>": copies the path without <> into out and returns the
 * index just past it, or SIZE_MAX when the keyword is missing. */
static size_t parse_path(const char *a, size_t n, const char *kw, char *out, size_t cap)
{
	size_t k = strlen(kw);
	size_t i = 0;
	out[0] = '\0';
	if (n < k || strncasecmp(a, kw, k) != 0)
		return SIZE_MAX;
	i = k;
	while (i < n && a[i] == ' ')
		i++;
	size_t start = i;
	if (i < n && a[i] == '<') {
		bool quoted = false;
		start = ++i;
		for (; i < n; i++) {
			char c = a[i];
			if (quoted && c == '\\' && i + 1 < n)
				i++;
			else if (c == '"')
				quoted = !quoted;
			else if (c == '>' && !quoted)
				break;
		}
		smtp_copy_str(out, cap, (const uint8_t *)a + start, i - start);
		return i < n ? i + 1 : i;
	}
	while (i < n && a[i] != ' ')
		i++;
	smtp_copy_str(out, cap, (const uint8_t *)a + start, i - start);
	return i;
}

/* ESMTP parameters of MAIL FROM (RFC 1870 SIZE, RFC 6152 BODY, RFC 6531 SMTPUTF8). */
static void mail_params(struct sl_envelope *env, const char *a, size_t n)
{
	size_t i = 0;
	while (i < n) {
		while (i < n && a[i] == ' ')
			i++;
		size_t start = i;
		while (i < n && a[i] != ' ')
			i++;
		const char *kv = a + start;
		size_t len = i - start;
		if (len > 5 && strncasecmp(kv, "SIZE=", 5) == 0) {
			uint64_t v = 0;
			for (size_t j = 5; j < len && isdigit((unsigned char)kv[j]); j++)
				v = v > UINT64_MAX / 10 - 1 ? UINT64_MAX : v * 10 + (uint64_t)(kv[j] - '0');
			env->size_param = v;
		} else if (len > 5 && strncasecmp(kv, "BODY=", 5) == 0) {
			env->body_8bitmime = (len == 13 && strncasecmp(kv + 5, "8BITMIME", 8) == 0) ||
			                     (len == 15 && strncasecmp(kv + 5, "BINARYMIME", 10) == 0);
		} else if (len == 8 && strncasecmp(kv, "SMTPUTF8", 8) == 0) {
			env->smtputf8 = true;
		}
	}
}

static void cmd_mail(struct sl_smtp *s, const struct cmdline *c)
{
	if (s->msg) {
		/* the server keeps the BDAT transaction; this MAIL gets a 503 */
		emit_command(s, c, c->arg, true);
		smtp_signal(s, SL_SIG_SMTP_BAD_COMMAND, c->off, "MAIL inside a BDAT transaction");
		push(s, CMD_MAIL, s->msg, false);
		return;
	}
	struct smtp_txn *t = open_txn(s);
	if (!t)
		return; /* failed */
	size_t end = parse_path(c->arg, c->arglen, "FROM:", t->env.mail_from,
	                        sizeof t->env.mail_from);
	emit_command(s, c, c->arg, true);
	if (end == SIZE_MAX)
		smtp_signal(s, SL_SIG_SMTP_BAD_COMMAND, c->off, "MAIL without FROM:");
	else
		mail_params(&t->env, c->arg + end, c->arglen - end);
	push(s, CMD_MAIL, t, false);
}

static void cmd_rcpt(struct sl_smtp *s, const struct cmdline *c)
{
	char addr[SL_ADDR_MAX];
	size_t end = parse_path(c->arg, c->arglen, "TO:", addr, sizeof addr);
	struct smtp_txn *t = open_for_content(s);
	emit_command(s, c, c->arg, true);
	if (end == SIZE_MAX)
		smtp_signal(s, SL_SIG_SMTP_BAD_COMMAND, c->off, "RCPT without TO:");
	uint32_t idx = UINT32_MAX;
	if (t && end != SIZE_MAX && !smtp_txn_add_rcpt(s, t, addr, &idx))
		idx = UINT32_MAX;
	struct smtp_pending *q = push(s, CMD_RCPT, t, false);
	if (q)
		q->rcpt = idx;
}

static void cmd_data(struct sl_smtp *s, const struct cmdline *c)
{
	if (s->msg)
		smtp_msg_abort(s, c->off, "DATA inside a BDAT transaction");
	struct smtp_txn *t = open_for_content(s);
	if (!t && !smtp_stopped(s))
		t = open_txn(s);
	if (!t)
		return; /* failed */
	emit_command(s, c, c->arg, true);
	push(s, CMD_DATA, t, true);
}

/* "BDAT size [LAST]" (RFC 3030). Returns false with *why set when malformed. */
static bool parse_bdat(const char *a, size_t n, uint64_t *size, bool *last, const char **why)
{
	size_t i = 0;
	if (n == 0) {
		*why = "BDAT without a size";
		return false;
	}
	if (a[0] == '-') {
		*why = "negative BDAT size";
		return false;
	}
	uint64_t v = 0;
	for (; i < n && a[i] != ' '; i++) {
		if (!isdigit((unsigned char)a[i])) {
			*why = "BDAT size is not a number";
			return false;
		}
		v = v * 10 + (uint64_t)(a[i] - '0');
		if (v > INT64_MAX) {
			*why = "BDAT size overflows";
			return false;
		}
	}
	while (i < n && a[i] == ' ')
		i++;
	*last = false;
	if (i < n) {
		size_t j = i;
		while (j < n && a[j] != ' ')
			j++;
		if (j - i != 4 || strncasecmp(a + i, "LAST", 4) != 0) {
			*why = "BDAT with an unknown argument";
			return false;
		}
		*last = true;
		while (j < n && a[j] == ' ')
			j++;
		if (j < n) {
			*why = "BDAT with extra arguments";
			return false;
		}
	}
	*size = v;
	return true;
}

static void cmd_bdat(struct sl_smtp *s, const struct cmdline *c)
{
	uint64_t size = 0;
	bool last = false;
	const char *why = NULL;
	if (!parse_bdat(c->arg, c->arglen, &size, &last, &why)) {
		/* the server cannot know the chunk either: what follows is commands */
		emit_command(s, c, c->arg, true);
		smtp_signal(s, SL_SIG_SMTP_BAD_BDAT, c->off, "%s", why);
		push(s, CMD_OTHER, NULL, false);
		return;
	}
	struct smtp_txn *t = s->msg;
	if (!t && !(t = open_for_content(s)) && !smtp_stopped(s))
		t = open_txn(s);
	if (!t)
		return; /* failed */
	emit_command(s, c, c->arg, true);
	if (!s->msg)
		smtp_msg_begin(s, t, true);
	struct smtp_pending *q = push(s, CMD_BDAT, t, false);
	if (!q)
		return;
	q->last = last;
	s->bdat_last = last;
	s->bdat_left = size;
	if (size)
		s->cstate = C_BDAT;
	else if (last)
		smtp_msg_end(s, s->c_pos);
}

/* RSET, HELO and EHLO end the open transaction (RFC 5321 4.1.1.1, 4.1.1.5). */
static void cmd_reset(struct sl_smtp *s, const struct cmdline *c, enum smtp_cmd cmd)
{
	if (s->msg)
		smtp_msg_abort(s, c->off, "BDAT transaction abandoned");
	close_txn(s);
	if (cmd != CMD_RSET)
		smtp_copy_str(s->helo, sizeof s->helo, (const uint8_t *)c->arg, c->arglen);
	emit_command(s, c, c->arg, true);
	push(s, cmd, NULL, false);
}

static void cmd_auth(struct sl_smtp *s, const struct cmdline *c)
{
	char value[64];
	size_t m = 0;
	while (m < c->arglen && c->arg[m] != ' ')
		m++;
	/* credentials never leave the engine: the mechanism only */
	snprintf(value, sizeof value, "%.*s%s", (int)(m < 40 ? m : 40), c->arg,
	         m < c->arglen ? " *" : "");
	emit_command(s, c, value, false);
	s->auth_mech = (uint8_t)smtp_auth_mech(c->arg, m);
	s->auth_step = 0;
	s->auth_candidate[0] = '\0';
	size_t r = m;
	while (r < c->arglen && c->arg[r] == ' ')
		r++;
	if (r < c->arglen)
		smtp_auth_identity(s, c->arg + r, c->arglen - r);
	push(s, CMD_AUTH, s->cur, true);
}

static void auth_response(struct sl_smtp *s, struct cmdline *c)
{
	s->auth_continue = false;
	snprintf(c->verb, sizeof c->verb, "AUTH-RESPONSE");
	bool cancel = c->len == 1 && c->line[0] == '*';
	emit_command(s, c, cancel ? "*" : "", false);
	if (!cancel)
		smtp_auth_identity(s, (const char *)c->line, c->len);
	push(s, CMD_AUTH_RESPONSE, s->cur, true);
}

static void command_line(struct sl_smtp *s)
{
	struct smtp_line *l = &s->cline;
	struct cmdline c = {.off = l->start, .line = l->buf, .len = l->len};
	if (c.len && l->buf[c.len - 1] == '\r')
		c.len--;
	l->buf[c.len] = '\0';
	if (memchr(l->buf, 0, c.len)) {
		smtp_signal(s, SL_SIG_SMTP_NUL, c.off, "NUL byte in a command line");
		for (size_t i = 0; i < c.len; i++)
			if (!l->buf[i])
				l->buf[i] = '?';
	}
	if (s->auth_continue) {
		auth_response(s, &c);
		return;
	}
	size_t v = 0;
	while (v < c.len && c.line[v] != ' ')
		v++;
	size_t vl = v < sizeof c.verb - 1 ? v : sizeof c.verb - 1;
	for (size_t i = 0; i < vl; i++)
		c.verb[i] = (char)toupper(c.line[i]);
	c.verb[vl] = '\0';
	while (v < c.len && c.line[v] == ' ')
		v++;
	c.arg = (const char *)c.line + v;
	c.arglen = c.len - v;

	enum smtp_cmd cmd = CMD_OTHER;
	bool known = false;
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
		/* the first letter tells most verbs apart without a call */
		if (verbs[i].verb[0] == c.verb[0] && strcmp(c.verb, verbs[i].verb) == 0) {
			cmd = verbs[i].cmd;
			known = true;
			break;
		}
	}
	switch (cmd) {
	case CMD_HELO:
	case CMD_EHLO:
	case CMD_RSET:
		cmd_reset(s, &c, cmd);
		return;
	case CMD_MAIL:
		cmd_mail(s, &c);
		return;
	case CMD_RCPT:
		cmd_rcpt(s, &c);
		return;
	case CMD_DATA:
		cmd_data(s, &c);
		return;
	case CMD_BDAT:
		cmd_bdat(s, &c);
		return;
	case CMD_AUTH:
		cmd_auth(s, &c);
		return;
	case CMD_STARTTLS:
		emit_command(s, &c, c.arg, true);
		push(s, cmd, NULL, true);
		return;
	default:
		emit_command(s, &c, c.arg, true);
		if (!known)
			smtp_signal(s, SL_SIG_SMTP_BAD_COMMAND, c.off, "%s command \"%.40s\"",
			            c.len ? "unknown" : "empty", c.verb);
		push(s, cmd, s->cur, false);
		return;
	}
}

/* Command lines until the bytes run out or a command makes what follows wait. */
size_t smtp_cmd_run(struct sl_smtp *s, const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n && s->cstate == C_CMD && !s->c_wait && !s->tls_check_client &&
	       !smtp_stopped(s)) {
		if (!s->cline.open && !smtp_may_assume(s) && !smtp_cmd_room(s)) {
			/* inline: the next command would need a reply assumed; wait for replies */
			s->c_full = true;
			break;
		}
		const uint8_t *nl = memchr(p + i, '\n', n - i);
		size_t end = nl ? (size_t)(nl - p) : n;
		if (!smtp_line_add(&s->mem, &s->cline, p + i, end - i, s->c_pos, s->lim.max_line))
			smtp_signal(s, SL_SIG_SMTP_LINE_TOO_LONG, s->cline.start,
			            "command line longer than %zu bytes", s->lim.max_line);
		if (smtp_stopped(s))
			break;
		size_t used = end - i + (nl ? 1 : 0);
		s->c_pos += used;
		i += used;
		if (!nl)
			break;
		command_line(s);
		smtp_line_reset(&s->mem, &s->cline);
	}
	return i;
}
