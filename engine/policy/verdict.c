/* The verdict at MESSAGE_END: which rules fired, the score, the action and its reply;
 * and its JSON form. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "matcher.h"

static const char *default_reply(enum sl_action a)
{
	switch (a) {
	case SL_ACT_REJECT: return "554 5.7.1 Message rejected by policy";
	case SL_ACT_TEMPFAIL: return "451 4.7.1 Message deferred by policy, try again later";
	case SL_ACT_QUARANTINE: return "250 2.0.0 Ok: queued";
	default: return NULL;
	}
}

static long cond_value(const void *m, uint32_t c)
{
	return pol_cond_holds(m, c);
}

static long rule_value(const void *m, uint32_t r)
{
	return ((const struct sl_msgscan *)m)->fired[r];
}

/* The value a rule that holds has in other rules' `when`: 1, or with `multiple` its
 * match count. */
static uint32_t fired_value(const struct sl_msgscan *m, const struct pol_rule *r)
{
	if (!r->multiple)
		return 1;
	uint32_t n = 0;
	for (uint32_t c = r->first_cond; c < r->first_cond + r->ncond; c++)
		if (pol_cond_holds(m, c))
			n += m->count[c];
	return n ? n : 1;
}

static bool rule_holds(const struct sl_msgscan *m, const struct pol_rule *r, enum sl_direction dir)
{
	if (r->directions && !(r->directions & (1u << dir)))
		return false;
	return pol_eval(r->code, r->ncode, cond_value, rule_value, m) != 0;
}

static bool grow(void **v, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return true;
	size_t c = *cap ? *cap : 16;
	while (c < need)
		c *= 2;
	void *n = realloc(*v, c * size);
	if (!n)
		return false;
	*v = n;
	*cap = c;
	return true;
}

