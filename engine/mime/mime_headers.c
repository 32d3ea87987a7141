/* Header fields of one entity: collected and unfolded as email.feedparser and
 * email.policy.default do, emitted as HEADER events with their values decoded as
 * Python's str(header) would be, and the first Content-Type, Content-Disposition and
 * Content-Transfer-Encoding kept (in Python's normalized form) to describe the part. */
#include "mime_int.h"

#include <string.h>

#include "hdrscan.h"
#include "pyemail.h"

void sl_hdrs_init(struct hdrs *h)
{
	memset(h, 0, sizeof *h);
	sl_strbuf_init(&h->field);
	sl_strbuf_init(&h->deferred);
	sl_strbuf_init(&h->ctype);
	sl_strbuf_init(&h->cdisp);
	sl_strbuf_init(&h->cte);
	sl_strbuf_init(&h->scratch);
	sl_strbuf_init(&h->value);
}

void sl_hdrs_free(struct hdrs *h)
{
	sl_strbuf_free(&h->field);
	sl_strbuf_free(&h->deferred);
	sl_strbuf_free(&h->ctype);
	sl_strbuf_free(&h->cdisp);
	sl_strbuf_free(&h->cte);
	sl_strbuf_free(&h->scratch);
	sl_strbuf_free(&h->value);
}

/* What a header buffer keeps for the next entity and the next flow (the parser's
 * scratch strings are capped alike, str_stash.h): a longer one is freed here. */
#define HDR_KEEP 1024

static void clear_kept(struct sl_strbuf *b)
{
	if (b->cap > HDR_KEEP)
		sl_strbuf_free(b);
	else
		sl_strbuf_clear(b);
}

void sl_hdrs_reset(struct hdrs *h)
{
	h->lines = 0;
	h->fields = 0;
	h->have_field = false;
	h->have_deferred = false;
	h->field_trunc = false;
	h->field_cut = false;
	h->ctype_seen = h->cdisp_seen = h->cte_seen = false;
	clear_kept(&h->field);
	clear_kept(&h->deferred);
	clear_kept(&h->ctype);
	clear_kept(&h->cdisp);
	clear_kept(&h->cte);
	clear_kept(&h->scratch);
	clear_kept(&h->value);
}

bool sl_hdrs_is_header_line(const uint8_t *p, size_t n)
{
	if (!n)
		return false;
	if (p[0] == ' ' || p[0] == '\t')
		return true;
	if (n >= 5 && memcmp(p, "From ", 5) == 0)
		return true;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == ':')
			return true;
		if (p[i] < 041 || p[i] > 0176)
			return false;
	}
	return false;
}

static void field_append(struct sl_mime *m, const uint8_t *p, size_t n)
{
	struct hdrs *h = &m->h;
	size_t room = m->lim.max_header_bytes > h->field.len ? m->lim.max_header_bytes - h->field.len : 0;
	if (n > room) {
		if (!h->field_trunc)
			sl_mime_signal(m, SL_SIG_MIME_HEADER_TOO_LONG, NULL, m->h.field_off);
		h->field_trunc = true;
		n = room;
	}
	sl_strbuf_put(&h->field, p, n);
}

void sl_hdrs_line(struct sl_mime *m, const uint8_t *p, size_t n, uint64_t off)
{
	struct hdrs *h = &m->h;
	size_t lineno = h->lines++;
	h->have_deferred = false; /* a "From " line followed by more headers: misplaced */
	if (p[0] == ' ' || p[0] == '\t') {
		if (h->have_field)
			field_append(m, p, n);
		return; /* else: a continuation with no field to continue; ignored */
	}
	sl_hdrs_flush(m);
	if (n >= 5 && memcmp(p, "From ", 5) == 0) {
		if (lineno == 0)
			return; /* the Unix envelope line */
		sl_strbuf_clear(&h->deferred);
		sl_strbuf_put(&h->deferred, p, n);
		h->have_deferred = true;
		h->deferred_off = off;
		return;
	}
	if (p[0] == ':') {
		sl_mime_signal(m, SL_SIG_MIME_BAD_HEADER, "missing header name", off);
		return;
	}
	h->have_field = true;
	h->field_trunc = false;
	h->field_cut = false;
	h->field_off = off;
	sl_strbuf_clear(&h->field);
	field_append(m, p, n);
}

