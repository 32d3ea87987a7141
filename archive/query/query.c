/* The query parser: a small recursive descent over the query string. */
#include "query.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "terms.h"
#include "text.h"

struct parser {
	const char *q;
	size_t pos;
	char *err;
	size_t errlen;
	bool failed;
};

static size_t column(const char *q, size_t byte)
{
	size_t col = 1;
	for (size_t i = 0; i < byte && q[i]; i++)
		if (((unsigned char)q[i] & 0xC0) != 0x80)
			col++;
	return col;
}

static struct ar_qnode *error_at(struct parser *p, size_t at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static struct ar_qnode *error_at(struct parser *p, size_t at, const char *fmt, ...)
{
	if (p->failed)
		return NULL;
	p->failed = true;
	char msg[384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "column %zu: %s", column(p->q, at), msg);
	return NULL;
}

/* Allocation failures fail the query with an error, like any other bad query. */
static struct ar_qnode *node(struct parser *p, enum ar_qtype t)
{
	struct ar_qnode *n = p->failed ? NULL : calloc(1, sizeof *n);
	if (!n)
		return error_at(p, p->pos, "out of memory");
	n->type = t;
	return n;
}

void ar_query_free(struct ar_qnode *n);

/* A buffer that dropped bytes would search for a different word. */
static bool out_of_memory(struct parser *p, const struct sl_strbuf *b)
{
	if (b->failed)
		error_at(p, p->pos, "out of memory");
	return b->failed;
}

/* Takes k: on failure k is freed and false returned. */
static bool add_kid(struct parser *p, struct ar_qnode *n, struct ar_qnode *k)
{
	if (!k)
		return false;
	struct ar_qnode **kids = realloc(n->kids, (n->nkids + 1) * sizeof *n->kids);
	if (!kids) {
		ar_query_free(k);
		error_at(p, p->pos, "out of memory");
		return false;
	}
	n->kids = kids;
	n->kids[n->nkids++] = k;
	return true;
}

static bool add_term(struct parser *p, struct ar_qnode *n, const char *t, size_t len)
{
	char **terms = realloc(n->terms, (n->nterms + 1) * sizeof *n->terms);
	if (terms)
		n->terms = terms;
	char *term = terms ? strndup(t ? t : "", len) : NULL; /* an empty fold leaves t NULL */
	if (!term) {
		error_at(p, p->pos, "out of memory");
		return false;
	}
	n->terms[n->nterms++] = term;
	return true;
}

void ar_query_free(struct ar_qnode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nkids; i++)
		ar_query_free(n->kids[i]);
	for (size_t i = 0; i < n->nterms; i++)
		free(n->terms[i]);
	free(n->kids);
	free(n->terms);
	free(n);
}

static void skip_space(struct parser *p)
{
	while (p->q[p->pos] && isspace((unsigned char)p->q[p->pos]))
		p->pos++;
}

static bool at_word(struct parser *p, const char *w)
{
	size_t l = strlen(w);
	if (strncmp(p->q + p->pos, w, l) != 0)
		return false;
	char c = p->q[p->pos + l];
	return c == '\0' || isspace((unsigned char)c) || c == '(' || c == ')';
}

/* A value: "quoted" or up to whitespace / parenthesis. */
static bool read_value(struct parser *p, struct sl_strbuf *v, bool *quoted)
{
	*quoted = false;
	if (p->q[p->pos] == '"') {
		size_t start = p->pos;
		p->pos++;
		while (p->q[p->pos] && p->q[p->pos] != '"')
			sl_strbuf_putc(v, p->q[p->pos++]);
		if (!p->q[p->pos]) {
			error_at(p, start, "unterminated quote");
			return false;
		}
		p->pos++;
		*quoted = true;
		return true;
	}
	while (p->q[p->pos] && !isspace((unsigned char)p->q[p->pos]) && p->q[p->pos] != '(' &&
	       p->q[p->pos] != ')')
		sl_strbuf_putc(v, p->q[p->pos++]);
	return true;
}

struct tok_list {
	struct parser *p;
	struct ar_qnode *n;
};

static void on_token(void *ctx, const char *t, size_t len)
{
	struct tok_list *tl = ctx;
	add_term(tl->p, tl->n, t, len);
}

