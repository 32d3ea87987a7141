/* The archive's listeners: the journal protocol (docs/journal-protocol.md) and
 * SMTP/LMTP for mail hosts. One thread per connection; records go through the shared
 * committer, and a record is acknowledged only once its batch is synced. */
#ifndef ARCHIVE_NET_H
#define ARCHIVE_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ingest.h"

struct ar_conn {
	int fd;
	uint8_t buf[65536];
	size_t start, end;
};

void ar_conn_init(struct ar_conn *c, int fd);
/* 0, or -1 on EOF / error. */
int ar_conn_read(struct ar_conn *c, void *p, size_t n);
/* A line up to LF (LF kept) of at most max bytes: its length, 0 on EOF, -1 when longer
 * than max (the rest of the line is skipped). */
ssize_t ar_conn_line(struct ar_conn *c, char *out, size_t max);
/* Bytes are waiting (buffered or in the socket). */
bool ar_conn_pending(struct ar_conn *c);
int ar_conn_write(struct ar_conn *c, const void *p, size_t n);

/* Listen on "ADDR:PORT" ("[v6]:port" too). fd or -1 with a reason. */
int ar_listen(const char *addr, char *err, size_t errlen);
/* "ip:port" of a socket address. */
void ar_sockaddr_str(const struct sockaddr *sa, char *out, size_t n);

struct ar_server {
	struct ar_store *s;
	struct ar_committer *cm;
	const char *smtp_source;     /* source name of SMTP journal records ("" = HELO name) */
	int smtp_direction;          /* direction recorded for SMTP journal copies */
	bool lmtp;
	const char *hostname;
	volatile int stopping;
	unsigned window;             /* journal records in flight per connection */
	/* counters */
	uint64_t records, refused, connections;
};

/* Serve one accepted connection (runs in its own thread). */
void ar_journal_conn(struct ar_server *srv, int fd);
void ar_smtp_conn(struct ar_server *srv, int fd);

#endif
