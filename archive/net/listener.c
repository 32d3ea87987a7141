/* Listening sockets and the connection table: who may connect, how many, for how long.
 *
 * A connection starts in its listener's handshake pool (TLS for the journal; the SMTP
 * dialogue up to STARTTLS for mail hosts) with a short deadline, and moves to the
 * authenticated pool once its certificate is verified and allowed. The pools are
 * capped separately: peers that cannot authenticate can hold handshake slots only, and
 * when those are full the oldest handshake is dropped for the newcomer, so idle
 * sockets never keep an authenticated gateway out. One address holds at most
 * max_per_addr connections of a listener. */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct slot {
	bool used, authed;
	int listener;
	int fd;
	struct sockaddr_storage addr;
	uint64_t since_ms;
	struct ar_session *ss;
};

static struct {
	pthread_mutex_t mu;
	struct slot *slots;
	size_t n;
	unsigned authed[2], preauth[2];
	unsigned active;
} table = { .mu = PTHREAD_MUTEX_INITIALIZER };

void ar_server_init(struct ar_server *srv)
{
	pthread_mutex_init(&srv->budget_mu, NULL);
	pthread_cond_init(&srv->budget_cv, NULL);
	if (!srv->lim.max_conns)
		srv->lim.max_conns = 64;
	if (!srv->lim.max_preauth)
		srv->lim.max_preauth = 32;
	if (!srv->lim.max_per_addr)
		srv->lim.max_per_addr = 16;
	if (!srv->lim.idle_ms)
		srv->lim.idle_ms = 300 * 1000; /* Postfix's smtpd_timeout */
	if (!srv->lim.session_ms)
		srv->lim.session_ms = 3600 * 1000;
	if (!srv->lim.handshake_ms)
		srv->lim.handshake_ms = 10 * 1000;
	if (!srv->lim.inflight_bytes)
		srv->lim.inflight_bytes = 256u << 20;
}

static bool same_host(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (a->ss_family == AF_INET6)
		return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
			&((const struct sockaddr_in6 *)b)->sin6_addr, 16);
	return false;
}

