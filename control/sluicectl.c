/* sluicectl: the administrator's command line. Each subcommand is one file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"

static const struct sluicectl_command commands[] = {
	{"inspect", "inspect [--json] FILE.eml...   MIME structure of each message", cmd_inspect},
	{"rules", "rules check|compile|test|cost POLICY ...   compile and try mail policy (docs/rules.md)", cmd_rules},
	{"rules", "rules push|list|diff|rollback ...          versions on the running system (docs/control.md)", cmd_rules},
	{"spam", "spam train|score ...                         the statistical spam classifier (docs/spam.md)", cmd_spam},
	{"status", "status [--json]                             sluice-control and its dataplanes", cmd_status},
	{"stats", "stats [--json] [--dataplane NAME]           the dataplanes' counters", cmd_stats},
	{"flows", "flows [-n N] [--dataplane NAME]             the dataplanes' top flows by bytes", cmd_flows},
	{"top", "top rules [-n N]                            the rules that fired most", cmd_top},
	{"top", "top sources [-n N] [--by KEY] [--net]       the busiest sources (docs/protection.md)", cmd_top},
	{"events", "events [-n N] [--dataplane NAME]            the last events of the dataplanes' event logs", cmd_events},
	{"knob", "knob set starttls allow|strip|block        a runtime knob on the dataplanes", cmd_knob},
	{"block", "block add|del|list [PREFIX...] [--for DURATION]   the dataplanes' block list", cmd_list},
	{"allow", "allow add|del|list [PREFIX...] [--for DURATION]   the allow list (no limits)", cmd_list},
	{"bans", "bans [del SOURCE...]                        sources banned for abuse, lifting a ban", cmd_bans},
	{"pool", "pool [--json] | drain|up|remove HOST | weight HOST W | add HOST ADDR...   the mail-host pool", cmd_pool},
	{NULL, NULL, NULL},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: sluicectl [--socket PATH] COMMAND [ARGS...]\n\ncommands:\n");
	for (const struct sluicectl_command *c = commands; c->name; c++)
		fprintf(out, "  %s\n", c->usage);
	fprintf(out, "\n--socket: sluice-control's socket (default /run/sluice/control.sock, or\n"
	             "$SLUICE_CONTROL_SOCKET).\n");
}

int main(int argc, char **argv)
{
	/* the one global option: where sluice-control listens (client.c reads it) */
	if (argc >= 3 && strcmp(argv[1], "--socket") == 0) {
		setenv("SLUICE_CONTROL_SOCKET", argv[2], 1);
		argv[2] = argv[0];
		argc -= 2;
		argv += 2;
	}
	if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	for (const struct sluicectl_command *c = commands; c->name; c++)
		if (strcmp(argv[1], c->name) == 0)
			return c->run(argc - 1, argv + 1);
	fprintf(stderr, "sluicectl: unknown command '%s' (try 'sluicectl help')\n", argv[1]);
	return 2;
}
