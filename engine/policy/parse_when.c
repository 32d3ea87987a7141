/* `when`: boolean combinations of a rule's matches, compiled to postfix code. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lists.h"
#include "parser.h"

/* ---- when --------------------------------------------------------------------------- */

static void emit(struct parser *ps, enum pol_op op, uint32_t arg)
{
	struct pol_insn *i = pol_vec_push(&ps->code);
	i->op = (uint8_t)op;
	i->arg = arg;
}

static void parse_or(struct parser *ps, int depth);

static void parse_factor(struct parser *ps, int depth)
{
	if (depth > 64)
		ps_error(ps, ps->tok.line, ps->tok.col, "expression nested too deeply");
	if (ps_is_word(ps, "not")) {
		ps_next(ps);
		parse_factor(ps, depth + 1);
		emit(ps, OP_NOT, 0);
	} else if (ps->tok.type == T_LPAREN) {
		ps_next(ps);
		parse_or(ps, depth + 1);
		ps_expect(ps, T_RPAREN, "')'");
	} else if (ps->tok.type == T_WORD && isdigit((unsigned char)ps->tok.text[0])) {
		emit(ps, OP_NUM, (uint32_t)ps_int(ps, 0, 1000000, "a number"));
	} else if (ps->tok.type == T_WORD && !ps_is_word(ps, "and") && !ps_is_word(ps, "or") &&
	           !ps_is_word(ps, "+") && !ps_is_word(ps, "*")) {
		/* names are resolved when the rule ends (labels) or the file ends (rules) */
		struct when_name *ref = pol_alloc(ps->p->arena, sizeof *ref);
		ref->name = ps->tok.text;
		ref->line = ps->tok.line;
		ref->col = ps->tok.col;
		*(void **)pol_vec_push(&ps->names) = ref;
		emit(ps, OP_COND, (uint32_t)(ps->names.n - 1));
		ps_next(ps);
	} else {
		ps_unexpected(ps, "a match label, a rule id, a number, 'not' or '('");
	}
}

static void parse_product(struct parser *ps, int depth)
{
	parse_factor(ps, depth);
	while (ps_is_word(ps, "*")) {
		ps_next(ps);
		parse_factor(ps, depth);
		emit(ps, OP_MUL, 0);
	}
}

static void parse_sum(struct parser *ps, int depth)
{
	parse_product(ps, depth);
	while (ps_is_word(ps, "+")) {
		ps_next(ps);
		parse_product(ps, depth);
		emit(ps, OP_ADD, 0);
	}
}

static void parse_comparison(struct parser *ps, int depth)
{
	static const struct {
		enum tok_type tok;
		enum pol_op op;
	} rel[] = {{T_GT, OP_GT}, {T_GE, OP_GE}, {T_LT, OP_LT}, {T_LE, OP_LE}, {T_EQ, OP_EQ}, {T_NE, OP_NE}};
	parse_sum(ps, depth);
	for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++)
		if (ps->tok.type == rel[i].tok) {
			ps_next(ps);
			parse_sum(ps, depth);
			emit(ps, rel[i].op, 0);
			return;
		}
}

static void parse_and(struct parser *ps, int depth)
{
	parse_comparison(ps, depth);
	while (ps_is_word(ps, "and")) {
		ps_next(ps);
		parse_comparison(ps, depth);
		emit(ps, OP_AND, 0);
	}
}

void ps_when(struct parser *ps)
{
	parse_or(ps, 0);
}

static void parse_or(struct parser *ps, int depth)
{
	parse_and(ps, depth);
	while (ps_is_word(ps, "or")) {
		ps_next(ps);
		parse_and(ps, depth);
		emit(ps, OP_OR, 0);
	}
}

long pol_eval(const struct pol_insn *code, uint32_t n, long (*cond)(const void *, uint32_t),
              long (*rule)(const void *, uint32_t), const void *ctx)
{
	long st[256];
	int sp = 0;
	for (uint32_t i = 0; i < n; i++) {
		const struct pol_insn *in = &code[i];
		long b = 0;
		switch (in->op) {
		case OP_COND: st[sp++] = cond(ctx, in->arg); continue;
		case OP_RULE: st[sp++] = rule(ctx, in->arg); continue;
		case OP_NUM: st[sp++] = (int32_t)in->arg; continue;
		case OP_NOT: st[sp - 1] = !st[sp - 1]; continue;
		default: b = st[--sp]; break;
		}
		long *a = &st[sp - 1];
		switch (in->op) {
		case OP_AND: *a = *a && b; break;
		case OP_OR: *a = *a || b; break;
		case OP_ADD: *a = *a + b; break;
		case OP_MUL: *a = *a * b; break;
		case OP_GT: *a = *a > b; break;
		case OP_GE: *a = *a >= b; break;
		case OP_LT: *a = *a < b; break;
		case OP_LE: *a = *a <= b; break;
		case OP_EQ: *a = *a == b; break;
		case OP_NE: *a = *a != b; break;
		}
	}
	return sp == 1 ? st[0] : 0;
}