int ar_net_parse(const char *s, struct ar_net *out)
{
	char ip[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t l = slash ? (size_t)(slash - s) : strlen(s);
	if (l >= sizeof ip)
		return -1;
	memcpy(ip, s, l);
	ip[l] = '\0';
	memset(out, 0, sizeof *out);
	unsigned max;
	if (inet_pton(AF_INET, ip, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, ip, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		return -1;
	}
	out->prefix = max;
	if (slash) {
		char *end;
		unsigned long p = strtoul(slash + 1, &end, 10);
		if (!slash[1] || *end || p > max)
			return -1;
		out->prefix = (unsigned)p;
	}
	return 0;
}

static bool net_contains(const struct ar_net *n, const struct sockaddr_storage *ss)
{
	const uint8_t *a;
	if (ss->ss_family != n->family)
		return false;
	a = ss->ss_family == AF_INET ? (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr :
		(const uint8_t *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
	unsigned bits = n->prefix, i = 0;
	for (; bits >= 8; bits -= 8, i++)
		if (a[i] != n->addr[i])
			return false;
	uint8_t mask = (uint8_t)(0xff00u >> bits);
	return !bits || (a[i] & mask) == (n->addr[i] & mask);
}

static bool addr_allowed(const struct ar_server *srv, const struct sockaddr_storage *ss)
{
	if (!srv->nnets)
		return true;
	for (size_t i = 0; i < srv->nnets; i++)
		if (net_contains(&srv->nets[i], ss))
			return true;
	return false;
}

bool ar_budget_take(struct ar_server *srv, size_t n, bool wait, struct ar_conn *c)
{
	pthread_mutex_lock(&srv->budget_mu);
	for (;;) {
		/* a frame always fits when nothing else is in flight */
		if (!srv->budget_used || srv->budget_used + n <= srv->lim.inflight_bytes) {
			srv->budget_used += n;
			pthread_mutex_unlock(&srv->budget_mu);
			return true;
		}
		if (!wait || srv->stopping || ar_now_ms() >= c->deadline_ms)
			break;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&srv->budget_cv, &srv->budget_mu, &ts);
	}
	pthread_mutex_unlock(&srv->budget_mu);
	return false;
}

void ar_budget_give(struct ar_server *srv, size_t n)
{
	if (!n)
		return;
	pthread_mutex_lock(&srv->budget_mu);
	srv->budget_used -= n;
	pthread_cond_broadcast(&srv->budget_cv);
	pthread_mutex_unlock(&srv->budget_mu);
}

bool ar_session_authenticated(struct ar_session *ss, const char *peer)
{
	struct ar_server *srv = ss->srv;
	snprintf(ss->peer, sizeof ss->peer, "%s", peer);
	pthread_mutex_lock(&table.mu);
	struct slot *sl = &table.slots[ss->slot];
	bool ok = table.authed[sl->listener] < srv->lim.max_conns;
	if (ok) {
		sl->authed = true;
		table.preauth[sl->listener]--;
		table.authed[sl->listener]++;
	}
	pthread_mutex_unlock(&table.mu);
	if (ok)
		ar_conn_set_deadline(&ss->c, srv->lim.session_ms);
	return ok;
}

/* Leave the table first, then close: a slot never names a closed descriptor, so the
 * accept loop never shuts down a descriptor number reused by a newer connection. */
static void slot_release(struct ar_session *ss)
{
	pthread_mutex_lock(&table.mu);
	struct slot *sl = &table.slots[ss->slot];
	if (sl->authed)
		table.authed[sl->listener]--;
	else
		table.preauth[sl->listener]--;
	sl->used = false;
	table.active--;
	pthread_mutex_unlock(&table.mu);
	ar_conn_close(&ss->c);
}

static void journal_handshake(struct ar_session *ss)
{
	struct ar_server *srv = ss->srv;
	char err[256], peer[256] = "";
	if (ar_conn_tls_accept(&ss->c, srv->tls, err, sizeof err) < 0) {
		__atomic_add_fetch(&srv->tls_failures, 1, __ATOMIC_RELAXED);
		fprintf(stderr, "sluice-archive: journal %s: %s\n", ss->addr, err);
		return;
	}
	if (ar_tls_peer_name(ss->c.ssl, peer, sizeof peer) < 0 ||
	    !ar_allowed(&srv->journal_allow, peer)) {
		fprintf(stderr, "sluice-archive: journal %s: peer \"%s\" is not allowed to submit\n",
			ss->addr, peer);
		/* no reply frame: the sender keeps its records (a REFUSE would set the first
		 * one aside as bad); the reason is in this log */
		return;
	}
	if (!ar_session_authenticated(ss, peer)) {
		fprintf(stderr, "sluice-archive: journal %s (%s): too many connections\n",
			ss->addr, peer);
		return;
	}
	ar_journal_session(ss);
}

static void *session_main(void *arg)
{
	struct ar_session *ss = arg;
	if (ss->kind == AR_LISTEN_JOURNAL)
		journal_handshake(ss);
	else
		ar_smtp_session(ss);
	if (ss->c.timed_out)
		__atomic_add_fetch(&ss->srv->timeouts, 1, __ATOMIC_RELAXED);
	slot_release(ss);
	free(ss);
	return NULL;
}

/* The oldest connection still in listener l's handshake: dropped for a newcomer. */
static void evict_oldest_preauth(int l)
{
	struct slot *old = NULL;
	for (size_t i = 0; i < table.n; i++) {
		struct slot *s = &table.slots[i];
		if (s->used && !s->authed && s->listener == l && s->fd >= 0 &&
		    (!old || s->since_ms < old->since_ms))
			old = s;
	}
	if (old) {
		shutdown(old->fd, SHUT_RDWR);
		old->fd = -1; /* once */
	}
}

static void start_session(struct ar_server *srv, int l, enum ar_listener_kind kind, int fd,
	const struct sockaddr_storage *addr)
{
	const struct ar_limits *lim = &srv->lim;
	pthread_mutex_lock(&table.mu);
	unsigned same = 0;
	struct slot *free_slot = NULL;
	for (size_t i = 0; i < table.n; i++) {
		struct slot *s = &table.slots[i];
		if (!s->used)
			free_slot = free_slot ? free_slot : s;
		else if (s->listener == l && same_host(&s->addr, addr))
			same++;
	}
	if (same >= lim->max_per_addr || !free_slot) {
		pthread_mutex_unlock(&table.mu);
		__atomic_add_fetch(&srv->rejected_conns, 1, __ATOMIC_RELAXED);
		if (kind == AR_LISTEN_SMTP) {
			static const char busy[] = "421 4.7.0 too many connections\r\n";
			if (write(fd, busy, sizeof busy - 1) < 0) {
				/* the peer is gone already */
			}
		}
		close(fd);
		return;
	}
	if (table.preauth[l] >= lim->max_preauth)
		evict_oldest_preauth(l);
	struct ar_session *ss = calloc(1, sizeof *ss);
	if (!ss) {
		pthread_mutex_unlock(&table.mu);
		close(fd);
		return;
	}
	ss->srv = srv;
	ss->kind = kind;
	ss->slot = (int)(free_slot - table.slots);
	ar_sockaddr_str((const struct sockaddr *)addr, ss->addr, sizeof ss->addr);
	struct sockaddr_storage me;
	socklen_t ml = sizeof me;
	if (getsockname(fd, (struct sockaddr *)&me, &ml) == 0)
		ar_sockaddr_str((struct sockaddr *)&me, ss->local, sizeof ss->local);
	ar_conn_init(&ss->c, fd, lim->idle_ms, lim->handshake_ms);
	*free_slot = (struct slot){ .used = true, .listener = l, .fd = fd, .addr = *addr,
		.since_ms = ar_now_ms(), .ss = ss };
	table.preauth[l]++;
	table.active++;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256u << 10);
	pthread_t th;
	if (pthread_create(&th, &attr, session_main, ss) != 0) {
		free_slot->used = false;
		table.preauth[l]--;
		table.active--;
		close(fd);
		free(ss);
	}
	pthread_attr_destroy(&attr);
	__atomic_add_fetch(&srv->connections, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&table.mu);
}

bool ar_serve(struct ar_server *srv, const struct ar_listener *ls, size_t n,
	volatile sig_atomic_t *stop, void (*idle)(struct ar_server *))
{
	const struct ar_limits *lim = &srv->lim;
	table.n = n * (lim->max_conns + 2 * lim->max_preauth);
	table.slots = calloc(table.n, sizeof *table.slots);
	if (!table.slots)
		return false;
	struct pollfd p[4];
	while (!*stop) {
		for (size_t i = 0; i < n && i < 4; i++)
			p[i] = (struct pollfd){ .fd = ls[i].fd, .events = POLLIN };
		int r = poll(p, (nfds_t)(n < 4 ? n : 4), 1000);
		if (r < 0 && errno != EINTR)
			break;
		for (size_t i = 0; r > 0 && i < n && i < 4; i++) {
			if (!(p[i].revents & POLLIN))
				continue;
			struct sockaddr_storage addr;
			socklen_t al = sizeof addr;
			int fd = accept4(ls[i].fd, (struct sockaddr *)&addr, &al, SOCK_CLOEXEC);
			if (fd < 0)
				continue;
			if (!addr_allowed(srv, &addr)) {
				__atomic_add_fetch(&srv->rejected_conns, 1, __ATOMIC_RELAXED);
				close(fd);
				continue;
			}
			start_session(srv, (int)i, ls[i].kind, fd, &addr);
		}
		if (r == 0 && idle)
			idle(srv);
	}
	/* stop: no new connections; wake the open ones; let them finish their batch */
	srv->stopping = 1;
	pthread_mutex_lock(&table.mu);
	for (size_t i = 0; i < table.n; i++)
		if (table.slots[i].used && table.slots[i].fd >= 0)
			shutdown(table.slots[i].fd, SHUT_RD);
	pthread_mutex_unlock(&table.mu);
	for (int waited = 0; waited < 100; waited++) {
		pthread_mutex_lock(&table.mu);
		unsigned a = table.active;
		pthread_mutex_unlock(&table.mu);
		if (!a)
			return true;
		usleep(50000);
	}
	return false;
}

int ar_listen(const char *addr, char *err, size_t errlen)
{
	char host[256];
	const char *colon = strrchr(addr, ':');
	if (!colon) {
		snprintf(err, errlen, "%s: want ADDR:PORT", addr);
		return -1;
	}
	size_t hl = (size_t)(colon - addr);
	const char *h = addr;
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (!hl) {
		/* the archive is not for the outside: it listens where it is told to */
		snprintf(err, errlen, "%s: give the address to listen on (ADDR:PORT); "
				"an empty one would bind every interface", addr);
		return -1;
	}
	if (hl >= sizeof host) {
		snprintf(err, errlen, "%s: host too long", addr);
		return -1;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
		.ai_flags = AI_PASSIVE | AI_NUMERICSERV | AI_NUMERICHOST };
	struct addrinfo *res;
	int g = getaddrinfo(host, colon + 1, &hints, &res);
	if (g) {
		snprintf(err, errlen, "%s: %s (a numeric address is needed)", addr, gai_strerror(g));
		return -1;
	}
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 128) < 0) {
		snprintf(err, errlen, "listen %s: %s", addr, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

void ar_sockaddr_str(const struct sockaddr *sa, char *out, size_t n)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof ip);
		snprintf(out, n, "%s:%u", ip, ntohs(s4->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip);
		snprintf(out, n, "[%s]:%u", ip, ntohs(s6->sin6_port));
	} else {
		snprintf(out, n, "unknown");
	}
}