static void add_cand(struct sl_msgscan *m, uint32_t r, size_t *n)
{
	if (m->p->rules[r].meta || (m->rule_mark[r / 8] & (1u << (r % 8))))
		return;
	if (!grow((void **)&m->cand, &m->cand_cap, *n + 1, sizeof *m->cand))
		return;
	m->rule_mark[r / 8] |= (uint8_t)(1u << (r % 8));
	m->cand[(*n)++] = r;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

void pol_verdict_compute(struct sl_msgscan *m, enum sl_direction dir)
{
	const struct sl_policy *p = m->p;
	struct sl_verdict *v = &m->verdict;
	memset(v, 0, sizeof *v);
	v->direction = dir;

	/* candidates: rules with a touched condition, and rules that hold without one */
	size_t nc = 0;
	for (uint32_t i = 0; i < m->ntouched; i++)
		add_cand(m, p->conds[m->touched[i]].rule, &nc);
	for (uint32_t i = 0; i < p->nalways; i++)
		add_cand(m, p->always_rules[i], &nc);
	for (size_t i = 0; i < nc; i++)
		m->rule_mark[m->cand[i] / 8] = 0;
	if (nc > 1)
		qsort(m->cand, nc, sizeof *m->cand, cmp_u32);

	size_t nh = 0, nev = 0;
	bool pass_rule = false;
	enum sl_action act = SL_ACT_PASS;
	const char *reply = NULL, *by = NULL;
	size_t nev_max = m->nev < (nc + p->nmeta) * EV_PER_RULE ? m->nev : (nc + p->nmeta) * EV_PER_RULE;
	if (!grow((void **)&m->hits, &m->hits_cap, nc + 1, sizeof *m->hits) ||
	    !grow((void **)&m->vev, &m->vev_cap, nev_max + 1, sizeof *m->vev)) {
		/* never let a message through because we could not evaluate it */
		v->action = SL_ACT_TEMPFAIL;
		v->reply = "451 4.3.0 Policy engine out of memory, try again later";
		v->decided_by = "matcher";
		v->hits = m->hits;
		return;
	}
	/* rules on matches first, then meta rules, each after the rules it names */
	for (size_t i = 0; i < nc; i++) {
		const struct pol_rule *r = &p->rules[m->cand[i]];
		m->fired[m->cand[i]] = rule_holds(m, r, dir) ? fired_value(m, r) : 0;
	}
	size_t nplain = nc;
	for (uint32_t i = 0; i < p->nmeta; i++) {
		uint32_t r = p->meta_rules[i];
		if (rule_holds(m, &p->rules[r], dir)) {
			m->fired[r] = fired_value(m, &p->rules[r]);
			m->cand[nc++] = r;
		}
	}
	if (nc > nplain && nc > 1)
		qsort(m->cand, nc, sizeof *m->cand, cmp_u32);
	long score = 0;
	for (size_t i = 0; i < nc; i++) {
		const struct pol_rule *r = &p->rules[m->cand[i]];
		if (!m->fired[m->cand[i]] || (r->quiet && !p->show_quiet))
			continue;
		struct sl_rule_hit *h = &m->hits[nh++];
		memset(h, 0, sizeof *h);
		h->id = r->id;
		h->rule = m->cand[i];
		h->action = r->action;
		h->score = r->score / 1000.0;
		h->evidence = &m->vev[nev];
		for (uint32_t c = r->first_cond; c < r->first_cond + r->ncond; c++)
			if (pol_cond_holds(m, c))
				h->count += m->count[c];
		for (uint32_t e = 0; e < m->nev && h->nevidence < EV_PER_RULE; e++) {
			const struct ev_entry *en = &m->ev[e];
			if (en->cond < r->first_cond || en->cond >= r->first_cond + r->ncond ||
			    !pol_cond_holds(m, en->cond))
				continue;
			struct sl_evidence *ev = &m->vev[nev++];
			ev->scope = en->scope;
			memcpy(ev->part, en->part, sizeof ev->part);
			ev->offset = en->offset;
			ev->match = en->what;
			ev->path = !en->path ? NULL : en->path == POL_PATH_LOST ? "..." : m->paths + en->path - 1;
			h->nevidence++;
		}
		score += r->score;
		if (r->has_action && r->action == SL_ACT_PASS)
			pass_rule = true;
		if (r->has_action && r->action > act) {
			act = r->action;
			reply = r->reply;
			by = r->id;
		}
	}
	for (size_t i = 0; i < nc; i++)
		m->fired[m->cand[i]] = 0;
	v->score = score / 1000.0;
	/* scores: the highest threshold reached, unless a pass rule exempts the message */
	if (!pass_rule)
		for (uint32_t i = 0; i < p->nthresholds; i++) {
			const struct pol_threshold *t = &p->thresholds[i];
			if (score >= t->score && t->action > act) {
				act = t->action;
				reply = t->reply;
				by = "threshold";
			}
		}
	v->action = act;
	v->reply = reply ? reply : default_reply(act);
	v->decided_by = act == SL_ACT_PASS ? NULL : by;
	v->nhits = nh;
	v->hits = m->hits;
}

/* Scores are thousandths: at most three decimals, none for whole points. */
static void json_score(struct sl_strbuf *out, double score)
{
	char buf[32];
	snprintf(buf, sizeof buf, "%.3f", score);
	char *e = buf + strlen(buf) - 1;
	while (*e == '0')
		*e-- = '\0';
	if (*e == '.')
		*e = '\0';
	sl_strbuf_puts(out, strcmp(buf, "-0") == 0 ? "0" : buf);
}

void sl_verdict_json(const struct sl_verdict *v, struct sl_strbuf *out)
{
	enum sl_action a = v->action == SL_ACT_ALERT ? SL_ACT_PASS : v->action;
	sl_strbuf_putc(out, '{');
	sl_json_key(out, "verdict", true);
	sl_json_str(out, sl_action_name(a));
	sl_json_key(out, "reply", false);
	sl_json_str(out, a == SL_ACT_PASS ? NULL : v->reply);
	sl_json_key(out, "score", false);
	json_score(out, v->score);
	sl_json_key(out, "direction", false);
	sl_json_str(out, sl_direction_name(v->direction));
	sl_json_key(out, "alert", false);
	sl_strbuf_puts(out, v->action == SL_ACT_ALERT ? "true" : "false");
	if (v->spam_probability >= 0) {
		sl_json_key(out, "spam_probability", false);
		sl_strbuf_printf(out, "%.6f", v->spam_probability);
	}
	sl_json_key(out, "decided_by", false);
	sl_json_str(out, v->decided_by);
	sl_json_key(out, "rules", false);
	sl_strbuf_putc(out, '[');
	for (size_t i = 0; i < v->nhits; i++) {
		const struct sl_rule_hit *h = &v->hits[i];
		if (i)
			sl_strbuf_putc(out, ',');
		sl_strbuf_putc(out, '{');
		sl_json_key(out, "id", true);
		sl_json_str(out, h->id);
		sl_json_key(out, "action", false);
		sl_json_str(out, sl_action_name(h->action));
		sl_json_key(out, "score", false);
		json_score(out, h->score);
		sl_json_key(out, "count", false);
		sl_strbuf_printf(out, "%u", h->count);
		sl_json_key(out, "evidence", false);
		sl_strbuf_putc(out, '[');
		for (size_t k = 0; k < h->nevidence; k++) {
			const struct sl_evidence *e = &h->evidence[k];
			if (k)
				sl_strbuf_putc(out, ',');
			sl_strbuf_putc(out, '{');
			sl_json_key(out, "scope", true);
			sl_json_str(out, e->scope);
			sl_json_key(out, "part", false);
			sl_json_str(out, e->part);
			if (e->path) {
				sl_json_key(out, "path", false);
				sl_json_str(out, e->path);
			}
			sl_json_key(out, "offset", false);
			sl_strbuf_printf(out, "%llu", (unsigned long long)e->offset);
			if (e->match) {
				sl_json_key(out, "match", false);
				sl_json_str(out, e->match);
			}
			sl_strbuf_putc(out, '}');
		}
		sl_strbuf_puts(out, "]}");
	}
	sl_strbuf_puts(out, "]}");
}

void sl_policy_diag_format(const struct sl_policy_diag *d, struct sl_strbuf *out)
{
	if (d->line)
		sl_strbuf_printf(out, "%s:%u:%u: %s", d->file, d->line, d->col, d->msg);
	else
		sl_strbuf_printf(out, "%s: %s", d->file, d->msg);
}
