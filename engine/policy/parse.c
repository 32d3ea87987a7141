/* The rules language parser (grammar in docs/rules.md). It fills the policy's rule,
 * condition, pattern and hash tables; list files (keywords, hashes, ClamAV .ndb) are
 * read through the reader so a bundle can replay the same parse. The first error
 * stops the parse with a file:line:column diagnostic. */
#include <ctype.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lists.h"
#include "parser.h"

/* The error at line:col of source file: the parse stops. */
static __attribute__((noreturn)) void fail_in(struct parser *ps, uint32_t file, unsigned line,
                                               unsigned col, const char *msg)
{
	const struct pol_source *s = POL_AT(ps->sources, struct pol_source, file);
	pol_diag(ps->diag, s->path, line, col, "%s", msg);
	longjmp(ps->fail, 1);
}

void ps_error(struct parser *ps, unsigned line, unsigned col, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fail_in(ps, ps->file, line, col, msg);
}

/* Errors in list files point into those files. */
void pol_list_error(struct pol_list_ctx *lc, unsigned line, unsigned col, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fail_in(lc->parser, lc->file, line, col, msg);
}

void ps_next(struct parser *ps)
{
	lex_next(&ps->lx, &ps->tok);
	if (ps->tok.type == T_ERROR)
		ps_error(ps, ps->tok.line, ps->tok.col, "%s", ps->tok.text);
}

static const char *tok_desc(const struct token *t)
{
	switch (t->type) {
	case T_EOF: return "end of file";
	case T_STRING: return "a string";
	case T_REGEX: return "a regular expression";
	default: return NULL;
	}
}

void ps_unexpected(struct parser *ps, const char *wanted)
{
	const char *d = tok_desc(&ps->tok);
	if (d)
		ps_error(ps, ps->tok.line, ps->tok.col, "expected %s, found %s", wanted, d);
	ps_error(ps, ps->tok.line, ps->tok.col, "expected %s, found '%s'", wanted, ps->tok.text);
}

bool ps_is_word(const struct parser *ps, const char *w)
{
	return ps->tok.type == T_WORD && strcmp(ps->tok.text, w) == 0;
}

void ps_expect(struct parser *ps, enum tok_type t, const char *wanted)
{
	if (ps->tok.type != t)
		ps_unexpected(ps, wanted);
	ps_next(ps);
}

long ps_int(struct parser *ps, long min, long max, const char *what)
{
	if (ps->tok.type != T_WORD)
		ps_unexpected(ps, what);
	char *end;
	errno = 0;
	long v = strtol(ps->tok.text, &end, 10);
	if (*end || end == ps->tok.text || errno)
		ps_error(ps, ps->tok.line, ps->tok.col, "expected %s, found '%s'", what, ps->tok.text);
	if (v < min || v > max)
		ps_error(ps, ps->tok.line, ps->tok.col, "%s must be between %ld and %ld", what, min, max);
	ps_next(ps);
	return v;
}

/* A score: up to 1000000 points, with up to three decimals (SpamAssassin's are
 * written 2.499); kept in thousandths so sums are exact. */
static int ps_score(struct parser *ps)
{
	const char *t = ps->tok.type == T_WORD ? ps->tok.text : "";
	const char *q = t + (*t == '-');
	long whole = 0, frac = 0;
	int digits = 0, fdigits = 0;
	for (; *q >= '0' && *q <= '9' && digits < 8; q++, digits++)
		whole = whole * 10 + (*q - '0');
	if (*q == '.')
		for (q++; *q >= '0' && *q <= '9' && fdigits < 3; q++, fdigits++)
			frac = frac * 10 + (*q - '0');
	if (ps->tok.type != T_WORD || *q || digits == 0 || (q[-1] == '.'))
		ps_error(ps, ps->tok.line, ps->tok.col, "expected a score (like 3, -1.5 or 2.499), found '%s'",
		         ps->tok.text);
	while (fdigits++ < 3)
		frac *= 10;
	if (whole > 1000000 || (whole == 1000000 && frac))
		ps_error(ps, ps->tok.line, ps->tok.col, "a score must be between -1000000 and 1000000");
	long v = whole * 1000 + frac;
	ps_next(ps);
	return (int)(*t == '-' ? -v : v);
}

