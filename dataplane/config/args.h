/* sluice-dp's command line: what comes after `--` (or everything, when there is none
 * and the first argument is one of ours). No DPDK. */
#ifndef SLUICE_DP_ARGS_H
#define SLUICE_DP_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"

struct dp_args {
	int eal_argc;              /* argv[0 .. eal_argc) go to rte_eal_init */
	const char *config;
	const char *rules;
	const char *spam_model;    /* the classifier's model, replacing the policy's */
	const char *journal_dir;
	const char *mode;          /* NULL = from the config */
	const char *stats_file;
	double duration;           /* seconds; 0 = until a signal */
	bool quiet;
	const char *offline;       /* capture path: offline mode */
	const char *dump_dir;
	const char *detect;        /* NULL = from the config (offline: yes) */
	const char *check_config;
	bool help, version;
};

/* 0 on success; -1 with a message in err (usage error, exit 2). */
int dp_args_parse(int argc, char **argv, struct dp_args *a, char *err, size_t errlen);

/* Apply the command-line overrides to a configuration loaded from a.config. */
int dp_args_apply(const struct dp_args *a, struct dp_config *c, char *err, size_t errlen);

void dp_args_usage(FILE *out);

#endif
