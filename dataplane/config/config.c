/* The configuration file: a table of keys, each with its type and place in dp_config. */
#include "config/config.h"

#include "sluice/conffile.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* The types of engine/core/conffile.c, and those of sluice-dp alone. */
enum key_type {
	K_UINT = SL_CONF_UINT,
	K_SIZE = SL_CONF_SIZE,
	K_DURATION = SL_CONF_DURATION,
	K_BOOL = SL_CONF_BOOL,
	K_ENUM = SL_CONF_ENUM,
	K_PORTREF = SL_CONF_OWN,
	K_PORTLIST,
	K_PATH,
	K_ADDR,      /* host:port, [v6]:port */
	K_NAME,      /* a short word: letters, digits, '-', '_', '.' */
	K_RATE,      /* "N/s", "N/m", "N/h" with an optional "burst M" (sizes: k/m/g); 0: none */
	K_BYTERATE,  /* the same, for bytes (the burst at least 64k) */
};

static const char *const mode_names[] = {"bridge", "smtp", "enforce", NULL};
static const char *const starttls_names[] = {"allow", "strip", "block", NULL};
static const char *const dist_names[] = {"auto", "rss", "software", NULL};
static const char *const overload_names[] = {"auto", "open", "closed", NULL};
static const char *const midstream_names[] = {"auto", "reset", "pass", NULL};
static const char *const action_names[] = {"off", "log", "signal", "close", "ban", NULL};
static const char *const refuse_names[] = {"reply", "drop", NULL};
static const char *const emergency_names[] = {"auto", "on", "off", NULL};

