/* The SMTP session: fed the two byte streams of one TCP connection in any chunking,
 * it follows commands and replies (PIPELINING, BDAT, STARTTLS, ...), builds envelopes,
 * un-stuffs DATA, drives a MIME parser per message, and emits sluice/event.h events.
 * No DPDK, no I/O: the caller owns the bytes and the clock. */
#ifndef SLUICE_SMTP_H
#define SLUICE_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sluice/event.h"
#include "sluice/limits.h"

enum sl_stream {
	SL_CLIENT, /* client to server */
	SL_SERVER, /* server to client */
};

struct sl_smtp;

/* lim may be NULL for the defaults. The callback gets every event of the session. */
struct sl_smtp *sl_smtp_new(const struct sl_limits *lim, sl_event_fn fn, void *ctx);
void sl_smtp_free(struct sl_smtp *s);

/* Addresses the caller knows (copied into every envelope); either may be NULL. */
void sl_smtp_set_endpoints(struct sl_smtp *s, const struct sockaddr *client,
                           const struct sockaddr *server);

/* Feed the next bytes of one stream. Events fire from inside this call. */
void sl_smtp_feed(struct sl_smtp *s, enum sl_stream dir, const uint8_t *p, size_t n);

/* n bytes of a stream are missing (capture loss); the session resynchronises. */
void sl_smtp_gap(struct sl_smtp *s, enum sl_stream dir, size_t n);

/* The connection ended (FIN/RST or end of capture): client bytes still waiting for a
 * reply are interpreted as if it had come (DATA 354; smtp.reply_assumed), a message the
 * client had not finished raises smtp.incomplete and ends with MESSAGE_END, and every
 * message still without a TXN_RESULT gets one with code 0 (no reply seen). */
void sl_smtp_close(struct sl_smtp *s);

/* Bytes of the client stream an inline device may forward. Bytes after this offset are
 * held because their meaning depends on a reply not yet seen (data sent before 354), or
 * because they may end the message: a dot after a line break until the next bytes
 * settle it, and everything after a smuggling variant until MESSAGE_END (see
 * docs/engine-smtp.md). Never decreases. */
uint64_t sl_smtp_client_consumed(const struct sl_smtp *s);

/* True once STARTTLS was accepted and TLS records were seen: content is opaque. */
bool sl_smtp_encrypted(const struct sl_smtp *s);

/* Approximate heap bytes held by this session (for memory caps and telemetry). */
size_t sl_smtp_memory(const struct sl_smtp *s);

#endif
