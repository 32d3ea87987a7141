/* The journal client's connection to an archive: TCP, then mutual TLS when configured
 * (the archive's CA, this producer's certificate and key). */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

struct sl_journal_link {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
};

int sl_journal_tcp_connect(const char *addr, int timeout_ms, char *err, size_t errlen)
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

static int read_all(struct sl_journal_link *l, uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r;
		if (l->ssl) {
			int k = SSL_read(l->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
			r = k > 0 ? k : -1;
			if (k <= 0)
				ERR_clear_error();
		} else {
			r = read(l->fd, p, n);
			if (r < 0 && errno == EINTR)
				continue;
		}
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int sl_journal_link_write(struct sl_journal_link *l, const void *buf, size_t n)
{
	if (!l->ssl)
		return sl_journal_write_all(l->fd, buf, n);
	const uint8_t *p = buf;
	while (n) {
		int w = SSL_write(l->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
		if (w <= 0) {
			ERR_clear_error();
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int sl_journal_read_reply(struct sl_journal_link *l, int *type, uint8_t id[32], int *status,
	char *reason, size_t reasonlen)
{
	uint8_t hdr[SL_JOURNAL_HEADER_LEN];
	uint8_t payload[33 + SL_JOURNAL_MAX_FIELD];
	uint32_t len, crc;
	char err[128];
	if (read_all(l, hdr, sizeof hdr) < 0) {
		snprintf(reason, reasonlen, "connection closed");
		return -1;
	}
	if (sl_journal_header_parse(hdr, type, &len, &crc, err, sizeof err) < 0 ||
	    (*type != SL_JFRAME_ACK && *type != SL_JFRAME_REFUSE) || len > sizeof payload) {
		snprintf(reason, reasonlen, "bad reply frame");
		return -1;
	}
	if (read_all(l, payload, len) < 0) {
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

static void set_timeouts(int fd, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static int tls_fail(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	snprintf(err, errlen, "TLS %s: %s", what, e ? ERR_reason_error_string(e) : "failed");
	ERR_clear_error();
	return -1;
}

static int tls_start(struct sl_journal_link *l, const struct sl_journal_tls *tls, char *err,
	size_t errlen)
{
	l->ctx = SSL_CTX_new(TLS_client_method());
	if (!l->ctx)
		return tls_fail(err, errlen, "context");
	SSL_CTX_set_min_proto_version(l->ctx, TLS1_2_VERSION);
	if (SSL_CTX_load_verify_locations(l->ctx, tls->ca, NULL) != 1)
		return tls_fail(err, errlen, tls->ca);
	if (SSL_CTX_use_certificate_chain_file(l->ctx, tls->cert) != 1)
		return tls_fail(err, errlen, tls->cert);
	if (SSL_CTX_use_PrivateKey_file(l->ctx, tls->key, SSL_FILETYPE_PEM) != 1)
		return tls_fail(err, errlen, tls->key);
	/* the archive must prove itself with a certificate from its CA (and its name) */
	SSL_CTX_set_verify(l->ctx, SSL_VERIFY_PEER, NULL);
	l->ssl = SSL_new(l->ctx);
	if (!l->ssl || !SSL_set_fd(l->ssl, l->fd))
		return tls_fail(err, errlen, "session");
	if (tls->server_name && *tls->server_name &&
	    (SSL_set1_host(l->ssl, tls->server_name) != 1 ||
	     SSL_set_tlsext_host_name(l->ssl, tls->server_name) != 1))
		return tls_fail(err, errlen, "server name");
	if (SSL_connect(l->ssl) != 1) {
		long v = SSL_get_verify_result(l->ssl);
		if (v != X509_V_OK) {
			snprintf(err, errlen, "TLS: the archive's certificate is refused: %s",
				X509_verify_cert_error_string(v));
			ERR_clear_error();
			return -1;
		}
		return tls_fail(err, errlen, "handshake");
	}
	return 0;
}

struct sl_journal_link *sl_journal_link_open(const char *addr, const struct sl_journal_tls *tls,
	int timeout_ms, char *err, size_t errlen)
{
	struct sl_journal_link *l = calloc(1, sizeof *l);
	if (!l) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l->fd = sl_journal_tcp_connect(addr, timeout_ms, err, errlen);
	if (l->fd < 0) {
		free(l);
		return NULL;
	}
	set_timeouts(l->fd, timeout_ms);
	if (tls && tls->ca && tls_start(l, tls, err, errlen) < 0) {
		sl_journal_link_close(l);
		return NULL;
	}
	/* replies wait for a group commit: generous, but never forever */
	set_timeouts(l->fd, 60000);
	return l;
}

void sl_journal_link_close(struct sl_journal_link *l)
{
	if (!l)
		return;
	if (l->ssl) {
		SSL_shutdown(l->ssl);
		SSL_free(l->ssl);
	}
	SSL_CTX_free(l->ctx);
	if (l->fd >= 0)
		close(l->fd);
	free(l);
}
