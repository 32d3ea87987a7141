#include "protect/protect.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sluice/event.h"
#include "sluice/smtp.h"

#include "pipeline/ctx.h"
#include "smtp/event.h"
#include "smtp/smtpflow.h"

#define EVENT_EVERY_MS 60000 /* refusal events: one per source and minute */

static const char *const answers[DP_ANSWERS] = {
	"554 5.7.1 Service unavailable; your address is blocked by policy\r\n",
	"421 4.7.0 Service unavailable; your address is temporarily blocked for abuse, try again later\r\n",
	"421 4.7.0 Too many connections from your address; try again later\r\n",
	"421 4.7.0 Server busy; try again later\r\n",
};

const char *dp_protect_answer_text(enum dp_answer a)
{
	return (unsigned)a < DP_ANSWERS ? answers[a] : answers[DP_ANSWER_LIMIT];
}

/* What a session closed for a reason is told. */
static const char *close_text(enum dp_protect_reason r)
{
	switch (r) {
	case DP_PROTECT_HARVEST:
		return "421 4.7.0 Too many unknown recipients; closing connection\r\n";
	case DP_PROTECT_AUTH_FAILURES:
		return "421 4.7.0 Too many authentication failures; closing connection\r\n";
	case DP_PROTECT_PREGREET:
		return "554 5.5.1 Protocol error: talking before the greeting\r\n";
	case DP_PROTECT_NON_SMTP:
		return "554 5.5.1 Protocol error: not SMTP\r\n";
	case DP_PROTECT_VRFY_EXPN:
		return "421 4.7.0 Too many VRFY/EXPN commands; closing connection\r\n";
	case DP_PROTECT_ERRORS:
		return "421 4.7.0 Too many errors; closing connection\r\n";
	case DP_PROTECT_UNKNOWN_COMMANDS:
		return "421 4.7.0 Too many unknown commands; closing connection\r\n";
	case DP_PROTECT_LONG_LINES:
		return "554 5.5.1 Protocol error: line too long\r\n";
	case DP_PROTECT_RECIPIENTS:
		return "421 4.5.3 Too many recipients; closing connection\r\n";
	case DP_PROTECT_BAN:
		return "421 4.7.0 Your address is temporarily blocked for abuse; closing connection\r\n";
	default:
		return "421 4.7.0 Rate limit exceeded; closing connection\r\n";
	}
}

/* The protect.* signal of a detector (rates share one). */
static const char *signal_name(enum dp_protect_reason r)
{
	static char names[DP_PROTECT_COUNT][48];
	if (r >= DP_PROTECT_HOST_MESSAGES && r <= DP_PROTECT_NET_BYTES)
		return "protect.rate_limit";
	if (!names[r][0])
		snprintf(names[r], sizeof names[r], "protect.%s", dp_protect_names[r]);
	return names[r];
}

int dp_protect_init(struct dp_protect *pr, const struct dp_protect_config *cfg)
{
	memset(pr, 0, sizeof *pr);
	pr->cfg = cfg;
	if (dp_srctable_init(&pr->src, cfg->max_sources) != 0)
		return -1;
	pr->banned = malloc(cfg->max_sources * sizeof *pr->banned);
	if (!pr->banned) {
		dp_srctable_free(&pr->src);
		return -1;
	}
	/* the names are made here, not on a worker's first signal */
	for (int r = 0; r < DP_PROTECT_COUNT; r++)
		signal_name((enum dp_protect_reason)r);
	return 0;
}

void dp_protect_free(struct dp_protect *pr)
{
	dp_srctable_free(&pr->src);
	free(pr->banned);
	pr->banned = NULL;
}

bool dp_protect_emergency(const struct dp_ctx *ctx)
{
	const struct dp_protect *pr = ctx->protect;
	if (!pr || pr->cfg->emergency == DP_EMERGENCY_OFF)
		return false;
	return pr->cfg->emergency == DP_EMERGENCY_ON || ctx->now_ms < pr->emergency_until_ms;
}

/* ---- events ------------------------------------------------------------------------- */

static void endpoint_text(uint8_t family, const uint8_t *addr, uint16_t port, char *out, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";
	inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, a, sizeof a);
	snprintf(out, len, family == 4 ? "%s:%u" : "[%s]:%u", a, port);
}

