/* The archive's listeners: the journal protocol (docs/journal-protocol.md) over mutual
 * TLS, and SMTP/LMTP with STARTTLS and client certificates for mail hosts. One thread
 * per connection; records go through the shared committer, and a record is
 * acknowledged only once its batch is synced. docs/archive.md "Transport" has the
 * limits and the threat model. */
#ifndef ARCHIVE_NET_H
#define ARCHIVE_NET_H

#include <netinet/in.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "copy.h"
#include "ingest.h"

/* ---- one connection's I/O (conn.c) ---- */

struct ar_conn {
	int fd;
	SSL *ssl;                /* NULL until the TLS handshake */
	int idle_ms;             /* one wait for the peer at most this long */
	uint64_t deadline_ms;    /* the current phase (handshake, session) ends then */
	bool timed_out;
	uint8_t buf[65536];
	size_t start, end;
};

uint64_t ar_now_ms(void); /* monotonic */
/* Makes fd non-blocking; the first phase (handshake) lasts phase_ms. */
void ar_conn_init(struct ar_conn *c, int fd, int idle_ms, int phase_ms);
void ar_conn_set_deadline(struct ar_conn *c, int ms);
/* 0, or -1 on EOF / error / timeout. */
int ar_conn_read(struct ar_conn *c, void *p, size_t n);
/* A line up to LF (LF kept) of at most max bytes: its length, 0 on EOF, -1 when longer
 * than max (the rest of the line is skipped). */
ssize_t ar_conn_line(struct ar_conn *c, char *out, size_t max);
/* Bytes are waiting (buffered, in TLS, or in the socket). */
bool ar_conn_pending(struct ar_conn *c);
bool ar_conn_buffered(const struct ar_conn *c);
int ar_conn_write(struct ar_conn *c, const void *p, size_t n);
/* Server side of the TLS handshake (refused when clear-text bytes are buffered). */
int ar_conn_tls_accept(struct ar_conn *c, SSL_CTX *ctx, char *err, size_t errlen);
/* Client side: the server's certificate must verify against ctx's CA and carry name. */
int ar_conn_tls_connect(struct ar_conn *c, SSL_CTX *ctx, const char *name, char *err,
	size_t errlen);
void ar_conn_close(struct ar_conn *c);

/* ---- re-injection to a mail host (smtp_client.c) ---- */

struct ar_smtp_envelope {
	const char *helo;
	const char *mail_from;      /* "" or NULL: <> */
	const char *const *rcpt;
	size_t nrcpt;
};
/* STARTTLS to the mail host: its certificate verified against ca and its name (name,
 * else the host part of the address); optionally our own certificate. */
struct ar_smtp_tls {
	const char *ca, *name, *cert, *key;
};
/* Hand one message to the mail host at "host:port" by SMTP (EHLO, MAIL, every RCPT
 * must be taken, DATA with the stored bytes dot-stuffed); every wait at most
 * timeout_ms. 0 when the host took it (reply: its answer to the data), -1 with the
 * step that failed and the host's answer in reply. */
int ar_smtp_send(const char *addr, const struct ar_smtp_envelope *env,
	const struct ar_smtp_tls *tls, const uint8_t *msg, size_t len, int timeout_ms, char *reply,
	size_t replylen);

/* ---- quarantine release (release.c) ---- */

/* A copy a gateway journaled with the verdict "quarantine". */
bool ar_copy_quarantined(const struct ar_copy *c);

/* The copies released so far, from the audit log's "released" entries. */
struct ar_released {
	uint64_t *copy;
	size_t n;
	bool failed;          /* an entry could not be read: the count may be short */
};
void ar_released_load(struct ar_store *s, struct ar_released *r);
size_t ar_released_times(const struct ar_released *r, uint64_t copy);
void ar_released_free(struct ar_released *r);

struct ar_release_req {
	uint32_t id;              /* the message (document id) */
	uint64_t copy;            /* its quarantined copy; UINT64_MAX: the only one */
	const char *relay, *helo; /* the mail host "host:port", our EHLO name */
	const struct ar_smtp_tls *tls; /* STARTTLS to it; NULL: plain SMTP */
	const char *const *rcpt;  /* instead of the copy's recipients (nrcpt > 0) */
	size_t nrcpt;
	bool again;               /* send a copy released before once more */
	int timeout_ms;
	const char *who;          /* JSON members naming the requester beside the OS user
	                           * (the API's "api_user"), or NULL */
};

enum ar_release_status {
	AR_RELEASED,
	AR_RELEASED_UNAUDITED,    /* sent, but the outcome entry could not be written */
	AR_RELEASE_NO_MESSAGE,
	AR_RELEASE_NOT_QUARANTINED,
	AR_RELEASE_AMBIGUOUS,     /* several quarantined copies: name one */
	AR_RELEASE_ALREADY,       /* released before (and not `again`) */
	AR_RELEASE_NO_RECIPIENT,
	AR_RELEASE_AUDIT_FAILED,  /* the intent could not be audited: nothing sent */
	AR_RELEASE_SEND_FAILED,   /* the mail host did not take it (audited) */
	AR_RELEASE_ERROR,
};