/* ---- sources ------------------------------------------------------------------------ */

/* "line N" in the file being parsed, "FILE:N" in another one. */
const char *ps_where(struct parser *ps, uint32_t file, unsigned line)
{
	const char *path = POL_AT(ps->sources, struct pol_source, file)->path;
	char *out = pol_alloc(ps->p->arena, strlen(path) + 32);
	if (file == ps->file)
		sprintf(out, "line %u", line);
	else
		sprintf(out, "%s:%u", path, line);
	return out;
}

/* "a/./b" -> "a/b", "a/x/../b" -> "a/b", in place; a leading "../" stays. */
static void fold_path(char *s)
{
	char *base = s + (*s == '/'), *o = base;
	const char *r = base;
	while (*r) {
		const char *end = strchrnul(r, '/');
		size_t len = (size_t)(end - r);
		bool up = len == 2 && r[0] == '.' && r[1] == '.';
		bool prev_up = o - base >= 3 && memcmp(o - 3, "../", 3) == 0 && (o - 3 == base || o[-4] == '/');
		if (len == 0 || (len == 1 && r[0] == '.')) {
			/* nothing */
		} else if (up && o > base && !prev_up) {
			o--;
			while (o > base && o[-1] != '/')
				o--;
		} else {
			memmove(o, r, len);
			o += len;
			if (*end)
				*o++ = '/';
		}
		r = *end ? end + 1 : end;
	}
	*o = '\0';
}

/* `name` as the file being parsed writes it, relative to the rules file's directory
 * ("x" in "sub/a.rules" is "sub/x"), folded so that one file has one name. */
static const char *source_name(struct parser *ps, const char *name)
{
	const struct pol_source *from = POL_AT(ps->sources, struct pol_source, ps->file);
	const char *slash = ps->file && name[0] != '/' ? strrchr(from->name, '/') : NULL;
	size_t dl = slash ? (size_t)(slash - from->name) + 1 : 0, nl = strlen(name);
	char *out = pol_alloc(ps->p->arena, dl + nl + 1);
	memcpy(out, from->name, dl);
	memcpy(out + dl, name, nl + 1);
	fold_path(out);
	return out;
}

uint32_t ps_add_source(struct parser *ps, const char *written, unsigned line, unsigned col,
                       const uint8_t **data, size_t *len)
{
	const char *name = source_name(ps, written);
	size_t nl = strlen(name);
	if (nl == 0 || name[nl - 1] == '/') /* "." or "x/..": errors in it would name no file */
		ps_error(ps, line, col, "'%s' names a directory, not a file", written);
	for (size_t i = 0; i < ps->sources.n; i++) {
		struct pol_source *s = POL_AT(ps->sources, struct pol_source, i);
		if (strcmp(s->name, name) == 0) {
			*data = s->data;
			*len = s->len;
			return (uint32_t)i;
		}
	}
	const char *err = NULL;
	const uint8_t *d = ps->rd->read(ps->rd, name, len, &err);
	if (!d)
		ps_error(ps, line, col, "cannot read '%s': %s", name, err ? err : "unknown error");
	struct pol_source *s = pol_vec_push(&ps->sources);
	s->name = pol_strdup(ps->p->arena, name);
	s->data = d;
	s->len = *len;
	/* messages name list files as the administrator finds them from here */
	const char *main = ps->sources.n > 1 ? POL_AT(ps->sources, struct pol_source, 0)->path : NULL;
	const char *slash = main ? strrchr(main, '/') : NULL;
	if (name[0] != '/' && slash) {
		size_t dl = (size_t)(slash - main) + 1;
		char *path = pol_alloc(ps->p->arena, dl + strlen(name) + 1);
		memcpy(path, main, dl);
		strcpy(path + dl, name);
		s->path = path;
	} else {
		s->path = s->name;
	}
	*data = d;
	return (uint32_t)(ps->sources.n - 1);
}

