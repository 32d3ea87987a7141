/* powercutfs BACKING MOUNTPOINT — a FUSE filesystem that loses, at a simulated power
 * cut, every byte written and not yet fsynced (the idea of CrashMonkey, for one
 * process tree). Tests run sluice-archive on it and cut the power at random moments.
 *
 * Model: file data written through the mount stays in this process's memory (the
 * "page cache") until fsync/fdatasync of that file writes it to the backing directory
 * (the "disk") and syncs it there. Metadata (create, mkdir, rename, unlink, truncate
 * to a smaller size) reaches the disk at once, as a journaling filesystem commits it;
 * a file created and written but never synced is found empty after a cut — what ext4
 * does with delayed allocation. Hard links and mmap writes are not supported (RocksDB
 * as the archive configures it uses neither).
 *
 * SIGUSR1 is the power cut: the unsynced data is dropped, "cut" is printed on stdout,
 * and from then on every operation fails with EIO until the process is restarted on
 * the same backing directory. Single-threaded (-s): operations are atomic here.
 *
 * powercutfs BACKING MOUNTPOINT DELAY_MS: every operation first waits DELAY_MS, a disk
 * that answers slowly (the dataplane's sink queue test, tests/lab/test-slow-sink.sh). */
#define FUSE_USE_VERSION 31

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char backing[PATH_MAX];
static volatile sig_atomic_t cut_requested;
static bool cut;
static unsigned delay_ms;

/* A file with unsynced data: the bytes [off, off + len) as the program wrote them
 * (with whatever lay between on disk), and the size it sees. */
struct node {
	struct node *next;
	char *path;
	off_t size;
	off_t off;
	size_t len, cap;
	char *data;
};

static struct node *nodes;

static void real(const char *path, char *out)
{
	snprintf(out, PATH_MAX, "%s%s", backing, path);
}

static struct node *find(const char *path)
{
	for (struct node *n = nodes; n; n = n->next)
		if (!strcmp(n->path, path))
			return n;
	return NULL;
}

static void drop(struct node *n)
{
	for (struct node **p = &nodes; *p; p = &(*p)->next)
		if (*p == n) {
			*p = n->next;
			break;
		}
	free(n->path);
	free(n->data);
	free(n);
}

static void power_cut(void)
{
	while (nodes)
		drop(nodes);
	cut = true;
	printf("cut\n");
	fflush(stdout);
}

/* Every operation starts here: a requested cut happens between operations. */
static int down(void)
{
	if (delay_ms)
		usleep(delay_ms * 1000u);
	if (cut_requested && !cut)
		power_cut();
	return cut ? -EIO : 0;
}

/* The start of an operation on path: EIO after the cut, else its backing path in r. */
static int enter(const char *path, char r[PATH_MAX])
{
	int d = down();
	if (!d)
		real(path, r);
	return d;
}

static off_t disk_size(const char *path)
{
	char r[PATH_MAX];
	struct stat st;
	real(path, r);
	return stat(r, &st) == 0 ? st.st_size : 0;
}

/* Read disk bytes [off, off + n) of path into buf (zeros past its end). */
static void disk_read(const char *path, char *buf, off_t off, size_t n)
{
	char r[PATH_MAX];
	real(path, r);
	memset(buf, 0, n);
	int fd = open(r, O_RDONLY);
	if (fd < 0)
		return;
	size_t got = 0;
	while (got < n) {
		ssize_t k = pread(fd, buf + got, n - got, off + (off_t)got);
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	close(fd);
}

/* Make [off, off + n) part of the node's unsynced extent. */
static int extend(struct node *n, off_t off, size_t len)
{
	off_t lo = n->len ? (off < n->off ? off : n->off) : off;
	off_t hi = n->len ? (off + (off_t)len > n->off + (off_t)n->len ? off + (off_t)len :
			     n->off + (off_t)n->len) : off + (off_t)len;
	size_t want = (size_t)(hi - lo);
	if (want > n->cap) {
		size_t cap = n->cap ? n->cap : 65536;
		while (cap < want)
			cap *= 2;
		char *d = realloc(n->data, cap);
		if (!d)
			return -ENOMEM;
		n->data = d;
		n->cap = cap;
	}
	if (!n->len) {
		disk_read(n->path, n->data, lo, want);
	} else {
		if (lo < n->off) { /* grow downwards: shift, then fill from disk */
			size_t shift = (size_t)(n->off - lo);
			memmove(n->data + shift, n->data, n->len);
			disk_read(n->path, n->data, lo, shift);
		}
		size_t have_end = (size_t)(n->off + (off_t)n->len - lo);
		if (want > have_end) {
			disk_read(n->path, n->data + have_end, lo + (off_t)have_end, want - have_end);
			/* bytes past the size the program sees are zeros, not old disk data */
			for (size_t i = have_end; i < want; i++)
				if (lo + (off_t)i >= n->size)
					n->data[i] = 0;
		}
	}
	n->off = lo;
	n->len = want;
	return 0;
}

static struct node *get_node(const char *path)
{
	struct node *n = find(path);
	if (n)
		return n;
	n = calloc(1, sizeof *n);
	if (!n)
		return NULL;
	n->path = strdup(path);
	n->size = disk_size(path);
	n->next = nodes;
	nodes = n;
	return n;
}

static int pc_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	(void)fi;
	char r[PATH_MAX];
	int d = enter(path, r);
	if (d)
		return d;
	if (lstat(r, st) < 0)
		return -errno;
	struct node *n = find(path);
	if (n)
		st->st_size = n->size;
	return 0;
}

