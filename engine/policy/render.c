/* SpamAssassin's rendered body text, streamed (render.h). Three layers: HTML to text
 * (html_byte), whitespace folding (fold_byte), lines cut at 2048 bytes (line_byte). */
#include "render.h"

#include <string.h>

enum { H_TEXT, H_LT, H_TAG, H_ATTR, H_COMMENT, H_DECL, H_ENTITY };

/* ---- lines -------------------------------------------------------------------------- */

static void line_flush(struct render *r)
{
	if (r->line_len)
		r->out(r->ctx, r->line, r->line_len);
	r->line_len = 0;
}

static void line_byte(struct render *r, uint8_t c)
{
	r->line[r->line_len++] = c;
	if (c == '\n') {
		line_flush(r);
		return;
	}
	if (r->line_len <= RENDER_LINE_MAX)
		return;
	/* split_into_array_of_short_lines: cut after the last space within 2048 bytes */
	size_t cut = RENDER_LINE_MAX;
	for (size_t i = RENDER_LINE_MAX; i > 0; i--)
		if (r->line[i - 1] == ' ') {
			cut = i;
			break;
		}
	r->out(r->ctx, r->line, cut);
	r->out(r->ctx, (const uint8_t *)"\n", 1);
	memmove(r->line, r->line + cut, r->line_len - cut);
	r->line_len -= cut;
}

/* ---- whitespace folding: s/\n+\s*\n+/\x00/g; s/\s+/ /g; tr/\x00/\n/ ----------------- */

static bool is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static void fold_run_end(struct render *r)
{
	if (!r->in_ws)
		return;
	if (r->nl >= 2) {
		if (r->ws_before_nl)
			line_byte(r, ' ');
		line_byte(r, '\n');
		if (r->ws_after_nl)
			line_byte(r, ' ');
	} else {
		line_byte(r, ' ');
	}
	r->in_ws = false;
}

static void fold_ws(struct render *r, uint8_t c)
{
	if (!r->in_ws) {
		r->in_ws = true;
		r->nl = 0;
		r->ws_before_nl = r->ws_after_nl = false;
	}
	if (c == '\n') {
		r->nl++;
		r->ws_after_nl = false;
	} else if (r->nl == 0) {
		r->ws_before_nl = true;
	} else {
		r->ws_after_nl = true;
	}
}

static void fold_byte(struct render *r, uint8_t c)
{
	/* the message's CRLF line ends are LF to SpamAssassin */
	if (r->cr) {
		r->cr = false;
		if (c != '\n')
			fold_ws(r, '\r');
	}
	if (c == '\r') {
		r->cr = true;
		return;
	}
	if (is_space(c)) {
		fold_ws(r, c);
		return;
	}
	fold_run_end(r);
	line_byte(r, c);
}

static void fold_flush_cr(struct render *r)
{
	if (r->cr) {
		r->cr = false;
		fold_ws(r, '\r');
	}
}

/* ---- HTML ----------------------------------------------------------------------------- */

static void text_out(struct render *r, uint8_t c)
{
	if (r->part_bytes >= RENDER_PART_MAX)
		return;
	r->part_bytes++;
	r->any = true;
	fold_byte(r, c);
}

/* HTML text, as Mail::SpamAssassin::HTML::display_text pushes it: each text element
 * (the text between two tags) has its runs of white space made one space; a leading
 * space is dropped when the element before was a block tag's white space, and the
 * trailing space of the last text element is dropped when a block tag follows. So the
 * trailing space is held until the next element shows which happens. */
static void html_text_byte(struct render *r, uint8_t c)
{
	if (r->skip_until[0])
		return;
	if (!r->in_elem) {
		if (r->held_space)
			text_out(r, ' '); /* another element follows: that space stays */
		r->held_space = false;
		r->in_elem = true;
		r->elem_chars = false;
		r->pending_space = false;
	}
	if (is_space(c)) {
		r->pending_space = true;
		return;
	}
	if (r->pending_space && (r->elem_chars || !r->after_block))
		text_out(r, ' ');
	r->pending_space = false;
	r->elem_chars = true;
	text_out(r, c);
}

static void html_text_bytes(struct render *r, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		html_text_byte(r, (uint8_t)s[i]);
}

/* A tag ends the text element before it. */
static void elem_end(struct render *r)
{
	if (!r->in_elem)
		return;
	r->in_elem = false;
	if (r->pending_space && (r->elem_chars || !r->after_block))
		r->held_space = true;
	r->pending_space = false;
	r->after_block = false; /* an element was pushed, even an empty one */
}

