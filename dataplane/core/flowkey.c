#include "flowkey.h"

#include <string.h>

void dp_flow_key_make(const struct dp_pkt *p, struct dp_flow_key *k, bool *swapped)
{
	size_t alen = p->ip_version == 4 ? 4 : 16;
	int c = memcmp(p->src, p->dst, alen);
	bool sw = c > 0 || (c == 0 && p->sport > p->dport);
	memset(k, 0, sizeof *k);
	memcpy(k->lo_addr, sw ? p->dst : p->src, alen);
	memcpy(k->hi_addr, sw ? p->src : p->dst, alen);
	k->lo_port = sw ? p->dport : p->sport;
	k->hi_port = sw ? p->sport : p->dport;
	k->vlan = p->nvlan ? (uint16_t)(p->vlan_tci[0] & 0xfff) : 0;
	k->ip_version = p->ip_version;
	if (swapped)
		*swapped = sw;
}

/* 64-bit multiply-xorshift over the key words; cheap and well mixed. */
uint32_t dp_flow_key_hash(const struct dp_flow_key *k)
{
	uint64_t w[sizeof *k / 8];
	_Static_assert(sizeof(struct dp_flow_key) % 8 == 0, "key is whole words");
	memcpy(w, k, sizeof w);
	uint64_t h = 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) {
		h ^= w[i];
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 33;
	}
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 29;
	return (uint32_t)h;
}

bool dp_flow_key_eq(const struct dp_flow_key *a, const struct dp_flow_key *b)
{
	return memcmp(a, b, sizeof *a) == 0;
}

uint32_t dp_flow_hash_pkt(const struct dp_pkt *p)
{
	struct dp_flow_key k;
	dp_flow_key_make(p, &k, NULL);
	return dp_flow_key_hash(&k);
}
