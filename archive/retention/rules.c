/* Retention rules (rules.h). */
#include "rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const directions[] = { "unknown", "inbound", "outbound", "internal" };

static int parse_duration(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long n = strtoull(s, &end, 10);
	static const struct { char unit; uint64_t s; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 'y', 365 * 86400ull },
	};
	if (end == s || end[0] == '\0' || end[1] != '\0' || n > 1000000000ull)
		return -1;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (*end == units[i].unit) {
			*out = n * units[i].s;
			return 0;
		}
	return -1;
}

static int parse_selector(const char *s, struct ar_retention_rule *r)
{
	if (!strcmp(s, "default")) {
		r->sel = AR_RETAIN_DEFAULT;
		return 0;
	}
	static const struct { const char *prefix; enum ar_retention_sel sel; } kinds[] = {
		{ "rule:", AR_RETAIN_RULE }, { "domain:", AR_RETAIN_DOMAIN },
		{ "direction:", AR_RETAIN_DIRECTION },
	};
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		size_t pl = strlen(kinds[i].prefix);
		if (strncmp(s, kinds[i].prefix, pl) || !s[pl] || strlen(s + pl) >= sizeof r->value)
			continue;
		r->sel = kinds[i].sel;
		snprintf(r->value, sizeof r->value, "%s", s + pl);
		if (r->sel != AR_RETAIN_DIRECTION)
			return 0;
		for (int d = 0; d < 4; d++)
			if (!strcmp(r->value, directions[d])) {
				r->direction = d;
				return 0;
			}
		return -1;
	}
	return -1;
}

int ar_retention_parse(const char *text, struct ar_retention *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	unsigned lineno = 0;
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char line[512];
		lineno++;
		if (len >= sizeof line) {
			snprintf(err, errlen, "line %u: too long", lineno);
			goto fail;
		}
		memcpy(line, p, len);
		line[len] = '\0';
		p += len + (nl ? 1 : 0);
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char word[3][300];
		int n = sscanf(line, "%299s %299s %299s", word[0], word[1], word[2]);
		if (n <= 0)
			continue;
		struct ar_retention_rule r = { 0 };
		char extra[2];
		if (n != 3 || strcmp(word[0], "keep") || sscanf(line, "%*s %*s %*s %1s", extra) == 1) {
			snprintf(err, errlen, "line %u: expected: keep DURATION SELECTOR", lineno);
			goto fail;
		}
		if (parse_duration(word[1], &r.keep_s) < 0) {
			snprintf(err, errlen, "line %u: bad duration \"%s\" (N with s, m, h, d or y)",
				lineno, word[1]);
			goto fail;
		}
		if (parse_selector(word[2], &r) < 0) {
			snprintf(err, errlen, "line %u: bad selector \"%s\" (rule:ID, domain:DOMAIN, "
				"direction:inbound|outbound|internal|unknown, default)", lineno, word[2]);
			goto fail;
		}
		struct ar_retention_rule *v = realloc(out->rules, (out->n + 1) * sizeof *v);
		if (!v) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		out->rules = v;
		out->rules[out->n++] = r;
	}
	return 0;
fail:
	ar_retention_free(out);
	return -1;
}

void ar_retention_free(struct ar_retention *rt)
{
	free(rt->rules);
	memset(rt, 0, sizeof *rt);
}

/* The address's domain is d or below it. */
static bool in_domain(const char *addr, const char *d)
{
	const char *at = addr ? strrchr(addr, '@') : NULL;
	if (!at)
		return false;
	const char *dom = at + 1;
	size_t dl = strlen(dom), l = strlen(d);
	return dl >= l && strcasecmp(dom + dl - l, d) == 0 && (dl == l || dom[dl - l - 1] == '.');
}

static bool matches(const struct ar_retention_rule *rule, const struct sl_journal_record *r)
{
	switch (rule->sel) {
	case AR_RETAIN_DEFAULT:
		return true;
	case AR_RETAIN_DIRECTION:
		return r->direction == rule->direction;
	case AR_RETAIN_RULE:
		for (size_t i = 0; i < r->nrules; i++)
			if (!strcmp(r->rules[i], rule->value))
				return true;
		return false;
	case AR_RETAIN_DOMAIN:
		if (in_domain(r->mail_from, rule->value))
			return true;
		for (size_t i = 0; i < r->nrcpt; i++)
			if (in_domain(r->rcpt[i], rule->value))
				return true;
		return false;
	}
	return false;
}

uint64_t ar_retention_keep(const struct ar_retention *rt, const struct sl_journal_record *r)
{
	uint64_t keep = 0;
	bool any = false;
	for (size_t i = 0; i < rt->n; i++)
		if (matches(&rt->rules[i], r)) {
			any = true;
			if (rt->rules[i].keep_s > keep)
				keep = rt->rules[i].keep_s;
		}
	return any ? keep : AR_KEEP_FOREVER;
}
