/* One health check of a mail host (docs/pool.md): a TCP connection to it, its 220
 * greeting, EHLO answered 250, QUIT. What a sending MTA needs of it, no more: a host
 * that greets but cannot take mail for a domain still passes. */
#ifndef SLUICE_CONTROL_HEALTH_H
#define SLUICE_CONTROL_HEALTH_H

#include <stddef.h>
#include <stdint.h>

/* addr: an IPv4 or IPv6 address. 0 when the host passed within timeout_ms, else -1 with
 * what failed in err ("connect: Connection refused", "greeting: 421 ...", "timeout"). */
int health_check_smtp(const char *addr, uint16_t port, int timeout_ms, char *err, size_t errlen);

#endif
