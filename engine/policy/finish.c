/* The tables the matcher needs, derived once the databases exist: PCRE2
 * confirmations, per-signal and per-address condition lists, rules that must be
 * checked on every message, distinct-count slots, sorted hashes and thresholds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static uint32_t *cond_list(struct sl_policy *p, bool (*want)(const struct pol_cond *, int), int arg,
                           uint32_t *n)
{
	uint32_t k = 0;
	for (uint32_t i = 0; i < p->nconds; i++)
		k += want(&p->conds[i], arg);
	uint32_t *v = pol_alloc(p->arena, (k + 1) * sizeof *v);
	k = 0;
	for (uint32_t i = 0; i < p->nconds; i++)
		if (want(&p->conds[i], arg))
			v[k++] = i;
	*n = k;
	return v;
}

static bool listens(const struct pol_cond *c, int sig)
{
	if (c->type != COND_SIGNAL)
		return false;
	for (uint32_t i = 0; i < c->nsignals; i++)
		if ((int)c->signals[i] == sig)
			return true;
	return false;
}

static bool is_ip(const struct pol_cond *c, int unused)
{
	(void)unused;
	return c->type == COND_CLIENT_IP;
}

static bool is_spam(const struct pol_cond *c, int unused)
{
	(void)unused;
	return c->type == COND_SPAM;
}

static int cmp_hash(const void *a, const void *b)
{
	const struct pol_hash *x = a, *y = b;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	return memcmp(x->digest, y->digest, sizeof x->digest);
}

static int cmp_threshold(const void *a, const void *b)
{
	const struct pol_threshold *x = a, *y = b;
	return x->score < y->score ? -1 : x->score > y->score;
}

static bool compile_confirm(struct sl_policy *p, struct pol_pattern *pt, struct sl_policy_diag *diag)
{
	uint32_t opts = 0;
	if (pt->hs_flags & HS_FLAG_CASELESS)
		opts |= PCRE2_CASELESS;
	if (pt->hs_flags & HS_FLAG_DOTALL)
		opts |= PCRE2_DOTALL;
	if (pt->hs_flags & HS_FLAG_MULTILINE)
		opts |= PCRE2_MULTILINE;
	if (pt->hs_flags & HS_FLAG_UTF8)
		opts |= PCRE2_UTF | PCRE2_UCP;
	int errcode;
	PCRE2_SIZE erroff;
	pt->confirm = pcre2_compile((PCRE2_SPTR)pt->expr, PCRE2_ZERO_TERMINATED, opts, &errcode,
	                            &erroff, NULL);
	if (!pt->confirm) {
		PCRE2_UCHAR buf[256];
		pcre2_get_error_message(errcode, buf, sizeof buf);
		pol_diag(diag, pol_file_name(p, pt->file), pt->line, pt->col + 1 + (unsigned)erroff,
		         "rule %s: Hyperscan cannot match this exactly and PCRE2 cannot compile it: %s",
		         p->rules[p->conds[pt->cond].rule].id, (char *)buf);
		return false;
	}
	pcre2_jit_compile(pt->confirm, PCRE2_JIT_COMPLETE); /* best effort: interpreted otherwise */
	pt->confirm_slot = p->nconfirm++;
	return true;
}

bool pol_finish(struct sl_policy *p, struct sl_policy_diag *diag)
{
	for (uint32_t i = 0; i < p->npatterns; i++)
		if (p->patterns[i].needs_confirm && !compile_confirm(p, &p->patterns[i], diag))
			return false;
	for (uint32_t d = 0; d < p->ndbs; d++)
		if (p->dbs[d].db && p->dbs[d].streaming)
			hs_stream_size(p->dbs[d].db, &p->dbs[d].stream_state);
	for (int s = 0; s < SL_SIG_COUNT; s++)
		p->signal_conds[s] = cond_list(p, listens, s, &p->nsignal_conds[s]);
	p->ip_conds = cond_list(p, is_ip, 0, &p->nip_conds);
	p->spam_conds = cond_list(p, is_spam, 0, &p->nspam_conds);

	uint32_t n = 0;
	for (uint32_t r = 0; r < p->nrules; r++)
		n += p->rules[r].true_without_matches;
	p->always_rules = pol_alloc(p->arena, (n + 1) * sizeof(uint32_t));
	p->nalways = 0;
	for (uint32_t r = 0; r < p->nrules; r++)
		if (p->rules[r].true_without_matches)
			p->always_rules[p->nalways++] = r;

	p->ndistinct_slots = 0;
	for (uint32_t i = 0; i < p->nconds; i++)
		if (p->conds[i].distinct) {
			p->conds[i].distinct_slot = p->ndistinct_slots;
			p->ndistinct_slots += pol_distinct_capacity(&p->conds[i]);
		}

	qsort(p->hashes, p->nhashes, sizeof *p->hashes, cmp_hash);
	memset(p->hash_types, 0, sizeof p->hash_types);
	p->hash_any_part = false;
	for (uint32_t i = 0; i < p->nhashes; i++) {
		p->hash_types[p->hashes[i].type] = true;
		if (p->conds[p->hashes[i].cond].scopes & (SC_PART | SC_CONTENT))
			p->hash_any_part = true;
	}
	qsort(p->thresholds, p->nthresholds, sizeof *p->thresholds, cmp_threshold);
	return true;
}
