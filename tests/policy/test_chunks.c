/* Matches split across chunk boundaries: the verdict (evidence offsets included) is
 * the same whatever the chunking — split in two at every offset, and fed in chunks of
 * every size from 1 byte. */
#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "matcher.h"


static const char eicar[] = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

static const char *body =
	"Dear team, literal-marker here. Card 4111 1111 1111 1111, ID A123456789,\r\n"
	"IBAN GB82 WEST 1234 5698 7654 32; 機密 文件; payment due; "
	"second card 5555555555554444. wrong 4111 1111 1111 1112. end";

static int init(void)
{
	return tp_fixture_init(
		"rule lit { match body \"literal-marker\" count >= 1 action alert }\n"
		"rule card { match body /[2-6](?:[ -]?[0-9]){12,18}\\b/ validate luhn count >= 2 distinct action quarantine }\n"
		"rule twid { match body /[A-Z][1289][0-9]{8}\\b/ validate tw-id action quarantine }\n"
		"rule iban { match body /[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}\\b/ validate iban action alert }\n"
		"rule kw { match body keywords \"kw.txt\" count >= 2 distinct score 1 }\n"
		"rule pf { match body /pay(?=ment due)/ action alert }\n"
		"rule av { match part ndb \"av.ndb\" action reject }\n"
		"rule rawm { match raw \"X-Marker: on\" score 2 }\n",
		"kw.txt", "機密\n文件\n",
		"av.ndb", "Eicar:0:*:58354f2150254041505b345c505a58353428505e2937434329377d24"
		          "45494341522d5354414e444152442d414e544956495255532d544553542d46494c452124482b482a\n",
		NULL);
}

static char *verdict_json(size_t chunk, size_t split)
{
	char att[256];
	snprintf(att, sizeof att, "head %s tail", eicar);
	const char *raw = "From: a@example.com\r\nX-Marker: on\r\n\r\nbody\r\n";
	struct tp_msg t = {.chunk = chunk, .split = split};
	tp_begin(&t, tp_sc, tp_pol, SL_DIR_OUTBOUND);
	tp_raw(&t, raw, strlen(raw));
	tp_text(&t, "1", body);
	tp_leaf(&t, "2", "application/octet-stream", "x.bin", "attachment", att, strlen(att), NULL, 0);
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	sl_verdict_json(tp_end(&t), &b);
	tp_free(&t);
	if (!b.s)
		abort();
	return b.s;
}

static void test_reference_verdict(void)
{
	char *ref = verdict_json(0, 0);
	/* every rule fired once, where expected */
	static const char *const ids[] = {"lit", "card", "twid", "iban", "kw", "pf", "av", "rawm"};
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		char needle[64];
		snprintf(needle, sizeof needle, "{\"id\":\"%s\"", ids[i]);
		if (!strstr(ref, needle))
			fprintf(stderr, "\n%s missing in %s\n", ids[i], ref ? ref : "");
		CU_ASSERT_PTR_NOT_NULL(strstr(ref, needle));
	}
	CU_ASSERT_PTR_NOT_NULL(strstr(ref, "\"verdict\":\"reject\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(ref, "{\"id\":\"card\",\"action\":\"quarantine\",\"score\":0,\"count\":2,"));
	free(ref);
}

static void test_split_at_every_offset(void)
{
	char *ref = verdict_json(0, 0);
	size_t n = strlen(body) + 8;
	for (size_t k = 1; k < n; k++) {
		char *got = verdict_json(0, k);
		if (strcmp(ref, got) != 0)
			fprintf(stderr, "\nsplit at %zu:\n got %s\nwant %s\n", k, got ? got : "", ref ? ref : "");
		CU_ASSERT_STRING_EQUAL(got, ref);
		free(got);
	}
	free(ref);
}

