/* Tokens of the rules language (docs/rules.md). */
#ifndef SLUICE_POLICY_LEXER_H
#define SLUICE_POLICY_LEXER_H

#include <stdbool.h>
#include <stddef.h>

enum tok_type {
	T_EOF,
	T_WORD,    /* identifiers, numbers, addresses, header:Name, labels ending in ':' */
	T_STRING,  /* "..." with escapes; may hold NUL bytes */
	T_REGEX,   /* /.../flags */
	T_LBRACE,
	T_RBRACE,
	T_LPAREN,
	T_RPAREN,
	T_COMMA,
	T_GE,      /* >= */
	T_GT,      /* > (in `when`) */
	T_LE,      /* <= */
	T_LT,      /* < */
	T_EQ,      /* == */
	T_NE,      /* != */
	T_ERROR,   /* text holds the message */
};

struct token {
	enum tok_type type;
	char *text;      /* NUL-terminated (owned by the lexer's arena) */
	size_t len;
	char flags[8];   /* T_REGEX flags */
	unsigned line, col;
};

struct pol_arena;
struct lexer {
	const char *p, *end;
	unsigned line;
	const char *line_start;
	struct pol_arena *arena;
};

void lex_init(struct lexer *lx, const char *data, size_t len, struct pol_arena *a);
void lex_next(struct lexer *lx, struct token *t);

#endif