static void emit(struct dp_ctx *ctx, const struct dp_protect_event *e)
{
	if (!ctx->event)
		return;
	sl_strbuf_clear(&ctx->event_buf);
	dp_protect_event_json(&ctx->event_buf, ctx->cfg->control_name, e);
	if (!sl_strbuf_failed(&ctx->event_buf))
		ctx->event(ctx->event_arg, ctx->event_buf.s, ctx->event_buf.len);
	else
		ctx->ctr->events_dropped++;
}

/* An event about a packet's connection (the SYN's sender is the client). */
static void packet_event(struct dp_ctx *ctx, const struct dp_pkt *p, const struct dp_protect_event *e)
{
	char client[64], server[64];
	endpoint_text(p->ip_version, p->src, p->sport, client, sizeof client);
	endpoint_text(p->ip_version, p->dst, p->dport, server, sizeof server);
	struct dp_protect_event with = *e;
	with.client = client;
	with.server = server;
	emit(ctx, &with);
}

/* ---- sources -------------------------------------------------------------------------- */

static void init_entry(const struct dp_protect_config *c, struct dp_source *s, int level, uint64_t now)
{
	dp_bucket_init(&s->conns, &c->connections[level], now);
	dp_bucket_init(&s->msgs, &c->messages[level], now);
	dp_bucket_init(&s->rcpts, &c->recipients[level], now);
	dp_bucket_init(&s->bytes, &c->bytes[level], now);
}

static struct dp_source *source(struct dp_ctx *ctx, uint8_t family, const uint8_t *addr, int level,
                                bool create)
{
	struct dp_protect *pr = ctx->protect;
	struct dp_prefix k;
	uint8_t len = level == DP_SRC_HOST ? (family == 4 ? 32 : 128) : (family == 4 ? 24 : 64);
	dp_prefix_of(&k, family, addr, len);
	bool created;
	struct dp_source *s = dp_src_find(&pr->src, &k, ctx->now_ms, create, &created);
	if (created)
		init_entry(pr->cfg, s, level, ctx->now_ms);
	return s;
}

static struct dp_source *entry(struct dp_ctx *ctx, uint32_t i)
{
	return i == DP_SRC_NONE ? NULL : &ctx->protect->src.e[i];
}

static void ban(struct dp_ctx *ctx, struct dp_source *s, enum dp_protect_reason r)
{
	struct dp_protect *pr = ctx->protect;
	bool running = s->ban_until_ms > ctx->now_ms;
	s->ban_start_ms = ctx->now_ms;
	s->ban_until_ms = ctx->now_ms + pr->cfg->ban_time_ms;
	s->ban_reason = (uint8_t)r;
	ctx->ctr->protect_banned[r]++;
	if (!running && pr->nbanned < pr->cfg->max_sources) {
		for (uint32_t i = 0; i < pr->nbanned; i++)
			if (pr->banned[i] == dp_src_index(&pr->src, s))
				return;
		pr->banned[pr->nbanned++] = dp_src_index(&pr->src, s);
	}
}

static void lift_ban(struct dp_ctx *ctx, const struct dp_pkt *p, struct dp_source *s)
{
	s->ban_until_ms = 0;
	ctx->ctr->protect_pardons++;
	struct dp_protect_event e = {.reason = dp_protect_names[DP_PROTECT_BAN], .action = "unban"};
	packet_event(ctx, p, &e);
}

/* ---- at a SYN ---------------------------------------------------------------------- */

static void refuse(struct dp_ctx *ctx, const struct dp_pkt *p, struct dp_source *host,
                   enum dp_protect_reason r, enum dp_refuse how, enum dp_answer a,
                   uint64_t count, uint64_t limit, struct dp_syn_check *out)
{
	ctx->ctr->protect_refused[r]++;
	out->verdict = how == DP_REFUSE_REPLY ? DP_SYN_ANSWER : DP_SYN_DROP;
	out->answer = a;
	out->reason = r;
	if (!host)
		return;
	host->n_refused++;
	if (host->event_ms && ctx->now_ms - host->event_ms < EVENT_EVERY_MS)
		return; /* a flood must not flood the event log */
	host->event_ms = ctx->now_ms;
	struct dp_protect_event e = {
		.reason = dp_protect_names[r],
		.action = how == DP_REFUSE_REPLY ? "refuse" : "drop",
		.count = count,
		.limit = limit,
		.reply = how == DP_REFUSE_REPLY ? answers[a] : NULL,
	};
	packet_event(ctx, p, &e);
}

