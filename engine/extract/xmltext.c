/* The text of an XML document part inside a ZIP (OOXML: word/document.xml,
 * xl/sharedStrings.xml, xl/worksheets/sheet1.xml, ppt/slides/slide1.xml; ODF:
 * content.xml), read with expat's streaming tokenizer: no tree is built, so memory does
 * not grow with the document. Character data of text elements (w:t, a:t, t, v, text:p,
 * text:span, ...) is emitted as is, so runs that formatting splits join into one
 * string ("4111" "1111..." is one number); paragraphs, rows and cells end with a line
 * break or a tab, so text from different paragraphs never joins. Entity declarations
 * (never in Office documents; the "billion laughs" vector) stop the part. */
#include "extract_int.h"

#include <string.h>

static const char *local(const XML_Char *name)
{
	const char *c = strrchr(name, ':');
	return c ? c + 1 : name;
}

/* What an element (by its local name) means for the text. Called for every element of
 * a sheet (several per cell): a switch on the first letter, not a table of strcmp. */
enum {
	E_TEXT = 1,       /* its character data is text: t, v, p, h, span, a */
	E_LINE_END = 2,   /* ends a line: p, h, si, row, tr, table-row, list-item */
	E_CELL_END = 4,   /* ends a cell: c, tc, table-cell */
	E_SPACE = 8,      /* stands for a space: tab, br, s, line-break, cr */
};

static unsigned classify(const char *l)
{
	switch (l[0]) {
	case 'a': return !l[1] ? E_TEXT : 0;
	case 'b': return !strcmp(l, "br") ? E_SPACE : 0;
	case 'c': return !l[1] ? E_CELL_END : !strcmp(l, "cr") ? E_SPACE : 0;
	case 'h': return !l[1] ? E_TEXT | E_LINE_END : 0;
	case 'l': return !strcmp(l, "list-item") ? E_LINE_END : !strcmp(l, "line-break") ? E_SPACE : 0;
	case 'p': return !l[1] ? E_TEXT | E_LINE_END : 0;
	case 'r': return !strcmp(l, "row") ? E_LINE_END : 0;
	case 's': return !l[1] ? E_SPACE : !strcmp(l, "si") ? E_LINE_END : !strcmp(l, "span") ? E_TEXT : 0;
	case 't':
		if (!l[1])
			return E_TEXT;
		return !strcmp(l, "tr") || !strcmp(l, "table-row") ? E_LINE_END
		     : !strcmp(l, "tc") || !strcmp(l, "table-cell") ? E_CELL_END
		     : !strcmp(l, "tab") ? E_SPACE : 0;
	case 'v': return !l[1] ? E_TEXT : 0;
	default: return 0;
	}
}

static void out(struct xxml *xm, const char *s, size_t n)
{
	while (n && !xm->owner->halted) {
		size_t k = X_TEXT_BUF - xm->n < n ? X_TEXT_BUF - xm->n : n;
		memcpy(xm->buf + xm->n, s, k);
		xm->n += k, s += k, n -= k;
		if (xm->n == X_TEXT_BUF) {
			xm->n = 0;
			x_emit_data(xm->owner, xm->level, xm->buf, X_TEXT_BUF);
		}
	}
}

static void on_start(void *ctx, const XML_Char *name, const XML_Char **atts)
{
	(void)atts;
	struct xxml *xm = ctx;
	unsigned k = classify(local(name));
	if (k & E_TEXT)
		xm->in_text++;
	if (k & E_SPACE)
		out(xm, " ", 1);
}

static void on_end(void *ctx, const XML_Char *name)
{
	struct xxml *xm = ctx;
	unsigned k = classify(local(name));
	if ((k & E_TEXT) && xm->in_text)
		xm->in_text--;
	if (k & E_LINE_END)
		out(xm, "\n", 1);
	else if (k & E_CELL_END)
		out(xm, "\t", 1);
}

