/* The parser's shared state and helpers (parse.c: file, rules, actions; parse_match.c:
 * match lines and list files; parse_when.c: `when` expressions). */
#ifndef SLUICE_POLICY_PARSER_H
#define SLUICE_POLICY_PARSER_H

#include <setjmp.h>

#include "internal.h"
#include "lexer.h"

/* `include` nests at most this deep (the rules file is depth 0). */
#define POL_INCLUDE_DEPTH 8

/* A name written in `when`, resolved to a label of the rule or to another rule. */
struct when_name {
	const char *name;
	unsigned line, col;
};
struct rule_ref {
	struct when_name *ref;
	uint32_t rule, insn;   /* rules[rule].code[insn] is the OP_RULE to patch */
};

struct parser {
	struct sl_policy *p;
	struct pol_reader *rd;
	const struct pol_build_opts *opts;
	struct sl_policy_diag *diag;
	jmp_buf fail;

	struct lexer lx;
	struct token tok;
	uint32_t file;

	struct pol_vec sources, rules, conds, patterns, hashes, thresholds, domains, nets;
	struct pol_vec code;   /* the current rule's `when`, names unresolved */
	struct pol_vec names;  /* the current rule's `when` names (struct when_name *) */
	struct pol_vec rule_refs; /* names of other rules, resolved at the end of the file */
	struct pol_vec tmp;    /* lists being read inside one match */
	struct {
		unsigned line, col;
		bool set;
	} when;
	uint32_t includes[POL_INCLUDE_DEPTH + 1]; /* sources being read: the rules file, then
	                                            * each file it includes, innermost last */
	unsigned ninclude;
	uint32_t spam_model_file;  /* the source whose spam-model statement set the model */
	size_t skipped_signatures;
	long rules_seen;       /* rules parsed so far, in file order (exclusion counts these) */
};

/* Errors end the parse (longjmp to pol_parse) with a file:line:column diagnostic. */
void ps_error(struct parser *ps, unsigned line, unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5), noreturn));
void ps_unexpected(struct parser *ps, const char *wanted) __attribute__((noreturn));
void ps_next(struct parser *ps);
bool ps_is_word(const struct parser *ps, const char *w);
void ps_expect(struct parser *ps, enum tok_type t, const char *wanted);
long ps_int(struct parser *ps, long min, long max, const char *what);
/* A list or included file named by the file being parsed (its name relative to that
 * file): read once, recorded as a source under its name relative to the rules file. */
uint32_t ps_add_source(struct parser *ps, const char *name, unsigned line, unsigned col,
                       const uint8_t **data, size_t *len);

/* "line N" in the file being parsed, "FILE:N" in another one (for "already at"). */
const char *ps_where(struct parser *ps, uint32_t file, unsigned line);
/* `include "FILE"` (parse_include.c): the statements of FILE, parsed in place. */
void ps_include(struct parser *ps);
/* Statements until the end of the current file. */
void ps_statements(struct parser *ps);
/* A NUL byte in a rules file is an error at its line. */
void ps_check_text(struct parser *ps, const uint8_t *data, size_t len);

void ps_match(struct parser *ps, struct pol_rule *r, uint32_t rule_index);
void ps_when(struct parser *ps);
void ps_finish_when(struct parser *ps, struct pol_rule *r);
/* Resolve rule names in `when` (after the whole file); refuse cycles. */
void ps_resolve_rules(struct parser *ps);

#endif
