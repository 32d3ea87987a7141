/* A port of the parts of CPython 3.11's email._header_value_parser that decide what
 * email (policy=default) reports for Subject, From, Content-Type, Content-Disposition
 * and Content-Transfer-Encoding. The structure mirrors the Python functions one for
 * one (same names, same error recovery) so the two can be read side by side; a parse
 * error (HeaderParseError) is a NULL return with the input position unchanged.
 * Strings are bytes: a raw 8-bit byte stands for Python's surrogate-escaped character,
 * decoded text is UTF-8, and the final result is sanitized as email.utils._sanitize
 * does. Defects are not tracked: none of them changes these values. */
#include "pyemail.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "../core/mem.h"

/* ---------------------------------------------------------------- arena, tokens */

struct blk {
	struct blk *next;
	size_t used, cap;
	bool charged;         /* to the parse's allocator (the thread's block is nobody's) */
	max_align_t data[];
};

/* Temporary strings held across an amalloc (which may jump out): given back if the
 * arena runs out. Printing (tstr and the rest) allocates nothing in the arena but in
 * mimeparams_str, whose temporaries are pushed here too. */
#define LIVE_MAX 4

struct ctx {
	struct blk *blk;
	struct sl_py_env *env;
	struct sl_iconv_cache *cs;
	unsigned flags;
	unsigned comment_depth;
	struct sl_mem *mem;   /* the parser's (current when the parse began) */
	jmp_buf out_of_memory; /* the arena could not grow: the parse is abandoned */
	struct sl_strbuf *live[LIVE_MAX];
	unsigned nlive;
};

static void live_push(struct ctx *c, struct sl_strbuf *b)
{
	c->live[c->nlive++] = b;
}

static void live_pop(struct ctx *c)
{
	c->nlive--;
}

/* A temporary string (made and dropped within one call): its storage comes from the
 * parser's stash and goes back to it (str_stash.h), so that temporaries per token,
 * address or encoded word do not go to malloc. */
static void tmp_take(struct sl_py_env *env, struct sl_strbuf *b)
{
	sl_str_stash_take(&env->strs, b);
}

static void tmp_give(struct sl_py_env *env, struct sl_strbuf *b)
{
	sl_str_stash_give(&env->strs, b);
}

/* Memory for the parse tree. When the parser's allocator cannot give it, the parse
 * stops here and resumes in parse_print() with nothing (run()). */
static void *amalloc(struct ctx *c, size_t n)
{
	n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	if (!c->blk || c->blk->used + n > c->blk->cap) {
		size_t cap = n > 16384 ? n : 16384;
		struct blk *b = sl_mem_alloc(c->mem, sizeof *b + cap);
		if (!b) {
			if (c->mem)
				c->mem->failed = true;
			longjmp(c->out_of_memory, 1);
		}
		b->next = c->blk;
		b->used = 0;
		b->cap = cap;
		b->charged = true;
		c->blk = b;
	}
	void *p = (char *)c->blk->data + c->blk->used;
	c->blk->used += n;
	return p;
}

/* The arena's first block is kept between parses, one per thread (a parse never
 * outlives its call, so parsers on one thread can share it): parsing a field does not
 * go to malloc, and an idle parser holds none. */
static __thread struct blk *thread_blk;
static pthread_key_t blk_key;
static pthread_once_t blk_once = PTHREAD_ONCE_INIT;

static void blk_key_create(void)
{
	(void)pthread_key_create(&blk_key, free); /* frees it when the thread exits */
}

/* Give the arena back: the first block is kept for the next parse (and from then on
 * charged to nobody, sluice/memacct.h). */
static void ctx_free(struct ctx *c)
{
	while (c->blk) {
		struct blk *b = c->blk;
		c->blk = b->next;
		size_t size = sizeof *b + b->cap;
		bool charged = b->charged;
		pthread_once(&blk_once, blk_key_create);
		if (!c->blk && b->cap == 16384 && !thread_blk &&
		    pthread_setspecific(blk_key, b) == 0) {
			thread_blk = b;
			thread_blk->used = 0;
			thread_blk->next = NULL;
			thread_blk->charged = false;
			if (charged)
				sl_mem_release(c->mem, size);
		} else if (charged) {
			sl_mem_free(c->mem, b, size);
		} else {
			free(b);
		}
	}
}

void sl_py_env_free(struct sl_py_env *env)
{
	sl_str_stash_free(&env->strs); /* the arena block is the thread's */
}

static const char *adup(struct ctx *c, const char *s, size_t n)
{
	char *d = amalloc(c, n + 1);
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

/* Python classes: they decide str() and .value */
enum cls {
	K_TWS,    /* WhiteSpaceTerminal: value ' ' */
	K_TVAL,   /* ValueTerminal */
	K_TEWWS,  /* EWWhiteSpaceTerminal: str and value '' */
	K_LIST,   /* TokenList and the subclasses that add nothing to str/value */
	K_WSLIST, /* CFWSList: value ' ' */
	K_COMMENT,
	K_BQS,    /* BareQuotedString */
	K_MIMEPARAMS,
};

/* token_type values the parser tests */
enum ttype {
	Y_OTHER,
	Y_FWS,
	Y_CFWS,
	Y_COMMENT,
	Y_DOT,
	Y_VTEXT,
	Y_PTEXT,
	Y_ATTRTEXT,
	Y_EXTATTRTEXT,
	Y_MISPLACED,
	Y_EW,
	Y_QS,
	Y_BQS,
	Y_ATOM,
	Y_PHRASE,
	Y_DOTATOM,
	Y_DOTATOMTEXT,
	Y_OBSLOCAL,
	Y_INVOBSLOCAL,
	Y_LOCALPART,
	Y_DOMAIN,
	Y_DOMAINLIT,
	Y_ADDRSPEC,
	Y_OBSROUTE,
	Y_ANGLE,
	Y_DISPLAYNAME,
	Y_NAMEADDR,
	Y_MAILBOX,
	Y_INVMAILBOX,
	Y_MBLIST,
	Y_GROUPLIST,
	Y_GROUP,
	Y_ADDRESS,
	Y_ADDRLIST,
	Y_PARAM,
	Y_INVPARAM,
	Y_ATTRIBUTE,
	Y_SECTION,
	Y_VALUE,
	Y_MIMEPARAMS,
	Y_TOKEN,
	Y_UNSTRUCTURED,
};

struct tok {
	uint8_t cls, type;
	bool sectioned, extended;
	bool invalid_mailbox_class; /* an InvalidMailbox: every address attribute is None */
	uint32_t nkids, cap;
	struct tok **kids;
	const char *s;              /* terminals */
	size_t n;
	long number;                /* Section */
	const char *charset;        /* Parameter (NULL: 'us-ascii') */
	size_t charset_n;
};

static struct tok *tnew(struct ctx *c, enum cls k, enum ttype y)
{
	struct tok *t = amalloc(c, sizeof *t);
	memset(t, 0, sizeof *t);
	t->cls = (uint8_t)k;
	t->type = (uint8_t)y;
	return t;
}

static struct tok *term(struct ctx *c, enum cls k, enum ttype y, const char *s, size_t n)
{
	struct tok *t = tnew(c, k, y);
	t->s = s;
	t->n = n;
	return t;
}

static bool is_term(const struct tok *t)
{
	return t->cls == K_TWS || t->cls == K_TVAL || t->cls == K_TEWWS;
}

static void reserve(struct ctx *c, struct tok *l, uint32_t extra)
{
	if (l->nkids + extra <= l->cap)
		return;
	uint32_t cap = l->cap ? l->cap * 2 : 4;
	while (cap < l->nkids + extra)
		cap *= 2;
	struct tok **k = amalloc(c, cap * sizeof *k);
	if (l->nkids)
		memcpy(k, l->kids, l->nkids * sizeof *k);
	l->kids = k;
	l->cap = cap;
}

static void append(struct ctx *c, struct tok *l, struct tok *t)
{
	reserve(c, l, 1);
	l->kids[l->nkids++] = t;
}

/* token[:0] = [t] */
static void prepend(struct ctx *c, struct tok *l, struct tok *t)
{
	reserve(c, l, 1);
	memmove(l->kids + 1, l->kids, l->nkids * sizeof *l->kids);
	l->kids[0] = t;
	l->nkids++;
}

static void extend(struct ctx *c, struct tok *l, const struct tok *o)
{
	for (uint32_t i = 0; i < o->nkids; i++)
		append(c, l, o->kids[i]);
}

static struct tok *last(const struct tok *l)
{
	return l->nkids ? l->kids[l->nkids - 1] : NULL;
}

static struct tok DOT_TOK = {.cls = K_TVAL, .type = Y_DOT, .s = ".", .n = 1};

/* ---------------------------------------------------------------- strings */

struct sv {
	const char *p;
	size_t n;
};

static void adv(struct sv *v, size_t k)
{
	v->p += k;
	v->n -= k;
}


/* The character sets of _header_value_parser, each one array so that `in` can find
 * its class bit by address. */
static const char WSP[] = " \t";
static const char CFWS_LEADER[] = " \t(";
static const char SPECIALS[] = "()<>@,:;.\\\"[]";
static const char ATOM_ENDS[] = "()<>@,:;.\\\"[] \t";
static const char DOT_ATOM_ENDS[] = "()<>@,:;\\\"[] \t";
static const char PHRASE_ENDS[] = ")<>@,:;\\[]";
static const char TOKEN_ENDS[] = "()<>@,:;\\\"[]/?= \t";
static const char ATTRIBUTE_ENDS[] = "()<>@,:;\\\"[]/?=*'% \t";
static const char EXTENDED_ATTRIBUTE_ENDS[] = "()<>@,:;\\\"[]/?=*' \t";

/* Character classes as bit masks (bytes >= 0x80 are in none). */
static const char *const class_sets[] = {
	WSP, CFWS_LEADER, SPECIALS, ATOM_ENDS, DOT_ATOM_ENDS, PHRASE_ENDS, TOKEN_ENDS,
	ATTRIBUTE_ENDS, EXTENDED_ATTRIBUTE_ENDS,
};
#define NCLASSES (sizeof class_sets / sizeof class_sets[0])
static uint16_t class_table[256];

/* Filled once at program start (before any thread can parse). */
__attribute__((constructor)) static void classes_init(void)
{
	for (size_t k = 0; k < NCLASSES; k++)
		for (const char *c = class_sets[k]; *c; c++)
			class_table[(uint8_t)*c] |= (uint16_t)(1u << k);
}

static bool in(uint8_t ch, const char *set)
{
	for (size_t k = 0; k < NCLASSES; k++)
		if (set == class_sets[k])
			return class_table[ch] & (1u << k);
	return ch && strchr(set, ch) != NULL; /* the few literal sets ("()", ",;", ...) */
}

static bool first_in(const struct sv *v, const char *set)
{
	return v->n && in((uint8_t)v->p[0], set);
}

static bool starts(const struct sv *v, const char *s)
{
	size_t n = strlen(s);
	return v->n >= n && memcmp(v->p, s, n) == 0;
}

/* Length of the Python whitespace character (str.isspace) at p, or 0. */
static size_t space_at(const uint8_t *p, size_t n)
{
	uint8_t c = p[0];
	if (c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f))
		return 1;
	if (c == 0xC2 && n >= 2 && (p[1] == 0x85 || p[1] == 0xA0))
		return 2;
	if (c == 0xE1 && n >= 3 && p[1] == 0x9A && p[2] == 0x80)
		return 3;
	if (c == 0xE2 && n >= 3 && p[1] == 0x80 &&
	    (p[2] <= 0x8A || p[2] == 0xA8 || p[2] == 0xA9 || p[2] == 0xAF))
		return 3;
	if (c == 0xE2 && n >= 3 && p[1] == 0x81 && p[2] == 0x9F)
		return 3;
	if (c == 0xE3 && n >= 3 && p[1] == 0x80 && p[2] == 0x80)
		return 3;
	return 0;
}

/* Length of the Python whitespace character ending at p + n, or 0. */
static size_t space_before(const uint8_t *p, size_t n)
{
	for (size_t k = 1; k <= 3 && k <= n; k++)
		if (space_at(p + n - k, k) == k)
			return k;
	return 0;
}

