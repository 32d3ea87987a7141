/* serve: the archive node. Journal listener, SMTP/LMTP listener, one committer. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.h"
#include "net.h"

#define MAX_CONNS 512

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

struct conn_slot {
	struct ar_server *srv;
	int fd;
	bool smtp;
	bool used;
	pthread_t th;
};

static struct conn_slot slots[MAX_CONNS];
static pthread_mutex_t slots_mu = PTHREAD_MUTEX_INITIALIZER;
static int active;

static void *conn_main(void *arg)
{
	struct conn_slot *cs = arg;
	if (cs->smtp)
		ar_smtp_conn(cs->srv, cs->fd);
	else
		ar_journal_conn(cs->srv, cs->fd);
	pthread_mutex_lock(&slots_mu);
	cs->used = false;
	active--;
	pthread_mutex_unlock(&slots_mu);
	return NULL;
}

static void start_conn(struct ar_server *srv, int fd, bool smtp)
{
	pthread_mutex_lock(&slots_mu);
	struct conn_slot *cs = NULL;
	for (int i = 0; i < MAX_CONNS && !cs; i++)
		if (!slots[i].used)
			cs = &slots[i];
	if (!cs) {
		pthread_mutex_unlock(&slots_mu);
		if (smtp) {
			static const char busy[] = "421 4.3.2 too many connections\r\n";
			if (write(fd, busy, sizeof busy - 1) < 0) {
				/* the peer is gone already */
			}
		}
		close(fd);
		return;
	}
	*cs = (struct conn_slot){ .srv = srv, .fd = fd, .smtp = smtp, .used = true };
	active++;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&cs->th, &attr, conn_main, cs) != 0) {
		cs->used = false;
		active--;
		close(fd);
	}
	pthread_attr_destroy(&attr);
	pthread_mutex_unlock(&slots_mu);
}

static void print_bound(const char *what, int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	char a[80];
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	ar_sockaddr_str((struct sockaddr *)&ss, a, sizeof a);
	printf("listening %s %s\n", what, a);
	fflush(stdout);
}

static int parse_direction(const char *s)
{
	static const char *const names[] = { "unknown", "inbound", "outbound", "internal" };
	for (int i = 0; i < 4; i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}

int cmd_serve(int argc, char **argv)
{
	const char *data = NULL, *jaddr = NULL, *saddr = NULL;
	struct ar_server srv = { .smtp_source = "", .smtp_direction = 3, .window = 64 };
	char hostname[256] = "sluice-archive";
	gethostname(hostname, sizeof hostname - 1);
	srv.hostname = hostname;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--data") && i + 1 < argc)
			data = argv[++i];
		else if (!strcmp(argv[i], "--journal-listen") && i + 1 < argc)
			jaddr = argv[++i];
		else if (!strcmp(argv[i], "--smtp-listen") && i + 1 < argc)
			saddr = argv[++i];
		else if (!strcmp(argv[i], "--lmtp"))
			srv.lmtp = true;
		else if (!strcmp(argv[i], "--smtp-source") && i + 1 < argc)
			srv.smtp_source = argv[++i];
		else if (!strcmp(argv[i], "--smtp-direction") && i + 1 < argc) {
			srv.smtp_direction = parse_direction(argv[++i]);
			if (srv.smtp_direction < 0) {
				fprintf(stderr, "sluice-archive serve: --smtp-direction is inbound, outbound, internal or unknown\n");
				return 2;
			}
		} else {
			fprintf(stderr, "sluice-archive serve: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (!data || (!jaddr && !saddr)) {
		fprintf(stderr, "usage: sluice-archive serve --data DIR [--journal-listen ADDR:PORT] "
				"[--smtp-listen ADDR:PORT [--lmtp] [--smtp-source NAME] "
				"[--smtp-direction internal]]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	srv.s = cli_open(data, true, true);
	if (!srv.s)
		return 1;
	char err[512];
	int jfd = -1, sfd = -1;
	if (jaddr && (jfd = ar_listen(jaddr, err, sizeof err)) < 0) {
		fprintf(stderr, "sluice-archive serve: %s\n", err);
		ar_store_close(srv.s);
		return 1;
	}
	if (saddr && (sfd = ar_listen(saddr, err, sizeof err)) < 0) {
		fprintf(stderr, "sluice-archive serve: %s\n", err);
		if (jfd >= 0)
			close(jfd);
		ar_store_close(srv.s);
		return 1;
	}
	srv.cm = ar_committer_start(srv.s);
	if (jfd >= 0)
		print_bound("journal", jfd);
	if (sfd >= 0)
		print_bound(srv.lmtp ? "lmtp" : "smtp", sfd);
	cli_audit(srv.s, "serve", NULL);

	while (!stop_requested) {
		struct pollfd p[2];
		int np = 0;
		if (jfd >= 0)
			p[np++] = (struct pollfd){ .fd = jfd, .events = POLLIN };
		if (sfd >= 0)
			p[np++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		int r = poll(p, (nfds_t)np, 1000);
		if (r < 0 && errno != EINTR)
			break;
		for (int i = 0; r > 0 && i < np; i++) {
			if (!(p[i].revents & POLLIN))
				continue;
			int fd = accept4(p[i].fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0)
				start_conn(&srv, fd, p[i].fd == sfd);
		}
		if (r == 0)
			ar_audit_collect(srv.s); /* readers' audit entries, when idle */
	}

	/* stop: no new connections; unblock the open ones; let them finish their batch */
	srv.stopping = 1;
	if (jfd >= 0)
		close(jfd);
	if (sfd >= 0)
		close(sfd);
	pthread_mutex_lock(&slots_mu);
	for (int i = 0; i < MAX_CONNS; i++)
		if (slots[i].used)
			shutdown(slots[i].fd, SHUT_RD);
	pthread_mutex_unlock(&slots_mu);
	for (int waited = 0; waited < 100; waited++) {
		pthread_mutex_lock(&slots_mu);
		int a = active;
		pthread_mutex_unlock(&slots_mu);
		if (!a)
			break;
		usleep(50000);
	}
	ar_committer_stop(srv.cm);
	fprintf(stderr, "sluice-archive serve: stopped: %llu records, %llu refused\n",
		(unsigned long long)srv.records, (unsigned long long)srv.refused);
	pthread_mutex_lock(&slots_mu);
	bool clean = active == 0;
	pthread_mutex_unlock(&slots_mu);
	if (clean)
		ar_store_close(srv.s);
	return 0;
}
