/* Address prefixes and the allow/block lists built from them: parsing, the entries a
 * list holds (kind, expiry, comment), and the lookup a worker makes at a SYN. The
 * longest-prefix match itself is behind a function pointer: sluice-dp uses DPDK's
 * rte_lpm/rte_lpm6 (dataplane/lpm.c), the tests and tools the binary trie below; both
 * answer the same question. No DPDK. */
#ifndef SLUICE_DP_PREFIX_H
#define SLUICE_DP_PREFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dp_prefix {
	uint8_t family;        /* 4 or 6 */
	uint8_t len;           /* prefix length: 0..32 or 0..128 */
	uint8_t addr[16];      /* network byte order; IPv4 in the first 4 bytes; host bits 0 */
};

/* "203.0.113.0/24", "2001:db8::/32", or a bare address (/32, /128). Host bits must be
 * zero (a typo in a block list should not block a neighbour). 0, or -1 with err. */
int dp_prefix_parse(const char *s, struct dp_prefix *p, char *err, size_t errlen);
/* "203.0.113.0/24" into out (at least 64 bytes). */
void dp_prefix_format(const struct dp_prefix *p, char *out, size_t len);
/* The prefix of length len holding an address (host bits cleared). */
void dp_prefix_of(struct dp_prefix *p, uint8_t family, const uint8_t *addr, uint8_t len);
bool dp_prefix_contains(const struct dp_prefix *p, uint8_t family, const uint8_t *addr);
bool dp_prefix_eq(const struct dp_prefix *a, const struct dp_prefix *b);

enum dp_list_kind {
	DP_LIST_KIND_ALLOW,    /* skips the limits (not the content policy) */
	DP_LIST_KIND_BLOCK,    /* refused at its SYN */
	DP_LIST_KINDS,
};

#define DP_LIST_COMMENT_MAX 96

struct dp_list_entry {
	struct dp_prefix pfx;
	uint8_t kind;                  /* enum dp_list_kind */
	uint64_t until_ms;             /* worker clock; 0: never expires */
	uint64_t until_unix;           /* the same as wall-clock seconds (shown), 0: never */
	uint64_t added_unix;
	char comment[DP_LIST_COMMENT_MAX];
};

/* An unban (sluicectl bans del): a ban of a source inside pfx that began before at_ms
 * is lifted at the source's next SYN. */
struct dp_pardon {
	struct dp_prefix pfx;
	uint64_t at_ms;
};

/* One immutable snapshot of the lists, as the workers read it: the entries, and the
 * longest-prefix match over them (value = entry index + 1, 0 = none). */
struct dp_lists {
	const struct dp_list_entry *e;
	size_t n;
	const struct dp_pardon *pardons;
	size_t npardons;
	const void *impl;
	uint32_t (*lookup)(const void *impl, uint8_t family, const uint8_t *addr);
};

/* The entry deciding for an address: its longest matching prefix, unless that entry
 * has expired (then none: the control thread rebuilds the tables without it within a
 * second, and a shorter prefix decides from then on). NULL for none. */
const struct dp_list_entry *dp_lists_match(const struct dp_lists *l, uint8_t family,
                                           const uint8_t *addr, uint64_t now_ms);
/* A pardon for a ban of this address that began at ban_start_ms. */
bool dp_lists_pardoned(const struct dp_lists *l, uint8_t family, const uint8_t *addr,
                       uint64_t ban_start_ms);

/* Reads a list file: one prefix per line, '#' starts a comment (kept as the entry's
 * comment when on the prefix's line), blank lines ignored. Appends to *e, *n (realloc);
 * kind for every entry. 0, or -1 with "FILE:LINE: message". */
int dp_list_file_read(const char *path, enum dp_list_kind kind, uint64_t added_unix,
                      struct dp_list_entry **e, size_t *n, char *err, size_t errlen);
/* The same from a string (tests, the control socket's list.set). */
int dp_list_text_read(const char *name, const char *text, enum dp_list_kind kind,
                      uint64_t added_unix, struct dp_list_entry **e, size_t *n,
                      char *err, size_t errlen);

/* Sorts entries by prefix and keeps one per prefix: the one that came last (a later
 * list.add of a prefix replaces the earlier entry). Returns the new count. */
size_t dp_list_dedupe(struct dp_list_entry *e, size_t n);

const char *dp_list_kind_name(enum dp_list_kind k);
int dp_list_kind_parse(const char *s, enum dp_list_kind *out);

/* A binary trie over the entries: the reference longest-prefix match (tests, tools,
 * and the check of the rte_lpm tables). Built once, read-only afterwards. */
struct dp_trie;
struct dp_trie *dp_trie_build(const struct dp_list_entry *e, size_t n);
void dp_trie_free(struct dp_trie *t);
uint32_t dp_trie_lookup(const void *trie, uint8_t family, const uint8_t *addr);

#endif