void sl_py_strip(const char **pp, size_t *nn, bool left, bool right)
{
	const uint8_t *p = (const uint8_t *)*pp;
	size_t n = *nn, k;
	while (left && n && (k = space_at(p, n)))
		p += k, n -= k;
	while (right && n && (k = space_before(p, n)))
		n -= k;
	*pp = (const char *)p;
	*nn = n;
}

static void put_quoted(struct sl_strbuf *b, const char *s, size_t n)
{
	sl_strbuf_putc(b, '"');
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' || s[i] == '"')
			sl_strbuf_putc(b, '\\');
		sl_strbuf_putc(b, s[i]);
	}
	sl_strbuf_putc(b, '"');
}

/* ---------------------------------------------------------------- str() and .value */

static void tstr(struct ctx *c, const struct tok *t, struct sl_strbuf *b);
static void tvalue(struct ctx *c, const struct tok *t, struct sl_strbuf *b);
static void mimeparams_str(struct ctx *c, const struct tok *t, struct sl_strbuf *b);

static void kids_str(struct ctx *c, const struct tok *t, struct sl_strbuf *b)
{
	for (uint32_t i = 0; i < t->nkids; i++)
		tstr(c, t->kids[i], b);
}

static void tstr(struct ctx *c, const struct tok *t, struct sl_strbuf *b)
{
	switch (t->cls) {
	case K_TWS:
	case K_TVAL:
		sl_strbuf_put(b, t->s, t->n);
		return;
	case K_TEWWS:
		return;
	case K_BQS: {
		struct sl_strbuf in;
		tmp_take(c->env, &in);
		kids_str(c, t, &in);
		put_quoted(b, in.s ? in.s : "", in.len);
		tmp_give(c->env, &in);
		return;
	}
	case K_COMMENT:
		sl_strbuf_putc(b, '(');
		for (uint32_t i = 0; i < t->nkids; i++) {
			const struct tok *k = t->kids[i];
			if (k->type == Y_COMMENT) {
				tstr(c, k, b);
				continue;
			}
			struct sl_strbuf in;
			tmp_take(c->env, &in);
			tstr(c, k, &in);
			for (size_t j = 0; j < in.len; j++) {
				if (in.s[j] == '\\' || in.s[j] == '(' || in.s[j] == ')')
					sl_strbuf_putc(b, '\\');
				sl_strbuf_putc(b, in.s[j]);
			}
			tmp_give(c->env, &in);
		}
		sl_strbuf_putc(b, ')');
		return;
	case K_MIMEPARAMS:
		mimeparams_str(c, t, b);
		return;
	default:
		kids_str(c, t, b);
		return;
	}
}

static void tvalue(struct ctx *c, const struct tok *t, struct sl_strbuf *b)
{
	switch (t->cls) {
	case K_TWS:
		sl_strbuf_putc(b, ' ');
		return;
	case K_TVAL:
		sl_strbuf_put(b, t->s, t->n);
		return;
	case K_TEWWS:
		return;
	case K_WSLIST:
	case K_COMMENT:
		sl_strbuf_putc(b, ' ');
		return;
	case K_BQS:
		kids_str(c, t, b);
		return;
	default:
		for (uint32_t i = 0; i < t->nkids; i++)
			tvalue(c, t->kids[i], b);
		return;
	}
}

static const char *str_of(struct ctx *c, const struct tok *t, size_t *n)
{
	struct sl_strbuf b;
	tmp_take(c->env, &b);
	live_push(c, &b);
	tstr(c, t, &b);
	const char *s = adup(c, b.s ? b.s : "", b.len);
	live_pop(c);
	*n = b.len;
	tmp_give(c->env, &b);
	return s;
}

/* ---------------------------------------------------------------- encoded words */

static const char *find2(const char *p, size_t n, char a, char b)
{
	for (size_t i = 0; i + 1 < n; i++)
		if (p[i] == a && p[i + 1] == b)
			return p + i;
	return NULL;
}

/* _encoded_words.decode('=?' + tok + '?='): false for ValueError/KeyError. */
static bool ew_decode(struct ctx *c, const char *tok, size_t n, struct sl_strbuf *text)
{
	const char *q1 = memchr(tok, '?', n);
	if (!q1)
		return false;
	const char *q2 = memchr(q1 + 1, '?', (size_t)(tok + n - q1 - 1));
	if (!q2 || memchr(q2 + 1, '?', (size_t)(tok + n - q2 - 1)))
		return false;
	size_t cslen = (size_t)(q1 - tok);
	const char *star = memchr(tok, '*', cslen);
	if (star)
		cslen = (size_t)(star - tok);
	size_t ctelen = (size_t)(q2 - q1 - 1);
	if (ctelen != 1)
		return false;
	char cte = q1[1] | 0x20;
	if (cte != 'q' && cte != 'b')
		return false;
	const uint8_t *enc = (const uint8_t *)q2 + 1;
	size_t elen = (size_t)(tok + n - q2 - 1);
	uint8_t *raw = amalloc(c, elen + 4);
	size_t rlen = 0;
	if (cte == 'q') {
		/* decode_q: '_' is a space, then every =XX (hex) is a byte */
		for (size_t i = 0; i < elen; i++) {
			if (enc[i] == '=' && i + 2 < elen && sl_hexval(enc[i + 1]) >= 0 &&
			    sl_hexval(enc[i + 2]) >= 0) {
				raw[rlen++] = (uint8_t)(sl_hexval(enc[i + 1]) << 4 | sl_hexval(enc[i + 2]));
				i += 2;
			} else {
				raw[rlen++] = enc[i] == '_' ? ' ' : enc[i];
			}
		}
	} else {
		struct sl_b64 d;
		sl_b64_init(&d);
		rlen = sl_b64_decode(&d, enc, elen, raw);
		if (!sl_b64_finish(&d)) {
			memcpy(raw, enc, elen); /* bpo-27397: undecodable, kept as written */
			rlen = elen;
		}
	}
	bool undecodable = false, ascii_undecodable = false;
	size_t before = text->len;
	bool known = sl_charset_decode_header2(c->cs, text, tok, cslen, raw, rlen, &undecodable,
	                                       &ascii_undecodable);
	if (ascii_undecodable) {
		/* surrogateescape cannot carry an ASCII byte: decode raises, and the word is
		 * not an encoded word after all */
		text->len = before;
		if (text->s)
			text->s[before] = '\0';
		return false;
	}
	if (!known) {
		c->flags |= SL_PY_UNKNOWN_CHARSET;
		if (cslen != 11 || strncasecmp(tok, "unknown-8bit", 11) != 0)
			c->flags |= SL_PY_UNDECODABLE;
	}
	if (undecodable)
		c->flags |= SL_PY_UNDECODABLE;
	return true;
}

static struct tok *get_fws(struct ctx *c, struct sv *v)
{
	const char *p = v->p;
	size_t n = v->n;
	sl_py_strip(&p, &n, true, false);
	struct tok *t = term(c, K_TWS, Y_FWS, v->p, (size_t)(p - v->p));
	adv(v, (size_t)(p - v->p));
	return t;
}

/* Split off the text before the first run of blanks (_wsp_splitter(value, 1)[0]). */
static size_t wsp_fragment(const char *p, size_t n)
{
	size_t i = 0;
	while (i < n && p[i] != ' ' && p[i] != '\t')
		i++;
	return i;
}

static struct tok *get_encoded_word(struct ctx *c, struct sv *v, bool *invalid_ew)
{
	*invalid_ew = false;
	if (!starts(v, "=?"))
		return NULL;
	const char *body = v->p + 2;
	size_t bn = v->n - 2;
	const char *q = find2(body, bn, '?', '=');
	if (!q)
		return NULL;
	size_t toklen = (size_t)(q - body);
	const char *after = q + 2;
	const char *rem = after;
	size_t remn = bn - toklen - 2;
	size_t qmarks = 0;
	for (size_t i = 0; i < toklen; i++)
		qmarks += body[i] == '?';
	if (remn > 1 && sl_hexval((uint8_t)rem[0]) >= 0 && sl_hexval((uint8_t)rem[1]) >= 0 && qmarks < 2) {
		/* the '?' after the CTE was followed by an encoded-word escape (=XX) */
		const char *q2 = find2(rem, remn, '?', '=');
		if (q2) {
			toklen = (size_t)(q2 - body);
			after = q2 + 2;
		} else {
			toklen = bn;
			after = body + bn;
		}
	}
	struct sl_strbuf text;
	tmp_take(c->env, &text);
	live_push(c, &text);
	if (!ew_decode(c, body, toklen, &text)) {
		live_pop(c);
		tmp_give(c->env, &text);
		*invalid_ew = true;
		c->flags |= SL_PY_BAD_EW;
		return NULL;
	}
	struct tok *ew = tnew(c, K_LIST, Y_EW);
	struct sv t = {adup(c, text.s ? text.s : "", text.len), text.len};
	live_pop(c);
	tmp_give(c->env, &text);
	while (t.n) {
		if (first_in(&t, WSP)) {
			append(c, ew, get_fws(c, &t));
			continue;
		}
		size_t k = wsp_fragment(t.p, t.n);
		append(c, ew, term(c, K_TVAL, Y_VTEXT, t.p, k));
		adv(&t, k);
	}
	adv(v, (size_t)(after - v->p));
	return ew;
}

/* rfc2047_matcher.search(tok): =?[^?]*?[qQbB]?.*??= */
static bool ew_like(const char *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++) {
		if (p[i] != '=' || p[i + 1] != '?')
			continue;
		size_t j = i + 2;
		while (j < n && p[j] != '?')
			j++;
		if (j + 2 < n && in((uint8_t)p[j + 1], "qQbB") && p[j + 2] == '?' &&
		    find2(p + j + 3, n - j - 3, '?', '='))
			return true;
	}
	return false;
}

/* ---------------------------------------------------------------- unstructured */

static struct tok *get_unstructured(struct ctx *c, struct sv v)
{
	struct tok *u = tnew(c, K_LIST, Y_UNSTRUCTURED);
	while (v.n) {
		if (first_in(&v, WSP)) {
			append(c, u, get_fws(c, &v));
			continue;
		}
		bool valid_ew = true;
		if (starts(&v, "=?")) {
			bool invalid = false;
			struct tok *ew = get_encoded_word(c, &v, &invalid);
			if (invalid)
				valid_ew = false;
			if (ew) {
				bool have_ws = true;
				if (u->nkids > 0 && last(u)->type != Y_FWS)
					have_ws = false;
				if (have_ws && u->nkids > 1 && u->kids[u->nkids - 2]->type == Y_EW) {
					struct tok *ws = last(u);
					u->kids[u->nkids - 1] = term(c, K_TEWWS, Y_FWS, ws->s, ws->n);
				}
				append(c, u, ew);
				continue;
			}
		}
		size_t k = wsp_fragment(v.p, v.n);
		if (valid_ew && ew_like(v.p, k)) {
			const char *q = find2(v.p, v.n, '=', '?');
			k = (size_t)(q - v.p);
			if (k == 0) {
				/* Python would loop here forever; take the "=?" as text */
				k = 2;
			}
		}
		append(c, u, term(c, K_TVAL, Y_VTEXT, v.p, k));
		adv(&v, k);
	}
	return u;
}

/* ---------------------------------------------------------------- RFC 5322 tokens */

/* _get_ptext_to_endchars: printables and quoted pairs up to one of endchars or a
 * blank; quoted pairs are unquoted. */
static const char *ptext_to_endchars(struct ctx *c, struct sv *v, const char *endchars,
                                     size_t *outn)
{
	size_t frag = wsp_fragment(v->p, v->n);
	char *out = amalloc(c, frag + 1);
	size_t o = 0, pos;
	bool escape = false;
	for (pos = 0; pos < frag; pos++) {
		char ch = v->p[pos];
		if (ch == '\\') {
			if (escape) {
				escape = false;
			} else {
				escape = true;
				continue;
			}
		}
		if (escape)
			escape = false;
		else if (in((uint8_t)ch, endchars))
			break;
		out[o++] = ch;
	}
	out[o] = '\0';
	adv(v, pos);
	*outn = o;
	return out;
}

static struct tok *get_qp_ctext(struct ctx *c, struct sv *v)
{
	size_t n;
	const char *s = ptext_to_endchars(c, v, "()", &n);
	return term(c, K_TWS, Y_PTEXT, s, n);
}

static struct tok *get_qcontent(struct ctx *c, struct sv *v)
{
	size_t n;
	const char *s = ptext_to_endchars(c, v, "\"", &n);
	return term(c, K_TVAL, Y_PTEXT, s, n);
}

