/* Mail policy: a rules file (docs/rules.md) compiled into a bundle (Hyperscan streaming
 * databases plus rule metadata), and the matcher that runs a bundle over the engine's
 * events.
 *
 * Threading (Hyperscan's model): a struct sl_policy is immutable once built and shared
 * by every thread; each thread owns one struct sl_scanner (its scratch); each message
 * in flight owns one struct sl_msgscan (its stream states), created from the scanner
 * and bound to the policy it started with (it holds a reference), so a rule swap never
 * changes the rules of a message already in flight.
 *
 * Hot path: sl_msgscan_new allocates everything a message needs (streams, counters,
 * evidence pool, the verdict's arrays at their bounds); sl_msgscan_event and the verdict
 * then allocate only (a) the "Name: value" buffer of the any-header scope, grown to the
 * longest header seen and kept (charged to the account of sl_msgscan_set_acct), and
 * (b) PCRE2's match frames inside one confirmation call, freed before it returns and
 * bounded by a 4 MiB heap limit. sl_msgscan_reset reuses a msgscan for the next message
 * of the same policy without allocating.
 *
 * A message that cannot be scanned completely -- a Hyperscan or PCRE2 call or a digest
 * failed (engine.scan_error), the header buffer could not grow, or the engine raised
 * engine.memory -- gets that signal (rules can match it) and, unless a rule matching that
 * signal fired, the verdict tempfail "451 4.3.0 Gateway could not scan the message, try
 * again later" (decided_by: the signal's name); a more severe verdict stays. */
#ifndef SLUICE_POLICY_H
#define SLUICE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sluice/event.h"
#include "sluice/memacct.h"
#include "sluice/strbuf.h"

struct sl_policy;
struct sl_scanner;
struct sl_msgscan;

/* Where a policy error is: "file:line:column: message". line/col 0 when not known. */
struct sl_policy_diag {
	char file[256];
	unsigned line, col;
	char msg[512];
};
/* "file:line:column: message" (or "file: message" without a position). */
void sl_policy_diag_format(const struct sl_policy_diag *d, struct sl_strbuf *out);

/* Compile a rules file, or load a bundle written by sl_policy_save (told apart by
 * content). NULL on error, with *diag filled. The result has one reference. */
struct sl_policy *sl_policy_load(const char *path, struct sl_policy_diag *diag);
/* Load a bundle held in memory (bytes copied); `name` stands for the file in messages.
 * Only bundles: a rules file has other files to read. */
struct sl_policy *sl_policy_load_bundle_mem(const char *name, const uint8_t *bytes, size_t len,
                                            struct sl_policy_diag *diag);
/* Compile a policy held in memory (sluice-control): files[0] is the rules file, the
 * others the list files it names, found by the names it uses; messages and the digest use
 * those names, never a path on this host. */
struct sl_policy_file {
	const char *name;
	const uint8_t *data;
	size_t len;
};
struct sl_policy *sl_policy_compile_files(const struct sl_policy_file *files, size_t n,
                                          struct sl_policy_diag *diag);
/* The files a rules file is built from, found by parsing it without compiling: fn gets
 * the rules file (named `path`) and then each list file as it is read (named as the
 * policy writes it, relative to its directory), also those read before an error.
 * True when the policy parses. */
bool sl_policy_sources(const char *path,
                       void (*fn)(void *ctx, const char *name, const uint8_t *data, size_t len),
                       void *ctx, struct sl_policy_diag *diag);
/* Write the bundle: versioned, checksummed, loadable without recompiling. A bundle built
 * with another Hyperscan version or for a CPU this host lacks is refused on load. */
int sl_policy_save(const struct sl_policy *p, const char *path, struct sl_policy_diag *diag);
struct sl_policy *sl_policy_ref(struct sl_policy *p);
void sl_policy_unref(struct sl_policy *p);
/* Use the spam model in `path` (sluicectl spam train) instead of the one the policy
 * names (`rules test --spam-model`, `sluice-dp --spam-model`), before any message is
 * scanned with p. False with *diag when the file is not a model, or when the policy has
 * no spam-probability condition (a model it would never use). The policy's digest
 * (sl_policy_info) then covers the model's bytes; its own_digest stays. */
bool sl_policy_set_spam_model(struct sl_policy *p, const char *path, struct sl_policy_diag *diag);

/* Verdicts of p list its quiet rules too (building blocks, docs/rules.md): for tools that
 * explain or compare rule hits (`sluicectl rules test --show-quiet`). Call before p is used. */
void sl_policy_show_quiet(struct sl_policy *p, bool on);
/* The policy has a spam-probability condition. */
bool sl_policy_uses_spam_model(const struct sl_policy *p);

