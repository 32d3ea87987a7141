#include "docbuild.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "headers.h"
#include "text.h"

void ar_doc_init(struct ar_doc *d)
{
	memset(d, 0, sizeof *d);
	sl_strbuf_init(&d->from);
	sl_strbuf_init(&d->to);
	sl_strbuf_init(&d->subject);
	sl_strbuf_init(&d->message_id);
	sl_strbuf_init(&d->text);
	sl_strbuf_init(&d->data);
	sl_strbuf_init(&d->member);
	ar_terms_init(&d->terms);
}

void ar_doc_free(struct ar_doc *d)
{
	sl_strbuf_free(&d->from);
	sl_strbuf_free(&d->to);
	sl_strbuf_free(&d->subject);
	sl_strbuf_free(&d->message_id);
	sl_strbuf_free(&d->text);
	sl_strbuf_free(&d->data);
	sl_strbuf_free(&d->member);
	ar_terms_free(&d->terms);
	for (size_t i = 0; i < d->nrefs; i++)
		free((void *)d->refs[i].data);
	free(d->refs);
	memset(d, 0, sizeof *d);
}

static void add_addresses(struct ar_doc *d, uint8_t field, const char *value,
	struct sl_strbuf *display)
{
	struct ar_addr *a;
	size_t n = ar_parse_addresses(value, &a);
	for (size_t i = 0; i < n; i++) {
		ar_terms_add_address(&d->terms, field, a[i].addr, a[i].display);
		if (display) {
			if (display->len)
				sl_strbuf_puts(display, ", ");
			sl_strbuf_puts(display, *a[i].addr ? a[i].addr : a[i].display);
		}
	}
	ar_addrs_free(a, n);
}

static void on_parent_id(void *ctx, const char *id, size_t n)
{
	ar_terms_add_folded(ctx, AR_F_PARENT, id, n);
}

static void root_header(struct ar_doc *d, const char *name, const char *value)
{
	if (strcasecmp(name, "From") == 0) {
		add_addresses(d, AR_F_FROM, value, d->from.len ? NULL : &d->from);
	} else if (strcasecmp(name, "To") == 0 || strcasecmp(name, "Cc") == 0 ||
		   strcasecmp(name, "Bcc") == 0) {
		add_addresses(d, AR_F_TO, value, &d->to);
	} else if (strcasecmp(name, "Subject") == 0) {
		if (!d->subject.len)
			sl_strbuf_puts(&d->subject, value);
		ar_terms_add_text(&d->terms, AR_F_SUBJECT, value, strlen(value));
		ar_terms_gap(&d->terms, AR_F_SUBJECT);
	} else if (strcasecmp(name, "Date") == 0) {
		if (!d->has_date)
			d->has_date = ar_parse_date(value, &d->date);
	} else if (strcasecmp(name, "Message-ID") == 0) {
		const char *lt = strchr(value, '<'), *gt = lt ? strchr(lt, '>') : NULL;
		if (lt && gt && !d->message_id.len) {
			sl_strbuf_put(&d->message_id, lt + 1, (size_t)(gt - lt - 1));
			ar_terms_add_folded(&d->terms, AR_F_MSGID, lt + 1, (size_t)(gt - lt - 1));
		}
	} else if (strcasecmp(name, "References") == 0 || strcasecmp(name, "In-Reply-To") == 0) {
		ar_parse_msgids(value, on_parent_id, &d->terms);
	}
}

static void part_begin(struct ar_doc *d, const struct sl_part *p)
{
	if (p->kind != SL_PART_LEAF)
		return;
	d->in_leaf = true;
	d->leaf_text = strncmp(p->content_type, "text/", 5) == 0;
	d->leaf_html = strcmp(p->content_type, "text/html") == 0;
	d->leaf_collect = p->encoding == SL_ENC_BASE64;
	sl_strbuf_clear(&d->text);
	sl_strbuf_clear(&d->data);
	bool attachment = (p->disposition && strcmp(p->disposition, "attachment") == 0) ||
			  (p->filename && *p->filename);
	if (attachment && !d->has_attachment) {
		d->has_attachment = true;
		ar_terms_add(&d->terms, AR_F_HAS, "attachment", 10);
	}
	if (p->filename && *p->filename) {
		ar_terms_add_text(&d->terms, AR_F_FILENAME, p->filename, strlen(p->filename));
		ar_terms_gap(&d->terms, AR_F_FILENAME);
	}
}

