/* CUnit suite "charset": text bodies converted to UTF-8 (PART_TEXT) and RFC 2047
 * words decoded, for the charsets real mail uses; every case is also fed one byte at
 * a time so multibyte sequences are split at every point. */
#include <CUnit/CUnit.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "cunit_run.h"
#include "charset.h"
#include "mimetest.h"
#include "sluice/mime.h"
#include "sluice/strbuf.h"

struct tcase {
	const char *charset;
	const char *bytes;
	const char *utf8;
};

static const struct tcase cases[] = {
	{"big5", "\xa4\xa4\xa4\xe5\xb4\xfa\xb8\xd5", "\xe4\xb8\xad\xe6\x96\x87\xe6\xb8\xac\xe8\xa9\xa6"},
	{"GBK", "\xd6\xd0\xce\xc4", "\xe4\xb8\xad\xe6\x96\x87"},
	/* gb2312 labels are read as GBK/GB18030: mail says gb2312 and means GBK */
	{"gb2312", "\xd6\xd0\x86\xaa", "\xe4\xb8\xad\xe5\x95\xb0"},
	{"GB18030", "\xa8\xa6\xa2\xe3\xd6\xd0\x81\x30\x81\x30", "\xc3\xa9\xe2\x82\xac\xe4\xb8\xad\xc2\x80"},
	{"iso-2022-jp", "\x1b\x24\x42\x46\x7c\x4b\x5c\x38\x6c\x25\x46\x25\x2d\x25\x39\x25\x48\x1b\x28\x42 ok",
	 "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x83\x86\xe3\x82\xad\xe3\x82\xb9\xe3\x83\x88 ok"},
	{"Shift_JIS", "\x93\xfa\x96\x7b\x8c\xea", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"},
	{"euc-kr", "\xc7\xd1\xb1\xb9\xbe\xee", "\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4"},
	{"ks_c_5601-1987", "\xc7\xd1\xb1\xb9\xbe\xee", "\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4"},
	{"iso-8859-1", "caf\xe9", "caf\xc3\xa9"},
	{"latin1", "\x80 euro", "\xe2\x82\xac euro"}, /* windows-1252 superset, as browsers */
	{"windows-1252", "\x80\x93\x94\xe9", "\xe2\x82\xac\xe2\x80\x9c\xe2\x80\x9d\xc3\xa9"},
	{"iso-8859-7", "\xe1\xe2\xe3", "\xce\xb1\xce\xb2\xce\xb3"},
	{"koi8-r", "\xd0\xd2\xc9", "\xd0\xbf\xd1\x80\xd0\xb8"},
	{"windows-1251", "\xef\xf0\xe8", "\xd0\xbf\xd1\x80\xd0\xb8"},
	{"utf-8", "\xf0\x9f\x98\x80 smile", "\xf0\x9f\x98\x80 smile"},
	{"UTF8", "\xe2\x82\xac", "\xe2\x82\xac"},
	{"us-ascii", "plain", "plain"},
};

static void run_case(const struct tcase *c, long chunk)
{
	char msg[512];
	snprintf(msg, sizeof msg, "Content-Type: text/plain; charset=\"%s\"\r\n\r\n%s", c->charset, c->bytes);
	struct mt_result r;
	mt_run(&r, msg, strlen(msg), chunk, NULL);
	const struct mt_part *p = mt_leaf(&r, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	if (!p->text.s || strcmp(p->text.s, c->utf8) != 0)
		fprintf(stderr, "\n%s (chunk %ld): got \"%s\"\n", c->charset, chunk, p->text.s ? p->text.s : "");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p->text.s);
	CU_ASSERT_STRING_EQUAL(p->text.s, c->utf8);
	/* PART_DATA stays the transfer-decoded bytes */
	CU_ASSERT_EQUAL(p->data.len, strlen(c->bytes));
	CU_ASSERT(memcmp(p->data.s, c->bytes, p->data.len) == 0);
	CU_ASSERT(!mt_has_signal(&r, "mime.bad_charset"));
	CU_ASSERT(!mt_has_signal(&r, "mime.unknown_charset"));
	mt_free(&r);
}

static void test_bodies(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		run_case(&cases[i], 0);
		run_case(&cases[i], 1);
		run_case(&cases[i], 3);
	}
}

