/* The queued sink (issue 14): the SPSC ring (wraparound, full, empty, two threads),
 * the queue in front of a recording sink (bytes across chunks, the metadata's deep
 * copy, pool exhaustion cutting a copy instead of waiting, the [journal] required
 * room travelling with the commit) and the sink thread (a slow sink does not slow the
 * producer; a stop drains every queued copy). */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cunit_run.h"
#include "output/dumpsink.h"
#include "output/sinkmeta.h"
#include "output/sinkqueue.h"
#include "output/spsc.h"

/* ---- the ring ------------------------------------------------------------------ */

static void test_ring_full_empty_wrap(void)
{
	void *slots[8];
	struct dp_spsc r;
	dp_spsc_init(&r, slots, 8);
	/* start just below the 32-bit wrap of head and tail */
	atomic_store(&r.head, UINT32_MAX - 5);
	atomic_store(&r.tail, UINT32_MAX - 5);
	CU_ASSERT_PTR_NULL(dp_spsc_pop(&r));
	uintptr_t next_in = 1, next_out = 1;
	for (int round = 0; round < 5; round++) {
		unsigned pushed = 0;
		while (dp_spsc_push(&r, (void *)next_in)) {
			next_in++;
			pushed++;
		}
		CU_ASSERT_EQUAL(pushed, round == 0 ? 8 : 5); /* full at 8; then 3 stay queued */
		CU_ASSERT_EQUAL(dp_spsc_count(&r), 8);
		for (int k = 0; k < 5; k++)
			CU_ASSERT_EQUAL((uintptr_t)dp_spsc_pop(&r), next_out++);
		CU_ASSERT_EQUAL(dp_spsc_count(&r), 3);
	}
	CU_ASSERT(atomic_load(&r.head) < 64); /* the counters did wrap */
	while (dp_spsc_pop(&r))
		next_out++;
	CU_ASSERT_EQUAL(next_out, next_in);
	CU_ASSERT_EQUAL(dp_spsc_count(&r), 0);
}

#define RING_ITEMS 200000

static atomic_bool consumer_gave_up;

static void *ring_consumer(void *arg)
{
	struct dp_spsc *r = arg;
	uintptr_t want = 1;
	while (want <= RING_ITEMS) {
		void *p = dp_spsc_pop(r);
		if (!p)
			continue;
		if ((uintptr_t)p != want) { /* out of order or lost */
			atomic_store(&consumer_gave_up, true);
			return (void *)want;
		}
		want++;
	}
	return NULL;
}

static void test_ring_two_threads(void)
{
	void *slots[64];
	struct dp_spsc r;
	dp_spsc_init(&r, slots, 64);
	pthread_t t;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, ring_consumer, &r), 0);
	unsigned refused = 0;
	atomic_store(&consumer_gave_up, false);
	for (uintptr_t i = 1; i <= RING_ITEMS && !atomic_load(&consumer_gave_up);)
		if (dp_spsc_push(&r, (void *)i))
			i++;
		else
			refused++;
	void *bad;
	pthread_join(t, &bad);
	CU_ASSERT_PTR_NULL(bad);
	CU_ASSERT_EQUAL(dp_spsc_count(&r), 0);
	(void)refused; /* how often it was full depends on the scheduler */
}

/* ---- a recording sink ----------------------------------------------------------- */

struct rec_msg {
	char bytes[100000];
	size_t len;
};

struct rec {
	unsigned begun, committed, begin_fails;
	useconds_t write_delay_us;
	size_t rooms, released;      /* reserve_room given, release_room taken back */
	bool refuse_room;
	/* the last commit */
	struct rec_msg last;
	char client[64], verdict[256], helo[SL_HELO_MAX], rcpt[3][SL_ADDR_MAX], rules[2][32], text[64];
	size_t nrcpt, nrules, reserved;
	size_t nrcpt_all;             /* every recipient the commit carried */
	char last_rcpt[SL_ADDR_MAX];
	bool truncated, had_env, had_text;
	enum dp_msg_outcome outcome;
	uint64_t bytes;
};

static void *rec_begin(void *impl)
{
	struct rec *r = impl;
	if (r->begin_fails) {
		r->begin_fails--;
		return NULL;
	}
	r->begun++;
	return calloc(1, sizeof(struct rec_msg));
}

