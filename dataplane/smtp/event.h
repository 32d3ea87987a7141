/* The event log's lines: one JSON object per verdict, in the shape of Suricata's
 * eve.json (timestamp, event_type, flow addresses, the protocol's own object), so that
 * ELK, Splunk or Loki take them with the parsers they have for eve. No DPDK. */
#ifndef SLUICE_DP_EVENT_H
#define SLUICE_DP_EVENT_H

#include <stdbool.h>
#include <stdint.h>

#include "sluice/envelope.h"
#include "sluice/policy.h"
#include "sluice/strbuf.h"

struct dp_event {
	const char *client, *server;      /* "ip:port", "[v6]:port" */
	const struct sl_envelope *env;
	const struct sl_verdict *verdict;
	uint64_t bundle_id;
	const char *bundle_digest;
	bool scanned;                     /* false: no scanner (no policy, or no memory) */
};

/* Appends one line (with its newline) to out. dataplane: the name in [control]. */
void dp_event_json(struct sl_strbuf *out, const char *dataplane, const struct dp_event *e);

/* A protection action (docs/protection.md): event_type "smtp_protect". */
struct dp_protect_event {
	const char *client, *server;      /* "ip:port" ("[v6]:port"); server may be NULL */
	const char *reason;               /* counters.h DP_PROTECT_REASONS names */
	const char *action;               /* log, signal, close, ban, refuse, drop, unban, emergency */
	uint64_t count, limit;            /* what was counted against which limit (0: n/a) */
	uint64_t ban_seconds;             /* action ban: how long */
	const char *reply;                /* what the client was told (NULL: nothing) */
};
void dp_protect_event_json(struct sl_strbuf *out, const char *dataplane,
                           const struct dp_protect_event *e);

#endif
