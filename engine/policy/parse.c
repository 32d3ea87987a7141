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

#include "internal.h"
#include "lexer.h"
#include "lists.h"

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
	struct pol_vec names;  /* the current rule's `when` names (const char *) */
	struct pol_vec tmp;    /* lists being read inside one match */
	struct {
		unsigned line, col;
		bool set;
	} when;
	size_t skipped_signatures;
	long rules_seen;       /* rules parsed so far, in file order (exclusion counts these) */
};

static void perr(struct parser *ps, unsigned line, unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5), noreturn));
static void perr(struct parser *ps, unsigned line, unsigned col, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	const struct pol_source *s = POL_AT(ps->sources, struct pol_source, ps->file);
	pol_diag(ps->diag, s->path, line, col, "%s", msg);
	longjmp(ps->fail, 1);
}

/* Errors in list files point into those files. */
void pol_list_error(struct pol_list_ctx *lc, unsigned line, unsigned col, const char *fmt, ...)
{
	struct parser *ps = lc->parser;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	const struct pol_source *s = POL_AT(ps->sources, struct pol_source, lc->file);
	pol_diag(ps->diag, s->path, line, col, "%s", msg);
	longjmp(ps->fail, 1);
}

static void next(struct parser *ps)
{
	lex_next(&ps->lx, &ps->tok);
	if (ps->tok.type == T_ERROR)
		perr(ps, ps->tok.line, ps->tok.col, "%s", ps->tok.text);
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

static void unexpected(struct parser *ps, const char *wanted) __attribute__((noreturn));
static void unexpected(struct parser *ps, const char *wanted)
{
	const char *d = tok_desc(&ps->tok);
	if (d)
		perr(ps, ps->tok.line, ps->tok.col, "expected %s, found %s", wanted, d);
	perr(ps, ps->tok.line, ps->tok.col, "expected %s, found '%s'", wanted, ps->tok.text);
}

static bool is_word(const struct parser *ps, const char *w)
{
	return ps->tok.type == T_WORD && strcmp(ps->tok.text, w) == 0;
}

static void expect(struct parser *ps, enum tok_type t, const char *wanted)
{
	if (ps->tok.type != t)
		unexpected(ps, wanted);
	next(ps);
}

static long parse_int(struct parser *ps, long min, long max, const char *what)
{
	if (ps->tok.type != T_WORD)
		unexpected(ps, what);
	char *end;
	errno = 0;
	long v = strtol(ps->tok.text, &end, 10);
	if (*end || end == ps->tok.text || errno)
		perr(ps, ps->tok.line, ps->tok.col, "expected %s, found '%s'", what, ps->tok.text);
	if (v < min || v > max)
		perr(ps, ps->tok.line, ps->tok.col, "%s must be between %ld and %ld", what, min, max);
	next(ps);
	return v;
}

/* ---- sources ------------------------------------------------------------------------ */

static uint32_t add_source(struct parser *ps, const char *name, unsigned line, unsigned col,
                           const uint8_t **data, size_t *len)
{
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
		perr(ps, line, col, "cannot read '%s': %s", name, err ? err : "unknown error");
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

static void parse_action(struct parser *ps, enum sl_action *a, const char **reply, bool threshold)
{
	if (ps->tok.type != T_WORD || !parse_action_word(ps->tok.text, a))
		unexpected(ps, "an action (pass, alert, quarantine, tempfail, reject)");
	if (threshold && *a == SL_ACT_PASS)
		perr(ps, ps->tok.line, ps->tok.col, "a threshold's action cannot be pass");
	next(ps);
	*reply = NULL;
	if (ps->tok.type == T_STRING) {
		const char *why = check_reply(*a, ps->tok.text, ps->tok.len);
		if (why)
			perr(ps, ps->tok.line, ps->tok.col, "%s", why);
		*reply = ps->tok.text;
		next(ps);
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
	next(ps);
	expect(ps, T_LBRACE, "'{'");
	while (ps->tok.type != T_RBRACE) {
		if (is_word(ps, "domain") || is_word(ps, "domains")) {
			next(ps);
			for (;;) {
				if (ps->tok.type != T_WORD)
					unexpected(ps, "a domain name");
				if (!valid_domain(ps->tok.text))
					perr(ps, ps->tok.line, ps->tok.col, "'%s' is not a domain name", ps->tok.text);
				char *d = pol_strdup(ps->p->arena, ps->tok.text);
				for (char *c = d; *c; c++)
					*c = (char)tolower((unsigned char)*c);
				*(const char **)pol_vec_push(&ps->domains) = d;
				next(ps);
				if (ps->tok.type != T_COMMA)
					break;
				next(ps);
			}
		} else if (is_word(ps, "network") || is_word(ps, "networks")) {
			next(ps);
			for (;;) {
				if (ps->tok.type != T_WORD)
					unexpected(ps, "a network (192.0.2.0/24, 2001:db8::/32)");
				const char *err;
				struct pol_cidr *c = pol_vec_push(&ps->nets);
				if (!pol_cidr_parse(ps->tok.text, c, &err))
					perr(ps, ps->tok.line, ps->tok.col, "'%s': %s", ps->tok.text, err);
				next(ps);
				if (ps->tok.type != T_COMMA)
					break;
				next(ps);
			}
		} else {
			unexpected(ps, "'domain', 'network' or '}'");
		}
	}
	next(ps);
}

/* ---- threshold ---------------------------------------------------------------------- */

static void parse_threshold(struct parser *ps)
{
	unsigned line = ps->tok.line, col = ps->tok.col;
	next(ps);
	struct pol_threshold *t = pol_vec_push(&ps->thresholds);
	t->line = line;
	t->col = col;
	t->score = (int)parse_int(ps, -1000000, 1000000, "a score");
	parse_action(ps, &t->action, &t->reply, true);
	for (size_t i = 0; i + 1 < ps->thresholds.n; i++) {
		struct pol_threshold *o = POL_AT(ps->thresholds, struct pol_threshold, i);
		if (o->action == t->action)
			perr(ps, line, col, "a threshold for %s is already set at line %u",
			     sl_action_name(t->action), o->line);
	}
}

/* ---- match -------------------------------------------------------------------------- */

static const struct {
	const char *name;
	uint32_t bit;
} scope_names[] = {
	{"mail-from", SC_MAIL_FROM}, {"rcpt-to", SC_RCPT_TO}, {"helo", SC_HELO},
	{"client-ip", SC_CLIENT_IP}, {"header", SC_HEADER}, {"headers", SC_HEADER},
	{"body", SC_BODY}, {"text", SC_TEXT}, {"attachment", SC_ATTACHMENT},
	{"part", SC_PART}, {"filename", SC_FILENAME}, {"raw", SC_RAW}, {"signal", SC_SIGNAL},
};

static bool scope_word(const char *w, uint32_t *bit)
{
	for (size_t i = 0; i < sizeof scope_names / sizeof scope_names[0]; i++)
		if (strcmp(w, scope_names[i].name) == 0) {
			*bit = scope_names[i].bit;
			return true;
		}
	return false;
}

static bool valid_field_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f || *s == ':')
			return false;
	return true;
}

enum matcher_kind {
	M_LITERAL,
	M_REGEX,
	M_KEYWORDS,
	M_HASHES,
	M_SHA256,
	M_NDB,
	M_CIDR,
	M_SIGNAL,
};

struct matcher {
	enum matcher_kind kind;
	const char *text;
	size_t len;
	char flags[8];
	unsigned line, col;
	bool nocase;
	bool ignore_unsupported;
	uint32_t window;
};

#define SCOPES_TEXTUAL (SC_MAIL_FROM | SC_RCPT_TO | SC_HELO | SC_HEADER | SC_HEADER_NAMED | \
                        SC_BODY | SC_TEXT | SC_ATTACHMENT | SC_PART | SC_FILENAME | SC_RAW)
