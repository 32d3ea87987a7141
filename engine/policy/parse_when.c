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
	} else if (ps->tok.type == T_WORD && !ps_is_word(ps, "and") && !ps_is_word(ps, "or")) {
		/* names are resolved when the rule ends; remember where each was written */
		struct {
			const char *name;
			unsigned line, col;
		} *ref = pol_alloc(ps->p->arena, sizeof *ref);
		ref->name = ps->tok.text;
		ref->line = ps->tok.line;
		ref->col = ps->tok.col;
		*(void **)pol_vec_push(&ps->names) = ref;
		emit(ps, OP_COND, (uint32_t)(ps->names.n - 1));
		ps_next(ps);
	} else {
		ps_unexpected(ps, "a match label, 'not' or '('");
	}
}

static void parse_and(struct parser *ps, int depth)
{
	parse_factor(ps, depth);
	while (ps_is_word(ps, "and")) {
		ps_next(ps);
		parse_factor(ps, depth);
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

/* Evaluate `code` with every condition false: a rule that holds then must be checked
 * on every message, not only on those where one of its patterns matched. */
static bool true_without_matches(const struct pol_insn *code, uint32_t n)
{
	bool stack[256];
	int sp = 0;
	for (uint32_t i = 0; i < n; i++) {
		switch (code[i].op) {
		case OP_COND: stack[sp++] = false; break;
		case OP_NOT: stack[sp - 1] = !stack[sp - 1]; break;
		case OP_AND: sp--, stack[sp - 1] = stack[sp - 1] && stack[sp]; break;
		case OP_OR: sp--, stack[sp - 1] = stack[sp - 1] || stack[sp]; break;
		}
	}
	return sp == 1 && stack[0];
}

static uint32_t code_depth(const struct pol_insn *code, uint32_t n)
{
	uint32_t sp = 0, max = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (code[i].op == OP_COND)
			sp++;
		else if (code[i].op != OP_NOT)
			sp--;
		if (sp > max)
			max = sp;
	}
	return max;
}

void ps_finish_when(struct parser *ps, struct pol_rule *r)
{
	if (!ps->when.set) {
		/* default: every match must hold */
		ps->code.n = 0;
		for (uint32_t i = 0; i < r->ncond; i++) {
			emit(ps, OP_COND, r->first_cond + i);
			if (i > 0)
				emit(ps, OP_AND, 0);
		}
	} else {
		for (size_t i = 0; i < ps->code.n; i++) {
			struct pol_insn *in = POL_AT(ps->code, struct pol_insn, i);
			if (in->op != OP_COND)
				continue;
			struct {
				const char *name;
				unsigned line, col;
			} *ref = *POL_AT(ps->names, void *, in->arg);
			uint32_t k;
			for (k = 0; k < r->ncond; k++)
				if (strcmp(POL_AT(ps->conds, struct pol_cond, r->first_cond + k)->name, ref->name) == 0)
					break;
			if (k == r->ncond)
				ps_error(ps, ref->line, ref->col, "'%s' is not a match label of rule %s", ref->name, r->id);
			in->arg = r->first_cond + k;
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
	r->true_without_matches = true_without_matches(r->code, r->ncode);
}