static long never(const void *ctx, uint32_t i)
{
	(void)ctx, (void)i;
	return false;
}

/* Evaluate `code` with every condition false: a rule that holds then must be checked
 * on every message, not only on those where one of its patterns matched. */
static bool true_without_matches(const struct pol_insn *code, uint32_t n)
{
	return pol_eval(code, n, never, never, NULL) != 0;
}

static uint32_t code_depth(const struct pol_insn *code, uint32_t n)
{
	uint32_t sp = 0, max = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (code[i].op == OP_COND || code[i].op == OP_RULE || code[i].op == OP_NUM)
			sp++;
		else if (code[i].op != OP_NOT)
			sp--;
		if (sp > max)
			max = sp;
	}
	return max;
}

static const struct pol_cond *first_unused(struct parser *ps, const struct pol_rule *r)
{
	for (uint32_t k = 0; k < r->ncond; k++) {
		bool used = false;
		for (size_t i = 0; i < ps->code.n; i++) {
			struct pol_insn *in = POL_AT(ps->code, struct pol_insn, i);
			if (in->op == OP_COND && strcmp((*(struct when_name **)POL_AT(ps->names, void *, in->arg))->name,
			                                POL_AT(ps->conds, struct pol_cond, r->first_cond + k)->name) == 0)
				used = true;
		}
		if (!used)
			return POL_AT(ps->conds, struct pol_cond, r->first_cond + k);
	}
	return NULL;
}

void ps_finish_when(struct parser *ps, struct pol_rule *r)
{
	for (uint32_t k = 0; k < r->ncond; k++)
		r->multiple |= POL_AT(ps->conds, struct pol_cond, r->first_cond + k)->multiple;
	if (!ps->when.set) {
		/* default: every match must hold */
		ps->code.n = 0;
		for (uint32_t i = 0; i < r->ncond; i++) {
			emit(ps, OP_COND, r->first_cond + i);
			if (i > 0)
				emit(ps, OP_AND, 0);
		}
	} else {
		const struct pol_cond *unused = first_unused(ps, r); /* before names become indexes */
		for (size_t i = 0; i < ps->code.n; i++) {
			struct pol_insn *in = POL_AT(ps->code, struct pol_insn, i);
			if (in->op != OP_COND)
				continue;
			struct when_name *ref = *POL_AT(ps->names, void *, in->arg);
			uint32_t k;
			for (k = 0; k < r->ncond; k++)
				if (strcmp(POL_AT(ps->conds, struct pol_cond, r->first_cond + k)->name, ref->name) == 0)
					break;
			if (k < r->ncond) {
				in->arg = r->first_cond + k;
				continue;
			}
			/* not a label: another rule, resolved once the file is read; but with a
			 * match left unused, it is a mistyped label */
			if (unused)
				ps_error(ps, ref->line, ref->col, "'%s' is not a match label of rule %s (its match '%s' is not used)",
				         ref->name, r->id, unused->name);
			if (strcmp(ref->name, r->id) == 0)
				ps_error(ps, ref->line, ref->col, "rule %s names itself in 'when'", r->id);
			in->op = OP_RULE;
			in->arg = (uint32_t)i; /* the index into r->code, patched by ps_resolve_rules */
			struct rule_ref *rr = pol_vec_push(&ps->rule_refs);
			rr->ref = ref;
			rr->rule = (uint32_t)(ps->rules.n - 1);
			rr->insn = (uint32_t)i;
			r->meta = true;
		}
		/* every match must be used, or it would be dead weight nobody sees */
		for (uint32_t k = 0; k < r->ncond; k++) {
			bool used = false;
			for (size_t i = 0; i < ps->code.n; i++) {
				struct pol_insn *in = POL_AT(ps->code, struct pol_insn, i);
				used |= in->op == OP_COND && in->arg == r->first_cond + k;
			}
			struct pol_cond *c = POL_AT(ps->conds, struct pol_cond, r->first_cond + k);
			if (!used)
				ps_error(ps, c->line, c->col, "match '%s' is not used in 'when' of rule %s", c->name, r->id);
		}
	}
	r->ncode = (uint32_t)ps->code.n;
	if (code_depth(ps->code.v, r->ncode) > 256)
		ps_error(ps, ps->when.line, ps->when.col, "expression too large");
	r->code = pol_alloc(ps->p->arena, ps->code.n * sizeof(struct pol_insn));
	memcpy(r->code, ps->code.v, ps->code.n * sizeof(struct pol_insn));
	r->true_without_matches = !r->meta && true_without_matches(r->code, r->ncode);
}

