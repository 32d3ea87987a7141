/* The search language (docs/archive.md "Search"):
 *   word "a phrase" from:ADDR to:ADDR subject:W body:W filename:W rule:ID
 *   direction:inbound|outbound|internal|unknown source:NAME msgid:ID thread:ID
 *   has:attachment after:YYYY-MM-DD before:YYYY-MM-DD
 *   implicit AND, OR, -term (NOT), ( ... )
 * Parsing yields a tree; errors name the column (1-based, in characters). */
#ifndef ARCHIVE_QUERY_H
#define ARCHIVE_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "sluice/strbuf.h"

enum ar_qtype {
	AR_Q_TERM,    /* any of fields[] has terms[0] */
	AR_Q_PHRASE,  /* one of fields[] has terms[0..n) at consecutive positions */
	AR_Q_AND,
	AR_Q_OR,
	AR_Q_NOT,     /* only as a child of AND (the parser puts it there) */
	AR_Q_DATE,    /* lo <= date < hi */
	AR_Q_ALL,     /* every document */
};

struct ar_qnode {
	enum ar_qtype type;
	uint8_t fields[4];
	size_t nfields;
	char **terms;
	size_t nterms;
	int64_t lo, hi;
	struct ar_qnode **kids;
	size_t nkids;
};

struct ar_qnode *ar_query_parse(const char *q, char *err, size_t errlen);
void ar_query_free(struct ar_qnode *n);
/* A canonical text of the tree, e.g. (and (term sb "contract") (not (term f "bob"))). */
void ar_query_describe(const struct ar_qnode *n, struct sl_strbuf *out);

#endif
