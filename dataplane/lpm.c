#include "lpm.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_lpm.h>
#include <rte_lpm6.h>

uint32_t dp_lpm_lookup(const void *snapshot, uint8_t family, const uint8_t *addr)
{
	const struct dp_list_snapshot *s = snapshot;
	uint32_t hop;
	if (family == 4) {
		uint32_t a;
		memcpy(&a, addr, 4);
		if (s->v4 && rte_lpm_lookup(s->v4, ntohl(a), &hop) == 0)
			return hop + 1;
		return s->default_v4;
	}
	if (s->v6 && rte_lpm6_lookup(s->v6, addr, &hop) == 0)
		return hop + 1;
	return s->default_v6;
}

/* Tables are named; every snapshot gets its own names. */
static unsigned table_serial;

static int add_all(struct dp_list_snapshot *s, char *err, size_t errlen)
{
	uint32_t n4 = 0, n6 = 0, tbl8_4 = 0, tbl8_6 = 0;
	for (size_t i = 0; i < s->n; i++) {
		const struct dp_prefix *p = &s->e[i].pfx;
		if (!p->len) { /* the whole family: decided when no table entry matches */
			*(p->family == 4 ? &s->default_v4 : &s->default_v6) = (uint32_t)i + 1;
			continue;
		}
		if (p->family == 4) {
			n4++;
			tbl8_4 += p->len > 24; /* a prefix longer than /24 needs a tbl8 group */
		} else {
			n6++;
			tbl8_6 += p->len > 24 ? (uint32_t)(p->len - 24 + 7) / 8 : 0;
		}
	}
	char name[RTE_MEMZONE_NAMESIZE];
	unsigned serial = __atomic_fetch_add(&table_serial, 1, __ATOMIC_RELAXED);
	if (n4) {
		struct rte_lpm_config c = {.max_rules = n4, .number_tbl8s = tbl8_4 + 16};
		snprintf(name, sizeof name, "sl_lpm4_%u", serial);
		if (!(s->v4 = rte_lpm_create(name, (int)rte_socket_id(), &c))) {
			snprintf(err, errlen, "cannot make an IPv4 table of %u prefixes: %s", n4,
			         rte_strerror(rte_errno));
			return -1;
		}
	}
	if (n6) {
		struct rte_lpm6_config c = {.max_rules = n6, .number_tbl8s = tbl8_6 + 16};
		snprintf(name, sizeof name, "sl_lpm6_%u", serial);
		if (!(s->v6 = rte_lpm6_create(name, (int)rte_socket_id(), &c))) {
			snprintf(err, errlen, "cannot make an IPv6 table of %u prefixes: %s", n6,
			         rte_strerror(rte_errno));
			return -1;
		}
	}
	for (size_t i = 0; i < s->n; i++) {
		const struct dp_prefix *p = &s->e[i].pfx;
		int rc;
		if (!p->len)
			continue;
		if (p->family == 4) {
			uint32_t a;
			memcpy(&a, p->addr, 4);
			rc = rte_lpm_add(s->v4, ntohl(a), p->len, (uint32_t)i);
		} else {
			rc = rte_lpm6_add(s->v6, p->addr, p->len, (uint32_t)i);
		}
		if (rc != 0) {
			char text[64];
			dp_prefix_format(p, text, sizeof text);
			snprintf(err, errlen, "cannot add %s to the table: %s", text, rte_strerror(-rc));
			return -1;
		}
	}
	return 0;
}

struct dp_list_snapshot *dp_lpm_build(const struct dp_list_entry *e, size_t n,
                                      const struct dp_pardon *p, size_t np, uint64_t version,
                                      char *err, size_t errlen)
{
	struct dp_list_snapshot *s = calloc(1, sizeof *s);
	if (!s || (n && !(s->e = malloc(n * sizeof *e))) || (np && !(s->pardons = malloc(np * sizeof *p)))) {
		snprintf(err, errlen, "out of memory");
		dp_lpm_free(s);
		return NULL;
	}
	if (n)
		memcpy(s->e, e, n * sizeof *e);
	if (np)
		memcpy(s->pardons, p, np * sizeof *p);
	s->n = n;
	s->npardons = np;
	s->version = version;
	if (add_all(s, err, errlen) != 0) {
		dp_lpm_free(s);
		return NULL;
	}
	s->lists = (struct dp_lists){s->e, s->n, s->pardons, s->npardons, s, dp_lpm_lookup};
	return s;
}

void dp_lpm_free(struct dp_list_snapshot *s)
{
	if (!s)
		return;
	if (s->v4)
		rte_lpm_free(s->v4);
	if (s->v6)
		rte_lpm6_free(s->v6);
	free(s->e);
	free(s->pardons);
	free(s);
}
