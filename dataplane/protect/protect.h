/* Connection-level protection of one worker (docs/protection.md): at a SYN, the allow
 * and block lists, bans, emergency mode and the per-source connection and session
 * limits decide whether the connection reaches the server; during a session, message,
 * recipient and byte rates, refused recipients (directory harvest), failed logins and
 * the protocol-abuse detectors (pregreet, non-SMTP bytes, VRFY/EXPN, errors, unknown
 * commands, long lines, recipients per message) act as configured: log, signal the
 * policy, close the session (the dataplane answers 421/554 for the server), or ban
 * the source. State lives in the worker's source table; nothing is shared or locked.
 * No DPDK. */
#ifndef SLUICE_DP_PROTECT_H
#define SLUICE_DP_PROTECT_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "pipeline/counters.h"
#include "decode/pktparse.h"
#include "protect/prefix.h"
#include "protect/srctable.h"

struct dp_ctx;
struct dp_smtpflow;
struct sl_event;

/* What the dataplane's own handshake answers (responder.c). */
enum dp_answer {
	DP_ANSWER_BLOCK,   /* 554: on the block list */
	DP_ANSWER_BAN,     /* 421: banned */
	DP_ANSWER_LIMIT,   /* 421: over a connection limit */
	DP_ANSWER_BUSY,    /* 421: emergency mode, the source is verified for next time */
	DP_ANSWERS,
};

struct dp_protect {
	const struct dp_protect_config *cfg;
	struct dp_srctable src;
	/* the lists as last published (control.c, RCU); NULL: none */
	const struct dp_lists *lists;
	uint32_t *banned;              /* entries with a ban running (gauge, expiry) */
	uint32_t nbanned;
	uint64_t emergency_until_ms;   /* emergency mode while now < this (auto) */
	uint64_t evict_second;         /* now / 1000 of evicted_now */
	uint32_t evicted_now;          /* half-open flows evicted in that second */
	/* servers that offer PIPE_CONNECT (Exim's early pipelining: a client that knows it
	 * may send EHLO before the greeting): no pregreet test against them */
	struct dp_prefix early_servers[16];
	unsigned nearly;
};

int dp_protect_init(struct dp_protect *pr, const struct dp_protect_config *cfg);
void dp_protect_free(struct dp_protect *pr);

/* ---- at a SYN ---------------------------------------------------------------------- */

enum dp_syn_verdict {
	DP_SYN_ADMIT,      /* tracked: host and net hold the source's entries */
	DP_SYN_EXEMPT,     /* allow-listed, or not a case for protection: not tracked */
	DP_SYN_DROP,
	DP_SYN_ANSWER,     /* the responder completes the handshake and answers `answer` */
};

struct dp_syn_check {
	enum dp_syn_verdict verdict;
	enum dp_answer answer;
	enum dp_protect_reason reason; /* when refused */
	uint32_t host, net;            /* source entries (DP_SRC_NONE: none) */
};

/* A SYN (no ACK) for a new connection to an SMTP port from port role in_role. */
void dp_protect_syn(struct dp_ctx *ctx, const struct dp_pkt *p, int in_role, struct dp_syn_check *out);
/* The flow admitted with these entries is gone. */
void dp_protect_flow_end(struct dp_ctx *ctx, uint32_t host, uint32_t net);
/* Its handshake completed: the address is real (emergency mode lets it through). */
void dp_protect_established(struct dp_ctx *ctx, uint32_t host);
/* The client of the responder's handshake acknowledged it (a real address). */
void dp_protect_handshake(struct dp_ctx *ctx, const struct dp_pkt *p, enum dp_answer answered);
/* A half-open flow was evicted to admit another (emergency mode's trigger). */
void dp_protect_evicted(struct dp_ctx *ctx);
/* Every 10 ms: bans that ended, gauges, the end of emergency mode. */
void dp_protect_tick(struct dp_ctx *ctx);
/* Emergency mode now. */
bool dp_protect_emergency(const struct dp_ctx *ctx);

/* ---- during a session (called by smtpflow.c) --------------------------------------- */

/* The session's protection state (in struct dp_smtpflow). */
struct dp_sf_protect {
	bool on;                       /* checked: a tracked source */
	uint32_t host, net;
	uint32_t vrfy_expn, errors, unknown, rcpts;  /* rcpts: in the transaction */
	bool message_counted;          /* the transaction's message was counted */
	uint32_t fired;                /* detectors that already fired (bit per reason) */
	uint64_t greet_until_ms;       /* greet_wait: the server's greeting held until then */
};

void dp_protect_session_start(struct dp_smtpflow *sf, uint32_t host, uint32_t net);
/* After the engine's COMMAND / REPLY event (counted by smtpflow.c first). */
void dp_protect_command(struct dp_smtpflow *sf, const struct sl_event *ev);
void dp_protect_reply(struct dp_smtpflow *sf, const struct sl_event *ev);
/* New in-order client bytes at flow offset off, before the engine reads them. */
void dp_protect_client_data(struct dp_smtpflow *sf, uint64_t off, const uint8_t *p, size_t n);
/* After the engine read client bytes: the command line it is reading may be too long. */
void dp_protect_client_fed(struct dp_smtpflow *sf);

/* greet_wait: the server's bytes are held (pregreet test); the flow's timer releases
 * them (flow.c). */
bool dp_protect_greeting_held(const struct dp_smtpflow *sf);

/* The texts the dataplane answers with (CRLF-terminated). */
const char *dp_protect_answer_text(enum dp_answer a);

/* ---- reading a worker's table from another thread ---------------------------------- */

/* Copy one entry consistently (the worker may be changing it): false when it is unused
 * or changed while copied. */
bool dp_src_read(const struct dp_source *live, struct dp_source *copy);

#endif
