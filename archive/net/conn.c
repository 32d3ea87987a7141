/* Buffered socket reading and listening sockets. */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void ar_conn_init(struct ar_conn *c, int fd)
{
	c->fd = fd;
	c->start = c->end = 0;
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
	for (;;) {
		ssize_t r = read(c->fd, c->buf + c->end, sizeof c->buf - c->end);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c->end += (size_t)r;
		return 0;
	}
}

int ar_conn_read(struct ar_conn *c, void *p, size_t n)
{
	uint8_t *o = p;
	while (n) {
		if (c->start == c->end && fill(c) < 0)
			return -1;
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

bool ar_conn_pending(struct ar_conn *c)
{
	if (c->start < c->end)
		return true;
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	return poll(&p, 1, 0) == 1;
}

int ar_conn_write(struct ar_conn *c, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t w = write(c->fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

int ar_listen(const char *addr, char *err, size_t errlen)
{
	char host[256];
	const char *colon = strrchr(addr, ':');
	if (!colon) {
		snprintf(err, errlen, "%s: want ADDR:PORT", addr);
		return -1;
	}
	size_t hl = (size_t)(colon - addr);
	const char *h = addr;
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl >= sizeof host) {
		snprintf(err, errlen, "%s: host too long", addr);
		return -1;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res;
	int g = getaddrinfo(hl ? host : NULL, colon + 1, &hints, &res);
	if (g) {
		snprintf(err, errlen, "%s: %s", addr, gai_strerror(g));
		return -1;
	}
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 128) < 0) {
		snprintf(err, errlen, "listen %s: %s", addr, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

void ar_sockaddr_str(const struct sockaddr *sa, char *out, size_t n)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof ip);
		snprintf(out, n, "%s:%u", ip, ntohs(s4->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip);
		snprintf(out, n, "[%s]:%u", ip, ntohs(s6->sin6_port));
	} else {
		snprintf(out, n, "unknown");
	}
}
