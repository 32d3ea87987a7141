#include "str_stash.h"

void sl_str_stash_take(struct sl_str_stash *st, struct sl_strbuf *b)
{
	if (!st->n) {
		sl_strbuf_init(b);
		return;
	}
	*b = st->slot[--st->n];
	st->bytes -= b->cap;
	sl_strbuf_clear(b);
}

void sl_str_stash_give(struct sl_str_stash *st, struct sl_strbuf *b)
{
	if (b->cap && !b->failed && st->n < STR_STASH_SLOTS &&
	    b->cap <= STR_STASH_BYTES - st->bytes) {
		st->bytes += b->cap;
		st->slot[st->n++] = *b;
		sl_strbuf_init(b);
		return;
	}
	sl_strbuf_free(b);
}

void sl_str_stash_free(struct sl_str_stash *st)
{
	while (st->n)
		sl_strbuf_free(&st->slot[--st->n]);
	st->bytes = 0;
}

size_t sl_str_stash_memory(const struct sl_str_stash *st)
{
	return st->bytes;
}
