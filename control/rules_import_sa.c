/* sluicectl rules import-sa DIR... [--report FILE] [-o OUT]: SpamAssassin rules as a
 * Sluice policy (docs/spam.md says what maps to what). Every rule is either written
 * out or listed in the report with the reason; a regular expression PCRE2 cannot
 * compile is an error naming the file and line of the rule. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "sa_import.h"

enum verdict { UNDECIDED, IMPORTED, SKIPPED, DECIDING };

struct job {
	struct sa_conf *c;
	enum verdict *v;
	char **text;           /* the policy rule written for each imported rule */
	unsigned errors;
};

static size_t rule_index(const struct sa_conf *c, const struct sa_rule *r)
{
	for (size_t i = 0; i < c->nrules; i++)
		if (c->rules[i] == r)
			return i;
	return 0;
}

static void skip(struct job *j, size_t i, const char *fmt, const char *arg)
{
	const struct sa_rule *r = j->c->rules[i];
	fprintf(j->c->report, "%s:%u: %s: not imported: ", r->file, r->line, r->name);
	fprintf(j->c->report, fmt, arg);
	fputc('\n', j->c->report);
	j->v[i] = SKIPPED;
}

static bool has_tflag(const struct sa_rule *r, const char *flag)
{
	if (!r->tflags)
		return false;
	size_t l = strlen(flag);
	for (const char *p = r->tflags; (p = strstr(p, flag)); p += l)
		if ((p == r->tflags || isspace((unsigned char)p[-1])) && (!p[l] || isspace((unsigned char)p[l]) || p[l] == '='))
			return true;
	return false;
}

/* Evals that ask the network (out of scope for the dataplane). */
static bool network_eval(const char *fn)
{
	static const char *const net[] = {"check_rbl", "check_dns", "check_razor", "check_pyzor",
	                                  "check_dcc", "check_spf", "check_dkim", "check_dmarc",
	                                  "check_uridnsbl", "check_hashbl", "check_askdns",
	                                  "check_uri_host_listed", "check_senders_reputation",
	                                  "check_arc", "check_asn"};
	for (size_t i = 0; i < sizeof net / sizeof net[0]; i++)
		if (strncmp(fn, net[i], strlen(net[i])) == 0)
			return true;
	return false;
}

/* The rule's expression, its ReplaceTags expanded; a broken one (PCRE2, like Perl,
 * cannot read it) is an error at the rule's file and line. */
static char *take_regex(struct job *j, size_t i, const char **s, char *flags, size_t flagsz)
{
	const struct sa_rule *r = j->c->rules[i];
	const char *err;
	bool dummy;
	char *re = sa_regex_take(s, flags, flagsz, &err);
	if (re && !sl_policy_regex_test(re, flags, "", &dummy)) {
		err = "broken regular expression (PCRE2 cannot compile it)";
		free(re);
		re = NULL;
	}
	if (!re) {
		fprintf(stderr, "%s:%u: rule %s: %s\n", r->file, r->line, r->name, err);
		j->errors++;
		skip(j, i, "%s", err);
		return NULL;
	}
	if (r->replace && sa_plugin_loaded(j->c, "Mail::SpamAssassin::Plugin::ReplaceTags")) {
		char *x = sa_replace_tags(j->c, re);
		free(re);
		re = x;
	}
	return re;
}

/* `=~ /re/` (or, when allowed, `!~ /re/`) of a header rule. */
static char *take_test(struct job *j, size_t i, const char **s, bool allow_negate, bool *negate,
                       char *flags, size_t flagsz)
{
	while (isspace((unsigned char)**s))
		(*s)++;
	*negate = allow_negate && strncmp(*s, "!~", 2) == 0;
	if (strncmp(*s, "=~", 2) != 0 && !*negate) {
		skip(j, i, "%s", allow_negate ? "header test is neither =~ nor !~" : "mimeheader test is not =~");
		return NULL;
	}
	*s += 2;
	return take_regex(j, i, s, flags, flagsz);
}

static void score_text(char *out, size_t n, double v)
{
	snprintf(out, n, "%.3f", v);
	char *e = out + strlen(out) - 1;
	while (*e == '0')
		*e-- = '\0';
	if (*e == '.')
		*e = '\0';
	if (strcmp(out, "-0") == 0)
		strcpy(out, "0");
}

/* The score SpamAssassin gives the rule in score set 0 (no network, no Bayes). */
static double rule_score(const struct sa_rule *r)
{
	if (r->has_score)
		return r->score;
	if (strncmp(r->name, "__", 2) == 0)
		return 0;
	double s = strncmp(r->name, "T_", 2) == 0 ? 0.01 : 1.0;
	return has_tflag(r, "nice") ? -s : s;
}

