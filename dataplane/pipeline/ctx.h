/* What every flow of one worker (or of the offline reader) shares: configuration,
 * the current rule bundle, the Hyperscan scratch, counters, memory account, sinks,
 * the clock. One per worker; nothing in it is shared between threads. No DPDK. */
#ifndef SLUICE_DP_CTX_H
#define SLUICE_DP_CTX_H

#include <stdbool.h>
#include <stdint.h>

#include "sluice/limits.h"
#include "sluice/policy.h"
#include "sluice/strbuf.h"

#include "config/config.h"
#include "pipeline/bufpool.h"
#include "pipeline/counters.h"
#include "pipeline/objpool.h"
#include "stream/mem.h"
#include "smtp/rules.h"
#include "smtp/verdictcopy.h"
#include "output/sink.h"

#define DP_SCAN_POOL 32

struct dp_session;
struct sl_smtp;
struct dp_poolrt;
struct dp_protect;

/* Message scanners of finished flows, kept for new flows: making one per flow (a
 * Hyperscan stream per database, per-condition arrays) costs more than resetting. */
struct dp_scan_pool {
	struct sl_msgscan *scan[DP_SCAN_POOL];
	struct dp_ruleset *rules[DP_SCAN_POOL]; /* the bundle each was made with */
	unsigned n;
};

/* Engine sessions of finished flows, reset (sl_smtp_reset) and charged to nobody,
 * kept for new flows: the session and its MIME parser are not made anew per flow. */
#define DP_SMTP_POOL 64
struct dp_smtp_pool {
	struct sl_smtp *smtp[DP_SMTP_POOL];
	unsigned n;
};

struct dp_ctx {
	const struct dp_config *cfg;
	bool passive;               /* offline: a capture, nothing forwarded */
	struct dp_rules rules;      /* the bundle new messages start with (rules.cur; NULL: all
	                             * pass), and older ones messages in flight still hold */
	struct sl_limits limits;
	struct dp_counters *ctr;
	struct dp_mem mem;          /* this worker's share of max_memory */
	struct dp_sink *journal;    /* passed and quarantined messages; NULL = none */
	struct dp_sink *dump;       /* offline: every message; NULL = none */
	uint64_t now_ms;
	bool tcp_only;              /* benchmark: flows and TCP normalization, no engine */
	struct dp_scan_pool scans;
	struct dp_smtp_pool smtps;
	struct dp_verdict_pool verdicts; /* messages' verdicts held for the sinks, reused */
	/* per-worker pools, sized at start (dp_inspector_init): no malloc per flow */
	struct dp_objpool flows;       /* struct dp_flow */
	struct dp_objpool sessions;    /* struct dp_session */
	struct dp_objpool ooo_holders; /* out-of-order segment bytes (tcpdir.h) */
	struct dp_bufpool retained;    /* each direction's retained bytes (tcpdir.h) */
	sl_scan_tap_fn scan_tap;    /* benchmark: sees every buffer the matcher scans */
	void *scan_tap_ctx;
	/* tests, dumps: every stream byte handed to the SMTP engine, in order, per flow
	 * (sf is the flow's struct dp_smtpflow; dir SL_CLIENT or SL_SERVER) */
	void (*feed_tap)(void *arg, const void *sf, int dir, const uint8_t *p, size_t n);
	void *feed_tap_ctx;
	/* the event log: one JSON line per verdict (sluice-dp hands it to its writer thread
	 * through a ring; NULL: no event log) */
	void (*event)(void *arg, const char *line, size_t len);
	void *event_arg;
	struct sl_strbuf event_buf; /* the line being built, reused */
	struct dp_poolrt *pool;     /* the mail-host pool (poolflow.h); NULL: none */
	struct dp_protect *protect; /* connection-level protection (protect.h); NULL: off */
};

#endif
