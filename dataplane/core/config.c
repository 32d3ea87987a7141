/* The configuration file: a table of keys, each with its type and place in dp_config. */
#include "config.h"

#include "sluice/conffile.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum key_type {
	K_UINT,      /* unsigned, within [min, max] */
	K_SIZE,      /* bytes with k/m/g */
	K_DURATION,  /* milliseconds from ms/s/m/h */
	K_BOOL,
	K_ENUM,
	K_PORTREF,
	K_PORTLIST,
	K_PATH,
	K_ADDR,      /* host:port, [v6]:port */
	K_NAME,      /* a short word: letters, digits, '-', '_', '.' */
};

struct key_def {
	const char *section, *key;
	enum key_type type;
	size_t off;
	uint64_t min, max;
	const char *const *names; /* K_ENUM: value names, index = enum value */
};

static const char *const mode_names[] = {"bridge", "smtp", "enforce", NULL};
static const char *const starttls_names[] = {"allow", "strip", "block", NULL};
static const char *const dist_names[] = {"auto", "rss", "software", NULL};
static const char *const overload_names[] = {"auto", "open", "closed", NULL};
static const char *const midstream_names[] = {"auto", "reset", "pass", NULL};

#define F(field) offsetof(struct dp_config, field)
static const struct key_def keys[] = {
	{"ports", "outside", K_PORTREF, F(outside), 0, 0, NULL},
	{"ports", "inside", K_PORTREF, F(inside), 0, 0, NULL},
	{"ports", "rx_descriptors", K_UINT, F(rx_descriptors), 32, 65536, NULL},
	{"ports", "tx_descriptors", K_UINT, F(tx_descriptors), 32, 65536, NULL},
	{"ports", "mbufs", K_UINT, F(mbufs), 1023, 1u << 24, NULL},
	{"ports", "promiscuous", K_BOOL, F(promiscuous), 0, 0, NULL},
	{"ports", "direction_check", K_BOOL, F(direction_check), 0, 0, NULL},
	{"workers", "count", K_UINT, F(workers), 1, 64, NULL},
	{"workers", "distribution", K_ENUM, F(distribution), 0, 0, dist_names},
	{"workers", "burst", K_UINT, F(burst), 1, 512, NULL},
	{"dataplane", "mode", K_ENUM, F(mode), 0, 0, mode_names},
	{"smtp", "ports", K_PORTLIST, 0, 0, 0, NULL},
	{"smtp", "detect", K_BOOL, F(detect), 0, 0, NULL},
	{"smtp", "starttls", K_ENUM, F(starttls), 0, 0, starttls_names},
	{"flows", "max_flows", K_UINT, F(max_flows), 16, 1u << 24, NULL},
	{"flows", "max_embryonic", K_UINT, F(max_embryonic), 1, 1u << 24, NULL},
	{"flows", "embryonic_timeout", K_DURATION, F(embryonic_timeout_ms), 1, UINT64_MAX, NULL},
	{"flows", "evict_idle", K_DURATION, F(evict_idle_ms), 1, UINT64_MAX, NULL},
	{"flows", "idle_timeout", K_DURATION, F(idle_timeout_ms), 1, UINT64_MAX, NULL},
	{"flows", "closed_timeout", K_DURATION, F(closed_timeout_ms), 0, UINT64_MAX, NULL},
	{"flows", "max_flow_memory", K_SIZE, F(max_flow_memory), 16384, UINT64_MAX, NULL},
	{"flows", "max_ooo_segments", K_UINT, F(max_ooo_segments), 0, 4096, NULL},
	{"flows", "max_memory", K_SIZE, F(max_memory), 1u << 20, UINT64_MAX, NULL},
	{"flows", "on_overload", K_ENUM, F(on_overload), 0, 0, overload_names},
	{"flows", "midstream", K_ENUM, F(midstream), 0, 0, midstream_names},
	{"flows", "verify_checksums", K_BOOL, F(verify_checksums), 0, 0, NULL},
	{"policy", "rules", K_PATH, F(rules), 0, 0, NULL},
	{"control", "socket", K_PATH, F(control_socket), 0, 0, NULL},
	{"control", "name", K_NAME, F(control_name), 0, 0, NULL},
	{"control", "group", K_NAME, F(control_group), 0, 0, NULL},
	{"control", "public_key", K_PATH, F(control_public_key), 0, 0, NULL},
	{"events", "file", K_PATH, F(events_file), 0, 0, NULL},
	{"events", "max_size", K_SIZE, F(events_max_size), 4096, UINT64_MAX, NULL},
	{"events", "keep", K_UINT, F(events_keep), 0, 1000, NULL},
	{"journal", "dir", K_PATH, F(journal_dir), 0, 0, NULL},
	{"journal", "archive", K_ADDR, F(journal_archive), 0, 0, NULL},
	{"journal", "spool", K_PATH, F(journal_spool), 0, 0, NULL},
};
#undef F
#define NKEYS (sizeof keys / sizeof keys[0])