static void test_invalid_sequences(void)
{
	struct mt_result r;
	const char msg[] = "Content-Type: text/plain; charset=big5\r\n\r\n\xa4\xa4\xff\xa4\xe5";
	mt_run(&r, msg, sizeof msg - 1, 1, NULL);
	CU_ASSERT(mt_has_signal(&r, "mime.bad_charset"));
	CU_ASSERT(strstr(mt_leaf(&r, 0)->text.s, "\xe4\xb8\xad") != NULL);
	CU_ASSERT(strstr(mt_leaf(&r, 0)->text.s, "\xef\xbf\xbd") != NULL);
	mt_free(&r);
	/* a sequence cut by the end of the part */
	const char cut[] = "Content-Type: text/plain; charset=utf-8\r\n\r\nab\xe2\x82";
	mt_run(&r, cut, sizeof cut - 1, 1, NULL);
	CU_ASSERT_STRING_EQUAL(mt_leaf(&r, 0)->text.s, "ab\xef\xbf\xbd");
	mt_free(&r);
}

static void test_unknown_and_missing(void)
{
	struct mt_result r;
	const char msg[] = "Content-Type: text/plain; charset=x-user-defined-42\r\n\r\nok \xc3\xa9";
	mt_run(&r, msg, sizeof msg - 1, 0, NULL);
	CU_ASSERT(mt_has_signal(&r, "mime.unknown_charset"));
	CU_ASSERT_STRING_EQUAL(mt_leaf(&r, 0)->text.s, "ok \xc3\xa9");
	mt_free(&r);
	const char none[] = "Content-Type: text/html\r\n\r\n\xe4\xb8\xad";
	mt_run(&r, none, sizeof none - 1, 1, NULL);
	CU_ASSERT_STRING_EQUAL(mt_leaf(&r, 0)->text.s, "\xe4\xb8\xad");
	CU_ASSERT_EQUAL(mt_leaf(&r, 0)->part.charset[0], '\0');
	mt_free(&r);
	/* non-text parts get no PART_TEXT */
	const char bin[] = "Content-Type: application/octet-stream\r\n\r\nabc";
	mt_run(&r, bin, sizeof bin - 1, 0, NULL);
	CU_ASSERT_EQUAL(mt_leaf(&r, 0)->text.len, 0);
	CU_ASSERT_EQUAL(mt_leaf(&r, 0)->data.len, 3);
	mt_free(&r);
}

static void test_base64_text(void)
{
	/* charset conversion after transfer decoding */
	struct mt_result r;
	const char msg[] = "Content-Type: text/plain; charset=big5\r\nContent-Transfer-Encoding: base64\r\n\r\npKSk5Q==\r\n";
	mt_run(&r, msg, sizeof msg - 1, 1, NULL);
	CU_ASSERT_STRING_EQUAL(mt_leaf(&r, 0)->text.s, "\xe4\xb8\xad\xe6\x96\x87");
	mt_free(&r);
}

static void test_encoded_words(void)
{
	struct mt_result r;
	const char msg[] =
		"Subject: =?big5?B?pKSk5Q==?= =?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=\r\n"
		"X-Korean: =?ks_c_5601-1987?B?x9Gxub7u?=\r\n"
		"X-Latin: =?iso-8859-1?Q?caf=E9?=\r\n"
		"X-Win: =?windows-1252?Q?=80?=\r\n"
		"X-Gbk: =?gb2312?B?1tCGqg==?=\r\n"
		"X-Sjis: =?shift_jis?B?k/qWe4zq?=\r\n"
		"\r\n";
	mt_run(&r, msg, sizeof msg - 1, 1, NULL);
	CU_ASSERT_STRING_EQUAL(mt_header(&r, "", "Subject"),
	                       "\xe4\xb8\xad\xe6\x96\x87\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");
	CU_ASSERT_STRING_EQUAL(mt_header(&r, "", "X-Korean"), "\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4");
	CU_ASSERT_STRING_EQUAL(mt_header(&r, "", "X-Latin"), "caf\xc3\xa9");
	CU_ASSERT_STRING_EQUAL(mt_header(&r, "", "X-Win"), "\xe2\x82\xac");
	CU_ASSERT_STRING_EQUAL(mt_header(&r, "", "X-Gbk"), "\xe4\xb8\xad\xe5\x95\xb0");
	CU_ASSERT_STRING_EQUAL(mt_header(&r, "", "X-Sjis"), "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");
	mt_free(&r);
	/* raw 8-bit header bytes: UTF-8 kept, anything else U+FFFD (email's _sanitize) */
	const char raw[] = "Subject: caf\xc3\xa9 caf\xe9 \xe2\x82\r\n\r\n";
	mt_run(&r, raw, sizeof raw - 1, 0, NULL);
	CU_ASSERT_STRING_EQUAL(mt_header(&r, "", "Subject"), "caf\xc3\xa9 caf\xef\xbf\xbd \xef\xbf\xbd");
	CU_ASSERT(mt_has_signal(&r, "mime.8bit_header"));
	mt_free(&r);
}

