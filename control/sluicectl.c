/* sluicectl: the administrator's command line. Each subcommand is one file. */
#include <stdio.h>
#include <string.h>

#include "commands.h"

static const struct sluicectl_command commands[] = {
	{"inspect", "inspect [--json] FILE.eml...   MIME structure of each message", cmd_inspect},
	{"rules", "rules check|compile|test|cost POLICY ...   compile and try mail policy (docs/rules.md)", cmd_rules},
	{NULL, NULL, NULL},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: sluicectl COMMAND [ARGS...]\n\ncommands:\n");
	for (const struct sluicectl_command *c = commands; c->name; c++)
		fprintf(out, "  %s\n", c->usage);
}

int main(int argc, char **argv)
{
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
