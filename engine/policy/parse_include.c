/* `include "FILE"`: the statements of another rules file, parsed where the include
 * stands (docs/rules.md). FILE is relative to the including file; it becomes one of the
 * policy's sources, so a bundle carries it. Errors inside it name it. */
#include <string.h>

#include "parser.h"

void ps_include(struct parser *ps)
{
	unsigned line = ps->tok.line, col = ps->tok.col;
	ps_next(ps);
	if (ps->tok.type != T_STRING || strlen(ps->tok.text) != ps->tok.len || ps->tok.len == 0)
		ps_unexpected(ps, "the file's name in quotes (include \"FILE\")");
	if (ps->ninclude > POL_INCLUDE_DEPTH)
		ps_error(ps, line, col, "include nested deeper than %d files", POL_INCLUDE_DEPTH);
	size_t known = ps->sources.n;
	const uint8_t *data;
	size_t len;
	uint32_t f = ps_add_source(ps, ps->tok.text, ps->tok.line, ps->tok.col, &data, &len);
	const char *name = POL_AT(ps->sources, struct pol_source, f)->name;
	for (unsigned i = 0; i < ps->ninclude; i++)
		if (ps->includes[i] == f)
			ps_error(ps, line, col, "include cycle: '%s' is already being read", name);
	if (f < known)
		ps_error(ps, line, col, "'%s' is already part of the policy: its rules would be defined twice",
		         name);
	struct lexer outer = ps->lx;
	uint32_t outer_file = ps->file;
	ps->includes[ps->ninclude++] = f;
	ps->file = f;
	ps_check_text(ps, data, len);
	lex_init(&ps->lx, (const char *)data, len, ps->p->arena);
	ps_next(ps);
	ps_statements(ps);
	ps->ninclude--;
	ps->file = outer_file;
	ps->lx = outer;
	ps_next(ps); /* past the file name */
}