#define SCOPES_DATA (SC_BODY | SC_TEXT | SC_ATTACHMENT | SC_PART | SC_RAW)
#define SCOPES_UTF8 (SC_BODY | SC_TEXT | SC_HEADER | SC_HEADER_NAMED | SC_FILENAME)

static char *escape_literal(struct pol_arena *a, const char *s, size_t n)
{
	char *out = pol_alloc(a, 4 * n + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (isalnum(c) || c >= 0x80 || c == ' ' || c == '_') {
			out[o++] = (char)c;
		} else {
			static const char hex[] = "0123456789abcdef";
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return out;
}

static struct pol_pattern *new_pattern(struct parser *ps, uint32_t cond, uint32_t file,
                                       unsigned line, unsigned col)
{
	struct pol_pattern *pt = pol_vec_push(&ps->patterns);
	pt->cond = cond;
	pt->file = file;
	pt->line = line;
	pt->col = col;
	return pt;
}

void pol_list_add_literal(struct pol_list_ctx *lc, const char *s, size_t n, bool nocase,
                          unsigned line, unsigned col)
{
	struct parser *ps = lc->parser;
	struct pol_pattern *pt = new_pattern(ps, lc->cond, lc->file, line, col);
	pt->expr = escape_literal(ps->p->arena, s, n);
	pt->literal = true;
	pt->lit_len = (uint32_t)n;
	pt->hs_flags = nocase ? HS_FLAG_CASELESS : 0;
	pt->label = pol_strndup(ps->p->arena, s, n);
}

void pol_list_add_regex(struct pol_list_ctx *lc, const char *expr, const char *label,
                        unsigned line, unsigned col)
{
	struct parser *ps = lc->parser;
	struct pol_pattern *pt = new_pattern(ps, lc->cond, lc->file, line, col);
	pt->expr = expr;
	pt->hs_flags = HS_FLAG_DOTALL;
	pt->label = label;
}

void pol_list_add_hash(struct pol_list_ctx *lc, enum pol_digest type, const uint8_t *digest,
                       int64_t size, const char *label)
{
	struct parser *ps = lc->parser;
	struct pol_hash *h = pol_vec_push(&ps->hashes);
	h->type = (uint8_t)type;
	memcpy(h->digest, digest, type == DIG_MD5 ? 16 : type == DIG_SHA1 ? 20 : 32);
	h->size = size;
	h->cond = lc->cond;
	h->label = label;
}

void pol_list_skipped(struct pol_list_ctx *lc)
{
	lc->parser->skipped_signatures++;
}

struct pol_arena *pol_list_arena(struct pol_list_ctx *lc)
{
	return lc->parser->p->arena;
}

static unsigned regex_flags(struct parser *ps, const struct matcher *m, uint32_t scopes)
{
	unsigned f = 0;
	for (const char *c = m->flags; *c; c++) {
		switch (*c) {
		case 'i': f |= HS_FLAG_CASELESS; break;
		case 's': f |= HS_FLAG_DOTALL; break;
		case 'm': f |= HS_FLAG_MULTILINE; break;
		case 'u':
			if (scopes & ~SCOPES_UTF8)
				perr(ps, m->line, m->col,
				     "flag 'u' (UTF-8) is only allowed on scopes that are always UTF-8 "
				     "(body, text, header, filename)");
			f |= HS_FLAG_UTF8 | HS_FLAG_UCP;
			break;
		default:
			perr(ps, m->line, m->col, "unknown regular expression flag '%c' (i, s, m, u)", *c);
		}
	}
	if (m->nocase)
		f |= HS_FLAG_CASELESS;
	return f;
}

static bool hexdigest(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi = pol_hexval(s[2 * i]), lo = hi < 0 ? -1 : pol_hexval(s[2 * i + 1]);
		if (lo < 0)
			return false;
		out[i] = (uint8_t)(hi * 16 + lo);
	}
	return s[2 * n] == '\0';
}

static void parse_matcher(struct parser *ps, struct matcher *m, uint32_t scopes)
{
	memset(m, 0, sizeof *m);
	m->line = ps->tok.line;
	m->col = ps->tok.col;
	if (scopes & SC_SIGNAL) {
		m->kind = M_SIGNAL;
		return; /* names are read by the caller */
	}
	if (scopes & SC_CLIENT_IP) {
		if (!is_word(ps, "in"))
			unexpected(ps, "'in' and a list of networks after client-ip");
		next(ps);
		m->kind = M_CIDR;
		return;
	}
	const char *file_kw = NULL;
	if (ps->tok.type == T_STRING) {
		m->kind = M_LITERAL;
	} else if (ps->tok.type == T_REGEX) {
		m->kind = M_REGEX;
		memcpy(m->flags, ps->tok.flags, sizeof m->flags);
	} else if (is_word(ps, "literal")) {
		next(ps);
		if (ps->tok.type != T_STRING)
			unexpected(ps, "a string after 'literal'");
		m->kind = M_LITERAL;
	} else if (is_word(ps, "keywords")) {
		m->kind = M_KEYWORDS, file_kw = "keywords";
	} else if (is_word(ps, "hashes")) {
		m->kind = M_HASHES, file_kw = "hashes";
	} else if (is_word(ps, "ndb")) {
		m->kind = M_NDB, file_kw = "ndb";
	} else if (is_word(ps, "sha256")) {
		next(ps);
		if (ps->tok.type != T_WORD || ps->tok.len != 64)
			unexpected(ps, "64 hex digits after 'sha256'");
		m->kind = M_SHA256;
	} else {
		unexpected(ps, "a matcher (\"literal\", /regex/, keywords \"FILE\", hashes \"FILE\", "
		               "sha256 HEX, ndb \"FILE\")");
	}
	if (file_kw) {
		next(ps);
		if (ps->tok.type != T_STRING)
			perr(ps, ps->tok.line, ps->tok.col, "expected a file name in quotes after '%s'", file_kw);
		if (ps->tok.len == 0 || strlen(ps->tok.text) != ps->tok.len)
			perr(ps, ps->tok.line, ps->tok.col, "bad file name");
	}
	if (m->kind == M_LITERAL && ps->tok.len == 0)
		perr(ps, ps->tok.line, ps->tok.col, "empty literal");
	if (m->kind == M_REGEX && ps->tok.len == 0)
		perr(ps, ps->tok.line, ps->tok.col, "empty regular expression");
	m->line = ps->tok.line;
	m->col = ps->tok.col;
	m->text = ps->tok.text;
	m->len = ps->tok.len;
	next(ps);
}

static void check_scopes(struct parser *ps, const struct matcher *m, uint32_t scopes,
                         unsigned line, unsigned col)
{
	uint32_t allowed;
	const char *what;
	switch (m->kind) {
	case M_HASHES:
	case M_SHA256:
		allowed = SC_ATTACHMENT | SC_PART;
		what = "hash lists apply to attachment or part";
		break;
	case M_NDB:
		allowed = SCOPES_DATA;
		what = "body signatures apply to body, text, attachment, part or raw";
		break;
	default:
		allowed = SCOPES_TEXTUAL;
		what = "this matcher applies to text scopes";
		break;
	}
	if (scopes & ~allowed)
		perr(ps, line, col, "%s", what);
}

static const char *new_label(struct parser *ps, const struct pol_rule *r, size_t index)
{
	char buf[32];
	snprintf(buf, sizeof buf, "#%zu", index + 1);
	(void)r;
	return pol_strdup(ps->p->arena, buf);
}

static void parse_match(struct parser *ps, struct pol_rule *r, uint32_t rule_index)
{
	unsigned mline = ps->tok.line, mcol = ps->tok.col;
	next(ps);
	uint32_t cond_index = (uint32_t)ps->conds.n;
	struct pol_cond *c = pol_vec_push(&ps->conds);
	c->rule = rule_index;
	c->min_count = 1;
	c->line = mline;
	c->col = mcol;
	c->file = ps->file;
	r->ncond++;

	/* optional label */
	if (ps->tok.type == T_WORD && ps->tok.len > 1 && ps->tok.text[ps->tok.len - 1] == ':' &&
	    strchr(ps->tok.text, ':') == ps->tok.text + ps->tok.len - 1) {
		char *name = pol_strndup(ps->p->arena, ps->tok.text, ps->tok.len - 1);
		uint32_t bit;
		if (scope_word(name, &bit) || strcmp(name, "and") == 0 || strcmp(name, "or") == 0 ||
		    strcmp(name, "not") == 0)
			perr(ps, ps->tok.line, ps->tok.col, "'%s' cannot be a label (it is a keyword)", name);
		for (uint32_t i = r->first_cond; i < cond_index; i++)
			if (strcmp(POL_AT(ps->conds, struct pol_cond, i)->name, name) == 0)
				perr(ps, ps->tok.line, ps->tok.col, "label '%s' is used twice in rule %s", name, r->id);
		c->name = name;
		next(ps);
	} else {
		c->name = new_label(ps, r, cond_index - r->first_cond);
	}

	/* scopes */
	struct pol_vec *headers = &ps->tmp;
	pol_vec_free(headers);
	pol_vec_init(headers, sizeof(const char *));
	unsigned sline = ps->tok.line, scol = ps->tok.col;
	for (;;) {
		if (ps->tok.type != T_WORD)
			unexpected(ps, "a scope (mail-from, rcpt-to, helo, client-ip, header, header:NAME, "
			               "body, text, attachment, part, filename, raw, signal)");
		uint32_t bit;
		if (strncmp(ps->tok.text, "header:", 7) == 0) {
			const char *name = ps->tok.text + 7;
			if (!valid_field_name(name))
				perr(ps, ps->tok.line, ps->tok.col, "'%s' is not a header field name", name);
			char *lower = pol_strdup(ps->p->arena, name);
			for (char *x = lower; *x; x++)
				*x = (char)tolower((unsigned char)*x);
			*(const char **)pol_vec_push(headers) = lower;
			c->scopes |= SC_HEADER_NAMED;
		} else if (scope_word(ps->tok.text, &bit)) {
			c->scopes |= bit;
		} else {
			perr(ps, ps->tok.line, ps->tok.col, "unknown scope '%s'", ps->tok.text);
		}
		next(ps);
		if (ps->tok.type != T_COMMA)
			break;
		next(ps);
	}
	c->nheaders = (uint32_t)headers->n;
	if (headers->n) {
		c->headers = pol_alloc(ps->p->arena, headers->n * sizeof(const char *));
		memcpy(c->headers, headers->v, headers->n * sizeof(const char *));
	}
	if ((c->scopes & (SC_SIGNAL | SC_CLIENT_IP)) && (c->scopes & (c->scopes - 1)))
		perr(ps, sline, scol, "signal and client-ip cannot be combined with other scopes in one match");

	struct matcher m;
	parse_matcher(ps, &m, c->scopes);

	if (m.kind == M_SIGNAL) {
		c->type = COND_SIGNAL;
		struct pol_vec *sigs = &ps->tmp;
		pol_vec_free(sigs);
		pol_vec_init(sigs, sizeof(enum sl_signal));
		for (;;) {
			if (ps->tok.type != T_WORD)
				unexpected(ps, "a signal name (see docs/signals.md)");
			enum sl_signal s = sl_signal_lookup(ps->tok.text);
			if (s == SL_SIG_COUNT)
				perr(ps, ps->tok.line, ps->tok.col, "unknown signal '%s' (see docs/signals.md)",
				     ps->tok.text);
			*(enum sl_signal *)pol_vec_push(sigs) = s;
			next(ps);
			if (ps->tok.type != T_COMMA)
				break;
			next(ps);
		}
		c->nsignals = (uint32_t)sigs->n;
		c->signals = pol_alloc(ps->p->arena, sigs->n * sizeof(enum sl_signal));
		memcpy(c->signals, sigs->v, sigs->n * sizeof(enum sl_signal));
		return;
	}
	if (m.kind == M_CIDR) {
		c->type = COND_CLIENT_IP;
		struct pol_vec *nets = &ps->tmp;
		pol_vec_free(nets);
		pol_vec_init(nets, sizeof(struct pol_cidr));
		for (;;) {
			if (ps->tok.type != T_WORD)
				unexpected(ps, "a network (192.0.2.0/24, 2001:db8::/32)");
			const char *err;
			if (!pol_cidr_parse(ps->tok.text, pol_vec_push(nets), &err))
				perr(ps, ps->tok.line, ps->tok.col, "'%s': %s", ps->tok.text, err);
			next(ps);
			if (ps->tok.type != T_COMMA)
				break;
			next(ps);
		}
		c->ncidr = (uint32_t)nets->n;
		c->cidr = pol_alloc(ps->p->arena, nets->n * sizeof(struct pol_cidr));
		memcpy(c->cidr, nets->v, nets->n * sizeof(struct pol_cidr));
		return;
	}
	check_scopes(ps, &m, c->scopes, sline, scol);

	/* modifiers */
	for (;;) {
		unsigned line = ps->tok.line, col = ps->tok.col;
		if (is_word(ps, "nocase")) {
			if (m.kind != M_LITERAL && m.kind != M_KEYWORDS && m.kind != M_REGEX)
				perr(ps, line, col, "nocase applies to literals, keywords and regular expressions");
			m.nocase = true;
			next(ps);
		} else if (is_word(ps, "validate")) {
			next(ps);
			if (m.kind != M_LITERAL && m.kind != M_REGEX && m.kind != M_KEYWORDS)
				perr(ps, line, col, "validators apply to literals, keywords and regular expressions");
			if (ps->tok.type != T_WORD || pol_validator_lookup(ps->tok.text) == VAL_NONE)
				unexpected(ps, "a validator (luhn, tw-id, iban)");
			if (c->validator != VAL_NONE)
				perr(ps, line, col, "one validator per match");
			c->validator = pol_validator_lookup(ps->tok.text);
			next(ps);
		} else if (is_word(ps, "count")) {
			next(ps);
			if (m.kind == M_SIGNAL || m.kind == M_CIDR)
				perr(ps, line, col, "count applies to pattern and hash matches");
			expect(ps, T_GE, "'>=' after count");
			c->min_count = (uint32_t)parse_int(ps, 1, 1000, "a count");
			if (is_word(ps, "distinct")) {
				c->distinct = true;
				next(ps);
			}
		} else if (is_word(ps, "window")) {
			next(ps);
			if (m.kind != M_REGEX)
				perr(ps, line, col, "window applies to regular expressions");
			m.window = (uint32_t)parse_int(ps, 16, 65536, "a window size");
		} else if (is_word(ps, "ignore-unsupported")) {
			if (m.kind != M_NDB)
				perr(ps, line, col, "ignore-unsupported applies to ndb signature files");
			m.ignore_unsupported = true;
			next(ps);
		} else {
			break;
		}
	}

	struct pol_list_ctx lc = {.parser = ps, .cond = cond_index, .nocase = m.nocase,
	                          .ignore_unsupported = m.ignore_unsupported};
	switch (m.kind) {
	case M_LITERAL:
		lc.file = ps->file;
		pol_list_add_literal(&lc, m.text, m.len, m.nocase, m.line, m.col);
		POL_AT(ps->patterns, struct pol_pattern, ps->patterns.n - 1)->label = NULL;
		c->type = COND_PATTERN;
		break;
	case M_REGEX: {
		struct pol_pattern *pt = new_pattern(ps, cond_index, ps->file, m.line, m.col);
		pt->expr = m.text;
		pt->hs_flags = regex_flags(ps, &m, c->scopes);
		pt->window = m.window;
		c->type = COND_PATTERN;
		break;
	}
	case M_SHA256: {
		uint8_t d[32];
		if (!hexdigest(m.text, d, 32))
			perr(ps, m.line, m.col, "sha256 needs 64 hex digits");
		lc.file = ps->file;
		pol_list_add_hash(&lc, DIG_SHA256, d, -1, NULL);
		c->type = COND_HASH;
		break;
	}
	case M_KEYWORDS:
	case M_HASHES:
	case M_NDB: {
		const uint8_t *data;
		size_t len;
		uint32_t f = add_source(ps, m.text, m.line, m.col, &data, &len);
		lc.file = f;
		size_t before = m.kind == M_HASHES ? ps->hashes.n : ps->patterns.n;
		if (m.kind == M_KEYWORDS)
			pol_list_keywords(&lc, (const char *)data, len);
		else if (m.kind == M_HASHES)
			pol_list_hashes(&lc, (const char *)data, len);
		else
			pol_list_ndb(&lc, (const char *)data, len);
		size_t after = m.kind == M_HASHES ? ps->hashes.n : ps->patterns.n;
		if (after == before)
			perr(ps, m.line, m.col, "'%s' holds no entries", m.text);
		c->type = m.kind == M_HASHES ? COND_HASH : COND_PATTERN;
		break;
	}
	default:
		break;
	}
	if (c->validator != VAL_NONE && c->type != COND_PATTERN)
		perr(ps, mline, mcol, "validators apply to pattern matches");
}

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
		perr(ps, ps->tok.line, ps->tok.col, "expression nested too deeply");
	if (is_word(ps, "not")) {
		next(ps);
		parse_factor(ps, depth + 1);
		emit(ps, OP_NOT, 0);
	} else if (ps->tok.type == T_LPAREN) {
		next(ps);
		parse_or(ps, depth + 1);
		expect(ps, T_RPAREN, "')'");
	} else if (ps->tok.type == T_WORD && !is_word(ps, "and") && !is_word(ps, "or")) {
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
		next(ps);
	} else {
		unexpected(ps, "a match label, 'not' or '('");
	}
}

