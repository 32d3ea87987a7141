/* libFuzzer: the archive query parser (archive/query/query.c): a tree or an error with
 * a column, never a crash; the tokenizer and HTML stripper on the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"
#include "text.h"

static void count(void *ctx, const char *t, size_t n)
{
	(void)t;
	if (n == 0 || n > 64 + 8)
		abort();
	(*(size_t *)ctx)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *q = malloc(size + 1);
	memcpy(q, data, size);
	q[size] = '\0';
	char err[512];
	struct ar_qnode *n = ar_query_parse(q, err, sizeof err);
	if (n) {
		struct sl_strbuf b;
		sl_strbuf_init(&b);
		ar_query_describe(n, &b);
		sl_strbuf_free(&b);
		ar_query_free(n);
	} else if (strncmp(err, "column ", 7) != 0) {
		abort(); /* every error names its column */
	}
	size_t tokens = 0;
	ar_tokenize((const char *)data, size, count, &tokens);
	struct sl_strbuf h;
	sl_strbuf_init(&h);
	ar_html_to_text((const char *)data, size, &h);
	sl_strbuf_free(&h);
	free(q);
	return 0;
}