static void rec_write(void *impl, void *msg, const uint8_t *p, size_t n)
{
	struct rec *r = impl;
	struct rec_msg *m = msg;
	if (r->write_delay_us)
		usleep(r->write_delay_us);
	if (m->len + n <= sizeof m->bytes)
		memcpy(m->bytes + m->len, p, n);
	m->len += n;
}

static int rec_commit(void *impl, void *msg, const struct dp_msg_meta *meta)
{
	struct rec *r = impl;
	r->committed++;
	r->last = *(struct rec_msg *)msg;
	free(msg);
	snprintf(r->client, sizeof r->client, "%s", meta->client);
	snprintf(r->verdict, sizeof r->verdict, "%s", meta->verdict_json);
	r->had_text = meta->server_text != NULL;
	snprintf(r->text, sizeof r->text, "%s", meta->server_text ? meta->server_text : "");
	r->had_env = meta->env != NULL;
	r->nrcpt = 0;
	r->nrcpt_all = meta->env ? meta->env->nrcpt : 0;
	snprintf(r->last_rcpt, sizeof r->last_rcpt, "%s",
	         r->nrcpt_all ? meta->env->rcpt[r->nrcpt_all - 1].addr : "");
	if (meta->env) {
		snprintf(r->helo, sizeof r->helo, "%s", meta->env->helo);
		for (size_t i = 0; i < meta->env->nrcpt && i < 3; i++)
			if (sl_rcpt_counts(&meta->env->rcpt[i]))
				snprintf(r->rcpt[r->nrcpt++], sizeof r->rcpt[0], "%s", meta->env->rcpt[i].addr);
	}
	r->nrules = meta->nrules;
	for (size_t i = 0; i < meta->nrules && i < 2; i++)
		snprintf(r->rules[i], sizeof r->rules[i], "%s", meta->rules[i]);
	r->truncated = meta->truncated;
	r->reserved = meta->reserved;
	r->outcome = meta->outcome;
	r->bytes = meta->bytes;
	if (meta->reserved)
		r->released += meta->reserved; /* a real sink submits or gives it back */
	if (meta->outcome == DP_MSG_REJECTED || meta->outcome == DP_MSG_REFUSED)
		return 0;
	return meta->truncated ? -1 : 1;
}

static void rec_free(void *impl)
{
	(void)impl;
}

static size_t rec_room(void *impl, uint64_t bytes)
{
	struct rec *r = impl;
	if (r->refuse_room)
		return 0;
	r->rooms += bytes + 100;
	return bytes + 100;
}

static void rec_release(void *impl, size_t room)
{
	struct rec *r = impl;
	r->released += room;
}

static const struct dp_sink_ops rec_ops = {
	.begin = rec_begin,
	.write = rec_write,
	.commit = rec_commit,
	.free = rec_free,
	.reserve_room = rec_room,
	.release_room = rec_release,
};

struct fixture {
	struct rec rec;
	struct dp_counters ctr;
	struct dp_sink queued;
	struct dp_sinkq *q;
};

static void fixture_init(struct fixture *f, unsigned messages, uint64_t bytes)
{
	memset(f, 0, sizeof *f);
	struct dp_sink inner = {.ops = &rec_ops, .impl = &f->rec};
	f->q = dp_sinkq_new(&inner, messages, bytes, dp_sinkq_journal_counters(&f->ctr), &f->queued);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f->q);
}

static void fixture_free(struct fixture *f)
{
	f->queued.ops->free(f->queued.impl);
}

static void fill_pattern(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + seed);
}

static const struct dp_msg_meta plain_meta = {
	.client = "192.0.2.1:40000", .server = "198.51.100.2:25",
	.verdict_json = "{\"action\":\"pass\"}", .outcome = DP_MSG_DELIVERED,
};

/* ---- the queue on one thread (the test plays the sink thread) -------------------- */