static void parse_and(struct parser *ps, int depth)
{
	parse_factor(ps, depth);
	while (is_word(ps, "and")) {
		next(ps);
		parse_factor(ps, depth);
		emit(ps, OP_AND, 0);
	}
}

static void parse_or(struct parser *ps, int depth)
{
	parse_and(ps, depth);
	while (is_word(ps, "or")) {
		next(ps);
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

static void finish_when(struct parser *ps, struct pol_rule *r)
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
				perr(ps, ref->line, ref->col, "'%s' is not a match label of rule %s", ref->name, r->id);
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
				perr(ps, c->line, c->col, "match '%s' is not used in 'when' of rule %s", c->name, r->id);
		}
	}
	r->ncode = (uint32_t)ps->code.n;
	if (code_depth(ps->code.v, r->ncode) > 256)
		perr(ps, ps->when.line, ps->when.col, "expression too large");
	r->code = pol_alloc(ps->p->arena, ps->code.n * sizeof(struct pol_insn));
	memcpy(r->code, ps->code.v, ps->code.n * sizeof(struct pol_insn));
	r->true_without_matches = true_without_matches(r->code, r->ncode);
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
	next(ps);
	if (ps->tok.type != T_WORD)
		unexpected(ps, "a rule id");
	if (!valid_rule_id(ps->tok.text) || ps->tok.len > 128)
		perr(ps, ps->tok.line, ps->tok.col,
		     "rule id '%s' may hold only letters, digits, '.', '-', '_' (up to 128)", ps->tok.text);
	size_t rules_n = ps->rules.n, conds_n = ps->conds.n, pats_n = ps->patterns.n,
	       hashes_n = ps->hashes.n;
	uint32_t rule_index = (uint32_t)ps->rules.n;
	struct pol_rule *r = pol_vec_push(&ps->rules);
	r->id = ps->tok.text;
	r->line = line;
	r->col = col;
	r->file = ps->file;
	r->first_cond = (uint32_t)ps->conds.n;
	next(ps);
	expect(ps, T_LBRACE, "'{' after the rule id");
	ps->code.n = 0;
	ps->names.n = 0;
	ps->when.set = false;
	bool have_score = false, have_desc = false, have_dir = false;
	while (ps->tok.type != T_RBRACE) {
		unsigned il = ps->tok.line, ic = ps->tok.col;
		/* conds may move when the vector grows: re-fetch r */
		r = POL_AT(ps->rules, struct pol_rule, rule_index);
		if (is_word(ps, "description")) {
			if (have_desc)
				perr(ps, il, ic, "description given twice");
			have_desc = true;
			next(ps);
			if (ps->tok.type != T_STRING)
				unexpected(ps, "a string after description");
			r->description = ps->tok.text;
			next(ps);
		} else if (is_word(ps, "direction")) {
			if (have_dir)
				perr(ps, il, ic, "direction given twice");
			have_dir = true;
			next(ps);
			for (;;) {
				enum sl_direction d;
				if (is_word(ps, "inbound"))
					d = SL_DIR_INBOUND;
				else if (is_word(ps, "outbound"))
					d = SL_DIR_OUTBOUND;
				else if (is_word(ps, "internal"))
					d = SL_DIR_INTERNAL;
				else
					unexpected(ps, "a direction (inbound, outbound, internal)");
				r->directions |= (uint8_t)(1u << d);
				next(ps);
				if (ps->tok.type != T_COMMA)
					break;
				next(ps);
			}
		} else if (is_word(ps, "match")) {
			if (ps->when.set)
				perr(ps, il, ic, "put every match before 'when'");
			parse_match(ps, r, rule_index);
		} else if (is_word(ps, "when")) {
			if (ps->when.set)
				perr(ps, il, ic, "'when' given twice");
			ps->when.set = true;
			ps->when.line = il;
			ps->when.col = ic;
			next(ps);
			parse_or(ps, 0);
		} else if (is_word(ps, "action")) {
			if (r->has_action)
				perr(ps, il, ic, "action given twice");
			next(ps);
			enum sl_action a;
			const char *reply;
			parse_action(ps, &a, &reply, false);
			r = POL_AT(ps->rules, struct pol_rule, rule_index);
			r->action = a;
			r->reply = reply;
			r->has_action = true;
		} else if (is_word(ps, "score")) {
			if (have_score)
				perr(ps, il, ic, "score given twice");
			have_score = true;
			next(ps);
			int s = (int)parse_int(ps, -1000000, 1000000, "a score");
			r = POL_AT(ps->rules, struct pol_rule, rule_index);
			r->score = s;
		} else if (ps->tok.type == T_EOF) {
			perr(ps, line, col, "rule %s has no closing '}'", r->id);
		} else {
			unexpected(ps, "description, direction, match, when, action, score or '}'");
		}
	}
	r = POL_AT(ps->rules, struct pol_rule, rule_index);
	if (r->ncond == 0)
		perr(ps, line, col, "rule %s has no match", r->id);
	if (!r->has_action && !have_score)
		perr(ps, line, col, "rule %s has neither an action nor a score", r->id);
	if (!r->has_action)
		r->action = SL_ACT_PASS;
	finish_when(ps, r);
	next(ps);
	if (ps->opts && ps->opts->exclude_rule == ps->rules_seen++) {
		/* cost measurement: parse it (so errors still show) but leave it out */
		ps->rules.n = rules_n;
		ps->conds.n = conds_n;
		ps->patterns.n = pats_n;
		ps->hashes.n = hashes_n;
	}
}

