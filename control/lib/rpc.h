/* Requests and answers on a control socket (docs/control.md): one JSON object (jansson)
 * and an optional binary body per frame (sluice/frame.h). Every request carries "op" and
 * an integer "req"; its answer echoes "req" and says "ok": true, or false with "error". */
#ifndef SLUICE_CONTROL_RPC_H
#define SLUICE_CONTROL_RPC_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Send one message. 0, or -1 with err (the peer is gone, or the JSON could not be made). */
int rpc_send(int fd, const json_t *msg, const void *body, size_t body_len, char *err, size_t errlen);

/* Receive one message: *msg is a JSON object (decref it), *body NULL or malloc'd (free
 * it). timeout_ms bounds each wait (-1: none). 0; 1 at a clean end of the stream; -1
 * with err (ETIMEDOUT in errno when the peer said nothing in time). */
int rpc_recv(int fd, json_t **msg, uint8_t **body, size_t *body_len, int timeout_ms,
             char *err, size_t errlen);

/* Send `req` (its "req" set from *seq, which is advanced) and wait for the answer with the
 * same "req". The answer (ok or not), or NULL with err when the exchange failed. A body
 * that came with it goes to *abody and *ablen when those are given, and is freed otherwise. */
json_t *rpc_call(int fd, uint64_t *seq, json_t *req, const void *body, size_t body_len,
                 int timeout_ms, uint8_t **abody, size_t *ablen, char *err, size_t errlen);

/* An answer to `req`: {"req": its req, "ok": true} (add fields to it), or
 * {"req", "ok": false, "error": text}. */
json_t *rpc_ok(const json_t *req);
json_t *rpc_error(const json_t *req, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A JSON string of any C string: bytes that are not UTF-8 become '?', so a message quoting
 * a user's file can always be sent. NULL gives JSON null. */
json_t *rpc_str(const char *s);

/* The answer's "error" text, or a fallback when it has none. */
const char *rpc_error_text(const json_t *answer);

#endif
