/* Real sessions: the Zeek captures (tests/data/zeek/captures) as transcripts
 * (tests/data/smtp/zeek, made by tests/smtp/extract-transcript). The messages the
 * server took must equal tests/data/zeek/messages/ byte for byte. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests.h"

/* Sessions whose Zeek .eml files differ from ours on purpose (docs/engine-smtp.md):
 * Zeek's reassembler ran a BDAT chunk on across a capture hole; we stop it at its size
 * and read what follows the hole as commands (checked in test_bdat_gap). */
static const char *const differs[] = {"zeek__smtp__smtp-bdat-gap_s0.txt"};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names in dir (relative to the source root) that contain `has`, end in `ext`
 * and do not contain `hasnt`. */
static size_t list_dir(const char *dir, const char *has, const char *hasnt, const char *ext,
                       char ***out)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s",
	         getenv("SLUICE_SOURCE_ROOT") ? getenv("SLUICE_SOURCE_ROOT") : ".", dir);
	DIR *d = opendir(path);
	size_t n = 0;
	*out = NULL;
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name), el = strlen(ext);
		if (l < el || strcmp(e->d_name + l - el, ext) != 0)
			continue;
		if ((has && !strstr(e->d_name, has)) || (hasnt && strstr(e->d_name, hasnt)))
			continue;
		*out = realloc(*out, (n + 1) * sizeof **out);
		(*out)[n++] = strdup(e->d_name);
	}
	closedir(d);
	if (n)
		qsort(*out, n, sizeof **out, cmp_str);
	return n;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static bool taken(int code)
{
	/* 2xx, or 0: one-sided capture, the reply was never seen */
	return code == 0 || (code >= 200 && code < 300);
}

static void test_messages_match(void)
{
	char **ts;
	size_t nt = list_dir("tests/data/smtp/zeek", NULL, NULL, ".txt", &ts);
	CU_ASSERT(nt >= 20);
	size_t compared = 0;
	for (size_t i = 0; i < nt; i++) {
		bool skip = false;
		for (size_t k = 0; k < sizeof differs / sizeof differs[0]; k++)
			skip |= strcmp(ts[i], differs[k]) == 0;
		if (skip)
			continue;
		/* NAME_sS.txt -> tests/data/zeek/messages/NAME/NN_sS_*.eml */
		char name[512], stream[32], dir[600], rel[700];
		snprintf(name, sizeof name, "%s", ts[i]);
		char *us = strrchr(name, '_');
		CU_ASSERT_PTR_NOT_NULL_FATAL(us);
		snprintf(stream, sizeof stream, "%.*s_", (int)(strlen(us) - 4), us);
		*us = '\0';
		snprintf(dir, sizeof dir, "tests/data/zeek/messages/%s", name);
		char **emls;
		size_t ne = list_dir(dir, stream, "INCOMPLETE", ".eml", &emls);
		snprintf(rel, sizeof rel, "zeek/%s", ts[i]);
		struct run *r = run_file(rel);
		size_t got = 0;
		for (size_t m = 0; m < r->nmsgs; m++) {
			if (!taken(r->msgs[m].code))
				continue;
			if (got < ne) {
				char f[1400];
				snprintf(f, sizeof f, "%s/%s", dir, emls[got]);
				size_t len;
				uint8_t *want = read_source_file(f, &len);
				CU_ASSERT_PTR_NOT_NULL(want);
				bool same = want && len == r->msgs[m].raw.len &&
				            memcmp(want, r->msgs[m].raw.s, len) == 0;
				if (!same)
					fprintf(stderr, "\n%s: message %zu differs from %s\n", ts[i], m, f);
				CU_ASSERT(same);
				compared++;
				free(want);
			}
			got++;
		}
		if (got != ne)
			fprintf(stderr, "\n%s: %zu messages taken, %zu expected\n", ts[i], got, ne);
		CU_ASSERT_EQUAL(got, ne);
		run_free(r);
		free_list(emls, ne);
	}
	/* every accepted message of the captures: 18 of them */
	CU_ASSERT_EQUAL(compared, 18);
	free_list(ts, nt);
}

static void test_chunking_invariance(void)
{
	char **ts;
	size_t nt = list_dir("tests/data/smtp/zeek", NULL, NULL, ".txt", &ts);
	char **hs;
	size_t nh = list_dir("tests/data/smtp/hand", NULL, NULL, ".txt", &hs);
	CU_ASSERT(nt >= 20 && nh >= 15);
	for (size_t i = 0; i < nt + nh; i++) {
		char rel[600];
		snprintf(rel, sizeof rel, "%s/%s", i < nt ? "zeek" : "hand",
		         i < nt ? ts[i] : hs[i - nt]);
		struct transcript *t = transcript_load(rel);
		CU_ASSERT_PTR_NOT_NULL_FATAL(t);
		const char *diff = run_invariance(t, NULL);
		if (diff[0])
			fprintf(stderr, "\n%s: %s\n", rel, diff);
		CU_ASSERT_STRING_EQUAL(diff, "");
		transcript_free(t);
	}
	free_list(ts, nt);
	free_list(hs, nh);
}

