/* Loading, reference counting and describing a policy. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/evp.h>

#include "bundle.h"
#include "internal.h"
#include "sluice/strbuf.h"

const char *sl_action_name(enum sl_action a)
{
	switch (a) {
	case SL_ACT_PASS: return "pass";
	case SL_ACT_ALERT: return "alert";
	case SL_ACT_QUARANTINE: return "quarantine";
	case SL_ACT_TEMPFAIL: return "tempfail";
	case SL_ACT_REJECT: return "reject";
	}
	return "pass";
}

struct sl_policy *pol_new(void)
{
	static atomic_uint_fast64_t serials = 1;
	struct sl_policy *p = calloc(1, sizeof *p);
	if (!p)
		abort();
	atomic_init(&p->refs, 1);
	p->serial = atomic_fetch_add(&serials, 1);
	p->arena = pol_arena_new();
	return p;
}

static void pol_free(struct sl_policy *p)
{
	free(p->spam_model_override);
	for (uint32_t d = 0; d < p->ndbs; d++)
		hs_free_database(p->dbs[d].db);
	for (uint32_t i = 0; i < p->npatterns; i++)
		pcre2_code_free(p->patterns[i].confirm);
	pol_arena_free(p->arena);
	free(p);
}

struct sl_policy *sl_policy_ref(struct sl_policy *p)
{
	atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
	return p;
}

void sl_policy_unref(struct sl_policy *p)
{
	if (p && atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1)
		pol_free(p);
}

/* Reads a whole file into the arena; the caller checks the size cap. */
const uint8_t *pol_read_file(struct pol_arena *a, const char *path, size_t *len, const char **err)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		*err = strerror(errno);
		return NULL;
	}
	struct stat st;
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		fclose(f);
		*err = "not a regular file";
		return NULL;
	}
	if (st.st_size > (off_t)1 << 30) {
		fclose(f);
		*err = "larger than 1 GiB";
		return NULL;
	}
	uint8_t *buf = pol_alloc(a, (size_t)st.st_size + 1);
	size_t n = fread(buf, 1, (size_t)st.st_size, f);
	bool bad = ferror(f);
	fclose(f);
	if (bad || n != (size_t)st.st_size) {
		*err = "read error";
		return NULL;
	}
	*len = n;
	return buf;
}

/* The digest verdicts report: the policy's own, or, with a spam model that overrides the
 * policy's, SHA-256 of the own digest and the model's bytes, so a verdict says which
 * model judged it. */
static bool override_digest(struct sl_policy *p)
{
	if (!p->spam_model_override) {
		memcpy(p->digest, p->own_digest, sizeof p->digest);
		return true;
	}
	static const char tag[] = "spam-model override";
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned len = 32;
	bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
	          EVP_DigestUpdate(ctx, p->own_digest, sizeof p->own_digest) &&
	          EVP_DigestUpdate(ctx, tag, sizeof tag) &&
	          EVP_DigestUpdate(ctx, p->spam_model_override, p->spam_model_override_len) &&
	          EVP_DigestFinal_ex(ctx, p->digest, &len);
	EVP_MD_CTX_free(ctx);
	return ok;
}

void sl_policy_show_quiet(struct sl_policy *p, bool on)
{
	p->show_quiet = on;
}

bool sl_policy_set_spam_model(struct sl_policy *p, const char *path, struct sl_policy_diag *diag)
{
	if (!p->nspam_conds) {
		pol_diag(diag, path, 0, 0, "the policy has no spam-probability condition: it would not use a model");
		return false;
	}
	size_t len;
	uint8_t *data = sl_read_file(path, &len);
	if (!data) {
		pol_diag(diag, path, 0, 0, "cannot read spam model: %s", strerror(errno));
		return false;
	}
	struct sl_bayes_model m;
	const char *err;
	if (!sl_bayes_model_parse(data, len, &m, &err)) {
		pol_diag(diag, path, 0, 0, "%s", err);
		free(data);
		return false;
	}
	free(p->spam_model_override);
	p->spam_model_override = data;
	p->spam_model_override_len = len;
	p->spam_model = m;
	p->has_spam_model = true;
	p->spam_model_name = pol_strdup(p->arena, path);
	if (!override_digest(p)) {
		pol_diag(diag, path, 0, 0, "no memory for the policy's digest");
		return false;
	}
	return true;
}

bool sl_policy_uses_spam_model(const struct sl_policy *p)
{
	return p->nspam_conds > 0;
}

struct disk_reader {
	struct pol_reader r;
	struct sl_policy *p;
	char dir[4096];
	bool first;
};

