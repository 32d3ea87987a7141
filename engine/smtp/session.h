/* Internal state of the SMTP session, shared by the files of engine/smtp.
 * See docs/engine-smtp.md for the behaviour this implements. */
#ifndef SLUICE_SMTP_SESSION_H
#define SLUICE_SMTP_SESSION_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/mem.h"
#include "sluice/mime.h"
#include "sluice/signals.h"
#include "sluice/smtp.h"

/* Transactions kept open at once (pipelined BDAT messages awaiting their replies). */
#define SMTP_MAX_TXNS 8
/* Commands waiting for a reply; beyond this the oldest is assumed answered (inline: the
 * client waits for replies instead). */
#define SMTP_MAX_QUEUE 4096
#define SMTP_FIRST_QUEUE 16 /* the queue's first size: what a new session holds */
/* A released transaction with at most this many recipients' room is kept for the next */
#define SMTP_SPARE_RCPTS 16

/* One command or reply line being accumulated, capped at max_line bytes. */
struct smtp_line {
	uint8_t *buf;
	size_t len, cap;
	uint64_t start;  /* stream offset of the first byte */
	bool open;       /* bytes of an unfinished line are buffered */
	bool truncated;  /* over the cap: the rest is dropped up to the LF */
};

enum smtp_cmd {
	CMD_GREETING, /* the 220 the server sends first */
	CMD_HELO,
	CMD_EHLO,
	CMD_MAIL,
	CMD_RCPT,
	CMD_DATA,
	CMD_END_OF_DATA, /* the "." line: its reply is the transaction result */
	CMD_BDAT,
	CMD_RSET,
	CMD_NOOP,
	CMD_VRFY,
	CMD_EXPN,
	CMD_HELP,
	CMD_AUTH,
	CMD_AUTH_RESPONSE, /* a client line answering a 334 challenge */
	CMD_STARTTLS,
	CMD_QUIT,
	CMD_OTHER, /* known extension verbs (ETRN, XCLIENT, ...) and unknown ones */
};

/* A command waiting for its reply. */
struct smtp_pending {
	uint8_t cmd;      /* enum smtp_cmd */
	bool last;        /* BDAT ... LAST */
	bool blocks;      /* the client's next bytes wait for this reply */
	bool assumed;     /* the engine went on as if the reply had come (assume_waiting) */
	int8_t slot;      /* txn slot, -1 when none */
	uint32_t txn;     /* transaction number for events */
	uint32_t rcpt;    /* RCPT: index in the envelope, UINT32_MAX when not kept */
};

/* One mail transaction: MAIL .. end of data (or the first DATA/BDAT without MAIL). */
struct smtp_txn {
	uint32_t id;
	unsigned refs;         /* pending commands that point here */
	bool msg_begun;        /* MESSAGE_BEGIN emitted */
	bool msg_ended;        /* MESSAGE_END emitted */
	bool result_sent;      /* TXN_RESULT emitted */
	bool result_due;       /* reply known before MESSAGE_END: emit it then */
	int result_code;
	uint64_t result_off;
	int bdat_fail;         /* first non-2xx reply to a BDAT chunk */
	bool rcpt_capped;      /* smtp.too_many_rcpts raised */
	size_t rcpt_cap;
	struct sl_envelope env;
};

enum smtp_client_state {
	C_CMD,    /* command lines */
	C_DATA,   /* message content after 354, up to CRLF.CRLF */
	C_BDAT,   /* inside a BDAT chunk */
	C_OPAQUE, /* TLS: nothing more is interpreted */
};

/* DATA scanner: what the last bytes were, for dot-unstuffing and end of data. */
enum smtp_data_state {
	D_MID,    /* inside a line */
	D_CR,     /* after a CR (not known yet whether LF follows) */
	D_LF,     /* after a bare LF */
	D_LINE,   /* at a line start: after CRLF, or the first byte of the message */
	D_DOT,    /* after a dot that followed a line break of kind d_prefix */
	D_DOTCR,  /* after such a dot and a CR */
};

enum smtp_break { BRK_CRLF, BRK_LF, BRK_CR };

struct sl_smtp {
	struct sl_limits lim;
	sl_event_fn fn;
	void *ctx;
	struct sl_mem mem;       /* every heap byte of the session and its parser */
	struct sl_mem *outer;    /* the caller's allocator, current around callbacks */
	struct sl_mime *mime;
	bool closed;
	bool closing;            /* inside sl_smtp_close: replies may be assumed, even inline */
	bool failed;             /* out of memory, or inline bytes that would need an assumption */
	bool fail_announced;     /* the failure's signal was raised */
	enum sl_signal fail_sig;
	char fail_why[96];
	bool encrypted;
	bool tls_check_client, tls_check_server; /* next bytes decide TLS vs plaintext */
	bool tls_saw_0x16;                       /* client sent 0x16, 2nd byte pending */
	struct sl_endpoint client_ep, server_ep;

	/* client stream */
	enum smtp_client_state cstate;
	uint64_t c_pos;          /* offset of the next client byte to interpret */
	struct smtp_line cline;
	bool c_wait;             /* held: the last command's reply decides what follows */
	bool c_full;             /* held (inline): no room for another command until replies */
	bool wait_signalled;     /* smtp.data_before_reply raised for this wait */
	bool auth_continue;      /* next client line answers a 334 */
	uint8_t *held;           /* client bytes after c_pos, waiting for a reply */
	size_t held_len, held_cap;