#define F(field) offsetof(struct dp_config, field)
static const struct sl_conf_key keys[] = {
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
	{"policy", "spam_model", K_PATH, F(spam_model), 0, 0, NULL},
	{"control", "socket", K_PATH, F(control_socket), 0, 0, NULL},
	{"control", "name", K_NAME, F(control_name), 0, 0, NULL},
	{"control", "group", K_NAME, F(control_group), 0, 0, NULL},
	{"control", "public_key", K_PATH, F(control_public_key), 0, 0, NULL},
	{"events", "file", K_PATH, F(events_file), 0, 0, NULL},
	{"events", "max_size", K_SIZE, F(events_max_size), 4096, UINT64_MAX, NULL},
	{"events", "keep", K_UINT, F(events_keep), 0, 1000, NULL},
	{"protect", "enabled", K_BOOL, F(protect.enabled), 0, 0, NULL},
	{"protect", "allow_file", K_PATH, F(protect.allow_file), 0, 0, NULL},
	{"protect", "block_file", K_PATH, F(protect.block_file), 0, 0, NULL},
	{"protect", "max_list_entries", K_UINT, F(protect.max_list_entries), 16, 1u << 20, NULL},
	{"protect", "max_sources", K_UINT, F(protect.max_sources), 64, 1u << 24, NULL},
	{"protect", "host_connections", K_RATE, F(protect.connections[0]), 0, 0, NULL},
	{"protect", "net_connections", K_RATE, F(protect.connections[1]), 0, 0, NULL},
	{"protect", "host_sessions", K_UINT, F(protect.sessions[0]), 0, 1u << 24, NULL},
	{"protect", "net_sessions", K_UINT, F(protect.sessions[1]), 0, 1u << 24, NULL},
	{"protect", "host_messages", K_RATE, F(protect.messages[0]), 0, 0, NULL},
	{"protect", "net_messages", K_RATE, F(protect.messages[1]), 0, 0, NULL},
	{"protect", "host_recipients", K_RATE, F(protect.recipients[0]), 0, 0, NULL},
	{"protect", "net_recipients", K_RATE, F(protect.recipients[1]), 0, 0, NULL},
	{"protect", "host_bytes", K_BYTERATE, F(protect.bytes[0]), 0, 0, NULL},
	{"protect", "net_bytes", K_BYTERATE, F(protect.bytes[1]), 0, 0, NULL},
	{"protect", "on_connection_limit", K_ENUM, F(protect.on_connection_limit), 0, 0, refuse_names},
	{"protect", "rate_limit", K_ENUM, F(protect.rate_limit), 0, 0, action_names},
	{"protect", "on_block", K_ENUM, F(protect.on_block), 0, 0, refuse_names},
	{"protect", "on_ban", K_ENUM, F(protect.on_ban), 0, 0, refuse_names},
	{"protect", "ban_time", K_DURATION, F(protect.ban_time_ms), 1000, 30ull * 86400 * 1000, NULL},
	{"protect", "harvest", K_ENUM, F(protect.harvest), 0, 0, action_names},
	{"protect", "harvest_limit", K_UINT, F(protect.harvest_limit), 1, 1u << 20, NULL},
	{"protect", "harvest_window", K_DURATION, F(protect.harvest_window_ms), 1000, 86400ull * 1000, NULL},
	{"protect", "auth_failures", K_ENUM, F(protect.auth_failures), 0, 0, action_names},
	{"protect", "auth_failure_limit", K_UINT, F(protect.auth_failure_limit), 1, 1u << 20, NULL},
	{"protect", "auth_failure_window", K_DURATION, F(protect.auth_failure_window_ms), 1000, 86400ull * 1000, NULL},
	{"protect", "pregreet", K_ENUM, F(protect.pregreet), 0, 0, action_names},
	{"protect", "greet_wait", K_DURATION, F(protect.greet_wait_ms), 0, 60000, NULL},
	{"protect", "non_smtp", K_ENUM, F(protect.non_smtp), 0, 0, action_names},
	{"protect", "vrfy_expn", K_ENUM, F(protect.vrfy_expn), 0, 0, action_names},
	{"protect", "vrfy_expn_limit", K_UINT, F(protect.vrfy_expn_limit), 0, 1u << 20, NULL},
	{"protect", "errors", K_ENUM, F(protect.errors), 0, 0, action_names},
	{"protect", "error_limit", K_UINT, F(protect.error_limit), 1, 1u << 20, NULL},
	{"protect", "unknown_commands", K_ENUM, F(protect.unknown_commands), 0, 0, action_names},
	{"protect", "unknown_command_limit", K_UINT, F(protect.unknown_command_limit), 1, 1u << 20, NULL},
	{"protect", "long_lines", K_ENUM, F(protect.long_lines), 0, 0, action_names},
	{"protect", "max_line_length", K_UINT, F(protect.max_line_length), 64, 1u << 20, NULL},
	{"protect", "recipients_per_message", K_ENUM, F(protect.recipients_per_message), 0, 0, action_names},
	{"protect", "max_recipients", K_UINT, F(protect.max_recipients), 1, 1u << 20, NULL},
	{"protect", "emergency", K_ENUM, F(protect.emergency), 0, 0, emergency_names},
	{"protect", "emergency_trigger", K_UINT, F(protect.emergency_trigger), 1, 1u << 30, NULL},
	{"protect", "emergency_hold", K_DURATION, F(protect.emergency_hold_ms), 1000, 86400ull * 1000, NULL},
	{"protect", "verified_ttl", K_DURATION, F(protect.verified_ttl_ms), 1000, 30ull * 86400 * 1000, NULL},
	{"journal", "dir", K_PATH, F(journal_dir), 0, 0, NULL},
	{"journal", "archive", K_ADDR, F(journal_archive), 0, 0, NULL},
	{"journal", "spool", K_PATH, F(journal_spool), 0, 0, NULL},
	{"journal", "tls_ca", K_PATH, F(journal_tls_ca), 0, 0, NULL},
	{"journal", "tls_cert", K_PATH, F(journal_tls_cert), 0, 0, NULL},
	{"journal", "tls_key", K_PATH, F(journal_tls_key), 0, 0, NULL},
	{"journal", "tls_name", K_NAME, F(journal_tls_name), 0, 0, NULL},
	{"journal", "spool_max", K_SIZE, F(journal_spool_max), 0, UINT64_MAX, NULL},
	{"journal", "required", K_BOOL, F(journal_required), 0, 0, NULL},
	{"journal", "queue_messages", K_UINT, F(journal_queue_messages), 1, 1u << 20, NULL},
	{"journal", "queue_bytes", K_SIZE, F(journal_queue_bytes), 64 * 1024, 1ull << 36, NULL},
};
#undef F
#define NKEYS (sizeof keys / sizeof keys[0])

static void rate(struct dp_rate *r, uint64_t per, uint64_t unit_ms, uint64_t burst)
{
	*r = (struct dp_rate){per, unit_ms, burst};
}

