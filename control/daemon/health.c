#include "health.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Wait for `events` on fd until the deadline: true when they came. */
static bool wait_for(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return false;
		struct pollfd p = {fd, events, 0};
		int r = poll(&p, 1, (int)left);
		if (r > 0)
			return true;
		if (r < 0 && errno != EINTR)
			return false;
	}
}

struct conn {
	int fd;
	int64_t deadline;
	char buf[1024];
	size_t len;
};

/* One reply (the last line of a multi-line one decides): its code, or -1 with err. */
static int reply(struct conn *c, const char *step, char *err, size_t errlen)
{
	for (;;) {
		char *nl;
		while ((nl = memchr(c->buf, '\n', c->len))) {
			size_t n = (size_t)(nl - c->buf) + 1;
			bool last = n >= 4 && c->buf[3] != '-';
			int code = n >= 4 && c->buf[0] >= '1' && c->buf[0] <= '5' ? (c->buf[0] - '0') * 100 +
			           (c->buf[1] - '0') * 10 + (c->buf[2] - '0') : -1;
			char line[128];
			snprintf(line, sizeof line, "%.*s", (int)(n > 100 ? 100 : n - 1), c->buf);
			memmove(c->buf, c->buf + n, c->len - n);
			c->len -= n;
			if (code < 0) {
				snprintf(err, errlen, "%s: not an SMTP reply: %s", step, line);
				return -1;
			}
			if (last)
				return code;
		}
		if (c->len == sizeof c->buf) {
			snprintf(err, errlen, "%s: a reply line longer than %zu bytes", step, sizeof c->buf);
			return -1;
		}
		if (!wait_for(c->fd, POLLIN, c->deadline)) {
			snprintf(err, errlen, "%s: no reply in time", step);
			return -1;
		}
		ssize_t r = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
		if (r <= 0) {
			snprintf(err, errlen, "%s: %s", step, r ? strerror(errno) : "connection closed");
			return -1;
		}
		c->len += (size_t)r;
	}
}

static int say(struct conn *c, const char *line, const char *step, char *err, size_t errlen)
{
	size_t n = strlen(line);
	if (!wait_for(c->fd, POLLOUT, c->deadline) || write(c->fd, line, n) != (ssize_t)n) {
		snprintf(err, errlen, "%s: cannot send", step);
		return -1;
	}
	return 0;
}

static int converse(struct conn *c, char *err, size_t errlen)
{
	int code = reply(c, "greeting", err, errlen);
	if (code < 0)
		return -1;
	if (code != 220) {
		snprintf(err, errlen, "greeting: %d instead of 220", code);
		return -1;
	}
	if (say(c, "EHLO sluice-control.invalid\r\n", "EHLO", err, errlen) ||
	    (code = reply(c, "EHLO", err, errlen)) < 0)
		return -1;
	if (code != 250) {
		snprintf(err, errlen, "EHLO: %d instead of 250", code);
		return -1;
	}
	/* a host that answers EHLO takes mail; its QUIT reply is a courtesy */
	if (say(c, "QUIT\r\n", "QUIT", err, errlen) == 0)
		reply(c, "QUIT", err, errlen);
	return 0;
}

int health_check_smtp(const char *addr, uint16_t port, int timeout_ms, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	socklen_t sl;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		sl = sizeof *a4;
	} else if (inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		sl = sizeof *a6;
	} else {
		snprintf(err, errlen, "'%s' is not an address", addr);
		return -1;
	}
	struct conn c = {.deadline = now_ms() + timeout_ms};
	c.fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c.fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	int rc = -1, soerr = 0;
	socklen_t len = sizeof soerr;
	if (connect(c.fd, (struct sockaddr *)&ss, sl) != 0 && errno != EINPROGRESS)
		snprintf(err, errlen, "connect: %s", strerror(errno));
	else if (!wait_for(c.fd, POLLOUT, c.deadline))
		snprintf(err, errlen, "connect: no answer in %d ms", timeout_ms);
	else if (getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 || soerr)
		snprintf(err, errlen, "connect: %s", strerror(soerr ? soerr : errno));
	else
		rc = converse(&c, err, errlen);
	close(c.fd);
	return rc;
}
