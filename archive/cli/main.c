/* sluice-archive: the archive node's one program (docs/archive.md). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *help;
} commands[] = {
	{ "serve", cmd_serve, "--data DIR --tls-cert F --tls-key F --tls-ca F [--journal-listen ADDR:PORT] [--smtp-listen ADDR:PORT [--lmtp]] ..." },
	{ "import", cmd_import, "--data DIR [--source NAME] PATH...   (Maildir, mbox, .eml)" },
	{ "search", cmd_search, "--data DIR QUERY [--json] [--limit N]" },
	{ "show", cmd_show, "--data DIR ID" },
	{ "export", cmd_export, "--data DIR (ID... | --query QUERY [--limit N]) --eml DIR | --mbox FILE" },
	{ "stats", cmd_stats, "--data DIR [--json]" },
	{ "verify", cmd_verify, "--data DIR [--records FILE]   (every message rebuilds to its SHA-256)" },
	{ "reindex", cmd_reindex, "--data DIR" },
	{ "quarantine", cmd_quarantine, "--data DIR [--json]   (copies a gateway held back)" },
	{ "release", cmd_release, "--data DIR --relay HOST:PORT [--copy N] [--rcpt ADDR]... ID" },
	{ "hold", cmd_hold, "--data DIR add NAME (QUERY | --user ADDR) | remove NAME | list   (legal holds)" },
	{ "purge", cmd_purge, "--data DIR --retention FILE [--dry-run] [--max N]" },
	{ "api", cmd_api, "--data DIR --listen ADDR:PORT --tls-cert F --tls-key F --tokens FILE [--relay HOST:PORT]   (auditor HTTPS API)" },
	{ "audit", cmd_audit, "--data DIR" },
	{ "rekey", cmd_rekey, "--data DIR --new-key FILE   (new KEK and data key; same signing key)" },
	{ "keygen", cmd_keygen, "FILE   (a new key file: data-key wrapping and checkpoint signing)" },
	{ "search-latency", cmd_search_latency, "--data DIR --queries FILE [--repeat N] [--limit N]   (benchmark)" },
	{ "journal-send", cmd_journal_send, "--to ADDR:PORT [--spool DIR] [...] FILE..." },
};

void cli_usage(void)
{
	fprintf(stderr, "usage: sluice-archive COMMAND [--key KEYFILE] ...   "
			"(or SLUICE_ARCHIVE_KEY=KEYFILE)\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(stderr, "  %-13s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv)
{
	/* --key FILE: every command that opens a store needs it; taken out here */
	int n = 1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--key") && i + 1 < argc)
			cli_key_path = argv[++i];
		else
			argv[n++] = argv[i];
	}
	argc = n;
	argv[argc] = NULL;
	if (argc < 2) {
		cli_usage();
		return 2;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "sluice-archive: unknown command %s\n", argv[1]);
	cli_usage();
	return 2;
}
