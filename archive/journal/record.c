/* Journal frames and record payloads: encoding, validation, decoding. */
#include "journal.h"

#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

uint32_t sl_journal_frame_crc(const uint8_t hdr[SL_JOURNAL_HEADER_LEN],
	const uint8_t *payload, size_t len)
{
	uLong c = crc32(0L, Z_NULL, 0);
	c = crc32(c, hdr, 12);
	/* zlib takes uInt lengths; payloads are capped far below 4 GiB */
	if (len)
		c = crc32(c, payload, (uInt)len);
	return (uint32_t)c;
}

void sl_journal_header_build(uint8_t hdr[SL_JOURNAL_HEADER_LEN], int type,
	const uint8_t *payload, uint32_t len)
{
	memcpy(hdr, SL_JOURNAL_MAGIC, 4);
	hdr[4] = SL_JOURNAL_VERSION;
	hdr[5] = (uint8_t)type;
	hdr[6] = hdr[7] = 0;
	put_be32(hdr + 8, len);
	put_be32(hdr + 12, sl_journal_frame_crc(hdr, payload, len));
}

int sl_journal_header_parse(const uint8_t hdr[SL_JOURNAL_HEADER_LEN], int *type,
	uint32_t *len, uint32_t *crc, char *err, size_t errlen)
{
	if (memcmp(hdr, SL_JOURNAL_MAGIC, 4) != 0)
		return fail(err, errlen, "bad magic (not a journal frame)");
	if (hdr[4] != SL_JOURNAL_VERSION)
		return fail(err, errlen, "unsupported version %u (this archive speaks %u)",
			hdr[4], SL_JOURNAL_VERSION);
	if (hdr[5] < SL_JFRAME_RECORD || hdr[5] > SL_JFRAME_REFUSE)
		return fail(err, errlen, "unknown frame type %u", hdr[5]);
	if (hdr[6] || hdr[7])
		return fail(err, errlen, "reserved header bytes are not zero");
	*type = hdr[5];
	*len = get_be32(hdr + 8);
	*crc = get_be32(hdr + 12);
	if (*len > SL_JOURNAL_MAX_PAYLOAD)
		return fail(err, errlen, "payload of %u bytes exceeds the %u-byte limit",
			*len, SL_JOURNAL_MAX_PAYLOAD);
	return 0;
}

/* ---- encoding ---- */

static void put_field(struct sl_strbuf *b, uint16_t tag, const void *p, size_t n)
{
	uint8_t h[6];
	put_be16(h, tag);
	put_be32(h + 2, (uint32_t)n);
	sl_strbuf_put(b, h, 6);
	sl_strbuf_put(b, p, n);
}

static int check_str(const char *what, const char *s, char *err, size_t errlen)
{
	if (s && strlen(s) > SL_JOURNAL_MAX_FIELD)
		return fail(err, errlen, "%s longer than %d bytes", what, SL_JOURNAL_MAX_FIELD);
	return 0;
}

static void put_str(struct sl_strbuf *b, uint16_t tag, const char *s)
{
	if (s)
		put_field(b, tag, s, strlen(s));
}

