/* The auditor API's users and scopes (tokens.h). */
#include "tokens.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static bool unhex32(const char *s, uint8_t out[32])
{
	if (strlen(s) != 64)
		return false;
	for (int i = 0; i < 32; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return false;
		out[i] = (uint8_t)v;
	}
	return true;
}

/* Letters, digits and . _ + - @ only: a scope value is matched, never parsed further. */
static bool plain_value(const char *s)
{
	if (!*s || strlen(s) >= 256)
		return false;
	for (; *s; s++)
		if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') &&
		    !(*s >= '0' && *s <= '9') && !strchr("._+-@", *s))
			return false;
	return true;
}

static int add_scope(struct ar_api_user *u, const char *w)
{
	if (!strcmp(w, "all")) {
		u->all = true;
		return 0;
	}
	if (!strcmp(w, "release")) {
		u->may_release = true;
		return 1; /* a right, not a scope */
	}
	bool dom = !strncmp(w, "domain:", 7), mbox = !strncmp(w, "mailbox:", 8);
	const char *v = dom ? w + 7 : mbox ? w + 8 : NULL;
	if (!v || !plain_value(v) || (dom && strchr(v, '@')) || (mbox && !strchr(v, '@')))
		return -1;
	char (**list)[256] = dom ? &u->domains : &u->mailboxes;
	size_t *n = dom ? &u->ndomains : &u->nmailboxes;
	char (*nl)[256] = realloc(*list, (*n + 1) * sizeof **list);
	if (!nl)
		return -1;
	*list = nl;
	snprintf(nl[(*n)++], 256, "%s", v);
	return 0;
}

int ar_api_users_load(const char *path, struct ar_api_users *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	FILE *f = fopen(path, "r");
	struct stat st;
	if (!f || fstat(fileno(f), &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen, "%s: readable by group or others (mode %03o): chmod 600",
			 path, (unsigned)(st.st_mode & 0777));
		fclose(f);
		return -1;
	}
	char line[4096];
	unsigned lineno = 0;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char *save, *w = strtok_r(line, " \t\r\n", &save);
		if (!w)
			continue;
		struct ar_api_user u = { 0 };
		const char *why = NULL;
		char *name = strtok_r(NULL, " \t\r\n", &save);
		if (!unhex32(w, u.token_sha))
			why = "expected the token's SHA-256 (64 hex digits) first";
		else if (!name || !plain_value(name) || strlen(name) >= sizeof u.name)
			why = "expected a user name (letters, digits, . _ + - @)";
		else
			snprintf(u.name, sizeof u.name, "%s", name);
		size_t scopes = 0;
		while (!why && (w = strtok_r(NULL, " \t\r\n", &save))) {
			int r = add_scope(&u, w);
			if (r < 0)
				why = "a scope is all, domain:DOMAIN or mailbox:ADDRESS (and release)";
			scopes += r == 0;
		}
		if (!why && !scopes)
			why = "a user needs a scope (all, domain:DOMAIN, mailbox:ADDRESS)";
		struct ar_api_user *v = why ? NULL : realloc(out->v, (out->n + 1) * sizeof *v);
		if (!v) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, why ? why : "out of memory");
			free(u.domains);
			free(u.mailboxes);
			fclose(f);
			ar_api_users_free(out);
			return -1;
		}
		out->v = v;
		out->v[out->n++] = u;
	}
	fclose(f);
	if (!out->n) {
		snprintf(err, errlen, "%s: no users", path);
		return -1;
	}
	return 0;
}

void ar_api_users_free(struct ar_api_users *u)
{
	for (size_t i = 0; i < u->n; i++) {
		free(u->v[i].domains);
		free(u->v[i].mailboxes);
	}
	free(u->v);
	memset(u, 0, sizeof *u);
}

const struct ar_api_user *ar_api_user_for(const struct ar_api_users *u, const char *token)
{
	uint8_t sha[32];
	SHA256((const uint8_t *)token, strlen(token), sha);
	const struct ar_api_user *found = NULL;
	for (size_t i = 0; i < u->n; i++) /* every entry compared: no early exit */
		if (CRYPTO_memcmp(sha, u->v[i].token_sha, 32) == 0)
			found = &u->v[i];
	return found;
}

bool ar_api_address_in_scope(const struct ar_api_user *u, const char *addr)
{
	if (u->all)
		return true;
	const char *at = strrchr(addr, '@');
	if (!at || at == addr)
		return false;
	for (size_t i = 0; i < u->nmailboxes; i++)
		if (!strcasecmp(addr, u->mailboxes[i]))
			return true;
	const char *dom = at + 1;
	size_t dl = strlen(dom);
	for (size_t i = 0; i < u->ndomains; i++) {
		size_t l = strlen(u->domains[i]);
		if (dl >= l && !strcasecmp(dom + dl - l, u->domains[i]) &&
		    (dl == l || dom[dl - l - 1] == '.'))
			return true;
	}
	return false;
}

bool ar_api_text_in_scope(const struct ar_api_user *u, const char *text)
{
	if (u->all)
		return true;
	char word[512];
	for (const char *p = text; p && *p;) {
		size_t n = strcspn(p, "<>,;:\"()' \t\r\n");
		if (n && n < sizeof word) {
			memcpy(word, p, n);
			word[n] = '\0';
			if (strchr(word, '@') && ar_api_address_in_scope(u, word))
				return true;
		}
		p += n;
		p += strspn(p, "<>,;:\"()' \t\r\n");
	}
	return false;
}
