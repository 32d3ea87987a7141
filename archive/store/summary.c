#include "summary.h"

#include <stdlib.h>
#include <string.h>

#include "store.h"

static void put_str(struct sl_strbuf *b, const char *s)
{
	uint8_t l[4];
	size_t n = s ? strlen(s) : 0;
	if (n > 65535)
		n = 65535; /* display values; the index has the rest */
	ar_put_be32(l, (uint32_t)n);
	sl_strbuf_put(b, l, 4);
	sl_strbuf_put(b, s ? s : "", n);
}

void ar_summary_encode(const struct ar_summary *s, struct sl_strbuf *out)
{
	uint8_t fixed[AR_SUMMARY_NCOPIES_OFF + 5];
	fixed[0] = 1;
	memcpy(fixed + 1, s->dockey, 8);
	ar_put_be64(fixed + 9, (uint64_t)s->date);
	ar_put_be64(fixed + 17, s->size);
	memcpy(fixed + 25, s->blob, 32);
	ar_put_be32(fixed + AR_SUMMARY_NCOPIES_OFF, s->ncopies);
	fixed[AR_SUMMARY_NCOPIES_OFF + 4] = s->flags;
	sl_strbuf_put(out, fixed, sizeof fixed);
	put_str(out, s->from);
	put_str(out, s->to);
	put_str(out, s->subject);
	put_str(out, s->message_id);
}

static char *get_str(const uint8_t *p, size_t n, size_t *off)
{
	if (n - *off < 4)
		return NULL;
	uint32_t l = ar_get_be32(p + *off);
	*off += 4;
	if (l > n - *off)
		return NULL;
	char *s = malloc(l + 1);
	memcpy(s, p + *off, l);
	s[l] = '\0';
	*off += l;
	return s;
}

int ar_summary_decode(const uint8_t *p, size_t n, struct ar_summary *s)
{
	memset(s, 0, sizeof *s);
	if (n < AR_SUMMARY_NCOPIES_OFF + 5 || p[0] != 1)
		return -1;
	memcpy(s->dockey, p + 1, 8);
	s->docid = ar_dockey_docid(s->dockey);
	s->date = (int64_t)ar_get_be64(p + 9);
	s->size = ar_get_be64(p + 17);
	memcpy(s->blob, p + 25, 32);
	s->ncopies = ar_get_be32(p + AR_SUMMARY_NCOPIES_OFF);
	s->flags = p[AR_SUMMARY_NCOPIES_OFF + 4];
	size_t off = AR_SUMMARY_NCOPIES_OFF + 5;
	s->from = get_str(p, n, &off);
	s->to = get_str(p, n, &off);
	s->subject = get_str(p, n, &off);
	s->message_id = get_str(p, n, &off);
	if (!s->message_id) {
		ar_summary_free(s);
		return -1;
	}
	return 0;
}

void ar_summary_free(struct ar_summary *s)
{
	free(s->from);
	free(s->to);
	free(s->subject);
	free(s->message_id);
	s->from = s->to = s->subject = s->message_id = NULL;
}
