/* sluicectl's socket: accepts, checks each peer (SO_PEERCRED: root or the socket's
 * group; others are closed at once) and serves its requests on a thread of its own. */
#ifndef SLUICE_CONTROL_SERVER_H
#define SLUICE_CONTROL_SERVER_H

#include "ctl.h"

/* Serve until c->stop is set and `wake_fd` becomes readable. */
void server_run(struct ctl *c, int listen_fd, int wake_fd);

#endif