static int pc_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
	struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	(void)off;
	(void)fi;
	(void)flags;
	char r[PATH_MAX];
	int d = enter(path, r);
	if (d)
		return d;
	DIR *dir = opendir(r);
	if (!dir)
		return -errno;
	struct dirent *e;
	while ((e = readdir(dir)))
		fill(buf, e->d_name, NULL, 0, 0);
	closedir(dir);
	return 0;
}

static int pc_open(const char *path, struct fuse_file_info *fi)
{
	char r[PATH_MAX];
	int d = enter(path, r);
	if (d)
		return d;
	int fd = open(r, fi->flags & ~(O_TRUNC | O_APPEND | O_DIRECT));
	if (fd < 0)
		return -errno;
	close(fd);
	if (fi->flags & O_TRUNC) {
		struct node *n = find(path);
		if (n)
			drop(n);
		if (truncate(r, 0) < 0)
			return -errno;
	}
	fi->direct_io = 1; /* every read and write comes here, none stays in the kernel */
	return 0;
}

static int pc_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	char r[PATH_MAX];
	int d = enter(path, r);
	if (d)
		return d;
	int fd = open(r, (fi->flags | O_CREAT) & ~(O_APPEND | O_DIRECT), mode);
	if (fd < 0)
		return -errno;
	close(fd);
	struct node *n = find(path);
	if (n && (fi->flags & O_TRUNC))
		drop(n);
	fi->direct_io = 1;
	return 0;
}

static int pc_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)fi;
	int d = down();
	if (d)
		return d;
	struct node *n = find(path);
	off_t end = n ? n->size : disk_size(path);
	if (off >= end)
		return 0;
	if ((off_t)size > end - off)
		size = (size_t)(end - off);
	disk_read(path, buf, off, size);
	if (n && n->len) {
		off_t lo = off > n->off ? off : n->off;
		off_t hi = off + (off_t)size < n->off + (off_t)n->len ? off + (off_t)size :
			n->off + (off_t)n->len;
		if (lo < hi)
			memcpy(buf + (lo - off), n->data + (lo - n->off), (size_t)(hi - lo));
	}
	return (int)size;
}

static int pc_write(const char *path, const char *buf, size_t size, off_t off,
	struct fuse_file_info *fi)
{
	(void)fi;
	int d = down();
	if (d)
		return d;
	struct node *n = get_node(path);
	if (!n)
		return -ENOMEM;
	int e = extend(n, off, size);
	if (e)
		return e;
	memcpy(n->data + (off - n->off), buf, size);
	if (off + (off_t)size > n->size)
		n->size = off + (off_t)size;
	return (int)size;
}

/* fsync: the node's bytes and size reach the disk, and the disk syncs them. */
static int pc_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)datasync;
	(void)fi;
	int d = down();
	if (d)
		return d;
	struct node *n = find(path);
	char r[PATH_MAX];
	real(path, r);
	int fd = open(r, O_WRONLY);
	if (fd < 0)
		return -errno;
	int rc = 0;
	if (n) {
		size_t done = 0;
		while (done < n->len) {
			ssize_t k = pwrite(fd, n->data + done, n->len - done, n->off + (off_t)done);
			if (k <= 0) {
				rc = -EIO;
				break;
			}
			done += (size_t)k;
		}
		if (!rc && ftruncate(fd, n->size) < 0)
			rc = -errno;
	}
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (!rc && n)
		drop(n);
	return rc;
}

