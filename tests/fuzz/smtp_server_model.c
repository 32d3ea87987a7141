#include "smtp_server_model.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LINE_LIMIT 2048      /* Postfix line_length_limit: a longer command is cut */
#define HARD_ERROR_LIMIT 20  /* smtpd_hard_error_limit */
#define MAX_CHUNK 1000000000ull

void ssm_init(struct ssm *m, const struct ssm_ops *ops)
{
	memset(m, 0, sizeof *m);
	m->ops = *ops;
	sl_strbuf_init(&m->line);
	sl_strbuf_init(&m->msg);
}

void ssm_free(struct ssm *m)
{
	sl_strbuf_free(&m->line);
	sl_strbuf_free(&m->msg);
}

static void say(struct ssm *m, const char *text)
{
	if (m->ops.reply)
		m->ops.reply(m->ops.arg, text, strlen(text));
}

static void close_session(struct ssm *m)
{
	m->mode = SSM_CLOSED;
	if (m->ops.close)
		m->ops.close(m->ops.arg);
}

static bool refuse(struct ssm *m)
{
	if (!m->tape_len)
		return false;
	bool r = m->tape[m->tape_head] != 0;
	m->tape_head = (m->tape_head + 1) % sizeof m->tape;
	m->tape_len--;
	return r;
}

void ssm_decide(struct ssm *m, uint8_t bits)
{
	for (int i = 0; i < 8 && m->tape_len < sizeof m->tape; i++) {
		m->tape[(m->tape_head + m->tape_len) % sizeof m->tape] = (bits >> i) & 1;
		m->tape_len++;
	}
}

static void new_session(struct ssm *m)
{
	m->mail = m->rcpt = m->chunk_refused = false;
	m->errors = 0;
	sl_strbuf_clear(&m->line);
	sl_strbuf_clear(&m->msg);
}

void ssm_open(struct ssm *m)
{
	new_session(m);
	m->mode = SSM_COMMAND;
	say(m, "220 mx.example.net ESMTP Postfix\r\n");
}

static void transaction_reset(struct ssm *m)
{
	m->mail = m->rcpt = m->chunk_refused = false;
	sl_strbuf_clear(&m->msg);
}

static void commit(struct ssm *m)
{
	m->committed++;
	if (m->ops.commit)
		m->ops.commit(m->ops.arg, (const uint8_t *)m->msg.s, m->msg.len);
}

/* A client error: counted; too many end the session (Postfix's hard error limit). */
static void error(struct ssm *m, const char *text)
{
	say(m, text);
	if (++m->errors >= HARD_ERROR_LIMIT) {
		say(m, "421 4.7.0 mx.example.net Error: too many errors\r\n");
		close_session(m);
	}
}

/* ---- commands ------------------------------------------------------------------------ */

/* The first word of a command line, and what follows it (spaces skipped). */
static const char *verb_is(const char *line, const char *verb)
{
	size_t n = strlen(verb);
	if (strncasecmp(line, verb, n) != 0 || (line[n] && line[n] != ' ' && line[n] != '\t'))
		return NULL;
	const char *arg = line + n;
	while (*arg == ' ' || *arg == '\t')
		arg++;
	return arg;
}

static bool parse_bdat(const char *arg, uint64_t *size, bool *last)
{
	if (!isdigit((unsigned char)*arg))
		return false;
	uint64_t v = 0;
	while (isdigit((unsigned char)*arg)) {
		v = v * 10 + (uint64_t)(*arg++ - '0');
		if (v > MAX_CHUNK)
			return false;
	}
	while (*arg == ' ' || *arg == '\t')
		arg++;
	*last = false;
	if (strncasecmp(arg, "LAST", 4) == 0) {
		*last = true;
		arg += 4;
		while (*arg == ' ' || *arg == '\t')
			arg++;
	}
	*size = v;
	return *arg == 0;
}