static void put_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			fprintf(f, "\\x%02x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

/* The rule block (malloc'ed): `match m: SCOPES REGEX` (with `match e: EXISTS` when
 * given) and `when`, or a meta rule's `when` alone. */
static char *rule_text(const struct sa_rule *r, const char *scopes, const char *regex,
                       const char *exists, const char *when)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		exit(1);
	char sc[32];
	score_text(sc, sizeof sc, rule_score(r));
	fprintf(f, "rule sa.%s {\n", r->name);
	if (r->describe) {
		fputs("\tdescription ", f);
		put_string(f, r->describe);
		fputc('\n', f);
	}
	const char *multiple = has_tflag(r, "multiple") ? " multiple" : "";
	if (regex)
		fprintf(f, "\tmatch m: %s %s%s\n", scopes, regex, multiple);
	if (exists)
		fprintf(f, "\tmatch e: %s\n", exists);
	fprintf(f, "\twhen %s\n", when);
	/* SpamAssassin neither scores nor reports its __ sub-rules */
	if (strncmp(r->name, "__", 2) == 0)
		fputs("\tquiet\n}\n", f);
	else
		fprintf(f, "\tscore %s\n}\n", sc);
	fclose(f);
	return buf;
}

static bool check_rule(struct job *j, size_t i, char *text)
{
	struct sl_policy_diag d;
	/* Hyperscan refuses some large expressions only when it builds them */
	if (sl_policy_check_text(text, strlen(text), strlen(text) > 600, &d))
		return true;
	const struct sa_rule *r = j->c->rules[i];
	const char *msg = d.msg;
	const char *rp = strstr(msg, ": ");
	if (strncmp(msg, "rule ", 5) == 0 && rp)
		msg = rp + 2;
	if (strstr(msg, "PCRE2 cannot compile")) {
		/* neither Perl-compatible engine reads it: the rule file is at fault */
		fprintf(stderr, "%s:%u: rule %s: broken regular expression: %s\n", r->file, r->line, r->name, msg);
		j->errors++;
	}
	skip(j, i, "%s", msg);
	return false;
}

/* The scopes of SpamAssassin's header NAME: the message's fields as written
 * (message-header); its pseudo-headers ToCc and MESSAGEID stand for several. */
static void header_scopes(const char *name, char *out, size_t n)
{
	if (strcmp(name, "ToCc") == 0)
		snprintf(out, n, "message-header:To, message-header:Cc");
	else if (strcmp(name, "MESSAGEID") == 0)
		snprintf(out, n, "message-header:Message-Id, message-header:X-Message-Id, "
		                 "message-header:Resent-Message-Id, message-header:X-Original-Message-ID");
	else
		snprintf(out, n, "message-header:%s", name);
}

/* The match that holds when field NAME is there: its value as written always ends
 * in a line feed. */
static void exists_match(const char *name, char *out, size_t n)
{
	char scopes[300];
	header_scopes(name, scopes, sizeof scopes);
	snprintf(out, n, "%s /\\n/", scopes);
}

