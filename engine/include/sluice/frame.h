/* The control channel's framing (docs/control.md), shared by sluice-control, sluicectl
 * and sluice-dp: each message is
 *
 *   u32 json_len | u32 body_len (both big-endian) | json_len bytes: one JSON object |
 *   body_len bytes: a binary body (a bundle), often none
 *
 * over a Unix stream socket (or, on paper, a TLS stream). Lengths over the caps end the
 * connection: nobody allocates what a peer merely claims. */
#ifndef SLUICE_FRAME_H
#define SLUICE_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define SL_FRAME_JSON_MAX (1u << 20)
#define SL_FRAME_BODY_MAX (256u << 20)

struct sl_frame {
	char *json;          /* NUL-terminated */
	size_t json_len;
	uint8_t *body;       /* NULL when body_len is 0 */
	size_t body_len;
};

/* Write one whole frame (EINTR and short writes handled; SIGPIPE is the caller's:
 * MSG_NOSIGNAL is used on sockets). 0, or -1 with errno set. */
int sl_frame_write(int fd, const char *json, size_t json_len, const void *body, size_t body_len);

/* Read one frame. timeout_ms bounds the wait for each piece (-1: no bound). Returns 0
 * (free with sl_frame_free), 1 at a clean end of stream before the first byte, -1 on
 * error with errno: EPROTO (a length over its cap, or a JSON part with a NUL byte),
 * ETIMEDOUT, ECONNRESET (the stream ended inside a frame), ENOMEM, or the read's own. */
int sl_frame_read(int fd, struct sl_frame *f, int timeout_ms);

void sl_frame_free(struct sl_frame *f);

#endif
