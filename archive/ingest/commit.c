/* Ingest, stage 2: the single committer thread and its group commit (see ingest.h). */
#include "ingest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include "chain.h"
#include "seal.h"
#include "summary.h"

#define BATCH_MAX_RECORDS 512
#define BATCH_MAX_BYTES (64u << 20)

struct ar_committer {
	struct ar_store *s;
	struct ar_indexer *ix;     /* takes each durable batch's copies */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t work_cv, done_cv;
	struct ar_prepared *head, *tail;
	bool stopping;
	unsigned pending_refused;
	struct ar_commit_stats st;
	/* a write failed (disk full, I/O error): nothing is acknowledged until the store
	 * is reopened; tried at most once a second */
	bool store_failed;
	uint64_t last_reopen_ms, reopen_wait_ms;
	uint64_t min_free;        /* refuse batches when the disk has less free */
	bool low_space;           /* (said once per episode) */
};

/* What one batch has written so far, so records inside a batch see each other. */
struct batch_doc {
	uint8_t blob[32];
	uint32_t docid;
	uint8_t dockey[AR_DOCKEY_LEN];
	struct sl_strbuf summary; /* encoded; ncopies patched in place */
};

struct batch {
	rocksdb_writebatch_t *wb;
	bool read_error;              /* the store could not be read: the batch fails */
	bool seal_error;              /* a value could not be sealed: the batch fails */
	struct ar_prepared *items[BATCH_MAX_RECORDS];
	size_t n;
	struct batch_doc docs[BATCH_MAX_RECORDS];
	size_t ndocs;
	uint8_t parts[BATCH_MAX_RECORDS * 4][32];
	size_t nparts;
	struct sl_strbuf val;
};

static struct batch_doc *batch_find_doc(struct batch *b, const uint8_t blob[32])
{
	for (size_t i = 0; i < b->ndocs; i++)
		if (memcmp(b->docs[i].blob, blob, 32) == 0)
			return &b->docs[i];
	return NULL;
}

static bool batch_has_copy(struct batch *b, size_t upto, const uint8_t id[32])
{
	for (size_t i = 0; i < upto; i++)
		if (b->items[i]->result == AR_INGEST_STORED &&
		    memcmp(b->items[i]->rec.id, id, 32) == 0)
			return true;
	return false;
}

static bool batch_has_part(struct batch *b, const uint8_t sha[32])
{
	for (size_t i = 0; i < b->nparts; i++)
		if (memcmp(b->parts[i], sha, 32) == 0)
			return true;
	return false;
}

static struct batch_doc *new_doc(struct batch *b, struct ar_store *s, struct ar_prepared *p)
{
	struct ar_counters *c = &s->counters;
	const struct sl_journal_record *r = &p->rec.rec;
	struct batch_doc *d = &b->docs[b->ndocs++];
	memcpy(d->blob, p->blob, 32);
	d->docid = (uint32_t)c->next_docid++;
	int64_t date = p->doc.has_date ? p->doc.date : (int64_t)(r->time_us / 1000000);

	sl_strbuf_init(&d->summary);
	ar_index_document(s, b->wb, NULL, d->docid, p->blob, &p->doc, date,
		r->message_len, 0, d->dockey, &d->summary);
	p->new_doc = true; /* its terms go to the indexer once the batch is durable */

