/* Decomposed patterns (engine/policy/decompose.c): the prefilter Hyperscan scans plus the
 * C check must end exactly where the original expression ends, on texts made of the
 * bytes that matter (digits, separators, letters, other bytes), and only the recognised
 * shape is rewritten. */
#include <CUnit/Basic.h>
#include <hs/hs.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "internal.h"

#define TEXT_MAX 96

struct ends {
	unsigned n;
	unsigned long long at[TEXT_MAX + 1];
};

static int on_end(unsigned id, unsigned long long from, unsigned long long to, unsigned flags,
                  void *ctx)
{
	(void)id, (void)from, (void)flags;
	struct ends *e = ctx;
	if (e->n <= TEXT_MAX)
		e->at[e->n++] = to;
	return 0;
}

static hs_database_t *block_db(const char *expr)
{
	hs_database_t *db = NULL;
	hs_compile_error_t *err = NULL;
	if (hs_compile(expr, 0, HS_MODE_BLOCK, NULL, &db, &err) != HS_SUCCESS) {
		hs_free_compile_error(err);
		return NULL;
	}
	return db;
}

static void scan(hs_database_t *db, hs_scratch_t *s, const char *t, size_t n, struct ends *e)
{
	e->n = 0;
	CU_ASSERT_EQUAL(hs_scan(db, t, (unsigned)n, 0, s, on_end, e), HS_SUCCESS);
}

/* Random texts over an alphabet rich in near-misses; every end of the original must be
 * an end of the prefilter that passes the check, and no other. */
static void same_ends(const char *original, unsigned texts)
{
	struct pol_pattern pt = {.expr = original};
	struct pol_arena *a = pol_arena_new();
	CU_ASSERT_FATAL(a != NULL);
	CU_ASSERT_FATAL(pol_decompose(a, &pt, VAL_LUHN));
	hs_database_t *orig = block_db(original), *pre = block_db(pt.expr);
	CU_ASSERT_FATAL(orig && pre);
	hs_scratch_t *s = NULL;
	CU_ASSERT_FATAL(hs_alloc_scratch(orig, &s) == HS_SUCCESS);
	CU_ASSERT_FATAL(hs_alloc_scratch(pre, &s) == HS_SUCCESS);
	static const char alphabet[] = "0123456789012345678901234567890123456789  --x_.\n";
	srandom(7);
	unsigned matched = 0, filtered = 0;
	for (unsigned k = 0; k < texts; k++) {
		char t[TEXT_MAX];
		size_t n = 1 + (size_t)random() % TEXT_MAX;
		for (size_t i = 0; i < n; i++)
			t[i] = alphabet[random() % (sizeof alphabet - 1)];
		struct ends eo, ep;
		scan(orig, s, t, n, &eo);
		scan(pre, s, t, n, &ep);
		unsigned kept = 0;
		for (unsigned i = 0; i < ep.n; i++) {
			if (!pol_shape_ends_here(&pt.shape, (const uint8_t *)t, (size_t)ep.at[i])) {
				filtered++;
				continue;
			}
			CU_ASSERT_FATAL(kept < eo.n);
			CU_ASSERT_EQUAL(ep.at[i], eo.at[kept]);
			kept++;
		}
		CU_ASSERT_EQUAL(kept, eo.n);
		matched += eo.n;
	}
	/* the texts exercised both sides: ends kept and ends the check refused */
	CU_ASSERT(matched > texts / 10);
	CU_ASSERT(filtered > texts / 10);
	hs_free_scratch(s);
	hs_free_database(orig);
	hs_free_database(pre);
	pol_arena_free(a);
}

static void test_shipped_card_shape(void)
{
	same_ends("[2-6](?:[ -]?[0-9]){12,18}\\b", 200000);
}

static void test_other_bounds(void)
{
	same_ends("[4-4](?:[ -]?[0-9]){3,5}\\b", 100000);
	same_ends("[3-7](?:[ -]?[0-9]){1,2}\\b", 100000);
}

