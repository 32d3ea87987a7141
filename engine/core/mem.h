/* The engine's allocator: every heap byte an accounted object holds goes through one
 * struct sl_mem, which asks the object's account (sluice/memacct.h) first and keeps the
 * exact total. A refusal or a failed malloc marks the sl_mem failed and returns NULL;
 * the object stops at its next check and reports it. Internal to engine/. */
#ifndef SLUICE_ENGINE_MEM_H
#define SLUICE_ENGINE_MEM_H

#include <stdbool.h>
#include <stddef.h>

#include "sluice/memacct.h"

struct sl_mem {
	struct sl_memacct acct; /* charge == NULL: no account */
	size_t charged;         /* bytes held now */
	bool failed;            /* a charge was refused or an allocation failed */
};

void sl_mem_init(struct sl_mem *m, const struct sl_memacct *acct);

/* m may be NULL (nothing to charge, failures only return NULL). */
bool sl_mem_charge(struct sl_mem *m, size_t n);
void sl_mem_release(struct sl_mem *m, size_t n);
void *sl_mem_alloc(struct sl_mem *m, size_t n);
void *sl_mem_calloc(struct sl_mem *m, size_t n);
/* p holds `old` bytes (p NULL: old 0); on failure p is left as it was. */
void *sl_mem_realloc(struct sl_mem *m, void *p, size_t old, size_t n);
void sl_mem_free(struct sl_mem *m, void *p, size_t n);

/* The thread's current sl_mem: what shared helpers (sl_strbuf, the header parser's
 * arena, the iconv cache) charge. An object makes itself current for the length of each
 * of its calls and puts the caller's back around every event callback, so that bytes a
 * callback allocates are never charged to it. Returns the previous one. */
struct sl_mem *sl_mem_swap(struct sl_mem *m);
struct sl_mem *sl_mem_current(void);

#endif
