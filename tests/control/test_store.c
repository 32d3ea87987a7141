/* sluice-control's state directory (control/daemon/store.c), audit log (audit.c) and
 * event-log tail (tail.c): versions are kept whole and numbered on across restarts,
 * state.json survives, file names cannot leave the version, and the audit chain finds a
 * changed, removed or torn line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "cunit_run.h"
#include "fsutil.h"
#include "store.h"
#include "tail.h"

static char dir[] = "/tmp/sluice-ctlstore-XXXXXX";
static char err[600];

static int setup(void)
{
	return mkdtemp(dir) ? 0 : -1;
}

static int cleanup(void)
{
	fs_remove_tree(dir);
	return 0;
}

static void sub(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", dir, name);
}

static int64_t add(struct store *s, const char *policy, const char *list, const char *bundle)
{
	struct sl_policy_file f[2] = {
		{"policy.rules", (const uint8_t *)policy, strlen(policy)},
		{"lists/words.txt", (const uint8_t *)list, strlen(list)},
	};
	json_t *meta = json_pack("{s:s, s:s}", "author", "root", "comment", "t");
	int64_t id = -1;
	int rc = store_add_version(s, f, 2, (const uint8_t *)bundle, strlen(bundle), meta, &id, err, sizeof err);
	if (rc)
		fprintf(stderr, "\n  store_add_version: %s\n", err);
	CU_ASSERT_EQUAL(rc, 0);
	json_decref(meta);
	return id;
}

static void test_versions(void)
{
	char sd[300], p[400];
	struct store s;
	sub(sd, sizeof sd, "state");
	CU_ASSERT_EQUAL_FATAL(store_open(&s, sd, err, sizeof err), 0);
	CU_ASSERT_EQUAL(store_next_id(&s), 1);
	CU_ASSERT_EQUAL(store_wanted(&s, "dp0"), -1);
	CU_ASSERT_EQUAL(add(&s, "rule a {}\n", "alpha\n", "BUNDLE-1"), 1);
	CU_ASSERT_EQUAL(add(&s, "rule a {}\nrule b {}\n", "alpha\nbeta\n", "BUNDLE-2"), 2);
	snprintf(p, sizeof p, "%s/versions/2/src/lists/words.txt", sd);
	CU_ASSERT_EQUAL(access(p, R_OK), 0);
	CU_ASSERT_TRUE(store_has_version(&s, 2));
	CU_ASSERT_FALSE(store_has_version(&s, 3));
	CU_ASSERT_FALSE(store_has_version(&s, 0));
	size_t len;
	uint8_t *b = store_bundle(&s, 2, &len, err, sizeof err);
	CU_ASSERT_FATAL(b != NULL);
	CU_ASSERT_EQUAL(len, 8);
	CU_ASSERT_EQUAL(memcmp(b, "BUNDLE-2", 8), 0);
	free(b);
	CU_ASSERT_PTR_NULL(store_bundle(&s, 7, &len, err, sizeof err));
	json_t *m = store_meta(&s, 1);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(m, "id")), 1);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(m, "author")), "root");
	json_decref(m);
	json_t *list = store_list(&s);
	CU_ASSERT_EQUAL(json_array_size(list), 2);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(list, 1), "id")), 2);
	json_decref(list);

	/* the diff of the sources */
	struct sl_strbuf d;
	sl_strbuf_init(&d);
	CU_ASSERT_EQUAL(store_diff(&s, 1, 2, 1 << 20, &d, err, sizeof err), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.s, "+rule b {}"));
	CU_ASSERT_PTR_NOT_NULL(strstr(d.s, "+beta"));
	CU_ASSERT_PTR_NOT_NULL(strstr(d.s, "--- 1/src/policy.rules"));
	sl_strbuf_clear(&d);
	CU_ASSERT_EQUAL(store_diff(&s, 2, 2, 1 << 20, &d, err, sizeof err), 0);
	CU_ASSERT_EQUAL(d.len, 0);
	sl_strbuf_clear(&d);
	CU_ASSERT_EQUAL(store_diff(&s, 1, 2, 20, &d, err, sizeof err), 0); /* cut, and says so */
	CU_ASSERT_PTR_NOT_NULL(strstr(d.s, "[diff cut at 20 bytes]"));
	sl_strbuf_free(&d);

	/* state.json: what each dataplane runs, the knob, the audit head; survives a restart */
	store_set_wanted(&s, "dp0", 2);
	store_set_knob(&s, "dp0", "starttls", "strip");
	store_set_audit_head(&s, 3, "abc");
	CU_ASSERT_EQUAL(store_publish(&s, "dp0", 2, err, sizeof err), 0);
	CU_ASSERT_EQUAL(store_save(&s, err, sizeof err), 0);
	store_close(&s);
	/* an interrupted version write is swept away; ids go on after the largest on disk */
	snprintf(p, sizeof p, "%s/versions/.new-3", sd);
	CU_ASSERT_EQUAL(mkdir(p, 0750), 0);
	snprintf(p, sizeof p, "%s/versions/5", sd);
	CU_ASSERT_EQUAL(mkdir(p, 0750), 0);
	CU_ASSERT_EQUAL_FATAL(store_open(&s, sd, err, sizeof err), 0);
	snprintf(p, sizeof p, "%s/versions/.new-3", sd);
	CU_ASSERT_NOT_EQUAL(access(p, F_OK), 0);
	CU_ASSERT_EQUAL(store_next_id(&s), 6);
	CU_ASSERT_EQUAL(store_wanted(&s, "dp0"), 2);
	CU_ASSERT_STRING_EQUAL(store_knob(&s, "dp0", "starttls"), "strip");
	CU_ASSERT_PTR_NULL(store_knob(&s, "dp1", "starttls"));
	uint64_t lines;
	const char *head;
	store_audit_head(&s, &lines, &head);
	CU_ASSERT_EQUAL(lines, 3);
	CU_ASSERT_STRING_EQUAL(head, "abc");
	snprintf(p, sizeof p, "%s/current/dp0.bundle", sd);
	size_t n;
	uint8_t *cur = sl_read_file(p, &n);
	CU_ASSERT(cur && n == 8 && memcmp(cur, "BUNDLE-2", 8) == 0);
	free(cur);
	store_close(&s);

	/* a damaged state.json is refused with its place, not guessed around */
	snprintf(p, sizeof p, "%s/state.json", sd);
	FILE *f = fopen(p, "w");
	fputs("{\"next_id\": 3,\n", f);
	fclose(f);
	CU_ASSERT_EQUAL(store_open(&s, sd, err, sizeof err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "state.json:"));
}

