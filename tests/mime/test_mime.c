/* CUnit suite "mime": the streaming MIME parser (sluice/mime.h). */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_run.h"
#include "mimetest.h"
#include "sluice/signals.h"
#include "sluice/strbuf.h"

#define MSG(s) (s), (sizeof(s) - 1)

static const char *src_root(void)
{
	const char *r = getenv("SLUICE_SOURCE_ROOT");
	return r ? r : ".";
}

/* ---- chunking invariance over every sample message ---- */

static void check_dir_chunking(const char *rel)
{
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/%s", src_root(), rel);
	char **paths;
	size_t n = mt_list_eml(dir, &paths);
	CU_ASSERT_FATAL(n > 0);
	for (size_t i = 0; i < n; i++) {
		size_t len;
		uint8_t *msg = sl_read_file(paths[i], &len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
		char *whole = mt_eventlog(msg, len, 0, NULL);
		long chunkings[] = {1, -1, 1448, 7};
		for (size_t c = 0; c < sizeof chunkings / sizeof chunkings[0]; c++) {
			char *other = mt_eventlog(msg, len, chunkings[c], NULL);
			if (strcmp(whole, other) != 0)
				fprintf(stderr, "\nchunking %ld differs for %s\n", chunkings[c], paths[i]);
			CU_ASSERT_STRING_EQUAL(whole, other);
			free(other);
		}
		CU_ASSERT(strstr(whole, "part_end") != NULL);
		free(whole);
		free(msg);
		free(paths[i]);
	}
	free(paths);
}

static void test_chunking_mail_gem(void)
{
	check_dir_chunking("tests/data/mail-gem");
}

static void test_chunking_zeek(void)
{
	check_dir_chunking("tests/data/zeek/messages");
}

static void test_chunking_handwritten(void)
{
	check_dir_chunking("tests/data/mime");
}

/* ---- headers ---- */

static void test_unfolding(void)
{
	struct mt_result r;
	mt_run(&r, MSG("Subject: one\r\n two\r\n\tthree\r\nX-Empty:\r\n next\r\n\r\nbody\r\n"), 0, NULL);
	CU_ASSERT_STRING_EQUAL(mt_header(&r, "", "Subject"), "one two\tthree");
	CU_ASSERT_STRING_EQUAL(mt_header(&r, "", "X-Empty"), " next");
	CU_ASSERT_EQUAL(mt_nleaves(&r), 1);
	CU_ASSERT_STRING_EQUAL(mt_leaf(&r, 0)->part.path, "1");
	CU_ASSERT_STRING_EQUAL(mt_leaf(&r, 0)->data.s, "body\r\n");
	mt_free(&r);
}

static void test_rfc2047(void)
{
	struct mt_result r;
	mt_run(&r, MSG("Subject: =?utf-8?q?caf=C3=A9?= =?UTF-8?B?IOKCrA==?=  x\r\n"
	               "From: =?iso-8859-1?q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>\r\n"
	               "To: \"Doe, John\" <j@x.example>, plain@y.example\r\n"
	               "X-Bad: =?nosuch?q?x?= =?utf-8?x?y?=\r\n\r\n"), 1, NULL);
	CU_ASSERT_STRING_EQUAL(mt_header(&r, "", "Subject"), "caf\xc3\xa9 \xe2\x82\xac  x");
	CU_ASSERT_STRING_EQUAL(mt_header(&r, "", "From"), "Andr\xc3\xa9 Pirard <PIRARD@vm1.ulg.ac.be>");
	CU_ASSERT_STRING_EQUAL(mt_header(&r, "", "To"), "\"Doe, John\" <j@x.example>, plain@y.example");
	CU_ASSERT_STRING_EQUAL(mt_header(&r, "", "X-Bad"), "x =?utf-8?x?y?=");
	CU_ASSERT(mt_has_signal(&r, "mime.unknown_charset"));
	CU_ASSERT(mt_has_signal(&r, "mime.bad_encoded_word"));
	mt_free(&r);
}

static void test_rfc2231(void)
{
	struct mt_result r;
	mt_run(&r, MSG("Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	               "--b\r\nContent-Type: text/plain;\r\n name*0*=utf-8''caf%C3;\r\n name*1*=%A9%20menu.txt\r\n\r\nx\r\n"
	               "--b\r\nContent-Type: application/pdf; name=\"ignored.pdf\"\r\n"
	               "Content-Disposition: attachment;\r\n filename*=iso-8859-1'fr'r%E9sum%E9.pdf\r\n\r\nx\r\n"
	               "--b\r\nContent-Disposition: attachment; filename=\"=?utf-8?B?5Lit5paH?=.doc\"\r\n\r\nx\r\n"
	               "--b\r\nContent-Disposition: ATTACHMENT; FileName=\"a\\\"b.txt\"; filename*=utf-8''z.txt\r\n\r\nx\r\n"
	               "--b--\r\n"), -1, NULL);
	CU_ASSERT_EQUAL_FATAL(mt_nleaves(&r), 4);
	CU_ASSERT_STRING_EQUAL(mt_leaf(&r, 0)->filename, "caf\xc3\xa9 menu.txt");
	CU_ASSERT_STRING_EQUAL(mt_leaf(&r, 1)->filename, "r\xc3\xa9sum\xc3\xa9.pdf");
	CU_ASSERT_STRING_EQUAL(mt_leaf(&r, 1)->disposition, "attachment");
	CU_ASSERT_STRING_EQUAL(mt_leaf(&r, 2)->filename, "\xe4\xb8\xad\xe6\x96\x87.doc");
	/* a plain filename= wins over filename*= (Python's decode_params order) */
	CU_ASSERT_STRING_EQUAL(mt_leaf(&r, 3)->filename, "a\"b.txt");
	CU_ASSERT_STRING_EQUAL(mt_leaf(&r, 3)->disposition, "attachment");
	mt_free(&r);
}

static void test_content_type_edge(void)
{
	struct mt_result r;
	mt_run(&r, MSG("Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
	               "--b\r\nContent-Type: TEXT/HTML; Charset=\"ISO-8859-1\"\r\n\r\nx\r\n"
	               "--b\r\nContent-Type: text\r\n\r\nx\r\n"
	               "--b\r\n\r\nno headers\r\n"
	               "--b\r\nContent-Type: text/plain (comment)\r\n\r\nx\r\n"
	               "--b--\r\n"), 0, NULL);
	CU_ASSERT_EQUAL_FATAL(mt_nleaves(&r), 4);
	CU_ASSERT_STRING_EQUAL(mt_leaf(&r, 0)->part.content_type, "text/html");
	CU_ASSERT_STRING_EQUAL(mt_leaf(&r, 0)->part.charset, "iso-8859-1");
	CU_ASSERT_STRING_EQUAL(mt_leaf(&r, 1)->part.content_type, "text/plain"); /* invalid: default */
	CU_ASSERT_STRING_EQUAL(mt_leaf(&r, 2)->part.content_type, "text/plain");
	CU_ASSERT_STRING_EQUAL(mt_leaf(&r, 2)->data.s, "no headers");
	CU_ASSERT_STRING_EQUAL(mt_leaf(&r, 3)->part.content_type, "text/plain (comment)"); /* as Python */
	mt_free(&r);
}

/* ---- transfer encodings, split at every offset ---- */

static void check_part(const struct mt_result *r, const char *want_hex, size_t want_len)
{
	const struct mt_part *p = mt_leaf(r, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	char hex[65];
	mt_sha256_hex(p->data.s ? p->data.s : "", p->data.len, hex);
	CU_ASSERT_STRING_EQUAL(hex, want_hex);
	CU_ASSERT_EQUAL(p->part.decoded_bytes, want_len);
	CU_ASSERT_EQUAL(p->data.len, want_len);
	for (int i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", p->part.sha256[i]);
	CU_ASSERT_STRING_EQUAL(hex, want_hex);
}

/* Split the message in two at every offset, and feed it in k-byte chunks for every k. */
static void check_every_split(const char *msg, const char *want_hex, size_t want_len)
{
	size_t n = strlen(msg);
	for (size_t k = 0; k <= n; k++) {
		struct mt_result r;
		mt_run_split(&r, msg, n, k, NULL);
		check_part(&r, want_hex, want_len);
		mt_free(&r);
		mt_run(&r, msg, n, (long)k, NULL);
		check_part(&r, want_hex, want_len);
		mt_free(&r);
	}
}

static void test_base64_splits(void)
{
	/* "Hello, world!\n" x3 encoded with 76-column lines; then a broken tail */
	const char *msg = "Content-Transfer-Encoding: base64\r\n\r\n"
	                  "SGVsbG8sIHdvcmxkIQpIZWxsbywgd29ybGQhCkhlbGxvLCB3b3JsZCEK\r\n";
	char hex[65];
	const char *plain = "Hello, world!\nHello, world!\nHello, world!\n";
	mt_sha256_hex(plain, strlen(plain), hex);
	check_every_split(msg, hex, strlen(plain));
	/* no line breaks at all, and CR-only line breaks */
	check_every_split("Content-Transfer-Encoding: BASE64\n\nSGVs\rbG8s\rIHdv\rcmxkIQpIZWxsbywgd29ybGQhCkhlbGxvLCB3b3JsZCEK", hex, strlen(plain));
	/* padding ends the data; what follows is ignored (as binascii does) */
	const char *ab = "ab";
	mt_sha256_hex(ab, 2, hex);
	check_every_split("Content-Transfer-Encoding: base64\r\n\r\nYWI=\r\nYWI=\r\n", hex, 2);
}

static void test_qp_splits(void)
{
	const char *msg = "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	                  "caf=C3=A9 =3D soft=\r\nbreak=\nlf, lower =c3=a9, bad =ZZ and =\r\n";
	const char *want = "caf\xc3\xa9 = softbreaklf, lower \xc3\xa9, bad =ZZ and ";
	char hex[65];
	mt_sha256_hex(want, strlen(want), hex);
	check_every_split(msg, hex, strlen(want));
	struct mt_result r;
	mt_run(&r, msg, strlen(msg), 0, NULL);
	CU_ASSERT(mt_has_signal(&r, "mime.bad_qp"));
	mt_free(&r);
}

static void test_uuencode(void)
{
	const char *msg = "Content-Transfer-Encoding: x-uuencode\r\n\r\n"
	                  "begin 644 hello.txt\r\n#:&D*\r\n`\r\nend\r\n";
	struct mt_result r;
	mt_run(&r, msg, strlen(msg), 1, NULL);
	const struct mt_part *p = mt_leaf(&r, 0);
	CU_ASSERT_EQUAL(p->part.encoding, SL_ENC_UUENCODE);
	CU_ASSERT_EQUAL(p->data.len, 3);
	CU_ASSERT(memcmp(p->data.s, "hi\n", 3) == 0);
	mt_free(&r);
}

/* ---- structure ---- */

static const char nested[] =
	"From: a@b.example\r\nSubject: nested\r\nMIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n"
	"preamble\r\n"
	"--outer\r\nContent-Type: multipart/alternative; boundary=inner\r\n\r\n"
	"--inner\r\nContent-Type: text/plain\r\n\r\nplain\r\n"
	"--inner\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n"
	"--inner--\r\n"
	"--outer\r\nContent-Type: message/rfc822\r\n\r\n"
	"Subject: inner message\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n"
	"--x\r\n\r\nin1\r\n--x\r\nContent-Type: application/octet-stream\r\n"
	"Content-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--x--\r\n"
	"--outer\r\nContent-Type: message/rfc822\r\n\r\nSubject: single\r\n\r\nbody\r\n"
	"--outer--\r\nepilogue\r\n";

static void test_nesting_paths(void)
{
	struct mt_result r;
	mt_run(&r, MSG(nested), -1, NULL);
	CU_ASSERT_EQUAL_FATAL(mt_nleaves(&r), 5);
	const char *paths[] = {"1.1", "1.2", "2.1", "2.2", "3.1"};
	const char *types[] = {"text/plain", "text/html", "text/plain", "application/octet-stream",
	                       "text/plain"};
	for (int i = 0; i < 5; i++) {
		CU_ASSERT_STRING_EQUAL(mt_leaf(&r, i)->part.path, paths[i]);
		CU_ASSERT_STRING_EQUAL(mt_leaf(&r, i)->part.content_type, types[i]);
	}
	/* the line end before a boundary is the boundary's */
	CU_ASSERT_STRING_EQUAL(mt_leaf(&r, 0)->data.s, "plain");
	CU_ASSERT_EQUAL(mt_leaf(&r, 3)->data.len, 3);
	CU_ASSERT_STRING_EQUAL(mt_leaf(&r, 4)->data.s, "body");
	CU_ASSERT_STRING_EQUAL(mt_header(&r, "2", "Subject"), "inner message");
	CU_ASSERT_STRING_EQUAL(mt_header(&r, "3", "Subject"), "single");
	CU_ASSERT_EQUAL(r.parts[0].part.kind, SL_PART_MULTIPART);
	CU_ASSERT_STRING_EQUAL(r.parts[0].part.path, "");
	CU_ASSERT_STRING_EQUAL(r.parts[4].part.path, "2"); /* the rfc822 wrapper */
	CU_ASSERT_EQUAL(r.parts[4].part.kind, SL_PART_MESSAGE);
	CU_ASSERT_STRING_EQUAL(r.parts[0].data.s, "preamble"); /* multipart data = preamble */
	CU_ASSERT_STRING_EQUAL(r.signals.s, "");
	mt_free(&r);
}

static void test_delivery_status(void)
{
	struct mt_result r;
	mt_run(&r, MSG("Content-Type: multipart/report; report-type=delivery-status; boundary=r\r\n\r\n"
	               "--r\r\n\r\nbounced\r\n"
	               "--r\r\nContent-Type: message/delivery-status\r\n\r\n"
	               "Reporting-MTA: dns; mx.example\r\n\r\n"
	               "Final-Recipient: rfc822; u@x.example\r\nStatus: 5.1.1\r\n\r\n"
	               "--r--\r\n"), 1, NULL);
	/* Python models the report as two header blocks: two more leaves */
	CU_ASSERT_EQUAL_FATAL(mt_nleaves(&r), 3);
	CU_ASSERT_STRING_EQUAL(mt_leaf(&r, 1)->part.path, "2.1");
	CU_ASSERT_STRING_EQUAL(mt_leaf(&r, 2)->part.path, "2.2");
	CU_ASSERT_STRING_EQUAL(mt_header(&r, "2.2", "Status"), "5.1.1");
	CU_ASSERT_EQUAL(mt_leaf(&r, 2)->part.decoded_bytes, 0);
	mt_free(&r);
}

static void test_digest_default(void)
{
	struct mt_result r;
	mt_run(&r, MSG("Content-Type: multipart/digest; boundary=d\r\n\r\n"
	               "--d\r\n\r\nSubject: one\r\n\r\nfirst\r\n--d\r\n\r\nSubject: two\r\n\r\nsecond\r\n--d--\r\n"),
	       0, NULL);
	CU_ASSERT_EQUAL_FATAL(mt_nleaves(&r), 2);
	CU_ASSERT_STRING_EQUAL(mt_leaf(&r, 0)->part.path, "1.1");
	CU_ASSERT_STRING_EQUAL(mt_header(&r, "2", "Subject"), "two");
	mt_free(&r);
}

/* ---- bad input ---- */

static void test_missing_boundaries(void)
{
	struct mt_result r;
	mt_run(&r, MSG("Content-Type: multipart/mixed\r\n\r\nno boundary\r\n"), 0, NULL);
	CU_ASSERT(mt_has_signal(&r, "mime.missing_boundary"));
	CU_ASSERT_EQUAL(mt_nleaves(&r), 1);
	CU_ASSERT_STRING_EQUAL(mt_leaf(&r, 0)->part.content_type, "multipart/mixed");
	mt_free(&r);

	mt_run(&r, MSG("Content-Type: multipart/mixed; boundary=zz\r\n\r\n--other\r\nnever\r\n"), 0, NULL);
	CU_ASSERT(mt_has_signal(&r, "mime.no_start_boundary"));
	CU_ASSERT_EQUAL(mt_nleaves(&r), 1);
	CU_ASSERT_STRING_EQUAL(mt_leaf(&r, 0)->data.s, "--other\r\nnever\r\n");
	mt_free(&r);

	mt_run(&r, MSG("Content-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\n\r\ntruncated"), 0, NULL);
	CU_ASSERT(mt_has_signal(&r, "mime.unclosed_multipart"));
	CU_ASSERT_STRING_EQUAL(mt_leaf(&r, 0)->data.s, "truncated");
	mt_free(&r);
}

static void test_bad_base64(void)
{
	struct mt_result r;
	mt_run(&r, MSG("Content-Transfer-Encoding: base64\r\n\r\nQU*JD\r\n"), 0, NULL);
	CU_ASSERT(mt_has_signal(&r, "mime.bad_base64"));
	CU_ASSERT_STRING_EQUAL(mt_leaf(&r, 0)->data.s, "ABC");
	mt_free(&r);
	mt_run(&r, MSG("Content-Transfer-Encoding: base64\r\n\r\nQUJDR\r\n"), 0, NULL);
	CU_ASSERT(mt_has_signal(&r, "mime.bad_base64"));
	mt_free(&r);
	mt_run(&r, MSG("Content-Transfer-Encoding: base64 \r\n\r\nQUJD\r\n"), 0, NULL);
	/* Python decodes only the exact token: trailing blank means not base64 */
	CU_ASSERT(mt_has_signal(&r, "mime.unknown_encoding"));
	CU_ASSERT_STRING_EQUAL(mt_leaf(&r, 0)->data.s, "QUJD\r\n");
	mt_free(&r);
}

static void test_header_signals(void)
{
	struct sl_limits lim;
	sl_limits_default(&lim);
	lim.max_line = 100;
	lim.max_header_bytes = 200;
	lim.max_headers = 5;
	lim.max_filename = 8;
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	sl_strbuf_puts(&b, "X-Long: ");
	for (int i = 0; i < 300; i++)
		sl_strbuf_putc(&b, 'a');
	sl_strbuf_puts(&b, "\r\nX-Folded: a\r\n");
	for (int i = 0; i < 20; i++)
		sl_strbuf_puts(&b, " continued\r\n");
	sl_strbuf_puts(&b, ":no name\r\nX-8bit: caf\xc3\xa9\r\nX-Nul: a");
	sl_strbuf_put(&b, "\0", 1);
	sl_strbuf_puts(&b, "b\r\nX-6: 6\r\nX-7: 7\r\n"
	                   "Content-Disposition: attachment; filename=\"0123456789.txt\"; x=\"unterminated\r\n\r\nbody\r\n");
	struct mt_result r;
	mt_run(&r, b.s, b.len, 3, &lim);
	const char *want[] = {"mime.line_too_long", "mime.header_too_long", "mime.bad_header",
	                      "mime.8bit_header", "mime.nul", "mime.too_many_headers",
	                      "mime.filename_truncated"};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		if (!mt_has_signal(&r, want[i]))
			fprintf(stderr, "\nmissing %s in %s\n", want[i], r.signals.s);
		CU_ASSERT(mt_has_signal(&r, want[i]));
	}
	CU_ASSERT_STRING_EQUAL(mt_leaf(&r, 0)->filename, "01234567");
	CU_ASSERT_STRING_EQUAL(mt_leaf(&r, 0)->data.s, "body\r\n");
	CU_ASSERT(r.max_memory < 64 * 1024 + 200 * 1024);
	mt_free(&r);
	sl_strbuf_free(&b);
}

static void test_charset_signals(void)
{
	struct mt_result r;
	mt_run(&r, MSG("Content-Type: text/plain; charset=x-no-such\r\n\r\nabc\r\n"), 0, NULL);
	CU_ASSERT(mt_has_signal(&r, "mime.unknown_charset"));
	CU_ASSERT_STRING_EQUAL(mt_leaf(&r, 0)->text.s, "abc\r\n");
	mt_free(&r);
	mt_run(&r, MSG("Content-Type: text/plain; charset=utf-8\r\n\r\nbad \xff byte\r\n"), 0, NULL);
	CU_ASSERT(mt_has_signal(&r, "mime.bad_charset"));
	CU_ASSERT_STRING_EQUAL(mt_leaf(&r, 0)->text.s, "bad \xef\xbf\xbd byte\r\n");
	mt_free(&r);
	mt_run(&r, MSG("Content-Type: text/plain\r\nContent-Disposition: inline; foo bar; filename*=utf-8''%\r\n"
	               "Content-Transfer-Encoding: x-uuencode\r\n\r\nno begin line\r\n"), 0, NULL);
	CU_ASSERT(mt_has_signal(&r, "mime.bad_param"));
	CU_ASSERT(mt_has_signal(&r, "mime.bad_uuencode"));
	mt_free(&r);
}

static void test_caps_parts_boundary(void)
{
	struct sl_limits lim;
	sl_limits_default(&lim);
	lim.max_parts = 3;
	lim.max_boundary = 10;
	struct mt_result r;
	mt_run(&r, MSG("Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	               "--b\r\n\r\n1\r\n--b\r\n\r\n2\r\n--b\r\n\r\n3 hidden\r\n--b\r\n\r\n4 hidden\r\n--b--\r\n"),
	       0, &lim);
	CU_ASSERT(mt_has_signal(&r, "mime.too_many_parts"));
	/* what is over the cap is still scanned: the multipart's own data */
	CU_ASSERT(strstr(r.parts[0].data.s, "4 hidden") != NULL);
	mt_free(&r);
	mt_run(&r, MSG("Content-Type: multipart/mixed; boundary=0123456789abc\r\n\r\n--0123456789abc\r\n\r\nx\r\n"),
	       0, &lim);
	CU_ASSERT(mt_has_signal(&r, "mime.boundary_too_long"));
	CU_ASSERT_EQUAL(mt_nleaves(&r), 1);
	mt_free(&r);
}

static void test_deep_nesting(void)
{
	/* 10,000 nested multiparts: bounded frames, bounded memory, depth signal */
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	for (int i = 0; i < 10000; i++)
		sl_strbuf_printf(&b, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i, i);
	sl_strbuf_puts(&b, "\r\ndeep\r\n");
	for (int i = 9999; i >= 0; i--)
		sl_strbuf_printf(&b, "--b%d--\r\n", i);
	struct mt_result r;
	mt_run(&r, b.s, b.len, 1448, NULL);
	CU_ASSERT(mt_has_signal(&r, "mime.depth_exceeded"));
	struct sl_limits lim;
	sl_limits_default(&lim);
	CU_ASSERT(r.nparts <= lim.max_depth + 1);
	CU_ASSERT(r.max_memory < 1024 * 1024);
	char *a = mt_eventlog((const uint8_t *)b.s, b.len, 0, NULL);
	char *c = mt_eventlog((const uint8_t *)b.s, b.len, -1, NULL);
	CU_ASSERT_STRING_EQUAL(a, c);
	free(a);
	free(c);
	mt_free(&r);
	sl_strbuf_free(&b);
}

static void test_long_lines_bounded(void)
{
	/* a 4 MB base64 body on one line, then an endless header line: no buffering */
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	sl_strbuf_puts(&b, "Content-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\n"
	                   "Content-Transfer-Encoding: base64\r\n\r\n");
	for (int i = 0; i < 1 << 20; i++)
		sl_strbuf_puts(&b, "QUJD");
	sl_strbuf_puts(&b, "\r\n--q\r\nX-Endless: ");
	for (int i = 0; i < 1 << 20; i++)
		sl_strbuf_puts(&b, "zzzz");
	sl_strbuf_puts(&b, "\r\n\r\nafter\r\n--q--\r\n");
	struct mt_result r;
	mt_run(&r, b.s, b.len, 1448, NULL);
	CU_ASSERT_EQUAL_FATAL(mt_nleaves(&r), 2);
	CU_ASSERT_EQUAL(mt_leaf(&r, 0)->part.decoded_bytes, 3u << 20);
	CU_ASSERT_STRING_EQUAL(mt_leaf(&r, 1)->data.s, "after");
	CU_ASSERT(mt_has_signal(&r, "mime.line_too_long"));
	CU_ASSERT(r.max_memory < 512 * 1024);
	mt_free(&r);
	sl_strbuf_free(&b);
}

static void test_bare_cr_and_lf(void)
{
	/* lone CR and LF end lines, as in Python's email */
	struct mt_result r;
	mt_run(&r, MSG("Content-Type: multipart/mixed; boundary=b\r\r--b\rContent-Type: text/html\r\rx\r--b--\r"),
	       1, NULL);
	CU_ASSERT_EQUAL_FATAL(mt_nleaves(&r), 1);
	CU_ASSERT_STRING_EQUAL(mt_leaf(&r, 0)->part.content_type, "text/html");
	CU_ASSERT_STRING_EQUAL(mt_leaf(&r, 0)->data.s, "x");
	mt_free(&r);
	mt_run(&r, MSG("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/html\n\nx\n--b--\n"),
	       0, NULL);
	CU_ASSERT_STRING_EQUAL(mt_leaf(&r, 0)->data.s, "x");
	mt_free(&r);
}

int main(void)
{
	static const struct cu_test tests[] = {
		{"chunking invariance: mail-gem", test_chunking_mail_gem},
		{"chunking invariance: zeek", test_chunking_zeek},
		{"chunking invariance: hand-written", test_chunking_handwritten},
		{"header unfolding", test_unfolding},
		{"RFC 2047 encoded words", test_rfc2047},
		{"RFC 2231 parameters", test_rfc2231},
		{"content-type edge cases", test_content_type_edge},
		{"base64 split at every offset", test_base64_splits},
		{"quoted-printable split at every offset", test_qp_splits},
		{"uuencode", test_uuencode},
		{"nesting and paths", test_nesting_paths},
		{"delivery-status blocks", test_delivery_status},
		{"digest default type", test_digest_default},
		{"missing boundaries", test_missing_boundaries},
		{"bad base64", test_bad_base64},
		{"header caps and signals", test_header_signals},
		{"charset and param signals", test_charset_signals},
		{"part and boundary caps", test_caps_parts_boundary},
		{"10,000-deep nesting bounded", test_deep_nesting},
		{"long lines bounded", test_long_lines_bounded},
		{"bare CR and LF line ends", test_bare_cr_and_lf},
		{NULL, NULL},
	};
	return cu_run_suite("mime", NULL, NULL, tests);
}
