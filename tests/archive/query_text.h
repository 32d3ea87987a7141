/* A parsed query as text for the query tests: its tree, or the parser's error. */
#ifndef SLUICE_TESTS_QUERY_TEXT_H
#define SLUICE_TESTS_QUERY_TEXT_H

#include <stdlib.h>
#include <string.h>

#include "query.h"

/* Frees n; the result is malloc'ed. */
static inline char *query_text(struct ar_qnode *n, const char *err)
{
	if (!n)
		return strdup(err);
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	ar_query_describe(n, &b);
	ar_query_free(n);
	char *r = strdup(b.s);
	sl_strbuf_free(&b);
	return r;
}

#endif
