#include "cunit_run.h"

#include <CUnit/Basic.h>
#include <stdbool.h>
#include <stdio.h>

static bool add_failed;

/* The registry may also have been set up by a caller that adds suites itself. */
static bool ensure_registry(void)
{
	return CU_get_registry() || CU_initialize_registry() == CUE_SUCCESS;
}

int cu_add_suite(const char *name, CU_InitializeFunc init, CU_CleanupFunc fini,
                 const struct cu_test *tests)
{
	CU_pSuite s = ensure_registry() ? CU_add_suite(name, init, fini) : NULL;
	if (!s) {
		add_failed = true;
		return -1;
	}
	for (const struct cu_test *t = tests; t->name; t++)
		if (!CU_add_test(s, t->name, t->fn))
			add_failed = true;
	return add_failed ? -1 : 0;
}

int cu_run_registered(void)
{
	if (!ensure_registry())
		return 1;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed() +
	                  CU_get_number_of_suites_failed();
	unsigned run = CU_get_number_of_tests_run();
	CU_cleanup_registry();
	if (run == 0)
		fprintf(stderr, "no test ran\n");
	return failed || run == 0 || add_failed ? 1 : 0;
}

int cu_run_suite(const char *name, CU_InitializeFunc init, CU_CleanupFunc fini,
                 const struct cu_test *tests)
{
	cu_add_suite(name, init, fini, tests);
	return cu_run_registered();
}
