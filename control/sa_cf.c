/* Reading SpamAssassin configuration files the way Mail::SpamAssassin::Conf::Parser
 * does: `#` comments (not `\#`) cut, `ifplugin`/`if`/`else`/`endif` evaluated against
 * the loaded plugins and the version, later definitions replacing earlier ones. Only
 * what turns into rules is kept; other directives are counted. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sa_import.h"

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n);
	if (!q) {
		fprintf(stderr, "sluicectl: out of memory\n");
		exit(1);
	}
	return q;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (!d) {
		fprintf(stderr, "sluicectl: out of memory\n");
		exit(1);
	}
	return d;
}

static unsigned hash_name(const char *s)
{
	unsigned h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % 4096;
}

struct sa_rule *sa_find(struct sa_conf *c, const char *name)
{
	for (struct sa_rule *r = c->hash[hash_name(name)]; r; r = r->hnext)
		if (strcmp(r->name, name) == 0)
			return r;
	return NULL;
}

/* The rule NAME, created (in definition order) if it does not exist yet: score,
 * describe and tflags may come before the rule itself. */
static struct sa_rule *rule_get(struct sa_conf *c, const char *name)
{
	struct sa_rule *r = sa_find(c, name);
	if (r)
		return r;
	r = calloc(1, sizeof *r);
	if (!r)
		exit(1);
	r->name = xstrdup(name);
	r->dropped = true; /* until it is defined */
	unsigned h = hash_name(name);
	r->hnext = c->hash[h];
	c->hash[h] = r;
	if (c->nrules == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 1024;
		c->rules = xrealloc(c->rules, c->cap * sizeof *c->rules);
	}
	c->rules[c->nrules++] = r;
	return r;
}

bool sa_plugin_loaded(const struct sa_conf *c, const char *name)
{
	for (size_t i = 0; i < c->nplugins; i++)
		if (strcmp(c->plugins[i], name) == 0)
			return true;
	return false;
}

/* ---- `if` expressions ---------------------------------------------------------------- */

struct ifparse {
	const struct sa_conf *c;
	const char *p;
	const char *err;
};

static void skip_ws(struct ifparse *x)
{
	while (isspace((unsigned char)*x->p))
		x->p++;
}

static double if_or(struct ifparse *x, int depth);

/* can(Mail::SpamAssassin::Conf::feature_X) holds for 4.0's features;
 * can(Mail::SpamAssassin::Plugin::P::has_X) when P is loaded. */
static double if_call(struct ifparse *x, const char *fn, size_t fl)
{
	const char *open = x->p, *close = strchr(open, ')');
	if (!close) {
		x->err = "unclosed '('";
		return 0;
	}
	char arg[256];
	size_t n = (size_t)(close - open - 1);
	if (n >= sizeof arg) {
		x->err = "argument too long";
		return 0;
	}
	memcpy(arg, open + 1, n);
	arg[n] = '\0';
	x->p = close + 1;
	if (fl == 6 && strncmp(fn, "plugin", 6) == 0)
		return sa_plugin_loaded(x->c, arg);
	if (fl == 3 && strncmp(fn, "can", 3) == 0) {
		if (strncmp(arg, "Mail::SpamAssassin::Conf::feature_", 34) == 0 ||
		    strncmp(arg, "Mail::SpamAssassin::Conf::perl_min_version_", 43) == 0)
			return 1;
		char *last = strstr(arg, "::has_");
		if (last && strncmp(arg, "Mail::SpamAssassin::Plugin::", 28) == 0) {
			*last = '\0';
			return sa_plugin_loaded(x->c, arg);
		}
		return 0;
	}
	x->err = "unknown function";
	return 0;
}

static double if_atom(struct ifparse *x, int depth)
{
	skip_ws(x);
	if (depth > 32) {
		x->err = "nested too deeply";
		return 0;
	}
	if (*x->p == '!') {
		x->p++;
		return !if_atom(x, depth + 1);
	}
	if (*x->p == '(') {
		x->p++;
		double v = if_or(x, depth + 1);
		skip_ws(x);
		if (*x->p != ')')
			x->err = "missing ')'";
		else
			x->p++;
		return v;
	}
	if (isdigit((unsigned char)*x->p)) {
		char *end;
		double v = strtod(x->p, &end);
		x->p = end;
		return v;
	}
	const char *w = x->p;
	while (isalnum((unsigned char)*x->p) || *x->p == '_')
		x->p++;
	size_t wl = (size_t)(x->p - w);
	if (wl == 7 && strncmp(w, "version", 7) == 0)
		return x->c->version;
	if (wl == 12 && strncmp(w, "perl_version", 12) == 0)
		return 5.036;
	if (*x->p == '(' && wl)
		return if_call(x, w, wl);
	x->err = "unknown term";
	return 0;
}

