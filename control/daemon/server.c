#include "server.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/rpc.h"
#include "../lib/unixsock.h"
#include "ops.h"

#define MAX_CLIENTS 32
#define REQUEST_TIMEOUT_MS 30000   /* each piece of a request, once it started */
#define IDLE_TIMEOUT_MS 600000     /* between requests */

static atomic_int clients;

struct client {
	struct ctl *ctl;
	int fd;
	struct peer who;
};

static json_t *dispatch(struct client *cl, json_t *req, const uint8_t *body, size_t blen, struct sl_strbuf *abody)
{
	const char *name = json_string_value(json_object_get(req, "op"));
	if (!json_is_integer(json_object_get(req, "req")))
		return rpc_error(req, "a request needs an integer 'req'");
	if (!name)
		return rpc_error(req, "a request needs an 'op'");
	op_handler fn = ops_find(name);
	if (!fn)
		return rpc_error(req, "unknown op '%s'", name);
	return fn(cl->ctl, &cl->who, req, body, blen, abody);
}

static void *client_main(void *arg)
{
	struct client *cl = arg;
	char err[256];
	for (;;) {
		json_t *req;
		uint8_t *body;
		size_t blen;
		struct pollfd p = {.fd = cl->fd, .events = POLLIN};
		if (poll(&p, 1, IDLE_TIMEOUT_MS) <= 0)
			break;
		if (rpc_recv(cl->fd, &req, &body, &blen, REQUEST_TIMEOUT_MS, err, sizeof err) != 0)
			break;
		struct sl_strbuf abody;
		sl_strbuf_init(&abody);
		json_t *a = dispatch(cl, req, body, blen, &abody);
		int rc = a ? rpc_send(cl->fd, a, abody.s, abody.len, err, sizeof err) : -1;
		json_decref(a);
		json_decref(req);
		free(body);
		sl_strbuf_free(&abody);
		if (rc != 0)
			break;
	}
	close(cl->fd);
	free(cl);
	atomic_fetch_sub(&clients, 1);
	return NULL;
}

static void accept_one(struct ctl *c, int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	struct client *cl = calloc(1, sizeof *cl);
	if (!cl || unixsock_peer(fd, &cl->who) != 0) {
		free(cl);
		close(fd);
		return;
	}
	if (!unixsock_peer_allowed(&cl->who, c->group)) {
		ctl_log("refused a client: uid %u (%s) pid %d is neither root nor in the socket's group",
		        (unsigned)cl->who.uid, cl->who.user, (int)cl->who.pid);
		atomic_fetch_add(&c->requests_refused_peer, 1);
		free(cl);
		close(fd);
		return;
	}
	if (atomic_fetch_add(&clients, 1) >= MAX_CLIENTS) {
		atomic_fetch_sub(&clients, 1);
		json_t *a = rpc_error(NULL, "too many clients at once (%d); try again", MAX_CLIENTS);
		char err[128];
		rpc_send(fd, a, NULL, 0, err, sizeof err);
		json_decref(a);
		free(cl);
		close(fd);
		return;
	}
	cl->ctl = c;
	cl->fd = fd;
	struct timeval tv = {.tv_sec = REQUEST_TIMEOUT_MS / 1000};
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv); /* a client that stops reading */
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_t t;
	if (pthread_create(&t, &at, client_main, cl) != 0) {
		close(fd);
		free(cl);
		atomic_fetch_sub(&clients, 1);
	}
	pthread_attr_destroy(&at);
}

void server_run(struct ctl *c, int listen_fd, int wake_fd)
{
	while (!atomic_load(&c->stop)) {
		struct pollfd p[2] = {{.fd = listen_fd, .events = POLLIN}, {.fd = wake_fd, .events = POLLIN}};
		int r = poll(p, 2, -1);
		if (r < 0 && errno != EINTR)
			break;
		if (r > 0 && (p[0].revents & POLLIN))
			accept_one(c, listen_fd);
	}
}