	if (ar_put(s, b->wb, AR_CF_BLOBS, p->blob, 32, p->skeleton.s, p->skeleton.len) < 0)
		b->seal_error = true;
	for (size_t i = 0; i < p->doc.nrefs; i++) {
		const struct ar_part_ref *ref = &p->doc.refs[i];
		if (!ref->used)
			continue;
		c->part_refs++;
		if (batch_has_part(b, ref->sha))
			continue;
		int has = ar_store_has(s, AR_CF_PARTS, ref->sha, 32);
		if (has < 0)
			b->read_error = true;
		if (has)
			continue;
		if (b->nparts < sizeof b->parts / sizeof b->parts[0])
			memcpy(b->parts[b->nparts++], ref->sha, 32);
		if (ar_put(s, b->wb, AR_CF_PARTS, ref->sha, 32, ref->data, ref->len) < 0)
			b->seal_error = true;
		c->parts++;
		c->part_bytes += ref->len;
	}
	uint8_t id[4];
	ar_put_be32(id, d->docid);
	rocksdb_writebatch_put_cf(b->wb, s->cf[AR_CF_BLOBDOC], (const char *)p->blob, 32,
		(const char *)id, 4);
	c->blob_bytes += r->message_len;
	c->inline_bytes += p->skeleton.len;
	return d;
}

/* Load an existing document into the batch (for its key and copy count). */
static struct batch_doc *existing_doc(struct batch *b, struct ar_store *s,
	const uint8_t blob[32])
{
	size_t len;
	char *err = NULL;
	char *id = ar_store_get(s, AR_CF_BLOBDOC, blob, 32, &len, &err);
	if (err)
		b->read_error = true;
	free(err);
	err = NULL;
	if (!id || len != 4) {
		free(id);
		return NULL;
	}
	char *sum = ar_store_get(s, AR_CF_DOCS, id, 4, &len, &err);
	if (err || !sum)
		b->read_error = true; /* a stored message without its summary */
	free(err);
	struct batch_doc *d = NULL;
	if (sum && len > AR_SUMMARY_NCOPIES_OFF + 4) {
		d = &b->docs[b->ndocs++];
		memcpy(d->blob, blob, 32);
		d->docid = ar_get_be32((const uint8_t *)id);
		memcpy(d->dockey, sum + 1, AR_DOCKEY_LEN);
		sl_strbuf_init(&d->summary);
		sl_strbuf_put(&d->summary, sum, len);
	}
	free(id);
	free(sum);
	return d;
}