int sl_journal_encode(const struct sl_journal_record *r, struct sl_strbuf *out,
	char *err, size_t errlen)
{
	if (!r->source || !*r->source)
		return fail(err, errlen, "record has no source");
	if (!r->message)
		return fail(err, errlen, "record has no message");
	if (r->nrcpt > SL_JOURNAL_MAX_RCPTS)
		return fail(err, errlen, "more than %d recipients", SL_JOURNAL_MAX_RCPTS);
	if (r->nrules > SL_JOURNAL_MAX_RULES)
		return fail(err, errlen, "more than %d rules", SL_JOURNAL_MAX_RULES);
	if (check_str("source", r->source, err, errlen) ||
	    check_str("mail_from", r->mail_from, err, errlen) ||
	    check_str("client", r->client, err, errlen) ||
	    check_str("server", r->server, err, errlen) ||
	    check_str("helo", r->helo, err, errlen) ||
	    check_str("verdict", r->verdict, err, errlen) ||
	    check_str("txn_id", r->txn_id, err, errlen) ||
	    check_str("bundle", r->bundle, err, errlen))
		return -1;
	for (size_t i = 0; i < r->nrcpt; i++)
		if (!r->rcpt[i] || check_str("recipient", r->rcpt[i], err, errlen))
			return r->rcpt[i] ? -1 : fail(err, errlen, "recipient %zu is NULL", i);
	for (size_t i = 0; i < r->nrules; i++)
		if (!r->rules[i] || check_str("rule", r->rules[i], err, errlen))
			return r->rules[i] ? -1 : fail(err, errlen, "rule %zu is NULL", i);

	struct sl_strbuf p;
	sl_strbuf_init(&p);
	uint8_t t[8];
	for (int i = 0; i < 8; i++)
		t[i] = (uint8_t)(r->time_us >> (56 - 8 * i));
	put_field(&p, SL_JTAG_TIME, t, 8);
	uint8_t kind = (uint8_t)r->source_kind, dir = (uint8_t)r->direction;
	put_field(&p, SL_JTAG_SOURCE_KIND, &kind, 1);
	put_str(&p, SL_JTAG_SOURCE, r->source);
	put_field(&p, SL_JTAG_DIRECTION, &dir, 1);
	put_str(&p, SL_JTAG_MAIL_FROM, r->mail_from);
	for (size_t i = 0; i < r->nrcpt; i++)
		put_str(&p, SL_JTAG_RCPT, r->rcpt[i]);
	put_str(&p, SL_JTAG_CLIENT, r->client);
	put_str(&p, SL_JTAG_SERVER, r->server);
	put_str(&p, SL_JTAG_HELO, r->helo);
	put_str(&p, SL_JTAG_VERDICT, r->verdict);
	for (size_t i = 0; i < r->nrules; i++)
		put_str(&p, SL_JTAG_RULE, r->rules[i]);
	put_str(&p, SL_JTAG_TXN_ID, r->txn_id);
	put_field(&p, SL_JTAG_MESSAGE, r->message, r->message_len);
	put_str(&p, SL_JTAG_BUNDLE, r->bundle);

	if (p.len > SL_JOURNAL_MAX_PAYLOAD) {
		sl_strbuf_free(&p);
		return fail(err, errlen, "record of %zu bytes exceeds the %u-byte limit",
			p.len, SL_JOURNAL_MAX_PAYLOAD);
	}
	uint8_t hdr[SL_JOURNAL_HEADER_LEN];
	sl_journal_header_build(hdr, SL_JFRAME_RECORD, (const uint8_t *)p.s, (uint32_t)p.len);
	sl_strbuf_put(out, hdr, sizeof hdr);
	sl_strbuf_put(out, p.s, p.len);
	sl_strbuf_free(&p);
	return 0;
}

/* ---- decoding ---- */

struct field {
	uint16_t tag;
	const uint8_t *p;
	uint32_t n;
};

/* Walks the fields of a payload; returns 1 with f set, 0 at the end, -1 when a field
 * runs past the end. */
static int next_field(const uint8_t *p, size_t len, size_t *off, struct field *f)
{
	if (*off == len)
		return 0;
	if (len - *off < 6)
		return -1;
	f->tag = get_be16(p + *off);
	f->n = get_be32(p + *off + 2);
	if (f->n > len - *off - 6)
		return -1;
	f->p = p + *off + 6;
	*off += 6 + (size_t)f->n;
	return 1;
}

static const char *tag_name(uint16_t tag)
{
	switch (tag) {
	case SL_JTAG_TIME: return "time";
	case SL_JTAG_SOURCE_KIND: return "source_kind";
	case SL_JTAG_SOURCE: return "source";
	case SL_JTAG_DIRECTION: return "direction";
	case SL_JTAG_MAIL_FROM: return "mail_from";
	case SL_JTAG_RCPT: return "rcpt";
	case SL_JTAG_CLIENT: return "client";
	case SL_JTAG_SERVER: return "server";
	case SL_JTAG_HELO: return "helo";
	case SL_JTAG_VERDICT: return "verdict";
	case SL_JTAG_RULE: return "rule";
	case SL_JTAG_TXN_ID: return "txn_id";
	case SL_JTAG_MESSAGE: return "message";
	case SL_JTAG_BUNDLE: return "bundle";
	}
	return NULL;
}