static void collect(void *ctx, const uint8_t *p, size_t n)
{
	sl_strbuf_put(ctx, p, n);
}

static void convert(struct sl_iconv_cache *cache, struct sl_cs cs, bool plain, const uint8_t *buf,
                    size_t n, uint64_t *x, struct sl_strbuf *out, size_t *replaced)
{
	struct sl_textconv t;
	sl_textconv_open(&t, cache, cs);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t.dbcs);
	if (plain)
		t.dbcs = NULL;
	size_t off = 0;
	while (off < n) {
		size_t k = n - off;
		if (x) {
			*x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
			k = 1 + *x % 7;
			if (k > n - off)
				k = n - off;
		}
		sl_textconv_feed(&t, buf + off, k, collect, out);
		off += k;
	}
	sl_textconv_finish(&t, collect, out);
	*replaced = t.replaced;
}

/* The double-byte path (cached pairs) gives what plain iconv gives on valid text,
 * and the same output however the bytes are cut, valid or not. */
static void test_dbcs_cache_matches_iconv(void)
{
	static const char *const names[] = {"big5", "cp950", "gbk", "gb18030", "euc-kr", "cp949"};
	struct sl_iconv_cache cache;
	sl_iconv_cache_init(&cache);
	uint64_t x = 88172645463325252ull;
	size_t valid = 0;
	for (size_t c = 0; c < sizeof names / sizeof names[0]; c++) {
		struct sl_cs cs = sl_charset_lookup(names[c], strlen(names[c]), true);
		CU_ASSERT_EQUAL_FATAL(cs.kind, SL_CS_ICONV);
		for (int round = 0; round < 400; round++) {
			uint8_t buf[400];
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			size_t n = 1 + (x >> 7) % (round % 2 ? 12 : sizeof buf);
			for (size_t i = 0; i < n; i++) {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				uint8_t b = (uint8_t)x;
				buf[i] = (x >> 40) % 4 == 0 ? (uint8_t)(b & 0x7F) : (uint8_t)(0x81 + b % 0x7E);
				if ((x >> 50) % 16 == 0)
					buf[i] = (uint8_t)(0x30 + b % 10); /* GB18030 four-byte shapes */
			}
			struct sl_strbuf plain, whole, cut;
			sl_strbuf_init(&plain);
			sl_strbuf_init(&whole);
			sl_strbuf_init(&cut);
			size_t rp, rw, rc;
			convert(&cache, cs, true, buf, n, NULL, &plain, &rp);
			convert(&cache, cs, false, buf, n, NULL, &whole, &rw);
			convert(&cache, cs, false, buf, n, &x, &cut, &rc);
			CU_ASSERT(whole.len == cut.len && memcmp(whole.s, cut.s, whole.len) == 0);
			CU_ASSERT_EQUAL(rw, rc);
			if (rp == 0) {
				valid++;
				CU_ASSERT(plain.len == whole.len && memcmp(plain.s, whole.s, plain.len) == 0);
				CU_ASSERT_EQUAL(rw, 0);
			}
			sl_strbuf_free(&plain);
			sl_strbuf_free(&whole);
			sl_strbuf_free(&cut);
		}
	}
	CU_ASSERT(valid > 100); /* the comparison with iconv really happened */
	sl_iconv_cache_free(&cache);
}

/* A recycled cache's descriptors go to the thread's stash, and the next cache takes
 * them from there in their initial shift state rather than opening new ones. */
static void test_recycled_descriptors(void)
{
	struct sl_cs cs = sl_charset_lookup("iso-2022-jp", 11, false);
	CU_ASSERT_EQUAL_FATAL(cs.kind, SL_CS_ICONV);
	struct sl_iconv_cache a, b;
	sl_iconv_cache_init(&a);
	sl_iconv_cache_init(&b);
	iconv_t cd = sl_iconv_cache_get(&a, cs.iconv_name);
	CU_ASSERT_FATAL(cd != (iconv_t)-1);
	char shift[] = "\x1b$B", out[16]; /* into JIS X 0208: "AB" would be one kanji */
	char *ip = shift, *op = out;
	size_t il = 3, ol = sizeof out;
	CU_ASSERT_EQUAL(iconv(cd, &ip, &il, &op, &ol), 0);
	sl_iconv_cache_recycle(&a);
	for (int i = 0; i < SL_ICONV_CACHE; i++)
		CU_ASSERT(a.e[i].cd == (iconv_t)-1);
	iconv_t again = sl_iconv_cache_get(&b, cs.iconv_name);
	CU_ASSERT(again == cd); /* the same descriptor: not opened anew */
	char ascii[] = "AB";
	ip = ascii, op = out, il = 2, ol = sizeof out;
	CU_ASSERT_EQUAL(iconv(again, &ip, &il, &op, &ol), 0);
	CU_ASSERT(op - out == 2 && memcmp(out, "AB", 2) == 0); /* back in ASCII */
	sl_iconv_cache_free(&b);
}

