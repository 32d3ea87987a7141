/* Server reply lines: multi-line replies, matched in order to the commands waiting. */
#include <string.h>

#include "session.h"

/* What a REPLY event says it answers (event.h): the command at the head of the queue. */
static const char *const answered_names[] = {
	[CMD_GREETING] = "GREETING", [CMD_HELO] = "HELO", [CMD_EHLO] = "EHLO",
	[CMD_MAIL] = "MAIL", [CMD_RCPT] = "RCPT", [CMD_DATA] = "DATA",
	[CMD_END_OF_DATA] = "END-OF-DATA", [CMD_BDAT] = "BDAT", [CMD_RSET] = "RSET",
	[CMD_NOOP] = "NOOP", [CMD_VRFY] = "VRFY", [CMD_EXPN] = "EXPN", [CMD_HELP] = "HELP",
	[CMD_AUTH] = "AUTH", [CMD_AUTH_RESPONSE] = "AUTH-RESPONSE", [CMD_STARTTLS] = "STARTTLS",
	[CMD_QUIT] = "QUIT", [CMD_OTHER] = "OTHER",
};

static struct smtp_pending *queue_head(struct sl_smtp *s)
{
	return s->q_len ? &s->queue[s->q_head] : NULL;
}

static void queue_pop(struct sl_smtp *s)
{
	s->q_head = (s->q_head + 1) % s->q_cap;
	s->q_len--;
}

/* Replies that can answer one command only: 354 DATA, 334 AUTH (or an AUTH response),
 * 221 QUIT, 220 the greeting or STARTTLS. Other codes say nothing about alignment. An
 * unknown verb (XCLIENT answers 220) may get any code. */
static bool code_tells(int code)
{
	return code == 354 || code == 334 || code == 221 || code == 220;
}

static bool code_answers(int code, enum smtp_cmd cmd)
{
	switch (code) {
	case 354: return cmd == CMD_DATA;
	case 334: return cmd == CMD_AUTH || cmd == CMD_AUTH_RESPONSE;
	case 221: return cmd == CMD_QUIT;
	case 220: return cmd == CMD_GREETING || cmd == CMD_STARTTLS;
	default: return true;
	}
}

/* A reply whose code shows which command it answers, arriving when that command is
 * queued behind the head: the commands before it lost their replies (in a server gap,
 * or to a server that misaligned them, e.g. an EHLO reply ending in an unterminated
 * "250-" line swallows the next reply). They are taken as unknown. Returns how many. */
static size_t resync(struct sl_smtp *s, int code, bool after_gap)
{
	if (!code_tells(code) || !s->q_len)
		return 0;
	enum smtp_cmd head = (enum smtp_cmd)s->queue[s->q_head].cmd;
	if (code_answers(code, head) || (head == CMD_OTHER && !after_gap))
		return 0;
	size_t k = 1;
	while (k < s->q_len && !code_answers(code, (enum smtp_cmd)s->queue[(s->q_head + k) % s->q_cap].cmd))
		k++;
	if (k == s->q_len)
		return 0;
	for (size_t i = 0; i < k; i++) {
		struct smtp_pending old = *queue_head(s);
		queue_pop(s);
		smtp_resolve_unknown(s, &old, false);
	}
	return k;
}

/* The real reply to a command whose reply the engine had assumed: a contradiction
 * means bytes were read one way and the server read them another. */
static void check_assumed(struct sl_smtp *s, const struct smtp_pending *p, int code,
                          uint64_t off)
{
	const char *cmd = NULL;
	if (p->cmd == CMD_DATA && code != 354)
		cmd = "DATA (content was commands)";
	else if (p->cmd == CMD_STARTTLS && code != 220)
		cmd = "STARTTLS";
	else if ((p->cmd == CMD_AUTH || p->cmd == CMD_AUTH_RESPONSE) && code == 334)
		cmd = "AUTH (a command line was an AUTH response)";
	if (cmd)
		smtp_signal(s, SL_SIG_SMTP_DESYNC, off, "reply %d to %s contradicts the assumption",
		            code, cmd);
}

