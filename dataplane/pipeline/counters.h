/* Counters of one worker (or of the offline reader). Each worker writes only its own;
 * telemetry and the exit summary sum them. No locks: readers may see a value a few
 * packets old. No DPDK. */
#ifndef SLUICE_DP_COUNTERS_H
#define SLUICE_DP_COUNTERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sluice/strbuf.h"

struct dp_rule_totals;

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
	X(BAD_CHECKSUM, "bad_checksum", "TCP or IPv4 header checksum wrong (the server would drop it; never scanned)") \
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
/* Rules the stats JSON lists (the most hits; the rest as "(other)"): rule ids are at most
 * 128 bytes, so the fullest JSON stays within one control-socket frame (1 MiB). */
#define DP_STATS_RULES_MAX 4096

/* Per-port counters, one per role: field, whether telemetry also shows it per worker. */
#define DP_PORT_COUNTERS(X) \
	X(rx_packets, true) \
	X(rx_bytes, true) \
	X(tx_packets, true) \
	X(tx_bytes, true) \
	X(injected, false)    /* packets the dataplane made (replies, RSTs) */ \
	X(resegmented, false) /* packets rebuilt from held bytes */

/* Where a scalar counter shows: its object in the stats JSON (/sluice/stats, `sluicectl
 * stats`; TOP is the top level) and the DPDK telemetry command that shows it. */
enum dp_stat_group { DP_SG_FLOWS, DP_SG_STARTTLS, DP_SG_MESSAGES, DP_SG_TOP, DP_SG_PROTECT, DP_SG_COUNT };
enum dp_tel_cmd { DP_TEL_FLOWS, DP_TEL_MESSAGES, DP_TEL_MEMORY, DP_TEL_PROTECT };

/* Every scalar counter, once: field, JSON object and key, telemetry command and key,
 * whether telemetry also shows it per worker, what it counts. Gauges are summed over
 * workers like the rest. */
