/* Counters of one worker (or of the offline reader). Each worker writes only its own;
 * telemetry and the exit summary sum them. No locks: readers may see a value a few
 * packets old. No DPDK. */
#ifndef SLUICE_DP_COUNTERS_H
#define SLUICE_DP_COUNTERS_H

#include <stddef.h>
#include <stdint.h>

#include "sluice/strbuf.h"

enum dp_role {
	DP_OUTSIDE,
	DP_INSIDE,
	DP_NROLES,
};

/* Why a packet was not forwarded. */
#define DP_DROP_REASONS(X) \
	X(TX_FULL, "tx_full", "the output queue was full") \
	X(NO_MBUF, "no_mbuf", "no mbuf to build an injected or re-segmented packet") \
	X(MALFORMED, "malformed", "IP/TCP headers inconsistent with the frame") \
	X(BAD_CHECKSUM, "bad_checksum", "TCP checksum wrong (the server would drop it; never scanned)") \
	X(TCP_FRAGMENT, "tcp_fragment", "IP fragment of a TCP datagram on an inspected path") \
	X(RETRANSMIT_CONFLICT, "retransmit_conflict", "retransmitted bytes differ from bytes already scanned") \
	X(OOO_CONFLICT, "ooo_conflict", "out-of-order bytes differ from bytes already held") \
	X(OOO_FULL, "ooo_full", "out-of-order hold full (segments or bytes); the sender retransmits") \
	X(FLOW_MEMORY, "flow_memory", "the flow's memory cap was reached; the sender retransmits") \
	X(OUT_OF_WINDOW, "out_of_window", "segment far outside the expected sequence window") \
	X(FAIL_CLOSED, "fail_closed", "a cap was hit and on_overload = closed") \
	X(ENFORCED, "enforced", "client data after a reject/quarantine, or to a reset server") \
	X(SYN_MISMATCH, "syn_mismatch", "SYN or SYN-ACK with another ISN once the connection is under way (the receiver keeps its connection)") \
	X(SYN_DATA, "syn_data", "SYN carrying data (TCP Fast Open); the client retransmits the SYN without it") \
	X(NO_HANDSHAKE, "no_handshake", "data before the three-way handshake completed") \
	X(NO_ACK, "no_ack", "a segment without ACK on an established connection (Linux discards it)") \
	X(BAD_ACK, "bad_ack", "a segment acknowledging bytes its receiver never sent (Linux discards it)") \
	X(WRONG_PORT, "wrong_port", "a packet of the flow on the other port than its direction comes in on (forged)") \
	X(MIDSTREAM_RESET, "midstream_reset", "data of an SMTP connection whose start was never seen; both ends reset") \
	X(ENGINE_FAILED, "engine_failed", "the flow's engine failed (memory, scan error, desync) and on_overload = closed") \
	X(PROTECT, "protect", "a SYN the protection refused (block list, ban, limits, emergency mode): dropped, or answered by the dataplane; segments of the dataplane's own refusal handshakes") \
	X(POOL_NO_HOST, "pool_no_host", "a SYN to the pool's service address with no host up (answered with a RST) or whose host's MAC is not known yet")

enum dp_drop_reason {
#define X(id, name, doc) DP_DROP_##id,
	DP_DROP_REASONS(X)
#undef X
	DP_DROP_COUNT
};

/* Why a flow that looked like SMTP is passed without inspection. */
#define DP_UNINSPECTED_REASONS(X) \
	X(STARTTLS, "starttls", "STARTTLS allowed: content encrypted from here on") \
	X(TABLE_FULL, "table_full", "the flow table was full (fail-open)") \
	X(MEMORY, "memory", "the total memory cap was reached (fail-open)") \
	X(MIDSTREAM, "midstream", "first packet seen mid-connection (no SYN)") \
	X(NOT_SMTP, "not_smtp", "content detection found no SMTP")

enum dp_uninspected_reason {
#define X(id, name, doc) DP_UNINSPECTED_##id,
	DP_UNINSPECTED_REASONS(X)
#undef X
	DP_UNINSPECTED_COUNT
};

/* Why the protection refused a connection, closed a session or banned a source
 * (docs/protection.md). */