/* Release one quarantined copy: the intent audited (synced, chained) before anything is
 * sent, every recipient must be taken, the outcome audited. *copy: the copy chosen.
 * msg: the mail host's answer, or why not. */
enum ar_release_status ar_release(struct ar_store *s, const struct ar_release_req *rq,
	uint64_t *copy, char *msg, size_t msglen);

/* ---- TLS and who may connect (tls.c) ---- */

/* A server context that requires a client certificate signed by ca. */
SSL_CTX *ar_tls_server_ctx(const char *cert, const char *key, const char *ca, char *err,
	size_t errlen);
/* A client context trusting ca only; cert and key (NULL: none) prove who we are. */
SSL_CTX *ar_tls_client_ctx(const char *ca, const char *cert, const char *key, char *err,
	size_t errlen);
/* The verified peer certificate's common name. 0 or -1. */
int ar_tls_peer_name(SSL *ssl, char *out, size_t n);

struct ar_allow {
	const char **names;      /* certificate names allowed; none: any the CA signed */
	size_t n;
};
bool ar_allowed(const struct ar_allow *a, const char *name);

struct ar_net {                  /* an address block peers may come from */
	int family;
	uint8_t addr[16];
	unsigned prefix;
};

/* ---- listeners and the connection table (listener.c) ---- */

enum ar_listener_kind { AR_LISTEN_JOURNAL, AR_LISTEN_SMTP };

struct ar_limits {
	unsigned max_conns;      /* authenticated connections per listener */
	unsigned max_preauth;    /* connections still in their handshake, per listener */
	unsigned max_per_addr;   /* connections from one address, per listener */
	int idle_ms;             /* the peer silent (or not reading) this long: closed */
	int session_ms;          /* an authenticated connection lasts at most this long */
	int handshake_ms;        /* until the peer is authenticated */
	size_t inflight_bytes;   /* journal payload bytes held in memory, all connections */
};

struct ar_server {
	struct ar_store *s;
	struct ar_committer *cm;
	const char *smtp_source;     /* source name of SMTP journal records ("" = peer name) */
	int smtp_direction;          /* direction recorded for SMTP journal copies */
	bool lmtp;
	const char *hostname;
	volatile int stopping;
	unsigned window;             /* journal records in flight per connection */
	SSL_CTX *tls;
	struct ar_allow journal_allow, smtp_allow;
	struct ar_net *nets;         /* allowed source networks; none: any */
	size_t nnets;
	struct ar_limits lim;
	/* journal payload memory: bytes taken by connections, waiters */
	pthread_mutex_t budget_mu;
	pthread_cond_t budget_cv;
	size_t budget_used;
	/* counters */
	uint64_t records, refused, connections, rejected_conns, tls_failures, timeouts;
};

/* A connection being served: its I/O and what the archive knows about the peer. */
struct ar_session {
	struct ar_server *srv;
	struct ar_conn c;
	enum ar_listener_kind kind;
	char addr[80];               /* the peer's address, from the socket */
	char local[80];              /* ours */
	char peer[256];              /* the authenticated certificate name, once known */
	int slot;
};

/* The peer passed TLS and the allowlist: the connection leaves the handshake pool
 * (its deadline becomes the session's). false when the listener is full. */
bool ar_session_authenticated(struct ar_session *ss, const char *peer);

/* Message bytes held in memory by all connections (journal payloads, SMTP DATA) stay
 * under lim.inflight_bytes: take n before holding them (at once when !wait, else until
 * the connection's deadline), give them back after. A claim always fits when nothing
 * else is held. */
bool ar_budget_take(struct ar_server *srv, size_t n, bool wait, struct ar_conn *c);
void ar_budget_give(struct ar_server *srv, size_t n);

/* Listen on "ADDR:PORT" ("[v6]:port" too; the address is required). fd or -1. */
int ar_listen(const char *addr, char *err, size_t errlen);
/* "ip:port" of a socket address. */
void ar_sockaddr_str(const struct sockaddr *sa, char *out, size_t n);
/* Parse "192.0.2.0/24" / "2001:db8::/32". 0 or -1. */
int ar_net_parse(const char *s, struct ar_net *out);

struct ar_listener {
	int fd;
	enum ar_listener_kind kind;
};

/* Accept and serve until *stop; `idle` runs about once a second when nothing happens.
 * Then stops accepting, ends the open connections and waits for them (up to 5 s).
 * Returns true when every connection ended. */
bool ar_serve(struct ar_server *srv, const struct ar_listener *ls, size_t n,
	volatile sig_atomic_t *stop, void (*idle)(struct ar_server *));

void ar_server_init(struct ar_server *srv);

/* Serve one connection (its own thread). */
void ar_journal_session(struct ar_session *ss);
void ar_smtp_session(struct ar_session *ss);

#endif