/* Text search: the words of the value, one term or a phrase. */
static struct ar_qnode *text_node(struct parser *p, size_t at, const char *fields,
	const char *v, size_t len)
{
	struct ar_qnode *n = node(p, AR_Q_PHRASE);
	if (!n)
		return NULL;
	n->nfields = strlen(fields);
	memcpy(n->fields, fields, n->nfields);
	struct tok_list tl = { p, n };
	ar_tokenize(v, len, on_token, &tl);
	if (p->failed) {
		ar_query_free(n);
		return NULL;
	}
	if (n->nterms == 0) {
		ar_query_free(n);
		return error_at(p, at, "no searchable word in \"%.*s\"", (int)len, v);
	}
	if (n->nterms == 1)
		n->type = AR_Q_TERM;
	return n;
}

/* Exact-value search (addresses, rule ids): the case-folded value as one term; a
 * quoted value with spaces is the AND of its words (display names). */
static struct ar_qnode *value_node(struct parser *p, size_t at, uint8_t field,
	const char *v, size_t len)
{
	bool spaced = false;
	for (size_t i = 0; i < len; i++)
		if (isspace((unsigned char)v[i]))
			spaced = true;
	if (spaced) {
		struct ar_qnode *words = node(p, AR_Q_PHRASE);
		if (!words)
			return NULL;
		struct tok_list tl = { p, words };
		ar_tokenize(v, len, on_token, &tl);
		if (p->failed || words->nterms == 0) {
			ar_query_free(words);
			return error_at(p, at, "no searchable word in \"%.*s\"", (int)len, v);
		}
		struct ar_qnode *and = node(p, AR_Q_AND);
		for (size_t i = 0; and && i < words->nterms; i++) {
			struct ar_qnode *t = node(p, AR_Q_TERM);
			if (t) {
				t->fields[0] = field;
				t->nfields = 1;
				if (!add_term(p, t, words->terms[i], strlen(words->terms[i]))) {
					ar_query_free(t);
					t = NULL;
				}
			}
			if (!add_kid(p, and, t)) {
				ar_query_free(and);
				and = NULL;
			}
		}
		ar_query_free(words);
		return and;
	}
	struct sl_strbuf f;
	sl_strbuf_init(&f);
	ar_fold(v, len, &f);
	struct ar_qnode *n = out_of_memory(p, &f) ? NULL : node(p, AR_Q_TERM);
	if (n) {
		n->fields[0] = field;
		n->nfields = 1;
		if (!add_term(p, n, f.s, f.len)) {
			ar_query_free(n);
			n = NULL;
		}
	}
	sl_strbuf_free(&f);
	return n;
}