static void block(struct render *r, const char *ws)
{
	elem_end(r);
	r->held_space = false; /* the trailing space of the text element before is trimmed */
	for (; *ws; ws++)
		text_out(r, (uint8_t)*ws);
	r->after_block = true;
}

static void tag_done(struct render *r)
{
	const char *t = r->tag;
	elem_end(r);
	if (r->skip_until[0]) {
		if (r->tag_close && strcmp(t, r->skip_until) == 0)
			r->skip_until[0] = '\0';
		return;
	}
	if (!r->tag_close && (strcmp(t, "script") == 0 || strcmp(t, "style") == 0)) {
		strcpy(r->skip_until, t);
		return;
	}
	if (strcmp(t, "br") == 0 || strcmp(t, "div") == 0)
		block(r, "\n");
	else if (strcmp(t, "li") == 0 || strcmp(t, "th") == 0 || strcmp(t, "td") == 0 ||
	         strcmp(t, "dd") == 0 || strcmp(t, "dt") == 0 || strcmp(t, "embed") == 0 ||
	         (t[0] == 'h' && t[1] >= '1' && t[1] <= '6' && !t[2]))
		block(r, " ");
	else if (strcmp(t, "p") == 0 || strcmp(t, "hr") == 0 || strcmp(t, "blockquote") == 0 ||
	         strcmp(t, "pre") == 0 || strcmp(t, "listing") == 0 || strcmp(t, "plaintext") == 0 ||
	         strcmp(t, "xmp") == 0 || strcmp(t, "title") == 0)
		block(r, "\n\n");
}

