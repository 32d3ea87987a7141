/* Legal holds (holds.h). */
#include "holds.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"

bool ar_hold_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
			return false;
	return true;
}

/* The value of a string member we wrote without escapes (a name, hex, a user name). */
static bool plain_member(const char *entry, const char *key, char *out, size_t n)
{
	char pat[64];
	snprintf(pat, sizeof pat, ",\"%s\":\"", key);
	const char *p = strstr(entry, pat);
	if (!p)
		return false;
	p += strlen(pat);
	const char *end = strchr(p, '"');
	if (!end || (size_t)(end - p) >= n)
		return false;
	memcpy(out, p, (size_t)(end - p));
	out[end - p] = '\0';
	return true;
}

static char *unhex_string(const char *hex)
{
	size_t n = strlen(hex) / 2;
	char *s = malloc(n + 1);
	for (size_t i = 0; s && i < n; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1 || v == 0) {
			free(s);
			return NULL;
		}
		s[i] = (char)v;
	}
	if (s)
		s[n] = '\0';
	return s;
}

static void hold_drop(struct ar_holds *h, const char *name)
{
	for (size_t i = 0; i < h->n; i++)
		if (!strcmp(h->v[i].name, name)) {
			free(h->v[i].query);
			h->v[i] = h->v[--h->n];
			return;
		}
}

static void replay_hold(void *ctx, const char *entry, size_t len)
{
	struct ar_holds *h = ctx;
	(void)len;
	bool add = ar_audit_action_is(entry, "hold");
	if (!add && !ar_audit_action_is(entry, "unhold"))
		return;
	char name[65], hex[8192];
	if (!plain_member(entry, "name", name, sizeof name)) {
		h->failed = true;
		return;
	}
	hold_drop(h, name);
	if (!add)
		return;
	struct ar_hold *v = plain_member(entry, "query_hex", hex, sizeof hex) ?
		realloc(h->v, (h->n + 1) * sizeof *v) : NULL;
	if (!v) {
		h->failed = true;
		return;
	}
	h->v = v;
	struct ar_hold *n = &h->v[h->n];
	memset(n, 0, sizeof *n);
	snprintf(n->name, sizeof n->name, "%s", name);
	const char *u = strstr(entry, ",\"user\":\"");
	if (u)
		snprintf(n->user, sizeof n->user, "%.*s", (int)strcspn(u + 9, "\""), u + 9);
	if ((n->query = unhex_string(hex)))
		h->n++;
	else
		h->failed = true;
}

void ar_holds_free(struct ar_holds *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->v[i].query);
	free(h->v);
}


void ar_holds_load(struct ar_store *s, struct ar_holds *h)
{
	memset(h, 0, sizeof *h);
	if (ar_audit_each(s, replay_hold, h))
		h->failed = true;
}

void ar_hold_fragment(struct sl_strbuf *f, const char *name, const char *query)
{
	sl_strbuf_printf(f, "\"name\":\"%s\",\"query_hex\":\"", name);
	sl_strbuf_hex(f, (const uint8_t *)query, strlen(query));
	sl_strbuf_puts(f, "\",\"query\":");
	sl_json_str(f, query);
}