void dp_protect_syn(struct dp_ctx *ctx, const struct dp_pkt *p, int in_role, struct dp_syn_check *out)
{
	struct dp_protect *pr = ctx->protect;
	*out = (struct dp_syn_check){DP_SYN_EXEMPT, DP_ANSWER_LIMIT, DP_PROTECT_BLOCK, DP_SRC_NONE, DP_SRC_NONE};
	if (!pr || in_role != DP_OUTSIDE)
		return; /* only clients from the outside are protected against */
	const struct dp_protect_config *c = pr->cfg;
	uint64_t now = ctx->now_ms;
	const struct dp_list_entry *le = dp_lists_match(pr->lists, p->ip_version, p->src, now);
	if (le && le->kind == DP_LIST_KIND_ALLOW) {
		ctx->ctr->protect_allowed++;
		return;
	}
	bool emergency = dp_protect_emergency(ctx);
	/* under a flood, only sources that proved their address get an entry */
	struct dp_source *host = source(ctx, p->ip_version, p->src, DP_SRC_HOST, !emergency);
	if (le && le->kind == DP_LIST_KIND_BLOCK) {
		refuse(ctx, p, host, DP_PROTECT_BLOCK, c->on_block, DP_ANSWER_BLOCK, 0, 0, out);
		return;
	}
	if (host && host->ban_until_ms > now) {
		if (!dp_lists_pardoned(pr->lists, p->ip_version, p->src, host->ban_start_ms)) {
			refuse(ctx, p, host, DP_PROTECT_BAN, c->on_ban, DP_ANSWER_BAN, 0, 0, out);
			return;
		}
		lift_ban(ctx, p, host);
	}
	if (emergency && (!host || host->verified_until_ms <= now)) {
		/* the responder's handshake proves the address; the client comes back later */
		refuse(ctx, p, host, DP_PROTECT_EMERGENCY, DP_REFUSE_REPLY, DP_ANSWER_BUSY, 0, 0, out);
		return;
	}
	if (!host)
		return; /* every entry held: not tracked (counted as sources_full) */
	struct dp_source *net = source(ctx, p->ip_version, p->src, DP_SRC_NET, true);
	host->n_conns++;
	if (!dp_bucket_take(&host->conns, &c->connections[0], 1, now)) {
		refuse(ctx, p, host, DP_PROTECT_HOST_CONNECTIONS, c->on_connection_limit, DP_ANSWER_LIMIT,
		       0, c->connections[0].per, out);
		return;
	}
	if (net && !dp_bucket_take(&net->conns, &c->connections[1], 1, now)) {
		refuse(ctx, p, host, DP_PROTECT_NET_CONNECTIONS, c->on_connection_limit, DP_ANSWER_LIMIT,
		       0, c->connections[1].per, out);
		return;
	}
	if (c->sessions[0] && host->sessions >= c->sessions[0]) {
		refuse(ctx, p, host, DP_PROTECT_HOST_SESSIONS, c->on_connection_limit, DP_ANSWER_LIMIT,
		       host->sessions, c->sessions[0], out);
		return;
	}
	if (net && c->sessions[1] && net->sessions >= c->sessions[1]) {
		refuse(ctx, p, host, DP_PROTECT_NET_SESSIONS, c->on_connection_limit, DP_ANSWER_LIMIT,
		       net->sessions, c->sessions[1], out);
		return;
	}
	host->sessions++;
	if (net)
		net->sessions++;
	ctx->ctr->protect_admitted++;
	out->verdict = DP_SYN_ADMIT;
	out->host = dp_src_index(&pr->src, host);
	out->net = net ? dp_src_index(&pr->src, net) : DP_SRC_NONE;
}

void dp_protect_flow_end(struct dp_ctx *ctx, uint32_t host, uint32_t net)
{
	if (!ctx->protect)
		return;
	struct dp_source *h = entry(ctx, host), *n = entry(ctx, net);
	if (h && h->sessions)
		h->sessions--;
	if (n && n->sessions)
		n->sessions--;
}

void dp_protect_established(struct dp_ctx *ctx, uint32_t host)
{
	struct dp_source *h = ctx->protect ? entry(ctx, host) : NULL;
	if (h)
		h->verified_until_ms = ctx->now_ms + ctx->protect->cfg->verified_ttl_ms;
}

