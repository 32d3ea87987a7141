#include "sinkqueue.h"

#include <stdlib.h>
#include <string.h>

#include "sinkmeta.h"
#include "spsc.h"

/* What travels on the rings: a chunk of message bytes, or a message's end. */
enum item_kind { ITEM_CHUNK, ITEM_COMMIT };

struct item {
	enum item_kind kind;
	struct sq_msg *msg;
};

struct sq_chunk {
	struct item it;
	uint32_t len;
	uint8_t data[DP_SINKQ_CHUNK];
};

struct sq_msg {
	struct item it;            /* ITEM_COMMIT, pushed once at commit */
	/* the worker's side */
	struct sq_chunk *fill;     /* being filled, not pushed yet */
	bool truncated;            /* a byte or the metadata did not fit: the copy is cut */
	size_t reserved;           /* room reserve_room promised ([journal] required) */
	struct sq_chunk *meta_chunk; /* holds the metadata's strings from commit on */
	char *meta_heap;           /* or, when they do not fit a chunk, this (malloc'd) */
	struct dp_sinkmeta meta;
	/* the sink thread's side (reset by the worker before the first push) */
	bool started;
	void *inner;               /* the real sink's handle; NULL when its begin failed */
};

struct dp_sinkq {
	struct dp_sink inner;
	struct dp_sinkq_counters ctr;
	struct dp_spsc to_sink;    /* worker -> sink thread */
	struct dp_spsc back;       /* sink thread -> worker: spent chunks and messages */
	void **slots;              /* both rings' storage */
	struct sq_chunk *chunks;
	struct sq_msg *msgs;
	/* the worker's free lists, refilled from `back` */
	struct sq_chunk **free_chunks;
	struct sq_msg **free_msgs;
	unsigned nchunks, nmsgs, nfree_chunks, nfree_msgs;
};

static void reclaim(struct dp_sinkq *q)
{
	struct item *it;
	while ((it = dp_spsc_pop(&q->back))) {
		if (it->kind == ITEM_CHUNK)
			q->free_chunks[q->nfree_chunks++] = (struct sq_chunk *)it;
		else
			q->free_msgs[q->nfree_msgs++] = (struct sq_msg *)it;
	}
}

static struct sq_chunk *take_chunk(struct dp_sinkq *q)
{
	if (!q->nfree_chunks)
		reclaim(q);
	return q->nfree_chunks ? q->free_chunks[--q->nfree_chunks] : NULL;
}

/* The copy cannot be complete any more: keep nothing more of it. */
static void cut(struct dp_sinkq *q, struct sq_msg *m)
{
	if (m->truncated)
		return;
	m->truncated = true;
	(*q->ctr.overflow)++;
	if (m->fill) {
		q->free_chunks[q->nfree_chunks++] = m->fill;
		m->fill = NULL;
	}
}

/* The rings have a slot for every chunk and message there is: a push cannot fail.
 * Were it to, the item is lost to the pool and the copy counted as an overflow. */
static bool push(struct dp_sinkq *q, struct item *it)
{
	if (dp_spsc_push(&q->to_sink, it))
		return true;
	(*q->ctr.overflow)++;
	return false;
}

static void *q_begin(void *impl)
{
	struct dp_sinkq *q = impl;
	if (!q->nfree_msgs)
		reclaim(q);
	if (!q->nfree_msgs) {
		(*q->ctr.overflow)++;
		return NULL;
	}
	struct sq_msg *m = q->free_msgs[--q->nfree_msgs];
	m->fill = NULL;
	m->truncated = false;
	m->reserved = 0;
	m->meta_chunk = NULL;
	m->meta_heap = NULL;
	m->started = false;
	m->inner = NULL;
	return m;
}

static void q_write(void *impl, void *msg, const uint8_t *p, size_t n)
{
	struct dp_sinkq *q = impl;
	struct sq_msg *m = msg;
	while (n && !m->truncated) {
		if (!m->fill) {
			if (!(m->fill = take_chunk(q))) {
				cut(q, m);
				return;
			}
			m->fill->it.msg = m;
		}
		struct sq_chunk *c = m->fill;
		size_t k = DP_SINKQ_CHUNK - c->len < n ? DP_SINKQ_CHUNK - c->len : n;
		memcpy(c->data + c->len, p, k);
		c->len += (uint32_t)k;
		p += k;
		n -= k;
		if (c->len == DP_SINKQ_CHUNK) {
			m->fill = NULL;
			if (!push(q, &c->it))
				m->truncated = true;
		}
	}
}