void dp_config_default(struct dp_config *c)
{
	static const uint16_t smtp_ports[] = {25, 587, 2525};

	memset(c, 0, sizeof *c);
	c->outside.id = 0;
	c->inside.id = 1;
	c->rx_descriptors = 1024;
	c->tx_descriptors = 1024;
	c->mbufs = 16383;
	c->promiscuous = true;
	c->direction_check = true;
	c->workers = 1;
	c->distribution = DP_DIST_AUTO;
	c->burst = 32;
	c->mode = DP_MODE_ENFORCE;
	memcpy(c->smtp_ports, smtp_ports, sizeof smtp_ports);
	c->nsmtp_ports = 3;
	c->detect = false;
	c->starttls = DP_STARTTLS_ALLOW;
	c->max_flows = 65536;
	c->max_embryonic = 4096;
	c->embryonic_timeout_ms = 10 * 1000;
	c->evict_idle_ms = 60 * 1000;
	c->idle_timeout_ms = 300 * 1000;
	c->closed_timeout_ms = 10 * 1000;
	c->max_flow_memory = 1 << 20;
	c->max_ooo_segments = 64;
	c->max_memory = 512ull << 20;
	c->on_overload = DP_OVERLOAD_AUTO;
	c->midstream = DP_MIDSTREAM_AUTO;
	c->verify_checksums = true;
	strcpy(c->control_name, "dp0");
	strcpy(c->control_group, "sluice");
	c->events_max_size = 100ull << 20;
	c->events_keep = 5;
}

/* Unsigned decimal with an optional unit suffix from `units` (name, multiplier);
 * `bare` is the multiplier of a number without suffix. */
struct unit {
	const char *name;
	uint64_t mult;
};

static int parse_scaled(const char *s, const struct unit *units, uint64_t bare, uint64_t *out)
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
		const struct unit *u;
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

static const struct unit size_units[] = {
	{"k", 1ull << 10}, {"m", 1ull << 20}, {"g", 1ull << 30}, {NULL, 0}};
