/* Networks, domains and the direction of a message (inbound, outbound, internal). */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

bool pol_cidr_parse(const char *s, struct pol_cidr *out, const char **err)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t al = slash ? (size_t)(slash - s) : strlen(s);
	if (al >= sizeof buf) {
		*err = "not an IP address";
		return false;
	}
	memcpy(buf, s, al);
	buf[al] = '\0';
	memset(out, 0, sizeof *out);
	unsigned maxbits;
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = 4;
		maxbits = 32;
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = 6;
		maxbits = 128;
	} else {
		*err = "not an IP address or network (192.0.2.0/24, 2001:db8::/32)";
		return false;
	}
	unsigned bits = maxbits;
	if (slash) {
		char *end;
		unsigned long b = strtoul(slash + 1, &end, 10);
		if (!slash[1] || *end || b > maxbits) {
			*err = out->family == 4 ? "prefix length must be 0..32" : "prefix length must be 0..128";
			return false;
		}
		bits = (unsigned)b;
	}
	out->bits = (uint8_t)bits;
	/* host bits set (192.0.2.1/24) is almost always a typo: refuse it */
	for (unsigned i = bits; i < maxbits; i++)
		if (out->addr[i / 8] & (0x80 >> (i % 8))) {
			*err = "address has bits set beyond the prefix length";
			return false;
		}
	return true;
}

static bool prefix_eq(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned bytes = bits / 8;
	if (memcmp(a, b, bytes) != 0)
		return false;
	if (bits % 8) {
		uint8_t mask = (uint8_t)(0xff << (8 - bits % 8));
		return (a[bytes] & mask) == (b[bytes] & mask);
	}
	return true;
}

bool pol_cidr_match(const struct pol_cidr *c, uint32_t n, const struct sockaddr_storage *a)
{
	uint8_t addr[16];
	int family;
	if (a->ss_family == AF_INET) {
		memcpy(addr, &((const struct sockaddr_in *)a)->sin_addr, 4);
		family = 4;
	} else if (a->ss_family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)a)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			memcpy(addr, a6->s6_addr + 12, 4);
			family = 4;
		} else {
			memcpy(addr, a6->s6_addr, 16);
			family = 6;
		}
	} else {
		return false;
	}
	for (uint32_t i = 0; i < n; i++)
		if (c[i].family == family && prefix_eq(c[i].addr, addr, c[i].bits))
			return true;
	return false;
}

void pol_addr_domain(const char *addr, char *out, size_t outlen)
{
	const char *at = strrchr(addr, '@');
	size_t i = 0;
	if (at) {
		for (const char *c = at + 1; *c && *c != '>' && i + 1 < outlen; c++)
			out[i++] = (char)tolower((unsigned char)*c);
		while (i > 0 && out[i - 1] == '.') /* a trailing dot is the same domain */
			i--;
	}
	out[i] = '\0';
}

/* example.com covers example.com and its subdomains (mail.example.com). */
bool pol_domain_internal(const struct sl_policy *p, const char *domain)
{
	size_t dl = strlen(domain);
	if (!dl)
		return false;
	for (uint32_t i = 0; i < p->ninternal_domains; i++) {
		const char *d = p->internal_domains[i];
		size_t l = strlen(d);
		if (dl == l && memcmp(domain, d, l) == 0)
			return true;
		if (dl > l && domain[dl - l - 1] == '.' && memcmp(domain + dl - l, d, l) == 0)
			return true;
	}
	return false;
}

/* From an internal network or an internal sender domain, to at least one outside
 * recipient: outbound. From inside to inside only: internal. Anything else: inbound.
 * A message from inside with no recipient known counts as outbound, so DLP rules
 * still apply when the envelope is incomplete. */
enum sl_direction pol_direction(const struct sl_policy *p, const struct sl_envelope *env)
{
	if (!env)
		return SL_DIR_INBOUND;
	char dom[SL_ADDR_MAX];
	pol_addr_domain(env->mail_from, dom, sizeof dom);
	bool from_inside = pol_domain_internal(p, dom) ||
	                   pol_cidr_match(p->internal_nets, p->ninternal_nets, &env->client.addr);
	if (!from_inside)
		return SL_DIR_INBOUND;
	size_t counted = 0;
	for (size_t i = 0; i < env->nrcpt; i++) {
		if (!sl_rcpt_counts(&env->rcpt[i]))
			continue;
		counted++;
		pol_addr_domain(env->rcpt[i].addr, dom, sizeof dom);
		if (!pol_domain_internal(p, dom))
			return SL_DIR_OUTBOUND;
	}
	return counted ? SL_DIR_INTERNAL : SL_DIR_OUTBOUND;
}
