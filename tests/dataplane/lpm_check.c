/* The lists as sluice-dp looks them up (dataplane/lpm.c: DPDK's rte_lpm and rte_lpm6)
 * against the reference trie (dataplane/protect/prefix.c) on the same random lists: for
 * a million addresses, both name the same entry. Prefixes of every length, IPv4 and IPv6,
 * nested and overlapping, some duplicated (the last wins in both); addresses near the
 * prefixes' edges as well as random ones. Run with EAL options (no hugepages needed);
 * exits 1 on the first disagreement, printing it. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>

#include "protect/prefix.h"
#include "lpm.h"

static uint64_t state = 0x2545F4914F6CDD1Dull;

static uint32_t rnd(void)
{
	state ^= state >> 12;
	state ^= state << 25;
	state ^= state >> 27;
	return (uint32_t)((state * 0x2545F4914F6CDD1Dull) >> 32);
}

static void random_prefix(struct dp_list_entry *e, uint8_t family)
{
	uint8_t a[16];
	for (int i = 0; i < 16; i++)
		a[i] = (uint8_t)rnd();
	/* crowd them in a few networks so that they nest and overlap */
	if (family == 4) {
		a[0] = (uint8_t)(192 + rnd() % 4);
		a[1] = (uint8_t)(rnd() % 3);
	} else {
		a[0] = 0x20, a[1] = 0x01, a[2] = 0x0d, a[3] = 0xb8, a[4] = (uint8_t)(rnd() % 3);
	}
	unsigned max = family == 4 ? 32 : 128;
	uint8_t len = (uint8_t)(rnd() % 4 == 0 ? max : rnd() % (max + 1));
	memset(e, 0, sizeof *e);
	dp_prefix_of(&e->pfx, family, a, len);
	e->kind = (uint8_t)(rnd() % 2);
}

/* An address inside (or next to) a random prefix of the list, or anywhere. */
static void probe_addr(const struct dp_list_entry *e, size_t n, uint8_t family, uint8_t out[16])
{
	for (int i = 0; i < 16; i++)
		out[i] = (uint8_t)rnd();
	if (rnd() % 4 == 0)
		return;
	const struct dp_prefix *p = &e[rnd() % n].pfx;
	if (p->family != family)
		return;
	unsigned keep = p->len > 0 && rnd() % 3 == 0 ? p->len - 1 : p->len; /* the edge */
	for (unsigned b = 0; b < keep; b++) {
		uint8_t bit = (uint8_t)(0x80 >> (b % 8));
		out[b / 8] = (uint8_t)((out[b / 8] & ~bit) | (p->addr[b / 8] & bit));
	}
}

int main(int argc, char **argv)
{
	if (rte_eal_init(argc, argv) < 0) {
		fprintf(stderr, "lpm_check: EAL init failed\n");
		return 2;
	}
	enum { N = 6000, LOOKUPS = 250000 };
	/* round 0: no /0 entry (rte_lpm misses stay misses); round 1: with them (a miss in
	 * the table falls to the family's /0 entry, kept outside rte_lpm) */
	for (int round = 0; round < 2; round++) {
		struct dp_list_entry *e = calloc(N, sizeof *e);
		if (!e)
			return 2;
		size_t m = 0;
		for (size_t i = 0; i < N; i++) {
			random_prefix(&e[m], i % 2 ? 4 : 6);
			m += round == 1 || e[m].pfx.len > 0;
		}
		size_t n = dp_list_dedupe(e, m);
		char err[256];
		struct dp_list_snapshot *s = dp_lpm_build(e, n, NULL, 0, 1, err, sizeof err);
		struct dp_trie *t = s ? dp_trie_build(s->e, s->n) : NULL; /* over the same entries */
		if (!s || !t) {
			fprintf(stderr, "lpm_check: %s\n", s ? "no memory for the trie" : err);
			return 2;
		}
		unsigned long hits = 0;
		for (int fam = 4; fam <= 6; fam += 2)
			for (unsigned i = 0; i < LOOKUPS; i++) {
				uint8_t a[16];
				probe_addr(s->e, s->n, (uint8_t)fam, a);
				uint32_t x = dp_lpm_lookup(s, (uint8_t)fam, a), y = dp_trie_lookup(t, (uint8_t)fam, a);
				hits += x != 0;
				if (x != y) {
					char addr[64], px[64] = "none", py[64] = "none";
					inet_ntop(fam == 4 ? AF_INET : AF_INET6, a, addr, sizeof addr);
					if (x)
						dp_prefix_format(&s->e[x - 1].pfx, px, sizeof px);
					if (y)
						dp_prefix_format(&s->e[y - 1].pfx, py, sizeof py);
					printf("FAIL: %s: rte_lpm%s says %s, the trie %s\n", addr, fam == 4 ? "" : "6", px, py);
					return 1;
				}
			}
		printf("lpm_check: %zu prefixes (IPv4 and IPv6%s), %d lookups: rte_lpm/rte_lpm6 and the "
		       "trie agree (%lu matched a prefix)\n", n, round ? ", /0 among them" : "",
		       2 * LOOKUPS, hits);
		if (round == 0 && (hits == 0 || hits == 2ul * LOOKUPS))
			return printf("FAIL: the lookups do not exercise both hits and misses\n"), 1;
		dp_trie_free(t);
		dp_lpm_free(s);
		free(e);
	}
	rte_eal_cleanup();
	return 0;
}
