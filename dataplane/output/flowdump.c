#include "flowdump.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "msgfile.h"
#include "smtp/smtpflow.h"

int dp_flowdump_open(struct dp_flowdump *d, const char *dir, char *err, size_t errlen)
{
	memset(d, 0, sizeof *d);
	if ((size_t)snprintf(d->dir, sizeof d->dir, "%s/flows", dir) >= sizeof d->dir) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	if (dp_mkdirs(d->dir) != 0) {
		snprintf(err, errlen, "%s: %s", d->dir, strerror(errno));
		return -1;
	}
	return 0;
}

void dp_flowdump_feed(void *arg, const void *sf, int dir, const uint8_t *p, size_t n)
{
	struct dp_flowdump *d = arg;
	if (dir != SL_CLIENT)
		return;
	const struct sockaddr_storage *client = &((const struct dp_smtpflow *)sf)->client_addr;
	char ip[INET6_ADDRSTRLEN] = "", path[1200];
	unsigned port = 0;
	if (client->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)client;
		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
		port = ntohs(a->sin_port);
	} else if (client->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)client;
		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
		port = ntohs(a->sin6_port);
	}
	snprintf(path, sizeof path, "%s/%s_%u.client", d->dir, ip, port);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) {
		d->failed++;
		return;
	}
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w <= 0) {
			if (w < 0 && errno == EINTR)
				continue;
			d->failed++;
			break;
		}
		p += w;
		n -= (size_t)w;
	}
	close(fd);
}
