/* [journal] required on the inline path, with the real archive sink and spooling
 * sender: when the journal cannot promise a durable copy (spool at its cap, spool
 * directory unusable) a message that would pass gets 451 at end of data and the
 * server never sees its end; without `required` the same message passes and the lost
 * copy is only counted. Every test runs twice: with the archive sink called on the worker,
 * and behind the sink queue as sluice-dp runs it (the queue emptied by the test where
 * the sink thread would, before each count is read). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cunit_run.h"

#include "output/archivesink.h"
#include "output/sinkqueue.h"
#include "journal.h"
#include "flowharness.h"

#define BODY_BYTES 20000

/* A message of about BODY_BYTES: a subject, then lines of 'a'. */
static size_t big_message(char *out, size_t cap, const char *subject)
{
	size_t n = (size_t)snprintf(out, cap, "From: alice@example.com\r\nSubject: %s\r\n\r\n", subject);
	while (n + 80 < cap && n < BODY_BYTES) {
		memset(out + n, 'a', 76);
		memcpy(out + n + 76, "\r\n", 2);
		n += 78;
	}
	return n;
}

struct required_setup {
	char spool[40], partial[64];
	struct sl_journal *j;
	struct dp_sink sink;
	struct dp_sinkq *queue; /* NULL: the archive sink itself */
	struct harness h;
};

static bool queued; /* this suite's sink: behind the queue or not */

static int suite_direct(void)
{
	queued = false;
	return 0;
}

static int suite_queued(void)
{
	queued = true;
	return 0;
}

/* What the sink thread has to do, done: the counts are final. */
static void settle(struct required_setup *r)
{
	if (r->queue)
		dp_sinkq_service(r->queue);
}

/* The harness (policy may be NULL: every message passes) with `required` on or off and
 * a spool-only journal capped at max_spool. */
