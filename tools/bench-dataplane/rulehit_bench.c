#include "rulehit_bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "smtp/rules.h"

#define HITS (1u << 22)
#define SEQ 4096          /* rule numbers drawn, replayed in a loop */
#define FEW 8             /* rules in the "few rules" mix */

/* The reference: the counter table hashed by rule id that issue 14 replaced (main at
 * a5c29bd, pipeline/counters.c): FNV-1a of the id, 256 slots, linear probing, ids
 * compared with strncmp, hits beyond the table counted as overflow. Kept here only to
 * measure against. */
#define OLD_SLOTS 256
struct old_slot {
	char id[64];
	uint64_t count;
};
struct old_table {
	struct old_slot s[OLD_SLOTS];
	uint64_t overflow;
};

static void old_hit(struct old_table *t, const char *id)
{
	uint32_t h = 2166136261u;
	for (const char *p = id; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	for (unsigned i = 0; i < OLD_SLOTS; i++) {
		struct old_slot *r = &t->s[(h + i) % OLD_SLOTS];
		if (r->id[0] == 0) {
			snprintf(r->id, sizeof r->id, "%s", id);
			r->count = 1;
			return;
		}
		if (strncmp(r->id, id, sizeof r->id - 1) == 0) {
			r->count++;
			return;
		}
	}
	t->overflow++;
}

/* One mix: rule numbers drawn from the first `span` rules. */
static void mix(struct dp_ruleset *rs, const char *what, uint32_t span)
{
	static uint32_t seq[SEQ];
	static const char *ids[SEQ];
	uint32_t x = 2463534242u;
	for (unsigned i = 0; i < SEQ; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		seq[i] = x % span;
		ids[i] = sl_policy_rule_id(rs->policy, seq[i]);
	}
	memset(rs->hits, 0, rs->nrules * sizeof *rs->hits);
	double t0 = thread_seconds();
	for (unsigned i = 0; i < HITS; i++)
		dp_ruleset_hit(rs, seq[i % SEQ]);
	double now_ns = (thread_seconds() - t0) * 1e9 / HITS;
	uint64_t counted = 0;
	for (uint32_t i = 0; i < rs->nrules; i++)
		counted += rs->hits[i];

	static struct old_table old;
	memset(&old, 0, sizeof old);
	t0 = thread_seconds();
	for (unsigned i = 0; i < HITS; i++)
		old_hit(&old, ids[i % SEQ]);
	double old_ns = (thread_seconds() - t0) * 1e9 / HITS;
	printf("    %s (%u rules): hits[rule]++ %.2f ns/hit; hashed by id (before) %.2f ns/hit%s\n",
	       what, span, now_ns, old_ns, old.overflow ? ", most of them past its 256 slots" : "");
	if (counted != HITS)
		printf("FAIL: rule hits: %llu counted of %u\n", (unsigned long long)counted, HITS);
}

void bench_rule_hits(struct sl_policy *policy)
{
	struct dp_ruleset *rs = dp_ruleset_new(policy, 0);
	if (!rs || !rs->nrules) {
		printf("rule counters: no rules or no memory, not measured\n");
		dp_ruleset_free(rs);
		return;
	}
	printf("rule counters, one hit at a time (one core, %u hits):\n", HITS);
	mix(rs, "a few rules", rs->nrules < FEW ? rs->nrules : FEW);
	mix(rs, "every rule", rs->nrules);
	dp_ruleset_free(rs);
}
