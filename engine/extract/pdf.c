/* PDF read as it streams. The file level (XF_PDF) finds each stream object: the
 * dictionary before the `stream` keyword says whether it is a page's content (kept) or an
 * image, font, embedded file, object or xref stream (skipped); FlateDecode data goes
 * through the level's inflater, unfiltered data is taken up to `endstream`. Each content
 * stream becomes a TEXT member ("report.pdf/content 12") read by the content level
 * (XF_PDFTEXT): the strings shown by Tj, ', " and TJ (a TJ array's strings joined, a
 * large negative kerning read as a space), a line break at T*, Td, TD, Tm and ET.
 *
 * Not handled (docs/extraction.md): fonts with custom encodings or ToUnicode maps
 * (subset fonts as LibreOffice, Word and browsers write them: the strings are glyph
 * codes, whose map to characters comes in a stream after the page; signalled
 * extract.unsupported, the codes come out as noise), filters other
 * than FlateDecode (signalled extract.unsupported), encryption (an /Encrypt dictionary:
 * extract.encrypted_document; the streams are not decrypted), object streams and
 * incremental updates (every stream in the file is read once, in file order). No PDF
 * library fits: they need the whole file for random access through the xref table. */
#include "extract_int.h"

#include "sluice/strbuf.h"

#include <stdio.h>
#include <string.h>

/* ---- the file level -------------------------------------------------------------- */

enum { PS_SCAN, PS_FLATE, PS_RAW, PS_SKIP };

/* A keyword whole: not inside a longer name ("endstream" holds "stream"). */
static bool ends_with_word(const struct xpdf *f, const char *w)
{
	size_t n = strlen(w);
	if (f->nwin < n || memcmp(f->win + f->nwin - n, w, n) != 0)
		return false;
	if (f->nwin == n)
		return true;
	uint8_t c = f->win[f->nwin - n - 1];
	return !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'));
}

static bool dict_has(const struct xpdf *f, const char *s)
{
	return memmem(f->dict, f->ndict, s, strlen(s)) != NULL;
}

/* What the dictionary before `stream` says: a content stream is kept. */
static void stream_start(struct sl_extract *x, struct xlevel *l)
{
	struct xpdf *f = &l->pdf;
	static const char *const skipped[] = {"/Image", "/XRef", "/ObjStm", "/FontFile", "/Length1",
	                                      "/Type1C", "/CIDFontType0C", "/OpenType", "/EmbeddedFile",
	                                      "/Metadata", "/ICCBased", "/N 3", "/N 4", "/Pattern", NULL};
	bool skip = false;
	for (const char *const *s = skipped; *s && !skip; s++)
		skip = dict_has(f, *s);
	bool filtered = dict_has(f, "/Filter");
	bool flate = dict_has(f, "/FlateDecode") || dict_has(f, "/Fl ") || dict_has(f, "/Fl/") ||
	             dict_has(f, "/Fl]");
	if (filtered && !flate) {
		x_signal(x, l, SL_SIG_EXTRACT_UNSUPPORTED, "a PDF stream filter other than FlateDecode");
		skip = true;
	}
	/* a filter chain with FlateDecode and another filter is not decoded either */
	if (flate && (dict_has(f, "/ASCII85Decode") || dict_has(f, "/ASCIIHexDecode") ||
	              dict_has(f, "/LZWDecode") || dict_has(f, "/RunLengthDecode"))) {
		x_signal(x, l, SL_SIG_EXTRACT_UNSUPPORTED, "a PDF filter chain other than FlateDecode alone");
		skip = true;
	}
	f->nwin = 0;
	if (skip) {
		f->st = PS_SKIP;
		return;
	}
	f->streams++;
	char name[32];
	snprintf(name, sizeof name, "content %u", f->streams);
	x_member_begin(x, l, name, strlen(name), XF_PDFTEXT);
	f->member_open = !x->halted;
	if (x->halted)
		return;
	if (flate && x_inflate_reset(x, l, 15))
		f->st = PS_FLATE;
	else if (!x->halted)
		f->st = flate ? PS_SKIP : PS_RAW;
}

