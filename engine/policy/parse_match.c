/* `match` lines: scopes, matchers (literals, regular expressions, list files, hashes,
 * networks, signals) and modifiers. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lists.h"
#include "parser.h"
#include "sluice/strbuf.h"

/* ---- match -------------------------------------------------------------------------- */

static const struct {
	const char *name;
	uint32_t bit;
} scope_names[] = {
	{"mail-from", SC_MAIL_FROM}, {"rcpt-to", SC_RCPT_TO}, {"helo", SC_HELO},
	{"client-ip", SC_CLIENT_IP}, {"header", SC_HEADER}, {"headers", SC_HEADER},
	{"body", SC_BODY}, {"text", SC_TEXT}, {"attachment", SC_ATTACHMENT},
	{"part", SC_PART}, {"content", SC_CONTENT}, {"filename", SC_FILENAME}, {"raw", SC_RAW},
	{"rendered", SC_RENDERED},
	{"signal", SC_SIGNAL}, {"archive-member", SC_ARCHIVE_MEMBER}, {"document-text", SC_DOC_TEXT},
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
                        SC_BODY | SC_TEXT | SC_ATTACHMENT | SC_PART | SC_CONTENT | SC_FILENAME | \
                        SC_RAW | SC_ARCHIVE_MEMBER | SC_DOC_TEXT | SC_RENDERED)
#define SCOPES_DATA (SC_BODY | SC_TEXT | SC_ATTACHMENT | SC_PART | SC_CONTENT | SC_RAW | SC_DOC_TEXT | SC_RENDERED)
#define SCOPES_UTF8 (SC_BODY | SC_TEXT | SC_HEADER | SC_HEADER_NAMED | SC_FILENAME | SC_DOC_TEXT | SC_RENDERED)

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
				ps_error(ps, m->line, m->col,
				     "flag 'u' (UTF-8) is only allowed on scopes that are always UTF-8 "
				     "(body, text, header, filename, document-text)");
			f |= HS_FLAG_UTF8 | HS_FLAG_UCP;
			break;
		default:
			ps_error(ps, m->line, m->col, "unknown regular expression flag '%c' (i, s, m, u)", *c);
		}
	}
	if (m->nocase)
		f |= HS_FLAG_CASELESS;
	return f;
}

static bool hexdigest(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi = sl_hexval(s[2 * i]), lo = hi < 0 ? -1 : sl_hexval(s[2 * i + 1]);
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
		if (!ps_is_word(ps, "in"))
			ps_unexpected(ps, "'in' and a list of networks after client-ip");
		ps_next(ps);
		m->kind = M_CIDR;
		return;
	}
	const char *file_kw = NULL;
	if (ps->tok.type == T_STRING) {
		m->kind = M_LITERAL;
	} else if (ps->tok.type == T_REGEX) {
		m->kind = M_REGEX;
		memcpy(m->flags, ps->tok.flags, sizeof m->flags);
	} else if (ps_is_word(ps, "literal")) {
		ps_next(ps);
		if (ps->tok.type != T_STRING)
			ps_unexpected(ps, "a string after 'literal'");
		m->kind = M_LITERAL;
	} else if (ps_is_word(ps, "keywords")) {
		m->kind = M_KEYWORDS, file_kw = "keywords";
	} else if (ps_is_word(ps, "hashes")) {
		m->kind = M_HASHES, file_kw = "hashes";
	} else if (ps_is_word(ps, "ndb")) {
		m->kind = M_NDB, file_kw = "ndb";
	} else if (ps_is_word(ps, "sha256")) {
		ps_next(ps);
		if (ps->tok.type != T_WORD || ps->tok.len != 64)
			ps_unexpected(ps, "64 hex digits after 'sha256'");
		m->kind = M_SHA256;
	} else {
		ps_unexpected(ps, "a matcher (\"literal\", /regex/, keywords \"FILE\", hashes \"FILE\", "
		               "sha256 HEX, ndb \"FILE\")");
	}
	if (file_kw) {
		ps_next(ps);
		if (ps->tok.type != T_STRING)
			ps_error(ps, ps->tok.line, ps->tok.col, "expected a file name in quotes after '%s'", file_kw);
		if (ps->tok.len == 0 || strlen(ps->tok.text) != ps->tok.len)
			ps_error(ps, ps->tok.line, ps->tok.col, "bad file name");
	}
	if (m->kind == M_LITERAL && ps->tok.len == 0)
		ps_error(ps, ps->tok.line, ps->tok.col, "empty literal");
	if (m->kind == M_REGEX && ps->tok.len == 0)
		ps_error(ps, ps->tok.line, ps->tok.col, "empty regular expression");
	m->line = ps->tok.line;
	m->col = ps->tok.col;
	m->text = ps->tok.text;
	m->len = ps->tok.len;
	ps_next(ps);
}