static void apply_reply(struct sl_smtp *s, const struct smtp_pending *p, int code, uint64_t off)
{
	struct smtp_txn *t = p->slot >= 0 ? s->txns[p->slot] : NULL;
	bool ok = code >= 200 && code < 300;
	if (p->assumed) {
		check_assumed(s, p, code, off);
		if (t) {
			t->refs--;
			smtp_txn_release(s, t);
		}
		return;
	}
	switch ((enum smtp_cmd)p->cmd) {
	case CMD_MAIL:
		if (ok && t) {
			s->srv_mail = true;
			s->srv_env = t->env;
			s->srv_env.rcpt = NULL;
			s->srv_env.nrcpt = 0;
		} else if (!ok && s->srv_mail && t && !t->msg_begun) {
			/* refused because a transaction is open: the server keeps its sender */
			smtp_signal(s, SL_SIG_SMTP_BAD_COMMAND, off,
			            "MAIL refused inside an open transaction; the sender stays <%.200s>",
			            s->srv_env.mail_from);
			memcpy(t->env.mail_from, s->srv_env.mail_from, sizeof t->env.mail_from);
			t->env.size_param = s->srv_env.size_param;
			t->env.body_8bitmime = s->srv_env.body_8bitmime;
			t->env.smtputf8 = s->srv_env.smtputf8;
		}
		break;
	case CMD_HELO:
	case CMD_EHLO:
	case CMD_RSET:
		if (ok)
			s->srv_mail = false;
		break;
	case CMD_RCPT:
		if (t && p->rcpt < t->env.nrcpt) {
			t->env.rcpt[p->rcpt].status = ok ? SL_RCPT_ACCEPTED : SL_RCPT_REFUSED;
			t->env.rcpt[p->rcpt].reply_code = code;
		}
		break;
	case CMD_DATA:
		if (code == 354 && t && !t->msg_begun) {
			s->cstate = C_DATA;
			smtp_msg_begin(s, t, false);
		} else if (t && !t->msg_begun) {
			smtp_txn_result(s, t, code, off); /* refused: not a message */
		}
		break;
	case CMD_END_OF_DATA:
		s->srv_mail = false;
		if (t)
			smtp_txn_result(s, t, code, off);
		break;
	case CMD_BDAT:
		if (p->last)
			s->srv_mail = false;
		if (t) {
			if (!ok && !t->bdat_fail)
				t->bdat_fail = code;
			if (p->last)
				smtp_txn_result(s, t, t->bdat_fail ? t->bdat_fail : code, off);
		}
		break;
	case CMD_AUTH:
	case CMD_AUTH_RESPONSE:
		if (code == 334) {
			s->auth_continue = true;
		} else {
			if (ok) {
				memcpy(s->auth_user, s->auth_candidate, sizeof s->auth_user);
				if (s->cur && !s->cur->msg_begun)
					memcpy(s->cur->env.auth_user, s->auth_user, sizeof s->auth_user);
			}
			s->auth_candidate[0] = '\0';
		}
		break;
	case CMD_STARTTLS:
		if (code == 220) {
			s->tls_check_client = s->tls_check_server = true;
			s->srv_mail = false; /* RFC 3207 4.2: the server forgets the session */
		}
		break;
	default:
		break;
	}
	if (p->blocks)
		s->c_wait = false;
	if (t) {
		t->refs--;
		smtp_txn_release(s, t);
	}
}