static size_t match_not_in(const struct sv *v, const char *ends)
{
	size_t i = 0;
	while (i < v->n && !in((uint8_t)v->p[i], ends))
		i++;
	return i;
}

static struct tok *get_atext(struct ctx *c, struct sv *v)
{
	size_t k = match_not_in(v, ATOM_ENDS);
	if (!k)
		return NULL;
	struct tok *t = term(c, K_TVAL, Y_OTHER, v->p, k);
	adv(v, k);
	return t;
}

static struct tok *get_bare_quoted_string(struct ctx *c, struct sv *vin)
{
	struct sv v = *vin;
	if (!v.n || v.p[0] != '"')
		return NULL;
	struct tok *bqs = tnew(c, K_BQS, Y_BQS);
	adv(&v, 1);
	if (v.n && v.p[0] == '"')
		append(c, bqs, get_qcontent(c, &v));
	while (v.n && v.p[0] != '"') {
		struct tok *t;
		if (first_in(&v, WSP)) {
			t = get_fws(c, &v);
		} else if (starts(&v, "=?")) {
			bool invalid, valid_ew = false;
			t = get_encoded_word(c, &v, &invalid);
			if (t)
				valid_ew = true;
			else
				t = get_qcontent(c, &v);
			if (valid_ew && bqs->nkids > 1 && last(bqs)->type == Y_FWS &&
			    bqs->kids[bqs->nkids - 2]->type == Y_EW) {
				struct tok *ws = last(bqs);
				bqs->kids[bqs->nkids - 1] = term(c, K_TEWWS, Y_FWS, ws->s, ws->n);
			}
		} else {
			t = get_qcontent(c, &v);
		}
		append(c, bqs, t);
	}
	if (v.n)
		adv(&v, 1);
	*vin = v;
	return bqs;
}

static struct tok *get_cfws(struct ctx *c, struct sv *v);

static struct tok *get_comment(struct ctx *c, struct sv *vin)
{
	struct sv v = *vin;
	if (v.n && v.p[0] != '(')
		return NULL;
	struct tok *cm = tnew(c, K_COMMENT, Y_COMMENT);
	adv(&v, 1);
	c->comment_depth++;
	while (v.n && v.p[0] != ')') {
		struct tok *t;
		if (first_in(&v, WSP))
			t = get_fws(c, &v);
		else if (v.p[0] == '(' && c->comment_depth < 200)
			t = get_comment(c, &v);
		else if (v.p[0] == '(') {
			/* Python raises RecursionError long before this; flatten instead */
			t = term(c, K_TWS, Y_PTEXT, v.p, 1);
			adv(&v, 1);
		} else
			t = get_qp_ctext(c, &v);
		append(c, cm, t);
	}
	c->comment_depth--;
	if (v.n)
		adv(&v, 1);
	*vin = v;
	return cm;
}

static struct tok *get_cfws(struct ctx *c, struct sv *v)
{
	struct tok *l = tnew(c, K_WSLIST, Y_CFWS);
	while (first_in(v, CFWS_LEADER)) {
		if (first_in(v, WSP))
			append(c, l, get_fws(c, v));
		else
			append(c, l, get_comment(c, v));
	}
	return l;
}

static struct tok *get_quoted_string(struct ctx *c, struct sv *vin)
{
	struct sv v = *vin;
	struct tok *qs = tnew(c, K_LIST, Y_QS);
	if (first_in(&v, CFWS_LEADER))
		append(c, qs, get_cfws(c, &v));
	struct tok *t = get_bare_quoted_string(c, &v);
	if (!t)
		return NULL;
	append(c, qs, t);
	if (first_in(&v, CFWS_LEADER))
		append(c, qs, get_cfws(c, &v));
	*vin = v;
	return qs;
}

static struct tok *get_atom(struct ctx *c, struct sv *vin)
{
	struct sv v = *vin;
	struct tok *atom = tnew(c, K_LIST, Y_ATOM);
	if (first_in(&v, CFWS_LEADER))
		append(c, atom, get_cfws(c, &v));
	if (first_in(&v, ATOM_ENDS))
		return NULL;
	struct tok *t = NULL;
	if (starts(&v, "=?")) {
		bool invalid;
		t = get_encoded_word(c, &v, &invalid);
	}
	if (!t)
		t = get_atext(c, &v);
	if (!t)
		return NULL;
	append(c, atom, t);
	if (first_in(&v, CFWS_LEADER))
		append(c, atom, get_cfws(c, &v));
	*vin = v;
	return atom;
}

static struct tok *get_dot_atom_text(struct ctx *c, struct sv *vin)
{
	struct sv v = *vin;
	struct tok *dat = tnew(c, K_LIST, Y_DOTATOMTEXT);
	if (!v.n || first_in(&v, ATOM_ENDS))
		return NULL;
	while (v.n && !first_in(&v, ATOM_ENDS)) {
		struct tok *t = get_atext(c, &v);
		if (!t)
			return NULL;
		append(c, dat, t);
		if (v.n && v.p[0] == '.') {
			append(c, dat, &DOT_TOK);
			adv(&v, 1);
		}
	}
	if (last(dat) == &DOT_TOK)
		return NULL;
	*vin = v;
	return dat;
}

static struct tok *get_dot_atom(struct ctx *c, struct sv *vin)
{
	struct sv v = *vin;
	struct tok *da = tnew(c, K_LIST, Y_DOTATOM);
	if (!v.n)
		return NULL; /* value[0] raises IndexError in Python */
	if (first_in(&v, CFWS_LEADER))
		append(c, da, get_cfws(c, &v));
	struct tok *t = NULL;
	if (starts(&v, "=?")) {
		bool invalid;
		t = get_encoded_word(c, &v, &invalid);
	}
	if (!t)
		t = get_dot_atom_text(c, &v);
	if (!t)
		return NULL;
	append(c, da, t);
	if (first_in(&v, CFWS_LEADER))
		append(c, da, get_cfws(c, &v));
	*vin = v;
	return da;
}

static struct tok *get_word(struct ctx *c, struct sv *vin)
{
	struct sv v = *vin;
	struct tok *leader = NULL, *t;
	if (!v.n)
		return NULL;
	if (first_in(&v, CFWS_LEADER))
		leader = get_cfws(c, &v);
	if (!v.n)
		return NULL;
	if (v.p[0] == '"')
		t = get_quoted_string(c, &v);
	else if (in((uint8_t)v.p[0], SPECIALS))
		return NULL;
	else
		t = get_atom(c, &v);
	if (!t)
		return NULL;
	if (leader)
		prepend(c, t, leader);
	*vin = v;
	return t;
}

static struct tok *get_phrase(struct ctx *c, struct sv *vin)
{
	struct sv v = *vin;
	struct tok *ph = tnew(c, K_LIST, Y_PHRASE);
	struct tok *t = get_word(c, &v);
	if (t)
		append(c, ph, t);
	while (v.n && !first_in(&v, PHRASE_ENDS)) {
		if (v.p[0] == '.') {
			append(c, ph, &DOT_TOK);
			adv(&v, 1);
			continue;
		}
		t = get_word(c, &v);
		if (!t) {
			if (!first_in(&v, CFWS_LEADER))
				return NULL;
			t = get_cfws(c, &v);
		}
		append(c, ph, t);
	}
	*vin = v;
	return ph;
}

static struct tok *get_obs_local_part(struct ctx *c, struct sv *vin)
{
	struct sv v = *vin;
	struct tok *olp = tnew(c, K_LIST, Y_OBSLOCAL);
	bool last_non_ws_was_dot = false, bad = false;
	while (v.n && (v.p[0] == '\\' || !first_in(&v, PHRASE_ENDS))) {
		if (v.p[0] == '.') {
			if (last_non_ws_was_dot)
				bad = true;
			append(c, olp, &DOT_TOK);
			last_non_ws_was_dot = true;
			adv(&v, 1);
			continue;
		}
		if (v.p[0] == '\\') {
			append(c, olp, term(c, K_TVAL, Y_MISPLACED, v.p, 1));
			adv(&v, 1);
			bad = true;
			last_non_ws_was_dot = false;
			continue;
		}
		if (olp->nkids && last(olp)->type != Y_DOT)
			bad = true;
		struct tok *t = get_word(c, &v);
		if (t) {
			last_non_ws_was_dot = false;
		} else {
			if (!first_in(&v, CFWS_LEADER))
				return NULL;
			t = get_cfws(c, &v);
		}
		append(c, olp, t);
	}
	if (!olp->nkids)
		return NULL; /* obs_local_part[0] raises IndexError in Python */
	if (olp->kids[0]->type == Y_DOT ||
	    (olp->kids[0]->type == Y_CFWS && olp->nkids > 1 && olp->kids[1]->type == Y_DOT))
		bad = true;
	if (last(olp)->type == Y_DOT ||
	    (last(olp)->type == Y_CFWS && olp->nkids > 1 && olp->kids[olp->nkids - 2]->type == Y_DOT))
		bad = true;
	if (bad)
		olp->type = Y_INVOBSLOCAL;
	*vin = v;
	return olp;
}

static struct tok *get_local_part(struct ctx *c, struct sv *vin)
{
	struct sv v = *vin;
	struct tok *lp = tnew(c, K_LIST, Y_LOCALPART);
	struct tok *leader = NULL, *t;
	if (!v.n)
		return NULL;
	if (first_in(&v, CFWS_LEADER))
		leader = get_cfws(c, &v);
	if (!v.n)
		return NULL;
	t = get_dot_atom(c, &v);
	if (!t) {
		t = get_word(c, &v);
		if (!t) {
			if (v.p[0] != '\\' && first_in(&v, PHRASE_ENDS))
				return NULL;
			t = tnew(c, K_LIST, Y_OTHER);
		}
	}
	if (leader)
		prepend(c, t, leader);
	append(c, lp, t);
	if (v.n && (v.p[0] == '\\' || !first_in(&v, PHRASE_ENDS))) {
		/* get_obs_local_part(str(local_part) + value) */
		size_t sn;
		const char *s = str_of(c, lp, &sn);
		char *joined = amalloc(c, sn + v.n + 1);
		memcpy(joined, s, sn);
		memcpy(joined + sn, v.p, v.n);
		struct sv jv = {joined, sn + v.n};
		struct tok *olp = get_obs_local_part(c, &jv);
		if (!olp)
			return NULL;
		lp->kids[0] = olp;
		v = jv;
	}
	*vin = v;
	return lp;
}

static struct tok *get_dtext(struct ctx *c, struct sv *v)
{
	size_t n;
	const char *s = ptext_to_endchars(c, v, "[]", &n);
	return term(c, K_TVAL, Y_PTEXT, s, n);
}

static bool early_dl_end(struct ctx *c, const struct sv *v, struct tok *dl)
{
	if (v->n)
		return false;
	append(c, dl, term(c, K_TVAL, Y_OTHER, "]", 1));
	return true;
}

static struct tok *get_domain_literal(struct ctx *c, struct sv *vin)
{
	struct sv v = *vin;
	struct tok *dl = tnew(c, K_LIST, Y_DOMAINLIT);
	if (first_in(&v, CFWS_LEADER))
		append(c, dl, get_cfws(c, &v));
	if (!v.n || v.p[0] != '[')
		return NULL;
	adv(&v, 1);
	if (early_dl_end(c, &v, dl))
		goto done;
	append(c, dl, term(c, K_TVAL, Y_OTHER, "[", 1));
	if (first_in(&v, WSP))
		append(c, dl, get_fws(c, &v));
	append(c, dl, get_dtext(c, &v));
	if (early_dl_end(c, &v, dl))
		goto done;
	if (first_in(&v, WSP))
		append(c, dl, get_fws(c, &v));
	if (early_dl_end(c, &v, dl))
		goto done;
	if (v.p[0] != ']')
		return NULL;
	append(c, dl, term(c, K_TVAL, Y_OTHER, "]", 1));
	adv(&v, 1);
	if (first_in(&v, CFWS_LEADER))
		append(c, dl, get_cfws(c, &v));
done:
	*vin = v;
	return dl;
}