void dp_protect_handshake(struct dp_ctx *ctx, const struct dp_pkt *p, enum dp_answer answered)
{
	if (!ctx->protect)
		return;
	ctx->ctr->protect_handshakes++;
	if (answered != DP_ANSWER_BUSY)
		return;
	/* the client completed our handshake: a real address, admitted next time */
	struct dp_source *h = source(ctx, p->ip_version, p->src, DP_SRC_HOST, true);
	if (h) {
		h->verified_until_ms = ctx->now_ms + ctx->protect->cfg->verified_ttl_ms;
		ctx->ctr->protect_verified++;
	}
}

void dp_protect_evicted(struct dp_ctx *ctx)
{
	struct dp_protect *pr = ctx->protect;
	if (!pr || pr->cfg->emergency != DP_EMERGENCY_AUTO)
		return;
	uint64_t second = ctx->now_ms / 1000;
	if (second != pr->evict_second) {
		pr->evict_second = second;
		pr->evicted_now = 0;
	}
	if (++pr->evicted_now < pr->cfg->emergency_trigger)
		return;
	if (ctx->now_ms >= pr->emergency_until_ms) {
		ctx->ctr->protect_emergency_entered++;
		struct dp_protect_event e = {
			.client = "", .reason = dp_protect_names[DP_PROTECT_EMERGENCY], .action = "emergency",
			.count = pr->evicted_now, .limit = pr->cfg->emergency_trigger,
		};
		emit(ctx, &e);
	}
	pr->emergency_until_ms = ctx->now_ms + pr->cfg->emergency_hold_ms;
}

void dp_protect_tick(struct dp_ctx *ctx)
{
	struct dp_protect *pr = ctx->protect;
	if (!pr)
		return;
	for (uint32_t i = 0; i < pr->nbanned;) {
		if (pr->src.e[pr->banned[i]].ban_until_ms <= ctx->now_ms)
			pr->banned[i] = pr->banned[--pr->nbanned]; /* over: the entry may be recycled */
		else
			i++;
	}
	struct dp_counters *c = ctx->ctr;
	c->protect_bans_active = pr->nbanned;
	c->protect_sources = pr->src.count;
	c->protect_sources_evicted = pr->src.evicted;
	c->protect_sources_full = pr->src.full;
	c->protect_emergency = dp_protect_emergency(ctx);
}

/* ---- during a session ---------------------------------------------------------------- */

void dp_protect_session_start(struct dp_smtpflow *sf, uint32_t host, uint32_t net)
{
	memset(&sf->pr, 0, sizeof sf->pr);
	sf->pr.on = sf->ctx->protect && host != DP_SRC_NONE && !sf->ctx->passive;
	sf->pr.host = host;
	sf->pr.net = net;
	if (sf->pr.on && sf->ctx->protect->cfg->greet_wait_ms && sf->ctx->protect->cfg->pregreet)
		sf->pr.greet_until_ms = sf->ctx->now_ms + sf->ctx->protect->cfg->greet_wait_ms;
}

bool dp_protect_greeting_held(const struct dp_smtpflow *sf)
{
	return sf->pr.greet_until_ms && sf->ctx->now_ms < sf->pr.greet_until_ms &&
	       sf->state == DP_SF_SMTP;
}

/* A detector fired: its action. Returns true when the session is being closed. */
static bool fire(struct dp_smtpflow *sf, enum dp_protect_reason r, enum dp_protect_action a,
                 enum dp_close_at at, uint64_t off, uint64_t count, uint64_t limit)
{
	struct dp_sf_protect *s = &sf->pr;
	struct dp_ctx *ctx = sf->ctx;
	if (a == DP_ACTION_OFF || (s->fired & (1u << r)))
		return false;
	s->fired |= 1u << r; /* once per session (recipients: per transaction) */
	ctx->ctr->protect_detected[r]++;
	struct dp_source *host = entry(ctx, s->host);
	static const char *const action_names[] = {"off", "log", "signal", "close", "ban"};
	struct dp_protect_event e = {
		.client = dp_smtpflow_client_text(sf),
		.server = dp_smtpflow_server_text(sf),
		.reason = dp_protect_names[r],
		.action = action_names[a],
		.count = count,
		.limit = limit,
	};
	if (a == DP_ACTION_BAN && host) {
		ban(ctx, host, r);
		e.ban_seconds = ctx->protect->cfg->ban_time_ms / 1000;
	}
	if (a >= DP_ACTION_CLOSE)
		e.reply = close_text(r);
	emit(ctx, &e);
	if (a == DP_ACTION_SIGNAL) {
		char value[96];
		snprintf(value, sizeof value, "%llu (limit %llu)", (unsigned long long)count,
		         (unsigned long long)limit);
		dp_smtpflow_signal(sf, signal_name(r), value);
	}
	if (a < DP_ACTION_CLOSE)
		return false;
	if (host)
		host->n_closed++;
	ctx->ctr->protect_closed[r]++;
	dp_smtpflow_protect_close(sf, at, off, close_text(r));
	return true;
}

