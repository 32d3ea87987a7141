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

/* An entry: ENTRY_MAGIC, "sha256 HEX\n", the hs_serialize_database bytes. */
static hs_database_t *entry_load(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct stat st;
	char *buf = NULL;
	hs_database_t *db = NULL;
	size_t head = strlen(ENTRY_MAGIC) + 7 + 64 + 1;
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size <= head ||
	    (size_t)st.st_size > MAX_ENTRY)
		goto out;
	buf = malloc((size_t)st.st_size);
	if (!buf || fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
		goto out;
	const char *sum = buf + strlen(ENTRY_MAGIC) + 7;
	if (memcmp(buf, ENTRY_MAGIC, strlen(ENTRY_MAGIC)) != 0 ||
	    memcmp(buf + strlen(ENTRY_MAGIC), "sha256 ", 7) != 0 || sum[64] != '\n')
		goto out;
	char want[65];
	blob_digest(buf + head, (size_t)st.st_size - head, want);
	if (memcmp(want, sum, 64) != 0)
		goto out;
	if (hs_deserialize_database(buf + head, (size_t)st.st_size - head, &db) != HS_SUCCESS)
		db = NULL;
out:
	free(buf);
	fclose(f);
	return db;
}

static void entry_store(const char *path, const hs_database_t *db)
{
	char *bytes = NULL;
	size_t len = 0;
	if (hs_serialize_database(db, &bytes, &len) != HS_SUCCESS)
		return;
	char tmp[4300], sum[65];
	snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
	blob_digest(bytes, len, sum);
	FILE *f = fopen(tmp, "wb");
	if (f) {
		fprintf(f, "%ssha256 %s\n", ENTRY_MAGIC, sum);
		fwrite(bytes, 1, len, f);
		bool bad = ferror(f) != 0;
		if (fclose(f) != 0 || bad || rename(tmp, path) != 0)
			remove(tmp);
	}
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
