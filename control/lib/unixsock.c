#include "unixsock.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int make_addr(const char *path, struct sockaddr_un *a, char *err, size_t errlen)
{
	memset(a, 0, sizeof *a);
	a->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof a->sun_path) {
		snprintf(err, errlen, "%s: socket path longer than %zu bytes", path, sizeof a->sun_path - 1);
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(a->sun_path, path);
	return 0;
}

int unixsock_connect(const char *path, int send_timeout_ms, char *err, size_t errlen)
{
	struct sockaddr_un a;
	if (make_addr(path, &a, err, errlen))
		return -1;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (send_timeout_ms > 0) {
		struct timeval tv = {.tv_sec = send_timeout_ms / 1000, .tv_usec = send_timeout_ms % 1000 * 1000};
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	}
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		int e = errno;
		if (e == ENOENT)
			snprintf(err, errlen, "no socket at %s", path);
		else if (e == ECONNREFUSED)
			snprintf(err, errlen, "nobody listens on %s", path);
		else if (e == EACCES || e == EPERM)
			snprintf(err, errlen, "%s: permission denied (root or the socket's group)", path);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(e));
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int unixsock_listen(const char *path, const char *group, gid_t *gid, char *err, size_t errlen)
{
	struct sockaddr_un a;
	*gid = (gid_t)-1;
	if (make_addr(path, &a, err, errlen))
		return -1;
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s exists and is not a socket", path);
			return -1;
		}
		char e2[256];
		int probe = unixsock_connect(path, 0, e2, sizeof e2);
		if (probe >= 0) {
			close(probe);
			snprintf(err, errlen, "%s: another process already listens there (already running?)", path);
			return -1;
		}
		unlink(path); /* left by a process that is gone */
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/* created 0600 and only then opened to the group: never a moment with wider access */
	mode_t old = umask(0177);
	int rc = bind(fd, (struct sockaddr *)&a, sizeof a);
	umask(old);
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	struct group gr, *g = NULL;
	char buf[4096];
	if (group && *group && getgrnam_r(group, &gr, buf, sizeof buf, &g) == 0 && g) {
		if (chown(a.sun_path, 0, g->gr_gid) != 0 || chmod(a.sun_path, 0660) != 0) {
			int e = errno;
			snprintf(err, errlen, "%s: cannot give it to group %s: %s", a.sun_path, group, strerror(e));
			close(fd);
			unlink(path);
			return -1;
		}
		*gid = g->gr_gid;
	}
	if (listen(fd, 16) != 0) {
		snprintf(err, errlen, "listen %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	return fd;
}

int unixsock_peer(int fd, struct peer *p)
{
	struct ucred cr;
	socklen_t len = sizeof cr;
	memset(p, 0, sizeof *p);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0)
		return -1;
	p->pid = cr.pid;
	p->uid = cr.uid;
	p->gid = cr.gid;
	struct passwd pw, *pp = NULL;
	char buf[4096];
	if (getpwuid_r(cr.uid, &pw, buf, sizeof buf, &pp) == 0 && pp)
		snprintf(p->user, sizeof p->user, "%s", pp->pw_name);
	else
		snprintf(p->user, sizeof p->user, "%u", (unsigned)cr.uid);
	return 0;
}

bool unixsock_peer_allowed(const struct peer *p, gid_t gid)
{
	if (p->uid == 0)
		return true;
	if (gid == (gid_t)-1)
		return false;
	if (p->gid == gid)
		return true;
	struct passwd pw, *pp = NULL;
	char buf[4096];
	if (getpwuid_r(p->uid, &pw, buf, sizeof buf, &pp) != 0 || !pp)
		return false;
	gid_t groups[256];
	int n = 256;
	if (getgrouplist(pp->pw_name, pp->pw_gid, groups, &n) < 0)
		return false;
	for (int i = 0; i < n; i++)
		if (groups[i] == gid)
			return true;
	return false;
}