static struct tok *get_domain(struct ctx *c, struct sv *vin)
{
	struct sv v = *vin;
	struct tok *dom = tnew(c, K_LIST, Y_DOMAIN);
	struct tok *leader = NULL, *t;
	if (!v.n)
		return NULL;
	if (first_in(&v, CFWS_LEADER))
		leader = get_cfws(c, &v);
	if (!v.n)
		return NULL;
	if (v.p[0] == '[') {
		t = get_domain_literal(c, &v);
		if (!t)
			return NULL;
		if (leader)
			prepend(c, t, leader);
		append(c, dom, t);
		*vin = v;
		return dom;
	}
	t = get_dot_atom(c, &v);
	if (!t)
		t = get_atom(c, &v);
	if (!t)
		return NULL;
	if (v.n && v.p[0] == '@')
		return NULL;
	if (leader)
		prepend(c, t, leader);
	append(c, dom, t);
	if (v.n && v.p[0] == '.') {
		if (dom->kids[0]->type == Y_DOTATOM) {
			struct tok *da = dom->kids[0];
			dom->nkids = 0;
			extend(c, dom, da);
		}
		while (v.n && v.p[0] == '.') {
			append(c, dom, &DOT_TOK);
			struct sv rest = v;
			adv(&rest, 1);
			t = get_atom(c, &rest);
			if (!t)
				return NULL;
			append(c, dom, t);
			v = rest;
		}
	}
	*vin = v;
	return dom;
}

static struct tok *get_addr_spec(struct ctx *c, struct sv *vin)
{
	struct sv v = *vin;
	struct tok *as = tnew(c, K_LIST, Y_ADDRSPEC);
	struct tok *t = get_local_part(c, &v);
	if (!t)
		return NULL;
	append(c, as, t);
	if (!v.n || v.p[0] != '@') {
		*vin = v;
		return as;
	}
	append(c, as, term(c, K_TVAL, Y_OTHER, "@", 1));
	adv(&v, 1);
	t = get_domain(c, &v);
	if (!t)
		return NULL;
	append(c, as, t);
	*vin = v;
	return as;
}

static struct tok *get_obs_route(struct ctx *c, struct sv *vin)
{
	struct sv v = *vin;
	struct tok *r = tnew(c, K_LIST, Y_OBSROUTE), *t;
	while (v.n && (v.p[0] == ',' || first_in(&v, CFWS_LEADER))) {
		if (first_in(&v, CFWS_LEADER)) {
			append(c, r, get_cfws(c, &v));
		} else {
			append(c, r, term(c, K_TVAL, Y_OTHER, ",", 1));
			adv(&v, 1);
		}
	}
	if (!v.n || v.p[0] != '@')
		return NULL;
	append(c, r, term(c, K_TVAL, Y_OTHER, "@", 1));
	adv(&v, 1);
	if (!(t = get_domain(c, &v)))
		return NULL;
	append(c, r, t);
	while (v.n && v.p[0] == ',') {
		append(c, r, term(c, K_TVAL, Y_OTHER, ",", 1));
		adv(&v, 1);
		if (!v.n)
			break;
		if (first_in(&v, CFWS_LEADER))
			append(c, r, get_cfws(c, &v));
		if (!v.n)
			return NULL; /* IndexError in Python */
		if (v.p[0] == '@') {
			append(c, r, term(c, K_TVAL, Y_OTHER, "@", 1));
			adv(&v, 1);
			if (!(t = get_domain(c, &v)))
				return NULL;
			append(c, r, t);
		}
	}
	if (!v.n || v.p[0] != ':')
		return NULL;
	append(c, r, term(c, K_TVAL, Y_OTHER, ":", 1));
	adv(&v, 1);
	*vin = v;
	return r;
}

static struct tok *get_angle_addr(struct ctx *c, struct sv *vin)
{
	struct sv v = *vin;
	struct tok *aa = tnew(c, K_LIST, Y_ANGLE), *t;
	if (first_in(&v, CFWS_LEADER))
		append(c, aa, get_cfws(c, &v));
	if (!v.n || v.p[0] != '<')
		return NULL;
	append(c, aa, term(c, K_TVAL, Y_OTHER, "<", 1));
	adv(&v, 1);
	if (!v.n)
		return NULL; /* IndexError in Python */
	if (v.p[0] == '>') {
		append(c, aa, term(c, K_TVAL, Y_OTHER, ">", 1));
		adv(&v, 1);
		*vin = v;
		return aa;
	}
	t = get_addr_spec(c, &v);
	if (!t) {
		t = get_obs_route(c, &v);
		if (!t)
			return NULL;
		append(c, aa, t);
		t = get_addr_spec(c, &v);
		if (!t)
			return NULL;
	}
	append(c, aa, t);
	if (v.n && v.p[0] == '>')
		adv(&v, 1);
	append(c, aa, term(c, K_TVAL, Y_OTHER, ">", 1));
	if (first_in(&v, CFWS_LEADER))
		append(c, aa, get_cfws(c, &v));
	*vin = v;
	return aa;
}

static struct tok *get_display_name(struct ctx *c, struct sv *v)
{
	struct tok *ph = get_phrase(c, v);
	if (!ph)
		return NULL;
	ph->type = Y_DISPLAYNAME;
	return ph;
}

static struct tok *get_name_addr(struct ctx *c, struct sv *vin)
{
	struct sv v = *vin;
	struct tok *na = tnew(c, K_LIST, Y_NAMEADDR), *leader = NULL, *t;
	if (!v.n)
		return NULL;
	if (first_in(&v, CFWS_LEADER)) {
		leader = get_cfws(c, &v);
		if (!v.n)
			return NULL;
	}
	if (v.p[0] != '<') {
		if (first_in(&v, PHRASE_ENDS))
			return NULL;
		t = get_display_name(c, &v);
		if (!t || !v.n)
			return NULL;
		if (leader) {
			if (!t->nkids)
				return NULL; /* token[0] raises IndexError in Python */
			if (is_term(t->kids[0])) {
				struct tok *w = tnew(c, K_LIST, Y_OTHER);
				append(c, w, t->kids[0]);
				t->kids[0] = w;
			}
			prepend(c, t->kids[0], leader);
			leader = NULL;
		}
		append(c, na, t);
	}
	t = get_angle_addr(c, &v);
	if (!t)
		return NULL;
	if (leader)
		prepend(c, t, leader);
	append(c, na, t);
	*vin = v;
	return na;
}

static struct tok *get_mailbox(struct ctx *c, struct sv *vin)
{
	struct sv v = *vin;
	struct tok *mb = tnew(c, K_LIST, Y_MAILBOX);
	struct tok *t = get_name_addr(c, &v);
	if (!t) {
		v = *vin;
		t = get_addr_spec(c, &v);
		if (!t)
			return NULL;
	}
	append(c, mb, t);
	*vin = v;
	return mb;
}

static struct tok *get_invalid_mailbox(struct ctx *c, struct sv *vin, const char *endchars)
{
	struct sv v = *vin;
	struct tok *im = tnew(c, K_LIST, Y_INVMAILBOX);
	im->invalid_mailbox_class = true;
	while (v.n && !first_in(&v, endchars)) {
		if (first_in(&v, PHRASE_ENDS)) {
			append(c, im, term(c, K_TVAL, Y_MISPLACED, v.p, 1));
			adv(&v, 1);
		} else {
			struct sv before = v;
			struct tok *t = get_phrase(c, &v);
			if (!t || v.n == before.n) {
				/* Python raises here; keep one character as misplaced */
				v = before;
				append(c, im, term(c, K_TVAL, Y_MISPLACED, v.p, 1));
				adv(&v, 1);
				continue;
			}
			append(c, im, t);
		}
	}
	*vin = v;
	return im;
}

static size_t count_all_mailboxes(const struct tok *mblist)
{
	size_t n = 0;
	for (uint32_t i = 0; i < mblist->nkids; i++)
		n += mblist->kids[i]->type == Y_MAILBOX || mblist->kids[i]->type == Y_INVMAILBOX;
	return n;
}

static struct tok *get_mailbox_list(struct ctx *c, struct sv *vin)
{
	struct sv v = *vin;
	struct tok *ml = tnew(c, K_LIST, Y_MBLIST), *t;
	while (v.n && v.p[0] != ';') {
		size_t before = v.n;
		t = get_mailbox(c, &v);
		if (t) {
			append(c, ml, t);
		} else {
			struct tok *leader = NULL;
			if (first_in(&v, CFWS_LEADER)) {
				leader = get_cfws(c, &v);
				if (!v.n || in((uint8_t)v.p[0], ",;")) {
					append(c, ml, leader);
				} else {
					t = get_invalid_mailbox(c, &v, ",;");
					prepend(c, t, leader);
					append(c, ml, t);
				}
			} else if (v.p[0] != ',') {
				t = get_invalid_mailbox(c, &v, ",;");
				append(c, ml, t);
			}
		}
		if (v.n && !in((uint8_t)v.p[0], ",;")) {
			struct tok *mb = last(ml);
			if (!mb)
				return NULL;
			mb->type = Y_INVMAILBOX;
			t = get_invalid_mailbox(c, &v, ",;");
			extend(c, mb, t);
		}
		if (v.n && v.p[0] == ',') {
			append(c, ml, term(c, K_TVAL, Y_OTHER, ",", 1));
			adv(&v, 1);
		}
		if (v.n == before)
			return NULL; /* no progress: cannot happen in Python either */
	}
	*vin = v;
	return ml;
}

static struct tok *get_group_list(struct ctx *c, struct sv *vin)
{
	struct sv v = *vin;
	struct tok *gl = tnew(c, K_LIST, Y_GROUPLIST), *leader = NULL;
	if (!v.n)
		return gl;
	if (first_in(&v, CFWS_LEADER)) {
		leader = get_cfws(c, &v);
		if (!v.n || v.p[0] == ';') {
			append(c, gl, leader);
			*vin = v;
			return gl;
		}
	}
	struct tok *t = get_mailbox_list(c, &v);
	if (!t)
		return NULL;
	if (count_all_mailboxes(t) == 0) {
		if (leader)
			append(c, gl, leader);
		extend(c, gl, t);
		*vin = v;
		return gl;
	}
	if (leader)
		prepend(c, t, leader);
	append(c, gl, t);
	*vin = v;
	return gl;
}

static struct tok *get_group(struct ctx *c, struct sv *vin)
{
	struct sv v = *vin;
	struct tok *g = tnew(c, K_LIST, Y_GROUP);
	struct tok *t = get_display_name(c, &v);
	if (!t || !v.n || v.p[0] != ':')
		return NULL;
	append(c, g, t);
	append(c, g, term(c, K_TVAL, Y_OTHER, ":", 1));
	adv(&v, 1);
	if (v.n && v.p[0] == ';') {
		append(c, g, term(c, K_TVAL, Y_OTHER, ";", 1));
		adv(&v, 1);
		*vin = v;
		return g;
	}
	t = get_group_list(c, &v);
	if (!t)
		return NULL;
	append(c, g, t);
	if (v.n && v.p[0] != ';')
		return NULL;
	append(c, g, term(c, K_TVAL, Y_OTHER, ";", 1));
	if (v.n)
		adv(&v, 1);
	if (first_in(&v, CFWS_LEADER))
		append(c, g, get_cfws(c, &v));
	*vin = v;
	return g;
}

static struct tok *get_address(struct ctx *c, struct sv *vin)
{
	struct sv v = *vin;
	struct tok *a = tnew(c, K_LIST, Y_ADDRESS);
	struct tok *t = get_group(c, &v);
	if (!t) {
		v = *vin;
		t = get_mailbox(c, &v);
		if (!t)
			return NULL;
	}
	append(c, a, t);
	*vin = v;
	return a;
}

static struct tok *get_address_list(struct ctx *c, struct sv v)
{
	struct tok *al = tnew(c, K_LIST, Y_ADDRLIST), *t;
	while (v.n) {
		size_t before = v.n;
		t = get_address(c, &v);
		if (t) {
			append(c, al, t);
		} else {
			struct tok *leader = NULL;
			if (first_in(&v, CFWS_LEADER)) {
				leader = get_cfws(c, &v);
				if (!v.n || v.p[0] == ',') {
					append(c, al, leader);
				} else {
					t = get_invalid_mailbox(c, &v, ",");
					prepend(c, t, leader);
					struct tok *a = tnew(c, K_LIST, Y_ADDRESS);
					append(c, a, t);
					append(c, al, a);
				}
			} else if (v.p[0] != ',') {
				t = get_invalid_mailbox(c, &v, ",");
				struct tok *a = tnew(c, K_LIST, Y_ADDRESS);
				append(c, a, t);
				append(c, al, a);
			}
		}
		if (v.n && v.p[0] != ',') {
			struct tok *a = last(al);
			if (!a || a->type != Y_ADDRESS || !a->nkids)
				break; /* Python raises here */
			struct tok *mb = a->kids[0];
			mb->type = Y_INVMAILBOX;
			t = get_invalid_mailbox(c, &v, ",");
			extend(c, mb, t);
		}
		if (v.n) {
			append(c, al, term(c, K_TVAL, Y_OTHER, ",", 1));
			adv(&v, 1);
		}
		if (v.n == before)
			break;
	}
	return al;
}