static void stream_end(struct sl_extract *x, struct xlevel *l)
{
	struct xpdf *f = &l->pdf;
	if (f->member_open) {
		f->member_open = false;
		x_member_end(x, l);
	}
	f->st = PS_SCAN;
	f->nwin = 0;
	f->ndict = 0;
}

static void pdf_sink(struct sl_extract *x, struct xlevel *l, const uint8_t *p, size_t n)
{
	if (l->pdf.member_open)
		x_member_data(x, l, p, n);
}

/* Bytes of a stream without a decoder's own end: up to "endstream" (its 9 bytes held
 * back until they are known not to be it). */
static size_t raw_data(struct sl_extract *x, struct xlevel *l, const uint8_t *p, size_t n)
{
	static const char end[] = "endstream";
	struct xpdf *f = &l->pdf;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == (uint8_t)end[f->nwin]) {
			if (++f->nwin == sizeof end - 1) {
				stream_end(x, l);
				return i + 1;
			}
			continue;
		}
		if (f->nwin) { /* held bytes were data after all */
			if (f->st == PS_RAW)
				pdf_sink(x, l, (const uint8_t *)end, f->nwin);
			f->nwin = p[i] == 'e' ? 1 : 0;
			if (f->nwin)
				continue;
		}
		size_t j = i;
		while (j < n && p[j] != 'e')
			j++;
		if (f->st == PS_RAW)
			pdf_sink(x, l, p + i, j - i);
		if (x->halted)
			return n;
		i = j - 1;
	}
	return n;
}

void x_pdf_start(struct sl_extract *x, struct xlevel *l)
{
	(void)x;
	memset(&l->pdf, 0, sizeof l->pdf);
}

void x_pdf_data(struct sl_extract *x, struct xlevel *l, const uint8_t *p, size_t n)
{
	struct xpdf *f = &l->pdf;
	while (n && !x->halted && l->fmt == XF_PDF) {
		if (f->st == PS_FLATE) {
			bool end, err;
			size_t used = x_inflate(x, l, p, n, pdf_sink, &end, &err);
			p += used, n -= used;
			if (x->halted)
				return;
			if (end || err || n) { /* the rest up to endstream is skipped */
				if (f->member_open) {
					f->member_open = false;
					x_member_end(x, l);
				}
				f->st = PS_SKIP;
				f->nwin = 0;
			}
			continue;
		}
		if (f->st == PS_RAW || f->st == PS_SKIP) {
			size_t used = raw_data(x, l, p, n);
			p += used, n -= used;
			continue;
		}
		/* PS_SCAN: objects and dictionaries, a byte at a time (they are small) */
		uint8_t c = *p++;
		n--;
		if (f->ndict == sizeof f->dict) { /* keep the last half */
			memmove(f->dict, f->dict + sizeof f->dict / 2, sizeof f->dict / 2);
			f->ndict = sizeof f->dict / 2;
		}
		f->dict[f->ndict++] = c;
		if (f->nwin == sizeof f->win) {
			memmove(f->win, f->win + 1, sizeof f->win - 1);
			f->nwin--;
		}
		f->win[f->nwin++] = c;
		if (c == '\n' && f->nwin >= 2) {
			f->nwin--; /* the EOL after the keyword: CRLF or LF */
			if (f->win[f->nwin - 1] == '\r')
				f->nwin--;
			bool kw = ends_with_word(f, "stream");
			f->nwin = 0;
			if (kw)
				stream_start(x, l);
			continue;
		}
		if (c == 'j' && (ends_with_word(f, "obj") || ends_with_word(f, "endobj")))
			f->ndict = 0; /* a new object: its own dictionary */
		if (c == 't' && !f->encrypted && ends_with_word(f, "/Encrypt")) {
			f->encrypted = true;
			x_signal(x, l, SL_SIG_EXTRACT_ENCRYPTED_DOCUMENT, "encrypted PDF");
		}
		if ((c == 'e' || c == 'H') && !f->mapped_fonts &&
		    (ends_with_word(f, "/ToUnicode") || ends_with_word(f, "/Identity-H"))) {
			f->mapped_fonts = true; /* the text's bytes are glyph codes, mapped elsewhere */
			x_signal(x, l, SL_SIG_EXTRACT_UNSUPPORTED,
			         "PDF fonts with their own encoding (ToUnicode, Identity-H): text not read");
		}
	}
}

