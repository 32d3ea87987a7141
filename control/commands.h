/* The subcommands of sluicectl; each lives in its own file (cmd_<name>.c). */
#ifndef SLUICECTL_COMMANDS_H
#define SLUICECTL_COMMANDS_H

struct sluicectl_command {
	const char *name;
	const char *usage;   /* one line, shown by `sluicectl help` */
	int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
};

int cmd_inspect(int argc, char **argv);
int cmd_rules(int argc, char **argv);
int cmd_spam(int argc, char **argv);   /* the statistical classifier (cmd_spam.c) */
/* against the running sluice-control (docs/control.md) */
int cmd_status(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_flows(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_events(int argc, char **argv);
int cmd_knob(int argc, char **argv);
/* the protection (cmd_protect.c, docs/protection.md) */
int cmd_list(int argc, char **argv);       /* block|allow add|del|list */
int cmd_bans(int argc, char **argv);
int cmd_top_sources(int argc, char **argv); /* top sources (from cmd_top) */
int cmd_pool(int argc, char **argv);

#endif