/* A rate of the source or its network: false when over it (and its action taken). */
static bool within(struct dp_smtpflow *sf, struct dp_bucket *hb, struct dp_bucket *nb,
                   const struct dp_rate rates[2], enum dp_protect_reason host_reason,
                   uint64_t n, enum dp_close_at at, uint64_t off)
{
	uint64_t now = sf->ctx->now_ms;
	enum dp_protect_action a = sf->ctx->protect->cfg->rate_limit;
	if (!dp_bucket_take(hb, &rates[0], n, now))
		return !fire(sf, host_reason, a, at, off, 0, rates[0].per);
	if (nb && !dp_bucket_take(nb, &rates[1], n, now))
		return !fire(sf, (enum dp_protect_reason)(host_reason + 1), a, at, off, 0, rates[1].per);
	return true;
}

static bool verb_is(const char *v, const char *what)
{
	return strcmp(v, what) == 0;
}

static bool known_verb(const char *v)
{
	static const char *const verbs[] = {
		"HELO", "EHLO", "LHLO", "MAIL", "RCPT", "DATA", "BDAT", "RSET", "NOOP", "VRFY", "EXPN",
		"HELP", "AUTH", "STARTTLS", "QUIT", "ETRN", "ATRN", "TURN", "XCLIENT", "XFORWARD",
		"VERB", "ONEX", "AUTH-RESPONSE", NULL};
	for (int i = 0; verbs[i]; i++)
		if (verb_is(v, verbs[i]))
			return true;
	return false;
}

/* An HTTP request line ("GET / HTTP/1.1") or an SSH banner where a command was due. */
static bool not_smtp_command(const char *verb, const char *arg)
{
	static const char *const http[] = {"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS",
	                                   "CONNECT", "PATCH", "TRACE", NULL};
	if (strncmp(verb, "SSH-", 4) == 0)
		return true;
	for (int i = 0; http[i]; i++)
		if (verb_is(verb, http[i]))
			return arg && strstr(arg, "HTTP/") != NULL;
	return false;
}

void dp_protect_command(struct dp_smtpflow *sf, const struct sl_event *ev)
{
	struct dp_sf_protect *s = &sf->pr;
	if (!s->on || sf->state != DP_SF_SMTP || !ev->name)
		return;
	struct dp_ctx *ctx = sf->ctx;
	const struct dp_protect_config *c = ctx->protect->cfg;
	struct dp_source *host = entry(ctx, s->host), *net = entry(ctx, s->net);
	uint64_t off = sf->base[SL_CLIENT] + ev->offset;
	const char *v = ev->name;
	if (host->ban_until_ms > ctx->now_ms) { /* banned by another of its sessions */
		ctx->ctr->protect_closed[DP_PROTECT_BAN]++;
		host->n_closed++;
		dp_smtpflow_protect_close(sf, DP_CLOSE_AT_COMMAND, off, close_text(DP_PROTECT_BAN));
		return;
	}
	if (not_smtp_command(v, ev->value) &&
	    fire(sf, DP_PROTECT_NON_SMTP, c->non_smtp, DP_CLOSE_AT_COMMAND, off, 1, 1))
		return;
	if (ev->len > c->max_line_length &&
	    fire(sf, DP_PROTECT_LONG_LINES, c->long_lines, DP_CLOSE_AT_COMMAND, off, ev->len, c->max_line_length))
		return;
	if (!known_verb(v) && ++s->unknown >= c->unknown_command_limit &&
	    fire(sf, DP_PROTECT_UNKNOWN_COMMANDS, c->unknown_commands, DP_CLOSE_AT_COMMAND, off,
	         s->unknown, c->unknown_command_limit))
		return;
	if ((verb_is(v, "VRFY") || verb_is(v, "EXPN")) && ++s->vrfy_expn > c->vrfy_expn_limit &&
	    fire(sf, DP_PROTECT_VRFY_EXPN, c->vrfy_expn, DP_CLOSE_AT_COMMAND, off, s->vrfy_expn,
	         c->vrfy_expn_limit))
		return;
	if (verb_is(v, "MAIL") || verb_is(v, "RSET") || verb_is(v, "HELO") || verb_is(v, "EHLO") ||
	           verb_is(v, "LHLO")) {
		s->rcpts = 0;
		s->message_counted = false;
		s->fired &= ~(1u << DP_PROTECT_RECIPIENTS);
	} else if (verb_is(v, "RCPT")) {
		host->n_rcpts++;
		if (!within(sf, &host->rcpts, net ? &net->rcpts : NULL, c->recipients,
		            DP_PROTECT_HOST_RECIPIENTS, 1, DP_CLOSE_AT_COMMAND, off))
			return;
		if (++s->rcpts > c->max_recipients)
			fire(sf, DP_PROTECT_RECIPIENTS, c->recipients_per_message, DP_CLOSE_AT_COMMAND, off,
			     s->rcpts, c->max_recipients);
	} else if ((verb_is(v, "DATA") || verb_is(v, "BDAT")) && !s->message_counted) {
		s->message_counted = true;
		host->n_msgs++;
		within(sf, &host->msgs, net ? &net->msgs : NULL, c->messages, DP_PROTECT_HOST_MESSAGES, 1,
		       DP_CLOSE_AT_COMMAND, off);
	}
}