/* ---------------------------------------------------------------- address properties */

/* A view of a token list without its first and/or last child (TokenList(tok[1:])). */
struct view {
	const struct tok *t;
	uint32_t from, to;
	bool whole_term;
};

static void view_value(struct ctx *c, const struct view *w, struct sl_strbuf *b)
{
	if (w->whole_term || (w->from == 0 && w->to == w->t->nkids)) {
		tvalue(c, w->t, b); /* the token itself: its class decides its value */
		return;
	}
	for (uint32_t i = w->from; i < w->to; i++)
		tvalue(c, w->t->kids[i], b);
}

static const struct tok *view_at(const struct view *w, int idx)
{
	if (w->whole_term || w->to <= w->from)
		return NULL;
	return idx >= 0 ? w->t->kids[w->from + (uint32_t)idx] : w->t->kids[w->to - 1];
}

/* DisplayName.display_name */
static void display_name(struct ctx *c, const struct tok *dn, struct sl_strbuf *b)
{
	if (!dn->nkids)
		return;
	struct view res[dn->nkids];
	uint32_t n = 0;
	for (uint32_t i = 0; i < dn->nkids; i++)
		res[n++] = (struct view){dn->kids[i], 0, dn->kids[i]->nkids, is_term(dn->kids[i])};
	uint32_t lo = 0, hi = n;
	if (res[0].t->type == Y_CFWS) {
		lo = 1;
	} else {
		const struct tok *k = view_at(&res[0], 0);
		if (k && k->type == Y_CFWS)
			res[0].from++;
	}
	if (hi > lo) {
		if (res[hi - 1].t->type == Y_CFWS) {
			hi--;
		} else {
			const struct tok *k = view_at(&res[hi - 1], -1);
			if (k && k->type == Y_CFWS)
				res[hi - 1].to--;
		}
	}
	for (uint32_t i = lo; i < hi; i++)
		view_value(c, &res[i], b);
}

/* LocalPart.local_part: strip whitespace from front, back and around dots. */
static void local_part_of(struct ctx *c, const struct tok *lp, struct sl_strbuf *b)
{
	const struct tok *inner = lp->kids[0];
	uint32_t cnt = inner->nkids + 1;
	struct view res[cnt + 1];
	uint32_t n = 0;
	res[n++] = (struct view){&DOT_TOK, 0, 0, true};
	bool last_is_tl = false;
	for (uint32_t i = 0; i < cnt; i++) {
		const struct tok *tk = i < inner->nkids ? inner->kids[i] : &DOT_TOK;
		if (tk->type == Y_CFWS)
			continue;
		struct view *lastv = &res[n - 1];
		if (last_is_tl && tk->type == Y_DOT) {
			const struct tok *lk = view_at(lastv, -1);
			if (lk && lk->type == Y_CFWS)
				lastv->to--;
		}
		bool is_tl = !is_term(tk);
		struct view nv = {tk, 0, tk->nkids, !is_tl};
		if (is_tl && lastv->t->type == Y_DOT && lastv->whole_term && tk->nkids &&
		    tk->kids[0]->type == Y_CFWS)
			nv.from = 1;
		res[n++] = nv;
		last_is_tl = is_tl;
	}
	for (uint32_t i = 1; i + 1 < n; i++)
		view_value(c, &res[i], b);
}

/* ''.join(value.split()): every Python whitespace character removed */
static void put_nospace(struct sl_strbuf *b, const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0;
	while (i < n) {
		size_t k = space_at(p + i, n - i);
		if (k) {
			i += k;
			continue;
		}
		sl_strbuf_putc(b, (char)p[i++]);
	}
}

struct addr {
	struct sl_strbuf display, local, domain;
	bool has_display, has_local, has_domain;
};

static const struct tok *addrspec_of_angle(const struct tok *aa)
{
	for (uint32_t i = 0; i < aa->nkids; i++)
		if (aa->kids[i]->type == Y_ADDRSPEC)
			return aa->kids[i];
	return NULL;
}

static void addrspec_parts(struct ctx *c, const struct tok *as, struct addr *a)
{
	if (!as)
		return;
	a->has_local = true;
	local_part_of(c, as->kids[0], &a->local);
	if (as->nkids >= 3) {
		struct sl_strbuf v;
		tmp_take(c->env, &v);
		tvalue(c, as->kids[as->nkids - 1], &v);
		a->has_domain = true;
		put_nospace(&a->domain, v.s ? v.s : "", v.len);
		tmp_give(c->env, &v);
	}
}

/* Mailbox / InvalidMailbox attributes: display_name, local_part, domain */
static void mailbox_parts(struct ctx *c, const struct tok *mb, struct addr *a)
{
	if (mb->invalid_mailbox_class || !mb->nkids)
		return;
	const struct tok *k = mb->kids[0];
	if (k->type == Y_NAMEADDR) {
		if (k->nkids > 1) {
			a->has_display = true;
			display_name(c, k->kids[0], &a->display);
		}
		addrspec_parts(c, addrspec_of_angle(k->kids[k->nkids - 1]), a);
	} else if (k->type == Y_ADDRSPEC) {
		addrspec_parts(c, k, a);
	}
}

static bool any_of(const char *s, size_t n, const char *set)
{
	for (size_t i = 0; i < n; i++)
		if (in((uint8_t)s[i], set))
			return true;
	return false;
}

/* str(headerregistry.Address) */
static void address_str(struct ctx *c, struct addr *a, struct sl_strbuf *out)
{
	struct sl_strbuf spec;
	tmp_take(c->env, &spec);
	const char *lp = a->local.s ? a->local.s : "";
	if (any_of(lp, a->local.len, DOT_ATOM_ENDS))
		put_quoted(&spec, lp, a->local.len);
	else
		sl_strbuf_put(&spec, lp, a->local.len);
	if (a->domain.len) {
		sl_strbuf_putc(&spec, '@');
		sl_strbuf_put(&spec, a->domain.s, a->domain.len);
	} else if (!a->local.len) {
		sl_strbuf_puts(&spec, "<>");
	}
	const char *disp = a->display.s ? a->display.s : "";
	if (a->display.len) {
		if (any_of(disp, a->display.len, SPECIALS))
			put_quoted(out, disp, a->display.len);
		else
			sl_strbuf_put(out, disp, a->display.len);
		sl_strbuf_puts(out, " <");
		if (!(spec.len == 2 && memcmp(spec.s, "<>", 2) == 0))
			sl_strbuf_put(out, spec.s, spec.len);
		sl_strbuf_putc(out, '>');
	} else {
		sl_strbuf_put(out, spec.s ? spec.s : "", spec.len);
	}
	tmp_give(c->env, &spec);
}

static void addr_init(struct ctx *c, struct addr *a)
{
	memset(a, 0, sizeof *a);
	tmp_take(c->env, &a->display);
	tmp_take(c->env, &a->local);
	tmp_take(c->env, &a->domain);
}

static void addr_free(struct ctx *c, struct addr *a)
{
	tmp_give(c->env, &a->domain);
	tmp_give(c->env, &a->local);
	tmp_give(c->env, &a->display);
}

/* The mailboxes of an Address token (Address.all_mailboxes) */
static void collect_mailboxes(const struct tok *addr, const struct tok ***list, uint32_t *n)
{
	const struct tok *k = addr->kids[0];
	*n = 0;
	*list = NULL;
	if (k->type == Y_MAILBOX || k->type == Y_INVMAILBOX) {
		*list = (const struct tok **)&addr->kids[0];
		*n = 1;
		return;
	}
	if (k->type != Y_GROUP || k->nkids < 3 || k->kids[2]->type != Y_GROUPLIST)
		return;
	const struct tok *gl = k->kids[2];
	if (!gl->nkids || gl->kids[0]->type != Y_MBLIST)
		return;
	*list = (const struct tok **)gl->kids[0]->kids;
	*n = gl->kids[0]->nkids;
}

static void address_list_str(struct ctx *c, const struct tok *al, struct sl_strbuf *out)
{
	bool first_group = true;
	for (uint32_t i = 0; i < al->nkids; i++) {
		const struct tok *addr = al->kids[i];
		if (addr->type != Y_ADDRESS || !addr->nkids)
			continue;
		if (!first_group)
			sl_strbuf_puts(out, ", ");
		first_group = false;
		const struct tok *k = addr->kids[0];
		bool is_group = k->type == Y_GROUP;
		const struct tok **mbs;
		uint32_t n;
		collect_mailboxes(addr, &mbs, &n);
		struct sl_strbuf addrs;
		tmp_take(c->env, &addrs);
		uint32_t count = 0;
		for (uint32_t j = 0; j < n; j++) {
			if (mbs[j]->type != Y_MAILBOX && mbs[j]->type != Y_INVMAILBOX)
				continue;
			if (count++)
				sl_strbuf_puts(&addrs, ", ");
			struct addr a;
			addr_init(c, &a);
			mailbox_parts(c, mbs[j], &a);
			address_str(c, &a, &addrs);
			addr_free(c, &a);
		}
		if (!is_group && count == 1) {
			sl_strbuf_put(out, addrs.s, addrs.len);
		} else {
			/* str(Group): "display: a, b;" (display None prints as "None") */
			if (is_group) {
				struct sl_strbuf dn;
				tmp_take(c->env, &dn);
				display_name(c, k->kids[0], &dn);
				const char *d = dn.s ? dn.s : "";
				if (any_of(d, dn.len, SPECIALS))
					put_quoted(out, d, dn.len);
				else
					sl_strbuf_put(out, d, dn.len);
				tmp_give(c->env, &dn);
			} else {
				sl_strbuf_puts(out, "None");
			}
			sl_strbuf_putc(out, ':');
			if (addrs.len) {
				sl_strbuf_putc(out, ' ');
				sl_strbuf_put(out, addrs.s, addrs.len);
			}
			sl_strbuf_putc(out, ';');
		}
		tmp_give(c->env, &addrs);
	}
}

/* ---------------------------------------------------------------- MIME headers */

static struct tok *get_ttext(struct ctx *c, struct sv *v)
{
	size_t k = match_not_in(v, TOKEN_ENDS);
	if (!k)
		return NULL;
	struct tok *t = term(c, K_TVAL, Y_OTHER, v->p, k);
	adv(v, k);
	return t;
}

static struct tok *get_token(struct ctx *c, struct sv *vin)
{
	struct sv v = *vin;
	struct tok *mt = tnew(c, K_LIST, Y_TOKEN), *t;
	if (first_in(&v, CFWS_LEADER))
		append(c, mt, get_cfws(c, &v));
	if (first_in(&v, TOKEN_ENDS))
		return NULL;
	if (!(t = get_ttext(c, &v)))
		return NULL;
	append(c, mt, t);
	if (first_in(&v, CFWS_LEADER))
		append(c, mt, get_cfws(c, &v));
	*vin = v;
	return mt;
}

static struct tok *get_attrtext_ends(struct ctx *c, struct sv *v, const char *ends,
                                     enum ttype y)
{
	size_t k = match_not_in(v, ends);
	if (!k)
		return NULL;
	struct tok *t = term(c, K_TVAL, y, v->p, k);
	adv(v, k);
	return t;
}

static struct tok *get_attrtext(struct ctx *c, struct sv *v)
{
	return get_attrtext_ends(c, v, ATTRIBUTE_ENDS, Y_ATTRTEXT);
}

static struct tok *get_extended_attrtext(struct ctx *c, struct sv *v)
{
	return get_attrtext_ends(c, v, EXTENDED_ATTRIBUTE_ENDS, Y_EXTATTRTEXT);
}

