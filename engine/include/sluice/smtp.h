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
#include "sluice/memacct.h"

enum sl_stream {
	SL_CLIENT, /* client to server */
	SL_SERVER, /* server to client */
};

struct sl_smtp;

/* lim may be NULL for the defaults. The callback gets every event of the session.
 * NULL when out of memory. */
struct sl_smtp *sl_smtp_new(const struct sl_limits *lim, sl_event_fn fn, void *ctx);
/* The same, with every heap byte of the session and its MIME parser charged to acct
 * (copied; NULL: no account) when it is allocated, the session itself included
 * (sluice/memacct.h). NULL when the account refuses the session's first bytes. */
struct sl_smtp *sl_smtp_new_acct(const struct sl_limits *lim, sl_event_fn fn, void *ctx,
                                 const struct sl_memacct *acct);
/* Releases everything to the account. */
void sl_smtp_free(struct sl_smtp *s);

/* The session as sl_smtp_new_acct made it (same limits and account), for another
 * connection, its events to fn/ctx: what the last connection left (transactions, held
 * bytes, the MIME parser's state and what its messages grew) is freed, the session and
 * its parser are kept, so that a caller with many short connections (the dataplane)
 * does not make both anew for each. Kept too, still charged to the session: its two
 * line buffers (up to 1 KiB each), one released transaction with room for up to 16
 * recipients and the parser's four shallowest MIME frames with their boundary and
 * filename buffers; the parser's charset converters go to the thread's stash, uncharged.
 * Endpoints are cleared. False for a failed session (sl_smtp_failed) or without memory
 * for the start: free it. */
bool sl_smtp_reset(struct sl_smtp *s, sl_event_fn fn, void *ctx);

/* Where a session's events go (a session reset with no callback, taken by its next
 * connection). */
void sl_smtp_set_events(struct sl_smtp *s, sl_event_fn fn, void *ctx);

/* Moves the session's charges to another account: everything it holds
 * (sl_smtp_memory) is released to the current one and charged to acct (NULL: none).
 * False when acct refuses: the session is then charged to no account (free it, or try
 * another). */
bool sl_smtp_set_acct(struct sl_smtp *s, const struct sl_memacct *acct);

/* Addresses the caller knows (copied into every envelope); either may be NULL. */
void sl_smtp_set_endpoints(struct sl_smtp *s, const struct sockaddr *client,
                           const struct sockaddr *server);

/* Feed the next bytes of one stream. Events fire from inside this call. Inline
 * (sl_limits.inline_mode), feed at most sl_smtp_client_room() client bytes. */
void sl_smtp_feed(struct sl_smtp *s, enum sl_stream dir, const uint8_t *p, size_t n);

/* How many more client bytes the session can take in one feed without assuming a reply:
 * what it can still hold, max_pending minus the bytes it holds (0 when full). A wait for
 * a reply (to DATA, AUTH, STARTTLS, or inline for room in the command queue) can begin
 * at any byte of a feed, and the rest of that feed is then held, so this is the bound
 * whether or not the session waits now. SIZE_MAX once nothing is interpreted any more
 * (TLS, failed, closed). An inline device feeds at most this much, keeps the rest in its
 * own buffers (TCP back-pressure) and feeds it after server bytes arrived. Fed beyond
 * it, a capture session assumes the reply (smtp.pending_overflow, smtp.reply_assumed);
 * an inline one fails instead (smtp.pending_overflow, sl_smtp_failed()). */
size_t sl_smtp_client_room(const struct sl_smtp *s);

/* True once the session failed: out of memory (signal engine.memory; the account
 * refused or malloc failed), or inline bytes that could only be read by assuming a
 * reply (smtp.pending_overflow, smtp.gap). The signal is raised once, inside the message
 * in progress if there is one; that message then ends (MESSAGE_END, TXN_RESULT code 0,
 * no further MIME events), every ended message still without a result gets TXN_RESULT
 * code 0, and nothing more is interpreted: feed, gap and close do nothing. The caller
 * decides what the connection gets (the dataplane: its overload policy). */
bool sl_smtp_failed(const struct sl_smtp *s);

/* n bytes of a stream are missing (capture loss); the session resynchronises. Inline,
 * a client hole while bytes wait for a reply fails the session (smtp.gap). */
void sl_smtp_gap(struct sl_smtp *s, enum sl_stream dir, size_t n);

/* The connection ended (FIN/RST or end of capture): client bytes still waiting for a
 * reply are interpreted as if it had come (DATA 354; smtp.reply_assumed), a message the
 * client had not finished raises smtp.incomplete and ends with MESSAGE_END, and every
 * message still without a TXN_RESULT gets one with code 0 (no reply seen). Inline
 * sessions assume here too: nothing is forwarded after the close. */
void sl_smtp_close(struct sl_smtp *s);

/* Bytes of the client stream an inline device may forward. Bytes after this offset are
 * held because their meaning depends on a reply not yet seen (data sent before 354), or
 * because they may end the message: a dot after a line break until the next bytes
 * settle it, and everything after a smuggling variant until MESSAGE_END (see
 * docs/engine-smtp.md). Never decreases. */
uint64_t sl_smtp_client_consumed(const struct sl_smtp *s);

/* Bytes of the client command line read so far, its LF not yet seen (0 when no line is
 * open, or the client stream carries message content; SIZE_MAX once the line is over
 * the max_line cap). The dataplane closes sessions whose lines grow past its own limit
 * (docs/protection.md). */
size_t sl_smtp_command_line_len(const struct sl_smtp *s);

/* True once STARTTLS was accepted and TLS records were seen: content is opaque. */
bool sl_smtp_encrypted(const struct sl_smtp *s);

/* Heap bytes this session and its MIME parser hold now, the session struct included:
 * exactly what is charged to its account (iconv descriptors by their documented
 * estimate, sluice/memacct.h). */
size_t sl_smtp_memory(const struct sl_smtp *s);

#endif
