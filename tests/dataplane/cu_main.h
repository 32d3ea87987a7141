/* A CUnit main for the dataplane suites: each test file lists its tests in one table
 * and includes this. Exit status is the number of failures. */
#ifndef SLUICE_DP_CU_MAIN_H
#define SLUICE_DP_CU_MAIN_H

#include <CUnit/Basic.h>

struct cu_test {
	const char *name;
	void (*fn)(void);
};

static int cu_run(const char *suite, const struct cu_test *tests)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	CU_pSuite s = CU_add_suite(suite, NULL, NULL);
	for (const struct cu_test *t = tests; t->name; t++)
		CU_add_test(s, t->name, t->fn);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	unsigned run = CU_get_number_of_tests_run();
	CU_cleanup_registry();
	return failed ? 1 : run ? 0 : 1;
}

#endif