/* The end of a BDAT chunk: the transaction's answer, and the message once LAST. */
static void chunk_end(struct ssm *m)
{
	m->mode = SSM_COMMAND;
	if (!m->mail || !m->rcpt) {
		error(m, "503 5.5.1 Error: need RCPT command\r\n");
		sl_strbuf_clear(&m->msg);
		return;
	}
	bool refused = m->chunk_refused || refuse(m);
	if (refused) {
		m->chunk_refused = true;
		say(m, "554 5.7.1 Chunk refused\r\n");
	} else if (m->chunk_last) {
		commit(m);
		say(m, "250 2.0.0 Ok: queued as 4F2C1B\r\n");
	} else {
		say(m, "250 2.0.0 Ok: chunk received\r\n");
	}
	if (m->chunk_last)
		transaction_reset(m);
}

static void command_bdat(struct ssm *m, const char *arg)
{
	uint64_t size;
	bool last;
	if (!parse_bdat(arg, &size, &last)) {
		error(m, "501 5.5.4 Syntax: BDAT count [LAST]\r\n");
		return;
	}
	m->chunk_left = size;
	m->chunk_last = last;
	if (m->chunk_refused || !m->mail)
		sl_strbuf_clear(&m->msg);
	m->mode = SSM_CHUNK;
	if (!size)
		chunk_end(m);
}

static void command(struct ssm *m, const char *line)
{
	const char *arg;
	if ((arg = verb_is(line, "EHLO"))) {
		transaction_reset(m);
		say(m, "250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
		       "250-STARTTLS\r\n250-8BITMIME\r\n250-CHUNKING\r\n250 SMTPUTF8\r\n");
	} else if ((arg = verb_is(line, "HELO"))) {
		transaction_reset(m);
		say(m, "250 mx.example.net\r\n");
	} else if ((arg = verb_is(line, "MAIL"))) {
		if (strncasecmp(arg, "FROM:", 5) != 0)
			error(m, "501 5.5.4 Syntax: MAIL FROM:<address>\r\n");
		else if (m->mail)
			error(m, "503 5.5.1 Error: nested MAIL command\r\n");
		else if (refuse(m))
			say(m, "553 5.7.1 Sender address rejected\r\n");
		else {
			m->mail = true;
			say(m, "250 2.1.0 Ok\r\n");
		}
	} else if ((arg = verb_is(line, "RCPT"))) {
		if (strncasecmp(arg, "TO:", 3) != 0)
			error(m, "501 5.5.4 Syntax: RCPT TO:<address>\r\n");
		else if (!m->mail)
			error(m, "503 5.5.1 Error: need MAIL command\r\n");
		else if (refuse(m))
			say(m, "550 5.1.1 Recipient address rejected\r\n");
		else {
			m->rcpt = true;
			say(m, "250 2.1.5 Ok\r\n");
		}
	} else if ((arg = verb_is(line, "DATA"))) {
		if (*arg)
			error(m, "501 5.5.4 Syntax: DATA\r\n");
		else if (!m->mail)
			error(m, "503 5.5.1 Error: need RCPT command\r\n");
		else if (!m->rcpt)
			error(m, "554 5.5.1 Error: no valid recipients\r\n");
		else if (refuse(m))
			say(m, "451 4.3.0 Error: queue file write error\r\n");
		else {
			sl_strbuf_clear(&m->msg);
			m->mode = SSM_DATA;
			say(m, "354 End data with <CR><LF>.<CR><LF>\r\n");
		}
	} else if ((arg = verb_is(line, "BDAT"))) {
		command_bdat(m, arg);
	} else if ((arg = verb_is(line, "RSET"))) {
		transaction_reset(m);
		say(m, "250 2.0.0 Ok\r\n");
	} else if ((arg = verb_is(line, "NOOP"))) {
		say(m, "250 2.0.0 Ok\r\n");
	} else if ((arg = verb_is(line, "QUIT"))) {
		say(m, "221 2.0.0 Bye\r\n");
		close_session(m);
	} else if ((arg = verb_is(line, "STARTTLS"))) {
		if (*arg)
			error(m, "501 5.5.4 Syntax: STARTTLS\r\n");
		else if (m->mail)
			error(m, "503 5.5.1 Error: MAIL transaction in progress\r\n");
		else if (refuse(m))
			say(m, "454 4.7.0 TLS not available due to local problem\r\n");
		else {
			say(m, "220 2.0.0 Ready to start TLS\r\n");
			m->mode = SSM_TLS;
		}
	} else if ((arg = verb_is(line, "AUTH"))) {
		error(m, "503 5.5.1 Error: authentication not enabled\r\n");
	} else if (!*line) {
		error(m, "500 5.5.2 Error: bad syntax\r\n");
	} else {
		error(m, "502 5.5.2 Error: command not recognized\r\n");
	}
}

