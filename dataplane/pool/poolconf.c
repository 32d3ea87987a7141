#include "pool/poolconf.h"

#include "sluice/conffile.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* "192.0.2.25, 2001:db8::25": at most one address of each family. */
static int parse_addrs(char *v, bool has[DP_NFAMS], uint8_t addr[DP_NFAMS][16], char *msg, size_t len)
{
	char *save;
	has[DP_FAM4] = has[DP_FAM6] = false;
	for (char *tok = strtok_r(v, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		tok = sl_conf_trim(tok);
		int fam;
		uint8_t a[16];
		if (dp_pool_parse_addr(tok, &fam, a)) {
			snprintf(msg, len, "address: '%.64s' is not an IPv4 or IPv6 address", tok);
			return -1;
		}
		if (has[fam]) {
			snprintf(msg, len, "address: at most one IPv4 and one IPv6 address");
			return -1;
		}
		has[fam] = true;
		memcpy(addr[fam], a, 16);
	}
	if (!has[DP_FAM4] && !has[DP_FAM6]) {
		snprintf(msg, len, "address: at least one address");
		return -1;
	}
	return 0;
}

static int parse_mac(const char *v, uint8_t mac[6], char *msg, size_t len)
{
	if (dp_pool_parse_mac(v, mac)) {
		snprintf(msg, len, "mac: expected a unicast MAC such as 02:00:5e:00:53:25");
		return -1;
	}
	return 0;
}

struct dp_pool_host *dp_poolconf_host(struct dp_pool_conf *pc, const char *name, char *msg, size_t len)
{
	if (!name || !dp_pool_valid_name(name)) {
		snprintf(msg, len, "[pool-host NAME]: a name of 1 to %d letters, digits, '.', '-', '_'",
		         DP_POOL_NAME_MAX - 1);
		return NULL;
	}
	for (unsigned i = 0; i < pc->nhosts; i++)
		if (strcmp(pc->host[i].name, name) == 0) {
			snprintf(msg, len, "[pool-host %s] given twice", name);
			return NULL;
		}
	if (pc->nhosts == DP_POOL_MAX_HOSTS) {
		snprintf(msg, len, "at most %d pool hosts", DP_POOL_MAX_HOSTS);
		return NULL;
	}
	struct dp_pool_host *h = &pc->host[pc->nhosts];
	memset(h, 0, sizeof *h);
	strcpy(h->name, name);
	h->slot = (uint8_t)pc->nhosts;
	h->weight = DP_POOL_DEFAULT_WEIGHT;
	h->state = DP_HOST_UP;
	pc->nhosts++;
	return h;
}

static int pool_key(struct dp_pool_conf *pc, const char *key, char *v, char *msg, size_t len)
{
	if (strcmp(key, "address") == 0)
		return parse_addrs(v, pc->has, pc->vip, msg, len);
	if (strcmp(key, "mac") == 0) {
		pc->mac_set = *v != 0;
		return *v ? parse_mac(v, pc->mac, msg, len) : 0;
	}
	if (strcmp(key, "ports") == 0) {
		char *save;
		pc->nports = 0;
		for (char *tok = strtok_r(v, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			tok = sl_conf_trim(tok);
			char *end;
			unsigned long port = strtoul(tok, &end, 10);
			if (!isdigit((unsigned char)*tok) || *end || port == 0 || port > 65535 ||
			    pc->nports == DP_POOL_MAX_PORTS) {
				snprintf(msg, len, "ports: 1 to %d TCP ports (1-65535)", DP_POOL_MAX_PORTS);
				return -1;
			}
			pc->ports[pc->nports++] = (uint16_t)port;
		}
		return 0;
	}
	snprintf(msg, len, "unknown key '%.64s' in [pool] (address, ports, mac)", key);
	return -1;
}

static int host_key(struct dp_pool_host *h, const char *key, char *v, char *msg, size_t len)
{
	if (strcmp(key, "address") == 0)
		return parse_addrs(v, h->has, h->addr, msg, len);
	if (strcmp(key, "mac") == 0) {
		h->mac_set = *v != 0;
		return *v ? parse_mac(v, h->mac, msg, len) : 0;
	}
	if (strcmp(key, "weight") == 0) {
		char *end;
		unsigned long w = strtoul(v, &end, 10);
		if (!isdigit((unsigned char)*v) || *end || w > DP_MAGLEV_MAX_WEIGHT) {
			snprintf(msg, len, "weight: expected a number from 0 to %u", DP_MAGLEV_MAX_WEIGHT);
			return -1;
		}
		h->weight = (unsigned)w;
		return 0;
	}
	if (strcmp(key, "state") == 0) {
		enum dp_pool_state s;
		if (dp_pool_state_parse(v, &s)) {
			snprintf(msg, len, "state: expected up, drain or down");
			return -1;
		}
		h->state = (uint8_t)s;
		return 0;
	}
	snprintf(msg, len, "unknown key '%.64s' in [pool-host %s] (address, weight, mac, state)", key, h->name);
	return -1;
}

int dp_poolconf_key(struct dp_pool_conf *pc, struct dp_pool_host *h, const char *key, char *value, char *msg,
                    size_t len)
{
	return h ? host_key(h, key, value, msg, len) : pool_key(pc, key, value, msg, len);
}

int dp_poolconf_check(struct dp_pool_conf *pc, char *msg, size_t len)
{
	if (!pc->enabled) {
		if (pc->nhosts) {
			snprintf(msg, len, "[pool-host %s] without a [pool] section", pc->host[0].name);
			return -1;
		}
		return 0;
	}
	if (!pc->has[DP_FAM4] && !pc->has[DP_FAM6]) {
		snprintf(msg, len, "[pool] needs its service address (address = 192.0.2.25, 2001:db8::25)");
		return -1;
	}
	if (!pc->nports) {
		pc->ports[0] = 25;
		pc->nports = 1;
	}
	for (unsigned i = 0; i < pc->nhosts; i++) {
		const struct dp_pool_host *h = &pc->host[i];
		if (!(h->has[DP_FAM4] && pc->has[DP_FAM4]) && !(h->has[DP_FAM6] && pc->has[DP_FAM6])) {
			snprintf(msg, len, "[pool-host %s] needs an address of the service address's family", h->name);
			return -1;
		}
	}
	return 0;
}

static void print_addrs(FILE *out, const bool has[DP_NFAMS], const uint8_t addr[DP_NFAMS][16])
{
	char text[64];
	fprintf(out, "address = ");
	for (int fam = 0, n = 0; fam < DP_NFAMS; fam++)
		if (has[fam]) {
			dp_pool_addr_text(fam, addr[fam], text, sizeof text);
			fprintf(out, "%s%s", n++ ? ", " : "", text);
		}
	fprintf(out, "\n");
}

void dp_poolconf_print(const struct dp_pool_conf *pc, FILE *out)
{
	if (!pc->enabled)
		return;
	char mac[24];
	fprintf(out, "\n[pool]\n");
	print_addrs(out, pc->has, pc->vip);
	fprintf(out, "ports = ");
	for (unsigned i = 0; i < pc->nports; i++)
		fprintf(out, "%s%u", i ? ", " : "", pc->ports[i]);
	dp_pool_mac_text(pc->mac, mac, sizeof mac);
	fprintf(out, "\nmac = %s\n", pc->mac_set ? mac : "");
	for (unsigned i = 0; i < pc->nhosts; i++) {
		const struct dp_pool_host *h = &pc->host[i];
		fprintf(out, "\n[pool-host %s]\n", h->name);
		print_addrs(out, h->has, h->addr);
		dp_pool_mac_text(h->mac, mac, sizeof mac);
		fprintf(out, "weight = %u\nmac = %s\nstate = %s\n", h->weight, h->mac_set ? mac : "",
		        dp_pool_state_name((enum dp_pool_state)h->state));
	}
}

int dp_pool_from_conf(struct dp_pool *p, const struct dp_pool_conf *pc, const uint8_t port_mac[6],
                      struct dp_pool_learned *learned, char *err, size_t errlen)
{
	p->version = 1;
	memcpy(p->has, pc->has, sizeof p->has);
	memcpy(p->vip, pc->vip, sizeof p->vip);
	memcpy(p->mac, pc->mac_set ? pc->mac : port_mac, 6);
	memcpy(p->ports, pc->ports, sizeof p->ports);
	p->nports = pc->nports;
	p->nhosts = pc->nhosts;
	memcpy(p->host, pc->host, sizeof p->host);
	p->learned = learned;
	return dp_pool_build(p, err, errlen);
}