static double if_cmp(struct ifparse *x, int depth)
{
	double a = if_atom(x, depth);
	skip_ws(x);
	static const char *ops[] = {">=", "<=", "==", "!=", ">", "<"};
	for (int i = 0; i < 6; i++) {
		size_t l = strlen(ops[i]);
		if (strncmp(x->p, ops[i], l) == 0) {
			x->p += l;
			double b = if_atom(x, depth);
			switch (i) {
			case 0: return a >= b;
			case 1: return a <= b;
			case 2: return a == b;
			case 3: return a != b;
			case 4: return a > b;
			default: return a < b;
			}
		}
	}
	return a;
}

static double if_and(struct ifparse *x, int depth)
{
	double v = if_cmp(x, depth);
	for (;;) {
		skip_ws(x);
		if (strncmp(x->p, "&&", 2) != 0)
			return v;
		x->p += 2;
		double w = if_cmp(x, depth);
		v = v && w;
	}
}

static double if_or(struct ifparse *x, int depth)
{
	double v = if_and(x, depth);
	for (;;) {
		skip_ws(x);
		if (strncmp(x->p, "||", 2) != 0)
			return v;
		x->p += 2;
		double w = if_and(x, depth);
		v = v || w;
	}
}

bool sa_eval_if(const struct sa_conf *c, const char *expr, bool *value, const char **err)
{
	struct ifparse x = {c, expr, NULL};
	double v = if_or(&x, 0);
	skip_ws(&x);
	if (!x.err && *x.p)
		x.err = "unexpected text";
	if (x.err) {
		*err = x.err;
		return false;
	}
	*value = v != 0;
	return true;
}

/* ---- directives ------------------------------------------------------------------------- */

static const struct {
	const char *word;
	enum sa_type type;
} rule_kinds[] = {
	{"header", SA_HEADER}, {"mimeheader", SA_MIMEHEADER}, {"body", SA_BODY},
	{"rawbody", SA_RAWBODY}, {"full", SA_FULL}, {"uri", SA_URI}, {"meta", SA_META},
};

/* First word of *s (moved past it and the blanks after). */
static char *word(char **s)
{
	char *w = *s;
	while (**s && !isspace((unsigned char)**s))
		(*s)++;
	if (**s) {
		*(*s)++ = '\0';
		while (isspace((unsigned char)**s))
			(*s)++;
	}
	return w;
}

static void directive(struct sa_conf *c, const char *file, unsigned line, char *s)
{
	char *key = word(&s);
	for (size_t i = 0; i < sizeof rule_kinds / sizeof rule_kinds[0]; i++) {
		if (strcmp(key, rule_kinds[i].word) != 0)
			continue;
		char *name = word(&s);
		if (!*name || !*s) {
			fprintf(c->report, "%s:%u: %s: no rule name or definition: ignored\n", file, line, key);
			return;
		}
		struct sa_rule *r = rule_get(c, name);
		free(r->def);
		free(r->file);
		r->type = rule_kinds[i].type;
		r->def = xstrdup(s);
		r->file = xstrdup(file);
		r->line = line;
		r->dropped = false;
		return;
	}
	if (strcmp(key, "score") == 0 || strcmp(key, "describe") == 0 || strcmp(key, "tflags") == 0) {
		char *name = word(&s);
		if (!*name)
			return;
		struct sa_rule *r = rule_get(c, name);
		if (key[0] == 's') {
			char *end;
			/* score set 0 (no network tests, no Bayes) is the first number */
			double v = strtod(s, &end);
			if (end == s) {
				fprintf(c->report, "%s:%u: score %s: not a number: ignored\n", file, line, name);
				return;
			}
			r->score = v;
			r->has_score = true;
		} else if (key[0] == 'd') {
			free(r->describe);
			r->describe = xstrdup(s);
		} else {
			free(r->tflags);
			r->tflags = xstrdup(s);
		}
		return;
	}
	if (strcmp(key, "required_score") == 0 || strcmp(key, "required_hits") == 0) {
		c->required_score = strtod(s, NULL);
		return;
	}
	if (strcmp(key, "loadplugin") == 0) {
		char *name = word(&s);
		if (!sa_plugin_loaded(c, name)) {
			c->plugins = xrealloc(c->plugins, (c->nplugins + 1) * sizeof *c->plugins);
			c->plugins[c->nplugins++] = xstrdup(name);
		}
		return;
	}
	if (strncmp(key, "replace_", 8) == 0 && strcmp(key, "replace_rules") != 0) {
		char *name = word(&s);
		c->tags = xrealloc(c->tags, (c->ntags + 1) * sizeof *c->tags);
		c->tags[c->ntags++] = (struct sa_kv){xstrdup(key + 8), xstrdup(name), xstrdup(s)};
		return;
	}
	if (strcmp(key, "replace_rules") == 0) {
		while (*s)
			rule_get(c, word(&s))->replace = true;
		return;
	}
	c->skipped_directives++;
}