/* ---- actions and replies -------------------------------------------------------------- */

static bool parse_action_word(const char *w, enum sl_action *a)
{
	static const struct {
		const char *name;
		enum sl_action a;
	} acts[] = {
		{"pass", SL_ACT_PASS}, {"alert", SL_ACT_ALERT}, {"quarantine", SL_ACT_QUARANTINE},
		{"tempfail", SL_ACT_TEMPFAIL}, {"reject", SL_ACT_REJECT},
	};
	for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++)
		if (strcmp(w, acts[i].name) == 0) {
			*a = acts[i].a;
			return true;
		}
	return false;
}

/* A reply the dataplane can inject: one line, printable ASCII, the right class. */
static const char *check_reply(enum sl_action a, const char *s, size_t len)
{
	char want = a == SL_ACT_REJECT ? '5' : a == SL_ACT_TEMPFAIL ? '4' : '2';
	if (a == SL_ACT_PASS || a == SL_ACT_ALERT)
		return "pass and alert take no reply text";
	if (len < 4 || !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) ||
	    !isdigit((unsigned char)s[2]) || s[3] != ' ')
		return "a reply starts with a three-digit code and a space, e.g. \"554 5.7.1 Rejected\"";
	if (s[0] != want) {
		if (a == SL_ACT_REJECT)
			return "a reject reply must be a 5xx code";
		if (a == SL_ACT_TEMPFAIL)
			return "a tempfail reply must be a 4xx code";
		return "a quarantine reply must be a 2xx code (the client is told the message was accepted)";
	}
	if (len > 510)
		return "reply longer than 510 bytes";
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return "a reply is one line of printable ASCII";
	return NULL;
}

static void ps_action(struct parser *ps, enum sl_action *a, const char **reply, bool threshold)
{
	if (ps->tok.type != T_WORD || !parse_action_word(ps->tok.text, a))
		ps_unexpected(ps, "an action (pass, alert, quarantine, tempfail, reject)");
	if (threshold && *a == SL_ACT_PASS)
		ps_error(ps, ps->tok.line, ps->tok.col, "a threshold's action cannot be pass");
	ps_next(ps);
	*reply = NULL;
	if (ps->tok.type == T_STRING) {
		const char *why = check_reply(*a, ps->tok.text, ps->tok.len);
		if (why)
			ps_error(ps, ps->tok.line, ps->tok.col, "%s", why);
		*reply = ps->tok.text;
		ps_next(ps);
	}
}

/* ---- internal { } ------------------------------------------------------------------- */

static bool valid_domain(const char *d)
{
	if (!*d || strlen(d) > 253)
		return false;
	for (const char *c = d; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '.' && *c != '_')
			return false;
	return d[0] != '.' && d[strlen(d) - 1] != '.';
}