static void test_envelopes(void)
{
	struct run *r = run_file("zeek/zeek__smtp_s0.txt");
	CU_ASSERT_EQUAL_FATAL(r->nmsgs, 1);
	CU_ASSERT_STRING_EQUAL(r->msgs[0].env.helo, "GP");
	CU_ASSERT_STRING_EQUAL(r->msgs[0].env.auth_user, "gurpartap@patriots.in");
	CU_ASSERT_STRING_EQUAL(r->msgs[0].env.mail_from, "gurpartap@patriots.in");
	CU_ASSERT_EQUAL_FATAL(r->msgs[0].env.nrcpt, 1);
	CU_ASSERT_STRING_EQUAL(r->msgs[0].rcpt[0].addr, "raj_deol2002in@yahoo.co.in");
	run_free(r);

	r = run_file("zeek/zeek__smtp_s2.txt");
	CU_ASSERT_EQUAL_FATAL(r->nmsgs, 1);
	CU_ASSERT_EQUAL_FATAL(r->msgs[0].env.nrcpt, 3);
	CU_ASSERT_STRING_EQUAL(r->msgs[0].rcpt[2].addr, "davis_mark1@outlook.com");
	run_free(r);

	r = run_file("zeek/zeek__smtp__smtp-many-addresses_s0.txt");
	CU_ASSERT_EQUAL_FATAL(r->nmsgs, 1);
	CU_ASSERT_EQUAL(r->msgs[0].env.nrcpt, 600);
	size_t accepted = 0;
	for (size_t i = 0; i < r->msgs[0].env.nrcpt; i++)
		accepted += r->msgs[0].rcpt[i].status == SL_RCPT_ACCEPTED;
	CU_ASSERT_EQUAL(accepted, 600);
	CU_ASSERT_EQUAL(r->nsigs, 0);
	run_free(r);

	/* MAIL/RCPT/DATA out of order against a strict server: three refused DATA, two
	 * messages */
	r = run_file("zeek/zeek__smtp-mail-transactions-invalid_s0.txt");
	CU_ASSERT_EQUAL_FATAL(r->nmsgs, 2);
	CU_ASSERT_EQUAL(r->refused, 3);
	CU_ASSERT_EQUAL(r->msgs[1].txn, 4);
	CU_ASSERT_EQUAL(r->msgs[0].code, 250);
	CU_ASSERT_EQUAL(r->msgs[1].code, 250);
	run_free(r);

	r = run_file("zeek/zeek__smtp__smtp-bdat-pipeline-8bitmime_s0.txt");
	CU_ASSERT_EQUAL_FATAL(r->nmsgs, 2);
	CU_ASSERT(r->msgs[0].env.bdat && r->msgs[0].env.body_8bitmime);
	CU_ASSERT_EQUAL(r->msgs[0].env.size_param, 4333);
	CU_ASSERT_EQUAL(r->msgs[1].env.size_param, 8546);
	run_free(r);
}

static void test_starttls_capture(void)
{
	struct run *r = run_file("zeek/zeek__tls__smtp-starttls_s0.txt");
	CU_ASSERT(sl_smtp_encrypted(r->s));
	CU_ASSERT_STRING_EQUAL(r->trace.s, "220 EHLO 250 STARTTLS 220 ");
	run_free(r);
}

static void test_bdat_gap(void)
{
	struct run *r = run_file("zeek/zeek__smtp__smtp-bdat-gap_s0.txt");
	CU_ASSERT_STRING_EQUAL(r->trace.s,
		"220 EHLO 250 MAIL 250 RCPT 250 BDAT begin0 250 !smtp.gap 250 "
		"!smtp.unsolicited_reply !smtp.incomplete end0 result0=0 DATA 354 begin1 end1 250 "
		"result1=250 QUIT 221 ");
	CU_ASSERT_EQUAL_FATAL(r->nmsgs, 2);
	/* the 100 bytes before the hole; Zeek's .eml has them followed by the DATA session */
	size_t len;
	uint8_t *zeek = read_source_file(
		"tests/data/zeek/messages/zeek__smtp__smtp-bdat-gap/01_s0_BDAT_INCOMPLETE.eml", &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(zeek);
	CU_ASSERT_EQUAL(r->msgs[0].raw.len, 100);
	CU_ASSERT(memcmp(r->msgs[0].raw.s, zeek, 100) == 0);
	free(zeek);
	CU_ASSERT_EQUAL(r->msgs[1].raw.len, 78);
	CU_ASSERT(memcmp(r->msgs[1].raw.s, "From: sender@example.com\r\n", 26) == 0);
	run_free(r);
}

void register_zeek_tests(void)
{
	static const struct test_def tests[] = {
		{"messages equal the Zeek .eml files", test_messages_match},
		{"chunking invariance, every transcript", test_chunking_invariance},
		{"envelopes", test_envelopes},
		{"STARTTLS capture", test_starttls_capture},
		{"BDAT capture with a gap", test_bdat_gap},
	};
	add_suite("captures", tests, sizeof tests / sizeof tests[0]);
}
