/* The benchmark's ceiling: block-mode twins of a policy's streaming databases, so raw
 * Hyperscan can scan the very bytes the matcher streams with the same patterns. */
#include <stdlib.h>

#include "internal.h"

/* Streaming databases get block-mode twins; block databases (headers, envelope,
 * filenames) are the policy's own. */
struct sl_blockscan {
	const struct sl_policy *p;
	hs_database_t *db[POL_NSTREAM];
	hs_scratch_t *scratch;
};

static unsigned final_flags(const struct pol_pattern *pt)
{
	return pt->hs_flags | (pt->singlematch ? HS_FLAG_SINGLEMATCH : 0) |
	       (pt->needs_confirm ? HS_FLAG_PREFILTER : 0);
}

struct sl_blockscan *sl_blockscan_new(const struct sl_policy *p, struct sl_policy_diag *diag)
{
	struct sl_blockscan *b = calloc(1, sizeof *b);
	if (!b)
		return NULL;
	b->p = sl_policy_ref((struct sl_policy *)p);
	for (unsigned d = POL_NSTREAM; d < p->ndbs; d++)
		if (p->dbs[d].db && hs_alloc_scratch(p->dbs[d].db, &b->scratch) != HS_SUCCESS) {
			sl_blockscan_free(b);
			return NULL;
		}
	for (unsigned d = 0; d < POL_NSTREAM; d++) {
		const struct pol_dbinfo *db = &p->dbs[d];
		if (!db->npatterns)
			continue;
		const char **exprs = malloc(db->npatterns * sizeof *exprs);
		unsigned *flags = malloc(db->npatterns * sizeof *flags);
		hs_compile_error_t *err = NULL;
		hs_error_t rc = HS_NOMEM;
		bool cached;
		if (exprs && flags) {
			for (uint32_t k = 0; k < db->npatterns; k++) {
				exprs[k] = p->patterns[db->patterns[k]].hs_expr;
				flags[k] = final_flags(&p->patterns[db->patterns[k]]);
			}
			rc = pol_hs_build(exprs, flags, db->npatterns, HS_MODE_BLOCK, &b->db[d], &err, &cached);
		}
		free(exprs);
		free(flags);
		if (rc != HS_SUCCESS || hs_alloc_scratch(b->db[d], &b->scratch) != HS_SUCCESS) {
			pol_diag(diag, p->path, 0, 0, "block-mode compile of the %s database failed: %s",
			         db->scope, err ? err->message : "out of memory");
			hs_free_compile_error(err);
			sl_blockscan_free(b);
			return NULL;
		}
	}
	return b;
}

unsigned sl_blockscan_databases(const struct sl_blockscan *b)
{
	return b->p->ndbs;
}

static int count(unsigned id, unsigned long long from, unsigned long long to, unsigned flags, void *ctx)
{
	(void)id, (void)from, (void)to, (void)flags;
	(*(long *)ctx)++;
	return 0;
}

long sl_blockscan_scan(struct sl_blockscan *b, unsigned db, const uint8_t *p, size_t n)
{
	hs_database_t *hdb = db < POL_NSTREAM ? b->db[db] : db < b->p->ndbs ? b->p->dbs[db].db : NULL;
	if (!hdb)
		return 0;
	long matches = 0;
	while (n) {
		unsigned k = n > UINT32_MAX ? UINT32_MAX : (unsigned)n;
		if (hs_scan(hdb, (const char *)p, k, 0, b->scratch, count, &matches) != HS_SUCCESS)
			return -1;
		p += k;
		n -= k;
	}
	return matches;
}

void sl_blockscan_free(struct sl_blockscan *b)
{
	if (!b)
		return;
	for (unsigned d = 0; d < POL_NSTREAM; d++)
		hs_free_database(b->db[d]);
	hs_free_scratch(b->scratch);
	sl_policy_unref((struct sl_policy *)b->p);
	free(b);
}