static const uint8_t *disk_read(struct pol_reader *r, const char *name, size_t *len, const char **err)
{
	struct disk_reader *dr = r->ctx;
	char path[8192];
	if (dr->first || name[0] == '/' || !dr->dir[0]) {
		snprintf(path, sizeof path, "%s", name);
		if (dr->first) {
			const char *slash = strrchr(name, '/');
			if (slash)
				snprintf(dr->dir, sizeof dr->dir, "%.*s", (int)(slash - name), name);
			dr->first = false;
		}
	} else {
		snprintf(path, sizeof path, "%s/%s", dr->dir, name);
	}
	return pol_read_file(dr->p->arena, path, len, err);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Digest of a compiled policy: its sources and its databases' pattern table. */
void pol_policy_digest(struct sl_policy *p)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx)
		abort();
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	for (uint32_t i = 0; i < p->nsources; i++) {
		EVP_DigestUpdate(ctx, p->sources[i].name, strlen(p->sources[i].name) + 1);
		EVP_DigestUpdate(ctx, p->sources[i].data, p->sources[i].len);
	}
	uint8_t pd[32];
	pol_pattern_digest(p, pd);
	EVP_DigestUpdate(ctx, pd, sizeof pd);
	unsigned len = 32;
	EVP_DigestFinal_ex(ctx, p->own_digest, &len);
	EVP_MD_CTX_free(ctx);
	(void)override_digest(p); /* no override yet: a copy */
}

static struct sl_policy *pol_build(const char *path, struct pol_reader *rd, struct sl_policy *p,
                            const struct pol_build_opts *opts, struct sl_policy_diag *diag)
{
	double t0 = now();
	if (!pol_parse(p, path, rd, opts, diag))
		goto fail;
	if (opts && opts->skip_hyperscan)
		return p;
	if (!pol_compile(p, diag) || !pol_finish(p, diag))
		goto fail;
	pol_policy_digest(p);
	p->compile_seconds = now() - t0;
	return p;
fail:
	sl_policy_unref(p);
	return NULL;
}

static struct sl_policy *compile_file(const char *path, const struct pol_build_opts *opts,
                                      struct sl_policy_diag *diag)
{
	struct sl_policy *p = pol_new();
	struct disk_reader dr = {.r = {.read = disk_read}, .p = p, .first = true};
	dr.r.ctx = &dr;
	p->path = pol_strdup(p->arena, path);
	return pol_build(path, &dr.r, p, opts, diag);
}

struct sl_policy *sl_policy_load(const char *path, struct sl_policy_diag *diag)
{
	if (diag)
		memset(diag, 0, sizeof *diag);
	int b = pol_is_bundle(path);
	if (b < 0) {
		pol_diag(diag, path, 0, 0, "cannot read: %s", strerror(errno));
		return NULL;
	}
	if (b)
		return pol_bundle_load(path, diag);
	struct pol_build_opts opts = {.exclude_rule = -1};
	return compile_file(path, &opts, diag);
}

struct sl_policy *sl_policy_compile_without(const char *path, size_t skip, struct sl_policy_diag *diag)
{
	if (diag)
		memset(diag, 0, sizeof *diag);
	struct pol_build_opts opts = {.exclude_rule = (long)skip};
	return compile_file(path, &opts, diag);
}

bool sl_policy_check_syntax(const char *path, struct sl_policy_diag *diag)
{
	if (diag)
		memset(diag, 0, sizeof *diag);
	struct pol_build_opts opts = {.exclude_rule = -1, .skip_hyperscan = true};
	struct sl_policy *p = compile_file(path, &opts, diag);
	sl_policy_unref(p);
	return p != NULL;
}

/* Policies held in memory (sluice-control): files[0] is the rules file, the others the
 * lists it names, looked up by the names it uses. */
struct files_reader {
	struct pol_reader r;
	struct sl_policy *p;
	const struct sl_policy_file *files;
	size_t n;
};

static const uint8_t *files_read(struct pol_reader *r, const char *name, size_t *len, const char **err)
{
	struct files_reader *fr = r->ctx;
	for (size_t i = 0; i < fr->n; i++) {
		if (strcmp(fr->files[i].name, name) != 0)
			continue;
		uint8_t *copy = pol_alloc(fr->p->arena, fr->files[i].len + 1);
		if (fr->files[i].len)
			memcpy(copy, fr->files[i].data, fr->files[i].len);
		*len = fr->files[i].len;
		return copy;
	}
	*err = "not among the policy's files";
	return NULL;
}

struct sl_policy *sl_policy_compile_files(const struct sl_policy_file *files, size_t n,
                                          struct sl_policy_diag *diag)
{
	if (diag)
		memset(diag, 0, sizeof *diag);
	if (n == 0) {
		pol_diag(diag, "(none)", 0, 0, "no rules file");
		return NULL;
	}
	struct sl_policy *p = pol_new();
	struct files_reader fr = {.r = {.read = files_read}, .p = p, .files = files, .n = n};
	fr.r.ctx = &fr;
	p->path = pol_strdup(p->arena, files[0].name);
	struct pol_build_opts opts = {.exclude_rule = -1};
	return pol_build(files[0].name, &fr.r, p, &opts, diag);
}

/* A disk reader that also hands every file it reads to the caller. */
struct listing_reader {
	struct disk_reader dr;
	void (*fn)(void *ctx, const char *name, const uint8_t *data, size_t len);
	void *ctx;
};

static const uint8_t *listing_read(struct pol_reader *r, const char *name, size_t *len,
                                   const char **err)
{
	struct listing_reader *lr = r->ctx; /* its disk_reader comes first: disk_read's ctx */
	const uint8_t *d = disk_read(r, name, len, err);
	if (d)
		lr->fn(lr->ctx, name, d, *len);
	return d;
}