#define DP_PROTECT_REASONS(X) \
	X(BLOCK, "block", "the source is on the block list") \
	X(BAN, "ban", "the source is banned") \
	X(HOST_CONNECTIONS, "host_connections", "new connections from the address over host_connections") \
	X(NET_CONNECTIONS, "net_connections", "new connections from its /24 or /64 over net_connections") \
	X(HOST_SESSIONS, "host_sessions", "concurrent sessions of the address at host_sessions") \
	X(NET_SESSIONS, "net_sessions", "concurrent sessions of its /24 or /64 at net_sessions") \
	X(HOST_MESSAGES, "host_messages", "messages from the address over host_messages") \
	X(NET_MESSAGES, "net_messages", "messages from its network over net_messages") \
	X(HOST_RECIPIENTS, "host_recipients", "recipients from the address over host_recipients") \
	X(NET_RECIPIENTS, "net_recipients", "recipients from its network over net_recipients") \
	X(HOST_BYTES, "host_bytes", "bytes from the address over host_bytes") \
	X(NET_BYTES, "net_bytes", "bytes from its network over net_bytes") \
	X(EMERGENCY, "emergency", "emergency mode: a source that has not completed a handshake yet") \
	X(HARVEST, "harvest", "recipients the server refused (directory harvest) over harvest_limit") \
	X(AUTH_FAILURES, "auth_failures", "failed AUTH over auth_failure_limit") \
	X(PREGREET, "pregreet", "the client talked before the server's greeting") \
	X(NON_SMTP, "non_smtp", "HTTP, TLS or other non-SMTP bytes where a command was due") \
	X(VRFY_EXPN, "vrfy_expn", "VRFY/EXPN in one session over vrfy_expn_limit") \
	X(ERRORS, "errors", "error replies in one session at error_limit") \
	X(UNKNOWN_COMMANDS, "unknown_commands", "unknown commands in one session at unknown_command_limit") \
	X(LONG_LINES, "long_lines", "a command line longer than max_line_length") \
	X(RECIPIENTS, "recipients_per_message", "recipients in one transaction over max_recipients")

enum dp_protect_reason {
#define X(id, name, doc) DP_PROTECT_##id,
	DP_PROTECT_REASONS(X)
#undef X
	DP_PROTECT_COUNT
};

#define DP_NACTIONS 5 /* enum sl_action */
#define DP_LOOP_BUCKETS 32
#define DP_RULE_SLOTS 256
#define DP_RULE_ID_MAX 64

struct dp_rule_count {
	char id[DP_RULE_ID_MAX]; /* "" = free slot */
	uint64_t count;
};

