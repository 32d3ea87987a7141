/* Helpers for the policy tests: policies from strings (with list files beside them),
 * and messages synthesized as engine events, fed in chunks of any size. */
#ifndef SLUICE_TEST_POLICY_HELPERS_H
#define SLUICE_TEST_POLICY_HELPERS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "cunit_run.h"

#include "sluice/limits.h"
#include "sluice/policy.h"


/* Writes `text` as policy.rules in a fresh directory, with extra files given as
 * name, content pairs (NULL-terminated), and loads it. NULL on error: the formatted
 * diagnostic is in tp_last_error. */
struct sl_policy *tp_policy(const char *text, ...);
struct sl_policy *tp_vpolicy(const char *text, va_list files);
/* The formatted error of the last failed tp_policy ("policy.rules:3:5: ..."), with the
 * directory stripped. */
extern char tp_last_error[1024];
/* The directory of the last tp_policy (for bundle tests). */
extern char tp_last_dir[256];

struct tp_msg {
	struct sl_msgscan *m;
	const struct sl_policy *p;
	struct sl_envelope env;
	struct sl_rcpt rcpt[8];
	size_t chunk;      /* size of data chunks; 0 feeds each buffer whole */
	size_t split;      /* when chunk is 0: split each buffer in two at this offset */
	unsigned long long raw_off;
};

void tp_begin(struct tp_msg *t, struct sl_scanner *sc, struct sl_policy *p, enum sl_direction forced);
/* Envelope: client may be NULL or an IPv4/IPv6 literal; rcpts NULL-terminated. */
void tp_envelope(struct tp_msg *t, const char *helo, const char *from, const char *client, ...);
void tp_header(struct tp_msg *t, const char *path, const char *name, const char *value);
void tp_raw(struct tp_msg *t, const void *data, size_t len);
/* A leaf part: PART_BEGIN, data (and text: for text parts, `text` or else `data`
 * itself) in chunks, PART_END with the SHA-256 of data. */
void tp_leaf(struct tp_msg *t, const char *path, const char *ctype, const char *filename,
             const char *disposition, const void *data, size_t len, const void *text, size_t tlen);
void tp_text(struct tp_msg *t, const char *path, const char *s); /* text/plain body */
void tp_signal(struct tp_msg *t, const char *name);
const struct sl_verdict *tp_end(struct tp_msg *t);
void tp_free(struct tp_msg *t);

const struct sl_rule_hit *tp_hit(const struct sl_verdict *v, const char *id);
/* Asserts that exactly the rules named (NULL-terminated ids) fired. */
void tp_expect_hits(const struct sl_verdict *v, ...);
void tp_vexpect_hits(const struct sl_verdict *v, va_list ids);

/* Verdict JSON (malloc'd) of a raw message fed through the real MIME parser into a
 * msgscan, in two pieces split at `split` (0: whole); empty envelope. */
char *tp_mime_verdict(struct sl_scanner *sc, struct sl_policy *p, enum sl_direction dir,
                      const uint8_t *msg, size_t len, size_t split);
/* The same with the MIME parser's limits (NULL: defaults). */
char *tp_mime_verdict_lim(struct sl_scanner *sc, struct sl_policy *p, enum sl_direction dir,
                          const uint8_t *msg, size_t len, size_t split, const struct sl_limits *lim);

/* The ids of the rules in a verdict JSON, comma-separated, in order. */
void tp_ids_of(const char *json, char *out, size_t n);

/* The fixture most suites share, for CUnit init/cleanup: one scanner, one policy. */
extern struct sl_scanner *tp_sc;
extern struct sl_policy *tp_pol;
/* A scanner and tp_policy(text, files...); 0 when both exist (else the error is printed). */
int tp_fixture_init(const char *text, ...);
int tp_fixture_fini(void);
/* Verdict of a single text/plain message with `body` under policy p (outbound unless
 * forced). */
const struct sl_verdict *tp_body(struct tp_msg *t, struct sl_scanner *sc, struct sl_policy *p,
                                 const char *body);

#endif