/* Copy a string field into the arena as a NUL-terminated string. */
static char *arena_str(char **cursor, const struct field *f)
{
	char *s = *cursor;
	memcpy(s, f->p, f->n);
	s[f->n] = '\0';
	*cursor += f->n + 1;
	return s;
}

int sl_journal_decode(const uint8_t *payload, size_t len, struct sl_journal_decoded *out,
	char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	SHA256(payload, len, out->id);

	/* Pass 1: validate every field, count repeated ones, size the arena. */
	size_t off = 0, nrcpt = 0, nrules = 0, strbytes = 0;
	unsigned seen[SL_JTAG_MESSAGE + 1] = { 0 }, bundles = 0;
	struct field f;
	int r;
	while ((r = next_field(payload, len, &off, &f)) == 1) {
		const char *name = tag_name(f.tag);
		if (f.tag == SL_JTAG_BUNDLE) {
			if (++bundles > 1)
				return fail(err, errlen, "field bundle appears twice");
			if (f.n > SL_JOURNAL_MAX_FIELD || memchr(f.p, 0, f.n))
				return fail(err, errlen, "bad field bundle (too long, or a NUL byte)");
			strbytes += f.n + 1;
			continue;
		}
		if (!name) {
			if (f.tag >= 0x8000)
				continue; /* optional extension */
			return fail(err, errlen, "unknown required field tag %u at byte %zu",
				f.tag, off - f.n - 6);
		}
		seen[f.tag]++;
		if (f.tag == SL_JTAG_RCPT)
			nrcpt++;
		else if (f.tag == SL_JTAG_RULE)
			nrules++;
		else if (seen[f.tag] > 1)
			return fail(err, errlen, "field %s appears twice", name);
		switch (f.tag) {
		case SL_JTAG_TIME:
			if (f.n != 8)
				return fail(err, errlen, "time field is %u bytes, want 8", f.n);
			break;
		case SL_JTAG_SOURCE_KIND:
			if (f.n != 1 || f.p[0] > SL_JSOURCE_IMPORT)
				return fail(err, errlen, "bad source_kind");
			break;
		case SL_JTAG_DIRECTION:
			if (f.n != 1 || f.p[0] > 3)
				return fail(err, errlen, "bad direction");
			break;
		case SL_JTAG_MESSAGE:
			break; /* not copied: rec.message points into the payload */
		default:
			if (f.n > SL_JOURNAL_MAX_FIELD)
				return fail(err, errlen, "field %s longer than %d bytes", name,
					SL_JOURNAL_MAX_FIELD);
			if (memchr(f.p, '\0', f.n))
				return fail(err, errlen, "field %s contains a NUL byte", name);
			strbytes += f.n + 1;
		}
	}
	if (r < 0)
		return fail(err, errlen, "field at byte %zu runs past the end of the payload", off);
	if (!seen[SL_JTAG_TIME])
		return fail(err, errlen, "record has no time");
	if (!seen[SL_JTAG_SOURCE])
		return fail(err, errlen, "record has no source");
	if (!seen[SL_JTAG_MESSAGE])
		return fail(err, errlen, "record has no message");
	if (nrcpt > SL_JOURNAL_MAX_RCPTS)
		return fail(err, errlen, "more than %d recipients", SL_JOURNAL_MAX_RCPTS);
	if (nrules > SL_JOURNAL_MAX_RULES)
		return fail(err, errlen, "more than %d rules", SL_JOURNAL_MAX_RULES);

	/* Pass 2: copy into one arena: pointer arrays first, then strings. */
	size_t ptrbytes = (nrcpt + nrules) * sizeof(char *);
	out->arena = malloc(ptrbytes + strbytes + 1);
	if (!out->arena)
		return fail(err, errlen, "out of memory");
	const char **rcpt = (const char **)(void *)out->arena;
	const char **rules = rcpt + nrcpt;
	char *cursor = out->arena + ptrbytes;
	struct sl_journal_record *rec = &out->rec;
	off = 0;
	while (next_field(payload, len, &off, &f) == 1) {
		switch (f.tag) {
		case SL_JTAG_TIME: {
			uint64_t t = 0;
			for (int i = 0; i < 8; i++)
				t = t << 8 | f.p[i];
			rec->time_us = t;
			break;
		}
		case SL_JTAG_SOURCE_KIND: rec->source_kind = f.p[0]; break;
		case SL_JTAG_DIRECTION: rec->direction = f.p[0]; break;
		case SL_JTAG_SOURCE: rec->source = arena_str(&cursor, &f); break;
		case SL_JTAG_MAIL_FROM: rec->mail_from = arena_str(&cursor, &f); break;
		case SL_JTAG_CLIENT: rec->client = arena_str(&cursor, &f); break;
		case SL_JTAG_SERVER: rec->server = arena_str(&cursor, &f); break;
		case SL_JTAG_HELO: rec->helo = arena_str(&cursor, &f); break;
		case SL_JTAG_VERDICT: rec->verdict = arena_str(&cursor, &f); break;
		case SL_JTAG_TXN_ID: rec->txn_id = arena_str(&cursor, &f); break;
		case SL_JTAG_BUNDLE: rec->bundle = arena_str(&cursor, &f); break;
		case SL_JTAG_RCPT: rcpt[rec->nrcpt++] = arena_str(&cursor, &f); break;
		case SL_JTAG_RULE: rules[rec->nrules++] = arena_str(&cursor, &f); break;
		case SL_JTAG_MESSAGE:
			rec->message = f.p;
			rec->message_len = f.n;
			break;
		default:
			break;
		}
	}
	rec->rcpt = rcpt;
	rec->rules = rules;
	return 0;
}