static size_t utf8_put(char *out, unsigned long cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* &name; or &#N; / &#xH;: decoded; anything else stays as written */
static void entity_done(struct render *r, bool semicolon)
{
	static const struct {
		const char *name;
		unsigned long cp;
	} names[] = {{"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''},
	             {"nbsp", 0xa0}, {"copy", 0xa9}, {"reg", 0xae}, {"trade", 0x2122},
	             {"euro", 0x20ac}, {"pound", 0xa3}, {"yen", 0xa5}, {"cent", 0xa2},
	             {"hellip", 0x2026}, {"mdash", 0x2014}, {"ndash", 0x2013}, {"lsquo", 0x2018},
	             {"rsquo", 0x2019}, {"ldquo", 0x201c}, {"rdquo", 0x201d}, {"bull", 0x2022},
	             {"middot", 0xb7}, {"laquo", 0xab}, {"raquo", 0xbb}, {"times", 0xd7},
	             {"deg", 0xb0}, {"sect", 0xa7}, {"para", 0xb6}, {"iexcl", 0xa1}};
	const char *e = r->ent;
	unsigned long cp = 0;
	bool ok = false;
	if (e[0] == '#') {
		bool hex = e[1] == 'x' || e[1] == 'X';
		const char *d = e + 1 + hex;
		ok = *d != '\0';
		for (; *d && ok; d++) {
			int v = *d >= '0' && *d <= '9' ? *d - '0'
			      : hex && *d >= 'a' && *d <= 'f' ? *d - 'a' + 10
			      : hex && *d >= 'A' && *d <= 'F' ? *d - 'A' + 10 : -1;
			ok = v >= 0 && cp < 0x110000;
			cp = cp * (hex ? 16 : 10) + (unsigned long)(v < 0 ? 0 : v);
		}
		ok = ok && cp > 0 && cp < 0x110000;
	} else {
		for (size_t i = 0; i < sizeof names / sizeof names[0] && !ok; i++)
			if (strcmp(e, names[i].name) == 0) {
				cp = names[i].cp;
				ok = true;
			}
	}
	if (!ok) {
		html_text_byte(r, '&');
		html_text_bytes(r, e, r->ent_len);
		if (semicolon)
			html_text_byte(r, ';');
		return;
	}
	if (cp == 0xa0) { /* NBSP is white space to SpamAssassin's renderer */
		html_text_byte(r, ' ');
		return;
	}
	char u[4];
	html_text_bytes(r, u, utf8_put(u, cp));
}

static bool alpha(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static void html_byte(struct render *r, uint8_t c)
{
	switch (r->state) {
	case H_TEXT:
		if (c == '<')
			r->state = H_LT;
		else if (c == '&' && !r->skip_until[0]) {
			r->state = H_ENTITY;
			r->ent_len = 0;
			r->ent[0] = '\0';
		} else
			html_text_byte(r, c);
		return;
	case H_LT:
		if (alpha(c) || c == '/') {
			r->state = H_TAG;
			r->tag_close = c == '/';
			r->tag_len = 0;
			r->tag[0] = '\0';
			if (alpha(c)) {
				r->tag[r->tag_len++] = (char)(c | 0x20);
				r->tag[r->tag_len] = '\0';
			}
		} else if (c == '!' || c == '?') {
			r->state = H_DECL;
			r->dashes = 0;
		} else {
			r->state = H_TEXT;
			html_text_byte(r, '<');
			html_byte(r, c);
		}
		return;
	case H_TAG:
		if (alpha(c) || (c >= '0' && c <= '9')) {
			if (r->tag_len + 1 < sizeof r->tag) {
				r->tag[r->tag_len++] = (char)(alpha(c) ? c | 0x20 : c);
				r->tag[r->tag_len] = '\0';
			}
			return;
		}
		r->state = H_ATTR;
		r->quote = 0;
		/* fall through: this byte may end the tag */
		/* FALLTHROUGH */
	case H_ATTR:
		if (r->quote) {
			if (c == (uint8_t)r->quote)
				r->quote = 0;
		} else if (c == '"' || c == '\'') {
			r->quote = (char)c;
		} else if (c == '>') {
			r->state = H_TEXT;
			tag_done(r);
		}
		return;
	case H_DECL:
		/* <!-- comment --> or <!DOCTYPE ...> / <?...?> */
		if (r->dashes >= 0 && r->dashes < 2 && c == '-') {
			r->dashes++;
			if (r->dashes == 2) {
				r->state = H_COMMENT;
				r->dashes = 0;
			}
			return;
		}
		r->dashes = -1;
		if (c == '>')
			r->state = H_TEXT;
		return;
	case H_COMMENT:
		if (c == '-')
			r->dashes++;
		else if (c == '>' && r->dashes >= 2)
			r->state = H_TEXT;
		else
			r->dashes = 0;
		return;
	case H_ENTITY:
		if (c == ';') {
			r->state = H_TEXT;
			entity_done(r, true);
		} else if ((alpha(c) || (c >= '0' && c <= '9') || c == '#') && r->ent_len + 1 < sizeof r->ent) {
			r->ent[r->ent_len++] = (char)c;
			r->ent[r->ent_len] = '\0';
		} else {
			r->state = H_TEXT;
			entity_done(r, false);
			html_byte(r, c);
		}
		return;
	}
}

/* ---- parts ---------------------------------------------------------------------------- */

void render_begin(struct render *r, render_out_fn out, void *ctx)
{
	memset(r, 0, sizeof *r);
	r->out = out;
	r->ctx = ctx;
}

void render_subject(struct render *r, const uint8_t *p, size_t n)
{
	/* the subject is put before the folded text, as it is, and ends its line */
	for (size_t i = 0; i < n; i++)
		line_byte(r, p[i] == '\n' ? ' ' : p[i]);
	line_byte(r, '\n');
}

static void html_end(struct render *r)
{
	if (r->state == H_ENTITY)
		entity_done(r, false);
	else if (r->state == H_LT)
		html_text_byte(r, '<');
	elem_end(r);
	if (r->held_space)
		text_out(r, ' ');
	r->state = H_TEXT;
	r->held_space = r->after_block = false;
	r->skip_until[0] = '\0';
}

void render_part(struct render *r, bool text, bool html)
{
	if (r->html)
		html_end(r);
	if (r->any) /* $text .= "\n" if $text ne '' — for every leaf */
		fold_byte(r, '\n');
	r->html = text && html;
	r->part_bytes = text ? 0 : RENDER_PART_MAX;
}

void render_text(struct render *r, const uint8_t *p, size_t n)
{
	if (r->part_bytes >= RENDER_PART_MAX)
		return;
	if (r->html) {
		for (size_t i = 0; i < n; i++)
			html_byte(r, p[i]);
		return;
	}
	for (size_t i = 0; i < n && r->part_bytes < RENDER_PART_MAX; i++)
		text_out(r, p[i]);
}

void render_end(struct render *r)
{
	if (r->html)
		html_end(r);
	r->html = false;
	fold_flush_cr(r);
	fold_run_end(r);
	line_flush(r);
}
