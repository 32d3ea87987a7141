/* The `rendered` scope: the message text as SpamAssassin's body rules see it
 * (Mail::SpamAssassin::Message::get_rendered_body_text_array), built as the parts
 * stream by:
 *   - the Subject, then a line break;
 *   - the text of every text/plain and text/html leaf part (attachments included),
 *     HTML with tags, comments, <script> and <style> removed and entities decoded,
 *     <br> and <div> a line break, <p> <hr> <blockquote> <pre> <title> a blank line,
 *     <li> <td> <th> <dd> <dt> <h1>..<h6> a space; parts separated by a line break;
 *   - whitespace then folded as SpamAssassin does: a run holding two or more line
 *     breaks is one paragraph break ("\n"), any other run one space;
 *   - paragraphs longer than 2048 bytes cut at their last space before 2048.
 * Each paragraph is a line, so a rule with ^ and $ in multi-line mode sees what a
 * body rule sees. No allocation: the state is fixed-size. */
#ifndef SLUICE_POLICY_RENDER_H
#define SLUICE_POLICY_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RENDER_LINE_MAX 2048
#define RENDER_PART_MAX 50000 /* SpamAssassin's body_part_scan_size */

typedef void (*render_out_fn)(void *ctx, const uint8_t *p, size_t n);

struct render {
	render_out_fn out;
	void *ctx;
	/* whitespace folding */
	bool any;                 /* text emitted by a part (a part separator is due) */
	bool in_ws;               /* inside a whitespace run */
	bool ws_before_nl, ws_after_nl;
	unsigned nl;              /* line breaks in the run */
	bool cr;                  /* a CR waits to see whether LF follows */
	/* the current line, held until it ends or must be cut */
	uint8_t line[RENDER_LINE_MAX + 8];
	size_t line_len;
	/* HTML */
	bool html;
	int state;                /* enum in render.c */
	char tag[16];             /* tag name being read, lowercase */
	size_t tag_len;
	bool tag_close;
	char quote;
	char skip_until[10];      /* "script" or "style" while inside one */
	char ent[12];
	size_t ent_len;
	int dashes;               /* comment end detection */
	bool in_elem;             /* inside a text element (text between two tags) */
	bool elem_chars;          /* it has text other than white space */
	bool pending_space;       /* white space seen in it, not yet written */
	bool held_space;          /* the last element's trailing space, not yet written */
	bool after_block;         /* the last element pushed was a block tag's white space */
	size_t part_bytes;        /* rendered bytes of this part (capped at RENDER_PART_MAX) */
};

void render_begin(struct render *r, render_out_fn out, void *ctx);
/* The Subject (decoded), written before any part. */
void render_subject(struct render *r, const uint8_t *p, size_t n);
/* A leaf part starts (every leaf: SpamAssassin separates all of them). `text`: it is
 * text/plain or text/html; `html`: text/html. */
void render_part(struct render *r, bool text, bool html);
/* Bytes of the current text part (UTF-8). */
void render_text(struct render *r, const uint8_t *p, size_t n);
/* End of the message: the last line is written. */
void render_end(struct render *r);

#endif
