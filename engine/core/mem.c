#include "mem.h"

#include <stdlib.h>
#include <string.h>

static __thread struct sl_mem *current;

void sl_mem_init(struct sl_mem *m, const struct sl_memacct *acct)
{
	memset(m, 0, sizeof *m);
	if (acct && acct->charge && acct->release)
		m->acct = *acct;
}

bool sl_mem_charge(struct sl_mem *m, size_t n)
{
	if (!m)
		return true;
	if (m->failed)
		return false; /* once failed, nothing more is taken */
	if (m->acct.charge && !m->acct.charge(m->acct.ctx, n)) {
		m->failed = true;
		return false;
	}
	m->charged += n;
	return true;
}

void sl_mem_release(struct sl_mem *m, size_t n)
{
	if (!m || !n)
		return;
	m->charged -= n;
	if (m->acct.release)
		m->acct.release(m->acct.ctx, n);
}

void *sl_mem_alloc(struct sl_mem *m, size_t n)
{
	if (!sl_mem_charge(m, n))
		return NULL;
	void *p = malloc(n ? n : 1);
	if (!p) {
		sl_mem_release(m, n);
		if (m)
			m->failed = true;
	}
	return p;
}

void *sl_mem_calloc(struct sl_mem *m, size_t n)
{
	void *p = sl_mem_alloc(m, n);
	if (p)
		memset(p, 0, n);
	return p;
}

void *sl_mem_realloc(struct sl_mem *m, void *p, size_t old, size_t n)
{
	if (n > old && !sl_mem_charge(m, n - old))
		return NULL;
	void *q = realloc(p, n ? n : 1);
	if (!q) {
		if (n > old) {
			sl_mem_release(m, n - old);
			if (m)
				m->failed = true;
		}
		return NULL; /* shrinking that fails: the caller keeps the old block */
	}
	if (n < old)
		sl_mem_release(m, old - n);
	return q;
}

void sl_mem_free(struct sl_mem *m, void *p, size_t n)
{
	if (!p)
		return;
	free(p);
	sl_mem_release(m, n);
}

struct sl_mem *sl_mem_swap(struct sl_mem *m)
{
	struct sl_mem *prev = current;
	current = m;
	return prev;
}

struct sl_mem *sl_mem_current(void)
{
	return current;
}
