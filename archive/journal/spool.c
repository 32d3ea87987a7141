/* The spool directory: where the journal sender makes each record durable. */
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
