/* Signed bundles (sluice/bundlesig.h): a bundle signed with the control's key verifies
 * with its public key and loads from memory; a changed byte, another key, an unsigned
 * bundle or a damaged header is refused. And the control channel's framing
 * (sluice/frame.h) over a socket pair: round trip, caps, end of stream, timeouts. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cunit_run.h"

#include "sluice/bundlesig.h"
#include "sluice/frame.h"
#include "sluice/policy.h"

static char dir[] = "/tmp/sluice-bundlesig-XXXXXX";
static char key1[300], pub1[300], key2[300], pub2[300];
static uint8_t *bundle;
static size_t bundle_len;

static int setup(void)
{
	char err[256], rules[300], path[300];
	if (!mkdtemp(dir))
		return -1;
	snprintf(key1, sizeof key1, "%s/k1.key", dir);
	snprintf(pub1, sizeof pub1, "%s/k1.pub", dir);
	snprintf(key2, sizeof key2, "%s/k2.key", dir);
	snprintf(pub2, sizeof pub2, "%s/k2.pub", dir);
	if (sl_bundlesig_keygen(key1, pub1, err, sizeof err) || sl_bundlesig_keygen(key2, pub2, err, sizeof err)) {
		fprintf(stderr, "keygen: %s\n", err);
		return -1;
	}
	snprintf(rules, sizeof rules, "%s/p.rules", dir);
	FILE *f = fopen(rules, "w");
	if (!f)
		return -1;
	fputs("rule marker { match raw \"MARKER\" action reject }\n"
	      "rule other { match header:Subject \"x\" action alert }\n", f);
	fclose(f);
	struct sl_policy_diag d;
	struct sl_policy *p = sl_policy_load(rules, &d);
	snprintf(path, sizeof path, "%s/p.bundle", dir);
	if (!p || sl_policy_save(p, path, &d))
		return -1;
	sl_policy_unref(p);
	f = fopen(path, "rb");
	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	bundle_len = (size_t)ftell(f);
	rewind(f);
	bundle = malloc(bundle_len);
	size_t got = fread(bundle, 1, bundle_len, f);
	fclose(f);
	return got == bundle_len ? 0 : -1;
}

static int teardown(void)
{
	char cmd[400];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	free(bundle);
	return system(cmd) == 0 ? 0 : -1;
}

static void sign(struct sl_strbuf *out, const char *key)
{
	char err[256];
	sl_strbuf_init(out);
	CU_ASSERT_EQUAL_FATAL(sl_bundlesig_sign(bundle, bundle_len, 42, key, out, err, sizeof err), 0);
}

static int verify(const struct sl_strbuf *s, const char *pub, char *err, size_t errlen)
{
	struct sl_bundlesig_info info;
	return sl_bundlesig_verify((const uint8_t *)s->s, s->len, pub, &info, err, errlen);
}

static void test_sign_verify_load(void)
{
	struct sl_strbuf s;
	sign(&s, key1);
	CU_ASSERT_TRUE(sl_bundlesig_is_signed((const uint8_t *)s.s, s.len));
	struct sl_bundlesig_info info;
	char err[256] = "";
	CU_ASSERT_EQUAL_FATAL(sl_bundlesig_verify((const uint8_t *)s.s, s.len, pub1, &info, err, sizeof err), 0);
	const uint8_t *b = info.bundle;
	size_t n = info.len;
	CU_ASSERT_EQUAL(info.version, 42);
	CU_ASSERT_EQUAL(n, bundle_len);
	CU_ASSERT_EQUAL(memcmp(b, bundle, n), 0);
	struct sl_policy_diag d;
	struct sl_policy *p = sl_policy_load_bundle_mem("pushed", b, n, &d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(sl_policy_rule_count(p), 2);
	CU_ASSERT_STRING_EQUAL(sl_policy_rule_id(p, 0), "marker");
	sl_policy_unref(p);
	sl_strbuf_free(&s);
}

static void test_refused(void)
{
	struct sl_strbuf s;
	char err[256];
	sign(&s, key1);
	/* another key */
	CU_ASSERT_EQUAL(verify(&s, pub2, err, sizeof err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "another key"));
	/* a changed byte anywhere in the bundle */
	for (size_t at = s.len - bundle_len; at < s.len; at += bundle_len / 7 + 1) {
		s.s[at] ^= 0x20;
		CU_ASSERT_EQUAL(verify(&s, pub1, err, sizeof err), -1);
		s.s[at] ^= 0x20;
	}
	CU_ASSERT_EQUAL(verify(&s, pub1, err, sizeof err), 0);
	/* the version line is signed too: another version id does not verify */
	char *v = strstr(s.s, "version 42");
	v[9] = '3';
	CU_ASSERT_EQUAL(verify(&s, pub1, err, sizeof err), -1);
	v[9] = '2';
	/* signed by key 2 but claiming key 1's id: the signature does not verify */
	struct sl_strbuf s2;
	sign(&s2, key2);
	memcpy(strstr(s2.s, "key ") + 4, strstr(s.s, "key ") + 4, 64);
	CU_ASSERT_EQUAL(verify(&s2, pub1, err, sizeof err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "does not verify"));
	sl_strbuf_free(&s2);
	/* damaged headers: size, base64, missing lines; and a plain bundle */
	struct sl_strbuf t;
	sl_strbuf_init(&t);
	sl_strbuf_put(&t, s.s, s.len - 1);
	CU_ASSERT_EQUAL(verify(&t, pub1, err, sizeof err), -1);
	sl_strbuf_clear(&t);
	sl_strbuf_puts(&t, SL_BUNDLESIG_MAGIC "key 00\nsig !!\nsize 3\n\nabc");
	CU_ASSERT_EQUAL(verify(&t, pub1, err, sizeof err), -1);
	sl_strbuf_clear(&t);
	sl_strbuf_put(&t, bundle, bundle_len);
	CU_ASSERT_EQUAL(verify(&t, pub1, err, sizeof err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a signed bundle"));
	sl_strbuf_free(&t);
	/* a missing key file is an error, not a pass */
	CU_ASSERT_EQUAL(verify(&s, "/nonexistent/key.pub", err, sizeof err), -1);
	sl_strbuf_free(&s);
}

static void test_frames(void)
{
	int sv[2];
	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	const char *j = "{\"op\":\"bundle.load\",\"req\":1}";
	CU_ASSERT_EQUAL(sl_frame_write(sv[0], j, strlen(j), bundle, bundle_len > 100000 ? 100000 : bundle_len), 0);
	struct sl_frame f;
	CU_ASSERT_EQUAL_FATAL(sl_frame_read(sv[1], &f, 1000), 0);
	CU_ASSERT_STRING_EQUAL(f.json, j);
	CU_ASSERT_EQUAL(f.body_len, bundle_len > 100000 ? 100000 : bundle_len);
	CU_ASSERT_EQUAL(memcmp(f.body, bundle, f.body_len), 0);
	sl_frame_free(&f);
	/* nothing comes: a timeout */
	CU_ASSERT_EQUAL(sl_frame_read(sv[1], &f, 50), -1);
	CU_ASSERT_EQUAL(errno, ETIMEDOUT);
	/* a length over the cap is refused before anything is allocated for it */
	uint8_t big[8] = {0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0};
	CU_ASSERT_EQUAL(write(sv[0], big, 8), 8);
	CU_ASSERT_EQUAL(sl_frame_read(sv[1], &f, 1000), -1);
	CU_ASSERT_EQUAL(errno, EPROTO);
	/* the stream ends inside a frame, then cleanly */
	uint8_t part[10] = {0, 0, 0, 5, 0, 0, 0, 0, '{', '}'};
	CU_ASSERT_EQUAL(write(sv[0], part, sizeof part), (ssize_t)sizeof part);
	close(sv[0]);
	CU_ASSERT_EQUAL(sl_frame_read(sv[1], &f, 1000), -1);
	CU_ASSERT_EQUAL(errno, ECONNRESET);
	CU_ASSERT_EQUAL(sl_frame_read(sv[1], &f, 1000), 1);
	close(sv[1]);
}

int main(void)
{
	static const struct cu_test tests[] = {
		{"signed bundle verifies and loads from memory", test_sign_verify_load},
		{"changed, unsigned or foreign bundles refused", test_refused},
		{"control frames", test_frames},
		{NULL, NULL},
	};
	return cu_run_suite("bundle signatures and frames", setup, teardown, tests);
}
