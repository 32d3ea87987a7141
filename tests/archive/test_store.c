/* The store through the ingest path: record dedup, message dedup, attachment dedup,
 * refusals, counters that survive a reopen, and searches over what was stored. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cunit_run.h"
#include "ingest.h"
#include "keyfile.h"
#include "seal.h"
#include "search.h"

static char dir[] = "/tmp/sluice-store-test-XXXXXX";
static struct ar_store *st;
static struct ar_committer *cm;
static struct ar_keys keys;

static bool open_store_with(const struct ar_index_opts *o)
{
	char err[512];
	if (!keys.sign) {
		char path[64];
		snprintf(path, sizeof path, "/tmp/sluice-store-test-%d.key", (int)getpid());
		unlink(path);
		if (ar_keys_generate(path, err, sizeof err) < 0 ||
		    ar_keys_load(path, &keys, err, sizeof err) < 0) {
			fprintf(stderr, "key: %s\n", err);
			return false;
		}
		unlink(path);
	}
	st = ar_store_open(dir, AR_OPEN_CREATE, &keys, err, sizeof err);
	if (!st) {
		fprintf(stderr, "open %s: %s\n", dir, err);
		return false;
	}
	cm = ar_committer_start(st, o);
	return cm != NULL;
}

static bool open_store(void)
{
	return open_store_with(NULL);
}

static void close_store(void)
{
	ar_committer_stop(cm);
	ar_store_close(st);
}

/* Ingest one record; returns its status, *docid set. */
static int ingest(const char *msg, uint64_t t, const char *rcpt, const char *rule,
	uint32_t *docid)
{
	const char *rcpts[] = { rcpt };
	const char *rules[] = { rule };
	struct sl_journal_record r = {
		.time_us = t, .source_kind = SL_JSOURCE_GATEWAY, .source = "gw-test",
		.direction = 1, .mail_from = "sender@example.com", .rcpt = rcpts, .nrcpt = 1,
		.rules = rules, .nrules = rule ? 1 : 0, .verdict = "pass",
		.message = (const uint8_t *)msg, .message_len = strlen(msg),
	};
	struct ar_prepared p;
	struct ar_origin o = { .via = AR_VIA_JOURNAL, .peer = "gw-test", .addr = "192.0.2.1:4000" };
	ar_origin_now(&o);
	ar_prepare_record(st, &r, &o, &p);
	if (p.status != AR_INGEST_REFUSED) {
		ar_committer_enqueue(cm, &p);
		ar_committer_wait(cm, &p);
	}
	int status = p.status;
	if (docid)
		*docid = p.docid;
	ar_prepared_free(&p);
	return status;
}

/* Remembers the first (newest) hit. */
static bool first_hit(void *ctx, const uint8_t key[AR_DOCKEY_LEN])
{
	uint32_t *id = ctx;
	if (*id == UINT32_MAX)
		*id = ar_dockey_docid(key);
	return true;
}

