/* Messages each rule fired on, summed by rule id over every worker and bundle.
 *
 * A worker counts into its own ruleset's array, indexed by rule number (dp_ruleset_hit:
 * hits[rule]++; no hashing, no strings, no lock). A rule's number means something only
 * within its bundle, so the sum goes by id. This book lists the arrays of the rulesets
 * alive and keeps, by id, what freed ones counted:
 *   - a ruleset is entered when it is made, off the workers (start-up, or the control
 *     thread preparing a pushed bundle); entering reserves its ids in the totals, so
 *     that folding it in later allocates nothing and cannot lose a count;
 *   - it is folded in when it is freed (dp_ruleset_free): by the control thread, which
 *     frees what a worker retired once no message used it any more (the worker hands it
 *     over through its grave ring, control.c, after its last count), or at shutdown.
 * Readers (stats, telemetry, the exit summary) and the fold take the book's lock: no
 * reader sees an array being freed. Workers never take it. No DPDK. */
#ifndef SLUICE_DP_RULEHITS_H
#define SLUICE_DP_RULEHITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dp_ruleset;
struct dp_rulehits;

struct dp_rule_total {
	char *id;
	uint64_t hits;
};

/* Totals by rule id, sorted by id (strcmp). */
struct dp_rule_totals {
	struct dp_rule_total *v;
	size_t n, cap;
	uint64_t other;            /* hits of the rules dp_rule_totals_top left out */
};

/* NULL without memory. */
struct dp_rulehits *dp_rulehits_new(void);
/* Rulesets still entered are let go (their counts with them). */
void dp_rulehits_free(struct dp_rulehits *b);

/* From now on the book reads rs's counts, until dp_ruleset_free(rs) folds them into its
 * totals. False without memory (rs is not entered). A NULL book: nothing to do. */
bool dp_rulehits_enter(struct dp_rulehits *b, struct dp_ruleset *rs);
/* rs's counts join the totals and the book stops reading it (dp_ruleset_free calls it;
 * nothing writes rs's counts any more). */
void dp_rulehits_leave(struct dp_rulehits *b, struct dp_ruleset *rs);

/* Rules that fired at least once, with the sum over the live rulesets and the folded
 * totals; out is replaced. False without memory (out empty). A NULL book: none. */
bool dp_rulehits_totals(struct dp_rulehits *b, struct dp_rule_totals *out);
void dp_rule_totals_free(struct dp_rule_totals *t);
/* Keeps the max rules with the most hits (ties: by id), still sorted by id; the others'
 * hits go to t->other (a reply must fit its frame: counters.h DP_STATS_RULES_MAX). */
void dp_rule_totals_top(struct dp_rule_totals *t, size_t max);

#endif
