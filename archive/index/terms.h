/* The postings one document contributes: (field, term, positions). Built while a
 * message is parsed, then written under the document's key. */
#ifndef ARCHIVE_TERMS_H
#define ARCHIVE_TERMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "sluice/strbuf.h"

/* Field bytes of the postings family (docs/archive.md "Index"). */
enum ar_field {
	AR_F_BODY = 'b',      /* text parts, HTML stripped, text attachments (positional) */
	AR_F_DIRECTION = 'd', /* inbound / outbound / internal / unknown */
	AR_F_FROM = 'f',      /* From header and envelope sender: addresses, parts, names */
	AR_F_HAS = 'h',       /* "attachment" */
	AR_F_MSGID = 'i',     /* Message-ID, without <> */
	AR_F_FILENAME = 'n',  /* attachment file names (positional) */
	AR_F_SOURCE = 'o',    /* journal source (gateway / mail host name) */
	AR_F_PARENT = 'p',    /* References / In-Reply-To ids (thread) */
	AR_F_RULE = 'r',      /* matched policy rule ids */
	AR_F_SUBJECT = 's',   /* Subject (positional) */
	AR_F_TO = 't',        /* To, Cc, Bcc headers and envelope recipients */
};

bool ar_field_positional(uint8_t field);

/* Terms are grouped as they arrive (a hash table on field + term), so nothing is sorted:
 * the postings family's memtable orders keys at flush anyway. */
struct ar_term_slot {
	uint8_t field;
	uint32_t term_off, term_len;  /* in pool */
	uint32_t first, last;         /* chain of positions in pos[]/next[] */
	uint32_t count;
	uint32_t hash;
};

struct ar_terms {
	struct ar_term_slot *groups;  /* in order of first appearance */
	size_t ngroups, gcap;
	uint64_t *table;              /* open addressing: hash << 32 | group index + 1; 0 empty */
	size_t tcap;
	uint32_t *pos, *next;         /* every posting: its position, next of its group */
	size_t n, cap;
	uint32_t *flat;               /* after finish: positions grouped by term */
	struct sl_strbuf pool;
	uint32_t next_pos[128];       /* per field */
	size_t max_postings;          /* cap per document (0: none) */
	bool truncated;
	bool finished;
};

void ar_terms_init(struct ar_terms *t);
void ar_terms_free(struct ar_terms *t);
void ar_terms_clear(struct ar_terms *t);
/* One term at the field's next position. */
void ar_terms_add(struct ar_terms *t, uint8_t field, const char *term, size_t len);
/* Tokenize text (text.h rules) into the field. */
void ar_terms_add_text(struct ar_terms *t, uint8_t field, const char *s, size_t n);
/* Case fold a whole value into one term. */
void ar_terms_add_folded(struct ar_terms *t, uint8_t field, const char *s, size_t n);
/* Leave a gap in positions so phrases do not span two parts or two headers. */
void ar_terms_gap(struct ar_terms *t, uint8_t field);
/* The terms of one address: the address, its local part, its domain and parent
 * domains, and the words of the display name. */
void ar_terms_add_address(struct ar_terms *t, uint8_t field, const char *addr,
	const char *display);

/* Lay out each term's positions (ascending) for ar_terms_next. */
void ar_terms_finish(struct ar_terms *t);
struct ar_term_group {
	uint8_t field;
	const char *term;
	size_t term_len;
	const uint32_t *positions;    /* ascending, count of them */
	size_t count;
	uint32_t hash;                /* of field and term, as the table keys them */
};
bool ar_terms_next(const struct ar_terms *t, size_t *cursor, struct ar_term_group *g);

/* The term of group g (from another ar_terms) with a caller's value in place of the
 * next position (values ascending per term, as positions are): posting blocks use it
 * to group documents by term without hashing every term again. */
void ar_terms_add_value(struct ar_terms *t, const struct ar_term_group *g, uint32_t value);

#endif
