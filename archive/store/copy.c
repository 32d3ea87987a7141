/* The copies family's values (copy.h). */
#include "copy.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "codec.h"

void ar_origin_now(struct ar_origin *o)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	o->received_us = (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

const char *ar_via_name(enum ar_via v)
{
	static const char *const names[] = { "unknown", "journal", "smtp", "import" };
	return (unsigned)v < 4 ? names[v] : "unknown";
}

static void put_short_str(struct sl_strbuf *out, const char *s)
{
	size_t n = strlen(s);
	uint8_t l = (uint8_t)(n > 255 ? 255 : n);
	sl_strbuf_put(out, &l, 1);
	sl_strbuf_put(out, s, l);
}

void ar_copy_encode(struct sl_strbuf *out, uint64_t seq, const uint8_t blob[32],
	const struct ar_origin *o, const struct sl_journal_record *r)
{
	uint8_t head[49];
	ar_put_be64(head, seq);
	memcpy(head + 8, blob, 32);
	ar_put_be64(head + 40, o->received_us);
	head[48] = (uint8_t)o->via;
	sl_strbuf_put(out, head, sizeof head);
	put_short_str(out, o->peer);
	put_short_str(out, o->addr);
	struct sl_journal_record meta = *r;
	meta.message = (const uint8_t *)"";
	meta.message_len = 0;
	struct sl_strbuf frame;
	sl_strbuf_init(&frame);
	char err[128];
	/* r was decoded from a valid record (or built by the archive): it encodes */
	if (sl_journal_encode(&meta, &frame, err, sizeof err) == 0)
		sl_strbuf_put(out, frame.s + SL_JOURNAL_HEADER_LEN, frame.len - SL_JOURNAL_HEADER_LEN);
	sl_strbuf_free(&frame);
}

static int get_short_str(const uint8_t **p, const uint8_t *end, char *out, size_t outlen)
{
	if (*p >= end || (size_t)(end - *p) < 1u + **p || **p >= outlen)
		return -1;
	size_t n = **p;
	memcpy(out, *p + 1, n);
	out[n] = '\0';
	*p += 1 + n;
	return 0;
}

int ar_copy_decode(const uint8_t *v, size_t n, struct ar_copy *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	const uint8_t *p = v + 49, *end = v + n;
	if (n < 49 || get_short_str(&p, end, out->origin.peer, sizeof out->origin.peer) < 0 ||
	    get_short_str(&p, end, out->origin.addr, sizeof out->origin.addr) < 0) {
		snprintf(err, errlen, "copy record too short");
		return -1;
	}
	out->seq = ar_get_be64(v);
	memcpy(out->blob, v + 8, 32);
	out->origin.received_us = ar_get_be64(v + 40);
	out->origin.via = v[48];
	return sl_journal_decode(p, (size_t)(end - p), &out->d, err, errlen);
}

void ar_copy_free(struct ar_copy *c)
{
	sl_journal_decoded_free(&c->d);
}

void ar_json_strings(struct sl_strbuf *b, const char *const *v, size_t n)
{
	sl_strbuf_putc(b, '[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			sl_strbuf_putc(b, ',');
		sl_json_str(b, v[i]);
	}
	sl_strbuf_putc(b, ']');
}
