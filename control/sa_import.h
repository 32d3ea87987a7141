/* sluicectl rules import-sa: SpamAssassin rule files to Sluice policy (docs/spam.md).
 * sa_cf.c reads the files (conditionals, directives), sa_regex.c turns Perl
 * regular expressions into the policy's, rules_import_sa.c writes policy and report. */
#ifndef SLUICECTL_SA_IMPORT_H
#define SLUICECTL_SA_IMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum sa_type {
	SA_HEADER,
	SA_MIMEHEADER,
	SA_BODY,
	SA_RAWBODY,
	SA_FULL,
	SA_URI,
	SA_META,
};

struct sa_rule {
	char *name;
	enum sa_type type;
	char *def;             /* the definition after the name, as written */
	char *file;            /* where it was defined (the last definition wins, as in SA) */
	unsigned line;
	double score;
	bool has_score;
	char *describe;
	char *tflags;
	bool replace;          /* listed in replace_rules */
	bool dropped;          /* redefined away or disabled by a conditional (never output) */
	struct sa_rule *hnext; /* hash chain */
};

struct sa_kv {                 /* replace_tag / _pre / _post / _inter */
	char *kind, *name, *value;
};

struct sa_conf {
	struct sa_rule **rules;    /* in definition order */
	size_t nrules, cap;
	struct sa_rule *hash[4096];
	char **plugins;            /* loadplugin names */
	size_t nplugins;
	struct sa_kv *tags;
	size_t ntags;
	double required_score;
	double version;            /* SpamAssassin version the rules are read as (4.000001) */
	FILE *report;              /* "file:line: what: reason" for everything not imported */
	unsigned skipped_directives;
};

/* Read every *.pre, then every *.cf, of the directories, in order. False (with a
 * message naming file:line) on an error that makes the import meaningless. */
bool sa_read_dirs(struct sa_conf *c, char **dirs, size_t ndirs);
struct sa_rule *sa_find(struct sa_conf *c, const char *name);
/* Everything read, and the report file closed. */
void sa_conf_free(struct sa_conf *c);
bool sa_plugin_loaded(const struct sa_conf *c, const char *name);
/* Evaluate the expression of an `if` line. False with *err for what we cannot read. */
bool sa_eval_if(const struct sa_conf *c, const char *expr, bool *value, const char **err);

/* A Perl match operator (/re/flags, m{re}flags, m!re!flags ...) at *s: the pattern and
 * its flags, *s moved past them. NULL with *err when it is not one. malloc'ed. */
char *sa_regex_take(const char **s, char *flags, size_t flagsz, const char **err);
/* ReplaceTags: the pattern with <TAG>, <pre X>, <post X>, <inter X> replaced. malloc'ed. */
char *sa_replace_tags(const struct sa_conf *c, const char *re);
/* The pattern written as a policy /regex/flags (slashes escaped, x as (?x)); `extra`
 * flags added (body rules: m). malloc'ed. */
char *sa_regex_policy(const char *re, const char *flags, const char *extra);

/* The engine signal that computes SpamAssassin's eval: call ("fn(args)"), or NULL. */
const char *sa_eval_signal(const char *call);

#endif
