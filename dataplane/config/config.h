/* sluice-dp's configuration: one file of [section] key = value lines, parsed once at
 * start (docs/dataplane.md lists every key). No DPDK. */
#ifndef SLUICE_DP_CONFIG_H
#define SLUICE_DP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pool/poolconf.h"
#include "protect/ratelimit.h"

#define DP_MAX_SMTP_PORTS 32
#define DP_NAME_MAX 128
#define DP_PATH_MAX 1024

enum dp_mode {
	DP_MODE_BRIDGE,  /* layer 2 only */
	DP_MODE_SMTP,    /* + reassembly, normalization, SMTP; every message passes */
	DP_MODE_ENFORCE, /* + policy verdicts enforced */
};

enum dp_starttls {
	DP_STARTTLS_ALLOW,
	DP_STARTTLS_STRIP,
	DP_STARTTLS_BLOCK,
};

/* What happens to a flow the dataplane cannot inspect (docs/dataplane.md). */
enum dp_overload {
	DP_OVERLOAD_AUTO,   /* closed for SMTP-port flows in enforce mode, else open */
	DP_OVERLOAD_OPEN,
	DP_OVERLOAD_CLOSED,
};

/* Data of an SMTP connection whose start the dataplane never saw. */
enum dp_midstream {
	DP_MIDSTREAM_AUTO,  /* reset in enforce mode, else pass */
	DP_MIDSTREAM_RESET,
	DP_MIDSTREAM_PASS,
};

/* What a protection detector does when it fires (docs/protection.md). */
enum dp_protect_action {
	DP_ACTION_OFF,     /* not checked */
	DP_ACTION_LOG,     /* counted, and an event in the event log */
	DP_ACTION_SIGNAL,  /* + a protect.* signal in the session's next message (the policy decides) */
	DP_ACTION_CLOSE,   /* + the dataplane answers 421/554 for the server and closes the session */
	DP_ACTION_BAN,     /* + the source is banned for ban_time */
};

/* What a SYN the protection refuses gets. */
enum dp_refuse {
	DP_REFUSE_REPLY,   /* the dataplane completes the handshake itself (SYN cookie) and
	                    * answers 421/554, then closes: the server never sees it */
	DP_REFUSE_DROP,    /* dropped silently */
};

enum dp_emergency {
	DP_EMERGENCY_AUTO, /* entered when half-open flows are evicted faster than the trigger */
	DP_EMERGENCY_ON,
	DP_EMERGENCY_OFF,
};

/* [protect]: per-source limits, lists, bans, protocol-abuse detectors. Index [0] is the
 * source address, [1] its /24 (IPv4) or /64 (IPv6). */
struct dp_protect_config {
	bool enabled;
	char allow_file[DP_PATH_MAX], block_file[DP_PATH_MAX];
	unsigned max_sources;            /* source table entries per worker */
	unsigned max_list_entries;
	struct dp_rate connections[2], messages[2], recipients[2], bytes[2];
	unsigned sessions[2];            /* concurrent; 0: none */
	enum dp_refuse on_connection_limit, on_block, on_ban;
	enum dp_protect_action rate_limit; /* messages, recipients, bytes over their rate */
	enum dp_protect_action harvest, auth_failures, pregreet, non_smtp, vrfy_expn, errors,
	                       unknown_commands, long_lines, recipients_per_message;
	unsigned harvest_limit, auth_failure_limit;
	uint64_t harvest_window_ms, auth_failure_window_ms;
	uint64_t ban_time_ms;
	uint64_t greet_wait_ms;          /* the server's greeting held this long (pregreet test) */
	unsigned vrfy_expn_limit, error_limit, unknown_command_limit;
	unsigned max_line_length, max_recipients;
	enum dp_emergency emergency;
	unsigned emergency_trigger;      /* half-open flows evicted per second that start it */
	uint64_t emergency_hold_ms;      /* it ends after this long without the trigger */
	uint64_t verified_ttl_ms;        /* a source that completed a handshake passes that long */
};

enum dp_distribution {
	DP_DIST_AUTO,
	DP_DIST_RSS,
	DP_DIST_SOFTWARE,
};

