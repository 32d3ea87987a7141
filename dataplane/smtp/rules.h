/* The rule bundles one worker uses: the current one, which new messages take, and
 * retired ones still held by messages in flight (a message finishes on the bundle it
 * started with: its Hyperscan streams belong to that bundle's databases). Each has this
 * worker's scanner (Hyperscan scratch), allocated off the worker by whoever made the
 * ruleset; a retired one is freed when its last message scanner goes. No DPDK. */
#ifndef SLUICE_DP_RULES_H
#define SLUICE_DP_RULES_H

#include <stdint.h>

#include "sluice/policy.h"

struct dp_rulehits;

struct dp_ruleset {
	struct sl_policy *policy;    /* a reference of its own */
	struct sl_scanner *scanner;  /* this worker's, prepared for the policy */
	uint64_t id;                 /* the control's version id (0: loaded at start, unsigned) */
	char digest[65];             /* hex SHA-256 of the policy with its spam model, as it judges
	                              * (sl_policy_info digest): what verdicts report */
	char own_digest[65];         /* the bundle's own (no --spam-model): what sluice-control
	                              * pushed and compares */
	unsigned users;              /* message scanners made for it, still alive */
	struct dp_ruleset *next;     /* in the retired list */
	/* messages each rule fired on, by rule number (sl_rule_hit.rule): this worker's,
	 * written by it alone; read by dp_rulehits (pipeline/rulehits.h) */
	uint64_t *hits;
	uint32_t nrules;
	struct dp_rulehits *book;    /* the book it is entered in (NULL: none), its links there */
	struct dp_ruleset *book_prev, *book_next;
};

struct dp_rules {
	struct dp_ruleset *cur;      /* NULL: no policy (every message passes) */
	struct dp_ruleset *retired;
	/* who frees a ruleset nobody uses any more: freeing a bundle's databases and scratch
	 * takes long, so sluice-dp hands it to its control thread (true: taken); unset or
	 * false: freed here */
	bool (*dispose)(void *arg, struct dp_ruleset *rs);
	void *dispose_arg;
};

/* A ruleset for one worker: takes a reference to policy, makes and prepares a scanner
 * and its hit counters (allocation: call it off the worker). NULL without memory. */
struct dp_ruleset *dp_ruleset_new(struct sl_policy *policy, uint64_t id);
/* Its counts go to its book's totals first, when it has one. */
void dp_ruleset_free(struct dp_ruleset *rs);
/* A message judged with rs fired its rule number `rule` (the fast path: no hashing). */
static inline void dp_ruleset_hit(struct dp_ruleset *rs, uint32_t rule)
{
	if (rule < rs->nrules)
		rs->hits[rule]++;
}
/* --spam-model: a policy with spam-probability conditions uses the model at `path`
 * instead of its own ("" or a policy without them: unchanged). False with err when the
 * model cannot be used. Before any message is scanned with p. */
bool dp_policy_spam_model(struct sl_policy *p, const char *path, char *err, size_t errlen);

/* New messages use `next` from now on (NULL: none); the current one retires, freed
 * at once when no message scanner uses it. */
void dp_rules_switch(struct dp_rules *r, struct dp_ruleset *next);
/* A message scanner of rs was made / freed. */
static inline void dp_rules_use(struct dp_ruleset *rs)
{
	rs->users++;
}
void dp_rules_unuse(struct dp_rules *r, struct dp_ruleset *rs);
/* Everything goes (the worker stops). */
void dp_rules_free(struct dp_rules *r);

#endif