static void test_queue_bytes_and_meta(void)
{
	struct fixture f;
	fixture_init(&f, 4, 4 * DP_SINKQ_CHUNK);
	static uint8_t msg[2 * DP_SINKQ_CHUNK + 333];
	fill_pattern(msg, sizeof msg, 3);
	void *h = f.queued.ops->begin(f.queued.impl);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	/* uneven writes across chunk boundaries */
	size_t off = 0, step = 1000;
	while (off < sizeof msg) {
		size_t n = sizeof msg - off < step ? sizeof msg - off : step;
		f.queued.ops->write(f.queued.impl, h, msg + off, n);
		off += n;
		step = step * 3 % 7001 + 1;
	}
	CU_ASSERT_EQUAL(f.rec.begun, 0); /* nothing reached the sink on the worker's side */
	struct sl_envelope env;
	memset(&env, 0, sizeof env);
	snprintf(env.helo, sizeof env.helo, "client.example");
	struct sl_rcpt rcpt[3] = {
		{.addr = "a@example.com", .status = SL_RCPT_ACCEPTED},
		{.addr = "refused@example.com", .status = SL_RCPT_REFUSED},
		{.addr = "b@example.com", .status = SL_RCPT_PENDING},
	};
	env.rcpt = rcpt;
	env.nrcpt = 3;
	char verdict[64], client[32];
	snprintf(verdict, sizeof verdict, "{\"action\":\"alert\"}");
	snprintf(client, sizeof client, "192.0.2.7:1234");
	const char *rules[2] = {"r.one", "r.two"};
	struct dp_msg_meta m = {
		.env = &env, .client = client, .server = "198.51.100.2:25", .verdict_json = verdict,
		.rules = rules, .nrules = 2, .outcome = DP_MSG_DELIVERED, .server_code = 250,
		.server_text = "2.0.0 Ok", .bytes = sizeof msg,
	};
	CU_ASSERT_EQUAL(f.queued.ops->commit(f.queued.impl, h, &m), DP_SINK_QUEUED);
	/* the worker's buffers are reused at once: the queue holds its own copy */
	memset(verdict, 'x', sizeof verdict - 1);
	memset(client, 'y', sizeof client - 1);
	memset(&env, 0, sizeof env);
	CU_ASSERT_EQUAL(f.ctr.journal_queued, 1);
	CU_ASSERT_EQUAL(dp_journal_backlog(&f.ctr), 1);
	CU_ASSERT(dp_sinkq_service(f.q) >= 4); /* 3 chunks + the commit */
	CU_ASSERT_EQUAL(f.rec.committed, 1);
	CU_ASSERT_EQUAL(f.rec.last.len, sizeof msg);
	CU_ASSERT_EQUAL(memcmp(f.rec.last.bytes, msg, sizeof msg), 0);
	CU_ASSERT_STRING_EQUAL(f.rec.client, "192.0.2.7:1234");
	CU_ASSERT_STRING_EQUAL(f.rec.verdict, "{\"action\":\"alert\"}");
	CU_ASSERT_STRING_EQUAL(f.rec.helo, "client.example");
	CU_ASSERT_EQUAL(f.rec.nrcpt, 2); /* the refused one does not count */
	CU_ASSERT_STRING_EQUAL(f.rec.rcpt[0], "a@example.com");
	CU_ASSERT_STRING_EQUAL(f.rec.rcpt[1], "b@example.com");
	CU_ASSERT_EQUAL(f.rec.nrules, 2);
	CU_ASSERT_STRING_EQUAL(f.rec.rules[1], "r.two");
	CU_ASSERT_TRUE(f.rec.had_text);
	CU_ASSERT_STRING_EQUAL(f.rec.text, "2.0.0 Ok");
	CU_ASSERT_FALSE(f.rec.truncated);
	CU_ASSERT_EQUAL(f.rec.bytes, sizeof msg);
	CU_ASSERT_EQUAL(f.ctr.journal_ok, 1);
	CU_ASSERT_EQUAL(dp_journal_backlog(&f.ctr), 0);
	CU_ASSERT_EQUAL(f.ctr.journal_overflow, 0);
	fixture_free(&f);
}

/* The pool recycles: many more messages than slots and chunks, one at a time. */
static void test_queue_recycles(void)
{
	struct fixture f;
	fixture_init(&f, 2, 3 * DP_SINKQ_CHUNK); /* two chunks of bytes, one of metadata */
	static uint8_t msg[DP_SINKQ_CHUNK + 10];
	for (unsigned i = 0; i < 50; i++) {
		fill_pattern(msg, sizeof msg, i);
		void *h = f.queued.ops->begin(f.queued.impl);
		CU_ASSERT_PTR_NOT_NULL_FATAL(h);
		f.queued.ops->write(f.queued.impl, h, msg, sizeof msg);
		struct dp_msg_meta m = plain_meta;
		m.outcome = i % 5 == 0 ? DP_MSG_REFUSED : DP_MSG_DELIVERED;
		CU_ASSERT_EQUAL(f.queued.ops->commit(f.queued.impl, h, &m), DP_SINK_QUEUED);
		dp_sinkq_service(f.q);
		CU_ASSERT_EQUAL(memcmp(f.rec.last.bytes, msg, sizeof msg), 0);
	}
	CU_ASSERT_EQUAL(f.ctr.journal_ok, 40);
	CU_ASSERT_EQUAL(f.ctr.journal_skipped, 10);
	CU_ASSERT_EQUAL(f.ctr.journal_overflow, 0);
	fixture_free(&f);
}

