/* A stored copy (the copies family's value): what the record claimed and what the
 * archive itself observed when it arrived.
 *
 *   be64 seq | blob SHA-256 (32) | be64 received_us | u8 via | u8 n, peer (n bytes)
 *   | u8 n, address (n bytes) | the record's payload without its message
 *
 * The record's fields (time, source, source_kind, verdict, rules, client...) are the
 * sender's claims; `origin` is the archive's own knowledge: when it received the copy,
 * over which listener, from which authenticated peer at which address. */
#ifndef ARCHIVE_COPY_H
#define ARCHIVE_COPY_H

#include <stddef.h>
#include <stdint.h>

#include "journal.h"

enum ar_via {
	AR_VIA_UNKNOWN = 0,
	AR_VIA_JOURNAL = 1,  /* journal protocol, mutual TLS */
	AR_VIA_SMTP = 2,     /* SMTP/LMTP after STARTTLS with a client certificate */
	AR_VIA_IMPORT = 3,   /* sluice-archive import by a local user */
};

struct ar_origin {
	uint64_t received_us;
	enum ar_via via;
	char peer[256];      /* certificate name, or the local user for import */
	char addr[80];       /* the peer's socket address ("" for import) */
};

/* received_us = now */
void ar_origin_now(struct ar_origin *o);
const char *ar_via_name(enum ar_via v);

struct ar_copy {
	uint64_t seq;
	uint8_t blob[32];
	struct ar_origin origin;
	struct sl_journal_decoded d; /* the claims */
};

/* Append the value of a copy of record r (its message left out) to out. */
void ar_copy_encode(struct sl_strbuf *out, uint64_t seq, const uint8_t blob[32],
	const struct ar_origin *o, const struct sl_journal_record *r);
/* 0, or -1 with a reason; on success free with ar_copy_free. */
int ar_copy_decode(const uint8_t *v, size_t n, struct ar_copy *out, char *err, size_t errlen);
void ar_copy_free(struct ar_copy *c);
/* A JSON array of strings (a copy's recipients, its rules) appended to b. */
void ar_json_strings(struct sl_strbuf *b, const char *const *v, size_t n);

#endif
