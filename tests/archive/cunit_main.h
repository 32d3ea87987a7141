/* A CUnit main for the archive's unit tests: run the registered suites, exit
 * non-zero on any failure. */
#ifndef TESTS_ARCHIVE_CUNIT_MAIN_H
#define TESTS_ARCHIVE_CUNIT_MAIN_H

#include <CUnit/Basic.h>

struct ar_test {
	const char *name;
	void (*fn)(void);
};

static inline int ar_run_tests(const char *suite, const struct ar_test *t)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	CU_pSuite s = CU_add_suite(suite, NULL, NULL);
	for (; t->name; t++)
		CU_add_test(s, t->name, t->fn);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	unsigned run = CU_get_number_of_tests_run();
	CU_cleanup_registry();
	return failed || run == 0 ? 1 : 0;
}

#endif