/* ---- reading ------------------------------------------------------------------------- */

/* A whole command line (LF and trailing CRs removed). */
static void command_line(struct ssm *m)
{
	while (m->line.len && m->line.s[m->line.len - 1] == '\r')
		m->line.len--;
	sl_strbuf_putc(&m->line, 0); /* NUL-terminated for the parser (a NUL inside ends it) */
	command(m, m->line.s);
}

/* A whole DATA line, LF included. */
static void data_line(struct ssm *m)
{
	const char *s = m->line.s;
	size_t n = m->line.len, body = n - 1;
	while (body && s[body - 1] == '\r')
		body--;
	/* a "." line ends the data; one longer than Postfix's record limit never does (its
	 * first record is not the whole line) */
	if (body == 1 && s[0] == '.' && n <= LINE_LIMIT) {
		m->mode = SSM_COMMAND;
		commit(m);
		if (refuse(m))
			say(m, "554 5.7.1 Message refused\r\n");
		else
			say(m, "250 2.0.0 Ok: queued as 4F2C1A\r\n");
		transaction_reset(m);
		return;
	}
	if (s[0] == '.') {
		s++;
		n--;
	}
	sl_strbuf_put(&m->msg, s, n);
}

void ssm_input(struct ssm *m, const uint8_t *p, size_t n)
{
	const uint8_t *start = p;
	while (n) {
		switch (m->mode) {
		case SSM_IDLE:
		case SSM_TLS:
		case SSM_CLOSED:
			return;
		case SSM_CHUNK: {
			size_t take = n < m->chunk_left ? n : (size_t)m->chunk_left;
			sl_strbuf_put(&m->msg, p, take);
			p += take;
			n -= take;
			m->chunk_left -= take;
			if (!m->chunk_left)
				chunk_end(m);
			continue;
		}
		case SSM_COMMAND:
		case SSM_DATA:
			break;
		}
		const uint8_t *lf = memchr(p, '\n', n);
		size_t before_lf = lf ? (size_t)(lf - p) : n, take = before_lf + (lf != NULL);
		if (m->mode == SSM_COMMAND) {
			/* Postfix reads a command up to the limit and skips the rest of the line */
			size_t room = m->line.len < LINE_LIMIT ? LINE_LIMIT - m->line.len : 0;
			sl_strbuf_put(&m->line, p, before_lf < room ? before_lf : room);
		} else {
			sl_strbuf_put(&m->line, p, take);
		}
		p += take;
		n -= take;
		if (!lf)
			return;
		if (m->mode == SSM_COMMAND) {
			command_line(m);
			if (m->mode == SSM_TLS)
				m->tls_at = (size_t)(p - start);
		} else
			data_line(m);
		sl_strbuf_clear(&m->line);
	}
}

void ssm_eof(struct ssm *m)
{
	if (m->mode == SSM_IDLE || m->mode == SSM_CLOSED)
		return;
	/* an unfinished message is lost; the server closes too */
	close_session(m);
}

void ssm_reset(struct ssm *m)
{
	m->mode = SSM_IDLE;
	new_session(m);
}
