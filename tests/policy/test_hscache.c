/* The compile cache (docs/rules.md): a second compile loads the databases; a damaged
 * entry is compiled again and replaced, never used; a directory others can write to is
 * not used. And the widened prefilter (prefilter.c): PCRE2 still decides exactly. */
#include <CUnit/Basic.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "helpers.h"

static char cache[64];

/* A bounded repeat wide enough to be widened, with a look-ahead (prefilter + PCRE2). */
static const char *POLICY =
	"rule wide { match body /<a\\s[^>]{0,60}href=(?!safe)/ score 1 }\n"
	"rule plain { match header:subject \"cache me\" score 2 }\n";

static bool analysis_cached; /* of the last load() */

static struct sl_policy *load(size_t *from_cache)
{
	struct sl_policy *p = tp_policy(POLICY, NULL);
	if (!p) {
		fprintf(stderr, "\n%s\n", tp_last_error);
		return NULL;
	}
	struct sl_policy_info i;
	sl_policy_info(p, &i);
	*from_cache = i.cached_databases;
	analysis_cached = i.cached_analysis;
	CU_ASSERT_PTR_NOT_NULL(i.cache_dir);
	return p;
}

static double score_of(struct sl_policy *p, const char *body)
{
	struct sl_scanner *sc = sl_scanner_new();
	struct tp_msg t = {0};
	tp_begin(&t, sc, p, SL_DIR_INBOUND);
	tp_header(&t, "", "Subject", "cache me");
	tp_text(&t, "1", body);
	double s = tp_end(&t)->score;
	tp_free(&t);
	sl_scanner_free(sc);
	return s;
}

static void check_verdicts(struct sl_policy *p)
{
	CU_ASSERT_EQUAL(score_of(p, "<a class=x href=http://x>"), 3);
	CU_ASSERT_EQUAL(score_of(p, "<a class=x href=safe>"), 2);
	/* 61 bytes between (a space and 60 digits): beyond the rule's {0,60}, though inside the widened prefilter */
	char far[200];
	snprintf(far, sizeof far, "<a %060d href=http://x>", 0);
	CU_ASSERT_EQUAL(score_of(p, far), 2);
	snprintf(far, sizeof far, "<a %059d href=http://x>", 0);
	CU_ASSERT_EQUAL(score_of(p, far), 3);
}

/* Flips a byte in the middle of every entry. */
static int damage_entries(void)
{
	DIR *d = opendir(cache);
	struct dirent *e;
	int n = 0;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[512];
		snprintf(path, sizeof path, "%s/%s", cache, e->d_name);
		FILE *f = fopen(path, "r+b");
		if (!f)
			continue;
		fseek(f, 0, SEEK_END);
		long mid = ftell(f) / 2;
		fseek(f, mid, SEEK_SET);
		int c = fgetc(f);
		fseek(f, mid, SEEK_SET);
		fputc(c ^ 0x55, f);
		fclose(f);
		n++;
	}
	if (d)
		closedir(d);
	return n;
}

static void test_cache(void)
{
	size_t hits;
	struct sl_policy *p = load(&hits);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(hits, 0);
	CU_ASSERT_FALSE(analysis_cached);
	check_verdicts(p);
	struct sl_policy_info i;
	sl_policy_info(p, &i);
	size_t ndb = i.databases;
	CU_ASSERT(ndb >= 2);
	sl_policy_unref(p);

	p = load(&hits);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(hits, ndb);
	CU_ASSERT_TRUE(analysis_cached); /* the widened, PCRE2-confirmed rule as asked */
	check_verdicts(p);
	sl_policy_unref(p);

	CU_ASSERT_EQUAL(damage_entries(), (int)ndb + 1); /* + the analysis entry */
	p = load(&hits);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(hits, 0); /* every damaged entry compiled again */
	CU_ASSERT_FALSE(analysis_cached); /* and Hyperscan asked again */
	check_verdicts(p);
	sl_policy_unref(p);

	p = load(&hits); /* and replaced */
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(hits, ndb);
	CU_ASSERT_TRUE(analysis_cached);
	check_verdicts(p);
	sl_policy_unref(p);
}

/* The analysis entry is named by the regular expressions only: a keyword (a literal) more
 * finds it, another expression does not. */
static void test_analysis_key(void)
{
	struct sl_policy *p = tp_policy(POLICY, NULL); /* makes sure the entry is there */
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	sl_policy_unref(p);
	char more[512];
	snprintf(more, sizeof more, "%srule kw { match body \"another keyword\" score 1 }\n", POLICY);
	p = tp_policy(more, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	struct sl_policy_info i;
	sl_policy_info(p, &i);
	CU_ASSERT_TRUE(i.cached_analysis);
	sl_policy_unref(p);
	snprintf(more, sizeof more, "%srule re { match body /fo+ba[rz]/ score 1 }\n", POLICY);
	p = tp_policy(more, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	sl_policy_info(p, &i);
	CU_ASSERT_FALSE(i.cached_analysis);
	sl_policy_unref(p);
	p = tp_policy(more, NULL); /* learnt */
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	sl_policy_info(p, &i);
	CU_ASSERT_TRUE(i.cached_analysis);
	sl_policy_unref(p);
}

static void test_cache_refuses_shared_dir(void)
{
	CU_ASSERT_EQUAL_FATAL(chmod(cache, 0777), 0);
	struct sl_policy *p = tp_policy(POLICY, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	struct sl_policy_info i;
	sl_policy_info(p, &i);
	CU_ASSERT_PTR_NULL(i.cache_dir);
	CU_ASSERT_PTR_NOT_NULL(strstr(i.cache_off, "others can write"));
	CU_ASSERT_EQUAL(i.cached_databases, 0);
	CU_ASSERT_FALSE(i.cached_analysis);
	check_verdicts(p);
	sl_policy_unref(p);
	chmod(cache, 0700);

	setenv("SLUICE_POLICY_CACHE", "off", 1);
	p = tp_policy(POLICY, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	sl_policy_info(p, &i);
	CU_ASSERT_PTR_NULL(i.cache_dir);
	CU_ASSERT_EQUAL(i.cached_databases, 0);
	sl_policy_unref(p);
	setenv("SLUICE_POLICY_CACHE", cache, 1);
}

static int init(void)
{
	snprintf(cache, sizeof cache, "/tmp/sluice-hscache-XXXXXX");
	if (!mkdtemp(cache))
		return 1;
	return setenv("SLUICE_POLICY_CACHE", cache, 1);
}

static int fini(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", cache);
	return system(cmd) == 0 ? 0 : 1;
}

int main(void)
{
	static const struct cu_test tests[] = {
		{"second compile from the cache, damaged entries recompiled", test_cache},
		{"the analysis entry: named by the regular expressions", test_analysis_key},
		{"shared or disabled cache not used", test_cache_refuses_shared_dir},
		{NULL, NULL},
	};
	return cu_run_suite("policy_hscache", init, fini, tests);
}
