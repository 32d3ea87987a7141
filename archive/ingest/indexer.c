/* The indexer thread: posting blocks across batches, recovery (see indexer.h). */
#include "indexer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ingest.h"
#include "message.h"
#include "search.h"
#include "summary.h"

/* Copies queued for the thread at most: each holds its document's terms, so the
 * committer waits rather than letting a slow disk grow memory without bound. */
#define QUEUE_MAX 1024

struct ix_item {
	uint64_t seq;
	uint8_t dockey[AR_DOCKEY_LEN];
	bool has_doc;
	struct ar_terms doc, copy;
	struct ix_item *next;
};

struct ar_indexer {
	struct ar_store *s;
	size_t block_copies;
	unsigned delay_ms;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t work_cv, room_cv, synced_cv;
	struct ix_item *head, *tail;
	size_t queued;
	bool stopping;
	uint64_t sync_wanted, sync_done; /* ar_indexer_sync's requests and answers */
	int sync_rc;
	/* while the thread reads copies back from the store, copies handed over are not
	 * queued (the committer does not wait for a recovery): it reads them back too */
	bool recovering, dropped;

	/* the thread's own */
	struct ar_postblock pb;
	rocksdb_writebatch_t *wb;
	uint64_t indexed;       /* durable: copies below it are in written blocks */
	uint64_t next;          /* the copy the block takes next */
	size_t block_n;         /* copies in the block */
	uint64_t block_since;   /* when its first copy came (ms) */
	bool recover;           /* copies from `indexed` must be read back from the store */
	uint64_t retry_at;      /* after a failed write or read: not before (ms) */
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void add_copy(struct ar_indexer *ix, uint64_t seq, const uint8_t *dockey,
	const struct ar_terms *doc, const struct ar_terms *copy)
{
	if (!ix->block_n)
		ix->block_since = now_ms();
	if (doc)
		ar_postblock_add(&ix->pb, doc, dockey);
	ar_postblock_add(&ix->pb, copy, dockey);
	ix->block_n++;
	ix->next = seq + 1;
}

/* Write the block under the id of its first copy, with the mark after its last, in
 * one batch: a crash keeps both or neither. Not synced: the committer's next synced
 * batch makes it durable, and until then recovery would rebuild it. */
static int write_block(struct ar_indexer *ix)
{
	if (!ix->block_n)
		return 0;
	struct ar_store *s = ix->s;
	char err[256] = "a value could not be encrypted";
	bool failed = false;
	/* the database is not swapped (ar_store_reopen) while a block is built and written */
	pthread_rwlock_rdlock(&s->db_lock);
	rocksdb_writebatch_clear(ix->wb);
	struct ar_posting_sink sink = { s, ix->wb };
	ar_postblock_write(&ix->pb, ar_posting_put, &sink, ix->indexed, &failed);
	ar_indexed_put(s, ix->wb, ix->next);
	int rc = failed ? -1 : ar_store_write(s, ix->wb, false, err, sizeof err);
	pthread_rwlock_unlock(&s->db_lock);
	ix->block_n = 0;
	if (rc < 0) {
		fprintf(stderr, "sluice-archive: index block of copies %llu..%llu not written: %s; "
				"read back from the store later\n", (unsigned long long)ix->indexed,
			(unsigned long long)ix->next - 1, err);
		ix->recover = true;
		ix->next = ix->indexed;
		ix->retry_at = now_ms() + ix->delay_ms;
		return -1;
	}
	ix->indexed = ix->next;
	return 0;
}

static void first_copy(void *ctx, const struct ar_copy *c)
{
	uint64_t *first = ctx;
	if (c->seq < *first)
		*first = c->seq;
}

/* The document key of a stored message, from its summary the committer wrote. */
static int stored_dockey(struct ar_store *s, const uint8_t blob[32], uint8_t dockey[AR_DOCKEY_LEN])
{
	uint32_t docid = ar_blob_docid(s, blob);
	struct ar_summary sum;
	if (docid == UINT32_MAX || ar_summary_load(s, docid, &sum) < 0)
		return -1;
	memcpy(dockey, sum.dockey, AR_DOCKEY_LEN);
	ar_summary_free(&sum);
	return 0;
}

/* Read copy seq back from the store into the block: its envelope, and its message's
 * terms when this copy is the message's first and so brought the document
 * (recovery starts at `from`). 0 indexed, 1 nothing to index (the copy is gone: a
 * purge), -1 the store could not be read. */
static int read_back(struct ar_indexer *ix, uint64_t seq, uint64_t from)
{
	struct ar_store *s = ix->s;
	uint8_t key[8];
	ar_put_be64(key, seq);
	size_t len;
	char *e = NULL;
	char *sv = ar_store_get(s, AR_CF_SEQS, key, 8, &len, &e);
	int rc = -1;
	if (e || !sv || len != 64) {
		fprintf(stderr, "sluice-archive: index recovery: copy %llu: not in store order%s%s\n",
			(unsigned long long)seq, e ? ": " : "", e ? e : "");
		goto out;
	}
	char *cv = ar_store_get(s, AR_CF_COPIES, sv, 32, &len, &e);
	if (!cv && !e) {
		rc = 1;
		goto out;
	}
	struct ar_copy cp;
	char err[256];
	if (!cv || ar_copy_decode((const uint8_t *)cv, len, &cp, err, sizeof err) < 0) {
		fprintf(stderr, "sluice-archive: index recovery: copy %llu: %s\n",
			(unsigned long long)seq, cv ? err : e);
		free(cv);
		goto out;
	}
	free(cv);
	uint8_t dockey[AR_DOCKEY_LEN];
	uint64_t first = UINT64_MAX;
	ar_doc_copies(s, cp.blob, first_copy, &first);
	struct ar_doc doc;
	ar_doc_init(&doc);
	struct sl_strbuf raw;
	sl_strbuf_init(&raw);
	bool new_doc = first >= from;
	if (stored_dockey(s, cp.blob, dockey) < 0) {
		fprintf(stderr, "sluice-archive: index recovery: copy %llu: no document summary\n",
			(unsigned long long)seq);
	} else if (new_doc && ar_message_load(s, cp.blob, &raw, err, sizeof err) < 0) {
		fprintf(stderr, "sluice-archive: index recovery: copy %llu: %s\n",
			(unsigned long long)seq, err);
	} else {
		if (new_doc) {
			ar_analyse_message((const uint8_t *)raw.s, raw.len, &doc);
			ar_doc_finish(&doc);
		}
		struct ar_terms copy;
		ar_copy_terms(&copy, &cp.d.rec);
		add_copy(ix, seq, dockey, new_doc ? &doc.terms : NULL, &copy);
		ar_terms_free(&copy);
		rc = 0;
	}
	sl_strbuf_free(&raw);
	ar_doc_free(&doc);
	ar_copy_free(&cp);
out:
	free(e);
	free(sv);
	return rc;
}

/* Index copies [indexed, the store's last] from the store. Copies queued before with
 * a lower sequence are then dropped (add_items). */
static void recover_pass(struct ar_indexer *ix)
{
	struct ar_store *s = ix->s;
	pthread_mutex_lock(&s->chain_mu); /* between batches: next_seq is durable */
	uint64_t upto = s->counters.next_seq;
	pthread_mutex_unlock(&s->chain_mu);
	uint64_t from = ix->indexed;
	ix->next = from;
	if (from < upto)
		fprintf(stderr, "sluice-archive: indexing copies %llu..%llu from the store\n",
			(unsigned long long)from, (unsigned long long)upto - 1);
	pthread_rwlock_rdlock(&s->db_lock);
	for (uint64_t seq = from; seq < upto; seq++) {
		int r = read_back(ix, seq, from);
		if (r < 0) {
			pthread_rwlock_unlock(&s->db_lock);
			ix->retry_at = now_ms() + ix->delay_ms;
			write_block(ix); /* what was read so far */
			return;
		}
		if (r > 0 && !ix->block_n) {
			ix->next = seq + 1; /* nothing to index: the mark moves past it */
			ix->indexed = ix->next;
		} else if (r > 0) {
			ix->next = seq + 1;
		}
		if (ix->block_n >= ix->block_copies) {
			pthread_rwlock_unlock(&s->db_lock);
			if (write_block(ix) < 0)
				return;
			pthread_rwlock_rdlock(&s->db_lock);
		}
	}
	pthread_rwlock_unlock(&s->db_lock);
	if (write_block(ix) == 0) {
		ix->next = upto > ix->next ? upto : ix->next;
		ix->recover = false;
	}
}

static void recover(struct ar_indexer *ix)
{
	bool again;
	do {
		pthread_mutex_lock(&ix->mu);
		ix->recovering = true;
		ix->dropped = false;
		pthread_cond_broadcast(&ix->room_cv); /* a committer waiting for room goes on */
		pthread_mutex_unlock(&ix->mu);
		recover_pass(ix);
		pthread_mutex_lock(&ix->mu);
		again = !ix->recover && ix->dropped; /* copies stored during the pass */
		ix->recovering = false;
		pthread_mutex_unlock(&ix->mu);
		if (again)
			ix->recover = true;
	} while (again);
}

static void add_items(struct ar_indexer *ix, struct ix_item *it)
{
	while (it) {
		struct ix_item *next = it->next;
		/* below `next`: read back by recovery already; above it (after a failed
		 * write): recovery reads it back */
		if (!ix->recover && it->seq == ix->next)
			add_copy(ix, it->seq, it->dockey, it->has_doc ? &it->doc : NULL, &it->copy);
		else if (!ix->recover && it->seq > ix->next)
			ix->recover = true; /* a gap: never expected; the store has the truth */
		ar_terms_free(&it->doc);
		ar_terms_free(&it->copy);
		free(it);
		it = next;
	}
}

static void answer_syncs(struct ar_indexer *ix, uint64_t wanted, int rc)
{
	pthread_mutex_lock(&ix->mu);
	ix->sync_done = wanted;
	ix->sync_rc = rc;
	pthread_cond_broadcast(&ix->synced_cv);
	pthread_mutex_unlock(&ix->mu);
}

static void *indexer_main(void *arg)
{
	struct ar_indexer *ix = arg;
	for (;;) {
		if (ix->recover && now_ms() >= ix->retry_at)
			recover(ix);
		pthread_mutex_lock(&ix->mu);
		for (;;) {
			uint64_t now = now_ms();
			bool due = ix->block_n && now - ix->block_since >= ix->delay_ms;
			bool retry = ix->recover && now >= ix->retry_at;
			if (ix->head || ix->stopping || due || retry || ix->sync_wanted != ix->sync_done)
				break;
			uint64_t wake = ix->recover ? ix->retry_at :
					ix->block_n ? ix->block_since + ix->delay_ms : now + 60000;
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			uint64_t ns = (uint64_t)ts.tv_nsec + (wake - now) * 1000000u;
			ts.tv_sec += (time_t)(ns / 1000000000u);
			ts.tv_nsec = (long)(ns % 1000000000u);
			pthread_cond_timedwait(&ix->work_cv, &ix->mu, &ts);
		}
		struct ix_item *items = ix->head;
		ix->head = ix->tail = NULL;
		ix->queued = 0;
		bool stopping = ix->stopping;
		uint64_t wanted = ix->sync_wanted;
		pthread_cond_broadcast(&ix->room_cv);
		pthread_mutex_unlock(&ix->mu);

		add_items(ix, items);
		bool flush = stopping || wanted != ix->sync_done ||
			     ix->block_n >= ix->block_copies ||
			     (ix->block_n && now_ms() - ix->block_since >= ix->delay_ms);
		if (flush && (stopping || wanted != ix->sync_done) && ix->recover)
			recover(ix); /* asked to finish: no waiting for the retry time */
		if (flush)
			write_block(ix);
		if (wanted != ix->sync_done)
			answer_syncs(ix, wanted, ix->recover ? -1 : 0);
		if (stopping && !items)
			break;
	}
	return NULL;
}

struct ar_indexer *ar_indexer_start(struct ar_store *s, const struct ar_index_opts *o)
{
	struct ar_indexer *ix = calloc(1, sizeof *ix);
	if (!ix)
		return NULL;
	ix->s = s;
	ix->block_copies = o && o->block_copies ? o->block_copies : AR_INDEX_BLOCK_COPIES;
	ix->delay_ms = o && o->delay_ms ? o->delay_ms : AR_INDEX_DELAY_MS;
	pthread_mutex_init(&ix->mu, NULL);
	pthread_cond_init(&ix->work_cv, NULL);
	pthread_cond_init(&ix->room_cv, NULL);
	pthread_cond_init(&ix->synced_cv, NULL);
	ar_postblock_init(&ix->pb);
	ix->wb = rocksdb_writebatch_create();
	ix->indexed = s->counters.indexed_seq;
	ix->next = ix->indexed;
	ix->recover = true; /* whatever a crash left unindexed comes first */
	if (pthread_create(&ix->thread, NULL, indexer_main, ix) != 0) {
		ar_postblock_free(&ix->pb);
		rocksdb_writebatch_destroy(ix->wb);
		free(ix);
		return NULL;
	}
	return ix;
}

void ar_indexer_add(struct ar_indexer *ix, uint64_t seq, const uint8_t dockey[AR_DOCKEY_LEN],
	struct ar_terms *doc, struct ar_terms *copy)
{
	struct ix_item *it = malloc(sizeof *it);
	if (!it)
		return; /* recovery reads the copy back (a gap) */
	it->seq = seq;
	memcpy(it->dockey, dockey, AR_DOCKEY_LEN);
	it->has_doc = doc != NULL;
	/* take the tables as they are; the caller's structs are left empty */
	if (doc) {
		it->doc = *doc;
		ar_terms_init(doc);
	} else {
		ar_terms_init(&it->doc);
	}
	it->copy = *copy;
	ar_terms_init(copy);
	it->next = NULL;
	pthread_mutex_lock(&ix->mu);
	while (ix->queued >= QUEUE_MAX && !ix->recovering)
		pthread_cond_wait(&ix->room_cv, &ix->mu);
	if (ix->recovering) {
		ix->dropped = true;
		pthread_mutex_unlock(&ix->mu);
		ar_terms_free(&it->doc);
		ar_terms_free(&it->copy);
		free(it);
		return;
	}
	if (ix->tail)
		ix->tail->next = it;
	else
		ix->head = it;
	ix->tail = it;
	ix->queued++;
	pthread_cond_signal(&ix->work_cv);
	pthread_mutex_unlock(&ix->mu);
}

int ar_indexer_sync(struct ar_indexer *ix)
{
	pthread_mutex_lock(&ix->mu);
	uint64_t ticket = ++ix->sync_wanted;
	pthread_cond_signal(&ix->work_cv);
	while (ix->sync_done < ticket)
		pthread_cond_wait(&ix->synced_cv, &ix->mu);
	int rc = ix->sync_rc;
	pthread_mutex_unlock(&ix->mu);
	return rc;
}

int ar_indexer_stop(struct ar_indexer *ix)
{
	if (!ix)
		return 0;
	pthread_mutex_lock(&ix->mu);
	ix->stopping = true;
	pthread_cond_signal(&ix->work_cv);
	pthread_mutex_unlock(&ix->mu);
	pthread_join(ix->thread, NULL);
	pthread_mutex_lock(&ix->s->chain_mu);
	bool complete = !ix->recover && ix->indexed == ix->s->counters.next_seq;
	ix->s->counters.indexed_seq = ix->indexed;
	pthread_mutex_unlock(&ix->s->chain_mu);
	ar_postblock_free(&ix->pb);
	rocksdb_writebatch_destroy(ix->wb);
	pthread_mutex_destroy(&ix->mu);
	pthread_cond_destroy(&ix->work_cv);
	pthread_cond_destroy(&ix->room_cv);
	pthread_cond_destroy(&ix->synced_cv);
	free(ix);
	return complete ? 0 : -1;
}

int ar_index_catch_up(struct ar_store *s)
{
	struct ar_indexer *ix = ar_indexer_start(s, NULL);
	return ix ? ar_indexer_stop(ix) : -1;
}