/* What the worker asks at end of data: every byte is in the queue by now, so a copy
 * not cut so far will be complete; the room is the real sink's to promise. */
static bool q_reserve(void *impl, void *msg, uint64_t bytes)
{
	struct dp_sinkq *q = impl;
	struct sq_msg *m = msg;
	if (m->reserved)
		return true;
	if (m->truncated)
		return false;
	m->reserved = q->inner.ops->reserve_room(q->inner.impl, bytes);
	return m->reserved != 0;
}

static int q_commit(void *impl, void *msg, const struct dp_msg_meta *meta)
{
	struct dp_sinkq *q = impl;
	struct sq_msg *m = msg;
	if (m->fill) {
		struct sq_chunk *c = m->fill;
		m->fill = NULL;
		if (!push(q, &c->it))
			m->truncated = true;
	}
	/* the metadata's strings go into a chunk of their own; none left: the copy is cut.
	 * Strings beyond a chunk (hundreds of recipients, a long verdict) are rare: that
	 * message gets a buffer of its own rather than lose its copy. */
	m->meta_chunk = take_chunk(q);
	m->meta.buf = m->meta_chunk ? (char *)m->meta_chunk->data : NULL;
	m->meta.cap = m->meta_chunk ? DP_SINKQ_CHUNK : 0;
	/* packed even without a chunk: the slot's metadata is this message's scalars then,
	 * with no strings, not what its last message left */
	bool packed = dp_sinkmeta_pack(&m->meta, meta);
	if (!packed && m->meta_chunk) {
		size_t need = dp_sinkmeta_need(meta);
		if ((m->meta_heap = malloc(need))) {
			m->meta.buf = m->meta_heap;
			m->meta.cap = need;
			packed = dp_sinkmeta_pack(&m->meta, meta);
		}
	}
	if (!packed)
		cut(q, m);
	if (!push(q, &m->it)) { /* cannot happen (see push); the copy is counted lost */
		if (m->reserved)
			q->inner.ops->release_room(q->inner.impl, m->reserved);
		return DP_SINK_QUEUED; /* journal_failed is the sink thread's to write */
	}
	(*q->ctr.queued)++;
	return DP_SINK_QUEUED;
}

static void count(struct dp_sinkq *q, int rc)
{
	if (rc > 0)
		(*q->ctr.ok)++;
	else if (rc == 0)
		(*q->ctr.skipped)++;
	else
		(*q->ctr.failed)++;
}

/* Sink thread: the message's end reaches the real sink. */
static void finish(struct dp_sinkq *q, struct sq_msg *m)
{
	const struct dp_sink *in = &q->inner;
	struct dp_msg_meta meta;
	struct sl_envelope env;
	struct sl_rcpt *rcpt;
	const char **rules;
	bool whole = dp_sinkmeta_open(&m->meta, &meta, &env, &rcpt, &rules);
	meta.truncated = m->truncated || !whole;
	meta.reserved = m->reserved;
	bool keeps = meta.outcome != DP_MSG_REFUSED && meta.outcome != DP_MSG_REJECTED;
	if (m->inner) {
		count(q, in->ops->commit(in->impl, m->inner, &meta));
	} else {
		if (m->reserved)
			in->ops->release_room(in->impl, m->reserved);
		count(q, keeps ? -1 : 0); /* the real sink could not start the message */
	}
	free(rcpt);
	free(rules);
}