static struct tok *get_attribute_ends(struct ctx *c, struct sv *vin, bool extended)
{
	struct sv v = *vin;
	struct tok *a = tnew(c, K_LIST, Y_ATTRIBUTE), *t;
	if (first_in(&v, CFWS_LEADER))
		append(c, a, get_cfws(c, &v));
	if (first_in(&v, extended ? EXTENDED_ATTRIBUTE_ENDS : ATTRIBUTE_ENDS))
		return NULL;
	t = extended ? get_extended_attrtext(c, &v) : get_attrtext(c, &v);
	if (!t)
		return NULL;
	append(c, a, t);
	if (first_in(&v, CFWS_LEADER))
		append(c, a, get_cfws(c, &v));
	*vin = v;
	return a;
}

static struct tok *get_section(struct ctx *c, struct sv *vin)
{
	struct sv v = *vin;
	struct tok *s = tnew(c, K_LIST, Y_SECTION);
	if (!v.n || v.p[0] != '*')
		return NULL;
	append(c, s, term(c, K_TVAL, Y_OTHER, "*", 1));
	adv(&v, 1);
	size_t k = 0;
	while (k < v.n && v.p[k] >= '0' && v.p[k] <= '9')
		k++;
	if (!k)
		return NULL;
	long num = 0;
	for (size_t i = 0; i < k; i++)
		num = num > 100000000 ? num : num * 10 + (v.p[i] - '0');
	s->number = num;
	append(c, s, term(c, K_TVAL, Y_OTHER, v.p, k));
	adv(&v, k);
	*vin = v;
	return s;
}

static struct tok *get_value(struct ctx *c, struct sv *vin)
{
	struct sv v = *vin;
	struct tok *val = tnew(c, K_LIST, Y_VALUE), *leader = NULL, *t;
	if (!v.n)
		return NULL;
	if (first_in(&v, CFWS_LEADER))
		leader = get_cfws(c, &v);
	if (!v.n)
		return NULL;
	if (v.p[0] == '"')
		t = get_quoted_string(c, &v);
	else
		t = get_attribute_ends(c, &v, true);
	if (!t)
		return NULL;
	if (leader)
		prepend(c, t, leader);
	append(c, val, t);
	*vin = v;
	return val;
}

/* QuotedString.stripped_value: the content of its bare-quoted-string. */
static bool qs_stripped(struct ctx *c, const struct tok *qs, struct sl_strbuf *b)
{
	for (uint32_t i = 0; i < qs->nkids; i++)
		if (qs->kids[i]->type == Y_BQS) {
			kids_str(c, qs->kids[i], b);
			return true;
		}
	return false;
}

static struct tok *get_parameter(struct ctx *c, struct sv *vin)
{
	struct sv v = *vin;
	struct tok *param = tnew(c, K_LIST, Y_PARAM), *t;
	if (!(t = get_attribute_ends(c, &v, false)))
		return NULL;
	append(c, param, t);
	if (!v.n || v.p[0] == ';') {
		*vin = v;
		return param;
	}
	if (v.p[0] == '*') {
		t = get_section(c, &v);
		if (t) {
			param->sectioned = true;
			param->number = t->number;
			append(c, param, t);
		}
		if (!v.n)
			return NULL;
		if (v.p[0] == '*') {
			append(c, param, term(c, K_TVAL, Y_OTHER, "*", 1));
			adv(&v, 1);
			param->extended = true;
		}
	}
	if (!v.n || v.p[0] != '=')
		return NULL;
	append(c, param, term(c, K_TVAL, Y_OTHER, "=", 1));
	adv(&v, 1);
	if (first_in(&v, CFWS_LEADER))
		append(c, param, get_cfws(c, &v));
	struct sv remainder = {NULL, 0};
	bool have_remainder = false;
	struct tok *appendto = param;
	if (param->extended && v.n && v.p[0] == '"') {
		/* "serious hackery": double quotes around an extended value */
		struct sv qv = v;
		struct tok *qstring = get_quoted_string(c, &qv);
		if (!qstring)
			return NULL;
		remainder = qv;
		have_remainder = true;
		struct sl_strbuf inner_b;
		tmp_take(c->env, &inner_b);
		live_push(c, &inner_b);
		qs_stripped(c, qstring, &inner_b);
		struct sv inner = {adup(c, inner_b.s ? inner_b.s : "", inner_b.len), inner_b.len};
		live_pop(c);
		tmp_give(c->env, &inner_b);
		bool semi_valid = false;
		if (!param->sectioned || param->number == 0) {
			if (inner.n && inner.p[0] == '\'') {
				semi_valid = true;
			} else {
				struct sv rest = inner;
				if (!get_attrtext(c, &rest))
					return NULL; /* Python raises out of get_parameter here */
				if (rest.n && rest.p[0] == '\'')
					semi_valid = true;
			}
		} else {
			struct sv rest = inner;
			if (get_extended_attrtext(c, &rest) && !rest.n)
				semi_valid = true;
		}
		if (semi_valid) {
			c->flags |= SL_PY_BAD_PARAM;
			append(c, param, qstring);
			for (uint32_t i = 0; i < qstring->nkids; i++)
				if (qstring->kids[i]->type == Y_BQS) {
					qstring->kids[i]->nkids = 0;
					appendto = qstring->kids[i];
					break;
				}
			v = inner;
		} else {
			have_remainder = false;
		}
	}
	struct tok *token = NULL;
	if (!(v.n && v.p[0] == '\'')) {
		if (!(token = get_value(c, &v)))
			return NULL;
	}
	if (!param->extended || (param->sectioned && param->number > 0)) {
		if (!v.n || v.p[0] != '\'') {
			append(c, appendto, token);
			if (have_remainder)
				v = remainder;
			*vin = v;
			return param;
		}
	}
	if (!v.n) {
		append(c, appendto, token);
		if (!have_remainder) {
			*vin = v;
			return param;
		}
	} else {
		if (token) {
			/* Python iterates the Value's children looking for an extended-attrtext
			 * and keeps the last one: the charset is the attribute's value. */
			const struct tok *tt = NULL;
			for (uint32_t i = 0; i < token->nkids; i++) {
				tt = token->kids[i];
				if (tt->type == Y_EXTATTRTEXT)
					break;
			}
			if (tt) {
				append(c, appendto, (struct tok *)tt);
				size_t n;
				const char *s;
				struct sl_strbuf b;
				tmp_take(c->env, &b);
				live_push(c, &b);
				tvalue(c, tt, &b);
				n = b.len;
				s = adup(c, b.s ? b.s : "", n);
				live_pop(c);
				tmp_give(c->env, &b);
				param->charset = s;
				param->charset_n = n;
			}
		}
		if (v.p[0] != '\'')
			return NULL;
		append(c, appendto, term(c, K_TVAL, Y_OTHER, "'", 1));
		adv(&v, 1);
		if (v.n && v.p[0] != '\'') {
			if (!(token = get_attrtext(c, &v)))
				return NULL;
			append(c, appendto, token);
			if (!v.n || v.p[0] != '\'')
				return NULL;
		}
		append(c, appendto, term(c, K_TVAL, Y_OTHER, "'", 1));
		if (v.n)
			adv(&v, 1);
	}
	if (have_remainder) {
		struct tok *val = tnew(c, K_LIST, Y_VALUE);
		while (v.n) {
			if (first_in(&v, WSP)) {
				append(c, val, get_fws(c, &v));
			} else if (v.p[0] == '"') {
				append(c, val, term(c, K_TVAL, Y_OTHER, "\"", 1));
				adv(&v, 1);
			} else {
				size_t before = v.n;
				append(c, val, get_qcontent(c, &v));
				if (v.n == before)
					adv(&v, 1);
			}
		}
		token = val;
	} else {
		if (!(token = get_value(c, &v)))
			return NULL;
	}
	append(c, appendto, token);
	if (have_remainder)
		v = remainder;
	*vin = v;
	return param;
}

static struct tok *get_invalid_parameter(struct ctx *c, struct sv *vin)
{
	struct sv v = *vin;
	struct tok *ip = tnew(c, K_LIST, Y_INVPARAM);
	while (v.n && v.p[0] != ';') {
		if (first_in(&v, PHRASE_ENDS)) {
			append(c, ip, term(c, K_TVAL, Y_MISPLACED, v.p, 1));
			adv(&v, 1);
		} else {
			size_t before = v.n;
			struct tok *t = get_phrase(c, &v);
			if (!t || v.n == before) {
				append(c, ip, term(c, K_TVAL, Y_MISPLACED, v.p, 1));
				adv(&v, 1);
				continue;
			}
			append(c, ip, t);
		}
	}
	*vin = v;
	return ip;
}

static struct tok *parse_mime_parameters(struct ctx *c, struct sv v)
{
	struct tok *mp = tnew(c, K_MIMEPARAMS, Y_MIMEPARAMS), *t;
	while (v.n) {
		size_t before = v.n;
		t = get_parameter(c, &v);
		if (t) {
			append(c, mp, t);
		} else {
			c->flags |= SL_PY_BAD_PARAM;
			struct tok *leader = NULL;
			if (first_in(&v, CFWS_LEADER))
				leader = get_cfws(c, &v);
			if (!v.n) {
				append(c, mp, leader);
				return mp;
			}
			if (v.p[0] == ';') {
				if (leader)
					append(c, mp, leader);
			} else {
				t = get_invalid_parameter(c, &v);
				if (leader && leader->nkids)
					prepend(c, t, leader);
				append(c, mp, t);
			}
		}
		if (v.n && v.p[0] != ';') {
			c->flags |= SL_PY_BAD_PARAM;
			struct tok *param = last(mp);
			param->type = Y_INVPARAM;
			t = get_invalid_parameter(c, &v);
			extend(c, param, t);
		}
		if (v.n) {
			append(c, mp, term(c, K_TVAL, Y_OTHER, ";", 1));
			adv(&v, 1);
		}
		if (v.n == before)
			break;
	}
	return mp;
}

static void find_mime_parameters(struct ctx *c, struct tok *tl, struct sv v)
{
	while (v.n && v.p[0] != ';') {
		if (first_in(&v, PHRASE_ENDS)) {
			append(c, tl, term(c, K_TVAL, Y_MISPLACED, v.p, 1));
			adv(&v, 1);
		} else {
			size_t before = v.n;
			struct tok *t = get_phrase(c, &v);
			if (!t || v.n == before) {
				append(c, tl, term(c, K_TVAL, Y_MISPLACED, v.p, 1));
				adv(&v, 1);
				continue;
			}
			append(c, tl, t);
		}
	}
	if (!v.n)
		return;
	append(c, tl, term(c, K_TVAL, Y_OTHER, ";", 1));
	adv(&v, 1);
	append(c, tl, parse_mime_parameters(c, v));
}

/* The last token of a Content-Type or Content-Disposition value (the subtype, the
 * disposition) and the parameters after it: the same in both, as in Python's parser. */
static struct tok *token_and_parameters(struct ctx *c, struct tok *list, struct sv v)
{
	struct tok *t;
	if (!(t = get_token(c, &v))) {
		find_mime_parameters(c, list, v);
		return list;
	}
	append(c, list, t);
	if (!v.n)
		return list;
	if (v.p[0] != ';') {
		find_mime_parameters(c, list, v);
		return list;
	}
	append(c, list, term(c, K_TVAL, Y_OTHER, ";", 1));
	adv(&v, 1);
	append(c, list, parse_mime_parameters(c, v));
	return list;
}

static struct tok *parse_content_type(struct ctx *c, struct sv v)
{
	struct tok *ct = tnew(c, K_LIST, Y_OTHER), *t;
	if (!v.n)
		return ct;
	if (!(t = get_token(c, &v))) {
		find_mime_parameters(c, ct, v);
		return ct;
	}
	append(c, ct, t);
	if (!v.n || v.p[0] != '/') {
		if (v.n)
			find_mime_parameters(c, ct, v);
		return ct;
	}
	append(c, ct, term(c, K_TVAL, Y_OTHER, "/", 1));
	adv(&v, 1);
	return token_and_parameters(c, ct, v);
}

static struct tok *parse_content_disposition(struct ctx *c, struct sv v)
{
	struct tok *cd = tnew(c, K_LIST, Y_OTHER);
	if (!v.n)
		return cd;
	return token_and_parameters(c, cd, v);
}