void sl_journal_decoded_free(struct sl_journal_decoded *d)
{
	free(d->arena);
	d->arena = NULL;
}

int sl_journal_decode_frame(const uint8_t *frame, size_t len,
	struct sl_journal_decoded *out, char *err, size_t errlen)
{
	int type;
	uint32_t plen, crc;
	memset(out, 0, sizeof *out);
	if (len < SL_JOURNAL_HEADER_LEN)
		return fail(err, errlen, "frame shorter than its header");
	if (sl_journal_header_parse(frame, &type, &plen, &crc, err, errlen) < 0)
		return -1;
	if (type != SL_JFRAME_RECORD)
		return fail(err, errlen, "frame type %d is not a record", type);
	if (plen != len - SL_JOURNAL_HEADER_LEN)
		return fail(err, errlen, "frame length %u does not match its %zu payload bytes",
			plen, len - SL_JOURNAL_HEADER_LEN);
	if (sl_journal_frame_crc(frame, frame + SL_JOURNAL_HEADER_LEN, plen) != crc)
		return fail(err, errlen, "CRC mismatch");
	return sl_journal_decode(frame + SL_JOURNAL_HEADER_LEN, plen, out, err, errlen);
}

/* ---- replies ---- */

void sl_journal_encode_reply(struct sl_strbuf *out, int type, const uint8_t id[32],
	int status, const char *reason)
{
	size_t rl = reason ? strlen(reason) : 0;
	if (rl > SL_JOURNAL_MAX_FIELD)
		rl = SL_JOURNAL_MAX_FIELD;
	uint8_t payload[32 + 1 + SL_JOURNAL_MAX_FIELD];
	memcpy(payload, id, 32);
	payload[32] = (uint8_t)status;
	if (rl)
		memcpy(payload + 33, reason, rl);
	uint8_t hdr[SL_JOURNAL_HEADER_LEN];
	sl_journal_header_build(hdr, type, payload, (uint32_t)(33 + rl));
	sl_strbuf_put(out, hdr, sizeof hdr);
	sl_strbuf_put(out, payload, 33 + rl);
}

int sl_journal_decode_reply(const uint8_t *payload, size_t len, uint8_t id[32],
	int *status, char *reason, size_t reasonlen)
{
	if (len < 33 || len > 33 + SL_JOURNAL_MAX_FIELD)
		return -1;
	memcpy(id, payload, 32);
	*status = payload[32];
	if (reason && reasonlen) {
		size_t n = len - 33 < reasonlen - 1 ? len - 33 : reasonlen - 1;
		memcpy(reason, payload + 33, n);
		reason[n] = '\0';
	}
	return 0;
}