/* header NAME Field[:mods] =~ /re/flags [if-unset: X], or exists:Field */
static void import_header(struct job *j, size_t i)
{
	const struct sa_rule *r = j->c->rules[i];
	const char *s = r->def;
	char field[256];
	size_t fl = strcspn(s, " \t");
	if (fl >= sizeof field) {
		skip(j, i, "%s", "header name too long");
		return;
	}
	memcpy(field, s, fl);
	field[fl] = '\0';
	s += fl;
	if (strncmp(field, "exists:", 7) == 0) {
		char ex[400];
		exists_match(field + 7, ex, sizeof ex);
		char *t = rule_text(r, NULL, NULL, ex, "e");
		if (check_rule(j, i, t))
			j->text[i] = t;
		else
			free(t);
		return;
	}
	char *mods = strchr(field, ':');
	if (mods) {
		skip(j, i, "header modifier %s: the engine has no parsed addresses, names, hosts or raw "
		           "values of a field", mods);
		return;
	}
	bool negate;
	char flags[16];
	char *re = take_test(j, i, &s, true, &negate, flags, sizeof flags);
	if (!re)
		return;
	while (isspace((unsigned char)*s))
		s++;
	if (*s && strncmp(s, "[if-unset:", 10) != 0) {
		skip(j, i, "unexpected text after the expression: %s", s);
		free(re);
		return;
	}
	/* a field that is not there is matched as "" (or its if-unset value) */
	bool unset_matches = false;
	if (*s) {
		char unset[256];
		const char *v = s + 10;
		v += strspn(v, " \t");
		snprintf(unset, sizeof unset, "%.*s", (int)strcspn(v, "]"), v);
		if (!sl_policy_regex_test(re, flags, unset, &unset_matches)) {
			skip(j, i, "%s", "PCRE2 cannot test its if-unset value");
			free(re);
			return;
		}
	}
	if (strcmp(field, "ALL") == 0 && strncmp(re, "\\n", 2) == 0) {
		/* a field that is not the first one: every field is scanned on its own */
		re[0] = '^';
		memmove(re + 1, re + 2, strlen(re + 2) + 1);
	}
	char scopes[512];
	const char *lower = field;
	if (strcmp(lower, "ALL") == 0)
		snprintf(scopes, sizeof scopes, "header");
	else if (strcmp(lower, "EnvelopeFrom") == 0)
		snprintf(scopes, sizeof scopes, "mail-from");
	else if (strncmp(lower, "ALL-", 4) == 0 || strncmp(lower, "X-Spam-Relays-", 14) == 0) {
		skip(j, i, "pseudo-header %s: needs SpamAssassin's trusted-relay analysis of Received", field);
		free(re);
		return;
	} else
		header_scopes(field, scopes, sizeof scopes);
	char *pol = sa_regex_policy(re, flags, "");
	free(re);
	char exists[400];
	exists_match(field, exists, sizeof exists);
	const char *when = negate ? (unset_matches ? "e and not m" : "not m") : (unset_matches ? "m or not e" : "m");
	char *t = rule_text(r, scopes, pol, unset_matches ? exists : NULL, when);
	free(pol);
	if (check_rule(j, i, t))
		j->text[i] = t;
	else
		free(t);
}

/* body, rawbody, full, mimeheader: one expression on one scope */
static void import_pattern(struct job *j, size_t i)
{
	const struct sa_rule *r = j->c->rules[i];
	const char *s = r->def, *scope, *extra = "";
	char scopebuf[300];
	switch (r->type) {
	case SA_BODY:
		scope = "rendered";
		extra = "m"; /* SpamAssassin matches each paragraph: ^ and $ at its ends */
		break;
	case SA_RAWBODY: scope = "text"; break;
	case SA_FULL: scope = "raw"; break;
	default: {
		size_t fl = strcspn(s, " \t");
		if (memchr(s, ':', fl)) {
			skip(j, i, "%s", "mimeheader modifier: the engine keeps decoded values only");
			return;
		}
		snprintf(scopebuf, sizeof scopebuf, "header:%.*s", (int)(fl < 200 ? fl : 200), s);
		scope = scopebuf;
		s += fl;
	}
	}
	char flags[16];
	bool negate;
	char *re = r->type == SA_MIMEHEADER ? take_test(j, i, &s, false, &negate, flags, sizeof flags)
	                                    : take_regex(j, i, &s, flags, sizeof flags);
	if (!re)
		return;
	char *pol = sa_regex_policy(re, flags, extra);
	free(re);
	char *t = rule_text(r, scope, pol, NULL, "m");
	free(pol);
	if (check_rule(j, i, t))
		j->text[i] = t;
	else
		free(t);
}

/* An eval: test the engine computes: the rule matches its signal. */
static void import_eval(struct job *j, size_t i, const char *signal)
{
	char match[128];
	snprintf(match, sizeof match, "signal %s", signal);
	char *t = rule_text(j->c->rules[i], NULL, NULL, match, "e");
	if (check_rule(j, i, t)) {
		j->text[i] = t;
		j->v[i] = IMPORTED;
	} else {
		free(t);
	}
}

static void decide(struct job *j, size_t i, unsigned depth);

/* meta: && || ! + * comparisons over rule names and numbers. A rule that is not
 * imported counts 0, as a rule SpamAssassin did not run or define. */