struct dp_config {
	/* [ports]: a port is an id, or a device name when name[0] != 0 */
	struct dp_port_ref {
		uint16_t id;
		char name[DP_NAME_MAX];
	} outside, inside;
	unsigned rx_descriptors, tx_descriptors, mbufs;
	bool promiscuous;
	bool direction_check;    /* client packets only on the port the SYN came in on */
	/* [workers] */
	unsigned workers;
	enum dp_distribution distribution;
	unsigned burst;
	/* [dataplane] */
	enum dp_mode mode;
	/* [smtp] */
	uint16_t smtp_ports[DP_MAX_SMTP_PORTS];
	size_t nsmtp_ports;
	bool detect;
	enum dp_starttls starttls;
	/* [flows] */
	unsigned max_flows;
	unsigned max_embryonic;  /* flows whose handshake has not completed */
	uint64_t embryonic_timeout_ms, evict_idle_ms;
	uint64_t idle_timeout_ms, closed_timeout_ms;
	uint64_t max_flow_memory;
	unsigned max_ooo_segments;
	uint64_t max_memory;
	enum dp_overload on_overload;
	enum dp_midstream midstream;
	bool verify_checksums;
	/* [policy] */
	char rules[DP_PATH_MAX];
	char spam_model[DP_PATH_MAX]; /* [policy] spam_model, --spam-model: replaces the policy's */
	/* [control] */
	char control_socket[DP_PATH_MAX];   /* empty: no control socket */
	char control_name[DP_NAME_MAX];     /* this dataplane's name (events, hello) */
	char control_group[DP_NAME_MAX];    /* the socket's group (0660), besides root */
	char control_public_key[DP_PATH_MAX]; /* set: only bundles it signed load */
	/* [events] */
	char events_file[DP_PATH_MAX];      /* empty: no event log */
	uint64_t events_max_size;           /* rotate past this many bytes */
	unsigned events_keep;               /* rotated files kept (FILE.1 .. FILE.keep) */
	/* [protect] */
	struct dp_protect_config protect;
	/* [journal] */
	char journal_dir[DP_PATH_MAX];
	char journal_archive[DP_NAME_MAX];  /* sluice-archive "host:port" */
	char journal_spool[DP_PATH_MAX];
	char journal_tls_ca[DP_PATH_MAX];   /* mutual TLS to the archive (docs/archive.md) */
	char journal_tls_cert[DP_PATH_MAX];
	char journal_tls_key[DP_PATH_MAX];
	char journal_tls_name[DP_NAME_MAX]; /* the name on the archive's certificate */
	uint64_t journal_spool_max;         /* spooled + queued bytes (0: the disk is the cap) */
	bool journal_required;              /* no durable copy possible: 4xx at end of data */
	unsigned journal_queue_messages;    /* per worker: copies in flight to the sink thread */
	uint64_t journal_queue_bytes;       /* per worker: pooled chunks for their bytes */
	/* [pool], [pool-host NAME] */
	struct dp_pool_conf pool;
};

void dp_config_default(struct dp_config *c);

/* Parse a file over the defaults already in *c. On error returns -1 and writes
 * "FILE:LINE: message" to err. */
int dp_config_load(struct dp_config *c, const char *path, char *err, size_t errlen);
/* Same, from a string (tests); `name` stands for the file name in messages. */
int dp_config_parse(struct dp_config *c, const char *name, const char *text,
                    char *err, size_t errlen);

/* Individual values, shared with the command line. 0 on success. */
int dp_parse_mode(const char *s, enum dp_mode *out);

/* The effective configuration as a valid configuration file. */
void dp_config_print(const struct dp_config *c, FILE *out);

bool dp_config_is_smtp_port(const struct dp_config *c, uint16_t port);

/* on_overload resolved: true when a flow that cannot be inspected is refused (its
 * packets dropped, the connection reset, a message tempfailed) rather than passed.
 * smtp_port: the flow is on a configured SMTP port (not found by content detection). */
bool dp_config_fail_closed(const struct dp_config *c, bool smtp_port);
/* The protection acts: [protect] enabled, in enforce mode (smtp mode enforces nothing). */
bool dp_config_protecting(const struct dp_config *c);
/* midstream resolved: true when data of an unseen connection resets it. */
bool dp_config_midstream_reset(const struct dp_config *c);

const char *dp_mode_name(enum dp_mode m);
const char *dp_starttls_name(enum dp_starttls s);
const char *dp_distribution_name(enum dp_distribution d);
const char *dp_overload_name(enum dp_overload o);
const char *dp_midstream_name(enum dp_midstream m);
const char *dp_action_name(enum dp_protect_action a);
const char *dp_refuse_name(enum dp_refuse r);
const char *dp_emergency_name(enum dp_emergency e);

#endif
