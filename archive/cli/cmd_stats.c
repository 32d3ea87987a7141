/* stats, reindex, audit: the archive about itself. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "seal.h"
#include "purged.h"
#include "verify.h"

/* Count keys of a family by iteration (exact; the index check needs exact). */
static uint64_t count_keys(struct ar_store *s, enum ar_cf cf)
{
	rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf[cf]);
	uint64_t n = 0;
	for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it))
		n++;
	rocksdb_iter_destroy(it);
	return n;
}

static double ratio(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : 0.0;
}

int cmd_stats(int argc, char **argv)
{
	const char *data;
	bool json;
	if (cli_data_json_args(argc, argv, &data, &json) < 0) {
		fprintf(stderr, "usage: sluice-archive stats --data DIR [--json]\n");
		return 2;
	}
	struct ar_store *s = cli_open(data, false, false);
	if (!s)
		return 1;
	const struct ar_counters *c = &s->counters;
	uint64_t blobs_stored = ar_store_cf_bytes(s, AR_CF_BLOBS);
	uint64_t parts_stored = ar_store_cf_bytes(s, AR_CF_PARTS);
	uint64_t index_stored = ar_store_cf_bytes(s, AR_CF_POSTINGS);
	uint64_t disk = ar_store_dir_bytes(data);
	/* the index as it is, against the store as it is: documents in date order and
	 * summaries must match the documents stored */
	uint64_t docs_indexed = count_keys(s, AR_CF_BYDATE);
	uint64_t summaries = count_keys(s, AR_CF_DOCS);
	uint64_t audit = count_keys(s, AR_CF_AUDIT);
	uint64_t lag = c->next_seq - c->indexed_seq;
	bool stale = c->index_version != AR_INDEX_VERSION;
	/* documents a purge deleted are not due in the index */
	struct ar_purged purged;
	ar_purged_load(s, &purged);
	uint64_t live = c->next_docid - (purged.messages < c->next_docid ? purged.messages : c->next_docid);
	ar_purged_free(&purged);
	uint64_t docs_missing = live > docs_indexed ? live - docs_indexed : 0;
	/* copies acknowledged but not yet in a written posting block are the indexer's
	 * lag (indexer.h): a running server writes them within AR_INDEX_DELAY_MS, a
	 * stopped one when it next starts */
	const char *state = stale ? "stale (index format changed: run reindex)" :
			    (docs_missing || summaries != live) ? "behind (run reindex)" :
			    lag ? "indexing" : "current";
	if (json) {
		printf("{\"messages\":%llu,\"copies\":%llu,\"distinct_blobs\":%llu,"
		       "\"duplicates_received\":%llu,\"refused\":%llu,\"raw_bytes\":%llu,"
		       "\"distinct_raw_bytes\":%llu,\"parts\":%llu,\"part_bytes\":%llu,"
		       "\"part_refs\":%llu,\"stored_message_bytes\":%llu,\"index_bytes\":%llu,"
		       "\"disk_bytes\":%llu,\"dedup_ratio\":%.3f,\"compression_ratio\":%.3f,"
		       "\"stored_per_raw\":%.4f,\"indexed_copies\":%llu,\"index_lag_copies\":%llu,"
		       "\"indexed_messages\":%llu,\"index_state\":\"%s\",\"audit_entries\":%llu}\n",
			(unsigned long long)c->next_docid, (unsigned long long)c->next_seq,
			(unsigned long long)c->next_docid, (unsigned long long)c->duplicates,
			(unsigned long long)c->refused, (unsigned long long)c->raw_bytes,
			(unsigned long long)c->blob_bytes, (unsigned long long)c->parts,
			(unsigned long long)c->part_bytes, (unsigned long long)c->part_refs,
			(unsigned long long)(blobs_stored + parts_stored),
			(unsigned long long)index_stored, (unsigned long long)disk,
			ratio(c->raw_bytes, c->blob_bytes),
			ratio(c->blob_bytes, blobs_stored + parts_stored),
			ratio(disk, c->raw_bytes), (unsigned long long)c->indexed_seq,
			(unsigned long long)lag, (unsigned long long)docs_indexed, state,
			(unsigned long long)audit);
	} else {
		printf("messages (distinct)   %llu\n", (unsigned long long)c->next_docid);
		printf("copies                %llu\n", (unsigned long long)c->next_seq);
		printf("duplicate records     %llu (received again, stored once)\n",
			(unsigned long long)c->duplicates);
		printf("refused records       %llu\n", (unsigned long long)c->refused);
		printf("raw bytes (copies)    %llu\n", (unsigned long long)c->raw_bytes);
		printf("raw bytes (distinct)  %llu\n", (unsigned long long)c->blob_bytes);
		printf("attachment parts      %llu distinct, %llu bytes, %llu references\n",
			(unsigned long long)c->parts, (unsigned long long)c->part_bytes,
			(unsigned long long)c->part_refs);
		/* RocksDB sizes SST files only: a young archive's mail is still in the WAL */
		bool flushed = blobs_stored + parts_stored > 0 || c->blob_bytes == 0;
		if (flushed)
			printf("stored message bytes  %llu (blobs + parts, compressed, in SST files)\n",
				(unsigned long long)(blobs_stored + parts_stored));
		else
			printf("stored message bytes  not measured yet: the mail is still in the write-ahead log\n"
			       "                      (sizes count once RocksDB has flushed it to SST files)\n");
		printf("index bytes           %llu\n", (unsigned long long)index_stored);
		printf("disk bytes            %llu (SST + WAL)\n", (unsigned long long)disk);
		printf("dedup ratio           %.3f (raw copies / distinct)\n",
			ratio(c->raw_bytes, c->blob_bytes));
		if (flushed)
			printf("compression ratio     %.3f (distinct raw / stored)\n",
				ratio(c->blob_bytes, blobs_stored + parts_stored));
		else
			printf("compression ratio     n/a (nothing flushed yet)\n");
		printf("disk per raw byte     %.4f\n", ratio(disk, c->raw_bytes));
		printf("index                 %s: %llu of %llu copies indexed (lag %llu), "
		       "%llu of %llu messages in date order, %llu summaries\n", state,
			(unsigned long long)c->indexed_seq, (unsigned long long)c->next_seq,
			(unsigned long long)lag, (unsigned long long)docs_indexed,
			(unsigned long long)c->next_docid, (unsigned long long)summaries);
		printf("audit entries         %llu\n", (unsigned long long)audit);
	}
	ar_store_close(s);
	return 0;
}