static void parse_internal(struct parser *ps)
{
	ps_next(ps);
	ps_expect(ps, T_LBRACE, "'{'");
	while (ps->tok.type != T_RBRACE) {
		if (ps_is_word(ps, "domain") || ps_is_word(ps, "domains")) {
			ps_next(ps);
			for (;;) {
				if (ps->tok.type != T_WORD)
					ps_unexpected(ps, "a domain name");
				if (!valid_domain(ps->tok.text))
					ps_error(ps, ps->tok.line, ps->tok.col, "'%s' is not a domain name", ps->tok.text);
				char *d = pol_strdup(ps->p->arena, ps->tok.text);
				for (char *c = d; *c; c++)
					*c = (char)tolower((unsigned char)*c);
				*(const char **)pol_vec_push(&ps->domains) = d;
				ps_next(ps);
				if (ps->tok.type != T_COMMA)
					break;
				ps_next(ps);
			}
		} else if (ps_is_word(ps, "network") || ps_is_word(ps, "networks")) {
			ps_next(ps);
			for (;;) {
				if (ps->tok.type != T_WORD)
					ps_unexpected(ps, "a network (192.0.2.0/24, 2001:db8::/32)");
				const char *err;
				struct pol_cidr *c = pol_vec_push(&ps->nets);
				if (!pol_cidr_parse(ps->tok.text, c, &err))
					ps_error(ps, ps->tok.line, ps->tok.col, "'%s': %s", ps->tok.text, err);
				ps_next(ps);
				if (ps->tok.type != T_COMMA)
					break;
				ps_next(ps);
			}
		} else {
			ps_unexpected(ps, "'domain', 'network' or '}'");
		}
	}
	ps_next(ps);
}

/* ---- threshold ---------------------------------------------------------------------- */

static void parse_threshold(struct parser *ps)
{
	unsigned line = ps->tok.line, col = ps->tok.col;
	ps_next(ps);
	struct pol_threshold *t = pol_vec_push(&ps->thresholds);
	t->line = line;
	t->col = col;
	t->file = ps->file;
	t->score = ps_score(ps);
	ps_action(ps, &t->action, &t->reply, true);
	for (size_t i = 0; i + 1 < ps->thresholds.n; i++) {
		struct pol_threshold *o = POL_AT(ps->thresholds, struct pol_threshold, i);
		if (o->action == t->action)
			ps_error(ps, line, col, "a threshold for %s is already set at %s",
			         sl_action_name(t->action), ps_where(ps, o->file, o->line));
	}
}

/* ---- spam-model --------------------------------------------------------------------- */

/* spam-model "FILE": the classifier's model (sluice/bayes.h), carried as a source. */
static void parse_spam_model(struct parser *ps)
{
	struct sl_policy *p = ps->p;
	unsigned line = ps->tok.line, col = ps->tok.col;
	if (p->has_spam_model)
		ps_error(ps, line, col, "spam-model is already set at %s",
		         ps_where(ps, ps->spam_model_file, p->spam_model_line));
	ps_next(ps);
	if (ps->tok.type != T_STRING || strlen(ps->tok.text) != ps->tok.len || ps->tok.len == 0)
		ps_unexpected(ps, "the model file's name in quotes (spam-model \"FILE\")");
	const char *name = pol_strdup(p->arena, ps->tok.text);
	const uint8_t *data;
	size_t len;
	ps_add_source(ps, name, ps->tok.line, ps->tok.col, &data, &len);
	const char *err;
	if (!sl_bayes_model_parse(data, len, &p->spam_model, &err))
		ps_error(ps, ps->tok.line, ps->tok.col, "spam model '%s': %s", name, err);
	p->has_spam_model = true;
	p->spam_model_name = name;
	p->spam_model_line = line;
	ps->spam_model_file = ps->file;
	p->spam_model_col = col;
	ps_next(ps);
}

/* A spam-probability condition needs a model. */
static void check_spam_model(struct parser *ps)
{
	for (size_t i = 0; i < ps->conds.n && !ps->p->has_spam_model; i++) {
		const struct pol_cond *c = POL_AT(ps->conds, struct pol_cond, i);
		if (c->type == COND_SPAM) {
			ps->file = c->file;
			ps_error(ps, c->line, c->col, "spam-probability needs a model: add spam-model \"FILE\" "
			         "(sluicectl spam train writes one)");
		}
	}
}

/* ---- rule --------------------------------------------------------------------------- */

static bool valid_rule_id(const char *s)
{
	if (!isalnum((unsigned char)*s))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '.' && *s != '-' && *s != '_')
			return false;
	return true;
}

