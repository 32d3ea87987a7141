/* A message file through the engine as the dataplane gives it to the matcher (`rules
 * test`, `rules cost`). */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules.h"
#include "sluice/mime.h"

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

/* Until the SMTP session is in the engine, the message goes straight to the MIME
 * parser with the envelope the session would have built: MESSAGE_BEGIN, RAW and the
 * MIME events in 1448-byte chunks (one TCP segment's worth), MESSAGE_END. What only the
 * SMTP session sees (end-of-data variants: smtp.smuggling) is not raised this way. */
bool rules_feed_message(const uint8_t *msg, size_t len, const struct rules_envelope_opts *o,
                        void (*fn)(void *ctx, const struct sl_event *ev), void *ctx, const char **err)
{
	struct addrs from = {0}, rcpt = {0};
	header_envelope(msg, len, &from, &rcpt);
	struct sl_envelope env;
	memset(&env, 0, sizeof env);
	snprintf(env.helo, sizeof env.helo, "%s", o->helo ? o->helo : "client.sluice.test");
	snprintf(env.mail_from, sizeof env.mail_from, "%s", o->mail_from ? o->mail_from : from.n ? from.v[0] : "");
	size_t n = o->rcpt ? o->nrcpt : rcpt.n;
	env.rcpt = calloc(n + 1, sizeof *env.rcpt);
	if (!env.rcpt)
		abort();
	for (size_t i = 0; i < n; i++) {
		snprintf(env.rcpt[i].addr, sizeof env.rcpt[i].addr, "%s", o->rcpt ? o->rcpt[i] : rcpt.v[i]);
		env.rcpt[i].status = SL_RCPT_ACCEPTED;
		env.rcpt[i].reply_code = 250;
	}
	env.nrcpt = n;
	if (o->client_ip) {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&env.client.addr;
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&env.client.addr;
		if (inet_pton(AF_INET, o->client_ip, &a4->sin_addr) == 1)
			a4->sin_family = AF_INET;
		else if (inet_pton(AF_INET6, o->client_ip, &a6->sin6_addr) == 1)
			a6->sin6_family = AF_INET6;
	}
	struct sl_mime *mime = sl_mime_new(NULL, fn, ctx);
	if (!mime) {
		free(env.rcpt);
		*err = "out of memory";
		return false;
	}
	sl_mime_reset(mime, 0);
	struct sl_event ev = {.type = SL_EV_MESSAGE_BEGIN, .envelope = &env};
	fn(ctx, &ev);
	for (size_t off = 0; off < len; off += 1448) {
		size_t k = len - off < 1448 ? len - off : 1448;
		struct sl_event raw = {.type = SL_EV_RAW, .data = msg + off, .len = k, .offset = off};
		fn(ctx, &raw);
		sl_mime_feed(mime, msg + off, k);
	}
	sl_mime_finish(mime);
	struct sl_event end = {.type = SL_EV_MESSAGE_END, .envelope = &env, .offset = len};
	fn(ctx, &end);
	sl_mime_free(mime);
	free(env.rcpt);
	free(from.v);
	free(rcpt.v);
	return true;
}