/* Strip a comment (`#` not after a backslash), unescape `\#`, trim. */
static char *clean_line(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (*r == '#' && (r == s || r[-1] != '\\'))
			break;
		if (*r == '\\' && r[1] == '#')
			continue;
		*w++ = *r;
	}
	*w = '\0';
	while (w > s && isspace((unsigned char)w[-1]))
		*--w = '\0';
	while (isspace((unsigned char)*s))
		s++;
	return s;
}

static bool read_file(struct sa_conf *c, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return false;
	}
	/* conditionals: each level is on (its lines are read) or off */
	bool on[64];
	int depth = 0;
	on[0] = true;
	char *buf = NULL;
	size_t cap = 0;
	unsigned line = 0;
	bool ok = true;
	while (getline(&buf, &cap, f) >= 0) {
		line++;
		char *s = clean_line(buf);
		if (!*s)
			continue;
		char *rest = s;
		char *key = word(&rest);
		if (strcmp(key, "ifplugin") == 0 || strcmp(key, "if") == 0) {
			bool v = false;
			const char *err = NULL;
			if (key[2] == 'p')
				v = sa_plugin_loaded(c, rest);
			else if (!sa_eval_if(c, rest, &v, &err))
				fprintf(c->report, "%s:%u: if %s: cannot evaluate (%s): its block is left out\n",
				        path, line, rest, err);
			if (depth == 63) {
				fprintf(stderr, "%s:%u: conditionals nested too deeply\n", path, line);
				ok = false;
				break;
			}
			depth++;
			on[depth] = on[depth - 1] && v;
			continue;
		}
		if (strcmp(key, "else") == 0) {
			if (depth == 0) {
				fprintf(stderr, "%s:%u: 'else' without 'if'\n", path, line);
				ok = false;
				break;
			}
			on[depth] = on[depth - 1] && !on[depth];
			continue;
		}
		if (strcmp(key, "endif") == 0) {
			if (depth == 0) {
				fprintf(stderr, "%s:%u: 'endif' without 'if'\n", path, line);
				ok = false;
				break;
			}
			depth--;
			continue;
		}
		if (!on[depth])
			continue;
		if (strcmp(key, "lang") == 0)
			continue; /* translations of describe/report */
		size_t kl = strlen(key);
		if (*rest)
			s[kl] = ' '; /* word() cut it: put the line back together */
		directive(c, path, line, s);
	}
	if (ok && depth != 0)
		fprintf(c->report, "%s: %d conditional(s) not closed at the end of the file\n", path, depth);
	if (ferror(f)) {
		fprintf(stderr, "%s: read error\n", path);
		ok = false;
	}
	free(buf);
	fclose(f);
	return ok;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool read_dir(struct sa_conf *c, const char *dir, const char *ext)
{
	DIR *d = opendir(dir);
	if (!d) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return false;
	}
	char **names = NULL;
	size_t n = 0;
	struct dirent *e;
	size_t el = strlen(ext);
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l > el && strcmp(e->d_name + l - el, ext) == 0) {
			names = xrealloc(names, (n + 1) * sizeof *names);
			names[n++] = xstrdup(e->d_name);
		}
	}
	closedir(d);
	qsort(names, n, sizeof *names, cmp_str);
	bool ok = true;
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		ok = ok && read_file(c, path);
		free(names[i]);
	}
	free(names);
	return ok;
}

bool sa_read_dirs(struct sa_conf *c, char **dirs, size_t ndirs)
{
	/* as SpamAssassin: plugins (.pre) first, then the rules (.cf) in the order given */
	for (size_t i = 0; i < ndirs; i++)
		if (!read_dir(c, dirs[i], ".pre"))
			return false;
	for (size_t i = 0; i < ndirs; i++)
		if (!read_dir(c, dirs[i], ".cf"))
			return false;
	return true;
}

void sa_conf_free(struct sa_conf *c)
{
	for (size_t i = 0; i < c->nrules; i++) {
		struct sa_rule *r = c->rules[i];
		free(r->name);
		free(r->def);
		free(r->file);
		free(r->describe);
		free(r->tflags);
		free(r);
	}
	free(c->rules);
	for (size_t i = 0; i < c->nplugins; i++)
		free(c->plugins[i]);
	free(c->plugins);
	for (size_t i = 0; i < c->ntags; i++) {
		free(c->tags[i].kind);
		free(c->tags[i].name);
		free(c->tags[i].value);
	}
	free(c->tags);
	if (c->report)
		fclose(c->report);
	free(c);
}