#define DP_SCALAR_COUNTERS(X) \
	X(flows_active, FLOWS, "active", FLOWS, "active", true, "gauge: flows in the table") \
	X(flows_created, FLOWS, "created", FLOWS, "created", false, "flows created") \
	X(flows_closed, FLOWS, "closed", FLOWS, "closed", false, "flows closed") \
	X(flows_expired, FLOWS, "expired", FLOWS, "expired", false, "flows expired idle") \
	X(flows_smtp_detected, FLOWS, "smtp_detected", FLOWS, "smtp_detected", false, "recognised by content on a non-SMTP port") \
	X(flows_embryonic, FLOWS, "embryonic", FLOWS, "embryonic", false, "gauge: handshake not completed") \
	X(flows_evicted_embryonic, FLOWS, "evicted_embryonic", FLOWS, "evicted_embryonic", false, "oldest half-open flows dropped to admit new ones") \
	X(flows_evicted_idle, FLOWS, "evicted_idle", FLOWS, "evicted_idle", false, "idle established flows reset to admit new ones") \
	X(flows_reset_desync, FLOWS, "reset_desync", FLOWS, "reset_desync", false, "the engine lost step with the server: reset") \
	X(rst_ignored, FLOWS, "rst_ignored", FLOWS, "rst_ignored", false, "RSTs the receiver would not accept (not at rcv_nxt)") \
	X(urg_cleared, FLOWS, "urg_cleared", FLOWS, "urg_cleared", false, "forwarded segments whose URG flag was cleared") \
	X(engine_failed, FLOWS, "engine_failed", FLOWS, "engine_failed", false, "sessions whose engine failed (memory, scan)") \
	X(events_dropped, FLOWS, "events_dropped", FLOWS, "events_dropped", false, "event-log lines lost (ring full, no memory)") \
	X(nul_rewritten, FLOWS, "nul_rewritten", FLOWS, "nul_rewritten", false, "command lines whose NUL bytes went on as '?'") \
	X(starttls_seen, STARTTLS, "seen", FLOWS, "starttls_seen", false, "STARTTLS commands seen") \
	X(starttls_stripped, STARTTLS, "stripped", FLOWS, "starttls_stripped", false, "STARTTLS taken out of the EHLO reply") \
	X(starttls_blocked, STARTTLS, "blocked", FLOWS, "starttls_blocked", false, "STARTTLS commands rewritten to a verb the server refuses") \
	X(messages, MESSAGES, "total", MESSAGES, "total", true, "MESSAGE_END seen") \
	X(enforced_reject, MESSAGES, "enforced_reject", MESSAGES, "enforced_reject", false, "rejects enforced: server reset, client answered") \
	X(enforced_quarantine, MESSAGES, "enforced_quarantine", MESSAGES, "enforced_quarantine", false, "quarantines enforced the same way") \
	X(journal_ok, MESSAGES, "journal_ok", MESSAGES, "journal_ok", false, "messages kept by the journal") \
	X(journal_skipped, MESSAGES, "journal_skipped", MESSAGES, "journal_skipped", false, "not kept (rejected, refused)") \
	X(journal_failed, MESSAGES, "journal_failed", MESSAGES, "journal_failed", false, "lost on the way to the journal") \
	X(journal_required_deferred, MESSAGES, "journal_required_deferred", MESSAGES, "journal_required_deferred", false, "[journal] required: 4xx, no durable copy possible") \
	X(journal_queued, MESSAGES, "journal_queued", MESSAGES, "journal_queued", false, "copies handed to the sink thread (output/sinkqueue.h), which counts journal_ok/skipped/failed for them") \
	X(journal_overflow, MESSAGES, "journal_overflow", MESSAGES, "journal_overflow", false, "copies lost because the sink queue's pool was full") \
	X(dump_ok, MESSAGES, "dump_ok", MESSAGES, "dump_ok", false, "--dump-messages: messages written by the dump sink") \
	X(dump_skipped, MESSAGES, "dump_skipped", MESSAGES, "dump_skipped", false, "--dump-messages: verdict line only (not delivered)") \
	X(dump_failed, MESSAGES, "dump_failed", MESSAGES, "dump_failed", false, "--dump-messages: lost on the way to the dump") \
	X(dump_queued, MESSAGES, "dump_queued", MESSAGES, "dump_queued", false, "--dump-messages: copies handed to the sink thread") \
	X(dump_overflow, MESSAGES, "dump_overflow", MESSAGES, "dump_overflow", false, "--dump-messages: copies lost because its sink queue was full") \
	X(dump_flow_queued, MESSAGES, "dump_flow_queued", MESSAGES, "dump_flow_queued", false, "--dump-messages: chunks of client bytes handed to the sink thread for flows/ (output/flowdump.h)") \
	X(dump_flow_overflow, MESSAGES, "dump_flow_overflow", MESSAGES, "dump_flow_overflow", false, "--dump-messages: client byte writes not dumped to flows/ because the flow dump's queue was full (that flow's file lacks them)") \
	X(dump_flow_failed, MESSAGES, "dump_flow_failed", MESSAGES, "dump_flow_failed", false, "--dump-messages: chunks the sink thread could not append to their flows/ file") \
	X(signals_overlap, TOP, "signals_overlap", MESSAGES, "signals_tcp_overlap", false, "tcp.overlap raised") \
	X(memory_bytes, TOP, "memory_bytes", MEMORY, "flows_bytes", true, "gauge: bytes held by flows") \
	X(protect_admitted, PROTECT, "admitted", PROTECT, "admitted", false, "SYNs through the checks") \
	X(protect_allowed, PROTECT, "allowed", PROTECT, "allowed", false, "SYNs from allow-listed sources (no limits)") \
	X(protect_cookies, PROTECT, "cookies", PROTECT, "cookies", false, "SYN-ACKs of the dataplane's own handshakes") \
	X(protect_handshakes, PROTECT, "handshakes", PROTECT, "handshakes", false, "... completed by the client: the answer sent") \
	X(protect_verified, PROTECT, "verified", PROTECT, "verified", false, "sources verified by such a handshake (emergency)") \
	X(protect_pardons, PROTECT, "pardons", PROTECT, "pardons", false, "bans lifted by an unban") \
	X(protect_bans_active, PROTECT, "bans_active", PROTECT, "bans_active", false, "gauge: bans in force") \
	X(protect_sources, PROTECT, "sources", PROTECT, "sources", false, "gauge: source table entries in use") \
	X(protect_sources_evicted, PROTECT, "sources_evicted", PROTECT, "sources_evicted", false, "idle entries recycled for new sources") \
	X(protect_sources_full, PROTECT, "sources_full", PROTECT, "sources_full", false, "a source could not be tracked (table held)") \
	X(protect_emergency, PROTECT, "emergency", PROTECT, "emergency", true, "gauge: workers in emergency mode") \
	X(protect_emergency_entered, PROTECT, "emergency_entered", PROTECT, "emergency_entered", false, "times emergency mode was entered")

