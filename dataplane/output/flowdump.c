#include "flowdump.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msgfile.h"
#include "smtp/smtpflow.h"
#include "spsc.h"

struct fd_chunk {
	struct sockaddr_storage client; /* names the file */
	uint32_t len;
	uint8_t data[DP_FLOWDUMP_CHUNK];
};

struct dp_flowdump {
	char dir[1024];            /* DIR/flows */
	struct dp_counters *ctr;
	struct dp_spsc to_sink;    /* worker -> sink thread: filled chunks */
	struct dp_spsc free;       /* sink thread -> worker: chunks to fill */
	void **slots;              /* both rings' storage */
	struct fd_chunk *chunks;
};

void dp_flowdump_free(struct dp_flowdump *d)
{
	if (!d)
		return;
	free(d->slots);
	free(d->chunks);
	free(d);
}

struct dp_flowdump *dp_flowdump_new(const char *dir, uint64_t bytes, struct dp_counters *ctr,
                                    char *err, size_t errlen)
{
	uint64_t n = bytes / DP_FLOWDUMP_CHUNK;
	if (n < 1 || n > 1u << 24) {
		snprintf(err, errlen, "a flow dump of %llu bytes: it takes %u bytes to %u chunks of %u",
		         (unsigned long long)bytes, DP_FLOWDUMP_CHUNK, 1u << 24, DP_FLOWDUMP_CHUNK);
		return NULL;
	}
	struct dp_flowdump *d = calloc(1, sizeof *d);
	if (!d) {
		snprintf(err, errlen, "no memory for the flow dump");
		return NULL;
	}
	uint32_t ring = dp_spsc_size_for(n);
	d->slots = calloc(2 * (size_t)ring, sizeof *d->slots);
	d->chunks = calloc(n, sizeof *d->chunks);
	if (!d->slots || !d->chunks) {
		snprintf(err, errlen, "no memory for the flow dump's %llu bytes", (unsigned long long)bytes);
		dp_flowdump_free(d);
		return NULL;
	}
	if ((size_t)snprintf(d->dir, sizeof d->dir, "%s/flows", dir) >= sizeof d->dir) {
		snprintf(err, errlen, "%s: path too long", dir);
		dp_flowdump_free(d);
		return NULL;
	}
	if (dp_mkdirs(d->dir) != 0) {
		snprintf(err, errlen, "%s: %s", d->dir, strerror(errno));
		dp_flowdump_free(d);
		return NULL;
	}
	d->ctr = ctr;
	dp_spsc_init(&d->to_sink, d->slots, ring);
	dp_spsc_init(&d->free, d->slots + ring, ring);
	for (uint64_t i = 0; i < n; i++) /* before the sink thread starts: it owns this side */
		dp_spsc_push(&d->free, &d->chunks[i]);
	return d;
}

void dp_flowdump_feed(void *arg, const void *sf, int dir, const uint8_t *p, size_t n)
{
	struct dp_flowdump *d = arg;
	if (dir != SL_CLIENT)
		return;
	const struct sockaddr_storage *client = &((const struct dp_smtpflow *)sf)->client_addr;
	while (n) {
		struct fd_chunk *c = dp_spsc_pop(&d->free);
		if (!c) { /* the sink thread is behind: these bytes are not dumped */
			d->ctr->dump_flow_overflow++;
			return;
		}
		c->client = *client;
		c->len = n < DP_FLOWDUMP_CHUNK ? (uint32_t)n : DP_FLOWDUMP_CHUNK;
		memcpy(c->data, p, c->len);
		p += c->len;
		n -= c->len;
		/* the ring has a slot for every chunk there is: cannot fail */
		(void)dp_spsc_push(&d->to_sink, c);
		d->ctr->dump_flow_queued++;
	}
}

/* Sink thread: c's bytes at the end of its flow's file. */
static bool append(const struct dp_flowdump *d, const struct fd_chunk *c)
{
	char ip[INET6_ADDRSTRLEN] = "", path[1200];
	unsigned port = 0;
	if (c->client.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)&c->client;
		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
		port = ntohs(a->sin_port);
	} else if (c->client.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&c->client;
		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
		port = ntohs(a->sin6_port);
	}
	snprintf(path, sizeof path, "%s/%s_%u.client", d->dir, ip, port);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return false;
	const uint8_t *p = c->data;
	size_t n = c->len;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		p += w;
		n -= (size_t)w;
	}
	return close(fd) == 0 && n == 0;
}

unsigned dp_flowdump_service(struct dp_flowdump *d)
{
	unsigned n = 0;
	struct fd_chunk *c;
	while ((c = dp_spsc_pop(&d->to_sink))) {
		if (!append(d, c))
			d->ctr->dump_flow_failed++;
		/* room for every chunk there is: cannot fail */
		(void)dp_spsc_push(&d->free, c);
		n++;
	}
	return n;
}

static unsigned service(void *d)
{
	return dp_flowdump_service(d);
}

struct dp_sink_work dp_flowdump_work(struct dp_flowdump *d)
{
	return (struct dp_sink_work){service, d};
}