void x_pdf_end(struct sl_extract *x, struct xlevel *l)
{
	struct xpdf *f = &l->pdf;
	if (f->member_open) {
		f->member_open = false;
		x_member_end(x, l);
	}
}

/* ---- a content stream ------------------------------------------------------------- */

enum { CS_NORMAL, CS_STRING, CS_ESCAPE, CS_OCTAL, CS_HEX, CS_COMMENT, CS_INLINE_IMAGE };

/* Latin-1 into UTF-8 (document text is always valid UTF-8). */
static void put(uint8_t *buf, size_t cap, size_t *n, uint8_t c)
{
	if (c < 0x80) {
		if (*n < cap)
			buf[(*n)++] = c;
	} else if (*n + 2 <= cap) {
		buf[(*n)++] = (uint8_t)(0xC0 | c >> 6);
		buf[(*n)++] = (uint8_t)(0x80 | (c & 0x3F));
	}
}

static void string_byte(struct xpdftext *t, uint8_t c)
{
	if (t->in_array)
		put(t->arr, sizeof t->arr, &t->narr, c);
	else
		put(t->str, sizeof t->str, &t->nstr, c);
}

static void newline(struct sl_extract *x, struct xlevel *l)
{
	if (l->pdft.last != '\n' && l->pdft.last) {
		x_emit_data(x, l, (const uint8_t *)"\n", 1);
		l->pdft.last = '\n';
	}
}

static void show(struct sl_extract *x, struct xlevel *l, const uint8_t *s, size_t n)
{
	if (!n)
		return;
	x_emit_data(x, l, s, n);
	l->pdft.last = s[n - 1];
}

/* An operator ends: act on the operands gathered. */
static void op(struct sl_extract *x, struct xlevel *l)
{
	struct xpdftext *t = &l->pdft;
	const char *o = t->tok;
	/* the operators that matter are one or two characters long */
	char a = o[0], b = t->ntok == 2 ? o[1] : t->ntok == 1 ? 0 : '?';
	if ((a == '\'' || a == '"') && !b) {
		newline(x, l);
		show(x, l, t->str, t->nstr);
	} else if (a == 'T' && b == 'j') {
		show(x, l, t->str, t->nstr);
	} else if (a == 'T' && b == 'J') {
		show(x, l, t->arr, t->narr);
	} else if ((a == 'T' && (b == '*' || b == 'd' || b == 'D' || b == 'm')) || (a == 'E' && b == 'T')) {
		newline(x, l);
	} else if (a == 'I' && b == 'D') {
		t->st = CS_INLINE_IMAGE; /* binary up to EI */
		t->ei = 0;
	}
	t->nstr = t->narr = 0;
}

/* A number inside a TJ array: a kerning this far left is a space between words. */
static void number(struct xpdftext *t)
{
	if (t->in_array && t->ntok && t->tok[0] == '-') {
		long v = 0;
		for (size_t i = 1; i < t->ntok && t->tok[i] >= '0' && t->tok[i] <= '9'; i++)
			v = v * 10 + (t->tok[i] - '0');
		if (v >= 200)
			put(t->arr, sizeof t->arr, &t->narr, ' ');
	}
}

static void token_end(struct sl_extract *x, struct xlevel *l)
{
	struct xpdftext *t = &l->pdft;
	if (!t->ntok)
		return;
	t->tok[t->ntok] = '\0';
	char c = t->tok[0];
	if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.')
		number(t);
	else if (c != '/')
		op(x, l);
	t->ntok = 0;
}

