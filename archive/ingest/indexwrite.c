/* Writing a document's index entries: postings, date order, summary. Shared by ingest
 * (the committer) and reindex, so both produce the same index. */
#include <string.h>

#include "ingest.h"
#include "summary.h"

static void put_postings(struct ar_store *s, rocksdb_writebatch_t *wb,
	const struct ar_terms *t, const uint8_t dockey[AR_DOCKEY_LEN])
{
	struct sl_strbuf key, val;
	sl_strbuf_init(&key);
	sl_strbuf_init(&val);
	size_t cursor = 0;
	struct ar_term_group g;
	while (ar_terms_next(t, &cursor, &g)) {
		sl_strbuf_clear(&key);
		sl_strbuf_putc(&key, (char)g.field);
		sl_strbuf_put(&key, g.term, g.term_len);
		sl_strbuf_putc(&key, '\0');
		sl_strbuf_put(&key, dockey, AR_DOCKEY_LEN);
		sl_strbuf_clear(&val);
		if (ar_field_positional(g.field)) {
			uint32_t prev = 0;
			for (size_t i = 0; i < g.count; i++) {
				ar_varint_put(&val, g.positions[i] - prev);
				prev = g.positions[i];
			}
		}
		rocksdb_writebatch_put_cf(wb, s->cf[AR_CF_POSTINGS], key.s, key.len,
			val.s ? val.s : "", val.len);
	}
	sl_strbuf_free(&key);
	sl_strbuf_free(&val);
}

void ar_index_document(struct ar_store *s, rocksdb_writebatch_t *wb, uint32_t docid,
	const uint8_t blob[32], const struct ar_doc *doc, int64_t date, uint64_t size,
	uint32_t ncopies, uint8_t dockey[AR_DOCKEY_LEN], struct sl_strbuf *summary)
{
	ar_dockey(dockey, date, docid);
	struct ar_summary sum = {
		.docid = docid, .date = date, .size = size, .ncopies = ncopies,
		.flags = doc->has_attachment ? AR_SUMMARY_FLAG_ATTACHMENT : 0,
		.from = doc->from.s, .to = doc->to.s, .subject = doc->subject.s,
		.message_id = doc->message_id.s,
	};
	memcpy(sum.dockey, dockey, AR_DOCKEY_LEN);
	memcpy(sum.blob, blob, 32);
	ar_summary_encode(&sum, summary);
	rocksdb_writebatch_put_cf(wb, s->cf[AR_CF_BYDATE], (const char *)dockey, AR_DOCKEY_LEN,
		"", 0);
	put_postings(s, wb, &doc->terms, dockey);
}

static const char *direction_word(int d)
{
	static const char *const names[] = { "unknown", "inbound", "outbound", "internal" };
	return d >= 0 && d <= 3 ? names[d] : "unknown";
}

void ar_index_copy(struct ar_store *s, rocksdb_writebatch_t *wb,
	const struct sl_journal_record *r, const uint8_t dockey[AR_DOCKEY_LEN])
{
	struct ar_terms t;
	ar_terms_init(&t);
	if (r->mail_from && *r->mail_from)
		ar_terms_add_address(&t, AR_F_FROM, r->mail_from, NULL);
	for (size_t i = 0; i < r->nrcpt; i++)
		ar_terms_add_address(&t, AR_F_TO, r->rcpt[i], NULL);
	for (size_t i = 0; i < r->nrules; i++)
		ar_terms_add_folded(&t, AR_F_RULE, r->rules[i], strlen(r->rules[i]));
	const char *dir = direction_word(r->direction);
	ar_terms_add(&t, AR_F_DIRECTION, dir, strlen(dir));
	ar_terms_add_folded(&t, AR_F_SOURCE, r->source, strlen(r->source));
	ar_terms_finish(&t);
	put_postings(s, wb, &t, dockey);
	ar_terms_free(&t);
}
