#include "testacct.h"

#include <stdlib.h>

static bool charge(void *ctx, size_t n)
{
	struct test_acct *a = ctx;
	a->charges++;
	if ((a->refuse_at && a->charges == a->refuse_at) || (a->limit && a->total + n > a->limit)) {
		a->refusals++;
		return false;
	}
	a->total += n;
	if (a->total > a->peak)
		a->peak = a->total;
	return true;
}

static void release(void *ctx, size_t n)
{
	struct test_acct *a = ctx;
	if (n > a->total)
		abort(); /* released more than was charged */
	a->total -= n;
}

struct sl_memacct test_acct(struct test_acct *a)
{
	return (struct sl_memacct){.charge = charge, .release = release, .ctx = a};
}
