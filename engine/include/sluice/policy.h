/* Mail policy: a rules file compiled into a bundle (Hyperscan streaming databases plus
 * rule metadata), and the matcher that runs a bundle over the engine's events.
 *
 * Threading (Hyperscan's model): a struct sl_policy is immutable once built and shared
 * by every thread; each thread owns one struct sl_scanner (its scratch); each message
 * in flight owns one struct sl_msgscan (its stream states), created from the scanner
 * and bound to the policy it started with, so a rule swap never changes the rules of a
 * message already in flight. */
#ifndef SLUICE_POLICY_H
#define SLUICE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sluice/event.h"
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

/* Compile a rules file, or load a bundle written by sl_policy_save (told apart by
 * content). NULL on error, with *diag filled. The result has one reference. */
struct sl_policy *sl_policy_load(const char *path, struct sl_policy_diag *diag);
int sl_policy_save(const struct sl_policy *p, const char *path, struct sl_policy_diag *diag);
struct sl_policy *sl_policy_ref(struct sl_policy *p);
void sl_policy_unref(struct sl_policy *p);

struct sl_policy_info {
	size_t rules;
	double compile_seconds;   /* 0 for a loaded bundle */
	size_t database_bytes;    /* serialized Hyperscan databases */
	size_t stream_state_bytes;/* Hyperscan stream state per message, all scopes */
	uint64_t version;         /* bundle version / content hash */
};
void sl_policy_info(const struct sl_policy *p, struct sl_policy_info *info);

enum sl_action {
	SL_ACT_PASS,
	SL_ACT_ALERT,      /* pass, but reported */
	SL_ACT_QUARANTINE,
	SL_ACT_TEMPFAIL,
	SL_ACT_REJECT,
};
const char *sl_action_name(enum sl_action a);

struct sl_evidence {
	const char *scope;       /* "body", "attachment", "header:subject", ... */
	char part[SL_PATH_MAX];
	uint64_t offset;
};

struct sl_rule_hit {
	const char *id;
	unsigned count;
	size_t nevidence;
	const struct sl_evidence *evidence;
};

struct sl_verdict {
	enum sl_action action;
	const char *reply;        /* SMTP reply for reject/tempfail/quarantine, e.g. "554 5.7.1 ..." */
	int score;
	enum sl_direction direction;
	size_t nhits;
	const struct sl_rule_hit *hits;
};

/* {"verdict":..., "reply":..., "score":N, "rules":[...]} (see docs/rules.md). */
void sl_verdict_json(const struct sl_verdict *v, struct sl_strbuf *out);

struct sl_scanner *sl_scanner_new(void);
void sl_scanner_free(struct sl_scanner *sc);

/* One per message. Direction is decided from the policy's internal networks and domains
 * at MESSAGE_END unless forced (SL_DIR_UNKNOWN = decide). */
struct sl_msgscan *sl_msgscan_new(struct sl_scanner *sc, struct sl_policy *p,
                                  enum sl_direction forced);
void sl_msgscan_free(struct sl_msgscan *m);
/* Feed every engine event of the message, MESSAGE_BEGIN through MESSAGE_END. */
void sl_msgscan_event(struct sl_msgscan *m, const struct sl_event *ev);
/* Valid after MESSAGE_END was fed, until sl_msgscan_free. */
const struct sl_verdict *sl_msgscan_verdict(const struct sl_msgscan *m);

#endif
