/* The matcher behind the real MIME parser: Big5 and GBK text matched by UTF-8 keywords,
 * base64 and quoted-printable content matched after decoding, RFC 2231 names; and the
 * verdict is the same wherever the raw message is split (every offset). */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "sluice/mime.h"


static const char *policy_text =
	"internal { domain example.com }\n"
	"rule zh.keyword { match text keywords \"zh.txt\" action alert }\n"
	"rule zh.subject { match header:subject \"申請\" action alert }\n"
	"rule card { match body, attachment /[2-6](?:[ -]?[0-9]){12,18}\\b/ validate luhn action quarantine }\n"
	"rule twid { match body /[A-Z][1289][0-9]{8}\\b/ validate tw-id action quarantine }\n"
	"rule eicar { match part \"EICAR-STANDARD-ANTIVIRUS-TEST-FILE\" action reject }\n"
	"rule exe { match filename /\\.(?:exe|scr|js)$/i action reject }\n"
	"rule b64sig { match signal mime.bad_base64 score 1 }\n";

static int init(void)
{
	return tp_fixture_init(policy_text, "zh.txt", "機密\n机密文件\n", NULL);
}

static uint8_t *read_msg(const char *name, size_t *len)
{
	const char *root = getenv("SLUICE_SOURCE_ROOT");
	char path[4096];
	snprintf(path, sizeof path, "%s/tests/data/policy/%s", root ? root : ".", name);
	return sl_read_file(path, len);
}

static char *verdict_of(const uint8_t *msg, size_t len, size_t split)
{
	return tp_mime_verdict(tp_sc, tp_pol, SL_DIR_OUTBOUND, msg, len, split);
}

static const struct {
	const char *file;
	const char *rules; /* the rule ids that fire, in file order */
} cases[] = {
	{"tw-id-big5-outbound.eml", "zh.keyword,zh.subject,twid"},   /* Big5, base64 */
	{"confidential-gbk-outbound.eml", "zh.keyword"},             /* GBK, 8bit */
	{"card-base64-attachment-outbound.eml", "card"},             /* base64 attachment */
	{"card-qp-split-outbound.eml", "card"},                      /* QP soft break inside the number */
	{"eicar-base64-attachment.eml", "eicar"},
	{"eicar-plain-attachment.eml", "eicar"},
	{"exe-rfc2231-filename.eml", "exe"},
	{"exe-rfc2231-continuation.eml", "exe"},
	{"exe-rfc2047-name.eml", "exe"},
	{"clean-inbound.eml", ""},
	{"pdf-attachment-clean.eml", ""},
};

static void test_decoded_matching(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t len;
		uint8_t *msg = read_msg(cases[i].file, &len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
		char *v = verdict_of(msg, len, 0);
		char ids[256];
		tp_ids_of(v, ids, sizeof ids);
		const char *want = cases[i].rules ? cases[i].rules : "";
		if (strcmp(ids, want) != 0)
			fprintf(stderr, "\n%s: fired '%s', want '%s'\n", cases[i].file, ids, want);
		CU_ASSERT_STRING_EQUAL(ids, want);
		free(v);
		free(msg);
	}
}

static void test_split_at_every_offset(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t len;
		uint8_t *msg = read_msg(cases[i].file, &len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
		char *ref = verdict_of(msg, len, 0);
		size_t bad = 0;
		for (size_t k = 1; k < len; k++) {
			char *v = verdict_of(msg, len, k);
			if (strcmp(v, ref) != 0 && bad++ == 0)
				fprintf(stderr, "\n%s split at %zu:\n got %s\nwant %s\n", cases[i].file, k, v ? v : "", ref ? ref : "");
			free(v);
		}
		CU_ASSERT_EQUAL(bad, 0);
		free(ref);
		free(msg);
	}
}

int main(void)
{
	static const struct cu_test tests[] = {
		{"decoded matching", test_decoded_matching},
		{"split at every offset", test_split_at_every_offset},
		{NULL, NULL},
	};
	return cu_run_suite("policy_engine", init, tp_fixture_fini, tests);
}
