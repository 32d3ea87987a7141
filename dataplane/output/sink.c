#include "sink.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

void dp_addr_text(const struct sockaddr_storage *ss, char *out, size_t len)
{
	char ip[INET6_ADDRSTRLEN];
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
		snprintf(out, len, "%s:%u", ip, ntohs(a->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
		snprintf(out, len, "[%s]:%u", ip, ntohs(a->sin6_port));
	} else if (len) {
		out[0] = 0;
	}
}

const struct sl_verdict *dp_pass_verdict(void)
{
	static const struct sl_verdict pass = {
		.action = SL_ACT_PASS,
		.spam_probability = -1, /* no classifier ran */
		.reply = NULL,
		.score = 0,
		.direction = SL_DIR_UNKNOWN,
		.nhits = 0,
		.hits = NULL,
	};
	return &pass;
}

void dp_envelope_fields_json(const struct sl_envelope *env, const char *rcpt_key, struct sl_strbuf *b)
{
	sl_json_key(b, "helo", true);
	sl_json_str(b, env->helo);
	sl_json_key(b, "mail_from", false);
	sl_json_str(b, env->mail_from);
	sl_json_key(b, rcpt_key, false);
	sl_strbuf_putc(b, '[');
	bool first = true;
	for (size_t i = 0; i < env->nrcpt; i++) {
		if (!sl_rcpt_counts(&env->rcpt[i]))
			continue;
		if (!first)
			sl_strbuf_putc(b, ',');
		sl_json_str(b, env->rcpt[i].addr);
		first = false;
	}
	sl_strbuf_putc(b, ']');
}

void dp_envelope_json(const struct sl_envelope *env, struct sl_strbuf *b)
{
	sl_strbuf_putc(b, '{');
	dp_envelope_fields_json(env, "rcpt", b);
	sl_json_key(b, "bdat", false);
	sl_strbuf_puts(b, env->bdat ? "true" : "false");
	sl_strbuf_putc(b, '}');
}

const char *dp_outcome_name(enum dp_msg_outcome o)
{
	static const char *const names[] = {"delivered", "unanswered", "refused", "quarantined", "rejected"};
	return (unsigned)o < sizeof names / sizeof names[0] ? names[o] : "?";
}