/* Nobody empties the queue: the worker neither waits nor fails; the copies that do
 * not fit are cut and counted, and the sink learns they are incomplete. */
static void test_queue_full_cuts_never_waits(void)
{
	struct fixture f;
	fixture_init(&f, 2, 3 * DP_SINKQ_CHUNK);
	static uint8_t msg[DP_SINKQ_CHUNK * 4];
	fill_pattern(msg, sizeof msg, 1);
	void *a = f.queued.ops->begin(f.queued.impl);
	void *b = f.queued.ops->begin(f.queued.impl);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_PTR_NULL(f.queued.ops->begin(f.queued.impl)); /* no third slot */
	CU_ASSERT_EQUAL(f.ctr.journal_overflow, 1);
	f.queued.ops->write(f.queued.impl, a, msg, sizeof msg); /* 4 chunks' worth, 3 exist */
	CU_ASSERT_EQUAL(f.ctr.journal_overflow, 2);
	CU_ASSERT_FALSE(f.queued.ops->reserve(f.queued.impl, a, sizeof msg)); /* cut: no promise */
	f.queued.ops->write(f.queued.impl, b, msg, 100); /* no chunk left for b either */
	CU_ASSERT_EQUAL(f.ctr.journal_overflow, 3);
	CU_ASSERT_EQUAL(f.queued.ops->commit(f.queued.impl, a, &plain_meta), DP_SINK_QUEUED);
	CU_ASSERT_EQUAL(f.queued.ops->commit(f.queued.impl, b, &plain_meta), DP_SINK_QUEUED);
	CU_ASSERT_EQUAL(dp_journal_backlog(&f.ctr), 2);
	dp_sinkq_service(f.q);
	CU_ASSERT_EQUAL(f.rec.committed, 2);
	CU_ASSERT_TRUE(f.rec.truncated);
	CU_ASSERT_EQUAL(f.ctr.journal_failed, 2);
	CU_ASSERT_EQUAL(f.ctr.journal_ok, 0);
	CU_ASSERT_EQUAL(dp_journal_backlog(&f.ctr), 0);
	CU_ASSERT_EQUAL(f.rec.rooms, 0);
	/* drained: whole copies go through again (two chunks of bytes, one of metadata) */
	void *c = f.queued.ops->begin(f.queued.impl);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	f.queued.ops->write(f.queued.impl, c, msg, 2 * DP_SINKQ_CHUNK);
	CU_ASSERT_EQUAL(f.queued.ops->commit(f.queued.impl, c, &plain_meta), DP_SINK_QUEUED);
	dp_sinkq_service(f.q);
	CU_ASSERT_FALSE(f.rec.truncated);
	CU_ASSERT_EQUAL(f.rec.last.len, 2 * DP_SINKQ_CHUNK);
	CU_ASSERT_EQUAL(f.ctr.journal_ok, 1);
	fixture_free(&f);
}

/* Metadata beyond a chunk (a long verdict; hundreds of recipients): that message's
 * strings get a buffer of their own and the copy stays whole (was: cut, so a message
 * with a large envelope was never journaled, and the dump wrote "verdict":, for it). */
