#include "pool/pool.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const state_names[] = {"up", "drain", "down"};

const char *dp_pool_state_name(enum dp_pool_state s)
{
	return (unsigned)s < 3 ? state_names[s] : "?";
}

int dp_pool_state_parse(const char *s, enum dp_pool_state *out)
{
	for (int i = 0; i < 3; i++)
		if (strcmp(s, state_names[i]) == 0) {
			*out = (enum dp_pool_state)i;
			return 0;
		}
	return -1;
}

int dp_pool_build(struct dp_pool *p, char *err, size_t errlen)
{
	if (p->nhosts > DP_POOL_MAX_HOSTS || !p->nports || p->nports > DP_POOL_MAX_PORTS ||
	    (!p->has[DP_FAM4] && !p->has[DP_FAM6])) {
		snprintf(err, errlen, "a pool needs a service address, 1 to %d ports and at most %d hosts",
		         DP_POOL_MAX_PORTS, DP_POOL_MAX_HOSTS);
		return -1;
	}
	memset(p->by_slot, DP_MAGLEV_NONE, sizeof p->by_slot);
	for (unsigned i = 0; i < p->nhosts; i++) {
		const struct dp_pool_host *h = &p->host[i];
		if (h->slot >= DP_POOL_MAX_HOSTS || p->by_slot[h->slot] != DP_MAGLEV_NONE) {
			snprintf(err, errlen, "host %s: slot %u taken or out of range", h->name, h->slot);
			return -1;
		}
		for (unsigned j = 0; j < i; j++)
			if (strcmp(p->host[j].name, h->name) == 0) {
				snprintf(err, errlen, "host %s named twice", h->name);
				return -1;
			}
		if (!h->has[DP_FAM4] && !h->has[DP_FAM6]) {
			snprintf(err, errlen, "host %s has no address", h->name);
			return -1;
		}
		p->by_slot[h->slot] = (uint8_t)i;
	}
	for (int fam = 0; fam < DP_NFAMS; fam++) {
		struct dp_maglev_backend b[DP_POOL_MAX_HOSTS];
		for (unsigned i = 0; i < p->nhosts; i++) {
			const struct dp_pool_host *h = &p->host[i];
			bool in = p->has[fam] && h->has[fam] && h->state == DP_HOST_UP;
			b[i] = (struct dp_maglev_backend){h->name, in ? h->weight : 0, (uint8_t)i};
		}
		if (dp_maglev_build(p->table[fam], DP_MAGLEV_SIZE, b, p->nhosts) < 0) {
			snprintf(err, errlen, "cannot build the lookup table (weights 0..%u)", DP_MAGLEV_MAX_WEIGHT);
			return -1;
		}
		for (unsigned i = 0; i < p->nhosts; i++)
			p->host[i].entries[fam] = 0;
		for (uint32_t e = 0; e < DP_MAGLEV_SIZE; e++)
			if (p->table[fam][e] != DP_MAGLEV_NONE)
				p->host[p->table[fam][e]].entries[fam]++;
	}
	return 0;
}

int dp_pool_pick(const struct dp_pool *p, int fam, uint32_t h)
{
	uint8_t i = dp_maglev_lookup(p->table[fam], DP_MAGLEV_SIZE, h);
	return i == DP_MAGLEV_NONE ? -1 : i;
}

static uint64_t mac_word(const uint8_t mac[6])
{
	uint64_t w = 0;
	for (int i = 0; i < 6; i++)
		w = w << 8 | mac[i];
	return w;
}

bool dp_pool_host_mac(const struct dp_pool *p, const struct dp_pool_host *h, int fam, uint8_t mac[6])
{
	if (h->mac_set) {
		memcpy(mac, h->mac, 6);
		return true;
	}
	uint64_t w = p->learned ? __atomic_load_n(&p->learned->mac[h->slot][fam], __ATOMIC_RELAXED) : 0;
	if (!(w & DP_MAC_KNOWN))
		return false;
	for (int i = 5; i >= 0; i--, w >>= 8)
		mac[i] = (uint8_t)w;
	return true;
}

void dp_pool_learn(struct dp_pool_learned *l, unsigned slot, int fam, const uint8_t mac[6])
{
	if (!l || slot >= DP_POOL_MAX_HOSTS || (mac[0] & 1))
		return; /* a multicast source is no host's */
	uint64_t w = DP_MAC_KNOWN | mac_word(mac);
	if (__atomic_load_n(&l->mac[slot][fam], __ATOMIC_RELAXED) != w)
		__atomic_store_n(&l->mac[slot][fam], w, __ATOMIC_RELAXED);
}

bool dp_pool_is_port(const struct dp_pool *p, uint16_t port)
{
	for (unsigned i = 0; i < p->nports; i++)
		if (p->ports[i] == port)
			return true;
	return false;
}

bool dp_pool_is_service(const struct dp_pool *p, int fam, const uint8_t *addr, uint16_t port)
{
	return p->has[fam] && memcmp(p->vip[fam], addr, dp_pool_addr_len(fam)) == 0 && dp_pool_is_port(p, port);
}

int dp_pool_parse_addr(const char *s, int *fam, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr) == 1) {
		*fam = DP_FAM4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, addr) == 1) {
		*fam = DP_FAM6;
		return 0;
	}
	return -1;
}

void dp_pool_addr_text(int fam, const uint8_t *addr, char *out, size_t len)
{
	if (!inet_ntop(fam == DP_FAM4 ? AF_INET : AF_INET6, addr, out, (socklen_t)len) && len)
		out[0] = 0;
}

int dp_pool_parse_mac(const char *s, uint8_t mac[6])
{
	if (strlen(s) != 17)
		return -1;
	for (int i = 0; i < 6; i++) {
		const char *b = s + i * 3;
		if (!isxdigit((unsigned char)b[0]) || !isxdigit((unsigned char)b[1]) || (i < 5 && b[2] != ':'))
			return -1;
		mac[i] = (uint8_t)strtoul((char[3]){b[0], b[1], 0}, NULL, 16);
	}
	static const uint8_t zero[6];
	return (mac[0] & 1) || memcmp(mac, zero, 6) == 0 ? -1 : 0;
}

void dp_pool_mac_text(const uint8_t mac[6], char *out, size_t len)
{
	snprintf(out, len, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

bool dp_pool_valid_name(const char *s)
{
	size_t n = strlen(s);
	if (!n || n >= DP_POOL_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(".-_", *s))
			return false;
	return true;
}
