/* The configuration file: a table of keys per section, like sluice-dp's. */
#include "conf.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/conffile.h"
#include "sluice/strbuf.h"

enum key_type { K_PATH, K_SOCKET, K_NAME, K_DURATION, K_LISTEN, K_COUNT };

struct key_def {
	const char *section, *key;
	enum key_type type;
	size_t off;
};

#define F(field) offsetof(struct ctl_config, field)
static const struct key_def keys[] = {
	{"control", "state", K_PATH, F(state)},
	{"control", "socket", K_SOCKET, F(socket)},
	{"control", "group", K_NAME, F(group)},
	{"control", "private_key", K_PATH, F(private_key)},
	{"control", "push_timeout", K_DURATION, F(push_timeout_ms)},
	{"control", "request_timeout", K_DURATION, F(request_timeout_ms)},
	{"control", "reconnect", K_DURATION, F(reconnect_ms)},
	{"control", "heartbeat", K_DURATION, F(heartbeat_ms)},
	{"metrics", "listen", K_LISTEN, F(metrics_listen)},
	{"pool", "interval", K_DURATION, F(pool_interval_ms)},
	{"pool", "timeout", K_DURATION, F(pool_timeout_ms)},
	{"pool", "rise", K_COUNT, F(pool_rise)},
	{"pool", "fall", K_COUNT, F(pool_fall)},
	{"dataplane", "socket", K_SOCKET, offsetof(struct ctl_dp_conf, socket)}, /* per section */
};
#undef F
#define NKEYS (sizeof keys / sizeof keys[0])

void ctl_config_default(struct ctl_config *c)
{
	memset(c, 0, sizeof *c);
	strcpy(c->state, "/var/lib/sluice-control");
	strcpy(c->socket, "/run/sluice/control.sock");
	strcpy(c->group, "sluice");
	strcpy(c->private_key, "/etc/sluice/control.key");
	c->push_timeout_ms = 30000;
	c->request_timeout_ms = 5000;
	c->reconnect_ms = 1000;
	c->heartbeat_ms = 2000;
	strcpy(c->metrics_listen, "127.0.0.1:9469");
	c->pool_interval_ms = 2000;
	c->pool_timeout_ms = 2000;
	c->pool_rise = 2;
	c->pool_fall = 2;
}

static bool valid_name(const char *s)
{
	if (!*s || strlen(s) >= CTL_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(".-_", *s))
			return false;
	return true;
}

/* 500ms, 30s, 5m, 1h; a bare number is seconds */
static int parse_duration(const char *s, uint64_t *ms)
{
	static const struct { const char *unit; uint64_t mult; } units[] = {
		{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"", 1000}};
	char *end;
	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || v > 1000000000ull)
		return -1;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (strcmp(end, units[i].unit) == 0) {
			*ms = v * units[i].mult;
			return *ms ? 0 : -1;
		}
	return -1;
}

/* HOST:PORT or [V6]:PORT; empty turns it off */
static bool valid_listen(const char *v)
{
	if (!*v)
		return true;
	const char *colon = strrchr(v, ':');
	if (!colon || colon == v || !colon[1])
		return false;
	char *end;
	unsigned long port = strtoul(colon + 1, &end, 10);
	return !*end && port > 0 && port < 65536 && isdigit((unsigned char)colon[1]);
}

static int set_value(void *base, const struct key_def *k, const char *v, char *msg, size_t msglen)
{
	char *field = (char *)base + k->off;
	size_t cap = k->type == K_SOCKET ? CTL_SOCK_MAX : k->type == K_NAME ? CTL_NAME_MAX :
	             k->type == K_LISTEN ? 128 : CTL_PATH_MAX;
	switch (k->type) {
	case K_COUNT: {
		char *end;
		unsigned long long n = strtoull(v, &end, 10);
		if (!isdigit((unsigned char)*v) || *end || n < 1 || n > 100) {
			snprintf(msg, msglen, "%s: expected a number from 1 to 100", k->key);
			return -1;
		}
		*(uint64_t *)field = n;
		return 0;
	}
	case K_DURATION:
		if (parse_duration(v, (uint64_t *)field)) {
			snprintf(msg, msglen, "%s: expected a duration such as 30s, 500ms, 5m", k->key);
			return -1;
		}
		return 0;
	case K_LISTEN:
		if (!valid_listen(v)) {
			snprintf(msg, msglen, "%s: expected HOST:PORT (or [IPv6]:PORT), or nothing", k->key);
			return -1;
		}
		break;
	case K_NAME:
		if (*v && !valid_name(v)) {
			snprintf(msg, msglen, "%s: expected a name (letters, digits, . - _)", k->key);
			return -1;
		}
		break;
	case K_PATH:
	case K_SOCKET:
		if (!*v || v[0] != '/') {
			snprintf(msg, msglen, "%s: expected an absolute path", k->key);
			return -1;
		}
		break;
	}
	if (strlen(v) >= cap) {
		snprintf(msg, msglen, "%s: longer than %zu bytes", k->key, cap - 1);
		return -1;
	}
	strcpy(field, v);
	return 0;
}