/* The fields the parser treats apart, told by their length first: one compare at most
 * per field (most names have a length no known name has). */
enum field_kind { FIELD_OTHER, FIELD_CTYPE, FIELD_CDISP, FIELD_CTE, FIELD_ADDRESS };

#define KNOWN(name, kind) {sizeof name - 1, name, kind}
static const struct {
	size_t len;
	const char *name;
	enum field_kind kind;
} known_fields[] = {
	KNOWN("from", FIELD_ADDRESS), KNOWN("to", FIELD_ADDRESS), KNOWN("cc", FIELD_ADDRESS),
	KNOWN("bcc", FIELD_ADDRESS), KNOWN("sender", FIELD_ADDRESS), KNOWN("reply-to", FIELD_ADDRESS),
	KNOWN("resent-from", FIELD_ADDRESS), KNOWN("resent-to", FIELD_ADDRESS),
	KNOWN("resent-cc", FIELD_ADDRESS), KNOWN("resent-bcc", FIELD_ADDRESS),
	KNOWN("resent-sender", FIELD_ADDRESS), KNOWN("content-type", FIELD_CTYPE),
	KNOWN("content-disposition", FIELD_CDISP), KNOWN("content-transfer-encoding", FIELD_CTE),
};

static enum field_kind field_kind(const char *name, size_t n)
{
	for (size_t i = 0; i < sizeof known_fields / sizeof known_fields[0]; i++)
		if (known_fields[i].len == n && strncasecmp(name, known_fields[i].name, n) == 0)
			return known_fields[i].kind;
	return FIELD_OTHER;
}

static void flag_signals(struct sl_mime *m, unsigned flags, uint64_t off)
{
	if (flags & SL_PY_8BIT)
		sl_mime_signal(m, SL_SIG_MIME_8BIT_HEADER, NULL, off);
	if (flags & SL_PY_BAD_EW)
		sl_mime_signal(m, SL_SIG_MIME_BAD_ENCODED_WORD, NULL, off);
	if (flags & SL_PY_UNKNOWN_CHARSET)
		sl_mime_signal(m, SL_SIG_MIME_UNKNOWN_CHARSET, NULL, off);
	if (flags & SL_PY_UNDECODABLE)
		sl_mime_signal(m, SL_SIG_MIME_BAD_CHARSET, NULL, off);
	if (flags & SL_PY_BAD_PARAM)
		sl_mime_signal(m, SL_SIG_MIME_BAD_PARAM, NULL, off);
}

/* Without "=?" Python's unstructured str() is the value itself (sanitized). */
static void plain_unstructured(const uint8_t *v, size_t n, bool high, struct sl_strbuf *out,
                               unsigned *flags)
{
	if (!high) {
		sl_strbuf_put(out, v, n); /* ASCII: valid UTF-8 as it is */
		return;
	}
	*flags |= SL_PY_8BIT;
	if (sl_utf8_valid_prefix(v, n) == n)
		sl_strbuf_put(out, v, n);
	else if (sl_utf8_sanitize(out, v, n))
		*flags |= SL_PY_UNDECODABLE;
}