struct dp_counters {
	uint64_t rx_packets[DP_NROLES], rx_bytes[DP_NROLES];
	uint64_t tx_packets[DP_NROLES], tx_bytes[DP_NROLES];
	uint64_t injected[DP_NROLES];       /* packets the dataplane made (replies, RSTs) */
	uint64_t resegmented[DP_NROLES];    /* packets rebuilt from held bytes */
	uint64_t drops[DP_DROP_COUNT];
	uint64_t flows_created, flows_closed, flows_expired;
	uint64_t flows_active;              /* gauge */
	uint64_t flows_embryonic;           /* gauge: handshake not completed */
	uint64_t flows_evicted_embryonic;   /* oldest half-open flows dropped to admit new ones */
	uint64_t flows_evicted_idle;        /* idle established flows reset to admit new ones */
	uint64_t flows_reset_desync;        /* the engine lost step with the server: reset */
	uint64_t rst_ignored;               /* RSTs the receiver would not accept (not at rcv_nxt) */
	uint64_t urg_cleared;               /* forwarded segments whose URG flag was cleared */
	uint64_t engine_failed;             /* sessions whose engine failed (memory, scan) */
	uint64_t events_dropped;            /* event-log lines lost (ring full, no memory) */
	uint64_t nul_rewritten;             /* command lines whose NUL bytes went on as '?' */
	uint64_t flows_smtp_detected;       /* recognised by content on a non-SMTP port */
	uint64_t uninspected[DP_UNINSPECTED_COUNT];
	uint64_t messages;                  /* MESSAGE_END seen */
	uint64_t verdicts[DP_NACTIONS];     /* by enum sl_action */
	uint64_t enforced_reject, enforced_quarantine; /* server reset, client answered */
	uint64_t signals_overlap;           /* tcp.overlap raised */
	uint64_t starttls_seen, starttls_stripped, starttls_blocked;
	uint64_t journal_ok, journal_skipped, journal_failed; /* kept, not kept (rejected, refused), lost */
	uint64_t journal_required_deferred; /* [journal] required: 4xx, no durable copy possible */
	/* the sink queue (sinkqueue.h): copies handed to the sink thread, which counts
	 * journal_ok/skipped/failed for them; copies lost because its pool was full */
	uint64_t journal_queued, journal_overflow;
	uint64_t memory_bytes;              /* gauge: held by flows */
	/* protection (protect.c) */
	uint64_t protect_refused[DP_PROTECT_COUNT];  /* SYNs refused, by reason */
	uint64_t protect_closed[DP_PROTECT_COUNT];   /* sessions the dataplane closed */
	uint64_t protect_detected[DP_PROTECT_COUNT]; /* limits and detectors that fired */
	uint64_t protect_banned[DP_PROTECT_COUNT];   /* bans started, by reason */
	uint64_t protect_admitted;          /* SYNs through the checks */
	uint64_t protect_allowed;           /* SYNs from allow-listed sources (no limits) */
	uint64_t protect_cookies;           /* SYN-ACKs of the dataplane's own handshakes */
	uint64_t protect_handshakes;        /* ... completed by the client: the answer sent */
	uint64_t protect_verified;          /* sources verified by such a handshake (emergency) */
	uint64_t protect_pardons;           /* bans lifted by an unban */
	uint64_t protect_bans_active;       /* gauge */
	uint64_t protect_sources;           /* gauge: source table entries in use */
	uint64_t protect_sources_evicted;   /* idle entries recycled for new sources */
	uint64_t protect_sources_full;      /* a source could not be tracked (table held) */
	uint64_t protect_emergency;         /* gauge: workers in emergency mode */
	uint64_t protect_emergency_entered;
	uint64_t rule_overflow;             /* rule ids beyond DP_RULE_SLOTS */
	/* poll-loop iterations that moved packets, by duration: [i] counts those of
	 * 2^i .. 2^(i+1)-1 ns (the swap's cost on the worker loop, docs/control.md) */
	uint64_t loop_ns_log2[DP_LOOP_BUCKETS];
	struct dp_rule_count rules[DP_RULE_SLOTS];
};

/* The flow counters as telemetry and the stats JSON name them (/sluice/flows). */
struct dp_counter_field {
	const char *name;
	size_t off; /* of a uint64_t in struct dp_counters */
};
extern const struct dp_counter_field dp_flow_fields[];
extern const unsigned dp_nflow_fields;
/* The protection's counters (/sluice/protect, "protect" in the stats JSON) besides the
 * per-reason arrays. */
extern const struct dp_counter_field dp_protect_fields[];
extern const unsigned dp_nprotect_fields;

static inline uint64_t dp_counter_at(const struct dp_counters *c, size_t off)
{
	return *(const uint64_t *)((const char *)c + off);
}

extern const char *const dp_drop_names[DP_DROP_COUNT];
extern const char *const dp_drop_docs[DP_DROP_COUNT];
extern const char *const dp_uninspected_names[DP_UNINSPECTED_COUNT];
extern const char *const dp_uninspected_docs[DP_UNINSPECTED_COUNT];
extern const char *const dp_role_names[DP_NROLES];
extern const char *const dp_protect_names[DP_PROTECT_COUNT];
extern const char *const dp_protect_docs[DP_PROTECT_COUNT];

/* Queued copies the sink thread has not finished yet (0 without a queue). */
static inline uint64_t dp_journal_backlog(const struct dp_counters *c)
{
	uint64_t done = c->journal_ok + c->journal_skipped + c->journal_failed;
	return c->journal_queued > done ? c->journal_queued - done : 0;
}

void dp_counters_rule_hit(struct dp_counters *c, const char *id);
/* The loop-time histogram's quantile q (0..1) in ns (the bucket's upper edge). */
uint64_t dp_loop_quantile(const struct dp_counters *c, double q);

/* dst += src (gauges too: the sum over workers). */
void dp_counters_add(struct dp_counters *dst, const struct dp_counters *src);
/* The whole set as one JSON object (the /sluice/stats telemetry value). */
void dp_counters_json(const struct dp_counters *c, struct sl_strbuf *out);

#endif
