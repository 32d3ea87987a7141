/* The extraction stage (engine/extract, docs/extraction.md) behind the real MIME parser
 * and the matcher: each message of gen_archives.py (archives and documents built with
 * Python's zipfile/tarfile/gzip, and crafted abuse) gets the rules and evidence path its
 * manifest names; the verdict is the same fed whole, one byte at a time and in pieces;
 * the abuse cases stay within a memory and time bound; a refused memory charge at any
 * point fails the parser cleanly with every byte released. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cunit_run.h"
#include "helpers.h"
#include "sluice/mime.h"
#include "testacct.h"

static const char *policy_text =
	"internal { domain example.com }\n"
	"rule card { match content /[2-6](?:[ -]?[0-9]){12,18}\\b/ validate luhn action quarantine }\n"
	"rule twid { match content /[A-Z][1289][0-9]{8}\\b/ validate tw-id action quarantine }\n"
	"rule exe { match filename, archive-member /\\.(?:exe|scr|js)$/i action reject }\n"
	"rule doc { match document-text \"CONFIDENTIAL\" action alert }\n"
	"rule s.encrypted { match signal extract.encrypted action alert }\n"
	"rule s.encrypted_document { match signal extract.encrypted_document action alert }\n"
	"rule s.unsupported { match signal extract.unsupported action alert }\n"
	"rule s.corrupt { match signal extract.corrupt action alert }\n"
	"rule s.truncated { match signal extract.truncated action alert }\n"
	"rule s.zip_mismatch { match signal extract.zip_mismatch action alert }\n"
	"rule s.ratio { match signal extract.ratio action alert }\n"
	"rule s.too_large { match signal extract.too_large action alert }\n"
	"rule s.too_many_members { match signal extract.too_many_members action alert }\n"
	"rule s.depth_exceeded { match signal extract.depth_exceeded action alert }\n"
	"rule s.too_slow { match signal extract.too_slow action alert }\n"
	"rule s.memory { match signal extract.memory action alert }\n"
	"rule s.engine { match signal engine.memory, engine.scan_error action alert }\n";

/* The memory one message may take in the MIME parser and the extraction stage together
 * (the stage's own budget is 2 MiB), and the CPU time of the abuse cases (sanitizer
 * builds are several times slower than release). */
#define MEMORY_BOUND (3u << 20)
#define TIME_BOUND_S 2.0

struct mcase {
	char name[64];
	char rules[256];
	char path[512];
	uint8_t *msg;
	size_t len;
};

static struct mcase cases[64];
static size_t ncases;
static char dir[256];