/* Generous: meant to stop floods and probes, not to shape senders (docs/protection.md). */
static void protect_default(struct dp_protect_config *p)
{
	memset(p, 0, sizeof *p);
	p->enabled = true;
	p->max_list_entries = 65536;
	p->max_sources = 65536;
	rate(&p->connections[0], 30, 1000, 60);
	rate(&p->connections[1], 120, 1000, 240);
	p->sessions[0] = 50;  /* Postfix's smtpd_client_connection_count_limit */
	p->sessions[1] = 200;
	rate(&p->messages[0], 600, 60000, 600);
	rate(&p->messages[1], 3000, 60000, 3000);
	rate(&p->recipients[0], 6000, 60000, 6000);
	rate(&p->recipients[1], 30000, 60000, 30000);
	rate(&p->bytes[0], 1ull << 30, 60000, 1ull << 30);
	rate(&p->bytes[1], 4ull << 30, 60000, 4ull << 30);
	p->on_connection_limit = DP_REFUSE_REPLY;
	p->on_block = DP_REFUSE_REPLY;
	p->on_ban = DP_REFUSE_REPLY;
	p->rate_limit = DP_ACTION_CLOSE;
	p->ban_time_ms = 3600 * 1000;
	p->harvest = DP_ACTION_BAN;
	p->harvest_limit = 20;
	p->harvest_window_ms = 5 * 60 * 1000;
	p->auth_failures = DP_ACTION_BAN;
	p->auth_failure_limit = 10;
	p->auth_failure_window_ms = 10 * 60 * 1000;
	p->pregreet = DP_ACTION_CLOSE;
	p->non_smtp = DP_ACTION_CLOSE;
	p->vrfy_expn = DP_ACTION_CLOSE;
	p->vrfy_expn_limit = 5;
	p->errors = DP_ACTION_CLOSE;
	p->error_limit = 20;  /* Postfix's smtpd_hard_error_limit */
	p->unknown_commands = DP_ACTION_CLOSE;
	p->unknown_command_limit = 10;
	p->long_lines = DP_ACTION_CLOSE;
	p->max_line_length = 2048; /* Postfix's line_length_limit */
	p->recipients_per_message = DP_ACTION_SIGNAL;
	p->max_recipients = 100;   /* RFC 5321 4.5.3.1.8: servers must take at least 100 */
	p->emergency = DP_EMERGENCY_AUTO;
	p->emergency_trigger = 1000;
	p->emergency_hold_ms = 30 * 1000;
	p->verified_ttl_ms = 24ull * 3600 * 1000; /* postscreen's cache TTL for passed tests */
}

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
	c->journal_queue_messages = 1024;
	c->journal_queue_bytes = 16u << 20;
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
	protect_default(&c->protect);
}

#define DP_RATE_MAX DP_RATE_MAX_SCALED

int dp_parse_mode(const char *s, enum dp_mode *out)
{
	int v;
	if (sl_conf_parse_enum(s, mode_names, &v))
		return -1;
	*out = (enum dp_mode)v;
	return 0;
}