struct count_ctx {
	uint32_t n;
};

static void count_copy(void *ctx, const struct ar_copy *c)
{
	(void)c;
	((struct count_ctx *)ctx)->n++;
}

/* Rebuild every derived family (postings, bydate, docs) from blobs and copies, in
 * store order, so reindexed documents get the keys ingest gave them. */
int cli_reindex(struct ar_store *s)
{
	char err[512];
	struct ar_purged purged;
	if (ar_purged_load(s, &purged) < 0) {
		fprintf(stderr, "sluice-archive reindex: out of memory\n");
		return 1;
	}
	if (ar_store_reset_cf(s, AR_CF_POSTINGS, err, sizeof err) < 0 ||
	    ar_store_reset_cf(s, AR_CF_BYDATE, err, sizeof err) < 0 ||
	    ar_store_reset_cf(s, AR_CF_DOCS, err, sizeof err) < 0) {
		fprintf(stderr, "sluice-archive reindex: %s\n", err);
		ar_purged_free(&purged);
		return 1;
	}
	s->counters.indexed_seq = 0;
	s->counters.index_version = AR_INDEX_VERSION;
	uint8_t *dockeys = calloc(s->counters.next_docid + 1, AR_DOCKEY_LEN);
	bool *seen = calloc(s->counters.next_docid + 1, 1);
	rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
	struct ar_posting_sink sink = { s, wb };
	bool seal_failed = false;
	struct ar_postblock pb;
	ar_postblock_init(&pb);
	uint64_t block_id = 0; /* the first copy sequence of the block being built */
	size_t block_copies = 0;
	rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf[AR_CF_SEQS]);
	uint64_t docs = 0, copies = 0, errors = 0;
	int rc = 0;
	for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
		size_t vl, cl, il, kl;
		const char *id = rocksdb_iter_value(it, &vl);
		const char *k = rocksdb_iter_key(it, &kl);
		char *e = NULL;
		char *cv = vl == 64 ? ar_store_get(s, AR_CF_COPIES, id, 32, &cl, &e) : NULL;
		free(e);
		if (!cv && kl == 8 && ar_purged_link(&purged, ar_get_be64((const uint8_t *)k)))
			continue; /* deleted by purge */
		struct ar_copy cp;
		if (!cv || ar_copy_decode((uint8_t *)cv, cl, &cp, err, sizeof err) < 0) {
			fprintf(stderr, "sluice-archive reindex: damaged copy record: %s\n", cv ? err : "missing");
			free(cv);
			errors++;
			continue;
		}
		free(cv);
		char *docid_v = ar_store_get(s, AR_CF_BLOBDOC, cp.blob, 32, &il, &e);
		free(e);
		uint32_t docid = docid_v && il == 4 ? ar_get_be32((uint8_t *)docid_v) : UINT32_MAX;
		free(docid_v);
		if (docid >= s->counters.next_docid) {
			fprintf(stderr, "sluice-archive reindex: copy %llu has no document\n",
				(unsigned long long)cp.seq);
			ar_copy_free(&cp);
			errors++;
			continue;
		}
		if (!seen[docid]) {
			struct sl_strbuf raw, summary;
			sl_strbuf_init(&raw);
			sl_strbuf_init(&summary);
			if (ar_message_load(s, cp.blob, &raw, err, sizeof err) < 0) {
				fprintf(stderr, "sluice-archive reindex: message %u: %s\n", docid, err);
				errors++;
			}
			struct ar_doc doc;
			ar_doc_init(&doc);
			ar_analyse_message((const uint8_t *)raw.s, raw.len, &doc);
			ar_doc_finish(&doc);
			struct count_ctx cc = { 0 };
			ar_doc_copies(s, cp.blob, count_copy, &cc);
			int64_t date = doc.has_date ? doc.date : (int64_t)(cp.d.rec.time_us / 1000000);
			if (ar_postblock_empty(&pb))
				block_id = cp.seq;
			ar_index_document(s, wb, &pb, docid, cp.blob, &doc, date, raw.len, cc.n,
				dockeys + (size_t)docid * AR_DOCKEY_LEN, &summary);
			uint8_t idb[4];
			ar_put_be32(idb, docid);
			if (ar_put(s, wb, AR_CF_DOCS, idb, 4, summary.s, summary.len) < 0)
				seal_failed = true;
			seen[docid] = true;
			docs++;
			ar_doc_free(&doc);
			sl_strbuf_free(&raw);
			sl_strbuf_free(&summary);
		}
		if (ar_postblock_empty(&pb))
			block_id = cp.seq;
		ar_index_copy(&pb, &cp.d.rec, dockeys + (size_t)docid * AR_DOCKEY_LEN);
		ar_copy_free(&cp);
		copies++;
		s->counters.indexed_seq = cp.seq + 1;
		if (++block_copies >= 1024 || rocksdb_writebatch_count(wb) > 20000) {
			block_copies = 0;
			ar_postblock_write(&pb, ar_posting_put, &sink, block_id, &seal_failed);
			ar_counters_put(s, wb);
			ar_indexed_put(s, wb, s->counters.indexed_seq);
			if (seal_failed)
				snprintf(err, sizeof err, "a value could not be encrypted");
			if (seal_failed || ar_store_write(s, wb, false, err, sizeof err) < 0) {
				rc = 1;
				break;
			}
			rocksdb_writebatch_clear(wb);
		}
	}
	rocksdb_iter_destroy(it);
	if (!rc && !errors) /* every copy in store order seen (purged ones have nothing to index) */
		s->counters.indexed_seq = s->counters.next_seq;
	ar_postblock_write(&pb, ar_posting_put, &sink, block_id, &seal_failed);
	ar_postblock_free(&pb);
	ar_counters_put(s, wb);
	ar_indexed_put(s, wb, s->counters.indexed_seq);
	if (!rc && seal_failed)
		snprintf(err, sizeof err, "a value could not be encrypted");
	if (rc || seal_failed || ar_store_write(s, wb, true, err, sizeof err) < 0) {
		fprintf(stderr, "sluice-archive reindex: %s\n", err);
		rc = 1;
	}
	rocksdb_writebatch_destroy(wb);
	printf("reindexed %llu messages, %llu copies, %llu errors\n", (unsigned long long)docs,
		(unsigned long long)copies, (unsigned long long)errors);
	char detail[128];
	snprintf(detail, sizeof detail, "\"messages\":%llu,\"copies\":%llu",
		(unsigned long long)docs, (unsigned long long)copies);
	if (cli_audit(s, "reindex", detail) < 0)
		rc = 1;
	free(dockeys);
	free(seen);
	ar_purged_free(&purged);
	return rc || errors ? 1 : 0;
}