void sl_hdrs_flush(struct sl_mime *m)
{
	struct hdrs *h = &m->h;
	if (!h->have_field)
		return;
	h->have_field = false;
	const uint8_t *raw = (const uint8_t *)h->field.s;
	size_t rawlen = h->field.len;
	const uint8_t *colon = memchr(raw, ':', rawlen);
	if (!colon)
		return;
	size_t namelen = (size_t)(colon - raw);
	/* header_source_parse + header_fetch_parse: value after the colon with leading
	 * blanks stripped, every CR and LF removed. The name needs no NUL check: headerRE
	 * admitted only printable bytes before the colon. */
	size_t i = namelen + 1;
	while (i < rawlen && (raw[i] == ' ' || raw[i] == '\t'))
		i++;
	struct sl_hdr_scan sc;
	sl_hdr_scan(raw + i, rawlen - i, &sc);
	const uint8_t *val = raw + i;
	size_t vlen = sc.len;
	if (sc.folded) {
		struct sl_strbuf *v = &h->scratch;
		sl_strbuf_clear(v);
		sl_hdr_unfold(raw + i, sc.len, v);
		val = (const uint8_t *)(v->s ? v->s : "");
		vlen = v->len;
	}
	if (sc.nul)
		sl_mime_signal(m, SL_SIG_MIME_NUL, "NUL byte in a header field", h->field_off);

	unsigned flags = 0;
	const char *name = (const char *)raw;
	enum field_kind kind = field_kind(name, namelen);
	if ((h->field_trunc || h->field_cut) &&
	    (kind == FIELD_CTYPE || kind == FIELD_CDISP || kind == FIELD_CTE))
		sl_mime_signal(m, SL_SIG_MIME_STRUCTURE_TRUNCATED, NULL, h->field_off);
	if (kind == FIELD_CTYPE && !h->ctype_seen) {
		h->ctype_seen = true;
		sl_py_mime_params_header(&m->py, val, vlen, true, &h->ctype, &flags);
	} else if (kind == FIELD_CDISP && !h->cdisp_seen) {
		h->cdisp_seen = true;
		sl_py_mime_params_header(&m->py, val, vlen, false, &h->cdisp, &flags);
	} else if (kind == FIELD_CTE && !h->cte_seen) {
		h->cte_seen = true;
		sl_py_cte(&m->py, val, vlen, &h->cte, &flags);
	}

	if (++h->fields > m->lim.max_headers) {
		if (h->fields == m->lim.max_headers + 1)
			sl_mime_signal(m, SL_SIG_MIME_TOO_MANY_HEADERS, NULL, h->field_off);
		flag_signals(m, flags, h->field_off);
		return;
	}
	sl_strbuf_clear(&h->value);
	if (kind == FIELD_ADDRESS)
		sl_py_address(&m->py, val, vlen, &h->value, &flags);
	else if (!sc.encoded)
		plain_unstructured(val, vlen, sc.high, &h->value, &flags); /* the common case */
	else
		sl_py_unstructured(&m->py, val, vlen, &h->value, &flags);
	flag_signals(m, flags, h->field_off);

	char namebuf[256];
	size_t nl = namelen < sizeof namebuf - 1 ? namelen : sizeof namebuf - 1;
	memcpy(namebuf, name, nl);
	namebuf[nl] = '\0';
	struct frame *f = sl_mime_top(m);
	struct sl_event ev = {
		.type = SL_EV_HEADER,
		.txn = m->txn,
		.offset = h->field_off,
		.part = &f->part,
		.data = raw,
		.len = rawlen,
		.name = namebuf,
		.value = h->value.s ? h->value.s : "",
	};
	sl_mime_emit(m, &ev);
}