static void test_every_chunk_size(void)
{
	char *ref = verdict_json(0, 0);
	for (size_t c = 1; c <= 80; c++) {
		char *got = verdict_json(c, 0);
		if (strcmp(ref, got) != 0)
			fprintf(stderr, "\nchunk %zu:\n got %s\nwant %s\n", c, got ? got : "", ref ? ref : "");
		CU_ASSERT_STRING_EQUAL(got, ref);
		free(got);
	}
	free(ref);
}

/* A text attachment feeds two streams in turn (its bytes, its text), one event each per
 * network-sized chunk: both are gathered into batches, not scanned event by event, and
 * matches across chunk ends are still found where they are. */
static void test_text_attachment_batched(void)
{
	struct sl_policy *p = tp_policy(
		"rule t { match text \"needle-in-text\" count >= 3 action alert }\n"
		"rule a { match attachment \"needle-in-bytes\" count >= 3 action alert }\n", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	size_t len = 100000, chunk = 1448;
	char *data = malloc(len), *text = malloc(len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(data);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	memset(data, 'x', len);
	memset(text, 'y', len);
	for (size_t k = 1; k <= 3; k++) { /* each straddles a chunk end */
		memcpy(data + k * 20 * chunk - 5, "needle-in-bytes", 15);
		memcpy(text + k * 22 * chunk - 7, "needle-in-text", 14);
	}
	char *json[2];
	for (int whole = 0; whole < 2; whole++) {
		struct tp_msg t = {.chunk = whole ? 0 : chunk};
		tp_begin(&t, tp_sc, p, SL_DIR_OUTBOUND);
		tp_leaf(&t, "2", "text/plain", "notes.txt", "attachment", data, len, text, len);
		const struct sl_verdict *v = tp_end(&t);
		tp_expect_hits(v, "t", "a", NULL);
		struct sl_msgscan_counts c;
		for (unsigned d = DB_ATTACH_TEXT; d <= DB_ATTACH_RAW; d++) {
			CU_ASSERT_FATAL(sl_msgscan_counts(t.m, d, &c));
			CU_ASSERT_EQUAL(c.instances, 1);
			CU_ASSERT_EQUAL(c.bytes, len);
			if (c.scans > len / (POL_BATCH - chunk) + 1)
				fprintf(stderr, "\n%s: %llu scans of %zu bytes in %zu-byte events\n", c.db,
				        (unsigned long long)c.scans, len, whole ? len : chunk);
			CU_ASSERT(c.scans <= len / (POL_BATCH - chunk) + 1);
		}
		struct sl_strbuf b;
		sl_strbuf_init(&b);
		sl_verdict_json(v, &b);
		json[whole] = b.s;
		tp_free(&t);
	}
	CU_ASSERT_STRING_EQUAL(json[0], json[1]);
	free(json[0]);
	free(json[1]);
	free(data);
	free(text);
	sl_policy_unref(p);
}

/* A small event is gathered, a large one after it is scanned at once: the small one's
 * bytes must reach the stream first, or a match across the two is lost. */
static void test_small_then_large_event(void)
{
	struct sl_policy *p = tp_policy("rule n { match body \"needle-across\" action alert }\n", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	size_t len = 100 + POL_BATCH / 2 + 1000; /* the second piece: scanned whole, fits a batch */
	char *body = malloc(len + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(body);
	memset(body, 'x', len);
	body[len] = '\0';
	memcpy(body + 95, "needle-across", 13);
	struct tp_msg t = {.split = 100};
	tp_begin(&t, tp_sc, p, SL_DIR_OUTBOUND);
	tp_text(&t, "1", body);
	tp_expect_hits(tp_end(&t), "n", NULL);
	tp_free(&t);
	free(body);
	sl_policy_unref(p);
}

int main(void)
{
	static const struct cu_test tests[] = {
		{"reference verdict", test_reference_verdict},
		{"split at every offset", test_split_at_every_offset},
		{"every chunk size", test_every_chunk_size},
		{"text attachment: bytes and text batched", test_text_attachment_batched},
		{"a small event, then a large one: stream order kept", test_small_then_large_event},
		{NULL, NULL},
	};
	return cu_run_suite("policy_chunks", init, tp_fixture_fini, tests);
}
