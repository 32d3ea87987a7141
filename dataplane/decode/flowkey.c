#include "decode/flowkey.h"

#include <string.h>

/* Order of two addresses as big-endian numbers (constant-size loads: this runs for
 * every frame). */
static int addr_cmp(const uint8_t *a, const uint8_t *b, bool v4)
{
	if (v4) {
		uint32_t x, y;
		memcpy(&x, a, 4);
		memcpy(&y, b, 4);
		x = __builtin_bswap32(x);
		y = __builtin_bswap32(y);
		return (x > y) - (x < y);
	}
	uint64_t x[2], y[2];
	memcpy(x, a, 16);
	memcpy(y, b, 16);
	for (int i = 0; i < 2; i++) {
		uint64_t u = __builtin_bswap64(x[i]), v = __builtin_bswap64(y[i]);
		if (u != v)
			return u > v ? 1 : -1;
	}
	return 0;
}

void dp_flow_key_make(const struct dp_pkt *p, struct dp_flow_key *k, bool *swapped)
{
	bool v4 = p->ip_version == 4;
	int c = addr_cmp(p->src, p->dst, v4);
	bool sw = c > 0 || (c == 0 && p->sport > p->dport);
	const uint8_t *lo = sw ? p->dst : p->src, *hi = sw ? p->src : p->dst;
	memset(k, 0, sizeof *k);
	if (v4) {
		memcpy(k->lo_addr, lo, 4);
		memcpy(k->hi_addr, hi, 4);
	} else {
		memcpy(k->lo_addr, lo, 16);
		memcpy(k->hi_addr, hi, 16);
	}
	k->lo_port = sw ? p->dport : p->sport;
	k->hi_port = sw ? p->sport : p->dport;
	k->vlan = p->nvlan ? (uint16_t)(p->vlan_tci[0] & 0xfff) : 0;
	k->ip_version = p->ip_version;
	if (swapped)
		*swapped = sw;
}

bool dp_flow_key_is_lo(const struct dp_flow_key *k, const struct dp_pkt *p)
{
	return p->sport == k->lo_port && addr_cmp(p->src, k->lo_addr, p->ip_version == 4) == 0;
}

/* SipHash-1-3 (Aumasson and Bernstein) of the key's words: a keyed hash is what stops
 * chosen-collision floods; one compression round per word is plenty for a table hash
 * and cheap enough per frame. */
static uint64_t sip_k0 = 0x736f6d6570736575ull, sip_k1 = 0x646f72616e646f6dull;

void dp_flow_hash_set_key(const uint8_t key[16])
{
	memcpy(&sip_k0, key, 8);
	memcpy(&sip_k1, key + 8, 8);
}

static inline uint64_t rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

#define SIPROUND(v0, v1, v2, v3) \
	do { \
		v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32); \
		v2 += v3; v3 = rotl(v3, 16); v3 ^= v2; \
		v0 += v3; v3 = rotl(v3, 21); v3 ^= v0; \
		v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32); \
	} while (0)

uint32_t dp_keyed_hash(const uint64_t *w, size_t n)
{
	uint64_t v0 = sip_k0 ^ 0x736f6d6570736575ull, v1 = sip_k1 ^ 0x646f72616e646f6dull;
	uint64_t v2 = sip_k0 ^ 0x6c7967656e657261ull, v3 = sip_k1 ^ 0x7465646279746573ull;
	for (size_t i = 0; i < n; i++) {
		v3 ^= w[i];
		SIPROUND(v0, v1, v2, v3);
		v0 ^= w[i];
	}
	uint64_t b = (uint64_t)(n * 8) << 56;
	v3 ^= b;
	SIPROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	uint64_t h = v0 ^ v1 ^ v2 ^ v3;
	return (uint32_t)(h ^ (h >> 32));
}

uint32_t dp_flow_key_hash(const struct dp_flow_key *k)
{
	uint64_t w[sizeof *k / 8];
	_Static_assert(sizeof(struct dp_flow_key) % 8 == 0, "key is whole words");
	memcpy(w, k, sizeof w);
	return dp_keyed_hash(w, sizeof w / sizeof w[0]);
}

uint32_t dp_client_net_hash(uint8_t family, const uint8_t *addr)
{
	/* the /24 (IPv4) or /64 (IPv6): a source and its network land on one worker */
	uint64_t w[2] = {0, 0};
	if (family == 4) {
		memcpy(w, addr, 3);
		w[1] = 4;
	} else {
		memcpy(w, addr, 8);
		w[1] = 6;
	}
	return dp_keyed_hash(w, 2);
}

bool dp_flow_key_eq(const struct dp_flow_key *a, const struct dp_flow_key *b)
{
	uint64_t x[sizeof *a / 8], y[sizeof *a / 8], d = 0;
	memcpy(x, a, sizeof x);
	memcpy(y, b, sizeof y);
	for (size_t i = 0; i < sizeof x / sizeof x[0]; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

uint32_t dp_flow_hash_pkt(const struct dp_pkt *p)
{
	struct dp_flow_key k;
	dp_flow_key_make(p, &k, NULL);
	return dp_flow_key_hash(&k);
}