static void copy_trunc(char *dst, size_t cap, const char *src, size_t n)
{
	if (n >= cap) {
		n = cap - 1;
		while (n && ((uint8_t)src[n] & 0xC0) == 0x80)
			n--; /* keep UTF-8 whole */
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static enum sl_encoding encoding_of(const char *s, size_t n)
{
	char low[24];
	if (n >= sizeof low)
		return SL_ENC_UNKNOWN;
	for (size_t i = 0; i < n; i++)
		low[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
	low[n] = '\0';
	static const struct {
		const char *name;
		enum sl_encoding enc;
	} map[] = {
		{"7bit", SL_ENC_7BIT}, {"8bit", SL_ENC_8BIT}, {"binary", SL_ENC_BINARY},
		{"base64", SL_ENC_BASE64}, {"quoted-printable", SL_ENC_QP},
		{"x-uuencode", SL_ENC_UUENCODE}, {"uuencode", SL_ENC_UUENCODE},
		{"uue", SL_ENC_UUENCODE}, {"x-uue", SL_ENC_UUENCODE},
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strcmp(low, map[i].name) == 0)
			return map[i].enc;
	return SL_ENC_UNKNOWN;
}

bool sl_hdrs_describe(struct sl_mime *m, struct frame *f, bool parent_digest,
                      struct sl_strbuf *boundary)
{
	struct hdrs *h = &m->h;
	struct sl_part *p = &f->part;
	struct sl_strbuf *t = &h->value;

	/* get_content_type() */
	sl_strbuf_clear(t);
	if (h->ctype_seen) {
		sl_py_ctype(h->ctype.s ? h->ctype.s : "", h->ctype.len, t);
		size_t slashes = 0;
		for (size_t i = 0; i < t->len; i++)
			slashes += t->s[i] == '/';
		if (slashes != 1) {
			sl_strbuf_clear(t);
			sl_strbuf_puts(t, "text/plain");
		}
	} else {
		sl_strbuf_puts(t, parent_digest ? "message/rfc822" : "text/plain");
	}
	copy_trunc(p->content_type, sizeof p->content_type, t->s, t->len);

	/* get_content_charset(): ASCII only, lowercased */
	p->charset[0] = '\0';
	sl_strbuf_clear(t);
	if (h->ctype_seen && sl_py_get_param(&m->py, h->ctype.s ? h->ctype.s : "", h->ctype.len, "charset", t)) {
		bool ascii = true;
		for (size_t i = 0; i < t->len; i++)
			ascii &= (uint8_t)t->s[i] < 0x80;
		if (ascii) {
			for (size_t i = 0; i < t->len; i++)
				if (t->s[i] >= 'A' && t->s[i] <= 'Z')
					t->s[i] += 32;
			copy_trunc(p->charset, sizeof p->charset, t->s ? t->s : "", t->len);
		}
	}

	/* get_boundary(): collapse_rfc2231_value(...).rstrip() */
	bool has_boundary = false;
	sl_strbuf_clear(boundary);
	if (h->ctype_seen &&
	    sl_py_get_param(&m->py, h->ctype.s ? h->ctype.s : "", h->ctype.len, "boundary", boundary)) {
		const char *b = boundary->s ? boundary->s : "";
		size_t bn = boundary->len;
		sl_py_strip(&b, &bn, false, true);
		boundary->len = bn;
		if (boundary->s)
			boundary->s[bn] = '\0';
		has_boundary = true;
	}

	/* get_filename(): disposition's filename, else type's name; .strip() */
	p->filename = NULL;
	sl_strbuf_clear(t);
	bool have = false;
	if (h->cdisp_seen)
		have = sl_py_get_param(&m->py, h->cdisp.s ? h->cdisp.s : "", h->cdisp.len, "filename", t);
	if (!have && h->ctype_seen)
		have = sl_py_get_param(&m->py, h->ctype.s ? h->ctype.s : "", h->ctype.len, "name", t);
	if (have) {
		const char *s = t->s ? t->s : "";
		size_t n = t->len;
		sl_py_strip(&s, &n, true, true);
		if (n > m->lim.max_filename) {
			sl_mime_signal(m, SL_SIG_MIME_FILENAME_TRUNCATED, NULL, m->off);
			n = m->lim.max_filename;
		}
		if (!f->filename) {
			f->filename = sl_mime_alloc(m, m->lim.max_filename + 4);
			if (!f->filename)
				return has_boundary; /* failed: nothing more is emitted */
		}
		copy_trunc(f->filename, m->lim.max_filename + 1, s, n);
		p->filename = f->filename;
	}

	/* get_content_disposition() */
	p->disposition = NULL;
	if (h->cdisp_seen) {
		sl_strbuf_clear(t);
		sl_py_ctype(h->cdisp.s ? h->cdisp.s : "", h->cdisp.len, t);
		copy_trunc(f->disposition, sizeof f->disposition, t->s ? t->s : "", t->len);
		p->disposition = f->disposition;
	}

	/* get_payload(decode=True) compares str(Content-Transfer-Encoding).lower() */
	p->encoding = SL_ENC_7BIT;
	if (h->cte_seen) {
		p->encoding = encoding_of(h->cte.s ? h->cte.s : "", h->cte.len);
		if (p->encoding == SL_ENC_UNKNOWN)
			sl_mime_signal(m, SL_SIG_MIME_UNKNOWN_ENCODING, h->cte.s, m->off);
	}
	return has_boundary;
}
