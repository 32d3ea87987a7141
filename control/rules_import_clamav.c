/* sluicectl rules import-clamav DIR [-o POLICY] [--report FILE]: a ClamAV database
 * directory as Sluice list files and a policy using them (docs/antivirus.md).
 * .hdb/.hsb lines go to POLICY's stem + ".hashes", .ndb lines and the .ldb subset (one
 * body subsignature, target 0) to stem + ".ndb"; every signature or file not imported is
 * listed in the report with the reason. A malformed line is an error naming file:line. */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"

struct line {
	const char *file;
	size_t no;
};

/* Where each line of an output list came from, so that a signature the policy compiler
 * refuses is reported at its line in the database. */
struct origins {
	struct line *at;
	size_t n, cap;
};

struct job {
	const char *dir;
	FILE *hashes, *ndb, *report;
	size_t nhash, nndb, nskipped, nerrors;
	struct origins hash_from, ndb_from;
	struct dirent **names; /* the database's files, named by the origins */
	int nnames;
};

static bool remember(struct job *j, struct origins *o, const struct line *l)
{
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 256;
		struct line *at = realloc(o->at, cap * sizeof *at);
		if (!at) {
			fprintf(stderr, "import-clamav: out of memory\n");
			j->nerrors++;
			return false;
		}
		o->at = at;
		o->cap = cap;
	}
	o->at[o->n++] = *l;
	return true;
}

static void line_error(struct job *j, const struct line *l, const char *what)
{
	fprintf(stderr, "%s/%s:%zu: %s\n", j->dir, l->file, l->no, what);
	j->nerrors++;
}

static void skip(struct job *j, const struct line *l, const char *name, const char *why)
{
	fprintf(j->report, "%s:%zu: %s: %s\n", l->file, l->no, name, why);
	j->nskipped++;
}

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789abcdefABCDEF", s[i]))
			return false;
	return n > 0;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* Cuts s at sep into at most max fields (the last keeps the rest); returns how many. */
static size_t split_fields(char *s, char sep, char **f, size_t max)
{
	size_t n = 0;
	f[n++] = s;
	for (char *c; n < max && (c = strchr(f[n - 1], sep)); n++) {
		*c = '\0';
		f[n] = c + 1;
	}
	return n;
}

/* HASH:SIZE:NAME[:MinFL[:MaxFL]]; .hdb holds MD5 only, .hsb SHA-1 or SHA-256. */
static void hash_line(struct job *j, const struct line *l, char *s, bool md5_only)
{
	char *f[4];
	size_t n = split_fields(s, ':', f, 4);
	if (n > 3)
		*strchrnul(f[2], ':') = '\0'; /* the functionality levels after the name */
	if (n < 3 || !*f[2]) {
		line_error(j, l, "want HASH:SIZE:NAME");
		return;
	}
	size_t hl = strlen(f[0]);
	if (!all_hex(f[0], hl) || (md5_only ? hl != 32 : hl != 40 && hl != 64)) {
		line_error(j, l, md5_only ? "the hash is not 32 hex digits (MD5; SHA-1 and SHA-256 go in .hsb)"
		                          : "the hash is not 40 or 64 hex digits (SHA-1 or SHA-256)");
		return;
	}
	if (strcmp(f[1], "*") != 0 && !all_digits(f[1])) {
		line_error(j, l, "the size is not a number or *");
		return;
	}
	if (!remember(j, &j->hash_from, l))
		return;
	fprintf(j->hashes, "%s:%s:%s\n", f[0], f[1], f[2]);
	j->nhash++;
}

static bool plain_offset(const char *off)
{
	char buf[64];
	snprintf(buf, sizeof buf, "%s", off);
	char *comma = strchr(buf, ',');
	if (comma)
		*comma = '\0';
	return all_digits(buf) && (!comma || all_digits(comma + 1));
}

/* ClamAV's offsets counted from the end, the PE entry point, a section or version info. */
static bool relative_offset(const char *off)
{
	static const char *const from[] = {"EOF-", "EP+", "EP-", "SL+", "SE", "VI", "S"};
	for (size_t i = 0; i < sizeof from / sizeof from[0]; i++)
		if (strncmp(off, from[i], strlen(from[i])) == 0)
			return true;
	return false;
}

/* The reason Sluice cannot compile this hex signature, or NULL (engine/policy/ndb.c). */
static const char *signature_unsupported(const char *sig)
{
	if (strstr(sig, "(B)") || strstr(sig, "(L)") || strstr(sig, "(W)"))
		return "word/line boundary anchors (B) (L) (W) are not supported";
	for (const char *p = sig; *p; p++)
		if (!strchr("0123456789abcdefABCDEF?*{}-[]()|!", *p))
			return "characters outside the supported signature syntax";
	return NULL;
}

