#include "sluice/conffile.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

char *sl_conf_trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

void sl_conf_init(struct sl_conf_reader *r, const char *text)
{
	r->p = text;
	r->lineno = 0;
}

static void section(char *line, struct sl_conf_line *out)
{
	char *close = strchr(line, ']');
	if (!close || close[1]) {
		out->kind = SL_CONF_ERROR;
		out->error = "expected [section]";
		return;
	}
	*close = 0;
	char *name = sl_conf_trim(line + 1), *sp = strpbrk(name, " \t");
	out->arg = NULL;
	if (sp) {
		*sp = 0;
		out->arg = sl_conf_trim(sp + 1);
	}
	out->kind = SL_CONF_SECTION;
	out->name = name;
}

void sl_conf_next(struct sl_conf_reader *r, struct sl_conf_line *out)
{
	memset(out, 0, sizeof *out);
	while (*r->p) {
		const char *nl = strchr(r->p, '\n');
		size_t len = nl ? (size_t)(nl - r->p) : strlen(r->p);
		out->lineno = ++r->lineno;
		const char *start = r->p;
		r->p += len + (nl ? 1 : 0);
		if (len >= sizeof r->buf) {
			out->kind = SL_CONF_ERROR;
			out->error = "line too long";
			return;
		}
		memcpy(r->buf, start, len);
		r->buf[len] = 0;
		char *hash = strchr(r->buf, '#');
		if (hash)
			*hash = 0;
		char *line = sl_conf_trim(r->buf);
		if (!*line)
			continue;
		if (*line == '[') {
			section(line, out);
			return;
		}
		char *eq = strchr(line, '=');
		if (!eq) {
			out->kind = SL_CONF_ERROR;
			out->error = "expected key = value";
			return;
		}
		*eq = 0;
		out->kind = SL_CONF_KEY;
		out->key = sl_conf_trim(line);
		out->value = sl_conf_trim(eq + 1);
		return;
	}
	out->kind = SL_CONF_END;
	out->lineno = r->lineno;
}

const struct sl_conf_unit sl_conf_size_units[] = {
	{"k", 1ull << 10}, {"m", 1ull << 20}, {"g", 1ull << 30}, {NULL, 0}};
const struct sl_conf_unit sl_conf_time_units[] = {
	{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {NULL, 0}};
const struct sl_conf_unit sl_conf_no_units[] = {{NULL, 0}};

int sl_conf_parse_scaled(const char *s, const struct sl_conf_unit *units, uint64_t bare, uint64_t *out)
{
	char *end;
	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	uint64_t mult = bare;
	if (*end) {
		const struct sl_conf_unit *u;
		for (u = units; u->name; u++)
			if (strcasecmp(end, u->name) == 0)
				break;
		if (!u->name)
			return -1;
		mult = u->mult;
	}
	if (mult && v > UINT64_MAX / mult)
		return -1;
	*out = v * mult;
	return 0;
}

int sl_conf_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"yes", "true", "on", "1", NULL};
	static const char *const no[] = {"no", "false", "off", "0", NULL};
	for (int i = 0; yes[i]; i++)
		if (strcasecmp(s, yes[i]) == 0)
			return *out = true, 0;
	for (int i = 0; no[i]; i++)
		if (strcasecmp(s, no[i]) == 0)
			return *out = false, 0;
	return -1;
}

int sl_conf_parse_enum(const char *s, const char *const *names, int *out)
{
	for (int i = 0; names[i]; i++)
		if (strcasecmp(s, names[i]) == 0)
			return *out = i, 0;
	return -1;
}

const struct sl_conf_key *sl_conf_key_find(const struct sl_conf_key *keys, size_t n,
                                           const char *section, const char *key,
                                           char *msg, size_t msglen)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].key, key) == 0)
			return &keys[i];
	snprintf(msg, msglen, "unknown key '%.64s' in [%s]", key, section);
	return NULL;
}

int sl_conf_key_set(void *base, const struct sl_conf_key *k, const char *v, char *msg, size_t msglen)
{
	char *field = (char *)base + k->off;
	uint64_t u;
	int e;

	switch (k->type) {
	case SL_CONF_UINT:
		if (sl_conf_parse_scaled(v, sl_conf_no_units, 1, &u) || u < k->min || u > k->max) {
			snprintf(msg, msglen, "%s: expected a number from %llu to %llu", k->key,
			         (unsigned long long)k->min, (unsigned long long)k->max);
			return -1;
		}
		*(unsigned *)field = (unsigned)u;
		return 0;
	case SL_CONF_SIZE:
	case SL_CONF_DURATION: {
		bool size = k->type == SL_CONF_SIZE;
		if (sl_conf_parse_scaled(v, size ? sl_conf_size_units : sl_conf_time_units, size ? 1 : 1000, &u) ||
		    u < k->min || u > k->max) {
			snprintf(msg, msglen, size ? "%s: expected a size such as 65536, 64k, 1m (at least %llu bytes)" :
			         "%s: expected a duration such as 30s, 500ms, 5m (at least %llu ms)",
			         k->key, (unsigned long long)k->min);
			return -1;
		}
		*(uint64_t *)field = u;
		return 0;
	}
	case SL_CONF_BOOL:
		if (sl_conf_parse_bool(v, (bool *)field)) {
			snprintf(msg, msglen, "%s: expected yes or no", k->key);
			return -1;
		}
		return 0;
	case SL_CONF_ENUM:
		if (sl_conf_parse_enum(v, k->names, &e)) {
			size_t n = (size_t)snprintf(msg, msglen, "%s: expected one of", k->key);
			for (int i = 0; k->names[i] && n < msglen; i++)
				n += (size_t)snprintf(msg + n, msglen - n, "%s %s", i ? "," : "", k->names[i]);
			return -1;
		}
		*(int *)field = e;
		return 0;
	}
	return 1;
}