static void parse_rule(struct parser *ps)
{
	unsigned line = ps->tok.line, col = ps->tok.col;
	ps_next(ps);
	if (ps->tok.type != T_WORD)
		ps_unexpected(ps, "a rule id");
	if (!valid_rule_id(ps->tok.text) || ps->tok.len > 128)
		ps_error(ps, ps->tok.line, ps->tok.col,
		     "rule id '%s' may hold only letters, digits, '.', '-', '_' (up to 128)", ps->tok.text);
	size_t rules_n = ps->rules.n, conds_n = ps->conds.n, pats_n = ps->patterns.n,
	       hashes_n = ps->hashes.n, refs_n = ps->rule_refs.n;
	uint32_t rule_index = (uint32_t)ps->rules.n;
	struct pol_rule *r = pol_vec_push(&ps->rules);
	r->id = ps->tok.text;
	r->line = line;
	r->col = col;
	r->file = ps->file;
	r->first_cond = (uint32_t)ps->conds.n;
	ps_next(ps);
	ps_expect(ps, T_LBRACE, "'{' after the rule id");
	ps->code.n = 0;
	ps->names.n = 0;
	ps->when.set = false;
	bool have_score = false, have_desc = false, have_dir = false;
	while (ps->tok.type != T_RBRACE) {
		unsigned il = ps->tok.line, ic = ps->tok.col;
		/* conds may move when the vector grows: re-fetch r */
		r = POL_AT(ps->rules, struct pol_rule, rule_index);
		if (ps_is_word(ps, "description")) {
			if (have_desc)
				ps_error(ps, il, ic, "description given twice");
			have_desc = true;
			ps_next(ps);
			if (ps->tok.type != T_STRING)
				ps_unexpected(ps, "a string after description");
			r->description = ps->tok.text;
			ps_next(ps);
		} else if (ps_is_word(ps, "direction")) {
			if (have_dir)
				ps_error(ps, il, ic, "direction given twice");
			have_dir = true;
			ps_next(ps);
			for (;;) {
				enum sl_direction d;
				if (ps_is_word(ps, "inbound"))
					d = SL_DIR_INBOUND;
				else if (ps_is_word(ps, "outbound"))
					d = SL_DIR_OUTBOUND;
				else if (ps_is_word(ps, "internal"))
					d = SL_DIR_INTERNAL;
				else
					ps_unexpected(ps, "a direction (inbound, outbound, internal)");
				r->directions |= (uint8_t)(1u << d);
				ps_next(ps);
				if (ps->tok.type != T_COMMA)
					break;
				ps_next(ps);
			}
		} else if (ps_is_word(ps, "match")) {
			if (ps->when.set)
				ps_error(ps, il, ic, "put every match before 'when'");
			ps_match(ps, r, rule_index);
		} else if (ps_is_word(ps, "when")) {
			if (ps->when.set)
				ps_error(ps, il, ic, "'when' given twice");
			ps->when.set = true;
			ps->when.line = il;
			ps->when.col = ic;
			ps_next(ps);
			ps_when(ps);
		} else if (ps_is_word(ps, "action")) {
			if (r->has_action)
				ps_error(ps, il, ic, "action given twice");
			ps_next(ps);
			enum sl_action a;
			const char *reply;
			ps_action(ps, &a, &reply, false);
			r = POL_AT(ps->rules, struct pol_rule, rule_index);
			r->action = a;
			r->reply = reply;
			r->has_action = true;
		} else if (ps_is_word(ps, "quiet")) {
			if (r->quiet)
				ps_error(ps, il, ic, "quiet given twice");
			r->quiet = true;
			ps_next(ps);
		} else if (ps_is_word(ps, "score")) {
			if (have_score)
				ps_error(ps, il, ic, "score given twice");
			have_score = true;
			ps_next(ps);
			int s = ps_score(ps);
			r = POL_AT(ps->rules, struct pol_rule, rule_index);
			r->score = s;
		} else if (ps->tok.type == T_EOF) {
			ps_error(ps, line, col, "rule %s has no closing '}'", r->id);
		} else {
			ps_unexpected(ps, "description, direction, match, when, action, score, quiet or '}'");
		}
	}
	r = POL_AT(ps->rules, struct pol_rule, rule_index);
	if (r->ncond == 0 && !ps->when.set)
		ps_error(ps, line, col, "rule %s has no match", r->id);
	if (r->quiet && (r->has_action || r->score != 0))
		ps_error(ps, line, col, "rule %s is quiet: a rule no verdict lists may not have an "
			"action or a score", r->id);
	if (!r->has_action && !have_score && !r->quiet)
		ps_error(ps, line, col, "rule %s has neither an action nor a score (nor is it quiet)",
			r->id);
	if (!r->has_action)
		r->action = SL_ACT_PASS;
	ps_finish_when(ps, r);
	if (r->ncond == 0 && !r->meta)
		ps_error(ps, line, col, "rule %s has no match and names no rule in 'when'", r->id);
	ps_next(ps);
	if (ps->opts && ps->opts->exclude_rule == ps->rules_seen++) {
		/* cost measurement: parse it (so errors still show) but leave it out */
		ps->rules.n = rules_n;
		ps->conds.n = conds_n;
		ps->patterns.n = pats_n;
		ps->hashes.n = hashes_n;
		ps->rule_refs.n = refs_n;
	}
}

