/* Rules that name other rules in `when` (meta rules, as SpamAssassin's `meta`): the
 * names are resolved once the whole file is read, and the meta rules are ordered so
 * that each is evaluated after every rule it names. A cycle is refused. */
#include <stdlib.h>
#include <string.h>

#include "parser.h"

static int cmp_id(const void *a, const void *b, void *rules)
{
	const struct pol_rule *r = rules;
	return strcmp(r[*(const uint32_t *)a].id, r[*(const uint32_t *)b].id);
}

struct order {
	struct pol_rule *rules;
	uint8_t *state;      /* 0 unseen, 1 on the path, 2 done */
	uint32_t *out;
	uint32_t nout;
	long cycle;          /* a rule found on a cycle, or -1 */
};

static void visit(struct order *o, uint32_t r, unsigned depth)
{
	struct pol_rule *rule = &o->rules[r];
	if (o->state[r] == 2 || !rule->meta || o->cycle >= 0)
		return;
	if (o->state[r] == 1 || depth > 1000) {
		o->cycle = r;
		return;
	}
	o->state[r] = 1;
	for (uint32_t i = 0; i < rule->ncode; i++)
		if (rule->code[i].op == OP_RULE)
			visit(o, rule->code[i].arg, depth + 1);
	o->state[r] = 2;
	o->out[o->nout++] = r;
}

void ps_resolve_rules(struct parser *ps)
{
	uint32_t n = (uint32_t)ps->rules.n;
	struct pol_rule *rules = ps->rules.v;
	uint32_t *byid = malloc((n + 1) * sizeof *byid);
	struct order o = {rules, calloc(n + 1, 1), pol_alloc(ps->p->arena, (n + 1) * sizeof(uint32_t)), 0, -1};
	if (!byid || !o.state)
		abort();
	for (uint32_t i = 0; i < n; i++)
		byid[i] = i;
	qsort_r(byid, n, sizeof *byid, cmp_id, rules);
	for (size_t k = 0; k < ps->rule_refs.n; k++) {
		struct rule_ref *rr = POL_AT(ps->rule_refs, struct rule_ref, k);
		struct pol_insn *in = &rules[rr->rule].code[rr->insn];
		uint32_t lo = 0, hi = n;
		while (lo < hi) {
			uint32_t mid = (lo + hi) / 2;
			int c = strcmp(rules[byid[mid]].id, rr->ref->name);
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < n && strcmp(rules[byid[lo]].id, rr->ref->name) == 0) {
			in->arg = byid[lo];
		} else if (ps->opts && ps->opts->exclude_rule >= 0) {
			/* cost measurement left the named rule out: it never fires */
			in->op = OP_NUM;
			in->arg = 0;
		} else {
			free(byid);
			free(o.state);
			ps->file = rules[rr->rule].file; /* the error is in the file that names it */
			ps_error(ps, rr->ref->line, rr->ref->col,
			         "'%s' is neither a match label of rule %s nor a rule", rr->ref->name,
			         rules[rr->rule].id);
		}
	}
	free(byid);
	for (uint32_t r = 0; r < n; r++)
		visit(&o, r, 0);
	free(o.state);
	if (o.cycle >= 0) {
		ps->file = rules[o.cycle].file;
		ps_error(ps, rules[o.cycle].line, rules[o.cycle].col, "rule %s depends on itself through 'when'",
		         rules[o.cycle].id);
	}
	ps->p->meta_rules = o.out;
	ps->p->nmeta = o.nout;
}
