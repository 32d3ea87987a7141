/* A message file through the SMTP session (which drives the MIME parser), as a client
 * sends it: the events the matcher sees are the dataplane's (`rules test`, `rules
 * cost`). */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules.h"
#include "sluice/smtp.h"

struct addrs {
	char (*v)[SL_ADDR_MAX];
	size_t n, cap;
};

static void add_addr(struct addrs *a, const char *s, size_t n)
{
	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	if (!n || n >= SL_ADDR_MAX || !memchr(s, '@', n))
		return;
	if (a->n == a->cap) {
		a->cap = a->cap ? 2 * a->cap : 8;
		a->v = realloc(a->v, a->cap * sizeof *a->v);
		if (!a->v)
			abort();
	}
	memcpy(a->v[a->n], s, n);
	a->v[a->n++][n] = '\0';
}

/* Addresses of an address-list header value: `<addr>` when present, else the token
 * holding '@'; quoted strings and comments skipped. */
static void parse_addresses(const char *v, struct addrs *out)
{
	const char *p = v;
	while (*p) {
		const char *start = p, *lt = NULL, *gt = NULL;
		bool quoted = false;
		int comment = 0;
		for (; *p; p++) {
			if (quoted) {
				if (*p == '\\' && p[1])
					p++;
				else if (*p == '"')
					quoted = false;
			} else if (comment) {
				comment += *p == '(' ? 1 : *p == ')' ? -1 : 0;
			} else if (*p == '"') {
				quoted = true;
			} else if (*p == '(') {
				comment = 1;
			} else if (*p == '<') {
				lt = p;
			} else if (*p == '>' && lt) {
				gt = p;
			} else if (*p == ',' || *p == ';') {
				break;
			}
		}
		if (lt && gt) {
			add_addr(out, lt + 1, (size_t)(gt - lt - 1));
		} else {
			/* the last whitespace- or colon-separated token with an '@' */
			const char *end = p, *tok = end;
			while (tok > start && !isspace((unsigned char)tok[-1]) && tok[-1] != ':')
				tok--;
			add_addr(out, tok, (size_t)(end - tok));
		}
		if (*p)
			p++;
	}
}

/* From/To/Cc/Bcc of the top-level header block, unfolded. */
static void header_envelope(const uint8_t *msg, size_t len, struct addrs *from, struct addrs *rcpt)
{
	char *field = malloc(len + 1);
	if (!field)
		abort();
	size_t i = 0, fl = 0;
	for (;;) {
		/* one physical line */
		size_t e = i;
		while (e < len && msg[e] != '\n')
			e++;
		size_t le = e;
		if (le > i && msg[le - 1] == '\r')
			le--;
		bool cont = le > i && (msg[i] == ' ' || msg[i] == '\t');
		bool end = le == i || i >= len;
		if (!cont && fl) {
			field[fl] = '\0';
			char *colon = strchr(field, ':');
			if (colon) {
				*colon = '\0';
				if (strcasecmp(field, "From") == 0)
					parse_addresses(colon + 1, from);
				else if (strcasecmp(field, "To") == 0 || strcasecmp(field, "Cc") == 0 ||
				         strcasecmp(field, "Bcc") == 0)
					parse_addresses(colon + 1, rcpt);
			}
			fl = 0;
		}
		if (end)
			break;
		memcpy(field + fl, msg + i, le - i);
		fl += le - i;
		i = e + 1;
		if (i > len)
			break;
	}
	free(field);
}

/* The DATA payload: CRLF line ends when the file has no CR at all (a client would
 * send CRLF), dot-stuffing at every line start, then the terminator. Bare LF inside
 * a CRLF file is left as it is: it reaches the SMTP session, as it would on the wire. */
