/* A worker's rule bundles (dataplane/smtp/rules.h): a message finishes on the bundle it
 * started with; a retired bundle goes when its last message scanner goes, handed to the
 * dispose hook (sluice-dp's control thread) when there is one. */
#include <string.h>

#include "cunit_run.h"

#include "flowharness.h"
#include "smtp/rules.h"

static struct dp_ruleset *disposed[8];
static unsigned ndisposed;

static bool dispose(void *arg, struct dp_ruleset *rs)
{
	(void)arg;
	disposed[ndisposed++] = rs;
	return true;
}

static void test_retire_and_dispose(void)
{
	struct sl_policy *a = h_policy("rule a { match raw \"A\" action reject }\n");
	struct sl_policy *b = h_policy("rule b { match raw \"B\" action reject }\n");
	struct dp_rules r = {.dispose = dispose};
	struct dp_ruleset *ra = dp_ruleset_new(a, 1), *rb = dp_ruleset_new(b, 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ra);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rb);
	CU_ASSERT_EQUAL(strlen(ra->digest), 64);
	CU_ASSERT_STRING_NOT_EQUAL(ra->digest, rb->digest);
	sl_policy_unref(a); /* the rulesets hold their own references */
	sl_policy_unref(b);
	dp_rules_switch(&r, ra);
	/* a message begins on bundle 1 */
	struct sl_msgscan *m = sl_msgscan_new(ra->scanner, ra->policy, SL_DIR_UNKNOWN);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	dp_rules_use(ra);
	dp_rules_switch(&r, rb);
	CU_ASSERT_PTR_EQUAL(r.cur, rb);
	CU_ASSERT_PTR_EQUAL(r.retired, ra); /* kept: a message still scans with it */
	CU_ASSERT_EQUAL(ndisposed, 0);
	sl_msgscan_free(m);
	dp_rules_unuse(&r, ra);
	CU_ASSERT_PTR_NULL(r.retired);
	CU_ASSERT_EQUAL_FATAL(ndisposed, 1);
	CU_ASSERT_PTR_EQUAL(disposed[0], ra);
	dp_ruleset_free(ra);
	/* an unused current bundle goes at once when replaced */
	dp_rules_switch(&r, NULL);
	CU_ASSERT_EQUAL(ndisposed, 2);
	CU_ASSERT_PTR_EQUAL(disposed[1], rb);
	dp_ruleset_free(rb);
	dp_rules_free(&r);
}

int main(void)
{
	static const struct cu_test tests[] = {
		{"retire and dispose", test_retire_and_dispose},
		{NULL, NULL},
	};
	return cu_run_suite("dataplane rules", NULL, NULL, tests);
}