static void part_end(struct ar_doc *d, const struct sl_part *p)
{
	if (p->kind != SL_PART_LEAF || !d->in_leaf)
		return;
	d->in_leaf = false;
	if (d->leaf_text && d->text.len) {
		if (d->leaf_html) {
			struct sl_strbuf plain;
			sl_strbuf_init(&plain);
			ar_html_to_text(d->text.s, d->text.len, &plain);
			ar_terms_add_text(&d->terms, AR_F_BODY, plain.s, plain.len);
			sl_strbuf_free(&plain);
		} else {
			ar_terms_add_text(&d->terms, AR_F_BODY, d->text.s, d->text.len);
		}
		ar_terms_gap(&d->terms, AR_F_BODY);
	}
	if (d->leaf_collect && d->data.len >= AR_DEDUP_MIN_BYTES &&
	    d->data.len == p->decoded_bytes && p->raw_body_end > p->raw_body_begin) {
		if (d->nrefs == d->refs_cap) {
			d->refs_cap = d->refs_cap ? d->refs_cap * 2 : 4;
			d->refs = realloc(d->refs, d->refs_cap * sizeof *d->refs);
		}
		struct ar_part_ref *r = &d->refs[d->nrefs++];
		memset(r, 0, sizeof *r);
		r->raw_begin = p->raw_body_begin;
		r->raw_end = p->raw_body_end;
		memcpy(r->sha, p->sha256, 32);
		r->len = d->data.len;
		r->data = (const uint8_t *)d->data.s; /* take the buffer */
		sl_strbuf_init(&d->data);
	}
	sl_strbuf_clear(&d->text);
	sl_strbuf_clear(&d->data);
}

static void member_begin(struct ar_doc *d, const struct sl_member *m)
{
	if (m->name && *m->name) {
		ar_terms_add_text(&d->terms, AR_F_FILENAME, m->name, strlen(m->name));
		ar_terms_gap(&d->terms, AR_F_FILENAME);
	}
	d->in_member = m->kind != SL_MEMBER_CONTAINER;
	sl_strbuf_clear(&d->member);
}

static void member_data(struct ar_doc *d, const struct sl_event *ev)
{
	if (!d->in_member)
		return;
	if (d->text_total + ev->len > AR_MAX_TEXT_BYTES) {
		d->text_truncated = true;
		return;
	}
	d->text_total += ev->len;
	sl_strbuf_put(&d->member, ev->data, ev->len);
}

/* A member's text, or a file member's bytes when they are text (a CSV in a ZIP). */
static void member_end(struct ar_doc *d, const struct sl_member *m)
{
	bool text = m->kind == SL_MEMBER_TEXT ||
	            (d->member.len && sl_utf8_valid((const uint8_t *)d->member.s, d->member.len) &&
	             !memchr(d->member.s, 0, d->member.len));
	if (d->in_member && text && d->member.len) {
		ar_terms_add_text(&d->terms, AR_F_BODY, d->member.s, d->member.len);
		ar_terms_gap(&d->terms, AR_F_BODY);
	}
	d->in_member = false;
	sl_strbuf_clear(&d->member);
}

void ar_doc_event(void *ctx, const struct sl_event *ev)
{
	struct ar_doc *d = ctx;
	switch (ev->type) {
	case SL_EV_HEADER:
		if (ev->part && ev->part->depth == 0 && ev->name && ev->value) {
			root_header(d, ev->name, ev->value);
		} else if (ev->part && ev->part->message_root && ev->name && ev->value &&
			   strcasecmp(ev->name, "Subject") == 0) {
			/* a forwarded (message/rfc822) message's subject is text of this one */
			ar_terms_add_text(&d->terms, AR_F_BODY, ev->value, strlen(ev->value));
			ar_terms_gap(&d->terms, AR_F_BODY);
		}
		break;
	case SL_EV_PART_BEGIN:
		part_begin(d, ev->part);
		break;
	case SL_EV_PART_TEXT:
		if (d->in_leaf && d->leaf_text) {
			if (d->text_total + ev->len > AR_MAX_TEXT_BYTES) {
				d->text_truncated = true;
				break;
			}
			d->text_total += ev->len;
			sl_strbuf_put(&d->text, ev->data, ev->len);
		}
		break;
	case SL_EV_PART_DATA:
		if (d->in_leaf && d->leaf_collect)
			sl_strbuf_put(&d->data, ev->data, ev->len);
		break;
	case SL_EV_PART_END:
		part_end(d, ev->part);
		break;
	case SL_EV_MEMBER_BEGIN:
		member_begin(d, ev->member);
		break;
	case SL_EV_MEMBER_DATA:
		member_data(d, ev);
		break;
	case SL_EV_MEMBER_END:
		member_end(d, ev->member);
		break;
	default:
		break;
	}
}

static int cmp_ref(const void *a, const void *b)
{
	const struct ar_part_ref *x = a, *y = b;
	return x->raw_begin < y->raw_begin ? -1 : x->raw_begin > y->raw_begin;
}

void ar_doc_finish(struct ar_doc *d)
{
	ar_terms_finish(&d->terms);
	if (d->nrefs > 1)
		qsort(d->refs, d->nrefs, sizeof *d->refs, cmp_ref);
}