/* Name:TargetType:Offset:HexSignature[:MinFL[:MaxFL]] */
static void ndb_fields(struct job *j, const struct line *l, const char *name, const char *target,
                       const char *offset, const char *sig, const char *tail)
{
	if (!*name || !*sig) {
		line_error(j, l, "want Name:TargetType:Offset:HexSignature");
		return;
	}
	if (!all_digits(target) || atoi(target) > 14) {
		line_error(j, l, "the target type is not a number from 0 to 14");
		return;
	}
	if (strcmp(offset, "*") != 0 && !plain_offset(offset) && !relative_offset(offset)) {
		line_error(j, l, "the offset is not *, N, N,M or one of ClamAV's EOF-, EP+, S, SL+, SE, VI");
		return;
	}
	const char *why = NULL;
	if (strcmp(target, "0") != 0)
		why = "target type other than 0 (PE, OLE2, HTML, mail, graphics, ELF, ... need ClamAV's "
		      "file-type parsers)";
	else if (relative_offset(offset))
		why = "offset relative to the end of file, the PE entry point, a section or version "
		      "info: streaming matching knows offsets from the start only";
	else
		why = signature_unsupported(sig);
	if (why) {
		skip(j, l, name, why);
		return;
	}
	if (!remember(j, &j->ndb_from, l))
		return;
	fprintf(j->ndb, "%s:0:%s:%s%s%s\n", name, offset, sig, tail ? ":" : "", tail ? tail : "");
	j->nndb++;
}

static void ndb_line(struct job *j, const struct line *l, char *s)
{
	char *f[5];
	size_t n = split_fields(s, ':', f, 5);
	if (n < 4) {
		line_error(j, l, "want Name:TargetType:Offset:HexSignature");
		return;
	}
	ndb_fields(j, l, f[0], f[1], f[2], f[3], n == 5 ? f[4] : NULL);
}

/* Name;TargetDescriptionBlock;LogicalExpression;Subsig0[;Subsig1...]. The subset: a
 * target block of Target:0 (Engine:X-Y allowed), the expression "0" and one body
 * subsignature [Offset:]Hex without ::modifiers; it becomes one .ndb line. */