static int parse_port_number(const char *s, uint16_t *out)
{
	uint64_t v;
	if (sl_conf_parse_scaled(s, sl_conf_no_units, 1, &v) || v == 0 || v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

/* "N/UNIT [burst M]": N and M take k/m/g; UNIT is s, m or h; "0" is no limit. */
static int parse_rate(char *v, struct dp_rate *r, bool bytes, const char *key,
                      char *msg, size_t msglen)
{
	uint64_t per, burst = 0, unit;
	char *save, *count = strtok_r(v, " \t", &save);
	char *word = strtok_r(NULL, " \t", &save), *b = strtok_r(NULL, " \t", &save);
	char *slash = count ? strchr(count, '/') : NULL;
	if (count && strcmp(count, "0") == 0 && !word) {
		memset(r, 0, sizeof *r);
		return 0;
	}
	if (slash)
		*slash = 0;
	if (!slash || sl_conf_parse_scaled(count, sl_conf_size_units, 1, &per) || per == 0 ||
	    (strcmp(slash + 1, "s") && strcmp(slash + 1, "m") && strcmp(slash + 1, "h")) ||
	    (word && (strcmp(word, "burst") || !b ||
	              sl_conf_parse_scaled(b, sl_conf_size_units, 1, &burst) || burst == 0 ||
	              strtok_r(NULL, " \t", &save)))) {
		snprintf(msg, msglen, "%s: expected a rate such as 30/s, 600/m or 1g/m, optionally "
		         "followed by 'burst N' (0: no limit)", key);
		return -1;
	}
	unit = slash[1] == 's' ? 1000 : slash[1] == 'm' ? 60000 : 3600000;
	if (!burst)
		burst = per; /* one unit's worth */
	if (burst > DP_RATE_MAX / unit || per > DP_RATE_MAX / unit) {
		snprintf(msg, msglen, "%s: rate or burst too large", key);
		return -1;
	}
	if (bytes && burst < 65536) {
		snprintf(msg, msglen, "%s: a byte rate's burst must be at least 64k (one segment "
		         "must fit)", key);
		return -1;
	}
	*r = (struct dp_rate){per, unit, burst};
	return 0;
}

/* A key of sluice-dp's own types (the common ones: sl_conf_key_set). */
static int set_value(struct dp_config *c, const struct sl_conf_key *k, char *v,
                     char *msg, size_t msglen)
{
	int rc = sl_conf_key_set(c, k, v, msg, msglen);
	if (rc <= 0)
		return rc;
	char *field = (char *)c + k->off;
	uint64_t u;

	switch (k->type) {
	case K_PORTREF: {
		struct dp_port_ref *p = (struct dp_port_ref *)field;
		memset(p, 0, sizeof *p);
		if (isdigit((unsigned char)v[0])) {
			if (sl_conf_parse_scaled(v, sl_conf_no_units, 1, &u) || u > 1023) {
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
	case K_RATE:
	case K_BYTERATE:
		return parse_rate(v, (struct dp_rate *)field, k->type == K_BYTERATE, k->key, msg, msglen);
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
 * (so SMTP ports, not bridge mode), and both sides of one must meet on one worker: the
 * software distributor places frames by their client (the outside end), which a
 * translated connection keeps on both sides; symmetric RSS hashes the two sides apart. */
static int pool_fits(const struct dp_config *c, char *msg, size_t len)
{
	if (!c->pool.enabled)
		return 0;
	if (c->mode == DP_MODE_BRIDGE) {
		snprintf(msg, len, "[pool] needs mode smtp or enforce (bridge mode tracks no connections)");
		return -1;
	}
	if (c->workers != 1 && (c->distribution != DP_DIST_SOFTWARE || !c->direction_check)) {
		snprintf(msg, len, "[pool] with several workers needs [workers] distribution = software and "
		         "[ports] direction_check = yes (both sides of a translated connection placed by its client)");
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
		const struct sl_conf_key *k = sl_conf_key_find(keys, NKEYS, section, l.key, msg, sizeof msg);
		if (!k)
			goto fail;
		if (seen[k - keys]) {
			snprintf(msg, sizeof msg, "'%s' set twice in [%s]", l.key, section);
			goto fail;
		}
		seen[k - keys] = true;
		if (!*l.value && k->type != K_PATH && k->type != K_ADDR && k->type != K_NAME) {
			snprintf(msg, sizeof msg, "%s: missing value", l.key);
			goto fail;
		}
		char value[2048];
		snprintf(value, sizeof value, "%s", l.value); /* set_value may cut it up */
		if (set_value(c, k, value, msg, sizeof msg))
			goto fail;
	}
	if (c->journal_dir[0] && (c->journal_archive[0] || c->journal_spool[0])) {
		snprintf(err, errlen, "%s: [journal] dir (directory sink) and archive/spool (archive sink) exclude each other", name);
		return -1;
	}
	int tls_files = !!c->journal_tls_ca[0] + !!c->journal_tls_cert[0] + !!c->journal_tls_key[0];
	if (tls_files != 0 && tls_files != 3) {
		snprintf(err, errlen, "%s: [journal] tls_ca, tls_cert and tls_key go together", name);
		return -1;
	}
	if (c->journal_archive[0] && !c->journal_spool[0]) {
		snprintf(err, errlen, "%s: [journal] archive needs a spool directory (spool = DIR)", name);
		return -1;
	}
	if ((c->journal_required || c->journal_spool_max) && !c->journal_spool[0]) {
		snprintf(err, errlen, "%s: [journal] required and spool_max are for the archive sink (spool = DIR)", name);
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

static void print_count(FILE *out, uint64_t v)
{
	if (v >= (1ull << 10) && v % (1ull << 10) == 0) {
		const char *u = v % (1ull << 30) == 0 ? "g" : v % (1ull << 20) == 0 ? "m" : "k";
		unsigned shift = *u == 'g' ? 30 : *u == 'm' ? 20 : 10;
		fprintf(out, "%llu%s", (unsigned long long)(v >> shift), u);
	} else {
		fprintf(out, "%llu", (unsigned long long)v);
	}
}

static void print_rate(FILE *out, const char *key, const struct dp_rate *r)
{
	fprintf(out, "%s = ", key);
	if (!r->per) {
		fprintf(out, "0\n");
		return;
	}
	print_count(out, r->per);
	fprintf(out, "/%s burst ", r->unit_ms == 1000 ? "s" : r->unit_ms == 60000 ? "m" : "h");
	print_count(out, r->burst);
	fprintf(out, "\n");
}

static void print_protect(FILE *out, const struct dp_protect_config *p)
{
	static const char *const level[2] = {"host", "net"};
	char k[64];
	fprintf(out, "\n[protect]\nenabled = %s\nallow_file = %s\nblock_file = %s\n"
	        "max_list_entries = %u\nmax_sources = %u\n", p->enabled ? "yes" : "no",
	        p->allow_file, p->block_file, p->max_list_entries, p->max_sources);
	for (int i = 0; i < 2; i++) {
		snprintf(k, sizeof k, "%s_connections", level[i]);
		print_rate(out, k, &p->connections[i]);
	}
	for (int i = 0; i < 2; i++)
		fprintf(out, "%s_sessions = %u\n", level[i], p->sessions[i]);
	const struct { const char *name; const struct dp_rate *r; } rates[] = {
		{"messages", p->messages}, {"recipients", p->recipients}, {"bytes", p->bytes}};
	for (size_t j = 0; j < sizeof rates / sizeof rates[0]; j++)
		for (int i = 0; i < 2; i++) {
			snprintf(k, sizeof k, "%s_%s", level[i], rates[j].name);
			print_rate(out, k, &rates[j].r[i]);
		}
	fprintf(out, "on_connection_limit = %s\nrate_limit = %s\non_block = %s\non_ban = %s\n",
	        dp_refuse_name(p->on_connection_limit), dp_action_name(p->rate_limit),
	        dp_refuse_name(p->on_block), dp_refuse_name(p->on_ban));
	print_duration(out, "ban_time", p->ban_time_ms);
	fprintf(out, "harvest = %s\nharvest_limit = %u\n", dp_action_name(p->harvest), p->harvest_limit);
	print_duration(out, "harvest_window", p->harvest_window_ms);
	fprintf(out, "auth_failures = %s\nauth_failure_limit = %u\n", dp_action_name(p->auth_failures),
	        p->auth_failure_limit);
	print_duration(out, "auth_failure_window", p->auth_failure_window_ms);
	fprintf(out, "pregreet = %s\n", dp_action_name(p->pregreet));
	print_duration(out, "greet_wait", p->greet_wait_ms);
	fprintf(out, "non_smtp = %s\nvrfy_expn = %s\nvrfy_expn_limit = %u\nerrors = %s\n"
	        "error_limit = %u\nunknown_commands = %s\nunknown_command_limit = %u\n"
	        "long_lines = %s\nmax_line_length = %u\nrecipients_per_message = %s\n"
	        "max_recipients = %u\n", dp_action_name(p->non_smtp), dp_action_name(p->vrfy_expn),
	        p->vrfy_expn_limit, dp_action_name(p->errors), p->error_limit,
	        dp_action_name(p->unknown_commands), p->unknown_command_limit,
	        dp_action_name(p->long_lines), p->max_line_length,
	        dp_action_name(p->recipients_per_message), p->max_recipients);
	fprintf(out, "emergency = %s\nemergency_trigger = %u\n", dp_emergency_name(p->emergency),
	        p->emergency_trigger);
	print_duration(out, "emergency_hold", p->emergency_hold_ms);
	print_duration(out, "verified_ttl", p->verified_ttl_ms);
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
	print_protect(out, &c->protect);
	fprintf(out, "\n[journal]\ndir = %s\narchive = %s\nspool = %s\n", c->journal_dir,
	        c->journal_archive, c->journal_spool);
	fprintf(out, "tls_ca = %s\ntls_cert = %s\ntls_key = %s\ntls_name = %s\n", c->journal_tls_ca,
	        c->journal_tls_cert, c->journal_tls_key, c->journal_tls_name);
	print_size(out, "spool_max", c->journal_spool_max);
	fprintf(out, "required = %s\n", c->journal_required ? "yes" : "no");
	fprintf(out, "queue_messages = %u\n", c->journal_queue_messages);
	print_size(out, "queue_bytes", c->journal_queue_bytes);
	dp_poolconf_print(&c->pool, out);
}

const char *dp_action_name(enum dp_protect_action a)
{
	return (unsigned)a < 5 ? action_names[a] : "?";
}

const char *dp_refuse_name(enum dp_refuse r)
{
	return (unsigned)r < 2 ? refuse_names[r] : "?";
}

const char *dp_emergency_name(enum dp_emergency e)
{
	return (unsigned)e < 3 ? emergency_names[e] : "?";
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

bool dp_config_protecting(const struct dp_config *c)
{
	return c->protect.enabled && c->mode == DP_MODE_ENFORCE;
}

bool dp_config_midstream_reset(const struct dp_config *c)
{
	if (c->midstream == DP_MIDSTREAM_AUTO)
		return c->mode == DP_MODE_ENFORCE;
	return c->midstream == DP_MIDSTREAM_RESET;
}