static const struct unit time_units[] = {
	{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {NULL, 0}};
static const struct unit no_units[] = {{NULL, 0}};

int dp_parse_bool(const char *s, bool *out)
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

static int parse_enum(const char *s, const char *const *names, int *out)
{
	for (int i = 0; names[i]; i++)
		if (strcasecmp(s, names[i]) == 0)
			return *out = i, 0;
	return -1;
}

int dp_parse_mode(const char *s, enum dp_mode *out)
{
	int v;
	if (parse_enum(s, mode_names, &v))
		return -1;
	*out = (enum dp_mode)v;
	return 0;
}

static int parse_port_number(const char *s, uint16_t *out)
{
	uint64_t v;
	if (parse_scaled(s, no_units, 1, &v) || v == 0 || v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

static int set_value(struct dp_config *c, const struct key_def *k, char *v,
                     char *msg, size_t msglen)
{
	char *field = (char *)c + k->off;
	uint64_t u;
	int e;

	switch (k->type) {
	case K_UINT:
		if (parse_scaled(v, no_units, 1, &u) || u < k->min || u > k->max) {
			snprintf(msg, msglen, "%s: expected a number from %llu to %llu", k->key,
			         (unsigned long long)k->min, (unsigned long long)k->max);
			return -1;
		}
		*(unsigned *)field = (unsigned)u;
		return 0;
	case K_SIZE:
	case K_DURATION:
		if (parse_scaled(v, k->type == K_SIZE ? size_units : time_units,
		                 k->type == K_SIZE ? 1 : 1000, &u) || u < k->min || u > k->max) {
			snprintf(msg, msglen, k->type == K_SIZE ?
			         "%s: expected a size such as 65536, 64k, 1m (at least %llu bytes)" :
			         "%s: expected a duration such as 30s, 500ms, 5m (at least %llu ms)",
			         k->key, (unsigned long long)k->min);
			return -1;
		}
		*(uint64_t *)field = u;
		return 0;
	case K_BOOL:
		if (dp_parse_bool(v, (bool *)field)) {
			snprintf(msg, msglen, "%s: expected yes or no", k->key);
			return -1;
		}
		return 0;
	case K_ENUM:
		if (parse_enum(v, k->names, &e)) {
			size_t n = (size_t)snprintf(msg, msglen, "%s: expected one of", k->key);
			for (int i = 0; k->names[i] && n < msglen; i++)
				n += (size_t)snprintf(msg + n, msglen - n, "%s %s", i ? "," : "", k->names[i]);
			return -1;
		}
		*(int *)field = e;
		return 0;
	case K_PORTREF: {
		struct dp_port_ref *p = (struct dp_port_ref *)field;
		memset(p, 0, sizeof *p);
		if (isdigit((unsigned char)v[0])) {
			if (parse_scaled(v, no_units, 1, &u) || u > 1023) {
				snprintf(msg, msglen, "%s: expected a DPDK port id (0-1023) or a device name", k->key);
				return -1;
			}
			p->id = (uint16_t)u;
		} else if (*v && strlen(v) < sizeof p->name) {
			strcpy(p->name, v);
		} else {
			snprintf(msg, msglen, "%s: expected a DPDK port id or a device name", k->key);
			return -1;
		}
		return 0;
	}
	case K_PORTLIST: {
		size_t n = 0;
		char *save, *tok;
		for (tok = strtok_r(v, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			tok = sl_conf_trim(tok);
			if (n == DP_MAX_SMTP_PORTS) {
				snprintf(msg, msglen, "ports: at most %d ports", DP_MAX_SMTP_PORTS);
				return -1;
			}
			if (parse_port_number(tok, &c->smtp_ports[n])) {
				snprintf(msg, msglen, "ports: '%s' is not a TCP port (1-65535)", tok);
				return -1;
			}
			n++;
		}
		if (n == 0) {
			snprintf(msg, msglen, "ports: at least one TCP port");
			return -1;
		}
		c->nsmtp_ports = n;
		return 0;
	}
	case K_ADDR: {
		const char *colon = strrchr(v, ':');
		uint16_t port;
		if (!*v) {
			field[0] = 0;
			return 0;
		}
		if (!colon || colon == v || strlen(v) >= DP_NAME_MAX || parse_port_number(colon + 1, &port)) {
			snprintf(msg, msglen, "%s: expected HOST:PORT (or [IPv6]:PORT)", k->key);
			return -1;
		}
		strcpy(field, v);
		return 0;
	}
	case K_NAME:
		if (strlen(v) >= DP_NAME_MAX || strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != strlen(v)) {
			snprintf(msg, msglen, "%s: expected a name of letters, digits, '-', '_', '.'", k->key);
			return -1;
		}
		strcpy(field, v);
		return 0;
	case K_PATH:
		if (strlen(v) >= DP_PATH_MAX) {
			snprintf(msg, msglen, "%s: path longer than %d bytes", k->key, DP_PATH_MAX - 1);
			return -1;
		}
		strcpy(field, v);
		return 0;
	}
	return -1;
}

#define POOL_KEYS 8

/* A key of [pool] or [pool-host NAME] (poolconf.c), each at most once per section. */
static int pool_key(struct dp_config *c, struct dp_pool_host *h, const struct sl_conf_line *l,
                    char seen[POOL_KEYS][16], unsigned *nseen, char *msg, size_t len)
{
	for (unsigned i = 0; i < *nseen; i++)
		if (strcmp(seen[i], l->key) == 0) {
			snprintf(msg, len, "'%s' set twice in [%s%s]", l->key, h ? "pool-host " : "pool", h ? h->name : "");
			return -1;
		}
	char value[2048];
	snprintf(value, sizeof value, "%s", l->value);
	if (dp_poolconf_key(&c->pool, h, l->key, value, msg, len))
		return -1;
	if (*nseen < POOL_KEYS && strlen(l->key) < sizeof seen[0])
		strcpy(seen[(*nseen)++], l->key);
	return 0;
}

/* The pool within the rest of the configuration: its connections are inspected flows
 * (so SMTP ports, not bridge mode), and both directions of one must meet on one worker,
 * which the distributor's hash does not do for translated addresses yet. */
static int pool_fits(const struct dp_config *c, char *msg, size_t len)
{
	if (!c->pool.enabled)
		return 0;
	if (c->mode == DP_MODE_BRIDGE) {
		snprintf(msg, len, "[pool] needs mode smtp or enforce (bridge mode tracks no connections)");
		return -1;
	}
	if (c->workers != 1) {
		snprintf(msg, len, "[pool] works with [workers] count = 1 only (not built for several workers yet)");
		return -1;
	}
	for (unsigned i = 0; i < c->pool.nports; i++)
		if (!dp_config_is_smtp_port(c, c->pool.ports[i])) {
			snprintf(msg, len, "[pool] port %u is not one of [smtp] ports", c->pool.ports[i]);
			return -1;
		}
	return 0;
}

int dp_config_parse(struct dp_config *c, const char *name, const char *text,
                    char *err, size_t errlen)
{
	char section[64] = "";
	bool seen[NKEYS] = {false};
	struct dp_pool_host *pool_host = NULL;
	char pool_seen[POOL_KEYS][16];
	unsigned npool_seen = 0;
	unsigned lineno = 0;
	char msg[256];
	struct sl_conf_reader r;
	struct sl_conf_line l;
	sl_conf_init(&r, text);
	for (sl_conf_next(&r, &l); l.kind != SL_CONF_END; sl_conf_next(&r, &l)) {
		lineno = l.lineno;
		if (l.kind == SL_CONF_ERROR) {
			snprintf(msg, sizeof msg, "%s", l.error);
			goto fail;
		}
		if (l.kind == SL_CONF_SECTION) {
			npool_seen = 0;
			pool_host = NULL;
			if (strcmp(l.name, "pool") == 0 && !l.arg) {
				if (c->pool.enabled) {
					snprintf(msg, sizeof msg, "[pool] given twice");
					goto fail;
				}
				c->pool.enabled = true;
				strcpy(section, l.name);
				continue;
			}
			if (strcmp(l.name, "pool-host") == 0) {
				if (!(pool_host = dp_poolconf_host(&c->pool, l.arg, msg, sizeof msg)))
					goto fail;
				strcpy(section, l.name);
				continue;
			}
			size_t i;
			for (i = 0; i < NKEYS; i++)
				if (strcmp(keys[i].section, l.name) == 0)
					break;
			if (i == NKEYS || l.arg || strlen(l.name) >= sizeof section) {
				snprintf(msg, sizeof msg, "unknown section [%.64s%s%.64s]", l.name, l.arg ? " " : "",
				         l.arg ? l.arg : "");
				goto fail;
			}
			strcpy(section, l.name);
			continue;
		}
		if (!*section) {
			snprintf(msg, sizeof msg, "'%.64s' outside any [section]", l.key);
			goto fail;
		}
		if (strcmp(section, "pool") == 0 || strcmp(section, "pool-host") == 0) {
			if (pool_key(c, pool_host, &l, pool_seen, &npool_seen, msg, sizeof msg))
				goto fail;
			continue;
		}
		size_t i;
		for (i = 0; i < NKEYS; i++)
			if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].key, l.key) == 0)
				break;
		if (i == NKEYS) {
			snprintf(msg, sizeof msg, "unknown key '%.64s' in [%s]", l.key, section);
			goto fail;
		}
		if (seen[i]) {
			snprintf(msg, sizeof msg, "'%s' set twice in [%s]", l.key, section);
			goto fail;
		}
		seen[i] = true;
		if (!*l.value && keys[i].type != K_PATH && keys[i].type != K_ADDR && keys[i].type != K_NAME) {
			snprintf(msg, sizeof msg, "%s: missing value", l.key);
			goto fail;
		}
		char value[2048];
		snprintf(value, sizeof value, "%s", l.value); /* set_value may cut it up */
		if (set_value(c, &keys[i], value, msg, sizeof msg))
			goto fail;
	}
	if (c->journal_dir[0] && (c->journal_archive[0] || c->journal_spool[0])) {
		snprintf(err, errlen, "%s: [journal] dir (directory sink) and archive/spool (archive sink) exclude each other", name);
		return -1;
	}
	if (c->journal_archive[0] && !c->journal_spool[0]) {
		snprintf(err, errlen, "%s: [journal] archive needs a spool directory (spool = DIR)", name);
		return -1;
	}
	if (dp_poolconf_check(&c->pool, msg, sizeof msg) || pool_fits(c, msg, sizeof msg)) {
		snprintf(err, errlen, "%s: %s", name, msg);
		return -1;
	}
	if (c->outside.name[0] == 0 && c->inside.name[0] == 0 && c->outside.id == c->inside.id) {
		snprintf(err, errlen, "%s: [ports] outside and inside are the same port", name);
		return -1;
	}
	return 0;
fail:
	snprintf(err, errlen, "%s:%u: %s", name, lineno, msg);
	return -1;
}

int dp_config_load(struct dp_config *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	char *text = NULL;
	size_t cap = 0, len = 0, n;
	char chunk[4096];
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		if (len + n + 1 > cap) {
			cap = (len + n + 1) * 2;
			char *t = realloc(text, cap);
			if (!t) {
				free(text);
				fclose(f);
				snprintf(err, errlen, "%s: out of memory", path);
				return -1;
			}
			text = t;
		}
		memcpy(text + len, chunk, n);
		len += n;
	}
	bool rerr = ferror(f);
	fclose(f);
	if (rerr) {
		free(text);
		snprintf(err, errlen, "%s: read error", path);
		return -1;
	}
	if (memchr(text ? text : "", 0, len)) {
		free(text);
		snprintf(err, errlen, "%s: NUL byte in configuration file", path);
		return -1;
	}
	int rc = dp_config_parse(c, path, text ? (text[len] = 0, text) : "", err, errlen);
	free(text);
	return rc;
}