static void apply(struct batch *b, size_t idx, struct ar_store *s)
{
	struct ar_prepared *p = b->items[idx];
	struct ar_counters *c = &s->counters;
	const struct sl_journal_record *r = &p->rec.rec;
	int stored = batch_has_copy(b, idx, p->rec.id) ? 1 :
		     ar_store_has(s, AR_CF_COPIES, p->rec.id, 32);
	if (stored < 0)
		b->read_error = true;
	if (stored) {
		p->result = AR_INGEST_DUPLICATE;
		c->duplicates++;
		return;
	}
	struct batch_doc *d = batch_find_doc(b, p->blob);
	if (!d)
		d = existing_doc(b, s, p->blob);
	if (b->read_error)
		return;
	if (!d && !p->analysed) {
		/* the blob appeared between prepare and commit: analysed elsewhere */
		p->result = AR_INGEST_FAILED;
		snprintf(p->reason, sizeof p->reason, "message raced with itself; retry");
		return;
	}
	if (!d)
		d = new_doc(b, s, p);
	p->result = AR_INGEST_STORED;
	p->docid = d->docid;
	p->seq = c->next_seq++;
	memcpy(p->dockey, d->dockey, AR_DOCKEY_LEN);

	uint8_t *nc = (uint8_t *)d->summary.s + AR_SUMMARY_NCOPIES_OFF;
	ar_put_be32(nc, ar_get_be32(nc) + 1);

	/* copy metadata: seq, blob, what the archive saw, the record without its message */
	sl_strbuf_clear(&b->val);
	ar_copy_encode(&b->val, p->seq, p->blob, &p->origin, r);
	uint8_t head[8];
	ar_put_be64(head, p->seq);
	if (ar_put(s, b->wb, AR_CF_COPIES, p->rec.id, 32, b->val.s, b->val.len) < 0)
		b->seal_error = true;
	/* store order, chained: this copy's link commits to every copy before it */
	uint8_t seqval[64];
	memcpy(seqval, p->rec.id, 32);
	ar_chain_copy_link(seqval + 32, s->copy_head, p->seq, p->rec.id, b->val.s, b->val.len);
	memcpy(s->copy_head, seqval + 32, 32);
	rocksdb_writebatch_put_cf(b->wb, s->cf[AR_CF_SEQS], (const char *)head, 8,
		(const char *)seqval, 64);
	/* blob || seq -> record id: the copies of a document, for show */
	uint8_t bs[40];
	memcpy(bs, p->blob, 32);
	memcpy(bs + 32, head, 8);
	rocksdb_writebatch_put_cf(b->wb, s->cf[AR_CF_BLOBDOC], (const char *)bs, 40,
		(const char *)p->rec.id, 32);
	c->raw_bytes += r->message_len;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void fail_all(struct batch *b, const char *why)
{
	for (size_t i = 0; i < b->n; i++) {
		b->items[i]->result = AR_INGEST_FAILED;
		snprintf(b->items[i]->reason, sizeof b->items[i]->reason, "%s", why);
	}
}

/* May this batch be written? Not while the store is failed (until a reopen works) or
 * the disk is nearly full: the records fail, and their senders keep them and retry. */
static bool store_usable(struct ar_committer *cm, struct batch *b)
{
	struct ar_store *s = cm->s;
	char err[512];
	struct statvfs vfs;
	if (cm->store_failed) {
		/* reopening replays the write-ahead log into new table files, which needs
		 * room: tried when the disk has some, backing off from 1 s to 16 s */
		if (now_ms() - cm->last_reopen_ms < cm->reopen_wait_ms ||
		    (statvfs(s->dir, &vfs) == 0 && (uint64_t)vfs.f_bavail * vfs.f_frsize < (8u << 20))) {
			fail_all(b, "the store failed a write and is recovering; try again later");
			return false;
		}
		cm->last_reopen_ms = now_ms();
		if (ar_store_reopen(s, err, sizeof err) < 0) {
			fprintf(stderr, "sluice-archive: reopening the store: %s\n", err);
			cm->reopen_wait_ms = cm->reopen_wait_ms < 8000 ? cm->reopen_wait_ms * 2 : 16000;
			fail_all(b, "the store failed a write and is recovering; try again later");
			return false;
		}
		fprintf(stderr, "sluice-archive: store reopened after the failed write: ingest "
				"resumes\n");
		cm->store_failed = false;
	}
	if (cm->min_free && statvfs(s->dir, &vfs) == 0 &&
	    (uint64_t)vfs.f_bavail * vfs.f_frsize < cm->min_free) {
		if (!cm->low_space)
			fprintf(stderr, "sluice-archive: %s has less than %llu MB free: ingest "
					"refused until there is room\n", s->dir,
				(unsigned long long)(cm->min_free >> 20));
		cm->low_space = true;
		fail_all(b, "the archive's disk is full; try again later");
		return false;
	}
	if (cm->low_space)
		fprintf(stderr, "sluice-archive: %s has room again: ingest resumes\n", s->dir);
	cm->low_space = false;
	return true;
}

static void run_batch(struct ar_committer *cm, struct batch *b)
{
	struct ar_store *s = cm->s;
	pthread_mutex_lock(&s->chain_mu);
	if (!store_usable(cm, b)) {
		pthread_mutex_unlock(&s->chain_mu);
		return;
	}
	struct ar_counters saved = s->counters;
	uint8_t saved_head[32];
	memcpy(saved_head, s->copy_head, 32);
	rocksdb_writebatch_clear(b->wb); /* keeps its buffer: no regrowing per batch */
	b->read_error = false;
	b->seal_error = false;
	b->ndocs = 0;
	b->nparts = 0;
	for (size_t i = 0; i < b->n; i++) {
		b->items[i]->new_doc = false;
		apply(b, i, s);
	}
	for (size_t i = 0; i < b->ndocs; i++) {
		uint8_t id[4];
		ar_put_be32(id, b->docs[i].docid);
		if (ar_put(s, b->wb, AR_CF_DOCS, id, 4, b->docs[i].summary.s,
			b->docs[i].summary.len) < 0)
			b->seal_error = true;
		sl_strbuf_free(&b->docs[i].summary);
	}
	pthread_mutex_lock(&cm->mu);
	s->counters.refused += cm->pending_refused;
	cm->pending_refused = 0;
	pthread_mutex_unlock(&cm->mu);
	char err[256];
	bool chained = s->counters.next_seq == saved.next_seq || ar_checkpoint_put(s, b->wb) == 0;
	ar_counters_put(s, b->wb);
	if (!chained)
		snprintf(err, sizeof err, "cannot sign the chain checkpoint (no key)");
	if (b->read_error)
		snprintf(err, sizeof err, "the store could not be read (see the log); not stored");
	if (b->seal_error)
		snprintf(err, sizeof err, "a value could not be encrypted; not stored");
	bool written = chained && !b->read_error && !b->seal_error &&
		       ar_store_write(s, b->wb, true, err, sizeof err) == 0;
	if (!written) {
		/* nothing of this batch is durable: every record fails, counters roll back */
		s->counters = saved;
		memcpy(s->copy_head, saved_head, 32);
		fail_all(b, err);
	}
	if (!written && chained && !b->read_error && !b->seal_error) {
		/* RocksDB's background error (ENOSPC, EIO): no more writes to this instance */
		fprintf(stderr, "sluice-archive: store write failed: %s: ingest refused until the "
				"store is reopened\n", err);
		cm->store_failed = true;
		cm->last_reopen_ms = now_ms();
		cm->reopen_wait_ms = 1000;
	}
	pthread_mutex_unlock(&s->chain_mu);
	cm->st.batches++;
	cm->st.syncs++;
	cm->st.records += b->n;
}

/* The durable batch's copies, in sequence order, to the indexer: the new documents'
 * terms move out of their records before the waiters may free them. */
static void hand_to_indexer(struct ar_committer *cm, struct batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		struct ar_prepared *p = b->items[i];
		if (p->result != AR_INGEST_STORED)
			continue;
		struct ar_terms copy;
		ar_copy_terms(&copy, &p->rec.rec);
		ar_indexer_add(cm->ix, p->seq, p->dockey, p->new_doc ? &p->doc.terms : NULL, &copy);
		ar_terms_free(&copy);
	}
}

