#include "sinkmeta.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool put(struct dp_sinkmeta *s, const char *str)
{
	size_t n = strlen(str) + 1;
	if (n > s->cap - s->len)
		return false;
	memcpy(s->buf + s->len, str, n);
	s->len += n;
	return true;
}

size_t dp_sinkmeta_need(const struct dp_msg_meta *m)
{
	size_t n = strlen(m->client ? m->client : "") + strlen(m->server ? m->server : "") +
	           strlen(m->verdict_json ? m->verdict_json : "null") +
	           strlen(m->server_text ? m->server_text : "") +
	           strlen(m->bundle_digest ? m->bundle_digest : "") + 5;
	if (m->env) {
		n += strlen(m->env->helo) + strlen(m->env->mail_from) + 2;
		for (size_t i = 0; i < m->env->nrcpt; i++)
			if (sl_rcpt_counts(&m->env->rcpt[i]))
				n += strlen(m->env->rcpt[i].addr) + 1;
	}
	for (size_t i = 0; i < m->nrules; i++)
		n += strlen(m->rules[i]) + 1;
	return n;
}

bool dp_sinkmeta_pack(struct dp_sinkmeta *s, const struct dp_msg_meta *m)
{
	s->m = *m;
	s->m.env = NULL;
	s->m.client = s->m.server = s->m.verdict_json = s->m.server_text = s->m.bundle_digest = NULL;
	s->m.rules = NULL;
	s->len = 0;
	s->has_env = m->env != NULL;
	s->has_text = m->server_text != NULL;
	s->bdat = m->env && m->env->bdat;
	s->nrcpt = 0;
	bool ok = put(s, m->client ? m->client : "") && put(s, m->server ? m->server : "") &&
	          put(s, m->verdict_json ? m->verdict_json : "null") &&
	          put(s, m->server_text ? m->server_text : "") &&
	          put(s, m->bundle_digest ? m->bundle_digest : "");
	if (ok && m->env) {
		ok = put(s, m->env->helo) && put(s, m->env->mail_from);
		for (size_t i = 0; ok && i < m->env->nrcpt; i++)
			if (sl_rcpt_counts(&m->env->rcpt[i]) && (ok = put(s, m->env->rcpt[i].addr)))
				s->nrcpt++;
	}
	for (size_t i = 0; ok && i < m->nrules; i++)
		ok = put(s, m->rules[i]);
	if (!ok) {
		s->len = 0;
		s->nrcpt = 0;
		s->m.nrules = 0;
		s->has_env = false;
	}
	return ok;
}

/* The next string of the buffer; *off moves past it. */
static const char *next(const struct dp_sinkmeta *s, size_t *off)
{
	static const char empty[] = "";
	if (*off >= s->len)
		return empty;
	const char *str = s->buf + *off;
	*off += strlen(str) + 1;
	return str;
}

bool dp_sinkmeta_open(const struct dp_sinkmeta *s, struct dp_msg_meta *out, struct sl_envelope *env,
                      struct sl_rcpt **rcpt, const char ***rules)
{
	*out = s->m;
	*rcpt = NULL;
	*rules = NULL;
	size_t off = 0;
	out->client = next(s, &off);
	out->server = next(s, &off);
	out->verdict_json = next(s, &off);
	if (!s->len)
		out->verdict_json = "null"; /* the strings did not travel: the record says so */
	const char *text = next(s, &off);
	out->server_text = s->has_text ? text : NULL;
	out->bundle_digest = next(s, &off);
	if (s->has_env) {
		memset(env, 0, sizeof *env);
		snprintf(env->helo, sizeof env->helo, "%s", next(s, &off));
		snprintf(env->mail_from, sizeof env->mail_from, "%s", next(s, &off));
		env->bdat = s->bdat;
		if (s->nrcpt && !(*rcpt = calloc(s->nrcpt, sizeof **rcpt)))
			goto nomem;
		for (uint32_t i = 0; i < s->nrcpt; i++) {
			snprintf((*rcpt)[i].addr, sizeof (*rcpt)[i].addr, "%s", next(s, &off));
			(*rcpt)[i].status = SL_RCPT_ACCEPTED;
		}
		env->rcpt = *rcpt;
		env->nrcpt = s->nrcpt;
		out->env = env;
	}
	if (s->m.nrules && !(*rules = calloc(s->m.nrules, sizeof **rules)))
		goto nomem;
	for (size_t i = 0; i < s->m.nrules; i++)
		(*rules)[i] = next(s, &off);
	out->rules = *rules;
	return true;
nomem:
	free(*rcpt);
	*rcpt = NULL;
	out->env = NULL;
	out->rules = NULL;
	out->nrules = 0;
	return false;
}