static void print_size(FILE *out, const char *key, uint64_t v)
{
	if (v && v % (1ull << 30) == 0)
		fprintf(out, "%s = %llug\n", key, (unsigned long long)(v >> 30));
	else if (v && v % (1ull << 20) == 0)
		fprintf(out, "%s = %llum\n", key, (unsigned long long)(v >> 20));
	else if (v && v % (1ull << 10) == 0)
		fprintf(out, "%s = %lluk\n", key, (unsigned long long)(v >> 10));
	else
		fprintf(out, "%s = %llu\n", key, (unsigned long long)v);
}

static void print_duration(FILE *out, const char *key, uint64_t ms)
{
	if (ms % 1000)
		fprintf(out, "%s = %llums\n", key, (unsigned long long)ms);
	else
		fprintf(out, "%s = %llus\n", key, (unsigned long long)(ms / 1000));
}

static void print_port(FILE *out, const char *key, const struct dp_port_ref *p)
{
	if (p->name[0])
		fprintf(out, "%s = %s\n", key, p->name);
	else
		fprintf(out, "%s = %u\n", key, p->id);
}

void dp_config_print(const struct dp_config *c, FILE *out)
{
	fprintf(out, "[ports]\n");
	print_port(out, "outside", &c->outside);
	print_port(out, "inside", &c->inside);
	fprintf(out, "rx_descriptors = %u\ntx_descriptors = %u\nmbufs = %u\npromiscuous = %s\n"
	        "direction_check = %s\n",
	        c->rx_descriptors, c->tx_descriptors, c->mbufs, c->promiscuous ? "yes" : "no",
	        c->direction_check ? "yes" : "no");
	fprintf(out, "\n[workers]\ncount = %u\ndistribution = %s\nburst = %u\n",
	        c->workers, dp_distribution_name(c->distribution), c->burst);
	fprintf(out, "\n[dataplane]\nmode = %s\n", dp_mode_name(c->mode));
	fprintf(out, "\n[smtp]\nports = ");
	for (size_t i = 0; i < c->nsmtp_ports; i++)
		fprintf(out, "%s%u", i ? ", " : "", c->smtp_ports[i]);
	fprintf(out, "\ndetect = %s\nstarttls = %s\n", c->detect ? "yes" : "no",
	        dp_starttls_name(c->starttls));
	fprintf(out, "\n[flows]\nmax_flows = %u\nmax_embryonic = %u\n", c->max_flows, c->max_embryonic);
	print_duration(out, "embryonic_timeout", c->embryonic_timeout_ms);
	print_duration(out, "evict_idle", c->evict_idle_ms);
	print_duration(out, "idle_timeout", c->idle_timeout_ms);
	print_duration(out, "closed_timeout", c->closed_timeout_ms);
	print_size(out, "max_flow_memory", c->max_flow_memory);
	fprintf(out, "max_ooo_segments = %u\n", c->max_ooo_segments);
	print_size(out, "max_memory", c->max_memory);
	fprintf(out, "on_overload = %s\nmidstream = %s\n", dp_overload_name(c->on_overload),
	        dp_midstream_name(c->midstream));
	fprintf(out, "verify_checksums = %s\n", c->verify_checksums ? "yes" : "no");
	fprintf(out, "\n[policy]\nrules = %s\n", c->rules);
	fprintf(out, "\n[control]\nsocket = %s\nname = %s\ngroup = %s\npublic_key = %s\n",
	        c->control_socket, c->control_name, c->control_group, c->control_public_key);
	fprintf(out, "\n[events]\nfile = %s\n", c->events_file);
	print_size(out, "max_size", c->events_max_size);
	fprintf(out, "keep = %u\n", c->events_keep);
	fprintf(out, "\n[journal]\ndir = %s\narchive = %s\nspool = %s\n", c->journal_dir,
	        c->journal_archive, c->journal_spool);
	dp_poolconf_print(&c->pool, out);
}

