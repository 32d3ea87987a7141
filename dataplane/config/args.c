#include "config/args.h"

#include "sluice/conffile.h"

#include <stdlib.h>
#include <string.h>

void dp_args_usage(FILE *out)
{
	fputs("usage: sluice-dp [EAL options] -- [--config FILE] [--rules POLICY_OR_BUNDLE]\n"
	      "                 [--spam-model MODEL]\n"
	      "                 [--journal-dir DIR] [--mode bridge|smtp|enforce]\n"
	      "                 [--stats-file FILE] [--duration SECONDS] [--quiet]\n"
	      "                 [--dump-messages DIR]   (test/debug: file I/O on the workers)\n"
	      "       sluice-dp [EAL options --] --offline CAPTURE --dump-messages DIR\n"
	      "                 [--rules POLICY_OR_BUNDLE] [--config FILE] [--detect yes|no]\n"
	      "       sluice-dp --check-config FILE\n"
	      "       sluice-dp --help | --version\n"
	      "See docs/dataplane.md.\n", out);
}

static bool is_ours(const char *s)
{
	static const char *const ours[] = {"--config", "--rules", "--spam-model", "--journal-dir", "--mode",
		"--stats-file", "--duration", "--quiet", "--offline", "--dump-messages",
		"--detect", "--check-config", "--help", "--version", "-h", NULL};
	for (int i = 0; ours[i]; i++)
		if (strcmp(s, ours[i]) == 0)
			return true;
	return false;
}

int dp_args_parse(int argc, char **argv, struct dp_args *a, char *err, size_t errlen)
{
	memset(a, 0, sizeof *a);
	int start = -1;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			start = i + 1;
			a->eal_argc = i;
			break;
		}
	if (start < 0) {
		/* No `--`: all ours, or all EAL (then ours are missing: plain bridge). */
		if (argc > 1 && is_ours(argv[1])) {
			start = 1;
			a->eal_argc = 1;
		} else {
			start = argc;
			a->eal_argc = argc;
		}
	}
	for (int i = start; i < argc; i++) {
		const char *o = argv[i];
		const char **target = NULL;
		if (strcmp(o, "--quiet") == 0) {
			a->quiet = true;
			continue;
		}
		if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
			a->help = true;
			continue;
		}
		if (strcmp(o, "--version") == 0) {
			a->version = true;
			continue;
		}
		if (strcmp(o, "--config") == 0)
			target = &a->config;
		else if (strcmp(o, "--rules") == 0)
			target = &a->rules;
		else if (strcmp(o, "--spam-model") == 0)
			target = &a->spam_model;
		else if (strcmp(o, "--journal-dir") == 0)
			target = &a->journal_dir;
		else if (strcmp(o, "--mode") == 0)
			target = &a->mode;
		else if (strcmp(o, "--stats-file") == 0)
			target = &a->stats_file;
		else if (strcmp(o, "--offline") == 0)
			target = &a->offline;
		else if (strcmp(o, "--dump-messages") == 0)
			target = &a->dump_dir;
		else if (strcmp(o, "--detect") == 0)
			target = &a->detect;
		else if (strcmp(o, "--check-config") == 0)
			target = &a->check_config;
		else if (strcmp(o, "--duration") == 0) {
			if (i + 1 >= argc) {
				snprintf(err, errlen, "--duration needs a value");
				return -1;
			}
			char *end;
			a->duration = strtod(argv[++i], &end);
			if (*end || !(a->duration > 0)) {
				snprintf(err, errlen, "--duration: '%s' is not a positive number of seconds", argv[i]);
				return -1;
			}
			continue;
		} else {
			snprintf(err, errlen, "unknown option '%s'", o);
			return -1;
		}
		if (i + 1 >= argc) {
			snprintf(err, errlen, "%s needs a value", o);
			return -1;
		}
		*target = argv[++i];
	}
	if (a->help || a->version)
		return 0;
	if (a->offline && !a->dump_dir) {
		snprintf(err, errlen, "--offline needs --dump-messages DIR");
		return -1;
	}
	return 0;
}

int dp_args_apply(const struct dp_args *a, struct dp_config *c, char *err, size_t errlen)
{
	if (a->mode && dp_parse_mode(a->mode, &c->mode)) {
		snprintf(err, errlen, "--mode: expected bridge, smtp or enforce");
		return -1;
	}
	if (a->offline)
		c->detect = true;
	if (a->detect && sl_conf_parse_bool(a->detect, &c->detect)) {
		snprintf(err, errlen, "--detect: expected yes or no");
		return -1;
	}
	if (a->rules) {
		if (strlen(a->rules) >= sizeof c->rules) {
			snprintf(err, errlen, "--rules: path too long");
			return -1;
		}
		strcpy(c->rules, a->rules);
	}
	if (a->spam_model) {
		if (strlen(a->spam_model) >= sizeof c->spam_model) {
			snprintf(err, errlen, "--spam-model: path too long");
			return -1;
		}
		strcpy(c->spam_model, a->spam_model);
	}
	if (a->journal_dir) {
		if (strlen(a->journal_dir) >= sizeof c->journal_dir) {
			snprintf(err, errlen, "--journal-dir: path too long");
			return -1;
		}
		strcpy(c->journal_dir, a->journal_dir);
		if (c->journal_archive[0] || c->journal_spool[0]) {
			snprintf(err, errlen, "--journal-dir: the configuration already journals to an archive");
			return -1;
		}
	}
	return 0;
}