/* "550 5.1.1 <x>: Recipient address rejected: User unknown" and friends: the enhanced
 * status x.1.1 (bad mailbox), x.1.2 (bad system), x.1.3 (bad syntax), x.1.10 (null MX),
 * or, without one, 550/551/553. Relay refusals (5.7.1) are not a harvest. */
static bool refused_recipient(int code, const char *text)
{
	if (code < 400 || code >= 600)
		return false;
	if (text && (text[0] == '4' || text[0] == '5') && text[1] == '.' && text[2] == '1' && text[3] == '.') {
		const char *d = text + 4;
		return (d[0] == '1' || d[0] == '2' || d[0] == '3') && (d[1] == ' ' || d[1] == 0 ||
		       (d[0] == '1' && d[1] == '0' && (d[2] == ' ' || d[2] == 0)));
	}
	bool enhanced = text && text[0] >= '2' && text[0] <= '5' && text[1] == '.';
	return !enhanced && (code == 550 || code == 551 || code == 553);
}

/* The flow's server as a host prefix. */
static void server_of(const struct dp_smtpflow *sf, struct dp_prefix *out)
{
	const struct sockaddr_storage *ss = &sf->server_addr;
	if (ss->ss_family == AF_INET)
		dp_prefix_of(out, 4, (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr, 32);
	else
		dp_prefix_of(out, 6, (const uint8_t *)&((const struct sockaddr_in6 *)ss)->sin6_addr, 128);
}

static bool offers_early_pipelining(const struct dp_smtpflow *sf)
{
	const struct dp_protect *pr = sf->ctx->protect;
	struct dp_prefix srv;
	server_of(sf, &srv);
	for (unsigned i = 0; i < pr->nearly && i < 16; i++)
		if (dp_prefix_eq(&pr->early_servers[i], &srv))
			return true;
	return false;
}

static void learn_early_pipelining(struct dp_smtpflow *sf, const char *capability)
{
	if (strncasecmp(capability, "PIPE_CONNECT", 12) && strncasecmp(capability, "X_PIPE_CONNECT", 14))
		return;
	if (offers_early_pipelining(sf))
		return;
	struct dp_protect *pr = sf->ctx->protect;
	server_of(sf, &pr->early_servers[pr->nearly++ % 16]);
}

void dp_protect_reply(struct dp_smtpflow *sf, const struct sl_event *ev)
{
	struct dp_sf_protect *s = &sf->pr;
	if (!s->on || !ev->name || sf->state != DP_SF_SMTP)
		return;
	if (ev->code == 250 && ev->value && strcmp(ev->name, "EHLO") == 0)
		learn_early_pipelining(sf, ev->value);
	if (!ev->last)
		return;
	struct dp_ctx *ctx = sf->ctx;
	const struct dp_protect_config *c = ctx->protect->cfg;
	struct dp_source *host = entry(ctx, s->host);
	const char *v = ev->name;
	int code = ev->code;
	/* a message's refusal is the policy's business, not a client error */
	bool counts_as_error = code >= 400 && !verb_is(v, "GREETING") && !verb_is(v, "END-OF-DATA") &&
	                       !verb_is(v, "BDAT");
	if ((verb_is(v, "RCPT") || verb_is(v, "VRFY") || verb_is(v, "EXPN")) &&
	    refused_recipient(code, ev->value)) {
		host->n_refused_rcpts++;
		uint32_t n = dp_window_add(&host->harvest, c->harvest_window_ms, ctx->now_ms, 1);
		if (n >= c->harvest_limit &&
		    fire(sf, DP_PROTECT_HARVEST, c->harvest, DP_CLOSE_AT_REPLY, 0, n, c->harvest_limit))
			return;
	}
	if ((verb_is(v, "AUTH") || verb_is(v, "AUTH-RESPONSE")) && code == 535) {
		host->n_auth_fail++;
		uint32_t n = dp_window_add(&host->auth_fail, c->auth_failure_window_ms, ctx->now_ms, 1);
		if (n >= c->auth_failure_limit &&
		    fire(sf, DP_PROTECT_AUTH_FAILURES, c->auth_failures, DP_CLOSE_AT_REPLY, 0, n,
		         c->auth_failure_limit))
			return;
	}
	if (counts_as_error && ++s->errors >= c->error_limit)
		fire(sf, DP_PROTECT_ERRORS, c->errors, DP_CLOSE_AT_REPLY, 0, s->errors, c->error_limit);
}

/* The first byte of a session that no SMTP command starts with: a TLS ClientHello
 * (implicit TLS on port 25), SSLv2, RDP, SMB and other binary probes. */
static bool binary_start(uint8_t b)
{
	return b >= 0x80 || (b < 0x20 && b != '\r' && b != '\n' && b != '\t');
}

void dp_protect_client_data(struct dp_smtpflow *sf, uint64_t off, const uint8_t *p, size_t n)
{
	struct dp_sf_protect *s = &sf->pr;
	if (!s->on || sf->state != DP_SF_SMTP || !n)
		return;
	struct dp_ctx *ctx = sf->ctx;
	const struct dp_protect_config *c = ctx->protect->cfg;
	struct dp_source *host = entry(ctx, s->host), *net = entry(ctx, s->net);
	host->n_bytes += n;
	if (!within(sf, &host->bytes, net ? &net->bytes : NULL, c->bytes, DP_PROTECT_HOST_BYTES, n,
	            DP_CLOSE_AT_DATA, off))
		return;
	/* before the whole greeting reached the client (it may be held: greet_wait) */
	if ((sf->answered == 0 || sf->dirs[SL_SERVER].fwd_off == 0) && !offers_early_pipelining(sf) &&
	    fire(sf, DP_PROTECT_PREGREET, c->pregreet, DP_CLOSE_AT_DATA, off, n, 0))
		return;
	if (off == sf->base[SL_CLIENT] && binary_start(p[0]))
		fire(sf, DP_PROTECT_NON_SMTP, c->non_smtp, DP_CLOSE_AT_DATA, off, 1, 1);
}

void dp_protect_client_fed(struct dp_smtpflow *sf)
{
	struct dp_sf_protect *s = &sf->pr;
	if (!s->on || sf->state != DP_SF_SMTP || !sf->smtp)
		return;
	const struct dp_protect_config *c = sf->ctx->protect->cfg;
	size_t len = sl_smtp_command_line_len(sf->smtp);
	if (len > c->max_line_length)
		fire(sf, DP_PROTECT_LONG_LINES, c->long_lines, DP_CLOSE_AT_DATA, sf->line_end[SL_CLIENT],
		     len == SIZE_MAX ? c->max_line_length + 1 : len, c->max_line_length);
}

bool dp_src_read(const struct dp_source *live, struct dp_source *copy)
{
	uint32_t before = __atomic_load_n(&live->seq, __ATOMIC_ACQUIRE);
	if (before & 1)
		return false;
	memcpy(copy, (const void *)live, sizeof *copy);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return __atomic_load_n(&live->seq, __ATOMIC_RELAXED) == before && copy->used;
}
