/* The SMTP server application behind the modelled Linux receiver in fuzz_dp_stream: a
 * small Postfix 3.7 (smtpd_forbid_bare_newline = no, Debian's default, as in the lab)
 * that reads the bytes its socket delivers and answers them, so that what the server
 * says and what it reads agree, whatever the fuzzer makes of the TCP segments.
 *
 * What it follows of Postfix: lines end at LF and trailing CRs are stripped (so a
 * line "." ends DATA after LF or CRLF, and ".\r\r\n" too); a leading dot is removed
 * from a DATA line; commands are read one line at a time, in order, whatever was
 * pipelined; DATA needs MAIL and RCPT; BDAT n [LAST] reads its n bytes whatever the
 * answer; STARTTLS answered 220 switches to TLS (nothing more is read as SMTP); QUIT
 * answers 221 and closes; 20 erroneous commands close with 421. Whether MAIL, RCPT,
 * DATA, the end of data, a BDAT chunk or STARTTLS is accepted comes from a tape of
 * decisions the fuzzer fills (accept when it is empty).
 *
 * A message is "committed" when its end was read (the "." line, or the last byte of a
 * BDAT LAST chunk of a transaction nothing refused): Postfix has it whole then and
 * queues it before it answers, whatever happens to the connection afterwards. */
#ifndef SLUICE_SMTP_SERVER_MODEL_H
#define SLUICE_SMTP_SERVER_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sluice/strbuf.h"

struct ssm_ops {
	void (*reply)(void *arg, const char *text, size_t n); /* bytes the server sends */
	/* a committed message: its content as read (dot-unstuffed, line ends kept) */
	void (*commit)(void *arg, const uint8_t *msg, size_t n);
	void (*close)(void *arg);                              /* the server closes */
	void *arg;
};

enum ssm_mode {
	SSM_IDLE,     /* no connection */
	SSM_COMMAND,
	SSM_DATA,
	SSM_CHUNK,    /* inside a BDAT chunk */
	SSM_TLS,      /* after STARTTLS 220: bytes are TLS, not SMTP */
	SSM_CLOSED,   /* after QUIT, EOF or too many errors: reads nothing more */
};

struct ssm {
	enum ssm_mode mode;
	bool mail, rcpt, chunk_refused;
	struct sl_strbuf line;       /* the line being read */
	struct sl_strbuf msg;        /* the message being read */
	uint64_t chunk_left;
	bool chunk_last;
	unsigned errors;
	uint8_t tape[64];            /* decisions: nonzero = refuse */
	unsigned tape_head, tape_len;
	struct ssm_ops ops;
	unsigned committed;          /* messages committed, all connections */
	size_t tls_at;               /* the last ssm_input: where TLS began in its bytes */
};

void ssm_init(struct ssm *m, const struct ssm_ops *ops);
void ssm_free(struct ssm *m);
/* A connection was accepted: the greeting. */
void ssm_open(struct ssm *m);
/* Bytes the socket delivered, in order. When they switch the session to TLS, tls_at
 * says how many of them were SMTP. */
void ssm_input(struct ssm *m, const uint8_t *p, size_t n);
/* The client's FIN was read. */
void ssm_eof(struct ssm *m);
/* The connection was reset: the session is gone, an unfinished message with it. */
void ssm_reset(struct ssm *m);
/* Eight more decisions, bit 0 first (1 = refuse). */
void ssm_decide(struct ssm *m, uint8_t bits);

#endif