static void import_meta(struct job *j, size_t i, unsigned depth)
{
	const struct sa_rule *r = j->c->rules[i];
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (!f)
		exit(1);
	unsigned refs = 0;
	const char *bad = NULL;
	for (const char *p = r->def; *p && !bad;) {
		if (isspace((unsigned char)*p)) {
			p++;
			continue;
		}
		if (isalpha((unsigned char)*p) || *p == '_') {
			const char *w = p;
			while (isalnum((unsigned char)*p) || *p == '_')
				p++;
			char name[256];
			snprintf(name, sizeof name, "%.*s", (int)(p - w), w);
			if (strcmp(name, "local_tests_only") == 0) {
				fputs("1 ", f); /* the gateway asks no network */
				continue;
			}
			struct sa_rule *dep = sa_find(j->c, name);
			if (dep && !dep->dropped) {
				size_t k = rule_index(j->c, dep);
				decide(j, k, depth + 1);
				if (j->v[k] == IMPORTED) {
					fprintf(f, "sa.%s ", name);
					refs++;
					continue;
				}
			}
			fputs("0 ", f);
			continue;
		}
		if (isdigit((unsigned char)*p)) {
			const char *w = p;
			while (isdigit((unsigned char)*p))
				p++;
			if (*p == '.')
				bad = "a decimal number";
			fprintf(f, "%.*s ", (int)(p - w), w);
			continue;
		}
		static const struct {
			const char *perl, *pol;
		} ops[] = {{"&&", "and"}, {"||", "or"}, {">=", ">="}, {"<=", "<="}, {"==", "=="},
		           {"!=", "!="}, {"!", "not"}, {">", ">"}, {"<", "<"}, {"(", "("},
		           {")", ")"}, {"+", "+"}, {"*", "*"}};
		size_t k;
		for (k = 0; k < sizeof ops / sizeof ops[0]; k++)
			if (strncmp(p, ops[k].perl, strlen(ops[k].perl)) == 0)
				break;
		if (k == sizeof ops / sizeof ops[0]) {
			static char what[32];
			snprintf(what, sizeof what, "the operator '%c'", *p);
			bad = what;
			break;
		}
		fprintf(f, "%s ", ops[k].pol);
		p += strlen(ops[k].perl);
	}
	fclose(f);
	if (len && out[len - 1] == ' ')
		out[len - 1] = '\0';
	if (bad)
		skip(j, i, "meta uses %s (the policy's `when` has + * and comparisons)", bad);
	else if (refs == 0)
		skip(j, i, "%s", "meta: no rule it names is imported");
	else {
		char *t = rule_text(r, NULL, NULL, NULL, out);
		j->text[i] = t;
		j->v[i] = IMPORTED;
	}
	free(out);
}

static void decide(struct job *j, size_t i, unsigned depth)
{
	struct sa_rule *r = j->c->rules[i];
	if (j->v[i] == IMPORTED || j->v[i] == SKIPPED)
		return;
	if (j->v[i] == DECIDING || depth > 200) {
		skip(j, i, "%s", "meta depends on itself");
		return;
	}
	j->v[i] = DECIDING;
	if (r->dropped) {
		j->v[i] = SKIPPED; /* score/describe for a rule never defined: nothing to list */
		return;
	}
	if (r->has_score && r->score == 0) {
		skip(j, i, "%s", "score 0: SpamAssassin does not run it");
		return;
	}
	if (has_tflag(r, "net")) {
		skip(j, i, "%s", "network test (tflags net): out of scope for the dataplane");
		return;
	}
	if (r->type != SA_META) {
		const char *d = r->def;
		if (r->type == SA_HEADER || r->type == SA_MIMEHEADER) {
			d += strcspn(d, " \t");
			d += strspn(d, " \t");
		}
		if (strncmp(d, "eval:", 5) == 0 || strncmp(r->def, "eval:", 5) == 0) {
			const char *fn = strncmp(r->def, "eval:", 5) == 0 ? r->def + 5 : d + 5;
			char name[128];
			snprintf(name, sizeof name, "%.*s", (int)strcspn(fn, "("), fn);
			const char *signal = sa_eval_signal(fn);
			if (signal)
				import_eval(j, i, signal);
			else if (network_eval(name))
				skip(j, i, "eval:%s: network test, out of scope for the dataplane", name);
			else
				skip(j, i, "eval:%s: not implemented in the engine", name);
			return;
		}
	}
	switch (r->type) {
	case SA_URI: skip(j, i, "%s", "uri: the engine has no URI scope yet"); return;
	case SA_META: import_meta(j, i, depth); return;
	case SA_HEADER: import_header(j, i); break;
	default: import_pattern(j, i); break;
	}
	if (j->v[i] == DECIDING)
		j->v[i] = IMPORTED;
}

static void usage(void)
{
	fprintf(stderr, "usage: sluicectl rules import-sa DIR... [--report FILE] [-o OUT] [--sa-version V]\n"
	                "  reads DIR/*.pre, then DIR/*.cf of each DIR in order (SpamAssassin's rules\n"
	                "  directory first, then the site directory with local.cf)\n");
}