static void test_file_names(void)
{
	CU_ASSERT_TRUE(store_valid_file_name("policy.rules"));
	CU_ASSERT_TRUE(store_valid_file_name("lists/keywords.txt"));
	CU_ASSERT_TRUE(store_valid_file_name("..hidden"));
	CU_ASSERT_TRUE(store_valid_file_name("關鍵字.txt"));
	CU_ASSERT_FALSE(store_valid_file_name(""));
	CU_ASSERT_FALSE(store_valid_file_name("/etc/passwd"));
	CU_ASSERT_FALSE(store_valid_file_name("../x"));
	CU_ASSERT_FALSE(store_valid_file_name("a/../../x"));
	CU_ASSERT_FALSE(store_valid_file_name("a/./x"));
	CU_ASSERT_FALSE(store_valid_file_name("."));
	CU_ASSERT_FALSE(store_valid_file_name("a//b"));
	CU_ASSERT_FALSE(store_valid_file_name("a/"));
	CU_ASSERT_FALSE(store_valid_file_name("a\nb"));
	CU_ASSERT_FALSE(store_valid_file_name("a\\b"));
}

static void append(struct audit *a, const char *op)
{
	json_t *e = json_pack("{s:s, s:s}", "op", op, "user", "root");
	CU_ASSERT_EQUAL(audit_append(a, e, err, sizeof err), 0);
	json_decref(e);
}

/* Replace line `n` (1-based) of path with `text`, or remove it when text is NULL. */
static void edit_line(const char *path, int n, const char *text)
{
	char *lines[16];
	int k = 0;
	size_t cap = 0;
	FILE *f = fopen(path, "r");
	char *l = NULL;
	while (k < 16 && getline(&l, &cap, f) > 0) {
		lines[k++] = l;
		l = NULL;
		cap = 0;
	}
	free(l);
	fclose(f);
	f = fopen(path, "w");
	for (int i = 0; i < k; i++) {
		if (i + 1 != n)
			fputs(lines[i], f);
		else if (text)
			fputs(text, f);
		free(lines[i]);
	}
	fclose(f);
}

static void expect_broken(const char *path, const char *want)
{
	uint64_t lines;
	char head[65];
	long long torn;
	CU_ASSERT_EQUAL(audit_verify(path, &lines, head, &torn, err, sizeof err), -1);
	if (!strstr(err, want)) {
		fprintf(stderr, "\n  audit_verify: '%s' lacks '%s'\n", err, want);
		CU_FAIL("wrong audit error");
	}
}

