/* Compiled Hyperscan databases kept on disk (docs/rules.md, "The compile cache").
 * A large rule set (SpamAssassin's, imported) takes a minute of Hyperscan compile and
 * milliseconds to deserialize, and most loads compile a policy whose patterns did not
 * change. An entry is named by the SHA-256 of everything the database depends on (entry
 * format, Hyperscan version, this CPU's features, mode, every expression and flag) and
 * holds its own SHA-256: an entry that does not check out, or that Hyperscan refuses, is
 * compiled again and replaced, never used. The cache is best effort: when it cannot be
 * read or written, the database is compiled as if there were none. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "internal.h"

#define ENTRY_MAGIC "SLUICE-HS-CACHE 1\n"
#define MAX_ENTRY ((size_t)1 << 30)

static void to_hex(char *out, const uint8_t *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

/* mkdir -p with mode 0700 for what it creates */
static bool make_dirs(const char *path)
{
	char buf[4096];
	if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
		return false;
	for (char *s = buf + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(buf, 0700) != 0 && errno != EEXIST)
			return false;
		*s = '/';
	}
	return mkdir(buf, 0700) == 0 || errno == EEXIST;
}

/* The cache directory, or NULL with *why. A directory others can write to is not used:
 * whoever writes an entry decides what the gateway matches. */
const char *pol_hscache_dir(const char **why)
{
	static char dir[4096];
	const char *env = getenv("SLUICE_POLICY_CACHE");
	if (env && (!*env || strcmp(env, "off") == 0)) {
		*why = "off (SLUICE_POLICY_CACHE)";
		return NULL;
	}
	if (env) {
		snprintf(dir, sizeof dir, "%s", env);
	} else {
		const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
		if (xdg && *xdg == '/')
			snprintf(dir, sizeof dir, "%s/sluice/hyperscan", xdg);
		else if (home && *home == '/')
			snprintf(dir, sizeof dir, "%s/.cache/sluice/hyperscan", home);
		else {
			*why = "off (no SLUICE_POLICY_CACHE, XDG_CACHE_HOME or HOME)";
			return NULL;
		}
	}
	struct stat st;
	if (!make_dirs(dir) || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		*why = "off (cannot create the directory)";
		return NULL;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 022)) {
		*why = "off (the directory is not owned by this user or others can write to it)";
		return NULL;
	}
	*why = NULL;
	return dir;
}

static uint64_t cpu_features(void)
{
	hs_platform_info_t pl;
	return hs_populate_platform(&pl) == HS_SUCCESS ? pl.cpu_features : 0;
}

static void entry_key(const char *const *exprs, const unsigned *flags, unsigned n, unsigned mode,
                      char hex[65])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx)
		abort();
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	uint64_t head[3] = {cpu_features(), mode, n};
	EVP_DigestUpdate(ctx, ENTRY_MAGIC, strlen(ENTRY_MAGIC));
	EVP_DigestUpdate(ctx, hs_version(), strlen(hs_version()) + 1);
	EVP_DigestUpdate(ctx, head, sizeof head);
	for (unsigned i = 0; i < n; i++) {
		uint32_t f = flags[i];
		EVP_DigestUpdate(ctx, &f, sizeof f);
		EVP_DigestUpdate(ctx, exprs[i], strlen(exprs[i]) + 1);
	}
	uint8_t md[32];
	unsigned len = 32;
	EVP_DigestFinal_ex(ctx, md, &len);
	EVP_MD_CTX_free(ctx);
	to_hex(hex, md, 32);
}

static void blob_digest(const void *p, size_t n, char hex[65])
{
	uint8_t md[32];
	unsigned len = 32;
	EVP_Digest(p, n, md, &len, EVP_sha256(), NULL);
	to_hex(hex, md, 32);
}

/* An entry: its magic line, "sha256 HEX\n" (of the payload), the payload. Returns the
 * payload (malloc'd, *len bytes) of an entry that checks out, else NULL. */