static void *committer_main(void *arg)
{
	struct ar_committer *cm = arg;
	struct batch *b = calloc(1, sizeof *b);
	sl_strbuf_init(&b->val);
	b->wb = rocksdb_writebatch_create();
	pthread_mutex_lock(&cm->mu);
	for (;;) {
		while (!cm->head && !cm->stopping)
			pthread_cond_wait(&cm->work_cv, &cm->mu);
		if (!cm->head && cm->stopping)
			break;
		b->n = 0;
		size_t bytes = 0;
		while (cm->head && b->n < BATCH_MAX_RECORDS && bytes < BATCH_MAX_BYTES) {
			struct ar_prepared *p = cm->head;
			cm->head = p->next;
			b->items[b->n++] = p;
			bytes += p->rec.rec.message_len;
		}
		if (!cm->head)
			cm->tail = NULL;
		pthread_mutex_unlock(&cm->mu);
		run_batch(cm, b);
		hand_to_indexer(cm, b);
		pthread_mutex_lock(&cm->mu);
		/* only now, after the sync, do waiters learn their record's fate */
		for (size_t i = 0; i < b->n; i++)
			b->items[i]->status = b->items[i]->result;
		pthread_cond_broadcast(&cm->done_cv);
	}
	pthread_mutex_unlock(&cm->mu);
	sl_strbuf_free(&b->val);
	rocksdb_writebatch_destroy(b->wb);
	free(b);
	return NULL;
}

