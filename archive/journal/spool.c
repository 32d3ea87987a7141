/* The spool directory and the client socket: the two I/O ends of the journal sender. */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int sl_journal_write_all(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return -1;
	int r = fsync(fd);
	close(fd);
	return r;
}

int sl_journal_spool_write(const char *dir, const uint8_t *frame, size_t len)
{
	/* Names sort in submission order: nanosecond time, then a process-wide counter. */
	static atomic_uint counter;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	unsigned c = atomic_fetch_add(&counter, 1);
	char tmp[4096], final[4096];
	unsigned long long ns = (unsigned long long)ts.tv_sec * 1000000000ull +
		(unsigned long long)ts.tv_nsec;
	if (snprintf(tmp, sizeof tmp, "%s/tmp/%020llu-%d-%08u.rec", dir, ns, (int)getpid(), c) >=
	    (int)sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	snprintf(final, sizeof final, "%s/%020llu-%d-%08u.rec", dir, ns, (int)getpid(), c);
	char tmpdir[4096];
	snprintf(tmpdir, sizeof tmpdir, "%s/tmp", dir);
	mkdir(dir, 0700);
	mkdir(tmpdir, 0700);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (sl_journal_write_all(fd, frame, len) < 0 || fsync(fd) < 0) {
		int e = errno;
		close(fd);
		unlink(tmp);
		errno = e;
		return -1;
	}
	close(fd);
	if (rename(tmp, final) < 0) {
		int e = errno;
		unlink(tmp);
		errno = e;
		return -1;
	}
	return fsync_dir(dir);
}

int sl_journal_connect(const char *addr, int timeout_ms, char *err, size_t errlen)
{
	char host[256], port[16];
	const char *colon = strrchr(addr, ':');
	if (!colon || colon == addr || strlen(colon + 1) >= sizeof port) {
		snprintf(err, errlen, "address %s is not host:port", addr);
		return -1;
	}
	size_t hl = (size_t)(colon - addr);
	if (addr[0] == '[' && colon[-1] == ']') {
		addr++;
		hl -= 2;
	}
	if (hl >= sizeof host) {
		snprintf(err, errlen, "host name too long");
		return -1;
	}
	memcpy(host, addr, hl);
	host[hl] = '\0';
	strcpy(port, colon + 1);

	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res;
	int gr = getaddrinfo(host, port, &hints, &res);
	if (gr) {
		snprintf(err, errlen, "%s: %s", host, gai_strerror(gr));
		return -1;
	}
	int fd = -1;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			continue;
		int r = connect(fd, ai->ai_addr, ai->ai_addrlen);
		if (r < 0 && errno == EINPROGRESS) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			int soerr = ETIMEDOUT;
			socklen_t sl = sizeof soerr;
			if (poll(&pfd, 1, timeout_ms) == 1)
				getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
			r = soerr ? -1 : 0;
			errno = soerr;
		}
		if (r == 0) {
			int fl = fcntl(fd, F_GETFL);
			fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
			int one = 1;
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
			break;
		}
		snprintf(err, errlen, "connect %s: %s", addr, strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static int read_all(int fd, uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int sl_journal_read_reply(int fd, int *type, uint8_t id[32], int *status,
	char *reason, size_t reasonlen)
{
	uint8_t hdr[SL_JOURNAL_HEADER_LEN];
	uint8_t payload[33 + SL_JOURNAL_MAX_FIELD];
	uint32_t len, crc;
	char err[128];
	if (read_all(fd, hdr, sizeof hdr) < 0) {
		snprintf(reason, reasonlen, "connection closed");
		return -1;
	}
	if (sl_journal_header_parse(hdr, type, &len, &crc, err, sizeof err) < 0 ||
	    (*type != SL_JFRAME_ACK && *type != SL_JFRAME_REFUSE) || len > sizeof payload) {
		snprintf(reason, reasonlen, "bad reply frame");
		return -1;
	}
	if (read_all(fd, payload, len) < 0) {
		snprintf(reason, reasonlen, "connection closed");
		return -1;
	}
	if (sl_journal_frame_crc(hdr, payload, len) != crc ||
	    sl_journal_decode_reply(payload, len, id, status, reason, reasonlen) < 0) {
		snprintf(reason, reasonlen, "corrupt reply frame");
		return -1;
	}
	return 0;
}