static void test_queue_meta_too_big(void)
{
	struct fixture f;
	fixture_init(&f, 1, 2 * DP_SINKQ_CHUNK); /* a chunk for the metadata is there */
	static char verdict[DP_SINKQ_CHUNK + 10];
	memset(verdict, 'v', sizeof verdict - 1);
	enum { NRCPT = 400 };
	static struct sl_rcpt rcpt[NRCPT];
	for (unsigned i = 0; i < NRCPT; i++) {
		snprintf(rcpt[i].addr, sizeof rcpt[i].addr, "recipient-%03u-with-a-long-local-part@example.net", i);
		rcpt[i].status = SL_RCPT_ACCEPTED;
	}
	struct sl_envelope env = {.helo = "client.example.org", .mail_from = "a@example.org",
	                          .rcpt = rcpt, .nrcpt = NRCPT};
	struct dp_msg_meta m = plain_meta;
	m.verdict_json = verdict;
	m.env = &env;
	CU_ASSERT(dp_sinkmeta_need(&m) > DP_SINKQ_CHUNK + 400 * 40);
	void *h = f.queued.ops->begin(f.queued.impl);
	f.queued.ops->write(f.queued.impl, h, (const uint8_t *)"x\r\n", 3);
	CU_ASSERT_EQUAL(f.queued.ops->commit(f.queued.impl, h, &m), DP_SINK_QUEUED);
	dp_sinkq_service(f.q);
	CU_ASSERT_FALSE(f.rec.truncated);
	CU_ASSERT_EQUAL(f.ctr.journal_ok, 1);
	CU_ASSERT_EQUAL(f.ctr.journal_overflow, 0);
	CU_ASSERT_EQUAL(strlen(f.rec.verdict), sizeof f.rec.verdict - 1); /* the long one, as far as kept */
	CU_ASSERT_EQUAL(f.rec.verdict[0], 'v');
	CU_ASSERT_STRING_EQUAL(f.rec.rcpt[2], "recipient-002-with-a-long-local-part@example.net");
	CU_ASSERT_EQUAL(f.rec.nrcpt_all, NRCPT);
	CU_ASSERT_STRING_EQUAL(f.rec.last_rcpt, "recipient-399-with-a-long-local-part@example.net");
	fixture_free(&f);
}

/* Every byte fitted, but no chunk is left for the metadata at commit: cut too. */
static void test_queue_no_chunk_for_meta(void)
{
	struct fixture f;
	fixture_init(&f, 1, DP_SINKQ_CHUNK);
	void *h = f.queued.ops->begin(f.queued.impl);
	f.queued.ops->write(f.queued.impl, h, (const uint8_t *)"x\r\n", 3);
	CU_ASSERT_TRUE(f.queued.ops->reserve(f.queued.impl, h, 3)); /* not cut yet */
	CU_ASSERT_EQUAL(f.queued.ops->commit(f.queued.impl, h, &plain_meta), DP_SINK_QUEUED);
	CU_ASSERT_EQUAL(f.ctr.journal_overflow, 1);
	dp_sinkq_service(f.q);
	CU_ASSERT_TRUE(f.rec.truncated);
	CU_ASSERT_STRING_EQUAL(f.rec.verdict, "null"); /* a record without its strings is still JSON */
	CU_ASSERT_EQUAL(f.ctr.journal_failed, 1);
	CU_ASSERT_EQUAL(f.rec.released, f.rec.rooms); /* the promised room given back */
	fixture_free(&f);
}

/* The same on a message slot that carried a whole message before: nothing of that
 * message's metadata is taken for this one's (its strings' length once was, with no
 * buffer under it: the sink thread read through a null pointer, seen in sluice-dp with
 * the dump's pool drained by a burst). */
static void test_queue_no_chunk_for_meta_reused_slot(void)
{
	struct fixture f;
	fixture_init(&f, 1, DP_SINKQ_CHUNK);
	void *h = f.queued.ops->begin(f.queued.impl);
	CU_ASSERT_EQUAL(f.queued.ops->commit(f.queued.impl, h, &plain_meta), DP_SINK_QUEUED);
	dp_sinkq_service(f.q);
	CU_ASSERT_STRING_EQUAL(f.rec.client, plain_meta.client);
	CU_ASSERT_EQUAL(f.ctr.journal_ok, 1);

	struct dp_msg_meta rejected = plain_meta;
	rejected.outcome = DP_MSG_REJECTED;
	rejected.client = "203.0.113.9:41000";
	h = f.queued.ops->begin(f.queued.impl);
	f.queued.ops->write(f.queued.impl, h, (const uint8_t *)"x\r\n", 3); /* the only chunk */
	CU_ASSERT_EQUAL(f.queued.ops->commit(f.queued.impl, h, &rejected), DP_SINK_QUEUED);
	CU_ASSERT_EQUAL(f.ctr.journal_overflow, 1);
	dp_sinkq_service(f.q);
	CU_ASSERT_EQUAL(f.rec.committed, 2);
	CU_ASSERT_TRUE(f.rec.truncated);
	CU_ASSERT_EQUAL(f.rec.outcome, DP_MSG_REJECTED); /* this message's, not the last one's */
	CU_ASSERT_STRING_EQUAL(f.rec.client, "");
	CU_ASSERT_STRING_EQUAL(f.rec.verdict, "null");
	CU_ASSERT_FALSE(f.rec.had_env);
	fixture_free(&f);
}