static void ldb_line(struct job *j, const struct line *l, char *s)
{
	char *f[5];
	size_t n = split_fields(s, ';', f, 5);
	if (n < 4 || !*f[0]) {
		line_error(j, l, "want Name;TargetDescriptionBlock;LogicalExpression;Subsig0...");
		return;
	}
	bool target0 = false;
	char *save = NULL;
	for (char *t = strtok_r(f[1], ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (strcmp(t, "Target:0") == 0) {
			target0 = true;
		} else if (strncmp(t, "Target:", 7) == 0) {
			break; /* another type: below */
		} else if (strncmp(t, "Engine:", 7) != 0) {
			skip(j, l, f[0], "target description beyond Target:0 and Engine (file size, PE "
			                 "sections, containers, icons)");
			return;
		}
	}
	if (!target0) {
		skip(j, l, f[0], "target type other than 0 (needs ClamAV's file-type parsers)");
		return;
	}
	if (n > 4 || strcmp(f[2], "0") != 0) {
		skip(j, l, f[0], "logical expression over several subsignatures (counts, "
		         "and/or): only one subsignature is imported");
		return;
	}
	char *sub = f[3];
	if (strstr(sub, "::") || strchr(sub, '/') || strncmp(sub, "fuzzy_img#", 10) == 0) {
		skip(j, l, f[0], "subsignature modifiers (::i ::w ::a ::f), PCRE or fuzzy image "
		         "subsignatures are not supported");
		return;
	}
	char *colon = strrchr(sub, ':');
	const char *offset = "*";
	if (colon) {
		*colon = '\0';
		offset = sub;
		sub = colon + 1;
	}
	ndb_fields(j, l, f[0], "0", offset, sub, NULL);
}

struct kind {
	const char *ext;
	void (*line)(struct job *, const struct line *, char *); /* NULL: not imported */
	const char *why;
};

static void hdb_line(struct job *j, const struct line *l, char *s) { hash_line(j, l, s, true); }
static void hsb_line(struct job *j, const struct line *l, char *s) { hash_line(j, l, s, false); }

static const struct kind kinds[] = {
	{".hdb", hdb_line, NULL},
	{".hsb", hsb_line, NULL},
	{".ndb", ndb_line, NULL},
	{".ldb", ldb_line, NULL},
	{".cvd", NULL, "signed container: not unpacked; run `sigtool --unpack FILE` in an empty "
	               "directory and import that"},
	{".cld", NULL, "container: not unpacked; run `sigtool --unpack FILE` in an empty directory "
	               "and import that"},
	{".cud", NULL, "container: not unpacked; run `sigtool --unpack FILE` in an empty directory "
	               "and import that"},
	{".mdb", NULL, "PE section hashes: Sluice does not parse PE files"},
	{".msb", NULL, "PE section hashes: Sluice does not parse PE files"},
	{".imp", NULL, "PE import table hashes: Sluice does not parse PE files"},
	{".cbc", NULL, "bytecode signatures: not supported"},
	{".ldu", NULL, "PUA logical signatures (clamscan --detect-pua): not imported"},
	{".ndu", NULL, "PUA body signatures (clamscan --detect-pua): not imported"},
	{".hdu", NULL, "PUA hashes (clamscan --detect-pua): not imported"},
	{".hsu", NULL, "PUA hashes (clamscan --detect-pua): not imported"},
	{".mdu", NULL, "PUA PE section hashes: not imported"},
	{".msu", NULL, "PUA PE section hashes: not imported"},
	{".fp", NULL, "false-positive (allow) list: not imported, so a file ClamAV excuses still matches"},
	{".sfp", NULL, "false-positive (allow) list: not imported, so a file ClamAV excuses still matches"},
	{".ign", NULL, "ignore list: not imported, so a signature ClamAV ignores still matches"},
	{".ign2", NULL, "ignore list: not imported, so a signature ClamAV ignores still matches"},
	{".cdb", NULL, "container metadata signatures: not supported"},
	{".crb", NULL, "Authenticode certificate rules: not supported"},
	{".idb", NULL, "icon signatures: not supported"},
	{".ftm", NULL, "file type magic: not used (Sluice has its own type detection)"},
	{".pdb", NULL, "phishing domain lists: not imported"},
	{".gdb", NULL, "phishing domain lists: not imported"},
	{".wdb", NULL, "phishing allow lists: not imported"},
	{".yar", NULL, "YARA rules: not supported"},
	{".yara", NULL, "YARA rules: not supported"},
	{".info", NULL, "database index: nothing to import"},
	{".cfg", NULL, "engine configuration: nothing to import"},
};

static const struct kind *kind_of(const char *name)
{
	const char *dot = strrchr(name, '.');
	for (size_t i = 0; dot && i < sizeof kinds / sizeof kinds[0]; i++)
		if (strcmp(dot, kinds[i].ext) == 0)
			return &kinds[i];
	return NULL;
}

static void import_file(struct job *j, const char *name, const struct kind *k)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", j->dir, name);
	FILE *f = fopen(path, "r");
	if (!f) {
		perror(path);
		j->nerrors++;
		return;
	}
	char *buf = NULL;
	size_t cap = 0;
	ssize_t len;
	struct line l = {name, 0};
	while ((len = getline(&buf, &cap, f)) >= 0) {
		l.no++;
		while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
			buf[--len] = '\0';
		if (len == 0 || buf[0] == '#')
			continue;
		if (strlen(buf) != (size_t)len)
			line_error(j, &l, "NUL byte in the line");
		else
			k->line(j, &l, buf);
	}
	if (ferror(f)) {
		perror(path);
		j->nerrors++;
	}
	free(buf);
	fclose(f);
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static int skip_hidden(const struct dirent *d) { return d->d_name[0] != '.'; }

static bool import_dir(struct job *j)
{
	int n = scandir(j->dir, &j->names, skip_hidden, alphasort);
	if (n < 0) {
		perror(j->dir);
		j->nerrors++;
		return false;
	}
	j->nnames = n;
	struct dirent **names = j->names;
	for (int i = 0; i < n; i++) {
		const struct kind *k = kind_of(names[i]->d_name);
		if (!k)
			fprintf(j->report, "%s: not a ClamAV database file this importer knows\n", names[i]->d_name);
		else if (!k->line)
			fprintf(j->report, "%s: %s\n", names[i]->d_name, k->why);
		else
			import_file(j, names[i]->d_name, k);
	}
	return true;
}

/* Compiles the written policy as `rules check` would. A list line the compiler refuses
 * is reported at the database line it came from; the policy is then removed. */
static bool compiles(struct job *j, const char *policy, const char *hashes, const char *ndb)
{
	struct sl_policy_diag d;
	struct sl_policy *p = sl_policy_load(policy, &d);
	if (p) {
		sl_policy_unref(p);
		return true;
	}
	const char *file = base_name(d.file);
	const struct origins *o = strcmp(file, base_name(ndb)) == 0      ? &j->ndb_from
	                          : strcmp(file, base_name(hashes)) == 0 ? &j->hash_from
	                                                                 : NULL;
	char *hint = strstr(d.msg, " (add ignore-unsupported"); /* an option of the policy, not here */
	if (hint)
		*hint = '\0';
	if (o && d.line >= 1 && d.line <= o->n)
		line_error(j, &o->at[d.line - 1], d.msg);
	else
		rules_print_diag(&d);
	if (remove(policy) != 0)
		perror(policy);
	return false;
}

static bool write_policy(const struct job *j, const char *path, const char *hashes, const char *ndb)
{
	FILE *out = fopen(path, "w");
	if (!out) {
		perror(path);
		return false;
	}
	fprintf(out, "# Generated by `sluicectl rules import-clamav %s` (docs/antivirus.md).\n"
	             "# %zu hash and %zu body signatures; the part scope is every decoded MIME leaf, as\n"
	             "# ClamAV scans each decoded attachment. The signature name is the evidence.\n\n",
	        j->dir, j->nhash, j->nndb);
	if (j->nhash)
		fprintf(out, "rule av.clamav-hash {\n"
		             "\tdescription \"A decoded part whose digest is in the ClamAV hash database\"\n"
		             "\tmatch part hashes \"%s\"\n"
		             "\taction reject \"554 5.7.1 Message rejected: virus found\"\n}\n\n",
		        base_name(hashes));
	if (j->nndb)
		fprintf(out, "rule av.clamav-body {\n"
		             "\tdescription \"A decoded part matching a ClamAV body signature\"\n"
		             "\tmatch part ndb \"%s\"\n"
		             "\taction reject \"554 5.7.1 Message rejected: virus found\"\n}\n",
		        base_name(ndb));
	if (fclose(out) != 0) {
		perror(path);
		return false;
	}
	return true;
}

static FILE *open_list(char *path, size_t size, const char *policy, const char *ext)
{
	const char *dot = strrchr(policy, '.');
	const char *slash = strrchr(policy, '/');
	size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - policy) : strlen(policy);
	snprintf(path, size, "%.*s%s", (int)stem, policy, ext);
	FILE *f = fopen(path, "w");
	if (!f)
		perror(path);
	return f;
}