int cmd_reindex(int argc, char **argv)
{
	const char *data = NULL;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--data") && i + 1 < argc)
			data = argv[++i];
	if (!data) {
		fprintf(stderr, "usage: sluice-archive reindex --data DIR\n");
		return 2;
	}
	struct ar_store *s = cli_open(data, true, false);
	if (!s)
		return 1;
	int rc = cli_reindex(s);
	ar_store_close(s);
	return rc;
}

static void print_entry(void *ctx, const char *entry, size_t len)
{
	(void)ctx;
	printf("%.*s\n", (int)len, entry);
}

int cmd_audit(int argc, char **argv)
{
	const char *data = NULL;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--data") && i + 1 < argc)
			data = argv[++i];
	if (!data) {
		fprintf(stderr, "usage: sluice-archive audit --data DIR\n");
		return 2;
	}
	struct ar_store *s = cli_open(data, false, false);
	if (!s)
		return 1;
	/* reading the audit log is itself audited, before it is shown */
	if (cli_audit(s, "audit", NULL) < 0) {
		ar_store_close(s);
		return 1;
	}
	uint64_t damaged = ar_audit_each(s, print_entry, NULL);
	int rc = 0;
	if (damaged) {
		fprintf(stderr, "sluice-archive audit: %llu entries are damaged (run verify)\n",
			(unsigned long long)damaged);
		rc = 1;
	}
	ar_store_close(s);
	return rc;
}