/* [journal] required: the promise is made on the worker and travels to the commit;
 * a message the real sink could not start gives its room back. */
static void test_queue_reserve(void)
{
	struct fixture f;
	fixture_init(&f, 2, 2 * DP_SINKQ_CHUNK);
	CU_ASSERT_PTR_NOT_NULL(f.queued.ops->reserve);
	void *h = f.queued.ops->begin(f.queued.impl);
	f.queued.ops->write(f.queued.impl, h, (const uint8_t *)"hello\r\n", 7);
	CU_ASSERT_TRUE(f.queued.ops->reserve(f.queued.impl, h, 7));
	CU_ASSERT_TRUE(f.queued.ops->reserve(f.queued.impl, h, 7)); /* held: not twice */
	CU_ASSERT_EQUAL(f.rec.rooms, 107);
	f.queued.ops->commit(f.queued.impl, h, &plain_meta);
	dp_sinkq_service(f.q);
	CU_ASSERT_EQUAL(f.rec.reserved, 107);
	CU_ASSERT_EQUAL(f.rec.released, 107);

	f.rec.refuse_room = true;
	h = f.queued.ops->begin(f.queued.impl);
	CU_ASSERT_FALSE(f.queued.ops->reserve(f.queued.impl, h, 7));
	f.queued.ops->commit(f.queued.impl, h, &plain_meta);
	dp_sinkq_service(f.q);
	f.rec.refuse_room = false;

	f.rec.begin_fails = 1; /* e.g. the temporary file cannot be created */
	h = f.queued.ops->begin(f.queued.impl);
	f.queued.ops->write(f.queued.impl, h, (const uint8_t *)"hello\r\n", 7);
	CU_ASSERT_TRUE(f.queued.ops->reserve(f.queued.impl, h, 7));
	f.queued.ops->commit(f.queued.impl, h, &plain_meta);
	dp_sinkq_service(f.q);
	CU_ASSERT_EQUAL(f.rec.rooms, 214);
	CU_ASSERT_EQUAL(f.rec.released, 214);
	CU_ASSERT_EQUAL(f.ctr.journal_failed, 1);
	CU_ASSERT_EQUAL(f.ctr.journal_ok, 2);
	fixture_free(&f);
}

/* A sink without reserve_room cannot promise: the queue does not pretend to. */
static void test_queue_no_reserve_without_room(void)
{
	static const struct dp_sink_ops plain = {
		.begin = rec_begin, .write = rec_write, .commit = rec_commit, .free = rec_free,
	};
	struct rec rec;
	memset(&rec, 0, sizeof rec);
	struct dp_counters ctr;
	memset(&ctr, 0, sizeof ctr);
	struct dp_sink inner = {.ops = &plain, .impl = &rec}, out;
	struct dp_sinkq *q = dp_sinkq_new(&inner, 1, DP_SINKQ_CHUNK, dp_sinkq_journal_counters(&ctr), &out);
	CU_ASSERT_PTR_NOT_NULL_FATAL(q);
	CU_ASSERT_PTR_NULL(out.ops->reserve);
	out.ops->free(out.impl);
	CU_ASSERT_PTR_NULL(dp_sinkq_new(&inner, 0, DP_SINKQ_CHUNK, dp_sinkq_journal_counters(&ctr), &out));
	CU_ASSERT_PTR_NULL(dp_sinkq_new(&inner, 1, DP_SINKQ_CHUNK - 1, dp_sinkq_journal_counters(&ctr), &out));
}

/* ---- the sink thread -------------------------------------------------------------- */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A sink that takes 2 ms per write: 200 messages take it >= 0.4 s; the producer hands
 * them over in far less, and a stop drains them all. */