static struct tok *parse_cte(struct ctx *c, struct sv v)
{
	struct tok *h = tnew(c, K_LIST, Y_OTHER), *t;
	if (!v.n)
		return h;
	if ((t = get_token(c, &v)))
		append(c, h, t);
	while (v.n) {
		if (first_in(&v, PHRASE_ENDS)) {
			append(c, h, term(c, K_TVAL, Y_MISPLACED, v.p, 1));
			adv(&v, 1);
		} else {
			size_t before = v.n;
			t = get_phrase(c, &v);
			if (!t || v.n == before) {
				append(c, h, term(c, K_TVAL, Y_MISPLACED, v.p, 1));
				adv(&v, 1);
				continue;
			}
			append(c, h, t);
		}
	}
	return h;
}

/* Parameter.param_value */
static void param_value(struct ctx *c, const struct tok *p, struct sl_strbuf *b)
{
	for (uint32_t i = 0; i < p->nkids; i++) {
		const struct tok *t = p->kids[i];
		const struct tok *val = NULL;
		if (t->type == Y_VALUE) {
			val = t;
		} else if (t->type == Y_QS) {
			for (uint32_t j = 0; j < t->nkids && !val; j++) {
				const struct tok *bq = t->kids[j];
				if (bq->type != Y_BQS)
					continue;
				for (uint32_t k = 0; k < bq->nkids; k++)
					if (bq->kids[k]->type == Y_VALUE) {
						val = bq->kids[k];
						break;
					}
				if (!val)
					break;
			}
			if (!val)
				continue;
		} else {
			continue;
		}
		/* Value.stripped_value */
		const struct tok *tk = val->nkids ? val->kids[0] : NULL;
		if (tk && tk->type == Y_CFWS)
			tk = val->nkids > 1 ? val->kids[1] : NULL;
		if (tk && tk->type == Y_QS) {
			qs_stripped(c, tk, b);
		} else if (tk && tk->type == Y_ATTRIBUTE) {
			for (uint32_t k = 0; k < tk->nkids; k++)
				if (tk->kids[k]->type == Y_ATTRTEXT || tk->kids[k]->type == Y_EXTATTRTEXT) {
					tvalue(c, tk->kids[k], b);
					break;
				}
		} else {
			tvalue(c, val, b);
		}
		return;
	}
}

/* urllib.parse.unquote_to_bytes */
static void unquote_to_bytes(const char *s, size_t n, struct sl_strbuf *b)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n + 0 && sl_hexval((uint8_t)s[i + 1]) >= 0 &&
		    sl_hexval((uint8_t)s[i + 2]) >= 0) {
			sl_strbuf_putc(b, (char)(sl_hexval((uint8_t)s[i + 1]) << 4 | sl_hexval((uint8_t)s[i + 2])));
			i += 2;
		} else {
			sl_strbuf_putc(b, s[i]);
		}
	}
}

struct pentry {
	const char *name;
	size_t name_n;
	struct tok **parts; /* sorted by section number, stable */
	uint32_t nparts, cap;
};

/* MimeParameters.__str__, through its .params. Its table is the parse's (amalloc). */
static void mimeparams_str(struct ctx *c, const struct tok *mp, struct sl_strbuf *b)
{
	uint32_t np = 0;
	struct pentry *pe = amalloc(c, (mp->nkids + 1) * sizeof *pe);
	for (uint32_t i = 0; i < mp->nkids; i++) {
		struct tok *t = mp->kids[i];
		if (t->type != Y_PARAM && t->type != Y_INVPARAM)
			continue;
		if (!t->nkids || t->kids[0]->type != Y_ATTRIBUTE)
			continue;
		struct sl_strbuf nb;
		tmp_take(c->env, &nb);
		live_push(c, &nb);
		tvalue(c, t->kids[0], &nb);
		const char *ns = nb.s ? nb.s : "";
		size_t nn = nb.len;
		sl_py_strip(&ns, &nn, true, true);
		uint32_t j;
		for (j = 0; j < np; j++)
			if (pe[j].name_n == nn && memcmp(pe[j].name, ns, nn) == 0)
				break;
		if (j == np)
			pe[np++] = (struct pentry){.name = adup(c, ns, nn), .name_n = nn};
		live_pop(c);
		tmp_give(c->env, &nb);
		struct pentry *e = &pe[j];
		if (e->nparts == e->cap) {
			uint32_t cap = e->cap ? e->cap * 2 : 4;
			struct tok **parts = amalloc(c, cap * sizeof *parts);
			if (e->nparts)
				memcpy(parts, e->parts, e->nparts * sizeof *parts);
			e->parts = parts;
			e->cap = cap;
		}
		/* insertion keeps equal section numbers in appearance order */
		long sec = t->sectioned ? t->number : 0;
		uint32_t k = e->nparts;
		while (k > 0 && (e->parts[k - 1]->sectioned ? e->parts[k - 1]->number : 0) > sec) {
			e->parts[k] = e->parts[k - 1];
			k--;
		}
		e->parts[k] = t;
		e->nparts++;
	}
	bool first = true;
	for (uint32_t j = 0; j < np; j++) {
		struct pentry *e = &pe[j];
		struct tok *fp = e->parts[0];
		uint32_t nparts = e->nparts;
		if (!fp->extended && nparts > 1) {
			long s1 = e->parts[1]->sectioned ? e->parts[1]->number : 0;
			if (s1 == 0)
				nparts = 1;
		}
		struct sl_strbuf value;
		tmp_take(c->env, &value);
		long i = 0;
		for (uint32_t k = 0; k < nparts; k++) {
			struct tok *p = e->parts[k];
			long sec = p->sectioned ? p->number : 0;
			if (sec != i && !p->extended)
				continue;
			i++;
			struct sl_strbuf pv;
			tmp_take(c->env, &pv);
			param_value(c, p, &pv);
			if (p->extended) {
				const char *s = pv.s ? pv.s : "";
				bool raw8 = false;
				for (size_t q = 0; q < pv.len; q++)
					raw8 |= (uint8_t)s[q] >= 0x80;
				if (raw8) {
					/* unquote(value, encoding='latin-1') */
					for (size_t q = 0; q < pv.len; q++) {
						if (s[q] == '%' && q + 2 < pv.len && sl_hexval((uint8_t)s[q + 1]) >= 0 &&
						    sl_hexval((uint8_t)s[q + 2]) >= 0) {
							uint8_t byte = (uint8_t)(sl_hexval((uint8_t)s[q + 1]) << 4 |
							                         sl_hexval((uint8_t)s[q + 2]));
							if (byte < 0x80) {
								sl_strbuf_putc(&value, (char)byte);
							} else {
								char u[2] = {(char)(0xC0 | byte >> 6), (char)(0x80 | (byte & 0x3F))};
								sl_strbuf_put(&value, u, 2);
							}
							q += 2;
						} else {
							sl_strbuf_putc(&value, s[q]);
						}
					}
				} else {
					struct sl_strbuf bytes;
					tmp_take(c->env, &bytes);
					unquote_to_bytes(s, pv.len, &bytes);
					const char *cs = fp->charset ? fp->charset : "us-ascii";
					size_t csn = fp->charset ? fp->charset_n : 8;
					bool undecodable = false;
					if (!sl_charset_decode_header(c->cs, &value, cs, csn,
					                              (const uint8_t *)(bytes.s ? bytes.s : ""),
					                              bytes.len, &undecodable))
						c->flags |= SL_PY_UNKNOWN_CHARSET;
					if (undecodable)
						c->flags |= SL_PY_UNDECODABLE;
					tmp_give(c->env, &bytes);
				}
			} else {
				sl_strbuf_put(&value, pv.s ? pv.s : "", pv.len);
			}
			tmp_give(c->env, &pv);
		}
		sl_strbuf_puts(b, first ? " " : "; ");
		first = false;
		sl_strbuf_put(b, e->name, e->name_n);
		if (value.len) {
			sl_strbuf_putc(b, '=');
			put_quoted(b, value.s, value.len);
		}
		tmp_give(c->env, &value);
	}
}

/* ---------------------------------------------------------------- simple address lists */

/* The common shapes, read without building a parse tree: a comma-separated list of
 *   local@domain                 (dot-atoms)
 *   Atom Atom <local@domain>     (atoms of plain ASCII atext, any blanks between)
 *   "Quoted Text" <local@domain> (no backslash, quote or "=?" inside; no blank at
 *                                 either end)
 * with optional blanks around the commas. Anything else (comments, groups, encoded
 * words, 8-bit bytes, escapes, literals, ...) goes to the full parser. The output is
 * what Python's str() gives for these shapes. */
static bool atext_char(uint8_t c)
{
	return c > 32 && c < 127 && !in(c, ATOM_ENDS);
}

static size_t skip_blanks(const char *p, size_t i, size_t n)
{
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	return i;
}

/* dot-atom-text at p[i..]: returns the end, or i when there is none. */
static size_t dot_atom_end(const char *p, size_t i, size_t n)
{
	size_t start = i;
	for (;;) {
		size_t k = i;
		while (k < n && atext_char((uint8_t)p[k]))
			k++;
		if (k == i)
			return start; /* empty atom: not a dot-atom */
		i = k;
		if (i < n && p[i] == '.') {
			i++;
			continue;
		}
		return i;
	}
}

static bool fast_address_list_(struct sl_py_env *env, const char *p, size_t n,
                               struct sl_strbuf *out)
{
	if (!n || memmem(p, n, "=?", 2))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((uint8_t)p[i] >= 0x80 || p[i] == '(' || p[i] == '\\')
			return false;
	size_t i = 0;
	bool first = true;
	while (i < n) {
		i = skip_blanks(p, i, n);
		size_t disp_start = 0, disp_end = 0, ls, le, ds, de;
		bool have_disp = false, angle;
		struct sl_strbuf disp;
		tmp_take(env, &disp);
		/* display name, if any */
		if (i < n && p[i] == '"') {
			const char *q = memchr(p + i + 1, '"', n - i - 1);
			if (!q)
				goto no;
			disp_start = i + 1;
			disp_end = (size_t)(q - p);
			if (disp_end == disp_start || p[disp_start] == ' ' || p[disp_start] == '\t' ||
			    p[disp_end - 1] == ' ' || p[disp_end - 1] == '\t')
				goto no;
			sl_strbuf_put(&disp, p + disp_start, disp_end - disp_start);
			have_disp = true;
			i = skip_blanks(p, disp_end + 1, n);
			if (i >= n || p[i] != '<')
				goto no;
		} else {
			/* atoms up to '<', or this is a bare local@domain */
			size_t k = i;
			while (k < n && atext_char((uint8_t)p[k])) {
				size_t e = k;
				while (e < n && atext_char((uint8_t)p[e]))
					e++;
				if (disp.len)
					sl_strbuf_putc(&disp, ' ');
				sl_strbuf_put(&disp, p + k, e - k);
				k = skip_blanks(p, e, n);
			}
			if (k < n && p[k] == '<' && disp.len) {
				have_disp = true;
				i = k;
			}
		}
		angle = i < n && p[i] == '<';
		if (angle)
			i++;
		ls = i;
		le = dot_atom_end(p, i, n);
		if (le == ls || le >= n || p[le] != '@')
			goto no;
		ds = le + 1;
		de = dot_atom_end(p, ds, n);
		if (de == ds)
			goto no;
		i = de;
		if (angle) {
			if (i >= n || p[i] != '>')
				goto no;
			i++;
		} else if (have_disp) {
			goto no;
		}
		i = skip_blanks(p, i, n);
		if (i < n && p[i] != ',')
			goto no;
		if (i < n) {
			i++;
			if (skip_blanks(p, i, n) >= n)
				goto no; /* trailing comma: leave the details to the parser */
		}
		if (!first)
			sl_strbuf_puts(out, ", ");
		first = false;
		if (have_disp) {
			if (any_of(disp.s, disp.len, SPECIALS))
				put_quoted(out, disp.s, disp.len);
			else
				sl_strbuf_put(out, disp.s, disp.len);
			sl_strbuf_puts(out, " <");
		}
		sl_strbuf_put(out, p + ls, de - ls);
		if (have_disp)
			sl_strbuf_putc(out, '>');
		tmp_give(env, &disp);
		continue;
no:
		tmp_give(env, &disp);
		return false;
	}
	return !first;
}

static bool fast_address_list(struct sl_py_env *env, const char *p, size_t n,
                              struct sl_strbuf *out)
{
	size_t before = out->len;
	if (fast_address_list_(env, p, n, out))
		return true;
	out->len = before;
	if (out->s)
		out->s[before] = '\0';
	return false;
}