static void copy(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static int init(void)
{
	if (tp_fixture_init(policy_text, NULL))
		return 1;
	const char *root = getenv("SLUICE_SOURCE_ROOT");
	snprintf(dir, sizeof dir, "/tmp/sluice-extract-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "python3 %s/tests/extract/gen_archives.py %s", root ? root : ".", dir);
	if (system(cmd) != 0)
		return 1;
	char path[512];
	snprintf(path, sizeof path, "%s/manifest.tsv", dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return 1;
	char line[2048];
	while (ncases < sizeof cases / sizeof cases[0] && fgets(line, sizeof line, f)) {
		struct mcase *c = &cases[ncases];
		line[strcspn(line, "\n")] = '\0';
		char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
		if (!t2)
			break;
		*t1 = *t2 = '\0';
		copy(c->name, sizeof c->name, line);
		copy(c->rules, sizeof c->rules, t1 + 1);
		copy(c->path, sizeof c->path, t2 + 1);
		snprintf(path, sizeof path, "%s/%s.eml", dir, c->name);
		c->msg = sl_read_file(path, &c->len);
		if (!c->msg)
			break;
		ncases++;
	}
	fclose(f);
	return ncases >= 25 ? 0 : 1;
}

static int fini(void)
{
	for (size_t i = 0; i < ncases; i++)
		free(cases[i].msg);
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (dir[0] && system(cmd) != 0)
		return 1;
	return tp_fixture_fini();
}

struct run {
	char *json;
	size_t peak;      /* most memory the parser and the stage held */
	double seconds;   /* CPU time */
	bool failed;      /* the parser ran out of memory */
	bool created;     /* ... after it was made */
	size_t left;      /* charged after the parser was freed */
};

/* The message through the MIME parser (extraction on) into a msgscan, in pieces of
 * `chunk` bytes (0: whole), with memory charged to an account refusing charge
 * `refuse_at` (0: none). */
static struct run run_case(const struct mcase *c, size_t chunk, size_t refuse_at)
{
	struct run r = {0};
	struct test_acct a = {.refuse_at = refuse_at};
	struct sl_memacct acct = test_acct(&a);
	struct sl_envelope env;
	memset(&env, 0, sizeof env);
	struct sl_msgscan *m = sl_msgscan_new(tp_sc, tp_pol, SL_DIR_OUTBOUND);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	struct timespec t0, t1;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
	struct sl_mime *mime = sl_mime_new_acct(NULL, sl_msgscan_event_cb, m, &acct);
	struct sl_event ev = {.type = SL_EV_MESSAGE_BEGIN, .envelope = &env};
	sl_msgscan_event(m, &ev);
	if (mime) {
		sl_mime_reset(mime, 0);
		for (size_t off = 0; off < c->len;) {
			size_t k = chunk && chunk < c->len - off ? chunk : c->len - off;
			sl_mime_feed(mime, c->msg + off, k);
			off += k;
		}
		sl_mime_finish(mime);
		r.failed = sl_mime_failed(mime);
		r.created = true;
	} else {
		r.failed = true;
	}
	struct sl_event end = {.type = SL_EV_MESSAGE_END, .envelope = &env};
	sl_msgscan_event(m, &end);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
	r.seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	sl_verdict_json(sl_msgscan_verdict(m), &b);
	r.json = b.s ? b.s : strdup("");
	CU_ASSERT_PTR_NOT_NULL_FATAL(r.json);
	sl_mime_free(mime);
	sl_msgscan_free(m);
	r.peak = a.peak;
	r.left = a.total;
	return r;
}

/* Rule ids in order, then the evidence paths sorted: what must not depend on chunking
 * (the order of evidence between an attachment and its members does). */
static void summary(const char *json, char *out, size_t cap)
{
	char paths[32][SL_MEMBER_PATH_MAX];
	size_t np = 0, o = 0;
	out[0] = '\0';
	for (const char *p = json; (p = strstr(p, "\"id\":\"")) != NULL;) {
		p += 6;
		size_t n = strcspn(p, "\"");
		o += (size_t)snprintf(out + o, o < cap ? cap - o : 0, "%s%.*s", o ? "," : "", (int)n, p);
	}
	for (const char *p = json; np < 32 && (p = strstr(p, "\"path\":\"")) != NULL;) {
		p += 8;
		size_t n = strcspn(p, "\"");
		snprintf(paths[np++], sizeof paths[0], "%.*s", (int)n, p);
	}
	qsort(paths, np, sizeof paths[0], (int (*)(const void *, const void *))strcmp);
	for (size_t i = 0; i < np && o < cap; i++)
		o += (size_t)snprintf(out + o, cap - o, "|%s", paths[i]);
}

static void rules_of(const char *json, char *out, size_t cap)
{
	summary(json, out, cap);
	out[strcspn(out, "|")] = '\0';
}

/* got == want, or say which case differs and how */
static void expect_same(const char *name, const char *what, const char *got, const char *want)
{
	if (strcmp(got, want) != 0)
		fprintf(stderr, "\n%s %s: [%s], want [%s]\n", name, what, got, want);
	CU_ASSERT_STRING_EQUAL(got, want);
}

static void test_formats(void)
{
	for (size_t i = 0; i < ncases; i++) {
		const struct mcase *c = &cases[i];
		struct run r = run_case(c, 0, 0);
		char got[1024];
		rules_of(r.json, got, sizeof got);
		expect_same(c->name, "rules", got, c->rules);
		if (c->path[0]) {
			char want[600];
			snprintf(want, sizeof want, "\"path\":\"%s\"", c->path);
			bool found = strstr(r.json, want) != NULL;
			if (!found)
				fprintf(stderr, "\n%s: no evidence %s in the verdict\n", c->name, want);
			CU_ASSERT(found);
		}
		CU_ASSERT(!r.failed);
		free(r.json);
	}
}

static void test_chunk_invariance(void)
{
	for (size_t i = 0; i < ncases; i++) {
		const struct mcase *c = &cases[i];
		struct run whole = run_case(c, 0, 0);
		char want[2048];
		summary(whole.json, want, sizeof want);
		/* one byte at a time where the message is small enough to do it quickly */
		size_t chunks[] = {c->len <= 64 * 1024 ? 1 : 61, 7, 1448, 4093};
		for (size_t k = 0; k < sizeof chunks / sizeof chunks[0]; k++) {
			struct run r = run_case(c, chunks[k], 0);
			char got[2048];
			summary(r.json, got, sizeof got);
			char what[64];
			snprintf(what, sizeof what, "in %zu-byte pieces (want: whole)", chunks[k]);
			expect_same(c->name, what, got, want);
			free(r.json);
		}
		free(whole.json);
	}
}

static const struct mcase *find(const char *name)
{
	for (size_t i = 0; i < ncases; i++)
		if (strcmp(cases[i].name, name) == 0)
			return &cases[i];
	CU_FAIL_FATAL("case missing from the manifest");
	return NULL;
}

/* Bombs, deep nesting, many members, encryption, damage: memory and time stay bounded
 * and every byte charged is released. */
static void test_abuse_bounded(void)
{
	static const char *const names[] = {"bomb-zip-in-zip", "nested-20", "many-members", "zip-encrypted",
	                                    "zip-truncated", "zip-cd-mismatch", "gzip-truncated",
	                                    "xml-entities", "ole-encrypted"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		const struct mcase *c = find(names[i]);
		struct run r = run_case(c, 1448, 0);
		printf("\n  %-16s %7zu bytes in, peak %7zu bytes held, %.3f s CPU", c->name, c->len, r.peak,
		       r.seconds);
		CU_ASSERT(r.peak < MEMORY_BOUND);
		CU_ASSERT(r.seconds < TIME_BOUND_S);
		CU_ASSERT_EQUAL(r.left, 0);
		free(r.json);
	}
}

/* The 2 GiB bomb: extraction stops after about the ratio cap's slack, long before the
 * total cap, and says why. */
static void test_bomb_stops_early(void)
{
	const struct mcase *c = find("bomb-zip-in-zip");
	struct run r = run_case(c, 0, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.json, "\"match\":\"extract.ratio\""));
	CU_ASSERT(r.seconds < 0.5);
	free(r.json);
}

/* Documents one after the other on one parser (expat's arena rewound for each, the
 * last document's parser freed first): each verdict as on a new parser, and the
 * memory held after a document does not grow with the documents before it. */
/* The cases NAMES in turn on one parser (as a pooled session's messages): each gets the
 * verdict it gets on a fresh parser; held[i]: what was charged after message i. */
static void in_turn(const char *const *names, size_t n, size_t *held)
{
	struct test_acct a = {0};
	struct sl_memacct acct = test_acct(&a);
	struct sl_msgscan *m = sl_msgscan_new(tp_sc, tp_pol, SL_DIR_OUTBOUND);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	struct sl_mime *mime = sl_mime_new_acct(NULL, sl_msgscan_event_cb, m, &acct);
	CU_ASSERT_PTR_NOT_NULL_FATAL(mime);
	for (size_t i = 0; i < n; i++) {
		const struct mcase *c = find(names[i]);
		struct run fresh = run_case(c, 0, 0);
		struct sl_envelope env;
		memset(&env, 0, sizeof env);
		sl_msgscan_reset(m, SL_DIR_OUTBOUND);
		struct sl_event ev = {.type = SL_EV_MESSAGE_BEGIN, .envelope = &env};
		sl_msgscan_event(m, &ev);
		sl_mime_reset(mime, (uint32_t)i);
		sl_mime_feed(mime, c->msg, c->len);
		sl_mime_finish(mime);
		CU_ASSERT(!sl_mime_failed(mime));
		struct sl_event end = {.type = SL_EV_MESSAGE_END, .envelope = &env};
		sl_msgscan_event(m, &end);
		struct sl_strbuf b;
		sl_strbuf_init(&b);
		sl_verdict_json(sl_msgscan_verdict(m), &b);
		char got[2048], want[2048];
		summary(b.s ? b.s : "", got, sizeof got);
		summary(fresh.json, want, sizeof want);
		expect_same(c->name, "after other documents on the parser", got, want);
		sl_strbuf_free(&b);
		free(fresh.json);
		held[i] = a.total;
	}
	sl_mime_free(mime);
	sl_msgscan_free(m);
	CU_ASSERT_EQUAL(a.total, 0);
}

static void test_documents_in_turn(void)
{
	static const char *const names[] = {"xlsx", "docx", "docx-in-zip", "xlsx", "docx-in-zip"};
	size_t held[sizeof names / sizeof names[0]];
	in_turn(names, sizeof names / sizeof names[0], held);
	/* once the deepest document has been read (levels are kept across messages) */
	CU_ASSERT_EQUAL(held[3], held[2]);
	CU_ASSERT_EQUAL(held[4], held[2]);
	CU_ASSERT(held[2] > held[1]); /* docx-in-zip: one level deeper than a docx */
}

/* What one message's documents grew (expat's arena) or were refused (the stage's
 * budget) is not carried into the next: a 300 KiB attribute after 12,000 element names,
 * a malformed document after one over the budget (extract.corrupt, not extract.memory),
 * get the verdicts they get alone. */
static void test_documents_not_carried(void)
{
	static const char *const grown[] = {"xml-names-12k", "xml-long-attribute", "xml-names-12k"};
	static const char *const refused[] = {"xml-names-40k", "xml-malformed", "xml-names-40k", "docx"};
	size_t held[4];
	in_turn(grown, 3, held);
	CU_ASSERT_EQUAL(held[2], held[0]); /* the same document again holds the same */
	in_turn(refused, 4, held);
}

/* Refuse every charge of a document and of a nested archive in turn: the parser fails
 * (engine.memory, which the policy sees), never crashes, and gives back every byte. */
static void test_memory_refused(void)
{
	static const char *const names[] = {"docx-in-zip", "tar-gz"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		const struct mcase *c = find(names[i]);
		size_t refused_somewhere = 0;
		for (size_t at = 1; at < 400; at++) {
			struct run r = run_case(c, 512, at);
			CU_ASSERT_EQUAL(r.left, 0);
			refused_somewhere += r.failed;
			if (r.failed && r.created)
				CU_ASSERT_PTR_NOT_NULL(strstr(r.json, "\"match\":\"engine.memory\""));
			free(r.json);
		}
		CU_ASSERT(refused_somewhere > 0);
	}
}

/* The case with the Date and Message-ID fields real mail has (the shipped policy's
 * imported SpamAssassin rules score their absence: MISSING_DATE, MISSING_MID). */
static struct mcase dated(const struct mcase *c)
{
	static const char head[] = "Date: Mon, 7 Dec 2026 10:00:00 +0000\r\n"
	                           "Message-ID: <20261207100000.4F2A1@example.com>\r\n";
	struct mcase d = *c;
	d.len = c->len + sizeof head - 1;
	d.msg = malloc(d.len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d.msg);
	memcpy(d.msg, head, sizeof head - 1);
	memcpy(d.msg + sizeof head - 1, c->msg, c->len);
	return d;
}

/* The shipped policy (docs/examples/policy.rules) sees inside containers: the DLP and
 * executable rules fire on what archives and documents hold, encrypted outgoing
 * attachments are quarantined, a bomb or damaged archive is rejected. */
static void test_shipped_policy(void)
{
	static const struct {
		const char *name, *verdict, *decided_by;
	} want[] = {
		{"zip-deflate", "quarantine", "dlp.credit-card"},
		{"zip-deflate-clean", "pass", NULL},
		{"tar-gz", "quarantine", "dlp.credit-card"},
		{"docx", "quarantine", "dlp.credit-card"},
		{"xlsx", "quarantine", "dlp.credit-card"},
		{"odt", "quarantine", "dlp.tw-national-id"},
		{"docx-in-zip", "quarantine", "dlp.credit-card"},
		{"exe-in-zip", "reject", "attach.executable"},
		{"zip-encrypted", "quarantine", "dlp.encrypted-attachment"},
		{"ole-encrypted", "quarantine", "dlp.encrypted-attachment"},
		{"bomb-zip-in-zip", "reject", "unscanned.extraction"},
		{"nested-20", "reject", "unscanned.extraction"},
		{"many-members", "reject", "unscanned.extraction"},
		{"zip-truncated", "reject", "unscanned.extraction"},
		{"zip-cd-mismatch", "reject", "unscanned.extraction"},
		{"pdf-flate", "quarantine", "dlp.credit-card"},
		{"pdf-encrypted", "quarantine", "dlp.encrypted-attachment"},
		{"pdf-ascii85", "pass", NULL},
	};
	const char *root = getenv("SLUICE_SOURCE_ROOT");
	char path[4096];
	snprintf(path, sizeof path, "%s/docs/examples/policy.rules", root ? root : ".");
	struct sl_policy_diag d;
	struct sl_policy *shipped = sl_policy_load(path, &d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(shipped);
	struct sl_policy *mine = tp_pol;
	tp_pol = shipped;
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		struct mcase c = dated(find(want[i].name));
		struct run r = run_case(&c, 0, 0);
		free(c.msg);
		char v[128], by[160];
		snprintf(v, sizeof v, "\"verdict\":\"%s\"", want[i].verdict);
		if (want[i].decided_by)
			snprintf(by, sizeof by, "\"decided_by\":\"%s\"", want[i].decided_by);
		else
			snprintf(by, sizeof by, "\"decided_by\":null");
		bool ok = strstr(r.json, v) && strstr(r.json, by);
		if (!ok)
			fprintf(stderr, "\n%s under the shipped policy: %s\n", want[i].name, r.json);
		CU_ASSERT(ok);
		free(r.json);
	}
	tp_pol = mine;
	sl_policy_unref(shipped);
}

int main(void)
{
	static const struct cu_test tests[] = {
		{"each format: rules and evidence path", test_formats},
		{"chunk invariance (one byte at a time, pieces)", test_chunk_invariance},
		{"abuse: bounded memory and time", test_abuse_bounded},
		{"2 GiB bomb stops at the ratio cap", test_bomb_stops_early},
		{"a refused charge anywhere fails cleanly", test_memory_refused},
		{"documents in turn on one parser", test_documents_in_turn},
		{"a message's extraction is not the one before's", test_documents_not_carried},
		{"the shipped policy sees inside containers", test_shipped_policy},
		{NULL, NULL},
	};
	return cu_run_suite("extract", init, fini, tests);
}