/* The stages of a worker's poll loop, each timed per burst with the TSC (cheap: a few
 * reads per burst, not per packet) while the speed goals are unmet. */
#define DP_STAGES(X) \
	X(RX, "rx", "receiving bursts (rx_burst, ring dequeue)") \
	X(DECODE, "decode", "parsing each frame of a burst, its flow key and hash; prefetching its flow bucket") \
	X(INSPECT, "inspect", "per packet in order: flow lookup, TCP normalization, SMTP, engine, policy, NAT (bridge mode: forwarding)") \
	X(TX, "tx", "flushing the tx buffers (tx_burst, ring enqueue)") \
	X(TIMERS, "timers", "every 10 ms: expiry and timed work of flows, pool probes")

enum dp_stage {
#define X(id, name, doc) DP_STAGE_##id,
	DP_STAGES(X)
#undef X
	DP_STAGE_COUNT
};

struct dp_counters {
#define X(field, per_worker) uint64_t field[DP_NROLES];
	DP_PORT_COUNTERS(X)
#undef X
	uint64_t drops[DP_DROP_COUNT];
#define X(field, group, key, tel, tel_key, per_worker, doc) uint64_t field;
	DP_SCALAR_COUNTERS(X)
#undef X
	uint64_t uninspected[DP_UNINSPECTED_COUNT];
	uint64_t verdicts[DP_NACTIONS];     /* by enum sl_action */
	/* protection (protect.c), by reason */
	uint64_t protect_refused[DP_PROTECT_COUNT];  /* SYNs refused */
	uint64_t protect_closed[DP_PROTECT_COUNT];   /* sessions the dataplane closed */
	uint64_t protect_detected[DP_PROTECT_COUNT]; /* limits and detectors that fired */
	uint64_t protect_banned[DP_PROTECT_COUNT];   /* bans started */
	/* TSC cycles each stage of the poll loop took (DP_STAGES), and the bursts timed */
	uint64_t stage_cycles[DP_STAGE_COUNT];
	uint64_t stage_bursts;
	/* poll-loop iterations that moved packets, by duration: [i] counts those of
	 * 2^i .. 2^(i+1)-1 ns (the swap's cost on the worker loop, docs/control.md) */
	uint64_t loop_ns_log2[DP_LOOP_BUCKETS];
	/* messages each rule fired on: counted per bundle, by rule number (smtp/rules.h
	 * dp_ruleset_hit), summed by id in pipeline/rulehits.h */
};

/* A counter as the stats JSON and telemetry name it (see DP_SCALAR_COUNTERS). */
struct dp_counter_field {
	enum dp_stat_group group;
	const char *name;
	enum dp_tel_cmd tel;
	const char *tel_name;
	bool per_worker;
	size_t off; /* of a uint64_t in struct dp_counters */
};
extern const struct dp_counter_field dp_scalar_fields[];
extern const unsigned dp_nscalar_fields;
/* The port counters: off is that of the [DP_NROLES] array; name is the field's. */
extern const struct dp_counter_field dp_port_fields[];
extern const unsigned dp_nport_fields;

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
extern const char *const dp_stage_names[DP_STAGE_COUNT];
extern const char *const dp_stage_docs[DP_STAGE_COUNT];
extern const char *const dp_action_names[DP_NACTIONS];

/* Queued copies the sink thread has not finished yet (0 without a queue): derived, shown
 * after the "messages" counters as journal_backlog. */
static inline uint64_t dp_journal_backlog(const struct dp_counters *c)
{
	uint64_t done = c->journal_ok + c->journal_skipped + c->journal_failed;
	return c->journal_queued > done ? c->journal_queued - done : 0;
}

/* The loop-time histogram's quantile q (0..1) in ns (the bucket's upper edge). */
uint64_t dp_loop_quantile(const struct dp_counters *c, double q);

/* dst += src (gauges too: the sum over workers). */
void dp_counters_add(struct dp_counters *dst, const struct dp_counters *src);
/* The whole set as one JSON object (the /sluice/stats telemetry value); "rules" shows
 * `rules` (NULL: none), and their `other` as "(other)" when not 0. */
void dp_counters_json(const struct dp_counters *c, const struct dp_rule_totals *rules,
                      struct sl_strbuf *out);

#endif
