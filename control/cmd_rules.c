/* sluicectl rules: check, compile, test and cost a policy (docs/rules.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "rules.h"
#include "sluice/policy.h"
#include "sluice/signals.h"

void rules_print_diag(const struct sl_policy_diag *d)
{
	struct sl_strbuf b;
	sl_strbuf_init(&b);
	sl_policy_diag_format(d, &b);
	fprintf(stderr, "%s\n", b.s);
	sl_strbuf_free(&b);
}

struct sl_policy *rules_load(const char *path)
{
	struct sl_policy_diag d;
	struct sl_policy *p = sl_policy_load(path, &d);
	if (!p)
		rules_print_diag(&d);
	return p;
}

static void print_size(FILE *out, size_t n)
{
	if (n >= 10 * 1024 * 1024)
		fprintf(out, "%.1f MiB", (double)n / (1024.0 * 1024.0));
	else if (n >= 10 * 1024)
		fprintf(out, "%.1f KiB", (double)n / 1024.0);
	else
		fprintf(out, "%zu bytes", n);
}

static int check(int argc, char **argv)
{
	if (argc != 1) {
		fprintf(stderr, "usage: sluicectl rules check POLICY\n");
		return 2;
	}
	struct sl_policy *p = rules_load(argv[0]);
	if (!p)
		return 1;
	struct sl_policy_info i;
	sl_policy_info(p, &i);
	printf("%s: ok\n", argv[0]);
	printf("  rules            %zu\n", i.rules);
	printf("  patterns         %zu (%zu confirmed by PCRE2)\n", i.patterns, i.confirmed_patterns);
	printf("  hashes           %zu\n", i.hashes);
	if (i.skipped_signatures)
		printf("  skipped          %zu ndb signatures (ignore-unsupported)\n", i.skipped_signatures);
	printf("  compile time     %.3f s%s\n", i.compile_seconds,
	       i.compile_seconds == 0 ? " (bundle: loaded, not compiled)" : "");
	printf("  database size    ");
	print_size(stdout, i.database_bytes);
	printf(" in %zu Hyperscan databases\n", i.databases);
	if (i.compile_seconds > 0)
		printf("  compile cache    %s (%zu databases%s from it)\n",
		       i.cache_dir ? i.cache_dir : i.cache_off, i.cached_databases,
		       i.cached_analysis ? " and the expression analysis" : "");
	printf("  stream state     %zu bytes per message\n", i.stream_state_bytes);
	printf("  version          %016llx\n", (unsigned long long)i.version);
	sl_policy_unref(p);
	return 0;
}

static int compile(int argc, char **argv)
{
	const char *in = NULL, *out = NULL;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
			out = argv[++i];
		else if (!in)
			in = argv[i];
		else
			in = NULL, i = argc;
	}
	if (!in || !out) {
		fprintf(stderr, "usage: sluicectl rules compile POLICY -o BUNDLE\n");
		return 2;
	}
	struct sl_policy *p = rules_load(in);
	if (!p)
		return 1;
	struct sl_policy_diag d;
	int rc = sl_policy_save(p, out, &d);
	if (rc != 0) {
		rules_print_diag(&d);
	} else {
		struct sl_policy_info i;
		sl_policy_info(p, &i);
		printf("%s: %zu rules, compiled in %.3f s, bundle version %016llx\n", out, i.rules,
		       i.compile_seconds, (unsigned long long)i.version);
	}
	sl_policy_unref(p);
	return rc == 0 ? 0 : 1;
}

/* Every signal a rule can name (`match signal NAME`), from the engine's own list. */
static int signals(void)
{
	for (int i = 0; i < SL_SIG_COUNT; i++)
		printf("%-34s %s\n", sl_signal_name((enum sl_signal)i), sl_signal_doc((enum sl_signal)i));
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: sluicectl rules check POLICY\n"
	        "       sluicectl rules compile POLICY -o BUNDLE\n"
	        "       sluicectl rules test POLICY FILE.eml... [--json] [--direction inbound|outbound|internal]\n"
	        "                 [--mail-from ADDR] [--rcpt ADDR]... [--client-ip IP] [--helo NAME]\n"
	        "       sluicectl rules cost POLICY [CORPUS] [--top N] [--seconds S] [--max-rules N | --all]\n"
	        "       sluicectl rules signals\n"
	        "       sluicectl rules import-sa DIR... [-o POLICY] [--report FILE]   (docs/spam.md)\n"
	        "       sluicectl rules import-clamav DIR [-o POLICY] [--report FILE]  (docs/antivirus.md)\n"
	        "POLICY is a rules file or a bundle; see docs/rules.md.\n"
	        "Against the running sluice-control (docs/control.md):\n"
	        "       sluicectl rules push POLICY [--comment TEXT] [--dataplane NAME]...\n"
	        "       sluicectl rules list [--json]\n"
	        "       sluicectl rules diff A B\n"
	        "       sluicectl rules rollback [ID] [--comment TEXT] [--dataplane NAME]...\n");
}

int cmd_rules(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *sub = argv[1];
	if (strcmp(sub, "check") == 0)
		return check(argc - 2, argv + 2);
	if (strcmp(sub, "compile") == 0)
		return compile(argc - 2, argv + 2);
	if (strcmp(sub, "test") == 0)
		return rules_test(argc - 2, argv + 2);
	if (strcmp(sub, "cost") == 0)
		return rules_cost(argc - 2, argv + 2);
	if (strcmp(sub, "signals") == 0)
		return signals();
	if (strcmp(sub, "import-sa") == 0)
		return rules_import_sa(argc - 2, argv + 2);
	if (strcmp(sub, "import-clamav") == 0)
		return rules_import_clamav(argc - 2, argv + 2);
	if (strcmp(sub, "push") == 0)
		return rules_push(argc - 2, argv + 2);
	if (strcmp(sub, "list") == 0)
		return rules_list(argc - 2, argv + 2);
	if (strcmp(sub, "diff") == 0)
		return rules_diff(argc - 2, argv + 2);
	if (strcmp(sub, "rollback") == 0)
		return rules_rollback(argc - 2, argv + 2);
	if (strcmp(sub, "help") == 0 || strcmp(sub, "--help") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "sluicectl rules: unknown subcommand '%s'\n", sub);
	usage(stderr);
	return 2;
}
