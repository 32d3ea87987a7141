/* connflood: a bounded connection flood for the lab (tests/lab/test-protect-flood.sh).
 *
 * Real TCP connections (the kernel's handshake) from one source address to an SMTP
 * server, opened at a capped rate and held open: each reads the greeting, says EHLO and
 * then sits idle, the way a bot army's connections tie up a mail server's processes.
 * What the other end answers is counted: the server's greeting (220), a refusal (421 or
 * 554 as the first line, from sluice-dp's responder), a reset or close. The rate, the
 * duration and the number held open are capped by the program itself, and it refuses
 * addresses outside 192.0.2.0/24, 198.51.100.0/24 and 203.0.113.0/24. At the end:
 *
 *   connflood: attempted A, connected C, greeted G, refused R, closed X, failed F in T s:
 *   R1 attempts/s; at most H held open
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_RATE 10000
#define MAX_SECONDS 120
#define MAX_OPEN 4096

struct conn {
	int fd;
	bool connected, greeted, said;
	char first[8];
	size_t nfirst;
};

struct stats {
	uint64_t attempted, connected, greeted, refused, closed, failed;
	unsigned open, max_open;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static bool documentation(uint32_t a)
{
	uint32_t net = a & 0xffffff00u;
	return net == 0xc0000200u || net == 0xc6336400u || net == 0xcb007100u;
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void usage(void)
{
	fprintf(stderr, "usage: connflood --src ADDR --dst ADDR [--dport PORT] --rate N --seconds S "
	        "[--max-open N]\nAddresses only in 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24; at "
	        "most %d connections/s for at most %d s, %d open.\n", MAX_RATE, MAX_SECONDS, MAX_OPEN);
	exit(2);
}

static void drop(int ep, struct conn *c, struct stats *st, uint64_t *counter)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	(*counter)++;
	st->open--;
	free(c);
}

/* Something happened on a connection: finish the handshake, read the first line. */
static void event(int ep, struct conn *c, uint32_t what, struct stats *st)
{
	if (!c->connected) {
		int err = 0;
		socklen_t len = sizeof err;
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			drop(ep, c, st, &st->failed);
			return;
		}
		c->connected = true;
		st->connected++;
		struct epoll_event e = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
		epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
		return;
	}
	char buf[2048];
	ssize_t n = read(c->fd, buf, sizeof buf);
	if (n <= 0 || (what & (EPOLLHUP | EPOLLERR))) {
		drop(ep, c, st, &st->closed);
		return;
	}
	for (ssize_t i = 0; i < n && c->nfirst < 4; i++)
		c->first[c->nfirst++] = buf[i];
	if (c->nfirst < 4 || c->greeted || c->said)
		return;
	if (memcmp(c->first, "220", 3) == 0) {
		c->greeted = true;
		st->greeted++;
		static const char ehlo[] = "EHLO flood.example.org\r\n";
		c->said = write(c->fd, ehlo, sizeof ehlo - 1) == (ssize_t)sizeof ehlo - 1;
		return; /* then sit idle, holding the server's process */
	}
	drop(ep, c, st, &st->refused); /* 421/554: answered and closed by the other end */
}

int main(int argc, char **argv)
{
	static const struct option longs[] = {
		{"src", 1, 0, 's'}, {"dst", 1, 0, 'd'}, {"dport", 1, 0, 'p'}, {"rate", 1, 0, 'r'},
		{"seconds", 1, 0, 't'}, {"max-open", 1, 0, 'm'}, {0, 0, 0, 0}};
	struct sockaddr_in src = {.sin_family = AF_INET}, dst = {.sin_family = AF_INET, .sin_port = htons(25)};
	long rate = 0, max_open = 1000;
	double seconds = 0;
	bool have_src = false, have_dst = false;
	int o;
	while ((o = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (o) {
		case 's': have_src = inet_pton(AF_INET, optarg, &src.sin_addr) == 1; break;
		case 'd': have_dst = inet_pton(AF_INET, optarg, &dst.sin_addr) == 1; break;
		case 'p': dst.sin_port = htons((uint16_t)atoi(optarg)); break;
		case 'r': rate = atol(optarg); break;
		case 't': seconds = atof(optarg); break;
		case 'm': max_open = atol(optarg); break;
		default: usage();
		}
	}
	if (!have_src || !have_dst || optind != argc || rate < 1 || rate > MAX_RATE || !(seconds > 0) ||
	    seconds > MAX_SECONDS || max_open < 1 || max_open > MAX_OPEN || !dst.sin_port)
		usage();
	if (!documentation(ntohl(src.sin_addr.s_addr)) || !documentation(ntohl(dst.sin_addr.s_addr))) {
		fprintf(stderr, "connflood: addresses must be in the documentation networks (RFC 5737)\n");
		return 2;
	}
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0) {
		perror("connflood: epoll");
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	struct stats st;
	memset(&st, 0, sizeof st);
	double start = now(), end = start + seconds;
	while (!stop && now() < end) {
		double due = start + (double)st.attempted / (double)rate;
		while (!stop && now() >= due && st.open < (unsigned)max_open && due < end) {
			struct conn *c = calloc(1, sizeof *c);
			int fd = c ? socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0) : -1;
			st.attempted++;
			due = start + (double)st.attempted / (double)rate;
			if (fd < 0 || bind(fd, (struct sockaddr *)&src, sizeof src) != 0 ||
			    (connect(fd, (struct sockaddr *)&dst, sizeof dst) != 0 && errno != EINPROGRESS)) {
				if (fd >= 0)
					close(fd);
				free(c);
				st.failed++;
				continue;
			}
			c->fd = fd;
			struct epoll_event e = {.events = EPOLLOUT, .data.ptr = c};
			epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
			if (++st.open > st.max_open)
				st.max_open = st.open;
		}
		struct epoll_event ev[256];
		int n = epoll_wait(ep, ev, 256, 1);
		for (int i = 0; i < n; i++)
			event(ep, ev[i].data.ptr, ev[i].events, &st);
	}
	double took = now() - start;
	printf("connflood: attempted %llu, connected %llu, greeted %llu, refused %llu, closed %llu, "
	       "failed %llu in %.1f s: %.0f attempts/s; at most %u held open\n",
	       (unsigned long long)st.attempted, (unsigned long long)st.connected,
	       (unsigned long long)st.greeted, (unsigned long long)st.refused,
	       (unsigned long long)st.closed, (unsigned long long)st.failed, took,
	       (double)st.attempted / took, st.max_open);
	return 0; /* open connections close with the process */
}
