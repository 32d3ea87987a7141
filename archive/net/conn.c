/* Buffered connection I/O with deadlines, in the clear or over TLS. The socket is
 * non-blocking: every wait is a poll bounded by the idle timeout and by the
 * connection's deadline, so a peer that stops talking (or reading) costs a slot for at
 * most that long. */
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

uint64_t ar_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void ar_conn_init(struct ar_conn *c, int fd, int idle_ms, int phase_ms)
{
	c->fd = fd;
	c->ssl = NULL;
	c->start = c->end = 0;
	c->idle_ms = idle_ms;
	c->deadline_ms = ar_now_ms() + (uint64_t)phase_ms;
	c->timed_out = false;
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

void ar_conn_set_deadline(struct ar_conn *c, int ms)
{
	c->deadline_ms = ar_now_ms() + (uint64_t)ms;
}

/* Wait for the socket to become readable (POLLIN) or writable; false at the idle
 * timeout, the deadline, or an error. */
static bool wait_io(struct ar_conn *c, short events)
{
	for (;;) {
		uint64_t now = ar_now_ms();
		if (now >= c->deadline_ms) {
			c->timed_out = true;
			return false;
		}
		uint64_t left = c->deadline_ms - now;
		int ms = left < (uint64_t)c->idle_ms ? (int)left : c->idle_ms;
		struct pollfd p = { .fd = c->fd, .events = events };
		int r = poll(&p, 1, ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			c->timed_out = true;
		return r > 0;
	}
}

/* One TLS operation's outcome: 1 retry after waiting, 0 done (eof), -1 error. */
static int tls_retry(struct ar_conn *c, int r)
{
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		return wait_io(c, POLLIN) ? 1 : -1;
	case SSL_ERROR_WANT_WRITE:
		return wait_io(c, POLLOUT) ? 1 : -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	default:
		ERR_clear_error();
		return -1;
	}
}

/* Some bytes into p: their count, 0 on EOF, -1 on error or timeout. */
static ssize_t raw_read(struct ar_conn *c, void *p, size_t n)
{
	for (;;) {
		if (c->ssl) {
			int r = SSL_read(c->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
			if (r > 0)
				return r;
			int t = tls_retry(c, r);
			if (t <= 0)
				return t;
			continue;
		}
		ssize_t r = read(c->fd, p, n);
		if (r >= 0)
			return r;
		if (errno == EINTR)
			continue;
		if ((errno != EAGAIN && errno != EWOULDBLOCK) || !wait_io(c, POLLIN))
			return -1;
	}
}

static int fill(struct ar_conn *c)
{
	if (c->start == c->end)
		c->start = c->end = 0;
	if (c->end == sizeof c->buf) {
		memmove(c->buf, c->buf + c->start, c->end - c->start);
		c->end -= c->start;
		c->start = 0;
	}
	ssize_t r = raw_read(c, c->buf + c->end, sizeof c->buf - c->end);
	if (r <= 0)
		return -1;
	c->end += (size_t)r;
	return 0;
}

int ar_conn_read(struct ar_conn *c, void *p, size_t n)
{
	uint8_t *o = p;
	while (n) {
		if (c->start == c->end) {
			/* a large read goes straight to its destination */
			if (n >= sizeof c->buf) {
				ssize_t r = raw_read(c, o, n);
				if (r <= 0)
					return -1;
				o += r;
				n -= (size_t)r;
				continue;
			}
			if (fill(c) < 0)
				return -1;
		}
		size_t k = c->end - c->start < n ? c->end - c->start : n;
		memcpy(o, c->buf + c->start, k);
		c->start += k;
		o += k;
		n -= k;
	}
	return 0;
}

ssize_t ar_conn_line(struct ar_conn *c, char *out, size_t max)
{
	size_t n = 0;
	bool overflow = false;
	for (;;) {
		if (c->start == c->end && fill(c) < 0)
			return n && !overflow ? (ssize_t)n : overflow ? -1 : 0;
		uint8_t ch = c->buf[c->start++];
		if (n < max)
			out[n++] = (char)ch;
		else
			overflow = true;
		if (ch == '\n')
			return overflow ? -1 : (ssize_t)n;
	}
}

bool ar_conn_buffered(const struct ar_conn *c)
{
	return c->start < c->end || (c->ssl && SSL_pending(c->ssl) > 0);
}

bool ar_conn_pending(struct ar_conn *c)
{
	if (ar_conn_buffered(c))
		return true;
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	return poll(&p, 1, 0) == 1;
}

int ar_conn_write(struct ar_conn *c, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		if (c->ssl) {
			int w = SSL_write(c->ssl, b, n > INT32_MAX ? INT32_MAX : (int)n);
			if (w > 0) {
				b += w;
				n -= (size_t)w;
			} else if (tls_retry(c, w) <= 0) {
				return -1;
			}
			continue;
		}
		ssize_t w = write(c->fd, b, n);
		if (w > 0) {
			b += w;
			n -= (size_t)w;
		} else if (w < 0 && errno == EINTR) {
			continue;
		} else if (w == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) ||
			   !wait_io(c, POLLOUT)) {
			return -1;
		}
	}
	return 0;
}

/* SSL_accept or SSL_connect to completion, every wait bounded. */
static int handshake(struct ar_conn *c, int (*step)(SSL *), char *err, size_t errlen)
{
	for (;;) {
		int r = step(c->ssl);
		if (r == 1)
			return 0;
		int e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			if (wait_io(c, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT))
				continue;
			snprintf(err, errlen, "TLS handshake timed out");
			return -1;
		}
		unsigned long code = ERR_get_error();
		long v = SSL_get_verify_result(c->ssl);
		if (v != X509_V_OK)
			snprintf(err, errlen, "TLS: peer certificate refused: %s",
				X509_verify_cert_error_string(v));
		else if (code)
			snprintf(err, errlen, "TLS handshake failed: %s", ERR_reason_error_string(code));
		else
			snprintf(err, errlen, "TLS handshake failed (connection closed)");
		ERR_clear_error();
		return -1;
	}
}

int ar_conn_tls_accept(struct ar_conn *c, SSL_CTX *ctx, char *err, size_t errlen)
{
	if (c->start != c->end) {
		/* bytes sent in the clear after STARTTLS, before the handshake: an
		 * injection attempt (they would be taken as if sent under TLS) */
		snprintf(err, errlen, "clear-text bytes pipelined before the TLS handshake");
		return -1;
	}
	c->ssl = SSL_new(ctx);
	if (!c->ssl || !SSL_set_fd(c->ssl, c->fd)) {
		snprintf(err, errlen, "TLS: out of memory");
		return -1;
	}
	return handshake(c, SSL_accept, err, errlen);
}

int ar_conn_tls_connect(struct ar_conn *c, SSL_CTX *ctx, const char *name, char *err,
	size_t errlen)
{
	if (c->start != c->end) {
		/* bytes the server sent before the handshake would be read as if under TLS */
		snprintf(err, errlen, "clear-text bytes from the server before the TLS handshake");
		return -1;
	}
	c->ssl = SSL_new(ctx);
	if (!c->ssl || !SSL_set_fd(c->ssl, c->fd) || !SSL_set_tlsext_host_name(c->ssl, name) ||
	    !SSL_set1_host(c->ssl, name)) {
		snprintf(err, errlen, "TLS: out of memory");
		return -1;
	}
	return handshake(c, SSL_connect, err, errlen);
}

void ar_conn_close(struct ar_conn *c)
{
	if (c->ssl) {
		SSL_shutdown(c->ssl); /* best effort: close_notify, no waiting */
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}
