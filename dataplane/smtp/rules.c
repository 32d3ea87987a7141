#include "smtp/rules.h"

#include <stdio.h>
#include <stdlib.h>

#include "sluice/strbuf.h"

#include "pipeline/rulehits.h"

struct dp_ruleset *dp_ruleset_new(struct sl_policy *policy, uint64_t id)
{
	struct dp_ruleset *rs = calloc(1, sizeof *rs);
	if (!rs)
		return NULL;
	size_t nrules = sl_policy_rule_count(policy);
	rs->scanner = sl_scanner_new();
	rs->hits = nrules <= UINT32_MAX ? calloc(nrules ? nrules : 1, sizeof *rs->hits) : NULL;
	if (!rs->scanner || !rs->hits || !sl_scanner_prepare(rs->scanner, policy)) {
		sl_scanner_free(rs->scanner);
		free(rs->hits);
		free(rs);
		return NULL;
	}
	rs->nrules = (uint32_t)nrules;
	rs->policy = sl_policy_ref(policy);
	rs->id = id;
	struct sl_policy_info info;
	sl_policy_info(policy, &info);
	for (int i = 0; i < 32; i++) {
		snprintf(rs->digest + 2 * i, 3, "%02x", info.digest[i]);
		snprintf(rs->own_digest + 2 * i, 3, "%02x", info.own_digest[i]);
	}
	return rs;
}

void dp_ruleset_free(struct dp_ruleset *rs)
{
	if (!rs)
		return;
	if (rs->book)
		dp_rulehits_leave(rs->book, rs);
	sl_scanner_free(rs->scanner);
	sl_policy_unref(rs->policy);
	free(rs->hits);
	free(rs);
}

static void release(struct dp_rules *r, struct dp_ruleset *rs)
{
	if (!r->dispose || !r->dispose(r->dispose_arg, rs))
		dp_ruleset_free(rs);
}

void dp_rules_switch(struct dp_rules *r, struct dp_ruleset *next)
{
	struct dp_ruleset *old = r->cur;
	r->cur = next;
	if (!old)
		return;
	if (old->users == 0) {
		release(r, old);
		return;
	}
	old->next = r->retired;
	r->retired = old;
}

void dp_rules_unuse(struct dp_rules *r, struct dp_ruleset *rs)
{
	if (rs->users)
		rs->users--;
	if (rs == r->cur || rs->users)
		return;
	for (struct dp_ruleset **pp = &r->retired; *pp; pp = &(*pp)->next)
		if (*pp == rs) {
			*pp = rs->next;
			release(r, rs);
			return;
		}
}

void dp_rules_free(struct dp_rules *r)
{
	dp_ruleset_free(r->cur);
	r->cur = NULL;
	while (r->retired) {
		struct dp_ruleset *rs = r->retired;
		r->retired = rs->next;
		dp_ruleset_free(rs);
	}
}

bool dp_policy_spam_model(struct sl_policy *p, const char *path, char *err, size_t errlen)
{
	if (!path[0] || !sl_policy_uses_spam_model(p))
		return true;
	struct sl_policy_diag diag;
	if (sl_policy_set_spam_model(p, path, &diag))
		return true;
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	sl_policy_diag_format(&diag, &b);
	snprintf(err, errlen, "--spam-model %s", b.s ? b.s : path);
	sl_strbuf_free(&b);
	return false;
}