static int pc_fsyncdir(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)datasync;
	(void)fi;
	char r[PATH_MAX];
	int d = enter(path, r);
	if (d)
		return d;
	int fd = open(r, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

static int pc_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	(void)fi;
	int d = down();
	if (d)
		return d;
	struct node *n = find(path);
	if (!n || size <= disk_size(path)) {
		/* shrinking is metadata: on disk at once (unsynced bytes past it go too) */
		char r[PATH_MAX];
		real(path, r);
		if (truncate(r, size) < 0)
			return -errno;
		if (n && n->off >= size)
			drop(n);
		else if (n) {
			if (n->off + (off_t)n->len > size)
				n->len = (size_t)(size - n->off);
			n->size = size;
		}
		return 0;
	}
	n->size = size; /* growing: zeros, unsynced */
	if (n->len && n->off + (off_t)n->len > size)
		n->len = (size_t)(size - n->off);
	return 0;
}

static int pc_unlink(const char *path)
{
	char r[PATH_MAX];
	int d = enter(path, r);
	if (d)
		return d;
	if (unlink(r) < 0)
		return -errno;
	struct node *n = find(path);
	if (n)
		drop(n);
	return 0;
}

static int pc_rename(const char *from, const char *to, unsigned int flags)
{
	int d = down();
	if (d)
		return d;
	if (flags)
		return -EINVAL;
	char a[PATH_MAX], b[PATH_MAX];
	real(from, a);
	real(to, b);
	if (rename(a, b) < 0)
		return -errno;
	struct node *old = find(to);
	if (old)
		drop(old);
	struct node *n = find(from);
	if (n) {
		free(n->path);
		n->path = strdup(to);
	}
	return 0;
}

static int pc_mkdir(const char *path, mode_t mode)
{
	char r[PATH_MAX];
	int d = enter(path, r);
	if (d)
		return d;
	return mkdir(r, mode) < 0 ? -errno : 0;
}

static int pc_rmdir(const char *path)
{
	char r[PATH_MAX];
	int d = enter(path, r);
	if (d)
		return d;
	return rmdir(r) < 0 ? -errno : 0;
}

static int pc_statfs(const char *path, struct statvfs *st)
{
	(void)path;
	int d = down();
	if (d)
		return d;
	return statvfs(backing, st) < 0 ? -errno : 0;
}

static int pc_fallocate(const char *path, int mode, off_t off, off_t len, struct fuse_file_info *fi)
{
	(void)path;
	(void)mode;
	(void)off;
	(void)len;
	(void)fi;
	return down(); /* preallocation is a hint: accepted, nothing to keep */
}

static int pc_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	(void)fi;
	char r[PATH_MAX];
	int d = enter(path, r);
	if (d)
		return d;
	return chmod(r, mode) < 0 ? -errno : 0;
}

static int pc_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	(void)path;
	(void)tv;
	(void)fi;
	return down();
}

static int pc_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	(void)fi;
	return 0; /* closing keeps the unsynced data, as the page cache does */
}

static const struct fuse_operations ops = {
	.getattr = pc_getattr, .readdir = pc_readdir, .open = pc_open, .create = pc_create,
	.read = pc_read, .write = pc_write, .fsync = pc_fsync, .fsyncdir = pc_fsyncdir,
	.truncate = pc_truncate, .unlink = pc_unlink, .rename = pc_rename, .mkdir = pc_mkdir,
	.rmdir = pc_rmdir, .statfs = pc_statfs, .fallocate = pc_fallocate, .chmod = pc_chmod,
	.utimens = pc_utimens, .release = pc_release,
};

static void on_usr1(int sig)
{
	(void)sig;
	cut_requested = 1;
}

int main(int argc, char **argv)
{
	char *end = NULL;
	if (argc == 4)
		delay_ms = (unsigned)strtoul(argv[3], &end, 10);
	if ((argc != 3 && argc != 4) || (end && (*end || end == argv[3] || delay_ms > 10000))) {
		fprintf(stderr, "usage: powercutfs BACKING MOUNTPOINT [DELAY_MS]   (SIGUSR1: power cut)\n");
		return 2;
	}
	if (!realpath(argv[1], backing)) {
		perror(argv[1]);
		return 1;
	}
	struct sigaction sa = { .sa_handler = on_usr1 };
	sigaction(SIGUSR1, &sa, NULL);
	char *fargv[] = { argv[0], "-f", "-s", "-o", "default_permissions", argv[2], NULL };
	return fuse_main(6, fargv, &ops, NULL);
}
