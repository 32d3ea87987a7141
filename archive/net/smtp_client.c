/* Re-injection: one message handed to a mail host by SMTP (quarantine release). The
 * conversation is the minimum a relay needs, every wait bounded, every answer checked;
 * the message goes out as stored, dot-stuffed, so the host receives its exact bytes. */
#include "net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "sluice/strbuf.h"

/* One reply (all its lines): the code, the last line in `text` (CRLF cut); -1 when
 * the connection broke, timed out or the reply is not SMTP. */
static int read_reply(struct ar_conn *c, char *text, size_t textlen)
{
	char line[1024]; /* longer reply lines end the conversation */
	for (int lines = 0; lines < 100; lines++) {
		ssize_t n = ar_conn_line(c, line, sizeof line - 1);
		if (n <= 0)
			return -1;
		line[n] = '\0';
		line[strcspn(line, "\r\n")] = '\0';
		if (strlen(line) < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' ||
		    line[1] > '9' || line[2] < '0' || line[2] > '9' ||
		    (line[3] && line[3] != ' ' && line[3] != '-'))
			return -1;
		if (line[3] != '-') {
			snprintf(text, textlen, "%.500s", line);
			return atoi(line);
		}
	}
	return -1;
}

/* Send a command line and read its reply; true when the code is in [lo, hi]. */
static bool step(struct ar_conn *c, const char *cmd, int lo, int hi, char *reply, size_t replylen)
{
	if (cmd && ar_conn_write(c, cmd, strlen(cmd)) < 0) {
		snprintf(reply, replylen, "connection lost sending %.*s", (int)strcspn(cmd, "\r"), cmd);
		return false;
	}
	char text[512];
	int code = read_reply(c, text, sizeof text);
	if (code < 0) {
		snprintf(reply, replylen, "%s %s", cmd ? "no valid answer to" : "no valid greeting",
			 cmd ? cmd : "");
		reply[strcspn(reply, "\r\n")] = '\0';
		return false;
	}
	snprintf(reply, replylen, "%s", text);
	return code >= lo && code <= hi;
}

/* The message as DATA: a '.' starting a line doubled, then the final dot. */
static void dot_stuff(const uint8_t *msg, size_t len, struct sl_strbuf *out)
{
	bool line_start = true;
	size_t from = 0;
	for (size_t i = 0; i < len; i++) {
		if (line_start && msg[i] == '.') {
			sl_strbuf_put(out, msg + from, i - from);
			sl_strbuf_putc(out, '.');
			from = i;
		}
		line_start = msg[i] == '\n';
	}
	sl_strbuf_put(out, msg + from, len - from);
	sl_strbuf_puts(out, len && msg[len - 1] == '\n' ? ".\r\n" : "\r\n.\r\n");
}

/* STARTTLS, the handshake (the server's certificate checked), and EHLO again. */
static bool start_tls(struct ar_conn *c, const char *addr, const struct ar_smtp_tls *tls,
	const char *ehlo, SSL_CTX **ctx, char *reply, size_t replylen)
{
	if (!step(c, "STARTTLS\r\n", 220, 220, reply, replylen)) {
		char why[400];
		snprintf(why, sizeof why, "%s", reply);
		snprintf(reply, replylen, "STARTTLS refused: %s", why);
		return false;
	}
	char host[256];
	const char *name = tls->name;
	if (!name) { /* the address's host part */
		snprintf(host, sizeof host, "%s", addr[0] == '[' ? addr + 1 : addr);
		char *end = strrchr(host, addr[0] == '[' ? ']' : ':');
		if (end)
			*end = '\0';
		name = host;
	}
	char err[256];
	if (!(*ctx = ar_tls_client_ctx(tls->ca, tls->cert, tls->key, err, sizeof err)) ||
	    ar_conn_tls_connect(c, *ctx, name, err, sizeof err) < 0) {
		snprintf(reply, replylen, "%s", err);
		return false;
	}
	return step(c, ehlo, 250, 250, reply, replylen);
}

int ar_smtp_send(const char *addr, const struct ar_smtp_envelope *env,
	const struct ar_smtp_tls *tls, const uint8_t *msg, size_t len, int timeout_ms, char *reply,
	size_t replylen)
{
	char err[256];
	int fd = sl_journal_tcp_connect(addr, timeout_ms, err, sizeof err);
	if (fd < 0) {
		snprintf(reply, replylen, "%s", err);
		return -1;
	}
	struct ar_conn *c = malloc(sizeof *c);
	if (!c) {
		snprintf(reply, replylen, "out of memory");
		return -1;
	}
	/* the whole conversation within ten idle timeouts (a large message takes a while) */
	ar_conn_init(c, fd, timeout_ms, 10 * timeout_ms);
	struct sl_strbuf cmd, data;
	sl_strbuf_init(&cmd);
	sl_strbuf_init(&data);
	bool ok = step(c, NULL, 220, 220, reply, replylen);
	SSL_CTX *ctx = NULL;
	if (ok) {
		sl_strbuf_printf(&cmd, "EHLO %s\r\n", env->helo);
		ok = step(c, cmd.s, 250, 250, reply, replylen);
	}
	/* with TLS asked for, nothing of the message goes in the clear */
	if (ok && tls && tls->ca)
		ok = start_tls(c, addr, tls, cmd.s, &ctx, reply, replylen);
	if (ok) {
		sl_strbuf_clear(&cmd);
		sl_strbuf_printf(&cmd, "MAIL FROM:<%s>\r\n", env->mail_from ? env->mail_from : "");
		ok = step(c, cmd.s, 250, 250, reply, replylen);
	}
	size_t accepted = 0;
	for (size_t i = 0; ok && i < env->nrcpt; i++) {
		sl_strbuf_clear(&cmd);
		sl_strbuf_printf(&cmd, "RCPT TO:<%s>\r\n", env->rcpt[i]);
		/* every recipient must be taken: a partial release would be a silent loss */
		ok = step(c, cmd.s, 250, 251, reply, replylen);
		accepted += ok;
	}
	ok = ok && accepted > 0 && step(c, "DATA\r\n", 354, 354, reply, replylen);
	if (ok) {
		dot_stuff(msg, len, &data);
		ok = !sl_strbuf_failed(&data) && ar_conn_write(c, data.s, data.len) == 0;
		if (!ok)
			snprintf(reply, replylen, "connection lost sending the message");
	}
	ok = ok && step(c, NULL, 250, 250, reply, replylen);
	if (ok) {
		char bye[256];
		step(c, "QUIT\r\n", 221, 221, bye, sizeof bye); /* the message is taken either way */
	}
	sl_strbuf_free(&cmd);
	sl_strbuf_free(&data);
	ar_conn_close(c);
	SSL_CTX_free(ctx);
	free(c);
	return ok ? 0 : -1;
}