bool dp_config_is_smtp_port(const struct dp_config *c, uint16_t port)
{
	for (size_t i = 0; i < c->nsmtp_ports; i++)
		if (c->smtp_ports[i] == port)
			return true;
	return false;
}

const char *dp_mode_name(enum dp_mode m)
{
	return (unsigned)m < 3 ? mode_names[m] : "?";
}

const char *dp_starttls_name(enum dp_starttls s)
{
	return (unsigned)s < 3 ? starttls_names[s] : "?";
}

const char *dp_distribution_name(enum dp_distribution d)
{
	return (unsigned)d < 3 ? dist_names[d] : "?";
}

const char *dp_overload_name(enum dp_overload o)
{
	return (unsigned)o < 3 ? overload_names[o] : "?";
}

const char *dp_midstream_name(enum dp_midstream m)
{
	return (unsigned)m < 3 ? midstream_names[m] : "?";
}

/* In enforce mode a flow on an SMTP port that passes uninspected is a way around the
 * policy, so `auto` refuses it (the sender retries: SMTP is built for that); a flow
 * found only by content detection may not be mail at all, and in monitor modes nothing
 * is enforced anyway, so there `auto` lets it pass. */
bool dp_config_fail_closed(const struct dp_config *c, bool smtp_port)
{
	if (c->on_overload == DP_OVERLOAD_AUTO)
		return c->mode == DP_MODE_ENFORCE && smtp_port;
	return c->on_overload == DP_OVERLOAD_CLOSED;
}

bool dp_config_midstream_reset(const struct dp_config *c)
{
	if (c->midstream == DP_MIDSTREAM_AUTO)
		return c->mode == DP_MODE_ENFORCE;
	return c->midstream == DP_MIDSTREAM_RESET;
}
