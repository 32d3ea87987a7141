/* render_dump FILE.eml...: the `rendered` scope's bytes for each message (what a body
 * rule imported from SpamAssassin scans), for comparison with SpamAssassin's own
 * get_rendered_body_text_array (test_render.sh). Each message: "=== FILE" and then its
 * lines. The message goes through the real MIME parser into a msgscan whose tap shows
 * what is given to the rendered database. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sluice/mime.h"
#include "sluice/policy.h"

static void tap(void *ctx, unsigned db, const uint8_t *p, size_t n)
{
	(void)ctx;
	if (db == DB_RENDERED && p)
		fwrite(p, 1, n, stdout);
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	uint8_t *b = malloc(cap);
	size_t k;
	while (b && (k = fread(b + n, 1, cap - n, f)) > 0) {
		n += k;
		if (n == cap)
			b = realloc(b, cap *= 2);
	}
	fclose(f);
	*len = n;
	return b;
}

int main(int argc, char **argv)
{
	static const char rules[] = "rule r { match rendered \"\\x01render-dump\\x01\" score 0 }\n";
	struct sl_policy_file pf = {.name = "render.rules", .data = (const uint8_t *)rules, .len = sizeof rules - 1};
	struct sl_policy_diag d;
	struct sl_policy *p = sl_policy_compile_files(&pf, 1, &d);
	struct sl_scanner *sc = sl_scanner_new();
	if (!p || !sc) {
		fprintf(stderr, "render_dump: cannot build the policy: %s\n", p ? "" : d.msg);
		return 1;
	}
	int rc = 0;
	for (int i = 1; i < argc; i++) {
		size_t len;
		uint8_t *msg = slurp(argv[i], &len);
		if (!msg) {
			perror(argv[i]);
			rc = 1;
			continue;
		}
		struct sl_envelope env;
		memset(&env, 0, sizeof env);
		struct sl_msgscan *m = sl_msgscan_new(sc, p, SL_DIR_INBOUND);
		struct sl_mime *mime = m ? sl_mime_new(NULL, sl_msgscan_event_cb, m) : NULL;
		if (!mime) {
			fprintf(stderr, "render_dump: out of memory\n");
			return 1;
		}
		sl_msgscan_set_tap(m, tap, NULL);
		sl_mime_reset(mime, 0);
		printf("=== %s\n", argv[i]);
		struct sl_event ev = {.type = SL_EV_MESSAGE_BEGIN, .envelope = &env};
		sl_msgscan_event(m, &ev);
		sl_mime_feed(mime, msg, len);
		sl_mime_finish(mime);
		struct sl_event end = {.type = SL_EV_MESSAGE_END, .envelope = &env};
		sl_msgscan_event(m, &end);
		printf("\n");
		sl_mime_free(mime);
		sl_msgscan_free(m);
		free(msg);
	}
	sl_scanner_free(sc);
	sl_policy_unref(p);
	return rc;
}
