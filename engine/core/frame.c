#include "sluice/frame.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t k = send(fd, b, n, MSG_NOSIGNAL);
		if (k < 0 && errno == ENOTSOCK)
			k = write(fd, b, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

int sl_frame_write(int fd, const char *json, size_t json_len, const void *body, size_t body_len)
{
	if (json_len > SL_FRAME_JSON_MAX || body_len > SL_FRAME_BODY_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	uint8_t hdr[8];
	for (int i = 0; i < 4; i++) {
		hdr[i] = (uint8_t)(json_len >> (24 - 8 * i));
		hdr[4 + i] = (uint8_t)(body_len >> (24 - 8 * i));
	}
	if (write_all(fd, hdr, sizeof hdr) || write_all(fd, json, json_len))
		return -1;
	return body_len ? write_all(fd, body, body_len) : 0;
}

/* Read exactly n bytes; *got tells how many came before an error or the end. */
static int read_all(int fd, void *p, size_t n, int timeout_ms, size_t *got)
{
	uint8_t *b = p;
	*got = 0;
	while (*got < n) {
		if (timeout_ms >= 0) {
			struct pollfd pfd = {.fd = fd, .events = POLLIN};
			int r = poll(&pfd, 1, timeout_ms);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return -1;
			if (r == 0) {
				errno = ETIMEDOUT;
				return -1;
			}
		}
		ssize_t k = read(fd, b + *got, n - *got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		if (k == 0) {
			errno = ECONNRESET;
			return -1;
		}
		*got += (size_t)k;
	}
	return 0;
}

/* A buffer of `want` bytes read as they arrive: it grows with what actually came, so a
 * claimed length alone never makes us allocate it. */
static uint8_t *read_grown(int fd, size_t want, int timeout_ms)
{
	size_t cap = want < 65536 ? want : 65536, have = 0;
	uint8_t *b = malloc(cap + 1);
	while (b) {
		size_t got;
		if (read_all(fd, b + have, cap - have, timeout_ms, &got) != 0)
			break;
		have = cap;
		if (have == want) {
			b[have] = 0;
			return b;
		}
		cap = cap * 2 < want ? cap * 2 : want;
		uint8_t *nb = realloc(b, cap + 1);
		if (!nb)
			break;
		b = nb;
	}
	int e = b ? errno : ENOMEM;
	free(b);
	errno = e;
	return NULL;
}

int sl_frame_read(int fd, struct sl_frame *f, int timeout_ms)
{
	memset(f, 0, sizeof *f);
	uint8_t hdr[8];
	size_t got;
	if (read_all(fd, hdr, sizeof hdr, timeout_ms, &got) != 0)
		return got == 0 && errno == ECONNRESET ? 1 : -1;
	uint32_t jl = 0, bl = 0;
	for (int i = 0; i < 4; i++) {
		jl = jl << 8 | hdr[i];
		bl = bl << 8 | hdr[4 + i];
	}
	if (jl == 0 || jl > SL_FRAME_JSON_MAX || bl > SL_FRAME_BODY_MAX) {
		errno = EPROTO;
		return -1;
	}
	f->json = (char *)read_grown(fd, jl, timeout_ms);
	if (!f->json)
		return -1;
	f->json_len = jl;
	if (memchr(f->json, 0, jl)) {
		sl_frame_free(f);
		errno = EPROTO;
		return -1;
	}
	if (bl) {
		f->body = read_grown(fd, bl, timeout_ms);
		if (!f->body) {
			int e = errno;
			sl_frame_free(f);
			errno = e;
			return -1;
		}
		f->body_len = bl;
	}
	return 0;
}

void sl_frame_free(struct sl_frame *f)
{
	free(f->json);
	free(f->body);
	memset(f, 0, sizeof *f);
}
