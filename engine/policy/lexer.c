#include "lexer.h"

#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "sluice/strbuf.h"

void lex_init(struct lexer *lx, const char *data, size_t len, struct pol_arena *a)
{
	lx->p = data;
	lx->end = data + len;
	lx->line = 1;
	lx->line_start = data;
	lx->arena = a;
}

static bool word_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-' || c == ':' || c == '@' || c == '/' ||
	       c == '*' || c == '+' || c >= 0x80;
}

static void error(struct lexer *lx, struct token *t, const char *msg)
{
	t->type = T_ERROR;
	t->text = pol_strdup(lx->arena, msg);
	t->len = strlen(msg);
}

static void lex_string(struct lexer *lx, struct token *t)
{
	/* the decoded string is never longer than the rest of its line */
	const char *eol = memchr(lx->p, '\n', (size_t)(lx->end - lx->p));
	char *out = pol_alloc(lx->arena, (size_t)((eol ? eol : lx->end) - lx->p) + 1);
	size_t n = 0;
	lx->p++; /* opening quote */
	for (;;) {
		if (lx->p >= lx->end || *lx->p == '\n') {
			error(lx, t, "unterminated string (strings end on the same line)");
			return;
		}
		char c = *lx->p++;
		if (c == '"')
			break;
		if (c != '\\') {
			out[n++] = c;
			continue;
		}
		if (lx->p >= lx->end) {
			error(lx, t, "unterminated string");
			return;
		}
		c = *lx->p++;
		switch (c) {
		case 'n': out[n++] = '\n'; break;
		case 'r': out[n++] = '\r'; break;
		case 't': out[n++] = '\t'; break;
		case '\\': out[n++] = '\\'; break;
		case '"': out[n++] = '"'; break;
		case 'x': {
			int hi = lx->p < lx->end ? sl_hexval(lx->p[0]) : -1;
			int lo = lx->p + 1 < lx->end ? sl_hexval(lx->p[1]) : -1;
			if (hi < 0 || lo < 0) {
				error(lx, t, "\\x needs two hex digits");
				return;
			}
			out[n++] = (char)(hi * 16 + lo);
			lx->p += 2;
			break;
		}
		default:
			error(lx, t, "unknown escape in string (use \\\\ \\\" \\n \\r \\t \\xHH)");
			return;
		}
	}
	out[n] = '\0';
	t->type = T_STRING;
	t->text = out;
	t->len = n;
}

static void lex_regex(struct lexer *lx, struct token *t)
{
	const char *start = ++lx->p;
	while (lx->p < lx->end && *lx->p != '/' && *lx->p != '\n') {
		if (*lx->p == '\\' && lx->p + 1 < lx->end && lx->p[1] != '\n')
			lx->p++;
		lx->p++;
	}
	if (lx->p >= lx->end || *lx->p != '/') {
		error(lx, t, "unterminated regular expression (/.../ ends on the same line)");
		return;
	}
	t->type = T_REGEX;
	t->text = pol_strndup(lx->arena, start, (size_t)(lx->p - start));
	t->len = (size_t)(lx->p - start);
	lx->p++;
	size_t nf = 0;
	while (lx->p < lx->end && ((*lx->p >= 'a' && *lx->p <= 'z') || (*lx->p >= 'A' && *lx->p <= 'Z'))) {
		if (nf + 1 >= sizeof t->flags) {
			error(lx, t, "too many regular expression flags");
			return;
		}
		t->flags[nf++] = *lx->p++;
	}
	t->flags[nf] = '\0';
}

void lex_next(struct lexer *lx, struct token *t)
{
	memset(t, 0, sizeof *t);
	for (;;) {
		while (lx->p < lx->end && (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\r' ||
		                           *lx->p == '\n' || *lx->p == ';')) {
			if (*lx->p == '\n') {
				lx->line++;
				lx->line_start = lx->p + 1;
			}
			lx->p++;
		}
		if (lx->p < lx->end && *lx->p == '#') {
			while (lx->p < lx->end && *lx->p != '\n')
				lx->p++;
			continue;
		}
		break;
	}
	t->line = lx->line;
	t->col = (unsigned)(lx->p - lx->line_start) + 1;
	if (lx->p >= lx->end) {
		t->type = T_EOF;
		t->text = "";
		return;
	}
	unsigned char c = (unsigned char)*lx->p;
	switch (c) {
	case '{': t->type = T_LBRACE; break;
	case '}': t->type = T_RBRACE; break;
	case '(': t->type = T_LPAREN; break;
	case ')': t->type = T_RPAREN; break;
	case ',': t->type = T_COMMA; break;
	case '"': lex_string(lx, t); return;
	case '/': lex_regex(lx, t); return;
	case '>':
	case '<':
	case '=':
	case '!': {
		/* comparisons (`when`, `count >=`): two-byte forms first */
		bool eq = lx->p + 1 < lx->end && lx->p[1] == '=';
		static const enum tok_type one[] = {['>'] = T_GT, ['<'] = T_LT},
		                           two[] = {['>'] = T_GE, ['<'] = T_LE, ['='] = T_EQ, ['!'] = T_NE};
		if (!eq && (c == '=' || c == '!')) {
			error(lx, t, c == '=' ? "'=' must be '=='" : "'!' must be '!=' (negation is 'not')");
			lx->p++;
			return;
		}
		t->type = eq ? two[c] : one[c];
		t->len = eq ? 2 : 1;
		t->text = pol_strndup(lx->arena, lx->p, t->len);
		lx->p += t->len;
		return;
	}
	default:
		if (word_char(c)) {
			const char *start = lx->p;
			while (lx->p < lx->end && word_char((unsigned char)*lx->p))
				lx->p++;
			t->type = T_WORD;
			t->text = pol_strndup(lx->arena, start, (size_t)(lx->p - start));
			t->len = (size_t)(lx->p - start);
			return;
		}
		char msg[64];
		if (c >= 0x20 && c < 0x7f)
			snprintf(msg, sizeof msg, "unexpected character '%c'", c);
		else
			snprintf(msg, sizeof msg, "unexpected byte 0x%02x", c);
		error(lx, t, msg);
		lx->p++;
		return;
	}
	t->text = pol_strndup(lx->arena, lx->p, 1);
	t->len = 1;
	lx->p++;
}