static bool parse_day(const char *v, int64_t *out)
{
	int y, m, d;
	char tail;
	if (sscanf(v, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || strlen(v) != 10)
		return false;
	if (m < 1 || m > 12 || d < 1 || d > 31 || y < 1970)
		return false;
	struct tm tm = { .tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d };
	time_t t = timegm(&tm);
	struct tm back;
	gmtime_r(&t, &back);
	if (back.tm_mday != d) /* 2024-02-30 and the like */
		return false;
	*out = (int64_t)t;
	return true;
}

static const char *const field_names =
	"from, to, subject, body, filename, rule, direction, source, msgid, thread, has, "
	"after, before";

static struct ar_qnode *field_node(struct parser *p, size_t at, const char *name,
	size_t nlen, const char *v, size_t vlen, bool quoted, size_t vat)
{
#define IS(s) (nlen == strlen(s) && strncmp(name, s, nlen) == 0)
	if (vlen == 0)
		return error_at(p, vat, "%.*s: needs a value", (int)nlen, name);
	if (IS("from"))
		return value_node(p, vat, AR_F_FROM, v, vlen);
	if (IS("to"))
		return value_node(p, vat, AR_F_TO, v, vlen);
	if (IS("subject"))
		return text_node(p, vat, "s", v, vlen);
	if (IS("body"))
		return text_node(p, vat, "b", v, vlen);
	if (IS("filename"))
		return text_node(p, vat, "n", v, vlen);
	if (IS("rule"))
		return value_node(p, vat, AR_F_RULE, v, vlen);
	if (IS("source"))
		return value_node(p, vat, AR_F_SOURCE, v, vlen);
	if (IS("msgid") || IS("thread")) {
		if (vlen >= 2 && v[0] == '<' && v[vlen - 1] == '>') {
			v++;
			vlen -= 2;
		}
		struct ar_qnode *n = value_node(p, vat, AR_F_MSGID, v, vlen);
		if (n && IS("thread") && n->type == AR_Q_TERM)
			n->fields[n->nfields++] = AR_F_PARENT;
		return n;
	}
	if (IS("direction")) {
		static const char *const dirs[] = { "inbound", "outbound", "internal", "unknown" };
		for (size_t i = 0; i < 4; i++)
			if (vlen == strlen(dirs[i]) && strncmp(v, dirs[i], vlen) == 0)
				return value_node(p, vat, AR_F_DIRECTION, v, vlen);
		return error_at(p, vat, "direction: is inbound, outbound, internal or unknown");
	}
	if (IS("has")) {
		if (vlen == 10 && strncmp(v, "attachment", 10) == 0)
			return value_node(p, vat, AR_F_HAS, v, vlen);
		return error_at(p, vat, "has: knows only 'attachment'");
	}
	if (IS("after") || IS("before")) {
		char day[16];
		int64_t t;
		if (vlen >= sizeof day || (memcpy(day, v, vlen), day[vlen] = '\0', !parse_day(day, &t)))
			return error_at(p, vat, "%.*s: wants a date YYYY-MM-DD (UTC), got \"%.*s\"",
				(int)nlen, name, (int)vlen, v);
		struct ar_qnode *n = node(p, AR_Q_DATE);
		if (!n)
			return NULL;
		n->lo = IS("after") ? t : INT64_MIN;
		n->hi = IS("after") ? INT64_MAX : t;
		return n;
	}
	(void)quoted;
	return error_at(p, at, "unknown field \"%.*s\" (fields: %s)", (int)nlen, name, field_names);
#undef IS
}

static struct ar_qnode *parse_or(struct parser *p, int depth);

static struct ar_qnode *parse_unary(struct parser *p, int depth)
{
	skip_space(p);
	size_t at = p->pos;
	char c = p->q[p->pos];
	if (c == '-') {
		p->pos++;
		if (!p->q[p->pos] || isspace((unsigned char)p->q[p->pos]))
			return error_at(p, at, "'-' must be followed by a term");
		struct ar_qnode *k = parse_unary(p, depth);
		if (!k)
			return NULL;
		struct ar_qnode *n = node(p, AR_Q_NOT);
		if (!n) {
			ar_query_free(k);
			return NULL;
		}
		if (!add_kid(p, n, k)) {
			ar_query_free(n);
			return NULL;
		}
		return n;
	}
	if (c == '(') {
		if (depth > 32)
			return error_at(p, at, "parentheses nested too deep");
		p->pos++;
		struct ar_qnode *n = parse_or(p, depth + 1);
		if (!n)
			return NULL;
		skip_space(p);
		if (p->q[p->pos] != ')') {
			ar_query_free(n);
			return error_at(p, at, "unbalanced '(': no matching ')'");
		}
		p->pos++;
		return n;
	}
	if (c == ')')
		return error_at(p, at, "unexpected ')'");
	if (c == '\0')
		return error_at(p, at, "expected a term at the end of the query");
	if (at_word(p, "OR") || at_word(p, "AND"))
		return error_at(p, at, "expected a term before %s", at_word(p, "OR") ? "OR" : "AND");

	/* field:value ? */
	size_t k = p->pos;
	while (p->q[k] && (isalpha((unsigned char)p->q[k])))
		k++;
	if (k > p->pos && p->q[k] == ':') {
		const char *name = p->q + p->pos;
		size_t nlen = k - p->pos;
		p->pos = k + 1;
		size_t vat = p->pos;
		struct sl_strbuf v;
		sl_strbuf_init(&v);
		bool quoted;
		struct ar_qnode *n = NULL;
		if (read_value(p, &v, &quoted) && !out_of_memory(p, &v))
			n = field_node(p, at, name, nlen, v.s ? v.s : "", v.len, quoted, vat);
		sl_strbuf_free(&v);
		return n;
	}
	struct sl_strbuf v;
	sl_strbuf_init(&v);
	bool quoted;
	struct ar_qnode *n = NULL;
	if (read_value(p, &v, &quoted) && !out_of_memory(p, &v))
		n = text_node(p, at, "sb", v.s ? v.s : "", v.len);
	sl_strbuf_free(&v);
	return n;
}

/* AND of NOTs alone gets an ALL to subtract from. */
static struct ar_qnode *finish_and(struct parser *p, struct ar_qnode *and)
{
	bool positive = false;
	for (size_t i = 0; i < and->nkids; i++)
		if (and->kids[i]->type != AR_Q_NOT)
			positive = true;
	if (!positive && !add_kid(p, and, node(p, AR_Q_ALL))) {
		ar_query_free(and);
		return NULL;
	}
	if (and->nkids == 1) {
		struct ar_qnode *only = and->kids[0];
		and->nkids = 0;
		ar_query_free(and);
		return only;
	}
	return and;
}

static struct ar_qnode *parse_and(struct parser *p, int depth)
{
	struct ar_qnode *and = node(p, AR_Q_AND);
	if (!and)
		return NULL;
	for (;;) {
		skip_space(p);
		char c = p->q[p->pos];
		if (c == '\0' || c == ')' || at_word(p, "OR"))
			break;
		if (at_word(p, "AND")) {
			p->pos += 3;
			continue;
		}
		struct ar_qnode *k = parse_unary(p, depth);
		if (!add_kid(p, and, k)) {
			ar_query_free(and);
			return NULL;
		}
	}
	if (and->nkids == 0) {
		ar_query_free(and);
		return error_at(p, p->pos, "expected a term%s",
			p->q[p->pos] == '\0' ? " at the end of the query" :
			at_word(p, "OR") ? " before OR" : "");
	}
	return finish_and(p, and);
}

static struct ar_qnode *parse_or(struct parser *p, int depth)
{
	struct ar_qnode *first = parse_and(p, depth);
	if (!first)
		return NULL;
	skip_space(p);
	if (!at_word(p, "OR"))
		return first;
	struct ar_qnode *or = node(p, AR_Q_OR);
	if (!or) {
		ar_query_free(first);
		return NULL;
	}
	if (!add_kid(p, or, first)) {
		ar_query_free(or);
		return NULL;
	}
	while (at_word(p, "OR")) {
		p->pos += 2;
		if (!add_kid(p, or, parse_and(p, depth))) {
			ar_query_free(or);
			return NULL;
		}
		skip_space(p);
	}
	return or;
}

/* A NOT that is not a child of an AND becomes AND(ALL, NOT x). */
/* NULL (n freed) when memory runs out. */
static struct ar_qnode *place_nots(struct parser *p, struct ar_qnode *n, bool parent_and)
{
	for (size_t i = 0; i < n->nkids; i++) {
		struct ar_qnode *k = place_nots(p, n->kids[i], n->type == AR_Q_AND);
		if (!k) {
			n->kids[i] = n->kids[--n->nkids];
			ar_query_free(n);
			return NULL;
		}
		n->kids[i] = k;
	}
	if (n->type == AR_Q_NOT && !parent_and) {
		struct ar_qnode *and = node(p, AR_Q_AND);
		if (!and || !add_kid(p, and, node(p, AR_Q_ALL))) {
			ar_query_free(and);
			ar_query_free(n);
			return NULL;
		}
		if (!add_kid(p, and, n)) {
			ar_query_free(and);
			return NULL;
		}
		return and;
	}
	return n;
}

struct ar_qnode *ar_query_parse(const char *q, char *err, size_t errlen)
{
	struct parser p = { .q = q, .err = err, .errlen = errlen };
	skip_space(&p);
	if (!q[p.pos]) {
		snprintf(err, errlen, "column 1: empty query");
		return NULL;
	}
	struct ar_qnode *n = parse_or(&p, 0);
	if (!n)
		return NULL;
	skip_space(&p);
	if (q[p.pos]) {
		ar_query_free(n);
		return error_at(&p, p.pos, "unexpected '%c'", q[p.pos]);
	}
	return place_nots(&p, n, false);
}

void ar_query_describe(const struct ar_qnode *n, struct sl_strbuf *out)
{
	static const char *const names[] = { "term", "phrase", "and", "or", "not", "date", "all" };
	sl_strbuf_printf(out, "(%s", names[n->type]);
	if (n->type == AR_Q_TERM || n->type == AR_Q_PHRASE) {
		sl_strbuf_putc(out, ' ');
		sl_strbuf_put(out, n->fields, n->nfields);
		for (size_t i = 0; i < n->nterms; i++)
			sl_strbuf_printf(out, " \"%s\"", n->terms[i]);
	}
	if (n->type == AR_Q_DATE)
		sl_strbuf_printf(out, " %lld %lld", (long long)n->lo, (long long)n->hi);
	for (size_t i = 0; i < n->nkids; i++) {
		sl_strbuf_putc(out, ' ');
		ar_query_describe(n->kids[i], out);
	}
	sl_strbuf_putc(out, ')');
}
