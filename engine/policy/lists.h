/* Readers of the list files a rule can name: keywords, attachment hashes (plain
 * SHA-256 lists, ClamAV .hdb/.hsb) and ClamAV .ndb body signatures. They add patterns
 * or hashes to the condition being parsed; errors point into the list file. */
#ifndef SLUICE_POLICY_LISTS_H
#define SLUICE_POLICY_LISTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

struct parser;
struct pol_list_ctx {
	struct parser *parser;
	uint32_t cond;
	uint32_t file;           /* source index of the list file */
	bool nocase;
	bool ignore_unsupported; /* ndb: skip (and count) signatures we cannot compile */
};

void pol_list_keywords(struct pol_list_ctx *lc, const char *data, size_t len);
void pol_list_hashes(struct pol_list_ctx *lc, const char *data, size_t len);
void pol_list_ndb(struct pol_list_ctx *lc, const char *data, size_t len);

/* Provided by the parser. */
void pol_list_error(struct pol_list_ctx *lc, unsigned line, unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5), noreturn));
void pol_list_add_literal(struct pol_list_ctx *lc, const char *s, size_t n, bool nocase,
                          unsigned line, unsigned col);
void pol_list_add_regex(struct pol_list_ctx *lc, const char *expr, const char *label,
                        unsigned line, unsigned col);
void pol_list_add_hash(struct pol_list_ctx *lc, enum pol_digest type, const uint8_t *digest,
                       int64_t size, const char *label);
void pol_list_skipped(struct pol_list_ctx *lc);
struct pol_arena *pol_list_arena(struct pol_list_ctx *lc);

#endif