struct sl_policy_info {
	size_t rules;
	size_t patterns;           /* Hyperscan expressions (keywords and signatures count one each) */
	size_t hashes;             /* attachment digests */
	size_t confirmed_patterns; /* Hyperscan prefilters confirmed by PCRE2 */
	size_t skipped_signatures; /* ndb signatures left out by `ignore-unsupported` */
	size_t databases;
	double compile_seconds;    /* parse + compile; 0 for a loaded bundle */
	size_t database_bytes;     /* serialized Hyperscan databases */
	size_t stream_state_bytes; /* Hyperscan stream state per message, all scopes */
	size_t cached_databases;   /* databases the compile cache gave instead of compiling */
	const char *cache_dir;     /* the compile cache's directory, or NULL and ... */
	const char *cache_off;     /* ... why it is off (docs/rules.md, "The compile cache") */
	uint64_t version;          /* first 8 bytes of digest */
	uint8_t digest[32];        /* own_digest, or after sl_policy_set_spam_model SHA-256 of it
	                            * and the model's bytes: what judged the messages */
	uint8_t own_digest[32];    /* SHA-256 of the sources and the pattern table: the policy
	                            * as compiled and pushed, whatever model overrides its own */
};
void sl_policy_info(const struct sl_policy *p, struct sl_policy_info *info);

/* Rules in file order (for tools). */
size_t sl_policy_rule_count(const struct sl_policy *p);
const char *sl_policy_rule_id(const struct sl_policy *p, size_t i);
/* `rules cost`: compile the rules file leaving out the rule at index `skip`. */
struct sl_policy *sl_policy_compile_without(const char *path, size_t skip,
                                            struct sl_policy_diag *diag);
/* Parse and check a policy held in memory (no list files): every expression is
 * analysed as the compiler would (Hyperscan exact or prefilter, PCRE2 confirmation
 * compiled); with `compile`, the Hyperscan databases are built too (and dropped), which
 * finds what only a real compile refuses (a pattern too large). */
bool sl_policy_check_text(const char *text, size_t n, bool compile, struct sl_policy_diag *diag);
/* Whether a Perl-compatible expression (PCRE2; flags i, m, s, x) matches `subject`.
 * False when it does not compile or the match fails (*matched untouched). */
bool sl_policy_regex_test(const char *pattern, const char *flags, const char *subject, bool *matched);
/* Parse and check a rules file without compiling Hyperscan databases (the fuzzer). */
bool sl_policy_check_syntax(const char *path, struct sl_policy_diag *diag);

/* Severity order: a verdict is the most severe action of the rules that fired. */
enum sl_action {
	SL_ACT_PASS,
	SL_ACT_ALERT,      /* pass, but reported */
	SL_ACT_QUARANTINE, /* the client gets 250; the message goes to the archive, not the server */
	SL_ACT_TEMPFAIL,
	SL_ACT_REJECT,
};
const char *sl_action_name(enum sl_action a);

struct sl_evidence {
	const char *scope;       /* "body", "attachment", "attachment-text", "raw", "header", "header:subject",
	                          * "filename", "mail-from", "rcpt-to", "helo", "client-ip",
	                          * "signal" */
	char part[SL_PATH_MAX];  /* MIME part path ("" for message-level scopes) */
	const char *path;        /* inside an archive or document: the member's path
	                          * ("invoice.zip/2024/list.csv"); NULL otherwise */
	uint64_t offset;         /* end of the match in the scope instance (Hyperscan reports
	                          * ends); signals: their event offset */
	const char *match;       /* keyword, signature, hash or signal name; NULL otherwise (never
	                          * the matched bytes: evidence must not leak card numbers) */
};

struct sl_rule_hit {
	const char *id;
	uint32_t rule;            /* its number in the policy (file order: sl_policy_rule_id),
	                           * for counters indexed by rule; valid within this policy only */
	enum sl_action action;    /* the rule's own action (PASS for score-only rules) */
	double score;             /* in thousandths at most: 2.499 */
	unsigned count;           /* matches counted by the rule's conditions that held */
	size_t nevidence;
	const struct sl_evidence *evidence;
};

struct sl_verdict {
	enum sl_action action;
	const char *reply;        /* SMTP reply for reject/tempfail/quarantine, e.g. "554 5.7.1 ..."
	                           * (quarantine: the 250 the client is told); NULL for pass/alert */
	const char *decided_by;   /* rule id or "threshold" that set the action; NULL for pass */
	double score;             /* sum of the fired rules' scores (exact to a thousandth) */
	enum sl_direction direction;
	double spam_probability;  /* the classifier's (docs/spam.md), -1 when the policy has no
	                           * spam-probability condition */
	size_t nhits;
	const struct sl_rule_hit *hits; /* rules that fired, in file order */
};