static void test_audit_chain(void)
{
	char path[300], copy[300];
	sub(path, sizeof path, "audit.jsonl");
	sub(copy, sizeof copy, "audit.copy");
	struct audit a;
	CU_ASSERT_EQUAL_FATAL(audit_open(&a, path, err, sizeof err), 0);
	append(&a, "rules.push");
	append(&a, "rules.rollback");
	append(&a, "knob.set");
	char head[65];
	snprintf(head, sizeof head, "%s", a.head);
	audit_close(&a);

	uint64_t lines;
	char vhead[65];
	long long torn;
	CU_ASSERT_EQUAL(audit_verify(path, &lines, vhead, &torn, err, sizeof err), 0);
	CU_ASSERT_EQUAL(lines, 3);
	CU_ASSERT_STRING_EQUAL(vhead, head);
	CU_ASSERT_EQUAL(torn, -1);
	/* reopened, the chain goes on from the last line */
	CU_ASSERT_EQUAL_FATAL(audit_open(&a, path, err, sizeof err), 0);
	CU_ASSERT_EQUAL(a.lines, 3);
	append(&a, "rules.push");
	audit_close(&a);
	CU_ASSERT_EQUAL(audit_verify(path, &lines, vhead, &torn, err, sizeof err), 0);
	CU_ASSERT_EQUAL(lines, 4);

	size_t n;
	uint8_t *orig = sl_read_file(path, &n);
	CU_ASSERT_FATAL(orig != NULL);
	/* a changed line: the next line's prev no longer matches */
	FILE *f = fopen(path, "r");
	char line2[1024] = "";
	for (int i = 0; i < 2 && fgets(line2, sizeof line2, f); i++)
		;
	fclose(f);
	char *u = strstr(line2, "\"user\":\"root\"");
	CU_ASSERT_FATAL(u != NULL);
	memcpy(u, "\"user\":\"evil\"", 13);
	edit_line(path, 2, line2);
	expect_broken(path, "line 3: prev does not match the hash of line 2 (line 2 was changed)");
	/* and audit_open refuses to go on from a broken chain */
	CU_ASSERT_EQUAL(audit_open(&a, path, err, sizeof err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "the audit chain is broken"));
	/* a removed line */
	fs_write_sync(path, orig, n, err, sizeof err);
	edit_line(path, 2, NULL);
	expect_broken(path, "line 2: seq is not 2");
	/* not JSON */
	fs_write_sync(path, orig, n, err, sizeof err);
	edit_line(path, 1, "garbage\n");
	expect_broken(path, "line 1: not a JSON object");
	/* a torn last line (a crash mid-write, never acknowledged): cut off at the next open */
	fs_write_sync(path, orig, n, err, sizeof err);
	f = fopen(path, "a");
	fputs("{\"op\":\"rules.pu", f);
	fclose(f);
	CU_ASSERT_EQUAL(audit_verify(path, &lines, vhead, &torn, err, sizeof err), 0);
	CU_ASSERT_EQUAL(lines, 4);
	CU_ASSERT_EQUAL(torn, (long long)n);
	CU_ASSERT_EQUAL_FATAL(audit_open(&a, path, err, sizeof err), 0);
	append(&a, "knob.set");
	audit_close(&a);
	CU_ASSERT_EQUAL(audit_verify(path, &lines, vhead, &torn, err, sizeof err), 0);
	CU_ASSERT_EQUAL(lines, 5);
	CU_ASSERT_EQUAL(torn, -1);
	free(orig);
	unlink(copy);
}

static void test_tail(void)
{
	char path[300];
	sub(path, sizeof path, "events.json");
	FILE *f = fopen(path, "w");
	for (int i = 1; i <= 5000; i++)
		fprintf(f, "{\"n\":%d,\"pad\":\"%040d\"}\n", i, i);
	fputs("{\"n\":5001,\"partial", f); /* being written: not shown */
	fclose(f);
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	CU_ASSERT_EQUAL(tail_lines(path, 3, 1 << 20, &b, err, sizeof err), 3);
	CU_ASSERT_PTR_NOT_NULL(strstr(b.s, "{\"n\":4998,"));
	CU_ASSERT_PTR_NOT_NULL(strstr(b.s, "{\"n\":5000,"));
	CU_ASSERT_PTR_NULL(strstr(b.s, "4997"));
	CU_ASSERT_PTR_NULL(strstr(b.s, "partial"));
	CU_ASSERT_EQUAL(b.s[b.len - 1], '\n');
	/* more lines than fit: the newest that fit, whole */
	sl_strbuf_clear(&b);
	long got = tail_lines(path, 4000, 1000, &b, err, sizeof err);
	CU_ASSERT(got > 0 && got < 4000);
	CU_ASSERT(b.len <= 1000);
	CU_ASSERT_EQUAL(strncmp(b.s, "{\"n\":", 5), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(b.s, "{\"n\":5000,"));
	/* the whole short file */
	sl_strbuf_clear(&b);
	f = fopen(path, "w");
	fputs("one\ntwo\n", f);
	fclose(f);
	CU_ASSERT_EQUAL(tail_lines(path, 10, 1 << 20, &b, err, sizeof err), 2);
	CU_ASSERT_STRING_EQUAL(b.s, "one\ntwo\n");
	sl_strbuf_free(&b);
	CU_ASSERT_EQUAL(tail_lines("/nonexistent/events", 3, 100, &b, err, sizeof err), -1);
}

int main(void)
{
	static const struct cu_test tests[] = {
		{"versions, state.json, restart", test_versions},
		{"file names stay inside a version", test_file_names},
		{"audit hash chain", test_audit_chain},
		{"tail of an event log", test_tail},
		{NULL, NULL},
	};
	return cu_run_suite("control_store", setup, cleanup, tests);
}