static uint8_t *entry_read(const char *path, const char *magic, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct stat st;
	uint8_t *buf = NULL, *payload = NULL;
	size_t head = strlen(magic) + 7 + 64 + 1;
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size <= head ||
	    (size_t)st.st_size > MAX_ENTRY)
		goto out;
	buf = malloc((size_t)st.st_size);
	if (!buf || fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
		goto out;
	const char *sum = (const char *)buf + strlen(magic) + 7;
	if (memcmp(buf, magic, strlen(magic)) != 0 || memcmp(buf + strlen(magic), "sha256 ", 7) != 0 ||
	    sum[64] != '\n')
		goto out;
	char want[65];
	blob_digest(buf + head, (size_t)st.st_size - head, want);
	if (memcmp(want, sum, 64) != 0)
		goto out;
	*len = (size_t)st.st_size - head;
	memmove(buf, buf + head, *len);
	payload = buf;
	buf = NULL;
out:
	free(buf);
	fclose(f);
	return payload;
}

/* Written aside and renamed into place: a reader sees a whole entry or none. */
static void entry_write(const char *path, const char *magic, const void *bytes, size_t len)
{
	char tmp[4300], sum[65];
	snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
	blob_digest(bytes, len, sum);
	FILE *f = fopen(tmp, "wb");
	if (!f)
		return;
	fprintf(f, "%ssha256 %s\n", magic, sum);
	fwrite(bytes, 1, len, f);
	bool bad = ferror(f) != 0;
	if (fclose(f) != 0 || bad || rename(tmp, path) != 0)
		remove(tmp);
}

static hs_database_t *entry_load(const char *path)
{
	size_t len = 0;
	uint8_t *bytes = entry_read(path, ENTRY_MAGIC, &len);
	hs_database_t *db = NULL;
	if (bytes && hs_deserialize_database((const char *)bytes, len, &db) != HS_SUCCESS)
		db = NULL;
	free(bytes);
	return db;
}

static void entry_store(const char *path, const hs_database_t *db)
{
	char *bytes = NULL;
	size_t len = 0;
	if (hs_serialize_database(db, &bytes, &len) != HS_SUCCESS)
		return;
	entry_write(path, ENTRY_MAGIC, bytes, len);
	free(bytes);
}

hs_error_t pol_hs_build(const char *const *exprs, const unsigned *flags, unsigned n, unsigned mode,
                        hs_database_t **db, hs_compile_error_t **err, bool *from_cache)
{
	*from_cache = false;
	unsigned *ids = malloc((n ? n : 1) * sizeof *ids);
	if (!ids)
		abort();
	for (unsigned i = 0; i < n; i++)
		ids[i] = i;
	const char *why;
	const char *dir = pol_hscache_dir(&why);
	char key[65], path[4200], lock[4300];
	int lockfd = -1;
	if (dir) {
		entry_key(exprs, flags, n, mode, key);
		snprintf(path, sizeof path, "%s/%s", dir, key);
		if ((*db = entry_load(path)))
			goto hit;
		/* one process compiles an entry; others started meanwhile wait for it */
		snprintf(lock, sizeof lock, "%s.lock", path);
		lockfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (lockfd >= 0 && flock(lockfd, LOCK_EX) != 0) {
			close(lockfd);
			lockfd = -1;
		}
		if ((*db = entry_load(path)))
			goto hit;
	}
	hs_error_t rc = hs_compile_multi(exprs, flags, ids, n, mode, NULL, db, err);
	if (rc == HS_SUCCESS && dir)
		entry_store(path, *db);
	if (lockfd >= 0) {
		unlink(lock); /* after the entry exists: a later locker finds it */
		close(lockfd);
	}
	free(ids);
	return rc;
hit:
	if (lockfd >= 0) {
		unlink(lock);
		close(lockfd);
	}
	free(ids);
	*from_cache = true;
	return HS_SUCCESS;
}