static uint8_t *data_payload(const uint8_t *msg, size_t len, size_t *out_len)
{
	bool has_cr = memchr(msg, '\r', len) != NULL;
	uint8_t *out = malloc(3 * len + 8);
	if (!out)
		abort();
	size_t o = 0;
	bool line_start = true;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = msg[i];
		if (line_start && c == '.')
			out[o++] = '.';
		if (c == '\n' && !has_cr)
			out[o++] = '\r';
		out[o++] = c;
		/* a line starts after CRLF (or after LF in a file we convert) */
		line_start = c == '\n' && (!has_cr || (i > 0 && msg[i - 1] == '\r'));
	}
	if (o < 2 || out[o - 2] != '\r' || out[o - 1] != '\n') {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	memcpy(out + o, ".\r\n", 3);
	*out_len = o + 3;
	return out;
}

struct feed {
	void (*fn)(void *, const struct sl_event *);
	void *ctx;
	bool ended;
};

static void on_event(void *ctx, const struct sl_event *ev)
{
	struct feed *f = ctx;
	if (ev->type == SL_EV_MESSAGE_END)
		f->ended = true;
	f->fn(f->ctx, ev);
}

static void say(struct sl_smtp *s, enum sl_stream dir, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void say(struct sl_smtp *s, enum sl_stream dir, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n > 0)
		sl_smtp_feed(s, dir, (const uint8_t *)buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

bool rules_feed_message(const uint8_t *msg, size_t len, const struct rules_envelope_opts *o,
                        void (*fn)(void *ctx, const struct sl_event *ev), void *ctx, const char **err)
{
	struct addrs from = {0}, rcpt = {0};
	header_envelope(msg, len, &from, &rcpt);
	const char *mail_from = o->mail_from ? o->mail_from : from.n ? from.v[0] : "";
	struct feed f = {.fn = fn, .ctx = ctx};
	struct sl_smtp *s = sl_smtp_new(NULL, on_event, &f);
	if (!s) {
		*err = "out of memory";
		return false;
	}
	struct sockaddr_storage client = {0};
	if (o->client_ip) {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&client;
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&client;
		if (inet_pton(AF_INET, o->client_ip, &a4->sin_addr) == 1)
			a4->sin_family = AF_INET;
		else if (inet_pton(AF_INET6, o->client_ip, &a6->sin6_addr) == 1)
			a6->sin6_family = AF_INET6;
	}
	sl_smtp_set_endpoints(s, client.ss_family ? (struct sockaddr *)&client : NULL, NULL);
	say(s, SL_SERVER, "220 mx.sluice.test ESMTP\r\n");
	say(s, SL_CLIENT, "EHLO %s\r\n", o->helo ? o->helo : "client.sluice.test");
	say(s, SL_SERVER, "250-mx.sluice.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n");
	say(s, SL_CLIENT, "MAIL FROM:<%s>\r\n", mail_from);
	say(s, SL_SERVER, "250 2.1.0 Ok\r\n");
	size_t n = o->rcpt ? o->nrcpt : rcpt.n;
	for (size_t i = 0; i < n; i++) {
		say(s, SL_CLIENT, "RCPT TO:<%s>\r\n", o->rcpt ? o->rcpt[i] : rcpt.v[i]);
		say(s, SL_SERVER, "250 2.1.5 Ok\r\n");
	}
	if (n == 0) { /* a message needs a recipient to be sent at all */
		say(s, SL_CLIENT, "RCPT TO:<postmaster@recipient.invalid>\r\n");
		say(s, SL_SERVER, "250 2.1.5 Ok\r\n");
	}
	say(s, SL_CLIENT, "DATA\r\n");
	say(s, SL_SERVER, "354 End data with <CR><LF>.<CR><LF>\r\n");
	size_t dl;
	uint8_t *data = data_payload(msg, len, &dl);
	sl_smtp_feed(s, SL_CLIENT, data, dl);
	free(data);
	say(s, SL_SERVER, "250 2.0.0 Ok: queued\r\n");
	say(s, SL_CLIENT, "QUIT\r\n");
	say(s, SL_SERVER, "221 2.0.0 Bye\r\n");
	sl_smtp_close(s);
	sl_smtp_free(s);
	free(from.v);
	free(rcpt.v);
	if (!f.ended)
		*err = "the SMTP session saw no end of data";
	return f.ended;
}