struct ar_committer *ar_committer_start(struct ar_store *s, const struct ar_index_opts *o)
{
	struct ar_committer *cm = calloc(1, sizeof *cm);
	if (!cm)
		return NULL;
	cm->s = s;
	cm->ix = ar_indexer_start(s, o);
	if (!cm->ix) {
		free(cm);
		return NULL;
	}
	pthread_mutex_init(&cm->mu, NULL);
	pthread_cond_init(&cm->work_cv, NULL);
	pthread_cond_init(&cm->done_cv, NULL);
	pthread_create(&cm->thread, NULL, committer_main, cm);
	return cm;
}

void ar_committer_min_free(struct ar_committer *cm, uint64_t bytes)
{
	pthread_mutex_lock(&cm->mu);
	cm->min_free = bytes;
	pthread_mutex_unlock(&cm->mu);
}

void ar_committer_enqueue_many(struct ar_committer *cm, struct ar_prepared *p, size_t n)
{
	pthread_mutex_lock(&cm->mu);
	for (size_t i = 0; i < n; i++) {
		if (p[i].status == AR_INGEST_REFUSED)
			continue;
		p[i].next = NULL;
		p[i].status = AR_INGEST_PENDING;
		p[i].result = AR_INGEST_PENDING;
		if (cm->tail)
			cm->tail->next = &p[i];
		else
			cm->head = &p[i];
		cm->tail = &p[i];
	}
	pthread_cond_signal(&cm->work_cv);
	pthread_mutex_unlock(&cm->mu);
}

void ar_committer_enqueue(struct ar_committer *cm, struct ar_prepared *p)
{
	pthread_mutex_lock(&cm->mu);
	p->next = NULL;
	p->status = AR_INGEST_PENDING;
	p->result = AR_INGEST_PENDING;
	if (cm->tail)
		cm->tail->next = p;
	else
		cm->head = p;
	cm->tail = p;
	pthread_cond_signal(&cm->work_cv);
	pthread_mutex_unlock(&cm->mu);
}

void ar_committer_wait(struct ar_committer *cm, struct ar_prepared *p)
{
	pthread_mutex_lock(&cm->mu);
	while (p->status == AR_INGEST_PENDING)
		pthread_cond_wait(&cm->done_cv, &cm->mu);
	pthread_mutex_unlock(&cm->mu);
}

void ar_committer_count_refused(struct ar_committer *cm)
{
	pthread_mutex_lock(&cm->mu);
	cm->pending_refused++;
	pthread_mutex_unlock(&cm->mu);
}

void ar_committer_stats(struct ar_committer *cm, struct ar_commit_stats *st)
{
	pthread_mutex_lock(&cm->mu);
	*st = cm->st;
	pthread_mutex_unlock(&cm->mu);
}

int ar_committer_sync_index(struct ar_committer *cm)
{
	return ar_indexer_sync(cm->ix);
}

void ar_committer_stop(struct ar_committer *cm)
{
	if (!cm)
		return;
	pthread_mutex_lock(&cm->mu);
	cm->stopping = true;
	pthread_cond_broadcast(&cm->work_cv);
	pthread_mutex_unlock(&cm->mu);
	pthread_join(cm->thread, NULL);
	if (ar_indexer_stop(cm->ix) < 0)
		fprintf(stderr, "sluice-archive: the index is behind the store; the next start "
				"indexes the rest\n");
	if (cm->pending_refused) {
		/* refusals after the last batch: record them */
		pthread_mutex_lock(&cm->s->chain_mu);
		cm->s->counters.refused += cm->pending_refused;
		rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
		ar_counters_put(cm->s, wb);
		char err[128];
		if (ar_store_write(cm->s, wb, true, err, sizeof err) < 0)
			fprintf(stderr, "sluice-archive: refused-record counter not saved: %s\n", err);
		rocksdb_writebatch_destroy(wb);
		pthread_mutex_unlock(&cm->s->chain_mu);
	}
	pthread_mutex_destroy(&cm->mu);
	pthread_cond_destroy(&cm->work_cv);
	pthread_cond_destroy(&cm->done_cv);
	free(cm);
}