/* Import, write the policy and the summary; 0, 1 (errors) or 2 (usage). */
static int import(struct sa_conf *c, char **dirs, size_t ndirs, const char *out_path,
                  const char *version, bool has_report)
{
	if (!sa_read_dirs(c, dirs, ndirs))
		return 1;
	struct job j = {c, calloc(c->nrules + 1, sizeof *j.v), calloc(c->nrules + 1, sizeof *j.text), 0};
	int rc = 1;
	FILE *out = NULL;
	if (!j.v || !j.text)
		goto done;
	for (size_t i = 0; i < c->nrules; i++)
		decide(&j, i, 0);
	out = out_path ? fopen(out_path, "w") : stdout;
	if (!out) {
		perror(out_path);
		goto done;
	}
	fprintf(out, "# Generated by `sluicectl rules import-sa");
	for (size_t i = 0; i < ndirs; i++)
		fprintf(out, " %s", dirs[i]);
	fprintf(out, "` from SpamAssassin %s rules.\n"
	             "# The rules are SpamAssassin's, licensed under the Apache License 2.0\n"
	             "# (http://www.apache.org/licenses/LICENSE-2.0), copyright the Apache Software\n"
	             "# Foundation; translated to the Sluice policy language (docs/spam.md).\n\n",
	        version);
	char sc[32];
	score_text(sc, sizeof sc, c->required_score);
	fprintf(out, "threshold %s quarantine  # required_score\n\n", sc);
	size_t imported = 0, metas = 0, defined = 0;
	for (size_t i = 0; i < c->nrules; i++) {
		if (c->rules[i]->dropped)
			continue;
		defined++;
		if (j.v[i] != IMPORTED)
			continue;
		imported++;
		metas += c->rules[i]->type == SA_META;
		fputs(j.text[i], out);
	}
	if (out != stdout && fclose(out) != 0) {
		out = NULL;
		perror(out_path);
		goto done;
	}
	out = NULL;
	fprintf(c->report, "# %zu rules defined, %zu imported (%zu meta), %zu not imported; %u other "
	                   "directives (not rules) ignored\n",
	        defined, imported, metas, defined - imported, c->skipped_directives);
	fprintf(stderr, "import-sa: %zu rules defined, %zu imported (%zu meta), %zu not imported%s\n", defined,
	        imported, metas, defined - imported, has_report ? " (listed in the report)" : "");
	rc = j.errors ? 1 : 0;
done:
	if (out && out != stdout)
		fclose(out);
	for (size_t i = 0; j.text && i < c->nrules; i++)
		free(j.text[i]);
	free(j.text);
	free(j.v);
	return rc;
}

int rules_import_sa(int argc, char **argv)
{
	const char *out_path = NULL, *report_path = NULL, *version = "4.0.1";
	char **dirs = calloc((size_t)argc + 1, sizeof *dirs);
	struct sa_conf *c = calloc(1, sizeof *c);
	int rc = 2;
	if (!dirs || !c) {
		rc = 1;
		goto done;
	}
	c->version = 4.000001;
	c->required_score = 5;
	size_t ndirs = 0;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
			out_path = argv[++i];
		} else if (strcmp(argv[i], "--report") == 0 && i + 1 < argc) {
			report_path = argv[++i];
		} else if (strcmp(argv[i], "--sa-version") == 0 && i + 1 < argc) {
			/* 4.0.1 is 4.000001 to the rules' `if (version >= ...)` */
			unsigned x = 0, y = 0, z = 0;
			version = argv[++i];
			if (sscanf(version, "%u.%u.%u", &x, &y, &z) != 3 || y > 999 || z > 999) {
				fprintf(stderr, "sluicectl rules import-sa: --sa-version wants X.Y.Z, not '%s'\n", version);
				goto done;
			}
			c->version = x + y / 1000.0 + z / 1e6;
		} else if (argv[i][0] == '-') {
			usage();
			goto done;
		} else {
			dirs[ndirs++] = argv[i];
		}
	}
	if (ndirs == 0) {
		usage();
		goto done;
	}
	c->report = fopen(report_path ? report_path : "/dev/null", "w");
	if (!c->report) {
		perror(report_path ? report_path : "/dev/null");
		rc = 1;
		goto done;
	}
	rc = import(c, dirs, ndirs, out_path, version, report_path != NULL);
done:
	if (c)
		sa_conf_free(c);
	free(dirs);
	return rc;
}