static bool close_list(FILE *f, const char *path, size_t count)
{
	bool ok = fclose(f) == 0;
	if (!ok)
		perror(path);
	if (count == 0 && remove(path) != 0)
		perror(path);
	return ok;
}

int rules_import_clamav(int argc, char **argv)
{
	const char *out_path = "clamav.rules", *report_path = "/dev/null";
	struct job j = {0};
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
			out_path = argv[++i];
		else if (strcmp(argv[i], "--report") == 0 && i + 1 < argc)
			report_path = argv[++i];
		else if (argv[i][0] != '-' && !j.dir)
			j.dir = argv[i];
		else
			j.dir = NULL, i = argc;
	}
	if (!j.dir) {
		fprintf(stderr, "usage: sluicectl rules import-clamav DIR [-o POLICY] [--report FILE]\n"
		                "  writes POLICY (default clamav.rules) and beside it POLICY's stem\n"
		                "  .hashes (.hdb, .hsb) and .ndb (.ndb, .ldb subset)\n");
		return 2;
	}
	char hpath[4096], npath[4096];
	j.report = fopen(report_path, "w");
	j.hashes = open_list(hpath, sizeof hpath, out_path, ".hashes");
	j.ndb = open_list(npath, sizeof npath, out_path, ".ndb");
	bool ok = j.report && j.hashes && j.ndb && import_dir(&j);
	if (!j.report)
		perror(report_path);
	if (j.hashes)
		ok = close_list(j.hashes, hpath, j.nhash) && ok;
	if (j.ndb)
		ok = close_list(j.ndb, npath, j.nndb) && ok;
	if (ok && j.nerrors == 0 && j.nhash + j.nndb == 0) {
		fprintf(stderr, "%s: no signature this importer can use (the report says why)\n", j.dir);
		ok = false;
	}
	ok = ok && j.nerrors == 0 && write_policy(&j, out_path, hpath, npath) &&
	     compiles(&j, out_path, hpath, npath);
	if (j.report) {
		fprintf(j.report, "# %zu hash and %zu body signatures imported, %zu not imported\n", j.nhash,
		        j.nndb, j.nskipped);
		ok = fclose(j.report) == 0 && ok;
	}
	fprintf(stderr, "import-clamav: %zu hash and %zu body signatures imported, %zu not imported, %zu errors\n",
	        j.nhash, j.nndb, j.nskipped, j.nerrors);
	for (int i = 0; i < j.nnames; i++)
		free(j.names[i]);
	free(j.names);
	free(j.hash_from.at);
	free(j.ndb_from.at);
	return ok ? 0 : 1;
}