bool sl_policy_sources(const char *path,
                       void (*fn)(void *ctx, const char *name, const uint8_t *data, size_t len),
                       void *ctx, struct sl_policy_diag *diag)
{
	if (diag)
		memset(diag, 0, sizeof *diag);
	struct sl_policy *p = pol_new();
	struct listing_reader lr = {.dr = {.r = {.read = listing_read}, .p = p, .first = true},
	                            .fn = fn, .ctx = ctx};
	lr.dr.r.ctx = &lr;
	p->path = pol_strdup(p->arena, path);
	struct pol_build_opts opts = {.exclude_rule = -1, .skip_hyperscan = true};
	p = pol_build(path, &lr.dr.r, p, &opts, diag);
	sl_policy_unref(p);
	return p != NULL;
}

size_t sl_policy_rule_count(const struct sl_policy *p)
{
	return p->nrules;
}

const char *sl_policy_rule_id(const struct sl_policy *p, size_t i)
{
	return i < p->nrules ? p->rules[i].id : NULL;
}

void sl_policy_info(const struct sl_policy *p, struct sl_policy_info *info)
{
	memset(info, 0, sizeof *info);
	info->rules = p->nrules;
	info->patterns = p->npatterns;
	info->hashes = p->nhashes;
	info->confirmed_patterns = p->nconfirm;
	info->skipped_signatures = p->skipped_signatures;
	info->compile_seconds = p->compile_seconds;
	info->cached_databases = p->cached_dbs;
	info->cached_analysis = p->cached_analysis;
	info->cache_dir = pol_hscache_dir(&info->cache_off);
	for (uint32_t d = 0; d < p->ndbs; d++) {
		if (!p->dbs[d].db)
			continue;
		size_t sz = 0;
		hs_database_size(p->dbs[d].db, &sz);
		info->database_bytes += sz;
		info->databases++;
		info->stream_state_bytes += p->dbs[d].stream_state;
	}
	memcpy(&info->version, p->digest, sizeof info->version);
	memcpy(info->digest, p->digest, sizeof info->digest);
	memcpy(info->own_digest, p->own_digest, sizeof info->own_digest);
}

/* The fuzzer's entry: a policy from memory; every list file it names reads `list`. */
struct mem_reader {
	struct pol_reader r;
	const uint8_t *text, *list;
	size_t n, ln;
	bool first;
};

static const uint8_t *mem_read(struct pol_reader *r, const char *name, size_t *len, const char **err)
{
	struct mem_reader *mr = r->ctx;
	(void)name;
	(void)err;
	if (mr->first) {
		mr->first = false;
		*len = mr->n;
		return mr->text;
	}
	*len = mr->ln;
	return mr->list;
}

bool pol_check_buffer(const uint8_t *text, size_t n, const uint8_t *list, size_t ln,
                      struct sl_policy_diag *diag)
{
	struct sl_policy *p = pol_new();
	struct mem_reader mr = {.r = {.read = mem_read}, .text = text, .n = n, .list = list, .ln = ln,
	                        .first = true};
	mr.r.ctx = &mr;
	struct pol_build_opts opts = {.exclude_rule = -1, .skip_hyperscan = true};
	bool ok = pol_parse(p, "fuzz.rules", &mr.r, &opts, diag) && pol_analyze_only(p, diag);
	sl_policy_unref(p);
	return ok;
}

bool sl_policy_check_text(const char *text, size_t n, bool compile, struct sl_policy_diag *diag)
{
	struct sl_policy *p = pol_new();
	struct mem_reader mr = {.r = {.read = mem_read}, .text = (const uint8_t *)text, .n = n,
	                        .list = (const uint8_t *)"", .ln = 0, .first = true};
	mr.r.ctx = &mr;
	struct pol_build_opts opts = {.exclude_rule = -1, .skip_hyperscan = true};
	bool ok = pol_parse(p, "policy.rules", &mr.r, &opts, diag) &&
	          (compile ? pol_compile(p, diag) : pol_analyze_only(p, diag)) && pol_finish(p, diag);
	sl_policy_unref(p);
	return ok;
}

bool sl_policy_regex_test(const char *pattern, const char *flags, const char *subject, bool *matched)
{
	uint32_t opts = 0;
	for (const char *f = flags; *f; f++)
		opts |= *f == 'i' ? PCRE2_CASELESS : *f == 's' ? PCRE2_DOTALL : *f == 'm' ? PCRE2_MULTILINE
		      : *f == 'x' ? PCRE2_EXTENDED : 0;
	int errcode;
	PCRE2_SIZE erroff;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, opts, &errcode, &erroff, NULL);
	if (!re)
		return false;
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	int rc = md ? pcre2_match(re, (PCRE2_SPTR)subject, strlen(subject), 0, 0, md, NULL) : -1;
	pcre2_match_data_free(md);
	pcre2_code_free(re);
	if (rc < 0 && rc != PCRE2_ERROR_NOMATCH)
		return false;
	*matched = rc >= 0;
	return true;
}