/* ---- the file ----------------------------------------------------------------------- */

static int cmp_rule_ids(const void *a, const void *b)
{
	const struct pol_rule *const *x = a, *const *y = b;
	int c = strcmp((*x)->id, (*y)->id);
	if (c)
		return c;
	return (*x)->line < (*y)->line ? -1 : (*x)->line > (*y)->line;
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
			unsigned line = v[i]->line, col = v[i]->col, first = v[i - 1]->line;
			const char *id = v[i]->id;
			free(v);
			perr(ps, line, col, "rule id %s is already used at line %u", id, first);
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
	if (memchr(data, '\0', len)) {
		const uint8_t *z = memchr(data, '\0', len);
		unsigned line = 1;
		for (const uint8_t *q = data; q < z; q++)
			line += *q == '\n';
		perr(ps, line, 1, "NUL byte in the policy file");
	}
	lex_init(&ps->lx, (const char *)data, len, p->arena);
	next(ps);
	while (ps->tok.type != T_EOF) {
		if (is_word(ps, "rule"))
			parse_rule(ps);
		else if (is_word(ps, "internal"))
			parse_internal(ps);
		else if (is_word(ps, "threshold"))
			parse_threshold(ps);
		else
			unexpected(ps, "'rule', 'internal' or 'threshold'");
	}
	if (ps->rules.n == 0 && !(opts && opts->exclude_rule >= 0))
		perr(ps, ps->tok.line, ps->tok.col, "the policy has no rules");
	check_unique_ids(ps);

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