static void check_scopes(struct parser *ps, const struct matcher *m, uint32_t scopes,
                         unsigned line, unsigned col)
{
	uint32_t allowed;
	const char *what;
	switch (m->kind) {
	case M_HASHES:
	case M_SHA256:
		allowed = SC_ATTACHMENT | SC_PART | SC_CONTENT;
		what = "hash lists apply to attachment, part or content";
		break;
	case M_NDB:
		allowed = SCOPES_DATA;
		what = "body signatures apply to body, text, attachment, part, content or raw";
		break;
	default:
		allowed = SCOPES_TEXTUAL;
		what = "this matcher applies to text scopes";
		break;
	}
	if (scopes & ~allowed)
		ps_error(ps, line, col, "%s", what);
}

/* Unlabelled matches get "#1", "#2", ...: names `when` cannot refer to. */
static const char *new_label(struct parser *ps, size_t index)
{
	char buf[32];
	snprintf(buf, sizeof buf, "#%zu", index + 1);
	return pol_strdup(ps->p->arena, buf);
}

/* spam-probability >= P: the classifier's probability, P from 0 to 1. */
static void parse_spam_probability(struct parser *ps, struct pol_cond *c)
{
	ps_next(ps);
	if (ps->tok.type != T_GE)
		ps_unexpected(ps, "'>=' (spam-probability >= 0.9)");
	ps_next(ps);
	char *end = NULL;
	double v = ps->tok.type == T_WORD ? strtod(ps->tok.text, &end) : -1;
	if (ps->tok.type != T_WORD || *end || !(v >= 0 && v <= 1))
		ps_error(ps, ps->tok.line, ps->tok.col, "expected a probability from 0 to 1, found '%s'",
		         ps->tok.text);
	c->type = COND_SPAM;
	c->spam_min = v;
	ps_next(ps);
}

