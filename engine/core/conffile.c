#include "sluice/conffile.h"

#include <ctype.h>
#include <string.h>

char *sl_conf_trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

void sl_conf_init(struct sl_conf_reader *r, const char *text)
{
	r->p = text;
	r->lineno = 0;
}

static void section(char *line, struct sl_conf_line *out)
{
	char *close = strchr(line, ']');
	if (!close || close[1]) {
		out->kind = SL_CONF_ERROR;
		out->error = "expected [section]";
		return;
	}
	*close = 0;
	char *name = sl_conf_trim(line + 1), *sp = strpbrk(name, " \t");
	out->arg = NULL;
	if (sp) {
		*sp = 0;
		out->arg = sl_conf_trim(sp + 1);
	}
	out->kind = SL_CONF_SECTION;
	out->name = name;
}

void sl_conf_next(struct sl_conf_reader *r, struct sl_conf_line *out)
{
	memset(out, 0, sizeof *out);
	while (*r->p) {
		const char *nl = strchr(r->p, '\n');
		size_t len = nl ? (size_t)(nl - r->p) : strlen(r->p);
		out->lineno = ++r->lineno;
		const char *start = r->p;
		r->p += len + (nl ? 1 : 0);
		if (len >= sizeof r->buf) {
			out->kind = SL_CONF_ERROR;
			out->error = "line too long";
			return;
		}
		memcpy(r->buf, start, len);
		r->buf[len] = 0;
		char *hash = strchr(r->buf, '#');
		if (hash)
			*hash = 0;
		char *line = sl_conf_trim(r->buf);
		if (!*line)
			continue;
		if (*line == '[') {
			section(line, out);
			return;
		}
		char *eq = strchr(line, '=');
		if (!eq) {
			out->kind = SL_CONF_ERROR;
			out->error = "expected key = value";
			return;
		}
		*eq = 0;
		out->kind = SL_CONF_KEY;
		out->key = sl_conf_trim(line);
		out->value = sl_conf_trim(eq + 1);
		return;
	}
	out->kind = SL_CONF_END;
	out->lineno = r->lineno;
}