static void setup(struct required_setup *r, const char *policy, bool required, uint64_t max_spool)
{
	char err[256], cfg[256];
	snprintf(r->spool, sizeof r->spool, "/tmp/sluice-dp-required-XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(r->spool));
	snprintf(r->partial, sizeof r->partial, "%s.partial", r->spool);
	snprintf(cfg, sizeof cfg, "[journal]\nspool = %s\nrequired = %s\n", r->spool,
	         required ? "yes" : "no");
	h_init(&r->h, policy, cfg);
	struct sl_journal_config jc = {.spool_dir = r->spool, .max_spool_bytes = max_spool};
	r->j = sl_journal_open(&jc, err, sizeof err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r->j);
	CU_ASSERT_EQUAL_FATAL(dp_archivesink_open(&r->sink, r->j, r->partial, "t", err, sizeof err), 0);
	r->queue = NULL;
	if (queued) {
		struct dp_sink real = r->sink;
		r->queue = dp_sinkq_new(&real, 4, 8 * DP_SINKQ_CHUNK, dp_sinkq_journal_counters(&r->h.ctr), &r->sink);
		CU_ASSERT_PTR_NOT_NULL_FATAL(r->queue);
	}
	r->h.in.ctx.journal = &r->sink;
}

static void teardown(struct required_setup *r)
{
	h_free(&r->h);
	settle(r);
	sl_journal_close(r->j);
	r->sink.ops->free(r->sink.impl);
	char cmd[256];
	snprintf(cmd, sizeof cmd, "rm -rf %s %s", r->spool, r->partial);
	CU_ASSERT_EQUAL(system(cmd), 0);
}

/* One message on a new connection (client port `port`), up to and including the end
 * of data; true when the server saw the end of data. */
static bool send_message(struct required_setup *r, uint16_t port, const char *subject)
{
	static char msg[BODY_BYTES + 200];
	h_use_port(&r->h, port, 0x10000000u * port);
	h_to_data(&r->h);
	size_t n = big_message(msg, sizeof msg, subject);
	h_say_big(&r->h, msg, n);
	h_say(&r->h, true, ".\r\n");
	return h_got_has(&r->h.s, "aaaa\r\n.\r\n");
}

/* The spool holds room for one message: the second gets 451 with required. */
static void test_spool_cap_defers_with_required(void)
{
	struct required_setup r;
	setup(&r, NULL, true, BODY_BYTES + BODY_BYTES / 2);
	CU_ASSERT_TRUE(send_message(&r, 40001, "first"));
	h_say(&r.h, false, "250 2.0.0 Ok: queued\r\n");
	settle(&r);
	CU_ASSERT_EQUAL(r.h.ctr.journal_ok, 1);
	CU_ASSERT_TRUE(sl_journal_drain(r.j, false, 5000));

	CU_ASSERT_FALSE(send_message(&r, 40002, "second"));
	settle(&r);
	CU_ASSERT_TRUE(h_got_has(&r.h.c, "\r\n451 4.3.0 "));
	CU_ASSERT_EQUAL(r.h.s.rsts, 1); /* the server's half-received message is aborted */
	CU_ASSERT_EQUAL(r.h.ctr.journal_required_deferred, 1);
	CU_ASSERT_EQUAL(r.h.ctr.enforced_reject, 1);
	CU_ASSERT_EQUAL(r.h.ctr.journal_failed, 0);
	struct sl_journal_stats st;
	sl_journal_get_stats(r.j, &st);
	CU_ASSERT_EQUAL(st.reserve_refused, 1);
	CU_ASSERT_EQUAL(st.spool_files, 1);
	teardown(&r);
}

/* The default: the same second message passes; its copy is lost and counted. */
static void test_spool_cap_without_required_passes(void)
{
	struct required_setup r;
	setup(&r, NULL, false, BODY_BYTES + BODY_BYTES / 2);
	CU_ASSERT_TRUE(send_message(&r, 40001, "first"));
	h_say(&r.h, false, "250 2.0.0 Ok: queued\r\n");
	settle(&r);
	CU_ASSERT_TRUE(sl_journal_drain(r.j, false, 5000));
	CU_ASSERT_TRUE(send_message(&r, 40002, "second"));
	h_say(&r.h, false, "250 2.0.0 Ok: queued\r\n");
	settle(&r);
	CU_ASSERT_FALSE(h_got_has(&r.h.c, "451 "));
	CU_ASSERT_EQUAL(r.h.ctr.journal_ok, 1);
	CU_ASSERT_EQUAL(r.h.ctr.journal_failed, 1);
	CU_ASSERT_EQUAL(r.h.ctr.journal_required_deferred, 0);
	struct sl_journal_stats st;
	sl_journal_get_stats(r.j, &st);
	CU_ASSERT_EQUAL(st.spool_full, 1);
	teardown(&r);
}

/* Wait (bounded) until the journal's writer has seen the spool as failing or not. */
static bool wait_failing(struct sl_journal *j, bool failing)
{
	for (int i = 0; i < 60; i++) {
		struct sl_journal_stats st;
		sl_journal_get_stats(j, &st);
		if (st.spool_failing == failing)
			return true;
		usleep(50000);
	}
	return false;
}

/* The spool directory gone (a file in its place): 451; back: mail flows again. */
static void test_unusable_spool_defers_then_recovers(void)
{
	struct required_setup r;
	setup(&r, NULL, true, 0);
	char cmd[256];
	snprintf(cmd, sizeof cmd, "rm -rf %s && touch %s", r.spool, r.spool);
	CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
	CU_ASSERT_TRUE_FATAL(wait_failing(r.j, true));
	CU_ASSERT_FALSE(send_message(&r, 40001, "while broken"));
	CU_ASSERT_TRUE(h_got_has(&r.h.c, "\r\n451 4.3.0 "));
	CU_ASSERT_EQUAL(r.h.ctr.journal_required_deferred, 1);

	snprintf(cmd, sizeof cmd, "rm -f %s && mkdir -m 0700 %s", r.spool, r.spool);
	CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
	CU_ASSERT_TRUE_FATAL(wait_failing(r.j, false));
	CU_ASSERT_TRUE(send_message(&r, 40002, "after repair"));
	h_say(&r.h, false, "250 2.0.0 Ok: queued\r\n");
	settle(&r);
	CU_ASSERT_EQUAL(r.h.ctr.journal_ok, 1);
	CU_ASSERT_TRUE(sl_journal_drain(r.j, false, 5000));
	struct sl_journal_stats st;
	sl_journal_get_stats(r.j, &st);
	CU_ASSERT_EQUAL(st.spool_files, 1);
	teardown(&r);
}

/* A quarantined message has no other copy: with required it is not accepted either
 * when the journal cannot keep it. */
static void test_quarantine_needs_room_too(void)
{
	struct required_setup r;
	static const char quarantine[] =
		"rule test.secret {\n\tdescription \"quarantine\"\n\tmatch raw \"SECRET\"\n"
		"\taction quarantine\n}\n";
	setup(&r, quarantine, true, 1000); /* room for nothing */
	struct harness *h = &r.h;
	h_to_data(h);
	h_say(h, true, "Subject: plans\r\n\r\nthe SECRET plan\r\n.\r\n");
	CU_ASSERT_TRUE(h_got_has(&h->c, "\r\n451 4.3.0 "));
	CU_ASSERT_FALSE(h_got_has(&h->c, "\r\n250 2.0.0 Ok: queued"));
	CU_ASSERT_EQUAL(h->ctr.journal_required_deferred, 1);
	CU_ASSERT_EQUAL(h->ctr.enforced_quarantine, 0);
	teardown(&r);
}

int main(void)
{
	static const struct cu_test tests[] = {
		{"spool cap: 451 with required", test_spool_cap_defers_with_required},
		{"spool cap: passes and counted without required", test_spool_cap_without_required_passes},
		{"unusable spool: 451, then recovers", test_unusable_spool_defers_then_recovers},
		{"quarantine needs room too", test_quarantine_needs_room_too},
		{NULL, NULL},
	};
	cu_add_suite("dataplane journal required (archive sink on the worker)", suite_direct, NULL, tests);
	cu_add_suite("dataplane journal required (behind the sink queue)", suite_queued, NULL, tests);
	return cu_run_registered();
}
