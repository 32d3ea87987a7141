/* Where finished messages go: the journal hook (directory sink, archive sink) and the
 * offline dump share one interface. A message's raw bytes are streamed to the sink as
 * they arrive (begin, write...), so nothing holds a whole message in memory; the
 * verdict and the server's answer come with commit. No DPDK. */
#ifndef SLUICE_DP_SINK_H
#define SLUICE_DP_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sluice/envelope.h"
#include "sluice/policy.h"

enum dp_msg_outcome {
	DP_MSG_DELIVERED,    /* passed and the server accepted it (2xx) */
	DP_MSG_UNANSWERED,   /* passed; the server's reply never seen (capture cut, close) */
	DP_MSG_REFUSED,      /* passed, but the server refused it */
	DP_MSG_QUARANTINED,  /* held back from the server by policy, client told 250 */
	DP_MSG_REJECTED,     /* held back from the server by policy (reject/tempfail) */
};

struct dp_msg_meta {
	const struct sl_envelope *env;
	const char *client, *server;      /* "192.0.2.1:25", "[2001:db8::1]:25" */
	enum sl_action action;
	enum sl_direction direction;      /* as the policy decided (UNKNOWN without one) */
	const char *verdict_json;         /* exactly what sl_verdict_json wrote */
	const char *const *rules;         /* ids of the rules that fired */
	size_t nrules;
	enum dp_msg_outcome outcome;
	int server_code;                  /* 0 when unknown */
	const char *server_text;          /* "2.0.0 Ok: queued" (NULL when unknown) */
	uint64_t bytes;                   /* raw message length */
	uint64_t bundle_id;               /* the rule bundle that judged it (0: none or at start) */
	const char *bundle_digest;        /* its digest's first 16 hex digits ("" without rules) */
	bool truncated;                   /* the sink could not take every byte */
	size_t reserved;                  /* room reserve_room promised for it (0: none);
	                                   * commit uses it or gives it back */
};

/* commit's answer when the message only went into a queue (sinkqueue.h): whoever
 * empties the queue counts the outcome. */
#define DP_SINK_QUEUED 2

struct dp_sink_ops {
	/* A message starts; returns its handle (NULL: this sink skips it). */
	void *(*begin)(void *sink);
	/* Raw message bytes (dot-unstuffed), in order. */
	void (*write)(void *sink, void *msg, const uint8_t *p, size_t n);
	/* The message's outcome is known; the handle is finished. 1 when the sink kept the
	 * message, 0 when it does not keep messages with this outcome (a journal keeps no
	 * rejected or refused message), -1 on failure (a truncated message is one), or
	 * DP_SINK_QUEUED. */
	int (*commit)(void *sink, void *msg, const struct dp_msg_meta *meta);
	void (*free)(void *sink);
	/* Optional ([journal] required): before the message is let through, room for a
	 * durable copy of it (`bytes` long), held with the handle until commit. true when
	 * the sink can keep it. NULL: the sink cannot promise (never asked). */
	bool (*reserve)(void *sink, void *msg, uint64_t bytes);
	/* Optional, thread-safe and without a handle (the queued sink promises on the
	 * worker while the message is written on the sink thread): room for a message of
	 * `bytes`, as a size to hand to commit in meta.reserved or to release_room; 0: no
	 * room. */
	size_t (*reserve_room)(void *sink, uint64_t bytes);
	void (*release_room)(void *sink, size_t room);
};

struct dp_sink {
	const struct dp_sink_ops *ops;
	void *impl;
};

/* "ip:port" text of a socket address ("[v6]:port"); "" when unknown. */
void dp_addr_text(const struct sockaddr_storage *ss, char *out, size_t len);

/* The verdict of a message no policy looked at. */
const struct sl_verdict *dp_pass_verdict(void);

/* "helo":..,"mail_from":..,"<rcpt_key>":[..] (counted recipients only), no braces. */
void dp_envelope_fields_json(const struct sl_envelope *env, const char *rcpt_key, struct sl_strbuf *out);
/* {"helo":..,"mail_from":..,"rcpt":[..],"bdat":..} (counted recipients only). */
void dp_envelope_json(const struct sl_envelope *env, struct sl_strbuf *out);

const char *dp_outcome_name(enum dp_msg_outcome o);

#endif