/* {"verdict":"pass|reject|tempfail|quarantine", "reply":..., "score":N, "direction":...,
 *  "alert":bool, "rules":[{"id":..., "action":..., "score":N, "count":N,
 *  "evidence":[{"scope":..., "part":"1.2", ["path":"a.zip/b.csv",] "offset":N,
 *  "match":...}]}]} (docs/rules.md).
 * Alert is a pass that is reported: "verdict":"pass", "alert":true. */
void sl_verdict_json(const struct sl_verdict *v, struct sl_strbuf *out);

struct sl_scanner *sl_scanner_new(void);
void sl_scanner_free(struct sl_scanner *sc);
/* Size the scratch for every database of p now (else the first message of p does it):
 * a thread that loads a bundle for a worker allocates its scratch off the worker. */
bool sl_scanner_prepare(struct sl_scanner *sc, const struct sl_policy *p);

/* One per message. Direction is decided from the policy's internal networks and domains
 * at MESSAGE_END unless forced (SL_DIR_UNKNOWN = decide). NULL only when out of memory. */
struct sl_msgscan *sl_msgscan_new(struct sl_scanner *sc, struct sl_policy *p,
                                  enum sl_direction forced);
void sl_msgscan_free(struct sl_msgscan *m);
/* Ready for the next message, same scanner and policy; nothing is allocated. */
void sl_msgscan_reset(struct sl_msgscan *m, enum sl_direction forced);
/* Feed every engine event of the message, MESSAGE_BEGIN through MESSAGE_END (events
 * after MESSAGE_END are ignored; feeding starts with MESSAGE_BEGIN or any later event).
 * An sl_event_fn adapter: sl_msgscan_event_cb with the msgscan as ctx. */
void sl_msgscan_event(struct sl_msgscan *m, const struct sl_event *ev);
void sl_msgscan_event_cb(void *m, const struct sl_event *ev);
/* True once MESSAGE_END was fed. */
bool sl_msgscan_done(const struct sl_msgscan *m);
/* True when the current message could not be scanned completely (above). */
bool sl_msgscan_failed(const struct sl_msgscan *m);
/* The account charged for what the msgscan allocates while it scans (the header buffer);
 * copied, NULL: none. Bytes already held move to the new account. A refused charge fails
 * the message's scan (engine.memory). */
void sl_msgscan_set_acct(struct sl_msgscan *m, const struct sl_memacct *acct);
/* Valid after MESSAGE_END was fed, until the next reset or free. */
const struct sl_verdict *sl_msgscan_verdict(const struct sl_msgscan *m);
/* Hyperscan stream state held by this msgscan, in bytes (telemetry, benchmark). */
size_t sl_msgscan_stream_bytes(const struct sl_msgscan *m);
/* What a flow holding this msgscan is charged (sluice-dp's per-flow memory): the stream
 * state above and, for a policy with spam-probability, the classifier's token set; the
 * rest is sized by the policy alone and kept in the worker's pool of msgscans. */
size_t sl_msgscan_flow_bytes(const struct sl_msgscan *m);

/* ---- the benchmark's ceiling (tools/bench engine, sluicectl rules cost) -----------
 * The raw-scan ceiling is Hyperscan block-mode scans of the very bytes the matcher scans,
 * with the same patterns and flags. A tap sees every buffer the matcher gives a
 * database (decoded body text, attachment bytes, raw message, headers, envelope,
 * filenames), tagged with the database, and (p NULL, n 0) when a scope instance (a
 * part, a header field) ends; join each instance's buffers into one block, then time
 * sl_blockscan_scan over the blocks. */
typedef void (*sl_scan_tap_fn)(void *ctx, unsigned db, const uint8_t *p, size_t n);
void sl_msgscan_set_tap(struct sl_msgscan *m, sl_scan_tap_fn fn, void *ctx);

struct sl_blockscan;
/* Compiles block-mode twins of the policy's streaming databases (takes as long as a
 * compile); block databases are shared with the policy. Database indexes run below
 * sl_blockscan_databases(); empty ones scan nothing. */
struct sl_blockscan *sl_blockscan_new(const struct sl_policy *p, struct sl_policy_diag *diag);
unsigned sl_blockscan_databases(const struct sl_blockscan *b);
/* Scan one buffer as one block with database db; returns matches (or -1 on error). */
long sl_blockscan_scan(struct sl_blockscan *b, unsigned db, const uint8_t *p, size_t n);
void sl_blockscan_free(struct sl_blockscan *b);

#endif