static void test_thread_slow_sink_drains(void)
{
	struct fixture f;
	fixture_init(&f, 256, 512 * DP_SINKQ_CHUNK);
	f.rec.write_delay_us = 2000;
	struct dp_sink_work w = dp_sinkq_work(f.q);
	struct dp_sinkthread *r = dp_sinkthread_start(&w, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	static uint8_t msg[5000];
	fill_pattern(msg, sizeof msg, 9);
	double t0 = now_s();
	for (int i = 0; i < 200; i++) {
		void *h = f.queued.ops->begin(f.queued.impl);
		CU_ASSERT_PTR_NOT_NULL_FATAL(h);
		f.queued.ops->write(f.queued.impl, h, msg, sizeof msg);
		f.queued.ops->commit(f.queued.impl, h, &plain_meta);
	}
	double producer = now_s() - t0;
	CU_ASSERT(producer < 0.1);
	CU_ASSERT(dp_journal_backlog(&f.ctr) > 0); /* the sink is behind */
	dp_sinkthread_stop(r);
	double total = now_s() - t0;
	CU_ASSERT(total >= 0.4);
	CU_ASSERT_EQUAL(f.rec.committed, 200);
	CU_ASSERT_EQUAL(f.ctr.journal_ok, 200);
	CU_ASSERT_EQUAL(f.ctr.journal_overflow, 0);
	CU_ASSERT_EQUAL(dp_journal_backlog(&f.ctr), 0);
	CU_ASSERT_EQUAL(memcmp(f.rec.last.bytes, msg, sizeof msg), 0);
	printf("\n  200 messages handed over in %.1f ms; the slow sink finished after %.0f ms\n",
	       producer * 1e3, total * 1e3);
	fixture_free(&f);
}

/* Producer faster than the sink with a small pool: overflow is counted, nothing is
 * lost silently: every begun copy is either kept or counted failed. */
static void test_thread_overload_accounted(void)
{
	struct fixture f;
	fixture_init(&f, 8, 8 * DP_SINKQ_CHUNK);
	f.rec.write_delay_us = 1000;
	struct dp_sink_work w = dp_sinkq_work(f.q);
	struct dp_sinkthread *r = dp_sinkthread_start(&w, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	static uint8_t msg[3000];
	unsigned handed = 0, refused = 0;
	for (int i = 0; i < 300; i++) {
		void *h = f.queued.ops->begin(f.queued.impl);
		if (!h) {
			refused++;
			continue;
		}
		f.queued.ops->write(f.queued.impl, h, msg, sizeof msg);
		CU_ASSERT_EQUAL(f.queued.ops->commit(f.queued.impl, h, &plain_meta), DP_SINK_QUEUED);
		handed++;
	}
	dp_sinkthread_stop(r);
	CU_ASSERT(refused > 0);
	CU_ASSERT_EQUAL(f.ctr.journal_queued, handed);
	CU_ASSERT_EQUAL(f.ctr.journal_ok + f.ctr.journal_failed, handed);
	CU_ASSERT_EQUAL(f.ctr.journal_overflow, refused + f.ctr.journal_failed);
	fixture_free(&f);
}

/* ---- the dump sink behind its queue (--dump-messages inline) ---------------------- */

static unsigned dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	unsigned n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* The whole file, malloc'd (*len its length); NULL when it cannot be read. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *b = malloc(4 * DP_SINKQ_CHUNK);
	*len = b ? fread(b, 1, 4 * DP_SINKQ_CHUNK - 1, f) : 0;
	fclose(f);
	if (b)
		b[*len] = 0;
	return b;
}

/* The worker's begin/write/commit leave the dump's directory untouched (no temporary
 * file, no verdict line): the files are written by whoever services the queue, every
 * message whole, and the dump's counters (not the journal's) count them. */
static void test_dump_behind_queue(void)
{
	char dir[] = "/tmp/sl_sinkq_dump_XXXXXX", err[256], path[300];
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	struct dp_sink real, dump;
	CU_ASSERT_EQUAL_FATAL(dp_dumpsink_open(&real, dir, err, sizeof err), 0);
	struct dp_counters ctr;
	memset(&ctr, 0, sizeof ctr);
	struct dp_sinkq *q = dp_sinkq_new(&real, 4, 8 * DP_SINKQ_CHUNK, dp_sinkq_dump_counters(&ctr), &dump);
	CU_ASSERT_PTR_NOT_NULL_FATAL(q);
	static uint8_t big[DP_SINKQ_CHUNK + 4321];
	fill_pattern(big, sizeof big, 9);
	const uint8_t small[] = "Subject: hi\r\n\r\nbody\r\n";
	struct dp_msg_meta rejected = plain_meta;
	rejected.outcome = DP_MSG_REJECTED;
	const struct { const uint8_t *p; size_t n; const struct dp_msg_meta *m; } msgs[3] = {
		{big, sizeof big, &plain_meta}, {small, sizeof small - 1, &rejected},
		{small, sizeof small - 1, &plain_meta},
	};
	for (int i = 0; i < 3; i++) {
		void *h = dump.ops->begin(dump.impl);
		CU_ASSERT_PTR_NOT_NULL_FATAL(h);
		dump.ops->write(dump.impl, h, msgs[i].p, msgs[i].n);
		CU_ASSERT_EQUAL(dump.ops->commit(dump.impl, h, msgs[i].m), DP_SINK_QUEUED);
	}
	CU_ASSERT_EQUAL(dir_entries(dir), 1); /* verdicts.jsonl, opened at start, and nothing else */
	snprintf(path, sizeof path, "%s/verdicts.jsonl", dir);
	size_t len = 1;
	char *lines = slurp(path, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(lines);
	CU_ASSERT_EQUAL(len, 0);
	free(lines);
	CU_ASSERT_EQUAL(ctr.dump_queued, 3);
	CU_ASSERT_EQUAL(ctr.dump_ok + ctr.dump_skipped + ctr.dump_failed, 0);

	CU_ASSERT(dp_sinkq_service(q) >= 5); /* 2 chunks + 1 + 1, 3 commits */
	CU_ASSERT_EQUAL(ctr.dump_ok, 2);
	CU_ASSERT_EQUAL(ctr.dump_skipped, 1);
	CU_ASSERT_EQUAL(ctr.dump_failed, 0);
	CU_ASSERT_EQUAL(ctr.dump_overflow, 0);
	CU_ASSERT_EQUAL(ctr.journal_queued + ctr.journal_ok + ctr.journal_skipped + ctr.journal_failed, 0);
	lines = slurp(path, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(lines);
	unsigned nl = 0;
	for (size_t i = 0; i < len; i++)
		nl += lines[i] == '\n';
	CU_ASSERT_EQUAL(nl, 3);
	CU_ASSERT_PTR_NOT_NULL(strstr(lines, "\"rejected\""));
	free(lines);
	snprintf(path, sizeof path, "%s/1.eml", dir);
	char *eml = slurp(path, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(eml);
	CU_ASSERT_EQUAL(len, sizeof big);
	CU_ASSERT_EQUAL(memcmp(eml, big, sizeof big), 0);
	free(eml);
	snprintf(path, sizeof path, "%s/2.eml", dir);
	eml = slurp(path, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(eml);
	CU_ASSERT_STRING_EQUAL(eml, (const char *)small);
	free(eml);
	CU_ASSERT_EQUAL(dir_entries(dir), 3); /* no third .eml: the rejected one is a line only */
	dump.ops->free(dump.impl);
	unlink(path);
	snprintf(path, sizeof path, "%s/1.eml", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/verdicts.jsonl", dir);
	unlink(path);
	CU_ASSERT_EQUAL(rmdir(dir), 0);
}

int main(void)
{
	static const struct cu_test tests[] = {
		{"ring: full, empty, wraparound", test_ring_full_empty_wrap},
		{"ring: two threads, in order", test_ring_two_threads},
		{"queue: bytes across chunks, metadata deep-copied", test_queue_bytes_and_meta},
		{"queue: pool recycles", test_queue_recycles},
		{"queue: full pool cuts the copy, never waits", test_queue_full_cuts_never_waits},
		{"queue: metadata beyond a chunk stays whole", test_queue_meta_too_big},
		{"queue: no chunk left for the metadata", test_queue_no_chunk_for_meta},
		{"queue: no chunk for the metadata, on a reused slot", test_queue_no_chunk_for_meta_reused_slot},
		{"queue: [journal] required room", test_queue_reserve},
		{"queue: no promise without reserve_room", test_queue_no_reserve_without_room},
		{"thread: slow sink, stop drains", test_thread_slow_sink_drains},
		{"thread: overload accounted", test_thread_overload_accounted},
		{"dump: files written by the sink thread only, its own counters", test_dump_behind_queue},
		{NULL, NULL},
	};
	return cu_run_suite("dataplane sink queue", NULL, NULL, tests);
}