unsigned dp_sinkq_service(struct dp_sinkq *q)
{
	const struct dp_sink *in = &q->inner;
	unsigned n = 0;
	struct item *it;
	while ((it = dp_spsc_pop(&q->to_sink))) {
		struct sq_msg *m = it->msg;
		if (!m->started) {
			m->inner = in->ops->begin(in->impl);
			m->started = true;
		}
		if (it->kind == ITEM_CHUNK) {
			struct sq_chunk *c = (struct sq_chunk *)it;
			if (m->inner)
				in->ops->write(in->impl, m->inner, c->data, c->len);
			c->len = 0;
		} else {
			finish(q, m);
			free(m->meta_heap);
			m->meta_heap = NULL;
			if (m->meta_chunk) /* room for every item there is: cannot fail */
				(void)dp_spsc_push(&q->back, &m->meta_chunk->it);
		}
		/* room for every item there is: cannot fail; were it to, the pool is one short */
		(void)dp_spsc_push(&q->back, it);
		n++;
	}
	return n;
}

static unsigned service(void *q)
{
	return dp_sinkq_service(q);
}

struct dp_sink_work dp_sinkq_work(struct dp_sinkq *q)
{
	return (struct dp_sink_work){service, q};
}

static void free_queue(struct dp_sinkq *q)
{
	free(q->slots);
	free(q->chunks);
	free(q->msgs);
	free(q->free_chunks);
	free(q->free_msgs);
	free(q);
}

static void q_free(void *impl)
{
	struct dp_sinkq *q = impl;
	q->inner.ops->free(q->inner.impl);
	free_queue(q);
}

static const struct dp_sink_ops queue_ops = {
	.begin = q_begin, .write = q_write, .commit = q_commit, .free = q_free,
};
/* the same for a real sink that can promise room ([journal] required) */
static const struct dp_sink_ops queue_reserve_ops = {
	.begin = q_begin, .write = q_write, .commit = q_commit, .free = q_free,
	.reserve = q_reserve,
};

struct dp_sinkq_counters dp_sinkq_journal_counters(struct dp_counters *c)
{
	return (struct dp_sinkq_counters){&c->journal_queued, &c->journal_overflow, &c->journal_ok,
	                                  &c->journal_skipped, &c->journal_failed};
}

struct dp_sinkq_counters dp_sinkq_dump_counters(struct dp_counters *c)
{
	return (struct dp_sinkq_counters){&c->dump_queued, &c->dump_overflow, &c->dump_ok,
	                                  &c->dump_skipped, &c->dump_failed};
}

struct dp_sinkq *dp_sinkq_new(const struct dp_sink *inner, unsigned messages, uint64_t bytes,
                              struct dp_sinkq_counters ctr, struct dp_sink *out)
{
	unsigned nchunks = (unsigned)(bytes / DP_SINKQ_CHUNK);
	if (!messages || !nchunks || bytes / DP_SINKQ_CHUNK > 1u << 24 || messages > 1u << 24)
		return NULL;
	uint32_t ring = dp_spsc_size_for((uint64_t)nchunks + messages);
	struct dp_sinkq *q = calloc(1, sizeof *q);
	if (!q)
		return NULL;
	q->slots = calloc(2 * (size_t)ring, sizeof *q->slots);
	q->chunks = calloc(nchunks, sizeof *q->chunks);
	q->msgs = calloc(messages, sizeof *q->msgs);
	q->free_chunks = calloc(nchunks, sizeof *q->free_chunks);
	q->free_msgs = calloc(messages, sizeof *q->free_msgs);
	if (!q->slots || !q->chunks || !q->msgs || !q->free_chunks || !q->free_msgs) {
		free_queue(q);
		return NULL;
	}
	dp_spsc_init(&q->to_sink, q->slots, ring);
	dp_spsc_init(&q->back, q->slots + ring, ring);
	for (unsigned i = 0; i < nchunks; i++) {
		q->chunks[i].it.kind = ITEM_CHUNK;
		q->free_chunks[i] = &q->chunks[i];
	}
	for (unsigned i = 0; i < messages; i++) {
		struct sq_msg *m = &q->msgs[i];
		m->it.kind = ITEM_COMMIT;
		m->it.msg = m;
		q->free_msgs[i] = m;
	}
	q->nchunks = q->nfree_chunks = nchunks;
	q->nmsgs = q->nfree_msgs = messages;
	q->inner = *inner;
	q->ctr = ctr;
	out->ops = inner->ops->reserve_room && inner->ops->release_room ? &queue_reserve_ops : &queue_ops;
	out->impl = q;
	return q;
}