static void text_byte(struct sl_extract *x, struct xlevel *l, uint8_t c)
{
	struct xpdftext *t = &l->pdft;
	switch (t->st) {
	case CS_STRING:
		if (c == '\\')
			t->st = CS_ESCAPE;
		else if (c == '(' && ++t->depth)
			string_byte(t, c);
		else if (c == ')' && --t->depth == 0)
			t->st = CS_NORMAL;
		else
			string_byte(t, c);
		return;
	case CS_ESCAPE: {
		static const char from[] = "nrtbf", to[] = "\n\r\t\b\f";
		const char *e = memchr(from, c, 5);
		t->st = CS_STRING;
		if (c >= '0' && c <= '7') {
			t->st = CS_OCTAL;
			t->oct = (unsigned)(c - '0');
			t->noct = 1;
		} else if (e) {
			string_byte(t, (uint8_t)to[e - from]);
		} else if (c != '\r' && c != '\n') { /* a backslash before EOL joins lines */
			string_byte(t, c);
		}
		return;
	}
	case CS_OCTAL:
		if (c >= '0' && c <= '7' && t->noct < 3) {
			t->oct = t->oct * 8 + (unsigned)(c - '0');
			t->noct++;
			return;
		}
		string_byte(t, (uint8_t)t->oct);
		t->st = CS_STRING;
		text_byte(x, l, c);
		return;
	case CS_HEX:
		if (c == '>') {
			if (t->nhex)
				string_byte(t, (uint8_t)(t->hex << 4));
			t->st = CS_NORMAL;
		} else if (sl_hexval(c) >= 0) {
			t->hex = (t->hex << 4) | (unsigned)sl_hexval(c);
			if (++t->nhex == 2) {
				string_byte(t, (uint8_t)t->hex);
				t->hex = t->nhex = 0;
			}
		}
		return;
	case CS_COMMENT:
		if (c == '\r' || c == '\n')
			t->st = CS_NORMAL;
		return;
	case CS_INLINE_IMAGE: /* white space, "EI", white space */
		t->ei = (c == 'E' && (t->ei == 0 || t->ei == 3)) ? 1 : (c == 'I' && t->ei == 1) ? 2
		      : ((c == ' ' || c == '\n' || c == '\r') && t->ei == 2) ? 4
		      : (c == ' ' || c == '\n' || c == '\r') ? 3 : 0;
		if (t->ei == 4)
			t->st = CS_NORMAL;
		return;
	default:
		break;
	}
	switch (c) {
	case '(':
		token_end(x, l);
		if (!t->in_array)
			t->nstr = 0;
		t->st = CS_STRING;
		t->depth = 1;
		return;
	case '<':
		token_end(x, l);
		if (!t->in_array)
			t->nstr = 0;
		t->st = CS_HEX; /* "<<" (an inline dictionary) reads as an empty hex string */
		t->hex = t->nhex = 0;
		return;
	case '[':
		token_end(x, l);
		t->in_array = true;
		t->narr = 0;
		return;
	case ']':
		token_end(x, l);
		t->in_array = false;
		return;
	case '%':
		token_end(x, l);
		t->st = CS_COMMENT;
		return;
	case ' ': case '\t': case '\r': case '\n': case '\f': case '\0': case '>': case '{': case '}':
		token_end(x, l);
		return;
	case '/':
		token_end(x, l);
		break;
	case '\'': case '"':
		token_end(x, l);
		t->tok[0] = (char)c;
		t->ntok = 1;
		token_end(x, l);
		return;
	default:
		break;
	}
	if (t->ntok < sizeof t->tok - 1)
		t->tok[t->ntok++] = (char)c;
}

void x_pdftext_start(struct sl_extract *x, struct xlevel *l)
{
	(void)x;
	memset(&l->pdft, 0, sizeof l->pdft);
}

void x_pdftext_data(struct sl_extract *x, struct xlevel *l, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n && !x->halted; i++)
		text_byte(x, l, p[i]);
}

void x_pdftext_end(struct sl_extract *x, struct xlevel *l)
{
	token_end(x, l);
}