/* Lines of /proc/self/maps that map a glibc gconv module. */
static unsigned gconv_mappings(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	char line[1024];
	unsigned n = 0;
	while (fgets(line, sizeof line, f))
		n += strstr(line, "/gconv/") != NULL;
	fclose(f);
	return n;
}

/* Run first, before any test loads a module: after the preload, decoding every charset
 * of the cases maps nothing more (no dlopen, no file read, on the thread that parses). */
static void test_preload(void)
{
	char err[256];
	CU_ASSERT_EQUAL(gconv_mappings(), 0);
	CU_ASSERT_EQUAL_FATAL(sl_mime_preload_charsets(err, sizeof err), 0);
	unsigned loaded = gconv_mappings();
	CU_ASSERT(loaded > 40); /* ~70 modules, several mappings each */
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		run_case(&cases[i], 0);
	CU_ASSERT_EQUAL(gconv_mappings(), loaded);
	CU_ASSERT_EQUAL(sl_mime_preload_charsets(err, sizeof err), 0); /* again: nothing new */
	CU_ASSERT_EQUAL(gconv_mappings(), loaded);
}

/* Labels looked up again, in any order, resolve as they did the first time: the lookup
 * remembers recent labels per thread (16 slots), so more labels than slots, labels
 * that share a slot (same length, first and last byte) with other answers, and labels
 * too long to remember. The reference is each label's first lookup in a thread of its
 * own, which remembers nothing yet. */
static const char *const relabels[] = {
	"utf-8", "ut_-8", "UTF8", "us-ascii", "latin1", "lxtin1", "iso-8859-1", "iso_8859-1",
	"iso-8859-2", "iso-8859-7", "iso-8859-9", "windows-1252", "windows-1251", "koi8-r",
	"koi8_r", "big5", "b__5", "gb2312", "gbk", "gb18030", "euc-kr", "shift_jis", "cp949",
	"iso-2022-jp", "ks_c_5601-1987", "x-unknown", "unicode-1-1-utf-7", "ascii", "cp1252",
	"cp1251", "an unknown label that is longer than thirty bytes", "utf-8 ",
};
#define NRELABELS (sizeof relabels / sizeof relabels[0])
static struct sl_cs reference[NRELABELS][2];

static void *first_lookup(void *arg)
{
	size_t k = (size_t)arg;
	const char *l = relabels[k / 2];
	reference[k / 2][k % 2] = sl_charset_lookup(l, strlen(l), k % 2);
	return NULL;
}

static void test_lookup_repeated(void)
{
	for (size_t k = 0; k < 2 * NRELABELS; k++) {
		pthread_t t;
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, first_lookup, (void *)k), 0);
		pthread_join(t, NULL);
	}
	CU_ASSERT_EQUAL(reference[0][1].kind, SL_CS_UTF8);
	CU_ASSERT_EQUAL(reference[1][1].kind, SL_CS_UNKNOWN); /* "ut_-8" shares utf-8's slot */
	uint32_t x = 7;
	for (int round = 0; round < 20000; round++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		size_t i = x % NRELABELS;
		bool body = (x >> 8) & 1;
		struct sl_cs cs = sl_charset_lookup(relabels[i], strlen(relabels[i]), body);
		CU_ASSERT_EQUAL(cs.kind, reference[i][body].kind);
		CU_ASSERT(cs.iconv_name == reference[i][body].iconv_name);
	}
}

int main(void)
{
	static const struct cu_test tests[] = {
		{"every converter loaded before parsing", test_preload},
		{"text bodies to UTF-8", test_bodies},
		{"invalid sequences", test_invalid_sequences},
		{"unknown and missing charsets", test_unknown_and_missing},
		{"base64 text", test_base64_text},
		{"encoded words and raw 8-bit headers", test_encoded_words},
		{"double-byte cache matches iconv", test_dbcs_cache_matches_iconv},
		{"recycled descriptors are reused in their initial state", test_recycled_descriptors},
		{"label lookups repeated in any order", test_lookup_repeated},
		{NULL, NULL},
	};
	return cu_run_suite("charset", NULL, NULL, tests);
}