/* Number of hits of q as the index stands; *first set to the newest. */
static size_t hits_now(const char *q, uint32_t *first)
{
	char err[256];
	struct ar_qnode *n = ar_query_parse(q, err, sizeof err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	uint32_t id = UINT32_MAX;
	size_t k = ar_search(st, n, 0, first_hit, &id);
	if (first)
		*first = id;
	ar_query_free(n);
	return k;
}

/* The same once the indexer has written every copy acknowledged so far. */
static size_t hits(const char *q, uint32_t *first)
{
	CU_ASSERT_EQUAL(ar_committer_sync_index(cm), 0);
	return hits_now(q, first);
}

static const char msg_a[] =
	"From: Alice Smith <alice@example.com>\r\nTo: bob@example.net\r\n"
	"Subject: Quarterly budget\r\nDate: Tue, 02 Jan 2024 10:00:00 +0000\r\n"
	"Message-ID: <a1@example.com>\r\n\r\nThe draft contract is attached.\r\n";
static const char msg_b[] =
	"From: carol@example.org\r\nTo: dave@example.net\r\nSubject: =?UTF-8?B?5ZCI57SE?=\r\n"
	"Date: Wed, 03 Jan 2024 10:00:00 +0000\r\nMessage-ID: <b1@example.org>\r\n"
	"In-Reply-To: <a1@example.com>\r\nMIME-Version: 1.0\r\n"
	"Content-Type: text/plain; charset=big5\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
	"\xbe\xf7\xb1\x4b\xb8\xea\xae\xc6\r\n"; /* 機密資料 in Big5 */

/* A message with a base64 attachment of 3000 bytes. */
static char *with_attachment(const char *subject)
{
	uint8_t data[3000];
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (uint8_t)(i * 31 + 7);
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	sl_strbuf_printf(&b, "From: erin@example.com\r\nTo: frank@example.com\r\nSubject: %s\r\n"
		"Date: Thu, 04 Jan 2024 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
		"Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n--XX\r\n"
		"Content-Type: text/plain\r\n\r\n%s body\r\n--XX\r\n"
		"Content-Type: application/pdf; name=\"report.pdf\"\r\n"
		"Content-Disposition: attachment; filename=\"report.pdf\"\r\n"
		"Content-Transfer-Encoding: base64\r\n\r\n", subject, subject);
	ar_base64_layout(data, sizeof data, 76, true, true, &b);
	sl_strbuf_puts(&b, "--XX--\r\n");
	return b.s;
}

static void test_dedup_and_search(void)
{
	uint32_t a1, a2, a3, b1;
	CU_ASSERT_EQUAL(ingest(msg_a, 1000, "bob@example.net", "dlp.card", &a1), AR_INGEST_STORED);
	/* the same record again: stored once */
	CU_ASSERT_EQUAL(ingest(msg_a, 1000, "bob@example.net", "dlp.card", &a2), AR_INGEST_DUPLICATE);
	/* the same message, another copy (other time, recipient): same document */
	CU_ASSERT_EQUAL(ingest(msg_a, 2000, "zed@example.net", NULL, &a3), AR_INGEST_STORED);
	CU_ASSERT_EQUAL(a1, a3);
	CU_ASSERT_EQUAL(ingest(msg_b, 3000, "dave@example.net", NULL, &b1), AR_INGEST_STORED);
	CU_ASSERT_NOT_EQUAL(a1, b1);
	/* a bad record: refused, nothing stored */
	CU_ASSERT_EQUAL(ingest("", 4000, "x@example.net", NULL, NULL), AR_INGEST_REFUSED);

	CU_ASSERT_EQUAL(st->counters.next_seq, 3);
	CU_ASSERT_EQUAL(st->counters.next_docid, 2);
	CU_ASSERT_EQUAL(st->counters.duplicates, 1);

	uint32_t id;
	CU_ASSERT_EQUAL(hits("contract", &id), 1);
	CU_ASSERT_EQUAL(id, a1);
	CU_ASSERT_EQUAL(hits("to:zed@example.net", NULL), 1);     /* the second copy's envelope */
	CU_ASSERT_EQUAL(hits("to:example.net", NULL), 2);
	CU_ASSERT_EQUAL(hits("from:\"alice smith\"", NULL), 1);
	CU_ASSERT_EQUAL(hits("rule:DLP.card", NULL), 1);
	CU_ASSERT_EQUAL(hits("機密資料", &id), 1);                  /* Big5 body */
	CU_ASSERT_EQUAL(id, b1);
	CU_ASSERT_EQUAL(hits("subject:合約", NULL), 1);             /* RFC 2047 subject */
	CU_ASSERT_EQUAL(hits("thread:a1@example.com", NULL), 2);
	CU_ASSERT_EQUAL(hits("\"budget quarterly\"", NULL), 0);    /* phrase order matters */
	CU_ASSERT_EQUAL(hits("\"quarterly budget\"", NULL), 1);
	CU_ASSERT_EQUAL(hits("after:2024-01-03", &id), 1);
	CU_ASSERT_EQUAL(id, b1);
	CU_ASSERT_EQUAL(hits("before:2024-01-03", NULL), 1);
	CU_ASSERT_EQUAL(hits("-contract", &id), 1);
	CU_ASSERT_EQUAL(hits("direction:inbound source:gw-test", NULL), 2);
	CU_ASSERT_EQUAL(hits("contract OR 機密資料", &id), 2);
	CU_ASSERT_EQUAL(id, b1);                                   /* newest first */

	struct ar_summary sum;
	CU_ASSERT_EQUAL_FATAL(ar_summary_load(st, a1, &sum), 0);
	CU_ASSERT_EQUAL(sum.ncopies, 2);
	CU_ASSERT_STRING_EQUAL(sum.subject, "Quarterly budget");
	CU_ASSERT_STRING_EQUAL(sum.from, "alice@example.com");
	CU_ASSERT_STRING_EQUAL(sum.message_id, "a1@example.com");
	CU_ASSERT_EQUAL(sum.date, 1704189600);
	ar_summary_free(&sum);
}

static void test_attachment_dedup(void)
{
	char *m1 = with_attachment("first"), *m2 = with_attachment("second");
	uint64_t parts = st->counters.parts, refs = st->counters.part_refs;
	CU_ASSERT_EQUAL(ingest(m1, 5000, "frank@example.com", NULL, NULL), AR_INGEST_STORED);
	CU_ASSERT_EQUAL(ingest(m2, 6000, "frank@example.com", NULL, NULL), AR_INGEST_STORED);
	CU_ASSERT_EQUAL(st->counters.parts, parts + 1);     /* one attachment stored once */
	CU_ASSERT_EQUAL(st->counters.part_refs, refs + 2);  /* referenced by both messages */
	CU_ASSERT_EQUAL(hits("has:attachment", NULL), 2);
	CU_ASSERT_EQUAL(hits("filename:report.pdf second", NULL), 1);
	free(m1);
	free(m2);
}

/* Collects every hit's doc id in order. */
struct id_list {
	uint32_t ids[64];
	size_t n;
};

static bool collect(void *ctx, const uint8_t key[AR_DOCKEY_LEN])
{
	struct id_list *l = ctx;
	if (l->n < 64)
		l->ids[l->n++] = ar_dockey_docid(key);
	return true;
}

static size_t search_ids(const char *q, struct id_list *l)
{
	char err[256];
	struct ar_qnode *n = ar_query_parse(q, err, sizeof err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	l->n = 0;
	CU_ASSERT_EQUAL(ar_committer_sync_index(cm), 0);
	size_t k = ar_search(st, n, 0, collect, l);
	ar_query_free(n);
	return k;
}

/* Posting blocks: documents added out of order come out sorted, a document added twice
 * to a block is kept once, and a term's blocks merge newest first across blocks. */
static void test_posting_blocks(void)
{
	/* block 1000: docs 901 (date 50), 903 (date 70), 902 (date 60, twice);
	 * block 1001: docs 904 (date 65), 905 (date 40), 903 again (a later copy) */
	static const struct { uint64_t block; uint32_t doc; int64_t date; } adds[] = {
		{ 1000, 901, 50 }, { 1000, 903, 70 }, { 1000, 902, 60 }, { 1000, 902, 60 },
		{ 1001, 904, 65 }, { 1001, 905, 40 }, { 1001, 903, 70 },
	};
	struct ar_postblock pb;
	ar_postblock_init(&pb);
	rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
	struct ar_posting_sink sink = { st, wb };
	bool failed = false;
	for (size_t i = 0; i < sizeof adds / sizeof adds[0]; i++) {
		struct ar_terms t;
		ar_terms_init(&t);
		ar_terms_add_text(&t, AR_F_BODY, "zzblock zzafter", 15);
		ar_terms_finish(&t);
		uint8_t key[AR_DOCKEY_LEN];
		ar_dockey(key, adds[i].date, adds[i].doc);
		ar_postblock_add(&pb, &t, key);
		ar_terms_free(&t);
		if (i + 1 == sizeof adds / sizeof adds[0] || adds[i + 1].block != adds[i].block)
			CU_ASSERT_EQUAL(ar_postblock_write(&pb, ar_posting_put, &sink,
				adds[i].block, &failed), 2); /* one key per term */
	CU_ASSERT_FALSE(failed);
	}
	char err[256];
	CU_ASSERT_EQUAL(ar_store_write(st, wb, true, err, sizeof err), 0);
	rocksdb_writebatch_destroy(wb);
	ar_postblock_free(&pb);

	struct id_list l;
	static const uint32_t newest_first[] = { 903, 904, 902, 901, 905 };
	CU_ASSERT_EQUAL_FATAL(search_ids("body:zzblock", &l), 5);
	for (size_t i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(l.ids[i], newest_first[i]);
	CU_ASSERT_EQUAL(search_ids("\"zzblock zzafter\"", &l), 5); /* positions kept */
	CU_ASSERT_EQUAL(search_ids("\"zzafter zzblock\"", &l), 0);
	CU_ASSERT_EQUAL(search_ids("zzblock -zzafter", &l), 0);
}

static void test_reopen(void)
{
	uint64_t seq = st->counters.next_seq, docs = st->counters.next_docid;
	close_store();
	CU_ASSERT_FATAL(open_store());
	CU_ASSERT_EQUAL(st->counters.next_seq, seq);
	CU_ASSERT_EQUAL(st->counters.next_docid, docs);
	CU_ASSERT_EQUAL(st->counters.indexed_seq, seq);
	CU_ASSERT_EQUAL(hits("contract", NULL), 1);
	/* a record stored before the reopen is still a duplicate */
	CU_ASSERT_EQUAL(ingest(msg_a, 1000, "bob@example.net", "dlp.card", NULL), AR_INGEST_DUPLICATE);
}

/* The index is written after the acknowledgement: a record is stored (and a
 * duplicate of it refused) before its terms are found, and found once the indexer has
 * written its block; the mark survives a reopen. */
static void test_index_after_ack(void)
{
	static const char late[] = "From: gina@example.com\r\nTo: hal@example.net\r\n"
		"Subject: late\r\nDate: Fri, 05 Jan 2024 10:00:00 +0000\r\n\r\nzzlate words\r\n";
	close_store();
	struct ar_index_opts slow = { .delay_ms = 600000, .block_copies = 1000 };
	CU_ASSERT_FATAL(open_store_with(&slow));
	/* a recovery at open reads back every copy stored while it runs: let it end first
	 * (under ASan it was still running when the late copy came, and indexed it) */
	CU_ASSERT_EQUAL(ar_committer_sync_index(cm), 0);
	CU_ASSERT_EQUAL(ingest(late, 7000, "hal@example.net", NULL, NULL), AR_INGEST_STORED);
	CU_ASSERT_EQUAL(ingest(late, 7000, "hal@example.net", NULL, NULL), AR_INGEST_DUPLICATE);
	CU_ASSERT_EQUAL(hits_now("zzlate", NULL), 0);   /* acknowledged, not indexed yet */
	CU_ASSERT_EQUAL(hits_now("to:hal@example.net", NULL), 0);
	CU_ASSERT_EQUAL(hits_now("after:2024-01-05", NULL), 1); /* the date order: at once */
	CU_ASSERT_EQUAL(hits("zzlate", NULL), 1);       /* after ar_committer_sync_index */
	CU_ASSERT_EQUAL(hits_now("to:hal@example.net", NULL), 1);
	CU_ASSERT_EQUAL(hits_now("contract", NULL), 1); /* earlier blocks still read */
	uint64_t seq = st->counters.next_seq;
	close_store();
	CU_ASSERT_FATAL(open_store());
	CU_ASSERT_EQUAL(st->counters.indexed_seq, seq);
	CU_ASSERT_EQUAL(hits_now("zzlate", NULL), 1);
}

/* Rotation: values sealed after it name the new data key, values sealed before still
 * open, and only the new KEK opens the store. (Last: it changes the test's key.) */
static void test_rekey(void)
{
	uint8_t kek[32];
	memset(kek, 0x5a, sizeof kek);
	char err[512];
	uint32_t before = st->ndeks;
	rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
	CU_ASSERT_EQUAL_FATAL(ar_seal_rekey(st, kek, wb, err, sizeof err), 0);
	CU_ASSERT_EQUAL(ar_store_write(st, wb, true, err, sizeof err), 0);
	CU_ASSERT_EQUAL(st->ndeks, before + 1);
	CU_ASSERT_EQUAL(st->dek_current, before);
	rocksdb_writebatch_clear(wb);
	CU_ASSERT_EQUAL(ar_put(st, wb, AR_CF_DOCS, "zz-rekey", 8, "after the rotation", 18), 0);
	CU_ASSERT_EQUAL(ar_store_write(st, wb, true, err, sizeof err), 0);
	rocksdb_writebatch_destroy(wb);
	size_t len;
	char *e = NULL;
	char *raw = rocksdb_get_cf(st->db, st->ro, st->cf[AR_CF_DOCS], "zz-rekey", 8, &len, &e);
	CU_ASSERT_PTR_NOT_NULL_FATAL(raw);
	CU_ASSERT(len > 5 && ar_get_be32((const uint8_t *)raw + 1) == before); /* the new key's id */
	free(raw);
	char *plain = ar_store_get(st, AR_CF_DOCS, "zz-rekey", 8, &len, &e);
	CU_ASSERT(plain && len == 18 && !memcmp(plain, "after the rotation", 18));
	free(plain);
	CU_ASSERT_EQUAL(hits("contract", NULL), 1); /* sealed before, under the old data key */
	close_store();
	CU_ASSERT_PTR_NULL(ar_store_open(dir, AR_OPEN_WRITE, &keys, err, sizeof err));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "does not open the store's data keys"));
	memcpy(keys.kek, kek, sizeof kek);
	CU_ASSERT_FATAL(open_store());
	CU_ASSERT_EQUAL(hits("contract", NULL), 1);
}

int main(void)
{
	if (!mkdtemp(dir) || !open_store())
		return 2;
	static const struct cu_test tests[] = {
		{ "record and message dedup, search", test_dedup_and_search },
		{ "attachments stored once", test_attachment_dedup },
		{ "posting blocks merge newest first", test_posting_blocks },
		{ "reopen keeps counters and dedup", test_reopen },
		{ "indexed after the acknowledgement", test_index_after_ack },
		{ "rekey: new data key, new KEK", test_rekey },
		{ NULL, NULL },
	};
	int rc = cu_run_suite("archive_store", NULL, NULL, tests);
	close_store();
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
