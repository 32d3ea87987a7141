/* One way every CUnit suite is registered and run. A run fails when a test fails, when a
 * suite's init or cleanup fails (CUnit then runs none of its tests), or when no test ran
 * at all: a suite that silently ran nothing must never count as passing. */
#ifndef SLUICE_TEST_CUNIT_RUN_H
#define SLUICE_TEST_CUNIT_RUN_H

#include <CUnit/CUnit.h>

struct cu_test {
	const char *name;
	void (*fn)(void);
};

/* Adds a suite (init and fini may be NULL) with its tests, up to a NULL name.
 * 0, or -1 when CUnit refused it (the run then fails). */
int cu_add_suite(const char *name, CU_InitializeFunc init, CU_CleanupFunc fini,
                 const struct cu_test *tests);
/* Runs every registered suite verbosely and cleans the registry up; the exit status. */
int cu_run_registered(void);
/* A fresh registry with one suite, run: the exit status. */
int cu_run_suite(const char *name, CU_InitializeFunc init, CU_CleanupFunc fini,
                 const struct cu_test *tests);

#endif
