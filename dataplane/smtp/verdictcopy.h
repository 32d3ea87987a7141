/* What the sinks get of a verdict (its JSON, its rule ids), held from the message's end
 * until the server's answer commits it. The copies come from a pool of the worker's
 * (struct dp_ctx), given back with their buffers when committed: once the pool holds as
 * many as a worker has messages waiting at once, a message costs no malloc on the
 * worker (issue 14). No DPDK. */
#ifndef SLUICE_DP_VERDICTCOPY_H
#define SLUICE_DP_VERDICTCOPY_H

#include <stddef.h>

#include "sluice/policy.h"
#include "sluice/strbuf.h"

/* Copies kept for reuse at most, and the most bytes of buffers one may keep (a rare
 * huge verdict's buffers go back to malloc rather than stay with the worker). */
#define DP_VERDICT_COPIES_KEPT 256
#define DP_VERDICT_COPY_KEEP_BYTES (64u << 10)

struct dp_verdict_copy {
	struct sl_strbuf json;        /* sl_verdict_json; failed: the sinks get null */
	struct sl_strbuf ids;         /* the rule ids, each NUL-terminated */
	const char **rules;           /* nrules pointers into ids */
	size_t nrules, rules_cap;
	struct dp_verdict_copy *next; /* in the pool */
};

struct dp_verdict_pool {
	struct dp_verdict_copy *free;
	unsigned nfree;
};

/* v's JSON and rule ids, in a copy from the pool (made when it is empty). NULL when
 * there is no memory for the copy itself; with no memory for its contents it says null
 * and names fewer rules, or none. */
struct dp_verdict_copy *dp_verdict_copy_take(struct dp_verdict_pool *pool, const struct sl_verdict *v);
/* Back to the pool (c may be NULL). */
void dp_verdict_copy_give(struct dp_verdict_pool *pool, struct dp_verdict_copy *c);
static inline const char *dp_verdict_copy_json(const struct dp_verdict_copy *c)
{
	return c && c->json.s && !sl_strbuf_failed(&c->json) ? c->json.s : "null";
}
void dp_verdict_pool_free(struct dp_verdict_pool *pool);

#endif
