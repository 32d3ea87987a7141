/* The SMTP envelope of one transaction, as the SMTP session has seen it so far. */
#ifndef SLUICE_ENVELOPE_H
#define SLUICE_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SL_ADDR_MAX 512   /* RFC 5321 path limit is 256; keep room for odd senders */
#define SL_HELO_MAX 256

enum sl_rcpt_status {
	SL_RCPT_PENDING,  /* reply not seen yet (pipelining, or capture cut off) */
	SL_RCPT_ACCEPTED, /* 2xx */
	SL_RCPT_REFUSED,  /* 4xx/5xx */
};

struct sl_rcpt {
	char addr[SL_ADDR_MAX];   /* the path without <>, as sent */
	enum sl_rcpt_status status;
	int reply_code;
};

enum sl_direction {
	SL_DIR_UNKNOWN,
	SL_DIR_INBOUND,
	SL_DIR_OUTBOUND,
	SL_DIR_INTERNAL,
};

struct sl_endpoint {
	struct sockaddr_storage addr; /* ss_family AF_UNSPEC when unknown */
};

struct sl_envelope {
	char helo[SL_HELO_MAX];
	char mail_from[SL_ADDR_MAX];  /* "" for the null sender <> */
	bool body_8bitmime;
	bool smtputf8;
	uint64_t size_param;          /* MAIL FROM SIZE=, 0 when absent */
	bool bdat;                    /* content came by BDAT rather than DATA */
	bool tls;                     /* the session is encrypted (content not inspectable) */
	char auth_user[SL_ADDR_MAX];  /* AUTH identity when visible, else "" */
	size_t nrcpt;
	struct sl_rcpt *rcpt;         /* every RCPT the client sent in this transaction */
	struct sl_endpoint client, server; /* set by the caller, see sl_smtp_set_endpoints */
	enum sl_direction direction;  /* decided by the policy; engine leaves UNKNOWN */
};

/* Recipients that count for the message: accepted, or pending when the reply is not
 * known yet. Refused ones never count. */
static inline bool sl_rcpt_counts(const struct sl_rcpt *r)
{
	return r->status != SL_RCPT_REFUSED;
}

const char *sl_direction_name(enum sl_direction d);

#endif
