/* SMTP/LMTP journaling listener for mail hosts: a small receiver whose 250 means "the
 * copy is durable in the archive" (docs/archive.md "Mail hosts"). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "net.h"

#define MAX_MESSAGE (SL_JOURNAL_MAX_PAYLOAD - (1u << 20))
#define MAX_RCPTS 10000
#define BUDGET_STEP (1u << 20)

struct txn {
	char mail_from[SL_JOURNAL_MAX_FIELD + 1];
	bool have_from;
	char **rcpt;
	size_t nrcpt;
};

static void txn_reset(struct txn *t)
{
	for (size_t i = 0; i < t->nrcpt; i++)
		free(t->rcpt[i]);
	free(t->rcpt);
	memset(t, 0, sizeof *t);
}

static int say(struct ar_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int say(struct ar_conn *c, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n > sizeof buf - 3)
		n = (int)sizeof buf - 3;
	memcpy(buf + n, "\r\n", 2);
	return ar_conn_write(c, buf, (size_t)n + 2);
}

/* The path of "MAIL FROM:<x> params" / "RCPT TO:<x>": x into out. */
static bool parse_path(const char *arg, char *out, size_t max)
{
	while (*arg == ' ')
		arg++;
	const char *lt = strchr(arg, '<');
	const char *gt = lt ? strchr(lt, '>') : NULL;
	size_t n;
	const char *p;
	if (lt && gt) {
		p = lt + 1;
		n = (size_t)(gt - lt - 1);
	} else {
		p = arg;
		n = strcspn(arg, " \r\n");
	}
	if (n > max)
		return false;
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

/* DATA: read to the lone dot, unstuffing. 0 ok, 1 too large (read to the end
 * anyway), 2 no memory budget left (read to the end, tempfail), -1 connection lost.
 * The message's bytes are taken from the server's budget as it grows (*held). */
static int read_data(struct ar_session *ss, struct sl_strbuf *msg, size_t *held)
{
	struct ar_conn *c = &ss->c;
	char line[65536];
	int fate = 0;
	for (;;) {
		ssize_t n = ar_conn_line(c, line, sizeof line);
		if (n == 0)
			return -1;
		if (n < 0) {
			/* a line over 64 KiB (RFC 5321 allows 1000): its tail is gone, so the
			 * copy would not be exact: refuse the message */
			fate = fate ? fate : 1;
			continue;
		}
		if ((n == 3 && !memcmp(line, ".\r\n", 3)) || (n == 2 && !memcmp(line, ".\n", 2)))
			return fate;
		const char *p = line;
		if (line[0] == '.') {
			p++;
			n--;
		}
		if (msg->len + (size_t)n > MAX_MESSAGE)
			fate = fate ? fate : 1;
		/* a connection already holding bytes does not wait for more (two could wait
		 * for each other): the message is refused for now */
		while (!fate && msg->len + (size_t)n > *held) {
			if (!ar_budget_take(ss->srv, BUDGET_STEP, *held == 0, c))
				fate = 2;
			else
				*held += BUDGET_STEP;
		}
		if (!fate)
			sl_strbuf_put(msg, p, (size_t)n);
	}
}

/* Store one message; returns the reply to give (code and text). */
static int deliver(struct ar_session *ss, const char *helo, struct txn *t,
	struct sl_strbuf *msg, char *text, size_t textlen)
{
	struct ar_server *srv = ss->srv;
	struct ar_origin o = { .via = AR_VIA_SMTP };
	ar_origin_now(&o);
	snprintf(o.peer, sizeof o.peer, "%s", ss->peer);
	snprintf(o.addr, sizeof o.addr, "%s", ss->addr);
	/* the source is the authenticated mail host (or what the operator named it), not
	 * the HELO name the client chose */
	const char *source = srv->smtp_source && *srv->smtp_source ? srv->smtp_source : ss->peer;
	struct sl_journal_record r = {
		.time_us = o.received_us,
		.source_kind = SL_JSOURCE_MAILHOST, .source = source,
		.direction = srv->smtp_direction, .mail_from = t->mail_from,
		.rcpt = (const char *const *)t->rcpt, .nrcpt = t->nrcpt,
		.client = ss->addr, .server = ss->local, .helo = helo, .verdict = "none",
		.message = (const uint8_t *)(msg->s ? msg->s : ""), .message_len = msg->len,
	};
	struct ar_prepared *p = calloc(1, sizeof *p);
	if (!p) {
		snprintf(text, textlen, "4.3.0 out of memory, try again later");
		return 451;
	}
	ar_prepare_record(srv->s, &r, &o, p);
	int code;
	if (p->status != AR_INGEST_REFUSED) {
		ar_committer_enqueue(srv->cm, p);
		ar_committer_wait(srv->cm, p);
	} else {
		ar_committer_count_refused(srv->cm);
		__atomic_add_fetch(&srv->refused, 1, __ATOMIC_RELAXED);
	}
	switch (p->status) {
	case AR_INGEST_STORED:
	case AR_INGEST_DUPLICATE:
		code = 250;
		snprintf(text, textlen, "2.0.0 archived as message %u%s", p->docid,
			p->status == AR_INGEST_DUPLICATE ? " (duplicate)" : "");
		__atomic_add_fetch(&srv->records, 1, __ATOMIC_RELAXED);
		break;
	case AR_INGEST_REFUSED:
		code = 554;
		snprintf(text, textlen, "5.6.0 refused: %s", p->reason);
		break;
	default:
		code = 451;
		snprintf(text, textlen, "4.3.0 not stored, try again later: %s", p->reason);
		break;
	}
	ar_prepared_free(p);
	free(p);
	return code;
}

/* STARTTLS: the handshake, the certificate's name against the allowlist, a slot among
 * the authenticated. false: the connection ends (what was said is said). */
static bool starttls(struct ar_session *ss)
{
	struct ar_server *srv = ss->srv;
	struct ar_conn *c = &ss->c;
	char err[256], peer[256] = "";
	if (ar_conn_buffered(c)) {
		say(c, "554 5.5.1 commands pipelined after STARTTLS: closing");
		fprintf(stderr, "sluice-archive: smtp %s: clear-text commands pipelined after STARTTLS\n",
			ss->addr);
		return false;
	}
	say(c, "220 2.0.0 ready to start TLS");
	if (ar_conn_tls_accept(c, srv->tls, err, sizeof err) < 0) {
		__atomic_add_fetch(&srv->tls_failures, 1, __ATOMIC_RELAXED);
		fprintf(stderr, "sluice-archive: smtp %s: %s\n", ss->addr, err);
		return false;
	}
	if (ar_tls_peer_name(c->ssl, peer, sizeof peer) < 0 || !ar_allowed(&srv->smtp_allow, peer)) {
		say(c, "554 5.7.1 certificate \"%s\" is not allowed to journal here", peer);
		fprintf(stderr, "sluice-archive: smtp %s: peer \"%s\" is not allowed to submit\n",
			ss->addr, peer);
		return false;
	}
	if (!ar_session_authenticated(ss, peer)) {
		say(c, "421 4.7.0 too many connections, try again later");
		return false;
	}
	return true;
}

void ar_smtp_session(struct ar_session *ss)
{
	struct ar_server *srv = ss->srv;
	struct ar_conn *c = &ss->c;
	struct txn t = { 0 };
	bool tls = false;
	char helo[256] = "";
	char line[4096 + 2];
	struct sl_strbuf msg;
	sl_strbuf_init(&msg);
	const char *greet_verb = srv->lmtp ? "LHLO" : "EHLO";
	say(c, "220 %s sluice-archive %s journal", srv->hostname, srv->lmtp ? "LMTP" : "ESMTP");
	for (;;) {
		ssize_t n = ar_conn_line(c, line, sizeof line - 1);
		if (n == 0)
			break;
		if (n < 0) {
			say(c, "500 5.5.2 line too long");
			continue;
		}
		line[n] = '\0';
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		char verb[16] = "";
		size_t vl = strcspn(line, " ");
		if (vl < sizeof verb) {
			memcpy(verb, line, vl);
			verb[vl] = '\0';
		}
		const char *arg = line + vl;
		while (*arg == ' ')
			arg++;
		bool greeting = !strcasecmp(verb, greet_verb) || (!srv->lmtp && !strcasecmp(verb, "HELO"));
		if (!tls && !greeting && strcasecmp(verb, "STARTTLS") && strcasecmp(verb, "NOOP") &&
		    strcasecmp(verb, "RSET") && strcasecmp(verb, "QUIT")) {
			/* nothing is taken from a peer that has not proved who it is */
			say(c, "530 5.7.0 must issue a STARTTLS command first");
		} else if (greeting) {
			snprintf(helo, sizeof helo, "%s", arg);
			txn_reset(&t);
			if (!strcasecmp(verb, "HELO"))
				say(c, "250 %s", srv->hostname);
			else
				say(c, "250-%s\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SIZE %u\r\n"
				       "%s250 ENHANCEDSTATUSCODES", srv->hostname, MAX_MESSAGE,
					tls ? "" : "250-STARTTLS\r\n");
		} else if (!strcasecmp(verb, "STARTTLS")) {
			if (tls) {
				say(c, "503 5.5.1 TLS already active");
				continue;
			}
			if (!starttls(ss))
				break;
			tls = true;
			helo[0] = '\0'; /* RFC 3207: forget what was said in the clear */
			txn_reset(&t);
		} else if (!strcasecmp(verb, "MAIL") && !strncasecmp(arg, "FROM:", 5)) {
			if (t.have_from) {
				say(c, "503 5.5.1 nested MAIL command");
			} else if (!parse_path(arg + 5, t.mail_from, SL_JOURNAL_MAX_FIELD)) {
				say(c, "501 5.1.7 bad sender address");
			} else {
				t.have_from = true;
				say(c, "250 2.1.0 ok");
			}
		} else if (!strcasecmp(verb, "RCPT") && !strncasecmp(arg, "TO:", 3)) {
			char addr[SL_JOURNAL_MAX_FIELD + 1];
			if (!t.have_from) {
				say(c, "503 5.5.1 need MAIL first");
			} else if (!parse_path(arg + 3, addr, SL_JOURNAL_MAX_FIELD) || !*addr) {
				say(c, "501 5.1.3 bad recipient address");
			} else if (t.nrcpt >= MAX_RCPTS) {
				say(c, "452 4.5.3 too many recipients");
			} else {
				t.rcpt = realloc(t.rcpt, (t.nrcpt + 1) * sizeof *t.rcpt);
				t.rcpt[t.nrcpt++] = strdup(addr);
				say(c, "250 2.1.5 ok");
			}
		} else if (!strcasecmp(verb, "DATA")) {
			if (!t.have_from || !t.nrcpt) {
				say(c, "503 5.5.1 need MAIL and RCPT first");
				continue;
			}
			say(c, "354 end data with <CR><LF>.<CR><LF>");
			sl_strbuf_clear(&msg);
			size_t held = 0;
			int r = read_data(ss, &msg, &held);
			if (r < 0) {
				ar_budget_give(srv, held);
				break;
			}
			char text[400];
			int code;
			if (r == 1) {
				code = 552;
				snprintf(text, sizeof text, "5.3.4 message too big or lines too long for the archive");
			} else if (r == 2) {
				code = 452;
				snprintf(text, sizeof text, "4.3.1 the archive is short of memory, try again later");
			} else {
				code = deliver(ss, helo, &t, &msg, text, sizeof text);
			}
			sl_strbuf_free(&msg); /* (the memory goes with the budget) */
			ar_budget_give(srv, held);
			/* LMTP: one reply per recipient (the copy is one record for all) */
			size_t replies = srv->lmtp ? t.nrcpt : 1;
			for (size_t i = 0; i < replies; i++)
				say(c, "%d %s", code, text);
			txn_reset(&t);
		} else if (!strcasecmp(verb, "RSET")) {
			txn_reset(&t);
			say(c, "250 2.0.0 ok");
		} else if (!strcasecmp(verb, "NOOP")) {
			say(c, "250 2.0.0 ok");
		} else if (!strcasecmp(verb, "VRFY")) {
			say(c, "252 2.5.0 cannot verify, send anyway");
		} else if (!strcasecmp(verb, "QUIT")) {
			say(c, "221 2.0.0 bye");
			break;
		} else {
			say(c, "502 5.5.2 command not implemented");
		}
		if (srv->stopping)
			break;
	}
	txn_reset(&t);
	sl_strbuf_free(&msg);
}
