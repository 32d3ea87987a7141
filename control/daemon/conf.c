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

/* The types of engine/core/conffile.c, and those of sluice-control alone. */
enum key_type {
	K_DURATION = SL_CONF_DURATION,
	K_COUNT = SL_CONF_UINT,
	K_PATH = SL_CONF_OWN, /* absolute */
	K_SOCKET,             /* absolute, fits sun_path */
	K_NAME,               /* letters, digits, '.', '-', '_' */
	K_LISTEN,             /* HOST:PORT, [V6]:PORT, or nothing */
};

#define MS_MAX (3600000ull * 1000000000) /* a billion hours: sums of deadlines cannot overflow */
#define F(field) offsetof(struct ctl_config, field)
static const struct sl_conf_key keys[] = {
	{"control", "state", K_PATH, F(state), 0, 0, NULL},
	{"control", "socket", K_SOCKET, F(socket), 0, 0, NULL},
	{"control", "group", K_NAME, F(group), 0, 0, NULL},
	{"control", "private_key", K_PATH, F(private_key), 0, 0, NULL},
	{"control", "push_timeout", K_DURATION, F(push_timeout_ms), 1, MS_MAX, NULL},
	{"control", "request_timeout", K_DURATION, F(request_timeout_ms), 1, MS_MAX, NULL},
	{"control", "reconnect", K_DURATION, F(reconnect_ms), 1, MS_MAX, NULL},
	{"control", "heartbeat", K_DURATION, F(heartbeat_ms), 1, MS_MAX, NULL},
	{"metrics", "listen", K_LISTEN, F(metrics_listen), 0, 0, NULL},
	{"pool", "interval", K_DURATION, F(pool_interval_ms), 1, MS_MAX, NULL},
	{"pool", "timeout", K_DURATION, F(pool_timeout_ms), 1, MS_MAX, NULL},
	{"pool", "rise", K_COUNT, F(pool_rise), 1, 100, NULL},
	{"pool", "fall", K_COUNT, F(pool_fall), 1, 100, NULL},
	/* per [dataplane NAME] section */
	{"dataplane", "socket", K_SOCKET, offsetof(struct ctl_dp_conf, socket), 0, 0, NULL},
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

/* A key of sluice-control's own types (the common ones: sl_conf_key_set). */
static int set_value(void *base, const struct sl_conf_key *k, const char *v, char *msg, size_t msglen)
{
	int rc = sl_conf_key_set(base, k, v, msg, msglen);
	if (rc <= 0)
		return rc;
	char *field = (char *)base + k->off;
	size_t cap = k->type == K_SOCKET ? CTL_SOCK_MAX : k->type == K_NAME ? CTL_NAME_MAX :
	             k->type == K_LISTEN ? 128 : CTL_PATH_MAX;
	switch (k->type) {
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
		const struct sl_conf_key *k = sl_conf_key_find(keys, NKEYS, section, l.key, msg, sizeof msg);
		if (!k)
			goto fail;
		if (dp ? dp->socket[0] != 0 : seen[k - keys]) {
			snprintf(msg, sizeof msg, "'%s' set twice in [%s]", l.key, section);
			goto fail;
		}
		seen[k - keys] = true;
		if (set_value(dp ? (void *)dp : (void *)c, k, l.value, msg, sizeof msg))
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
