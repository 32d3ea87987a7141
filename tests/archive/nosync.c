/* LD_PRELOAD=libnosync.so: sluice-archive without its WAL sync — fsync and fdatasync
 * of RocksDB's write-ahead log files (*.log) do nothing; every other sync happens. The
 * power-cut test runs it to prove it notices a missing WAL sync
 * (powercut_test.py --expect-loss). Never for anything but that test. */
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int is_wal(int fd)
{
	char link[64], path[PATH_MAX];
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof path - 1);
	if (n < 4)
		return 0;
	path[n] = '\0';
	return !strcmp(path + n - 4, ".log");
}

int fsync(int fd)
{
	static int (*real)(int);
	if (!real)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	return is_wal(fd) ? 0 : real(fd);
}

int fdatasync(int fd)
{
	static int (*real)(int);
	if (!real)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	return is_wal(fd) ? 0 : real(fd);
}