/* ---- the file ----------------------------------------------------------------------- */

void ps_check_text(struct parser *ps, const uint8_t *data, size_t len)
{
	const uint8_t *z = memchr(data, '\0', len);
	if (!z)
		return;
	unsigned line = 1;
	for (const uint8_t *q = data; q < z; q++)
		line += *q == '\n';
	ps_error(ps, line, 1, "NUL byte in the policy file");
}

void ps_statements(struct parser *ps)
{
	while (ps->tok.type != T_EOF) {
		if (ps_is_word(ps, "rule"))
			parse_rule(ps);
		else if (ps_is_word(ps, "internal"))
			parse_internal(ps);
		else if (ps_is_word(ps, "threshold"))
			parse_threshold(ps);
		else if (ps_is_word(ps, "spam-model"))
			parse_spam_model(ps);
		else if (ps_is_word(ps, "include"))
			ps_include(ps);
		else
			ps_unexpected(ps, "'rule', 'internal', 'threshold', 'spam-model' or 'include'");
	}
}

static int cmp_rule_ids(const void *a, const void *b)
{
	const struct pol_rule *const *x = a, *const *y = b;
	int c = strcmp((*x)->id, (*y)->id);
	if (c)
		return c;
	return *x < *y ? -1 : *x > *y; /* the rules vector is in parse order */
}

static void check_unique_ids(struct parser *ps)
{
	size_t n = ps->rules.n;
	if (n < 2)
		return;
	const struct pol_rule **v = malloc(n * sizeof *v);
	if (!v)
		abort();
	for (size_t i = 0; i < n; i++)
		v[i] = POL_AT(ps->rules, struct pol_rule, i);
	qsort(v, n, sizeof *v, cmp_rule_ids);
	for (size_t i = 1; i < n; i++)
		if (strcmp(v[i]->id, v[i - 1]->id) == 0) {
			unsigned line = v[i]->line, col = v[i]->col;
			const char *id = v[i]->id;
			ps->file = v[i]->file;
			const char *first = ps_where(ps, v[i - 1]->file, v[i - 1]->line);
			free(v);
			ps_error(ps, line, col, "rule id %s is already used at %s", id, first);
		}
	free(v);
}

#define COPY_OUT(field, count, vec, type)                                           \
	do {                                                                            \
		p->count = (uint32_t)(vec).n;                                            \
		p->field = pol_alloc(p->arena, (vec).n * sizeof(type) + 1);              \
		if ((vec).n)                                                             \
			memcpy(p->field, (vec).v, (vec).n * sizeof(type));               \
	} while (0)

