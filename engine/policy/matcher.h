/* The matcher's per-thread and per-message state (sluice/policy.h: sl_scanner,
 * sl_msgscan), shared by msgscan.c (events, Hyperscan callbacks) and verdict.c. */
#ifndef SLUICE_POLICY_MATCHER_H
#define SLUICE_POLICY_MATCHER_H

#include "sluice/digest.h"

#include "internal.h"
#include "msgtraits.h"
#include "render.h"
#include "sluice/memacct.h"

#define EV_POOL 256      /* evidence entries kept per message */
#define EV_PER_COND 8    /* ... and per condition */
#define EV_PER_RULE 8    /* ... shown per rule in the verdict */
#define POL_BATCH 16384  /* stream bytes gathered before a Hyperscan scan */
#define POL_BATCHES 2    /* streams gathered at once: a text attachment feeds two */
#define POL_PATHS 8192   /* member paths kept for evidence, per message */
#define POL_PATH_LOST UINT16_MAX /* evidence whose member path found no room */

struct sl_scanner {
	hs_scratch_t *scratch;
	pcre2_match_data *md;
	pcre2_match_context *mctx;     /* bounded backtracking: a confirmation cannot hang */
	uint64_t prepared_serial;  /* policy the scratch was last grown for */
};

/* One streaming database's stream: one scope instance at a time (parts do not nest). */
struct stream_ch {
	hs_stream_t *st;
	bool active;
	uint64_t off;              /* bytes fed into this instance before the current chunk */
	uint8_t *tail;             /* the last `window` bytes before the current chunk */
	uint32_t tail_len, window;
	uint64_t instance;
	uint32_t *pending;         /* patterns with prefilter hits awaiting PCRE2 */
	uint32_t npending;
	const uint8_t *cur;        /* the chunk being scanned */
	size_t cur_len;
	bool dirty;                /* fed since its last reset (a scan failed before the close) */
	char part[SL_PATH_MAX];
};

struct stream_batch {
	uint8_t *buf;              /* POL_BATCH bytes */
	size_t len;
	unsigned db;
	uint64_t first;            /* when its first byte came: flushes go oldest first */
};

struct confirm_state {
	uint64_t instance;         /* scope instance `end` belongs to */
	uint64_t end;              /* end of the last confirmed match */
	uint64_t pending_from;     /* first unconfirmed prefilter hit (streams) */
	uint64_t pending_last;     /* the last of them */
	bool pending;
};

struct ev_entry {
	uint32_t cond;
	const char *scope;
	const char *what;
	uint64_t offset;
	uint16_t path;             /* member path: offset + 1 in the msgscan's paths; 0 none */
	char part[SL_PATH_MAX];
};

struct sl_msgscan {
	struct sl_scanner *sc;
	struct sl_policy *p;
	enum sl_direction forced;
	bool begun, done;
	/* the rendered scope: SpamAssassin's body text, one stream per message */
	struct render render;
	bool rendered_open;
	char subject[1024];        /* the top-level Subject (the last one), cut at 1 KiB */
	struct msgtraits *traits;  /* header traits, when the policy asks for an sa.* signal */
	size_t subject_len;

	struct stream_ch ch[POL_NSTREAM];
	uint8_t *winbuf;           /* assembled look-behind window */
	/* Bytes for up to POL_BATCHES streams, gathered across events so that Hyperscan
	 * scans a few large chunks rather than one per network-sized event. Scanned before
	 * any other event is handled, oldest first: the matches of one stream are counted
	 * in the same order, those of two streams fed in turn (a text attachment's bytes
	 * and its text) one stream after the other within a batch. */
	struct stream_batch batch[POL_BATCHES];
	uint64_t batch_clock;
	struct sl_msgscan_counts counts[POL_NSTREAM]; /* never reset (benchmark) */

	uint32_t *count;           /* per condition */
	uint8_t *evcount;          /* per condition */
	uint32_t *touched;         /* conditions with count > 0 */
	uint32_t ntouched;
	uint64_t *distinct;        /* distinct-count keys, per policy slots */
	struct confirm_state *confirm; /* per PCRE2-confirmed pattern */
	uint64_t instances;        /* scope instances opened so far (never reset) */
	uint8_t *hdr;              /* "Name: value" for the any-header scope */
	size_t hdr_cap;
	struct ev_entry ev[EV_POOL];
	uint32_t nev;

	/* the archive member being read (extraction stage) */
	char mpath[SL_MEMBER_PATH_MAX];
	uint16_t mpath_ref;        /* mpath's place in `paths` once evidence needed it */
	bool member_scan;          /* the scan in progress is of a member scope */
	char *paths;               /* POL_PATHS */
	size_t paths_len;

	/* the leaf part being read */
	bool in_leaf;
	char part[SL_PATH_MAX];
	struct sl_hash md[3];      /* MD5, SHA-1, SHA-256 (enum pol_digest) of a leaf's decoded
	                            * bytes, when hash lists need them and could match it */
	bool md_used[3];           /* the policy has hash entries of this type */
	bool md_active;

	/* verdict */
	struct sl_verdict verdict;
	struct sl_rule_hit *hits;
	size_t hits_cap;
	struct sl_evidence *vev;
	size_t vev_cap;
	uint8_t *rule_mark;
	uint32_t *fired;           /* per rule, while the verdict is computed: its value in `when` */
	uint32_t *cand;
	size_t cand_cap;

	struct sl_bayes_tokens *bayes; /* the classifier's tokens, when spam-probability is used */

	sl_scan_tap_fn tap;
	void *tap_ctx;

	/* the message could not be scanned completely (the signal, or SL_SIG_COUNT) */
	enum sl_signal unscanned;
	bool broken;               /* a stream could not be reset: every message fails */
	struct sl_memacct acct;    /* charged for the header buffer (charge NULL: none) */
};

/* Count one match of condition c (validated, confirmed) with its evidence. */
void pol_record(struct sl_msgscan *m, uint32_t c, uint64_t key, const char *scope,
                const char *part, uint64_t offset, const char *what);
/* Condition c holds for this message. */
static inline bool pol_cond_holds(const struct sl_msgscan *m, uint32_t c)
{
	return m->count[c] >= m->p->conds[c].min_count;
}
void pol_verdict_compute(struct sl_msgscan *m, enum sl_direction dir);
/* The message cannot be scanned completely: raise sig (engine.scan_error, engine.memory)
 * as if the engine had, and scan nothing more of it. */
void pol_scan_failed(struct sl_msgscan *m, enum sl_signal sig);

#endif
