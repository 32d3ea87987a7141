/* One policy shared by threads, one scanner per thread, one msgscan per message; a
 * policy swapped in while messages are in flight leaves them on the policy they began
 * with, and the messages begun after the swap are judged by the new one. */
#include <CUnit/Basic.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "helpers.h"

enum {
	WORKERS = 3,
	BEFORE_SWAP = 50,      /* messages each worker judges before the swap */
	AFTER_SWAP = 50,       /* messages each worker must judge under the new policy */
	MAX_MESSAGES = 20000,  /* per worker: ends the test if the swap never shows */
};

struct worker {
	pthread_t th;
	atomic_int begun;      /* messages begun so far */
	atomic_bool finished;
	int judged[2];         /* messages judged under v1, v2 */
	int wrong;
};

static struct sl_policy *_Atomic current;

static void *worker(void *arg)
{
	struct worker *w = arg;
	struct sl_scanner *sc = sl_scanner_new();
	for (int i = 0; i < MAX_MESSAGES && w->judged[1] < AFTER_SWAP; i++) {
		struct sl_policy *p = sl_policy_ref(atomic_load(&current));
		struct tp_msg t = {.chunk = 7};
		tp_begin(&t, sc, p, SL_DIR_OUTBOUND);
		atomic_store(&w->begun, i + 1);
		/* the policy this message began with decides, whatever is current now */
		bool v2 = sl_policy_rule_count(p) == 2;
		sl_policy_unref(p);
		tp_text(&t, "1", "card 4111 1111 1111 1111 and the word secret");
		const struct sl_verdict *v = tp_end(&t);
		enum sl_action want = v2 ? SL_ACT_REJECT : SL_ACT_QUARANTINE;
		if (v->action != want || (v2 && !tp_hit(v, "v2.secret")))
			w->wrong++;
		w->judged[v2]++;
		tp_free(&t);
	}
	sl_scanner_free(sc);
	atomic_store(&w->finished, true);
	return NULL;
}

/* Until every worker has begun `n` messages (or stopped). */
static void wait_for_workers(struct worker *w, int n)
{
	struct timespec ms = {0, 1000 * 1000};
	for (int i = 0; i < WORKERS; i++)
		while (atomic_load(&w[i].begun) < n && !atomic_load(&w[i].finished))
			nanosleep(&ms, NULL);
}

static void test_shared_policy_and_swap(void)
{
	struct sl_policy *v1 = tp_policy(
		"rule v1.card { match body /[2-6](?:[ -]?[0-9]){12,18}\\b/ validate luhn action quarantine }\n", NULL);
	struct sl_policy *v2 = tp_policy(
		"rule v1.card { match body /[2-6](?:[ -]?[0-9]){12,18}\\b/ validate luhn action quarantine }\n"
		"rule v2.secret { match body \"secret\" action reject }\n", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v2);
	atomic_store(&current, v1);
	struct worker w[WORKERS];
	memset(w, 0, sizeof w);
	for (int i = 0; i < WORKERS; i++)
		CU_ASSERT_EQUAL_FATAL(pthread_create(&w[i].th, NULL, worker, &w[i]), 0);
	/* swap while they run, once each has judged messages under v1; messages begun
	 * under v1 finish under v1 (their msgscan holds a reference). Our own reference to
	 * v1 is dropped only after the workers stop: a worker may have loaded the pointer
	 * just before the swap (the dataplane's RCU grace period plays this part). */
	wait_for_workers(w, BEFORE_SWAP);
	atomic_store(&current, v2);
	for (int i = 0; i < WORKERS; i++)
		pthread_join(w[i].th, NULL);
	sl_policy_unref(v1);
	sl_policy_unref(v2);
	for (int i = 0; i < WORKERS; i++) {
		printf("\n  worker %d: %d messages under v1, %d under v2, %d judged wrongly",
		       i, w[i].judged[0], w[i].judged[1], w[i].wrong);
		if (i == WORKERS - 1)
			printf("\n");
		CU_ASSERT_EQUAL(w[i].wrong, 0);
		CU_ASSERT(w[i].judged[0] >= BEFORE_SWAP);
		CU_ASSERT(w[i].judged[1] >= AFTER_SWAP);
	}
}

int main(void)
{
	static const struct cu_test tests[] = {
		{"shared policy and swap", test_shared_policy_and_swap},
		{NULL, NULL},
	};
	return cu_run_suite("policy_threads", NULL, NULL, tests);
}