static void parser_free(struct parser *ps)
{
	pol_vec_free(&ps->sources);
	pol_vec_free(&ps->rules);
	pol_vec_free(&ps->conds);
	pol_vec_free(&ps->patterns);
	pol_vec_free(&ps->hashes);
	pol_vec_free(&ps->thresholds);
	pol_vec_free(&ps->domains);
	pol_vec_free(&ps->nets);
	pol_vec_free(&ps->code);
	pol_vec_free(&ps->names);
	pol_vec_free(&ps->rule_refs);
	pol_vec_free(&ps->tmp);
}

bool pol_parse(struct sl_policy *p, const char *path, struct pol_reader *rd,
               const struct pol_build_opts *opts, struct sl_policy_diag *diag)
{
	struct parser *ps = calloc(1, sizeof *ps);
	if (!ps)
		abort();
	ps->p = p;
	ps->rd = rd;
	ps->opts = opts;
	ps->diag = diag;
	pol_vec_init(&ps->sources, sizeof(struct pol_source));
	pol_vec_init(&ps->rules, sizeof(struct pol_rule));
	pol_vec_init(&ps->conds, sizeof(struct pol_cond));
	pol_vec_init(&ps->patterns, sizeof(struct pol_pattern));
	pol_vec_init(&ps->hashes, sizeof(struct pol_hash));
	pol_vec_init(&ps->thresholds, sizeof(struct pol_threshold));
	pol_vec_init(&ps->domains, sizeof(const char *));
	pol_vec_init(&ps->nets, sizeof(struct pol_cidr));
	pol_vec_init(&ps->code, sizeof(struct pol_insn));
	pol_vec_init(&ps->names, sizeof(void *));
	pol_vec_init(&ps->rule_refs, sizeof(struct rule_ref));
	pol_vec_init(&ps->tmp, 1);

	if (setjmp(ps->fail)) {
		parser_free(ps);
		free(ps);
		return false;
	}
	/* the rules file itself is source 0; its messages use the path as given */
	const uint8_t *data;
	size_t len;
	const char *err = NULL;
	data = rd->read(rd, path, &len, &err);
	if (!data) {
		pol_diag(diag, path, 0, 0, "cannot read policy: %s", err ? err : "unknown error");
		parser_free(ps);
		free(ps);
		return false;
	}
	struct pol_source *s = pol_vec_push(&ps->sources);
	s->name = s->path = pol_strdup(p->arena, path);
	s->data = data;
	s->len = len;
	ps->file = 0;
	ps->includes[0] = 0;
	ps->ninclude = 1;
	ps_check_text(ps, data, len);
	lex_init(&ps->lx, (const char *)data, len, p->arena);
	ps_next(ps);
	ps_statements(ps);
	if (ps->rules.n == 0 && !(opts && opts->exclude_rule >= 0))
		ps_error(ps, ps->tok.line, ps->tok.col, "the policy has no rules");
	check_unique_ids(ps);
	check_spam_model(ps);
	ps_resolve_rules(ps);

	COPY_OUT(sources, nsources, ps->sources, struct pol_source);
	COPY_OUT(rules, nrules, ps->rules, struct pol_rule);
	COPY_OUT(conds, nconds, ps->conds, struct pol_cond);
	COPY_OUT(patterns, npatterns, ps->patterns, struct pol_pattern);
	COPY_OUT(hashes, nhashes, ps->hashes, struct pol_hash);
	COPY_OUT(thresholds, nthresholds, ps->thresholds, struct pol_threshold);
	COPY_OUT(internal_domains, ninternal_domains, ps->domains, const char *);
	COPY_OUT(internal_nets, ninternal_nets, ps->nets, struct pol_cidr);
	p->skipped_signatures = ps->skipped_signatures;
	parser_free(ps);
	free(ps);
	return true;
}