static void on_text(void *ctx, const XML_Char *s, int len)
{
	struct xxml *xm = ctx;
	if (xm->in_text && len > 0)
		out(xm, s, (size_t)len);
}

static void on_entity(void *ctx, const XML_Char *name, int pe, const XML_Char *value, int vlen,
                      const XML_Char *base, const XML_Char *sys, const XML_Char *pub,
                      const XML_Char *notation)
{
	(void)name, (void)pe, (void)value, (void)vlen, (void)base, (void)sys, (void)pub, (void)notation;
	struct xxml *xm = ctx;
	xm->failed = true;
	XML_StopParser(xm->p, XML_FALSE);
}

void x_xml_release(struct sl_extract *x)
{
	if (x->xml_live) {
		XML_ParserFree(x->xml_live->p);
		x->xml_live->p = NULL;
		x->xml_live = NULL;
	}
	x_xml_arena_trim(x);
}

bool x_xml_start(struct sl_extract *x, struct xlevel *l)
{
	struct xxml *xm = &l->xml;
	if (!xm->buf && !(xm->buf = x_alloc(x, X_TEXT_BUF)))
		goto nomem;
	/* one parser lives in the stage's arena (xmlmem.c): the last document's, at any
	 * level, is done (XML is a leaf: documents never nest) and is freed before the
	 * arena is rewound for this one */
	x_xml_release(x);
	if (!(xm->p = XML_ParserCreate_MM(NULL, &x_xml_mem, NULL)))
		goto nomem;
	x->xml_live = xm;
	XML_SetHashSalt(xm->p, 0x736c7569u); /* no getrandom() per part on a worker core */
	XML_SetUserData(xm->p, xm);
	XML_SetElementHandler(xm->p, on_start, on_end);
	XML_SetCharacterDataHandler(xm->p, on_text);
	XML_SetEntityDeclHandler(xm->p, on_entity);
	xm->owner = x;
	xm->level = l;
	xm->in_text = 0;
	xm->failed = false;
	xm->n = 0;
	return true;
nomem:
	x_halt(x, l, SL_SIG_EXTRACT_MEMORY, "no memory for an XML tokenizer", true);
	return false;
}

static void parse(struct sl_extract *x, struct xlevel *l, const uint8_t *p, size_t n, bool final)
{
	struct xxml *xm = &l->xml;
	while (!xm->failed && !x->halted) {
		int k = n > 1u << 20 ? 1 << 20 : (int)n;
		if (XML_Parse(xm->p, (const char *)p, k, final && (size_t)k == n) != XML_STATUS_OK) {
			if (x->halted)
				return;
			bool entity = xm->failed;
			xm->failed = true;
			if (x->over_budget || XML_GetErrorCode(xm->p) == XML_ERROR_NO_MEMORY)
				x_halt(x, l, SL_SIG_EXTRACT_MEMORY, "no memory for the XML tokenizer", true);
			else
				x_signal(x, l, SL_SIG_EXTRACT_CORRUPT,
				         entity ? "XML entity declarations are not read" : "malformed XML");
			return;
		}
		n -= (size_t)k;
		if (!n)
			return; /* (p may be NULL at the end: no offset on it) */
		p += k;
	}
}

void x_xml_data(struct sl_extract *x, struct xlevel *l, const uint8_t *p, size_t n)
{
	parse(x, l, p, n, false);
}

void x_xml_end(struct sl_extract *x, struct xlevel *l)
{
	parse(x, l, NULL, 0, true);
	if (!x->halted && l->xml.n) {
		x_emit_data(x, l, l->xml.buf, l->xml.n);
		l->xml.n = 0;
	}
}

void x_xml_free(struct sl_extract *x, struct xlevel *l)
{
	if (l->xml.p)
		XML_ParserFree(l->xml.p);
	l->xml.p = NULL;
	if (x->xml_live == &l->xml)
		x->xml_live = NULL;
	x_free(x, l->xml.buf, X_TEXT_BUF);
	l->xml.buf = NULL;
}
