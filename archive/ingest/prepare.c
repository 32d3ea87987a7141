/* Ingest, stage 1: decode, hash, analyse (see ingest.h). */
#include "ingest.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void analyse(struct ar_store *s, struct ar_prepared *p)
{
	const struct sl_journal_record *r = &p->rec.rec;
	SHA256(r->message, r->message_len, p->blob);
	/* blobdoc has a key for every stored message (written in the same batch) in small
	 * blocks; blobs has 1 MiB blocks (store.c) */
	if (ar_store_has(s, AR_CF_BLOBDOC, p->blob, 32) == 1)
		return; /* a copy of a message the store has: envelope only (on a read error,
			 * analysed anyway; the committer asks again) */
	ar_analyse_message(r->message, r->message_len, &p->doc);
	ar_doc_finish(&p->doc);
	ar_skeleton_build(r->message, r->message_len, p->doc.refs, p->doc.nrefs, &p->skeleton);
	p->analysed = true;
}

static void init(struct ar_prepared *p)
{
	memset(p, 0, sizeof *p);
	ar_doc_init(&p->doc);
	sl_strbuf_init(&p->skeleton);
	p->status = AR_INGEST_PENDING;
}

void ar_prepare(struct ar_store *s, uint8_t *buf, size_t off, size_t len,
	const struct ar_origin *origin, struct ar_prepared *p)
{
	init(p);
	p->buf = buf;
	p->origin = *origin;
	if (sl_journal_decode(buf + off, len, &p->rec, p->reason, sizeof p->reason) < 0) {
		p->status = AR_INGEST_REFUSED;
		return;
	}
	if (p->rec.rec.message_len == 0) {
		p->status = AR_INGEST_REFUSED;
		snprintf(p->reason, sizeof p->reason, "empty message");
		return;
	}
	analyse(s, p);
}

void ar_prepare_record(struct ar_store *s, const struct sl_journal_record *r,
	const struct ar_origin *origin, struct ar_prepared *p)
{
	struct sl_strbuf frame;
	sl_strbuf_init(&frame);
	char err[256];
	if (sl_journal_encode(r, &frame, err, sizeof err) < 0) {
		init(p);
		p->status = AR_INGEST_REFUSED;
		snprintf(p->reason, sizeof p->reason, "%s", err);
		sl_strbuf_free(&frame);
	} else {
		/* the encoded frame becomes the prepared record's payload buffer */
		ar_prepare(s, (uint8_t *)frame.s, SL_JOURNAL_HEADER_LEN,
			frame.len - SL_JOURNAL_HEADER_LEN, origin, p);
	}
}

void ar_prepared_free(struct ar_prepared *p)
{
	sl_journal_decoded_free(&p->rec);
	free(p->buf);
	p->buf = NULL;
	ar_doc_free(&p->doc);
	sl_strbuf_free(&p->skeleton);
}