void ps_match(struct parser *ps, struct pol_rule *r, uint32_t rule_index)
{
	unsigned mline = ps->tok.line, mcol = ps->tok.col;
	ps_next(ps);
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
			ps_error(ps, ps->tok.line, ps->tok.col, "'%s' cannot be a label (it is a keyword)", name);
		for (uint32_t i = r->first_cond; i < cond_index; i++)
			if (strcmp(POL_AT(ps->conds, struct pol_cond, i)->name, name) == 0)
				ps_error(ps, ps->tok.line, ps->tok.col, "label '%s' is used twice in rule %s", name, r->id);
		c->name = name;
		ps_next(ps);
	} else {
		c->name = new_label(ps, cond_index - r->first_cond);
	}

	if (ps_is_word(ps, "spam-probability")) {
		parse_spam_probability(ps, c);
		return;
	}

	/* scopes */
	struct pol_vec *headers = &ps->tmp;
	pol_vec_free(headers);
	pol_vec_init(headers, sizeof(const char *));
	unsigned sline = ps->tok.line, scol = ps->tok.col;
	for (;;) {
		if (ps->tok.type != T_WORD)
			ps_unexpected(ps, "a scope (mail-from, rcpt-to, helo, client-ip, header, header:NAME, "
			               "body, text, attachment, part, content, filename, raw, rendered, signal)");
		uint32_t bit;
		bool as_written = strncmp(ps->tok.text, "message-header:", 15) == 0;
		if (strncmp(ps->tok.text, "header:", 7) == 0 || as_written) {
			const char *name = ps->tok.text + (as_written ? 15 : 7);
			if (!valid_field_name(name))
				ps_error(ps, ps->tok.line, ps->tok.col, "'%s' is not a header field name", name);
			/* message-header names are kept as ":name" (':' is in no field name) */
			char *lower = pol_alloc(ps->p->arena, strlen(name) + 2);
			sprintf(lower, "%s%s", as_written ? ":" : "", name);
			for (char *x = lower; *x; x++)
				*x = (char)tolower((unsigned char)*x);
			*(const char **)pol_vec_push(headers) = lower;
			c->scopes |= SC_HEADER_NAMED;
		} else if (scope_word(ps->tok.text, &bit)) {
			c->scopes |= bit;
		} else {
			ps_error(ps, ps->tok.line, ps->tok.col, "unknown scope '%s'", ps->tok.text);
		}
		ps_next(ps);
		if (ps->tok.type != T_COMMA)
			break;
		ps_next(ps);
	}
	c->nheaders = (uint32_t)headers->n;
	if (headers->n) {
		c->headers = pol_alloc(ps->p->arena, headers->n * sizeof(const char *));
		memcpy(c->headers, headers->v, headers->n * sizeof(const char *));
	}
	if ((c->scopes & (SC_SIGNAL | SC_CLIENT_IP)) && (c->scopes & (c->scopes - 1)))
		ps_error(ps, sline, scol, "signal and client-ip cannot be combined with other scopes in one match");

	struct matcher m;
	parse_matcher(ps, &m, c->scopes);

	if (m.kind == M_SIGNAL) {
		c->type = COND_SIGNAL;
		struct pol_vec *sigs = &ps->tmp;
		pol_vec_free(sigs);
		pol_vec_init(sigs, sizeof(enum sl_signal));
		for (;;) {
			if (ps->tok.type != T_WORD)
				ps_unexpected(ps, "a signal name (`sluicectl rules signals` lists them)");
			enum sl_signal s = sl_signal_lookup(ps->tok.text);
			if (s == SL_SIG_COUNT)
				ps_error(ps, ps->tok.line, ps->tok.col, "unknown signal '%s' (`sluicectl rules signals` lists them)",
				     ps->tok.text);
			*(enum sl_signal *)pol_vec_push(sigs) = s;
			ps_next(ps);
			if (ps->tok.type != T_COMMA)
				break;
			ps_next(ps);
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
				ps_unexpected(ps, "a network (192.0.2.0/24, 2001:db8::/32)");
			const char *err;
			if (!pol_cidr_parse(ps->tok.text, pol_vec_push(nets), &err))
				ps_error(ps, ps->tok.line, ps->tok.col, "'%s': %s", ps->tok.text, err);
			ps_next(ps);
			if (ps->tok.type != T_COMMA)
				break;
			ps_next(ps);
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
		if (ps_is_word(ps, "nocase")) {
			if (m.kind != M_LITERAL && m.kind != M_KEYWORDS && m.kind != M_REGEX)
				ps_error(ps, line, col, "nocase applies to literals, keywords and regular expressions");
			m.nocase = true;
			ps_next(ps);
		} else if (ps_is_word(ps, "validate")) {
			ps_next(ps);
			if (m.kind != M_LITERAL && m.kind != M_REGEX && m.kind != M_KEYWORDS)
				ps_error(ps, line, col, "validators apply to literals, keywords and regular expressions");
			if (ps->tok.type != T_WORD || pol_validator_lookup(ps->tok.text) == VAL_NONE)
				ps_unexpected(ps, "a validator (luhn, tw-id, iban)");
			if (c->validator != VAL_NONE)
				ps_error(ps, line, col, "one validator per match");
			c->validator = pol_validator_lookup(ps->tok.text);
			ps_next(ps);
		} else if (ps_is_word(ps, "count")) {
			ps_next(ps);
			if (m.kind == M_SIGNAL || m.kind == M_CIDR)
				ps_error(ps, line, col, "count applies to pattern and hash matches");
			ps_expect(ps, T_GE, "'>=' after count");
			c->min_count = (uint32_t)ps_int(ps, 1, 1000, "a count");
			if (ps_is_word(ps, "distinct")) {
				c->distinct = true;
				ps_next(ps);
			}
		} else if (ps_is_word(ps, "multiple")) {
			if (m.kind != M_LITERAL && m.kind != M_REGEX && m.kind != M_KEYWORDS)
				ps_error(ps, line, col, "multiple applies to literals, keywords and regular expressions");
			c->multiple = true;
			ps_next(ps);
		} else if (ps_is_word(ps, "window")) {
			ps_next(ps);
			if (m.kind != M_REGEX)
				ps_error(ps, line, col, "window applies to regular expressions");
			m.window = (uint32_t)ps_int(ps, 16, 65536, "a window size");
		} else if (ps_is_word(ps, "ignore-unsupported")) {
			if (m.kind != M_NDB)
				ps_error(ps, line, col, "ignore-unsupported applies to ndb signature files");
			m.ignore_unsupported = true;
			ps_next(ps);
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
			ps_error(ps, m.line, m.col, "sha256 needs 64 hex digits");
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
		uint32_t f = ps_add_source(ps, m.text, m.line, m.col, &data, &len);
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
			ps_error(ps, m.line, m.col, "'%s' holds no entries", m.text);
		c->type = m.kind == M_HASHES ? COND_HASH : COND_PATTERN;
		break;
	}
	default:
		break;
	}
	if (c->validator != VAL_NONE && c->type != COND_PATTERN)
		ps_error(ps, mline, mcol, "validators apply to pattern matches");
}