static bool unhex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return false;
		out[i] = (uint8_t)v;
	}
	return true;
}

/* The chains, the checkpoints, every copy and message (store/verify.c); optionally,
 * that every record id listed in a file is stored. */
int cmd_verify(int argc, char **argv)
{
	const char *data = NULL, *records = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--data") && i + 1 < argc)
			data = argv[++i];
		else if (!strcmp(argv[i], "--records") && i + 1 < argc)
			records = argv[++i];
	}
	if (!data) {
		fprintf(stderr, "usage: sluice-archive verify --data DIR [--records FILE]\n");
		return 2;
	}
	struct ar_store *s = cli_open(data, false, false);
	if (!s)
		return 1;
	struct ar_verify_result v;
	ar_verify(s, &v);
	uint64_t checked = 0, missing = 0;
	if (records) {
		FILE *f = fopen(records, "r");
		char line[256];
		while (f && fgets(line, sizeof line, f)) {
			uint8_t id[32];
			if (strlen(line) < 64 || !unhex(line, id, 32))
				continue;
			checked++;
			if (ar_store_has(s, AR_CF_COPIES, id, 32) != 1)
				missing++;
		}
		if (f) {
			fclose(f);
		} else {
			fprintf(stderr, "verify: cannot read %s\n", records);
			v.damaged++;
		}
	}
	struct sl_strbuf out;
	sl_strbuf_init(&out);
	sl_strbuf_printf(&out, "{\"copies\":%llu,\"copies_counted\":%llu,\"purged\":%llu,"
		"\"messages\":%llu,\"audit_entries\":%llu,\"checkpoints\":%llu,\"damaged\":%llu,"
		"\"records_checked\":%llu,\"records_missing\":%llu,\"first_copy_break\":",
		(unsigned long long)v.copies, (unsigned long long)s->counters.next_seq,
		(unsigned long long)v.purged,
		(unsigned long long)v.messages, (unsigned long long)v.audit_entries,
		(unsigned long long)v.checkpoints, (unsigned long long)v.damaged,
		(unsigned long long)checked, (unsigned long long)missing);
	sl_json_str(&out, v.first_copy_break);
	sl_strbuf_puts(&out, ",\"first_audit_break\":");
	sl_json_str(&out, v.first_audit_break);
	sl_strbuf_puts(&out, "}");
	puts(out.s);
	sl_strbuf_free(&out);
	ar_store_close(s);
	return !v.damaged && !missing ? 0 : 1;
}