	/* message content */
	struct smtp_txn *msg;    /* the transaction whose content is flowing, or NULL */
	uint64_t raw_off;        /* bytes of the current message passed on so far */
	enum smtp_data_state dstate;
	enum smtp_break dprefix;
	uint64_t dot_raw;        /* raw offset where the dot of a candidate stood */
	uint64_t dot_hold;       /* client offset of a dot that may end the message, or max */
	bool hold_sticky;        /* a smuggling variant: hold until MESSAGE_END */
	bool smuggling_signalled, nul_signalled, gap_in_msg;
	uint64_t bdat_left;      /* bytes left in the current BDAT chunk */
	bool bdat_last;

	/* server stream */
	uint64_t s_pos;
	struct smtp_line sline;
	bool s_resync;           /* after a gap: match the next reply by its code */
	bool s_multi;            /* inside a multi-line reply */
	int multi_code;          /* the code of its first line */
	uint64_t reply_off;      /* server offset of the current reply's first line */
	unsigned late_replies;   /* replies still to come for commands assumed answered */

	/* commands waiting for replies, oldest first (ring) */
	struct smtp_pending *queue;
	size_t q_head, q_len, q_cap;

	/* transactions */
	struct smtp_txn *txns[SMTP_MAX_TXNS];
	struct smtp_txn *cur;    /* the client's open transaction, or NULL */
	struct smtp_txn *spare;  /* released, kept with its recipients' array: no malloc */
	uint32_t next_txn;
	bool overflow_signalled;

	/* the server's open transaction, as its replies show: the MAIL it accepted */
	bool srv_mail;
	struct sl_envelope srv_env; /* mail_from and MAIL parameters only */

	/* session facts copied into each new envelope */
	char helo[SL_HELO_MAX];
	char auth_user[SL_ADDR_MAX];
	char auth_candidate[SL_ADDR_MAX]; /* identity of an AUTH not answered yet */
	uint8_t auth_mech;                /* enum smtp_auth_mech of the AUTH in progress */
	unsigned auth_step;               /* client responses sent for it so far */
};

/* session.c: events and shared helpers */
void smtp_emit(struct sl_smtp *s, struct sl_event *ev);
/* The session cannot go on: records why (the signal is raised once, by smtp_fail_settle
 * or at MESSAGE_END); everything stops at its next check. */
void smtp_fail(struct sl_smtp *s, enum sl_signal sig, const char *why);
/* Out of memory or failed: nothing more may be interpreted. */
static inline bool smtp_stopped(const struct sl_smtp *s)
{
	return s->failed || s->mem.failed;
}
/* Raises the failure's signal (once), inside the message in progress if any. */
void smtp_fail_announce(struct sl_smtp *s);
/* Waiting for a reply, or (inline) for room in the command queue. */
static inline bool smtp_waiting(const struct sl_smtp *s)
{
	return s->c_wait || s->c_full;
}
/* Whether the engine may take a reply as given without seeing it: captures always,
 * inline sessions only once the connection is closing. */
static inline bool smtp_may_assume(const struct sl_smtp *s)
{
	return !s->lim.inline_mode || s->closing;
}
/* Inline: room for one more command (a queue entry and a transaction slot). */
bool smtp_cmd_room(const struct sl_smtp *s);
void smtp_signal(struct sl_smtp *s, enum sl_signal sig, uint64_t off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
uint32_t smtp_txn_now(const struct sl_smtp *s);
void smtp_copy_str(char *dst, size_t cap, const uint8_t *p, size_t n);
bool smtp_queue_push(struct sl_smtp *s, const struct smtp_pending *p);
struct smtp_txn *smtp_txn_new(struct sl_smtp *s);
int smtp_txn_slot(const struct sl_smtp *s, const struct smtp_txn *t);
struct smtp_txn *smtp_txn_clone(struct sl_smtp *s, const struct smtp_txn *t);
void smtp_txn_release(struct sl_smtp *s, struct smtp_txn *t);
bool smtp_txn_add_rcpt(struct sl_smtp *s, struct smtp_txn *t, const char *addr, uint32_t *idx);
void smtp_txn_result(struct sl_smtp *s, struct smtp_txn *t, int code, uint64_t off);
void smtp_resolve_unknown(struct sl_smtp *s, const struct smtp_pending *p, bool assumed);
void smtp_drain_held(struct sl_smtp *s);
void smtp_set_encrypted(struct sl_smtp *s);

/* line.c: capped line accumulation */
void smtp_line_free(struct sl_mem *mem, struct smtp_line *l);
/* Appends bytes of the current line; returns false when the cap was crossed just now.
 * Out of memory: the bytes are dropped and mem is marked failed. */
bool smtp_line_add(struct sl_mem *mem, struct smtp_line *l, const uint8_t *p, size_t n,
                   uint64_t off, size_t max);
void smtp_line_reset(struct sl_mem *mem, struct smtp_line *l);
size_t smtp_line_memory(const struct smtp_line *l);

/* message.c: content of a transaction */
void smtp_msg_begin(struct sl_smtp *s, struct smtp_txn *t, bool bdat);
void smtp_msg_raw(struct sl_smtp *s, const uint8_t *p, size_t n);
void smtp_msg_end(struct sl_smtp *s, uint64_t end_off);
void smtp_msg_abort(struct sl_smtp *s, uint64_t end_off, const char *why);
void smtp_data_release_cr(struct sl_smtp *s);
size_t smtp_data_run(struct sl_smtp *s, const uint8_t *p, size_t n);
size_t smtp_bdat_run(struct sl_smtp *s, const uint8_t *p, size_t n);

/* command.c: client command lines */
size_t smtp_cmd_run(struct sl_smtp *s, const uint8_t *p, size_t n);

/* reply.c: server reply lines */
void smtp_server_run(struct sl_smtp *s, const uint8_t *p, size_t n);

#endif
