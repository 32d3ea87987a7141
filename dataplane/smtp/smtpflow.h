/* The SMTP side of one TCP flow: content detection, the engine session, one policy
 * scan per message, the verdict and what enforcing it needs (the TCP side is in
 * flow.c), STARTTLS handling, journal and dump hand-over. It also says how far each
 * stream may be forwarded: only bytes the engine has interpreted, and in command mode
 * only whole lines (so a STARTTLS line can still be rewritten). No DPDK. */
#ifndef SLUICE_DP_SMTPFLOW_H
#define SLUICE_DP_SMTPFLOW_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "sluice/memacct.h"
#include "sluice/smtp.h"

#include "pipeline/ctx.h"
#include "protect/protect.h"
#include "smtp/verdictcopy.h"
#include "stream/tcpdir.h"

enum dp_sf_state {
	DP_SF_DETECT,   /* not known to be SMTP yet (content detection) */
	DP_SF_SMTP,     /* inspected */
	DP_SF_NOT_SMTP, /* detection gave up: passed untouched */
	DP_SF_OPAQUE,   /* STARTTLS allowed and TLS seen: passed uninspected */
	DP_SF_ENFORCE,  /* a verdict is being enforced; the engine is done with this flow */
};

/* A reject, tempfail or quarantine to carry out. */
struct dp_enforce {
	enum sl_action action;
	uint64_t end_off;          /* client stream offset just past the message's end */
	uint64_t replies_needed;   /* server replies the client must get before ours */
	char reply[600];           /* reply for the client, CRLF-terminated */
	size_t reply_len;
	bool protect;              /* a protection close: the reply, then the dataplane closes */
	uint64_t server_upto;      /* server bytes before it the client still gets (0: none) */
};

/* Where a protection close cuts in (dp_smtpflow_protect_close). */
enum dp_close_at {
	DP_CLOSE_AT_COMMAND,       /* instead of the command at off (earlier replies still due) */
	DP_CLOSE_AT_REPLY,         /* instead of the reply being read (the replies before it pass) */
	DP_CLOSE_AT_DATA,          /* now, instead of the client bytes from off on */
};

#define DP_SF_PENDING 8
#define DP_SF_SESSION_SIGNALS 8

struct dp_sf_pending {         /* a message waiting for the server's answer */
	bool used;
	uint32_t txn;
	void *journal, *dump;      /* sink handles */
	enum sl_action action;
	enum sl_direction direction;
	struct dp_verdict_copy *verdict; /* for the sinks (NULL: none takes it, or no memory) */
	uint64_t bytes;
	uint64_t bundle_id;        /* the bundle that judged it */
	char bundle_digest[17];
};

struct dp_smtpflow {
	struct dp_ctx *ctx;
	enum dp_sf_state state;
	struct sl_smtp *smtp;
	struct sl_msgscan *scan;
	struct dp_ruleset *scan_rules;   /* the bundle `scan` was made with */
	bool in_message;
	uint32_t msg_txn;
	uint64_t base[2];                /* flow offset of engine offset 0, per stream */
	uint64_t fed[2];                 /* flow offset up to which the engine was fed */
	uint64_t line_end[2];            /* flow offset just past the last LF seen */
	uint64_t expected, answered;     /* replies due / complete replies seen */
	struct dp_tcpdir *dirs;          /* the flow's two directions (rewrites, lookback) */
	bool rewrote[2];                 /* bytes were rewritten during the last data call */
	bool enforce_due;                /* enf filled, waiting for the flow to act */
	struct dp_enforce enf;
	bool overlap_pending;            /* raise tcp.overlap in the current/next message */
	/* the message in progress */
	void *msg_journal, *msg_dump;
	uint64_t msg_bytes;
	struct dp_sf_pending pending[DP_SF_PENDING];
	/* the last replies' texts, to report a transaction's answer */
	struct { uint64_t off; int code; char text[128]; } replies[4];
	unsigned nreply;
	char client_txt[64], server_txt[64];
	struct sockaddr_storage client_addr, server_addr;
	struct dp_mem mem;               /* the engine's account: max_flow_memory, then the worker's */
	struct sl_memacct acct;          /* ... as the engine calls it */
	size_t scan_charged;             /* the message scanner's streams, charged to mem */
	bool overload;                   /* no memory for the engine: the flow cannot be inspected */
	bool failed;                     /* the engine failed (memory): nothing more is inspected */
	bool smtp_port;                  /* on a configured SMTP port (not found by content) */
	uint8_t starttls;                /* enum dp_starttls, as configured when the flow began */
	bool desync;                     /* smtp.desync: the engine lost step with the server */
	/* signals raised between messages: the next message carries them, so a rule on
	 * smtp.pending_overflow or smtp.desync sees them whenever they were raised */
	struct { char name[48]; char value[96]; } session_signal[DP_SF_SESSION_SIGNALS];
	unsigned nsession_signals;
	uint64_t reply_first;            /* flow offset of the first line of the reply being read */
	bool reply_open;                 /* ... which has more lines to come */
	struct dp_sf_protect pr;         /* the protection's per-session state (protect.h) */
};

/* detect: recognise SMTP by content (else it is SMTP from the first byte). */
void dp_smtpflow_init(struct dp_smtpflow *sf, struct dp_ctx *ctx, struct dp_tcpdir dirs[2],
                      const struct sockaddr_storage *client, const struct sockaddr_storage *server,
                      bool detect);
void dp_smtpflow_free(struct dp_smtpflow *sf);

/* New in-order bytes of stream `dir` (SL_CLIENT or SL_SERVER) at flow offset off. */
void dp_smtpflow_data(struct dp_smtpflow *sf, int dir, uint64_t off, const uint8_t *p, size_t n);
/* n bytes of a stream are missing (passive only). */
void dp_smtpflow_gap(struct dp_smtpflow *sf, int dir, uint64_t n);
/* Overlapping bytes differed (tcp.overlap). */
void dp_smtpflow_overlap(struct dp_smtpflow *sf);
/* The connection or capture ended. */
void dp_smtpflow_close(struct dp_smtpflow *sf);

/* Flow offset up to which stream dir may be forwarded now. */
uint64_t dp_smtpflow_limit(const struct dp_smtpflow *sf, int dir, uint64_t rcv_off);

/* The enforcement was carried out (client answered, server reset). */
void dp_smtpflow_enforced(struct dp_smtpflow *sf);

size_t dp_smtpflow_memory(const struct dp_smtpflow *sf);

/* Feed client bytes the engine had no room for, now that server bytes came (inline). */
void dp_smtpflow_feed_waiting(struct dp_smtpflow *sf);

/* The protection closes the session: the client gets reply (CRLF-terminated) from the
 * dataplane, the server a RST; a message in progress is never committed. */
void dp_smtpflow_protect_close(struct dp_smtpflow *sf, enum dp_close_at at, uint64_t off,
                               const char *reply);
/* Raise a signal (a name from signals.def) in the current message, or keep it for the
 * next one. */
void dp_smtpflow_signal(struct dp_smtpflow *sf, const char *name, const char *value);
/* The flow's addresses as "ip:port" (made on first use). */
const char *dp_smtpflow_client_text(struct dp_smtpflow *sf);
const char *dp_smtpflow_server_text(struct dp_smtpflow *sf);

/* Frees the scanners kept for new flows (ctx->scans) and the verdict copies kept. */
void dp_smtpflow_pool_free(struct dp_ctx *ctx);

#endif
