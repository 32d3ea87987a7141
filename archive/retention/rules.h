/* Retention rules: how long the archive must keep a copy, by what the copy's record
 * says (docs/archive.md "Retention and legal hold"). One rule a line:
 *
 *   keep DURATION SELECTOR        DURATION: N followed by s, m, h, d or y (365 d)
 *   SELECTOR: rule:ID | domain:DOMAIN | direction:inbound|outbound|internal|unknown
 *             | default
 *
 * A copy must be kept for the longest duration among the rules it matches (domain:
 * the envelope sender's or any recipient's domain, or a subdomain of it); default
 * applies to every copy; a copy no rule matches is kept forever. */
#ifndef ARCHIVE_RETENTION_RULES_H
#define ARCHIVE_RETENTION_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "journal.h"

enum ar_retention_sel {
	AR_RETAIN_DEFAULT,
	AR_RETAIN_RULE,
	AR_RETAIN_DOMAIN,
	AR_RETAIN_DIRECTION,
};

struct ar_retention_rule {
	enum ar_retention_sel sel;
	char value[256];
	int direction;
	uint64_t keep_s;
};

struct ar_retention {
	struct ar_retention_rule *rules;
	size_t n;
};

#define AR_KEEP_FOREVER UINT64_MAX

/* 0, or -1 with "line N: reason" in err. */
int ar_retention_parse(const char *text, struct ar_retention *out, char *err, size_t errlen);
void ar_retention_free(struct ar_retention *rt);
/* Seconds a copy with this record must be kept (AR_KEEP_FOREVER: no rule matches). */
uint64_t ar_retention_keep(const struct ar_retention *rt, const struct sl_journal_record *r);

#endif
