/* Writing a document's index entries: postings (into a posting block the caller
 * writes), date order, summary. Shared by ingest (the committer) and reindex, so both
 * produce the same index. */
#include <string.h>

#include "ingest.h"
#include "seal.h"
#include "summary.h"

int ar_posting_put(void *ctx, uint8_t field, const char *term, size_t tl, uint64_t block_id,
	const void *val, size_t vlen)
{
	struct ar_posting_sink *ps = ctx;
	uint8_t key[1 + AR_TERM_MAC_LEN + 8];
	ar_term_key(ps->s, field, term, tl, key);
	ar_put_be64(key + 1 + AR_TERM_MAC_LEN, block_id);
	return ar_put(ps->s, ps->wb, AR_CF_POSTINGS, key, sizeof key, val, vlen);
}

void ar_index_document(struct ar_store *s, rocksdb_writebatch_t *wb, struct ar_postblock *pb,
	uint32_t docid, const uint8_t blob[32], const struct ar_doc *doc, int64_t date,
	uint64_t size, uint32_t ncopies, uint8_t dockey[AR_DOCKEY_LEN], struct sl_strbuf *summary)
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
	if (pb)
		ar_postblock_add(pb, &doc->terms, dockey);
}

static const char *direction_word(int d)
{
	static const char *const names[] = { "unknown", "inbound", "outbound", "internal" };
	return d >= 0 && d <= 3 ? names[d] : "unknown";
}

void ar_copy_terms(struct ar_terms *t, const struct sl_journal_record *r)
{
	ar_terms_init(t);
	if (r->mail_from && *r->mail_from)
		ar_terms_add_address(t, AR_F_FROM, r->mail_from, NULL);
	for (size_t i = 0; i < r->nrcpt; i++)
		ar_terms_add_address(t, AR_F_TO, r->rcpt[i], NULL);
	for (size_t i = 0; i < r->nrules; i++)
		ar_terms_add_folded(t, AR_F_RULE, r->rules[i], strlen(r->rules[i]));
	const char *dir = direction_word(r->direction);
	ar_terms_add(t, AR_F_DIRECTION, dir, strlen(dir));
	ar_terms_add_folded(t, AR_F_SOURCE, r->source, strlen(r->source));
	ar_terms_finish(t);
}

void ar_index_copy(struct ar_postblock *pb, const struct sl_journal_record *r,
	const uint8_t dockey[AR_DOCKEY_LEN])
{
	struct ar_terms t;
	ar_copy_terms(&t, r);
	ar_postblock_add(pb, &t, dockey);
	ar_terms_free(&t);
}