/* A whole reply (its last line) has arrived. */
static void reply_done(struct sl_smtp *s, int code, uint64_t off)
{
	if (s->late_replies) {
		s->late_replies--; /* answers a command the engine already assumed */
		return;
	}
	bool after_gap = s->s_resync;
	s->s_resync = false;
	size_t lost = resync(s, code, after_gap);
	struct smtp_pending *head = queue_head(s);
	if (!head) {
		if (s->msg && s->cstate == C_DATA && s->gap_in_msg) {
			/* the end of data was in a client gap: this is its reply */
			struct smtp_txn *t = s->msg;
			t->result_due = true;
			t->result_code = code;
			t->result_off = off;
			smtp_msg_abort(s, s->c_pos, "end of data lost in a gap");
			smtp_line_reset(&s->mem, &s->cline);
			return;
		}
		smtp_signal(s, SL_SIG_SMTP_UNSOLICITED_REPLY, off, "reply %d with no command waiting",
		            code);
		return;
	}
	struct smtp_pending p = *head;
	queue_pop(s);
	apply_reply(s, &p, code, off);
	if (lost && !after_gap) /* after a gap that is expected (smtp.gap said it) */
		smtp_signal(s, SL_SIG_SMTP_DESYNC, off,
		            "reply %d answers a later command: %zu earlier command(s) lost their replies",
		            code, lost);
	if (s->c_full && smtp_cmd_room(s))
		s->c_full = false; /* inline: a command fits again */
	if (!smtp_waiting(s) && s->held_len)
		smtp_drain_held(s);
}

static void reply_line(struct sl_smtp *s)
{
	struct smtp_line *l = &s->sline;
	const uint8_t *line = l->buf;
	size_t len = l->len;
	if (len && line[len - 1] == '\r')
		len--;
	l->buf[len] = '\0';
	bool valid = len >= 3 && line[0] >= '1' && line[0] <= '5' && line[1] >= '0' &&
	             line[1] <= '9' && line[2] >= '0' && line[2] <= '9' &&
	             (len == 3 || line[3] == ' ' || line[3] == '-');
	if (!valid) {
		smtp_signal(s, SL_SIG_SMTP_BAD_REPLY, l->start, "server line is not a reply");
		return;
	}
	int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	bool last = len == 3 || line[3] == ' ';
	if (s->s_multi && code != s->multi_code) {
		/* a multi-line reply keeps its code: this line starts the next reply, and the
		 * one before ended without its last line */
		smtp_signal(s, SL_SIG_SMTP_DESYNC, l->start,
		            "multi-line reply %d ended without a last line; %d follows", s->multi_code,
		            code);
		s->s_multi = false;
		reply_done(s, s->multi_code, s->reply_off);
		if (smtp_stopped(s) || s->encrypted)
			return;
	}
	if (!s->s_multi) {
		s->reply_off = l->start;
		s->multi_code = code;
	}
	s->s_multi = !last;
	const struct smtp_pending *head = queue_head(s);
	struct sl_event ev = {
		.type = SL_EV_REPLY,
		.txn = head && !s->late_replies ? head->txn : smtp_txn_now(s),
		.offset = l->start,
		.data = line,
		.len = len,
		.value = len > 4 ? (const char *)line + 4 : "",
		.code = code,
		.last = last,
		.name = head && !s->late_replies && head->cmd < sizeof answered_names / sizeof answered_names[0]
		        ? answered_names[head->cmd] : NULL,
	};
	smtp_emit(s, &ev);
	if (last)
		reply_done(s, code, s->reply_off);
}

void smtp_server_run(struct sl_smtp *s, const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n && !s->encrypted && !smtp_stopped(s)) {
		if (s->tls_check_server && !s->sline.open) {
			/* the server's first byte after its 220 to STARTTLS */
			if (p[i] == 0x16) {
				smtp_set_encrypted(s);
				break;
			}
			s->tls_check_server = false;
		}
		const uint8_t *nl = memchr(p + i, '\n', n - i);
		size_t end = nl ? (size_t)(nl - p) : n;
		if (!smtp_line_add(&s->mem, &s->sline, p + i, end - i, s->s_pos, s->lim.max_line))
			smtp_signal(s, SL_SIG_SMTP_LINE_TOO_LONG, s->sline.start,
			            "reply line longer than %zu bytes", s->lim.max_line);
		size_t used = end - i + (nl ? 1 : 0);
		s->s_pos += used;
		i += used;
		if (!nl || smtp_stopped(s))
			break;
		reply_line(s);
		smtp_line_reset(&s->mem, &s->sline);
	}
	s->s_pos += n - i;
}