/* ---------------------------------------------------------------- simple MIME headers */

/* Content-Type / Content-Disposition in their common shape, without a parse tree:
 *   token["/"token] *( ";" blanks name "=" (attrtext | "plain quoted") blanks )
 * with distinct names and no '*', comment, escape, encoded word or 8-bit byte.
 * str() is then the head as written, ";", and " name=\"value\"" joined by "; ". */
static bool fast_mime_params(const char *p, size_t n, bool ctype, struct sl_strbuf *out)
{
	if (!n || memmem(p, n, "=?", 2))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((uint8_t)p[i] >= 0x80 || p[i] == '(' || p[i] == '\\' || p[i] == '*')
			return false;
	size_t i = 0;
	while (i < n && !in((uint8_t)p[i], TOKEN_ENDS))
		i++;
	if (i == 0)
		return false;
	if (ctype) {
		if (i >= n || p[i] != '/')
			return false;
		size_t j = ++i;
		while (i < n && !in((uint8_t)p[i], TOKEN_ENDS))
			i++;
		if (i == j)
			return false;
	}
	size_t head = i;
	if (i == n) {
		sl_strbuf_put(out, p, n);
		return true;
	}
	if (p[i] != ';')
		return false;
	size_t before = out->len;
	sl_strbuf_put(out, p, head);
	sl_strbuf_putc(out, ';');
	/* names seen, to refuse duplicates (Python keeps the first by rules we skip) */
	const char *names[16];
	size_t lens[16], nnames = 0;
	while (i < n) {
		i++; /* ';' */
		while (i < n && (p[i] == ' ' || p[i] == '\t'))
			i++;
		size_t ns = i;
		while (i < n && !in((uint8_t)p[i], ATTRIBUTE_ENDS))
			i++;
		size_t nl = i - ns;
		if (!nl || i >= n || p[i] != '=' || nnames == 16)
			goto no;
		for (size_t k = 0; k < nnames; k++)
			if (lens[k] == nl && memcmp(names[k], p + ns, nl) == 0)
				goto no;
		names[nnames] = p + ns;
		lens[nnames++] = nl;
		i++; /* '=' */
		size_t vs, vl;
		if (i < n && p[i] == '"') {
			const char *q = memchr(p + i + 1, '"', n - i - 1);
			if (!q)
				goto no;
			vs = i + 1;
			vl = (size_t)(q - p) - vs;
			i = (size_t)(q - p) + 1;
		} else {
			vs = i;
			while (i < n && !in((uint8_t)p[i], EXTENDED_ATTRIBUTE_ENDS))
				i++;
			vl = i - vs;
			if (!vl)
				goto no;
		}
		while (i < n && (p[i] == ' ' || p[i] == '\t'))
			i++;
		if (i < n && p[i] != ';')
			goto no;
		if (i + 1 >= n && i < n)
			goto no; /* a trailing ';' */
		sl_strbuf_puts(out, nnames == 1 ? " " : "; ");
		sl_strbuf_put(out, p + ns, nl);
		if (vl) {
			sl_strbuf_putc(out, '=');
			put_quoted(out, p + vs, vl);
		}
	}
	return true;
no:
	out->len = before;
	if (out->s)
		out->s[before] = '\0';
	return false;
}

/* ---------------------------------------------------------------- entry points */

enum what { PY_UNSTRUCTURED, PY_ADDRESS, PY_CONTENT_TYPE, PY_DISPOSITION, PY_CTE };

/* Parses v and prints what Python's str() gives into raw; false when the arena could not
 * grow (amalloc jumped back here; strings on c->live are still held). */
static bool parse_print(struct ctx *c, enum what w, struct sv v, struct sl_strbuf *raw)
{
	if (setjmp(c->out_of_memory))
		return false;
	switch (w) {
	case PY_UNSTRUCTURED:
		tstr(c, get_unstructured(c, v), raw);
		break;
	case PY_ADDRESS:
		address_list_str(c, get_address_list(c, v), raw);
		break;
	case PY_CONTENT_TYPE:
		tstr(c, parse_content_type(c, v), raw);
		break;
	case PY_DISPOSITION:
		tstr(c, parse_content_disposition(c, v), raw);
		break;
	case PY_CTE:
		tstr(c, parse_cte(c, v), raw);
		break;
	}
	return true;
}

/* One header value through the parser: out gets the sanitized str() (email.utils.
 * _sanitize: surrogate-escaped bytes that are not UTF-8 become U+FFFD). Out of memory,
 * out is left as it was and the parser has failed. */
static void run(struct sl_py_env *env, enum what w, const uint8_t *v, size_t n,
                struct sl_strbuf *out, unsigned *flags)
{
	struct ctx c;
	memset(&c, 0, sizeof c);
	c.env = env;
	c.cs = env->iconv;
	c.mem = sl_mem_current();
	c.blk = thread_blk; /* NULL when a parse on this thread holds it */
	thread_blk = NULL;
	for (size_t i = 0; i < n; i++)
		if (v[i] >= 0x80) {
			c.flags |= SL_PY_8BIT;
			break;
		}
	struct sl_strbuf raw;
	tmp_take(env, &raw);
	if (parse_print(&c, w, (struct sv){(const char *)v, n}, &raw)) {
		if (sl_utf8_sanitize(out, (const uint8_t *)(raw.s ? raw.s : ""), raw.len))
			c.flags |= SL_PY_UNDECODABLE;
		if (flags)
			*flags |= c.flags;
	} else {
		while (c.nlive)
			tmp_give(env, c.live[--c.nlive]);
	}
	ctx_free(&c);
	tmp_give(env, &raw);
}

void sl_py_unstructured(struct sl_py_env *env, const uint8_t *v, size_t n,
                        struct sl_strbuf *out, unsigned *flags)
{
	run(env, PY_UNSTRUCTURED, v, n, out, flags);
}

void sl_py_address(struct sl_py_env *env, const uint8_t *v, size_t n,
                   struct sl_strbuf *out, unsigned *flags)
{
	if (fast_address_list(env, (const char *)v, n, out))
		return; /* plain ASCII, nothing to flag */
	run(env, PY_ADDRESS, v, n, out, flags);
}

void sl_py_mime_params_header(struct sl_py_env *env, const uint8_t *v, size_t n,
                              bool ctype, struct sl_strbuf *out, unsigned *flags)
{
	if (fast_mime_params((const char *)v, n, ctype, out))
		return;
	run(env, ctype ? PY_CONTENT_TYPE : PY_DISPOSITION, v, n, out, flags);
}

void sl_py_cte(struct sl_py_env *env, const uint8_t *v, size_t n, struct sl_strbuf *out,
               unsigned *flags)
{
	size_t i = 0;
	while (i < n && v[i] > ' ' && v[i] < 0x7F && !in(v[i], TOKEN_ENDS))
		i++;
	if (n && i == n) {
		sl_strbuf_put(out, v, n); /* one bare token ("base64"): str() is the token */
		return;
	}
	run(env, PY_CTE, v, n, out, flags);
}

void sl_py_ctype(const char *s, size_t n, struct sl_strbuf *out)
{
	const char *semi = memchr(s, ';', n);
	size_t k = semi ? (size_t)(semi - s) : n;
	sl_py_strip(&s, &k, true, true);
	for (size_t i = 0; i < k; i++) {
		char ch = s[i];
		sl_strbuf_putc(out, ch >= 'A' && ch <= 'Z' ? (char)(ch + 32) : ch);
	}
}

/* email.utils.unquote */
static void unquote(struct sl_py_env *env, const char *s, size_t n, struct sl_strbuf *out)
{
	if (n > 1 && s[0] == '"' && s[n - 1] == '"') {
		/* .replace('\\\\', '\\').replace('\\"', '"') */
		struct sl_strbuf t;
		tmp_take(env, &t);
		for (size_t i = 1; i + 1 < n; i++) {
			if (s[i] == '\\' && i + 2 < n && s[i + 1] == '\\') {
				sl_strbuf_putc(&t, '\\');
				i++;
			} else {
				sl_strbuf_putc(&t, s[i]);
			}
		}
		for (size_t i = 0; i < t.len; i++) {
			if (t.s[i] == '\\' && i + 1 < t.len && t.s[i + 1] == '"') {
				sl_strbuf_putc(out, '"');
				i++;
			} else {
				sl_strbuf_putc(out, t.s[i]);
			}
		}
		tmp_give(env, &t);
		return;
	}
	if (n > 1 && s[0] == '<' && s[n - 1] == '>') {
		sl_strbuf_put(out, s + 1, n - 2);
		return;
	}
	sl_strbuf_put(out, s, n);
}

/* s.count(sub, 0, end) for a 1- or 2-byte sub */
static size_t count_sub(const char *s, size_t end, const char *sub)
{
	size_t k = strlen(sub), cnt = 0;
	for (size_t i = 0; i + k <= end;) {
		if (memcmp(s + i, sub, k) == 0) {
			cnt++;
			i += k;
		} else {
			i++;
		}
	}
	return cnt;
}

/* What the three unquotes below (decode_params, get_param, collapse_rfc2231_value)
 * make of a value with no backslash and no quote but an enclosing pair: the quotes or
 * one pair of angle brackets go, then angle brackets once more. False for any other
 * value. Saves the general case's buffers: a part's charset, boundary and filename
 * are each asked for. */
static bool plain_param_value(const char *s, size_t n, struct sl_strbuf *out)
{
	bool quoted = n > 1 && s[0] == '"' && s[n - 1] == '"';
	size_t from = quoted, to = n - quoted;
	for (size_t i = from; i < to; i++)
		if (s[i] == '"' || s[i] == '\\')
			return false;
	if (!quoted && n > 1 && s[0] == '<' && s[n - 1] == '>') {
		from = 1;
		to = n - 1;
	}
	if (to - from > 1 && s[from] == '<' && s[to - 1] == '>') {
		from++;
		to--;
	}
	sl_strbuf_put(out, s + from, to - from);
	return true;
}

bool sl_py_get_param(struct sl_py_env *env, const char *s, size_t n, const char *name,
                     struct sl_strbuf *out)
{
	/* Message._parseparam: split on ';' outside quotes (by Python's own count) */
	size_t pos = 0;
	bool first = true;
	size_t want = strlen(name);
	while (true) {
		const char *rest = s + pos;
		size_t rn = n - pos;
		const char *semi = memchr(rest, ';', rn);
		size_t end = semi ? (size_t)(semi - rest) : rn;
		while (semi && end > 0 &&
		       (count_sub(rest, end, "\"") - count_sub(rest, end, "\\\"")) % 2) {
			semi = memchr(rest + end + 1, ';', rn - end - 1);
			end = semi ? (size_t)(semi - rest) : rn;
		}
		if (!first) {
			const char *f = rest;
			size_t fn = end;
			const char *eq = memchr(f, '=', fn);
			const char *pn = f, *pv = "";
			size_t pnn = eq ? (size_t)(eq - f) : fn, pvn = 0;
			if (eq) {
				pv = eq + 1;
				pvn = fn - pnn - 1;
				sl_py_strip(&pv, &pvn, true, true);
			}
			sl_py_strip(&pn, &pnn, true, true);
			bool match = pnn == want;
			for (size_t i = 0; match && i < pnn; i++) {
				char ch = pn[i];
				if (ch >= 'A' && ch <= 'Z')
					ch += 32;
				match = ch == name[i];
			}
			if (match && plain_param_value(pv, pvn, out))
				return true;
			if (match) {
				/* decode_params: unquote, re-quote; get_param: unquote;
				 * collapse_rfc2231_value: unquote again */
				struct sl_strbuf a, b, q;
				tmp_take(env, &a);
				tmp_take(env, &b);
				tmp_take(env, &q);
				unquote(env, pv, pvn, &a);
				sl_strbuf_putc(&q, '"');
				for (size_t i = 0; i < a.len; i++) {
					if (a.s[i] == '\\' || a.s[i] == '"')
						sl_strbuf_putc(&q, '\\');
					sl_strbuf_putc(&q, a.s[i]);
				}
				sl_strbuf_putc(&q, '"');
				unquote(env, q.s, q.len, &b);
				unquote(env, b.s ? b.s : "", b.len, out);
				tmp_give(env, &q);
				tmp_give(env, &b);
				tmp_give(env, &a);
				return true;
			}
		}
		first = false;
		if (!semi)
			return false;
		pos += end + 1;
	}
}
