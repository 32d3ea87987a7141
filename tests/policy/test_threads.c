/* One policy shared by threads, one scanner per thread, one msgscan per message; a
 * policy swapped in while messages are in flight leaves them on the policy they began
 * with. */
#include <CUnit/Basic.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "helpers.h"

static struct sl_policy *_Atomic current;
static atomic_int wrong;

static void *worker(void *arg)
{
	(void)arg;
	struct sl_scanner *sc = sl_scanner_new();
	for (int i = 0; i < 150; i++) {
		struct sl_policy *p = sl_policy_ref(atomic_load(&current));
		struct tp_msg t = {.chunk = 7};
		tp_begin(&t, sc, p, SL_DIR_OUTBOUND);
		/* the policy this message began with decides, whatever is current now */
		bool v2 = sl_policy_rule_count(p) == 2;
		sl_policy_unref(p);
		tp_text(&t, "1", "card 4111 1111 1111 1111 and the word secret");
		const struct sl_verdict *v = tp_end(&t);
		enum sl_action want = v2 ? SL_ACT_REJECT : SL_ACT_QUARANTINE;
		if (v->action != want || (v2 && !tp_hit(v, "v2.secret")))
			atomic_fetch_add(&wrong, 1);
		tp_free(&t);
	}
	sl_scanner_free(sc);
	return NULL;
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
	pthread_t th[3];
	for (int i = 0; i < 3; i++)
		pthread_create(&th[i], NULL, worker, NULL);
	/* swap while they run; messages begun under v1 finish under v1 (their msgscan holds
	 * a reference). Our own reference to v1 is dropped only after the workers stop: a
	 * worker may have loaded the pointer just before the swap (the dataplane's RCU
	 * grace period plays this part). */
	struct timespec ts = {0, 20 * 1000 * 1000};
	nanosleep(&ts, NULL);
	atomic_store(&current, v2);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	sl_policy_unref(v1);
	CU_ASSERT_EQUAL(atomic_load(&wrong), 0);
	sl_policy_unref(v2);
}

int main(void)
{
	static const struct cu_test tests[] = {
		{"shared policy and swap", test_shared_policy_and_swap},
		{NULL, NULL},
	};
	return cu_run_suite("policy_threads", NULL, NULL, tests);
}