static void test_only_that_shape(void)
{
	static const char *kept[] = {
		"[2-6](?:[ -]?[0-9]){12,18}", /* no \b */
		"[2-6](?:[ -]?[0-9]){12,18}\\bx",
		"[6-2](?:[ -]?[0-9]){12,18}\\b",
		"[a-f](?:[ -]?[0-9]){12,18}\\b",
		"[2-6](?:[ -]?[0-9]){18,12}\\b",
		"[2-6](?:[ -]?[0-9]){0,18}\\b",
		"[2-6](?:[ -]?[0-9]){ 12,18}\\b",
		"[2-6](?:[ -]?[0-9]){12,31}\\b",
		"[2-6](?:[ -]?[0-9]){12}\\b",
		"[A-Z][1289][0-9]{8}\\b",
	};
	struct pol_arena *a = pol_arena_new();
	CU_ASSERT_FATAL(a != NULL);
	for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) {
		struct pol_pattern pt = {.expr = kept[i]};
		CU_ASSERT(!pol_decompose(a, &pt, VAL_LUHN));
		CU_ASSERT_STRING_EQUAL(pt.expr, kept[i]);
		CU_ASSERT_EQUAL(pt.shape.max_units, 0);
	}
	/* without a validator, or a literal: as written */
	struct pol_pattern none = {.expr = "[2-6](?:[ -]?[0-9]){12,18}\\b"};
	CU_ASSERT(!pol_decompose(a, &none, VAL_NONE));
	struct pol_pattern lit = {.expr = "[2-6](?:[ -]?[0-9]){12,18}\\b", .literal = true};
	CU_ASSERT(!pol_decompose(a, &lit, VAL_LUHN));
	struct pol_pattern card = {.expr = "[2-6](?:[ -]?[0-9]){12,18}\\b"};
	CU_ASSERT(pol_decompose(a, &card, VAL_LUHN));
	CU_ASSERT_STRING_EQUAL(card.expr, "[0-9](?:[ -]?[0-9]){12}\\b");
	CU_ASSERT(pol_shape_window(&card.shape) <= pol_validator_window(VAL_LUHN));
	pol_arena_free(a);
}

/* Through the policy: the shipped card rule fires on a card and not on a run whose
 * card-shaped suffix starts with a digit outside [2-6] (a prefilter end the check drops). */
static void test_through_policy(void)
{
	struct sl_policy *p = tp_policy(
		"rule card { match body /[2-6](?:[ -]?[0-9]){12,18}\\b/ validate luhn action alert }\n");
	CU_ASSERT_FATAL(p != NULL);
	struct sl_scanner *sc = sl_scanner_new();
	CU_ASSERT_FATAL(sc != NULL);
	struct tp_msg t;
	tp_begin(&t, sc, p, SL_DIR_OUTBOUND);
	tp_text(&t, "1", "card 4111 1111 1111 1111 here\r\n");
	tp_expect_hits(tp_end(&t), "card", NULL);
	tp_free(&t);
	/* 13 digits, Luhn-valid, and the prefilter ends after them; but the original needs
	 * a [2-6] digit 12..18 units before the end, and this run starts with a 7 */
	tp_begin(&t, sc, p, SL_DIR_OUTBOUND);
	CU_ASSERT(pol_validate(VAL_LUHN, (const uint8_t *)" 7000000000003", 14, true,
	                       &(uint64_t){0}));
	tp_text(&t, "1", "ref 7000000000003 end\r\n");
	tp_expect_hits(tp_end(&t), NULL);
	tp_free(&t);
	sl_scanner_free(sc);
	sl_policy_unref(p);
}

int main(void)
{
	static const struct cu_test tests[] = {
		{"shipped card shape: same ends", test_shipped_card_shape},
		{"other bounds: same ends", test_other_bounds},
		{"only that shape is rewritten", test_only_that_shape},
		{"through the policy", test_through_policy},
		{NULL, NULL},
	};
	return cu_run_suite("policy_decompose", NULL, NULL, tests);
}
