/* sluice-control's configuration file (docs/control.md): the same `[section] key = value`
 * syntax as sluice-dp's, `#` comments, one `[dataplane NAME]` section per dataplane. */
#ifndef SLUICE_CONTROL_CONF_H
#define SLUICE_CONTROL_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CTL_PATH_MAX 4096
#define CTL_SOCK_MAX 108   /* sun_path */
#define CTL_NAME_MAX 64
#define CTL_MAX_DATAPLANES 64

struct ctl_dp_conf {
	char name[CTL_NAME_MAX];      /* letters, digits, '.', '-', '_' */
	char socket[CTL_SOCK_MAX];
};

struct ctl_config {
	char state[CTL_PATH_MAX];         /* the state directory */
	char socket[CTL_SOCK_MAX];        /* sluicectl's socket */
	char group[CTL_NAME_MAX];         /* its group (mode 0660); none: root only */
	char private_key[CTL_PATH_MAX];   /* Ed25519 PEM that signs every bundle */
	uint64_t push_timeout_ms;         /* a dataplane's answer to bundle.load */
	uint64_t request_timeout_ms;      /* its answer to anything else */
	uint64_t reconnect_ms;            /* how often a down dataplane is tried */
	uint64_t heartbeat_ms;            /* how often an up one is asked hello */
	char metrics_listen[128];         /* HOST:PORT of /metrics; empty: none */
	/* [pool]: health checks of the dataplanes' mail-host pools (docs/pool.md) */
	bool pool_checks;                 /* the section was given */
	uint64_t pool_interval_ms;        /* one round of checks every interval */
	uint64_t pool_timeout_ms;         /* one check's whole budget */
	unsigned pool_rise, pool_fall;    /* successes to come up, failures to go down */
	struct ctl_dp_conf dp[CTL_MAX_DATAPLANES];
	unsigned ndp;
};

void ctl_config_default(struct ctl_config *c);
/* Parse the text of a configuration file named `name` (for messages) into c (defaults
 * first). 0, or -1 with "name:line: message" in err. */
int ctl_config_parse(struct ctl_config *c, const char *name, const char *text, char *err, size_t errlen);
int ctl_config_load(struct ctl_config *c, const char *path, char *err, size_t errlen);
/* The public key file that goes with a private key path: X.key -> X.pub, else X.pub added. */
void ctl_public_key_path(const char *private_key, char *out, size_t outlen);

#endif
