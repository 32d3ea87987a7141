/* A memory account for tests (sluice/memacct.h): counts what is charged, and refuses
 * the charge with a given number or whatever would go over a budget. Releasing more
 * than was charged aborts: the object under test miscounted. */
#ifndef SLUICE_TEST_ACCT_H
#define SLUICE_TEST_ACCT_H

#include <stddef.h>

#include "sluice/memacct.h"

struct test_acct {
	size_t total, peak;  /* charged now, at most */
	size_t charges;      /* charge calls so far */
	size_t refuse_at;    /* refuse the charge with this number (1-based); 0: never */
	size_t limit;        /* refuse what would take total above this; 0: no budget */
	size_t refusals;
};

/* The account an engine object is given (a points to the counts). */
struct sl_memacct test_acct(struct test_acct *a);

#endif