/* ---- Hyperscan's expression analysis (compile.c ask_hyperscan) ----
 * Asking Hyperscan about each regular expression is most of what loading a large policy
 * costs once its databases are cached (1.5 s of CPU for the shipped policy with
 * SpamAssassin's rules). One entry per policy holds the outcomes of its non-literal
 * patterns, named by the SHA-256 of the Hyperscan version and every such pattern's
 * expression and flags in order: a list of keywords (literals) can change without
 * missing it. Payload: u32 count, then per pattern its record (pol_outcome_pack). */
#define ANALYSIS_MAGIC "SLUICE-HS-ANALYSIS 1\n"

static bool analysis_path(const struct sl_policy *p, char *path, size_t size, uint32_t *n)
{
	const char *why;
	const char *dir = pol_hscache_dir(&why);
	if (!dir)
		return false;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx)
		return false;
	*n = 0;
	bool ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	          EVP_DigestUpdate(ctx, ANALYSIS_MAGIC, strlen(ANALYSIS_MAGIC)) == 1 &&
	          EVP_DigestUpdate(ctx, hs_version(), strlen(hs_version()) + 1) == 1;
	for (uint32_t i = 0; ok && i < p->npatterns; i++) {
		const struct pol_pattern *pt = &p->patterns[i];
		if (pt->literal)
			continue;
		uint32_t f = pt->hs_flags;
		ok = EVP_DigestUpdate(ctx, &f, sizeof f) == 1 &&
		     EVP_DigestUpdate(ctx, pt->expr, strlen(pt->expr) + 1) == 1;
		++*n;
	}
	uint8_t md[32];
	unsigned len = 32;
	ok = ok && EVP_DigestFinal_ex(ctx, md, &len) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return false;
	char hex[65];
	to_hex(hex, md, 32);
	return snprintf(path, size, "%s/analysis-%s", dir, hex) < (int)size;
}

struct pol_hs_outcome *pol_hscache_analysis_load(struct sl_policy *p)
{
	char path[4200];
	uint32_t n;
	if (!analysis_path(p, path, sizeof path, &n))
		return NULL;
	size_t len = 0;
	uint8_t *b = entry_read(path, ANALYSIS_MAGIC, &len);
	struct pol_hs_outcome *out = NULL;
	uint32_t count;
	if (!b || len != 4 + (size_t)n * POL_OUTCOME_BYTES || (memcpy(&count, b, 4), count != n))
		goto done;
	out = pol_alloc(p->arena, ((size_t)p->npatterns + 1) * sizeof *out);
	memset(out, 0, ((size_t)p->npatterns + 1) * sizeof *out);
	const uint8_t *r = b + 4;
	for (uint32_t i = 0; i < p->npatterns; i++) {
		if (p->patterns[i].literal)
			continue;
		if (!pol_outcome_unpack(r, &out[i])) {
			out = NULL; /* the arena keeps it until the policy goes */
			goto done;
		}
		r += POL_OUTCOME_BYTES;
	}
done:
	free(b);
	return out;
}

void pol_hscache_analysis_store(const struct sl_policy *p)
{
	char path[4200];
	uint32_t n;
	if (!analysis_path(p, path, sizeof path, &n))
		return;
	size_t len = 4 + (size_t)n * POL_OUTCOME_BYTES;
	uint8_t *b = malloc(len);
	if (!b)
		return;
	memcpy(b, &n, 4);
	uint8_t *w = b + 4;
	for (uint32_t i = 0; i < p->npatterns; i++) {
		const struct pol_pattern *pt = &p->patterns[i];
		if (pt->literal)
			continue;
		pol_outcome_pack(&pt->hs, w);
		w += POL_OUTCOME_BYTES;
	}
	entry_write(path, ANALYSIS_MAGIC, b, len);
	free(b);
}
