/* Unix stream sockets of the control channel: connecting, listening with the right owner
 * and mode, and who the peer is (SO_PEERCRED). */
#ifndef SLUICE_CONTROL_UNIXSOCK_H
#define SLUICE_CONTROL_UNIXSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Connect to the socket at path. The fd, or -1 with err ("no socket at PATH", "nobody
 * listens on PATH", ...) and errno. send_timeout_ms > 0 bounds each write (SO_SNDTIMEO),
 * so a peer that stopped reading cannot hold a writer forever. */
int unixsock_connect(const char *path, int send_timeout_ms, char *err, size_t errlen);

/* Listen on path: owner root, group `group` with mode 0660 when that group exists, else
 * mode 0600. A socket file left by a process that is gone is replaced; one somebody still
 * answers on is not (-1, "already running"). The group id used goes to *gid ((gid_t)-1
 * when none). The fd, or -1 with err. */
int unixsock_listen(const char *path, const char *group, gid_t *gid, char *err, size_t errlen);

struct peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	char user[64];     /* the uid's name, or the number when it has none */
};

/* Who is on the other end (SO_PEERCRED). 0, or -1 with errno. */
int unixsock_peer(int fd, struct peer *p);

/* May this peer use a socket of group `gid`? root, or the group is the peer's primary
 * group or one of its user's groups. */
bool unixsock_peer_allowed(const struct peer *p, gid_t gid);

#endif