/* [control], [metrics], or [dataplane NAME] */
static int check_section(const struct sl_conf_line *l, char *msg, size_t msglen)
{
	bool known = false;
	for (size_t i = 0; i < NKEYS; i++)
		known |= strcmp(keys[i].section, l->name) == 0;
	if (!known) {
		snprintf(msg, msglen, "unknown section [%.64s]", l->name);
		return -1;
	}
	bool wants_name = strcmp(l->name, "dataplane") == 0;
	if (wants_name != (l->arg != NULL)) {
		snprintf(msg, msglen, wants_name ? "expected [dataplane NAME]" : "[%s] takes no name", l->name);
		return -1;
	}
	if (wants_name && !valid_name(l->arg)) {
		snprintf(msg, msglen, "dataplane name '%.64s': letters, digits, . - _ (up to %d)", l->arg,
		         CTL_NAME_MAX - 1);
		return -1;
	}
	return 0;
}

/* A new [dataplane NAME] section. */
static struct ctl_dp_conf *add_dataplane(struct ctl_config *c, const char *name, char *msg, size_t msglen)
{
	for (unsigned i = 0; i < c->ndp; i++)
		if (strcmp(c->dp[i].name, name) == 0) {
			snprintf(msg, msglen, "[dataplane %s] twice", name);
			return NULL;
		}
	if (c->ndp == CTL_MAX_DATAPLANES) {
		snprintf(msg, msglen, "more than %d dataplanes", CTL_MAX_DATAPLANES);
		return NULL;
	}
	struct ctl_dp_conf *dp = &c->dp[c->ndp++];
	strcpy(dp->name, name);
	return dp;
}

static int check_complete(const struct ctl_config *c, const char *name, char *err, size_t errlen)
{
	for (unsigned i = 0; i < c->ndp; i++) {
		if (!c->dp[i].socket[0]) {
			snprintf(err, errlen, "%s: [dataplane %s] has no socket", name, c->dp[i].name);
			return -1;
		}
		for (unsigned j = 0; j < i; j++)
			if (strcmp(c->dp[i].socket, c->dp[j].socket) == 0) {
				snprintf(err, errlen, "%s: dataplanes %s and %s have the same socket", name,
				         c->dp[j].name, c->dp[i].name);
				return -1;
			}
	}
	return 0;
}

int ctl_config_parse(struct ctl_config *c, const char *name, const char *text, char *err, size_t errlen)
{
	char section[32] = "", msg[300];
	bool seen[NKEYS] = {false};
	struct ctl_dp_conf *dp = NULL;
	struct sl_conf_reader r;
	struct sl_conf_line l;
	ctl_config_default(c);
	sl_conf_init(&r, text);
	for (sl_conf_next(&r, &l); l.kind != SL_CONF_END; sl_conf_next(&r, &l)) {
		if (l.kind == SL_CONF_ERROR) {
			snprintf(msg, sizeof msg, "%s", l.error);
			goto fail;
		}
		if (l.kind == SL_CONF_SECTION) {
			if (check_section(&l, msg, sizeof msg))
				goto fail;
			snprintf(section, sizeof section, "%s", l.name);
			c->pool_checks |= strcmp(l.name, "pool") == 0;
			dp = NULL;
			if (l.arg && !(dp = add_dataplane(c, l.arg, msg, sizeof msg)))
				goto fail;
			continue;
		}
		if (!*section) {
			snprintf(msg, sizeof msg, "'%.64s' outside any [section]", l.key);
			goto fail;
		}
		size_t i;
		for (i = 0; i < NKEYS; i++)
			if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].key, l.key) == 0)
				break;
		if (i == NKEYS) {
			snprintf(msg, sizeof msg, "unknown key '%.64s' in [%s]", l.key, section);
			goto fail;
		}
		if (dp ? dp->socket[0] != 0 : seen[i]) {
			snprintf(msg, sizeof msg, "'%s' set twice in [%s]", l.key, section);
			goto fail;
		}
		seen[i] = true;
		if (set_value(dp ? (void *)dp : (void *)c, &keys[i], l.value, msg, sizeof msg))
			goto fail;
	}
	return check_complete(c, name, err, errlen);
fail:
	snprintf(err, errlen, "%s:%u: %s", name, l.lineno, msg);
	return -1;
}

int ctl_config_load(struct ctl_config *c, const char *path, char *err, size_t errlen)
{
	size_t len;
	uint8_t *text = sl_read_file(path, &len);
	if (!text) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	int rc = -1;
	if (memchr(text, 0, len))
		snprintf(err, errlen, "%s: NUL byte in the file", path);
	else
		rc = ctl_config_parse(c, path, (const char *)text, err, errlen);
	free(text);
	return rc;
}

void ctl_public_key_path(const char *private_key, char *out, size_t outlen)
{
	size_t n = strlen(private_key);
	if (n > 4 && strcmp(private_key + n - 4, ".key") == 0)
		snprintf(out, outlen, "%.*s.pub", (int)(n - 4), private_key);
	else
		snprintf(out, outlen, "%s.pub", private_key);
}
