/* Bundle format (little endian), version 3:
 *
 *   SLUICE-RULES-BUNDLE\n
 *   format 3\n
 *   hyperscan <hs_version()>\n
 *   platform <cpu feature bits, hex>\n
 *   sha256 <hex digest of the payload>\n
 *   \n
 *   payload:
 *     u32 nsources, then per source: u32 name length, name, u64 length, bytes
 *       (the rules file first, then every list file it names)
 *     32 bytes: digest of the pattern table the databases were compiled from
 *     u32 npatterns, then per pattern what Hyperscan's expression analysis said of it:
 *       u8 flags (1: needs PCRE2 confirmation, 2: widened prefilter), u32 min_width,
 *       u32 max_width (all zero for a literal)
 *     u32 ndatabases, then per database: u32 index, u64 length, hs_serialize_database bytes
 *
 * Loading parses the embedded sources again, applies the recorded analysis (asking
 * Hyperscan again cost 1.5 s for the shipped policy), checks that they give the same
 * pattern table, and deserializes the databases. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "bundle.h"

#define MAGIC "SLUICE-RULES-BUNDLE\n"
/* 2: the extraction databases (member, document-text, archive-member); 3: the analysis */
#define FORMAT 3


int pol_is_bundle(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	char buf[sizeof MAGIC];
	size_t n = fread(buf, 1, sizeof MAGIC - 1, f);
	fclose(f);
	return n == sizeof MAGIC - 1 && memcmp(buf, MAGIC, n) == 0;
}

static void hex(char *out, const uint8_t *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void sha256(const uint8_t *p, size_t n, uint8_t out[32])
{
	unsigned len = 32;
	EVP_Digest(p, n, out, &len, EVP_sha256(), NULL);
}

/* ---- writing ------------------------------------------------------------------------ */

struct wbuf {
	uint8_t *p;
	size_t n, cap;
};

static void wput(struct wbuf *w, const void *d, size_t n)
{
	if (w->n + n > w->cap) {
		size_t cap = w->cap ? w->cap : 4096;
		while (cap < w->n + n)
			cap *= 2;
		uint8_t *np = realloc(w->p, cap);
		if (!np)
			abort();
		w->p = np;
		w->cap = cap;
	}
	memcpy(w->p + w->n, d, n);
	w->n += n;
}

static void wu32(struct wbuf *w, uint32_t v)
{
	wput(w, &v, 4);
}

static void wu64(struct wbuf *w, uint64_t v)
{
	wput(w, &v, 8);
}

static uint64_t platform_features(void)
{
	hs_platform_info_t pl;
	if (hs_populate_platform(&pl) != HS_SUCCESS)
		return 0;
	return pl.cpu_features;
}

int sl_policy_save(const struct sl_policy *p, const char *path, struct sl_policy_diag *diag)
{
	if (diag)
		memset(diag, 0, sizeof *diag);
	struct wbuf w = {0};
	wu32(&w, p->nsources);
	for (uint32_t i = 0; i < p->nsources; i++) {
		uint32_t l = (uint32_t)strlen(p->sources[i].name);
		wu32(&w, l);
		wput(&w, p->sources[i].name, l);
		wu64(&w, p->sources[i].len);
		wput(&w, p->sources[i].data, p->sources[i].len);
	}
	uint8_t pd[32];
	pol_pattern_digest(p, pd);
	wput(&w, pd, 32);
	wu32(&w, p->npatterns);
	for (uint32_t i = 0; i < p->npatterns; i++) {
		uint8_t rec[POL_OUTCOME_BYTES];
		pol_outcome_pack(&p->patterns[i].hs, rec);
		wput(&w, rec, sizeof rec);
	}
	uint32_t ndb = 0;
	for (uint32_t d = 0; d < p->ndbs; d++)
		ndb += p->dbs[d].db != NULL;
	wu32(&w, ndb);
	for (uint32_t d = 0; d < p->ndbs; d++) {
		if (!p->dbs[d].db)
			continue;
		char *bytes = NULL;
		size_t len = 0;
		if (hs_serialize_database(p->dbs[d].db, &bytes, &len) != HS_SUCCESS) {
			free(w.p);
			pol_diag(diag, path, 0, 0, "cannot serialize the %s database", p->dbs[d].scope);
			return -1;
		}
		wu32(&w, d);
		wu64(&w, len);
		wput(&w, bytes, len);
		free(bytes);
	}
	uint8_t digest[32];
	char dhex[65];
	sha256(w.p, w.n, digest);
	hex(dhex, digest, 32);

	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "wb");
	if (!f) {
		free(w.p);
		pol_diag(diag, path, 0, 0, "cannot write: %s", strerror(errno));
		return -1;
	}
	fprintf(f, "%sformat %d\nhyperscan %s\nplatform %llx\nsha256 %s\n\n", MAGIC, FORMAT,
	        hs_version(), (unsigned long long)platform_features(), dhex);
	fwrite(w.p, 1, w.n, f);
	free(w.p);
	bool bad = ferror(f);
	if (fclose(f) != 0 || bad || rename(tmp, path) != 0) {
		pol_diag(diag, path, 0, 0, "cannot write: %s", strerror(errno));
		remove(tmp);
		return -1;
	}
	return 0;
}

/* ---- reading ------------------------------------------------------------------------ */

struct rbuf {
	const uint8_t *p, *end;
	bool bad;
};

static const uint8_t *rtake(struct rbuf *r, uint64_t n)
{
	if (r->bad || (uint64_t)(r->end - r->p) < n) {
		r->bad = true;
		return NULL;
	}
	const uint8_t *d = r->p;
	r->p += n;
	return d;
}

static uint32_t ru32(struct rbuf *r)
{
	uint32_t v = 0;
	const uint8_t *d = rtake(r, 4);
	if (d)
		memcpy(&v, d, 4);
	return v;
}

static uint64_t ru64(struct rbuf *r)
{
	uint64_t v = 0;
	const uint8_t *d = rtake(r, 8);
	if (d)
		memcpy(&v, d, 8);
	return v;
}

struct bundle_reader {
	struct pol_reader r;
	uint32_t n;
	const char **names;
	const uint8_t **data;
	size_t *len;
};

static const uint8_t *bundle_read(struct pol_reader *r, const char *name, size_t *len, const char **err)
{
	struct bundle_reader *br = r->ctx;
	for (uint32_t i = 0; i < br->n; i++)
		if (strcmp(br->names[i], name) == 0) {
			*len = br->len[i];
			return br->data[i];
		}
	*err = "not in the bundle";
	return NULL;
}

/* The header: returns the payload start, or NULL with diag. */
static const uint8_t *check_header(const uint8_t *buf, size_t len, const char *path,
                                   uint8_t digest[32], struct sl_policy_diag *diag)
{
	const char *s = (const char *)buf, *end = s + len;
	char line[5][256];
	s += sizeof MAGIC - 1;
	for (int i = 0; i < 5; i++) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		if (!nl || nl - s >= 255) {
			pol_diag(diag, path, 0, 0, "bundle header is damaged");
			return NULL;
		}
		memcpy(line[i], s, (size_t)(nl - s));
		line[i][nl - s] = '\0';
		s = nl + 1;
	}
	int format = 0;
	if (sscanf(line[0], "format %d", &format) != 1 || format != FORMAT) {
		pol_diag(diag, path, 0, 0, "bundle format '%s' is not supported (this build reads format %d); "
		         "recompile it with 'sluicectl rules compile'", line[0], FORMAT);
		return NULL;
	}
	if (strncmp(line[1], "hyperscan ", 10) != 0 || strcmp(line[1] + 10, hs_version()) != 0) {
		pol_diag(diag, path, 0, 0, "bundle was built for Hyperscan '%s', this host has '%s'; "
		         "recompile it here with 'sluicectl rules compile'",
		         strncmp(line[1], "hyperscan ", 10) == 0 ? line[1] + 10 : line[1], hs_version());
		return NULL;
	}
	unsigned long long feat = 0;
	if (sscanf(line[2], "platform %llx", &feat) != 1) {
		pol_diag(diag, path, 0, 0, "bundle header is damaged (platform)");
		return NULL;
	}
	unsigned long long missing = feat & ~(unsigned long long)platform_features();
	if (missing) {
		char names[128];
		snprintf(names, sizeof names, "%s%s%s0x%llx",
		         (missing & HS_CPU_FEATURES_AVX2) ? "AVX2, " : "",
		         (missing & HS_CPU_FEATURES_AVX512) ? "AVX-512, " : "",
		         (missing & HS_CPU_FEATURES_AVX512VBMI) ? "AVX-512 VBMI, " : "", missing);
		pol_diag(diag, path, 0, 0, "bundle was built for a CPU with features this host lacks (%s); "
		         "recompile it here with 'sluicectl rules compile'", names);
		return NULL;
	}
	if (strncmp(line[3], "sha256 ", 7) != 0 || strlen(line[3]) != 7 + 64 || line[4][0]) {
		pol_diag(diag, path, 0, 0, "bundle header is damaged (checksum)");
		return NULL;
	}
	sha256((const uint8_t *)s, (size_t)(end - s), digest);
	char dhex[65];
	hex(dhex, digest, 32);
	if (strcmp(dhex, line[3] + 7) != 0) {
		pol_diag(diag, path, 0, 0, "bundle checksum mismatch: the file is damaged or was modified");
		return NULL;
	}
	return (const uint8_t *)s;
}

static struct sl_policy *load_from(struct sl_policy *p, const char *path, const uint8_t *buf,
                                   size_t len, struct sl_policy_diag *diag);


/* The recorded analysis, one per pattern of the parsed policy; NULL + diag if damaged. */
static struct pol_hs_outcome *read_outcomes(struct rbuf *r, const struct sl_policy *p,
                                            const char *path, struct sl_policy_diag *diag)
{
	uint32_t n = ru32(r);
	if (r->bad || n != p->npatterns || n > (uint64_t)(r->end - r->p) / POL_OUTCOME_BYTES) {
		pol_diag(diag, path, 0, 0, "bundle is damaged (analysis: %u records for %u patterns)",
		         (unsigned)n, (unsigned)p->npatterns);
		return NULL;
	}
	struct pol_hs_outcome *out = pol_alloc(p->arena, (n + 1) * sizeof *out);
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *rec = rtake(r, POL_OUTCOME_BYTES); /* there: length checked above */
		if (!pol_outcome_unpack(rec, &out[i])) {
			pol_diag(diag, path, 0, 0, "bundle is damaged (analysis of pattern %u: flags 0x%x)",
			         (unsigned)i, rec[0]);
			return NULL;
		}
	}
	return out;
}

struct sl_policy *pol_bundle_load(const char *path, struct sl_policy_diag *diag)
{
	struct sl_policy *p = pol_new();
	p->path = pol_strdup(p->arena, path);
	size_t len;
	const char *err = NULL;
	const uint8_t *buf = pol_read_file(p->arena, path, &len, &err);
	if (!buf) {
		pol_diag(diag, path, 0, 0, "cannot read: %s", err);
		sl_policy_unref(p);
		return NULL;
	}
	return load_from(p, path, buf, len, diag);
}

struct sl_policy *sl_policy_load_bundle_mem(const char *name, const uint8_t *bytes, size_t len,
                                            struct sl_policy_diag *diag)
{
	struct sl_policy *p = pol_new();
	p->path = pol_strdup(p->arena, name);
	uint8_t *copy = pol_alloc(p->arena, len ? len : 1); /* the sources point into it */
	memcpy(copy, bytes, len);
	return load_from(p, name, copy, len, diag);
}

static struct sl_policy *load_from(struct sl_policy *p, const char *path, const uint8_t *buf,
                                   size_t len, struct sl_policy_diag *diag)
{
	struct bundle_reader br = {.r = {.read = bundle_read}};
	br.r.ctx = &br;
	uint8_t digest[32];
	const uint8_t *payload;
	payload = check_header(buf, len, path, digest, diag);
	if (!payload)
		goto fail;
	struct rbuf r = {.p = payload, .end = buf + len};
	br.n = ru32(&r);
	if (br.n == 0 || br.n > (uint32_t)(r.end - r.p) / 12) {
		pol_diag(diag, path, 0, 0, "bundle is damaged (sources)");
		goto fail;
	}
	br.names = pol_alloc(p->arena, br.n * sizeof *br.names);
	br.data = pol_alloc(p->arena, br.n * sizeof *br.data);
	br.len = pol_alloc(p->arena, br.n * sizeof *br.len);
	for (uint32_t i = 0; i < br.n; i++) {
		uint32_t nl = ru32(&r);
		const uint8_t *name = rtake(&r, nl);
		br.len[i] = ru64(&r);
		br.data[i] = rtake(&r, br.len[i]);
		if (r.bad) {
			pol_diag(diag, path, 0, 0, "bundle is damaged (sources)");
			goto fail;
		}
		br.names[i] = pol_strndup(p->arena, (const char *)name, nl);
	}
	const uint8_t *pd = rtake(&r, 32);
	if (r.bad) {
		pol_diag(diag, path, 0, 0, "bundle is damaged");
		goto fail;
	}
	struct pol_build_opts opts = {.exclude_rule = -1};
	if (!pol_parse(p, br.names[0], &br.r, &opts, diag))
		goto fail;
	const struct pol_hs_outcome *outcomes = read_outcomes(&r, p, path, diag);
	if (!outcomes || !pol_analyze_recorded(p, outcomes, diag))
		goto fail;
	uint8_t mine[32];
	pol_pattern_digest(p, mine);
	if (memcmp(mine, pd, 32) != 0) {
		pol_diag(diag, path, 0, 0, "bundle's rules do not give the pattern table its databases "
		         "were compiled from (built by another version of sluice?); recompile it");
		goto fail;
	}
	uint32_t ndb = ru32(&r);
	for (uint32_t k = 0; k < ndb && !r.bad; k++) {
		uint32_t d = ru32(&r);
		uint64_t dl = ru64(&r);
		const uint8_t *bytes = rtake(&r, dl);
		if (r.bad || d >= p->ndbs || p->dbs[d].db || p->dbs[d].npatterns == 0) {
			r.bad = true;
			break;
		}
		hs_error_t rc = hs_deserialize_database((const char *)bytes, dl, &p->dbs[d].db);
		if (rc == HS_DB_VERSION_ERROR || rc == HS_DB_PLATFORM_ERROR) {
			pol_diag(diag, path, 0, 0, "Hyperscan refuses the bundle's %s database: built for %s; "
			         "recompile it here", p->dbs[d].scope,
			         rc == HS_DB_VERSION_ERROR ? "another Hyperscan version" : "another platform");
			goto fail;
		}
		if (rc != HS_SUCCESS) {
			pol_diag(diag, path, 0, 0, "bundle's %s database is damaged (Hyperscan error %d)",
			         p->dbs[d].scope, rc);
			goto fail;
		}
	}
	for (uint32_t d = 0; d < p->ndbs && !r.bad; d++)
		if (p->dbs[d].npatterns && !p->dbs[d].db)
			r.bad = true;
	if (r.bad || r.p != r.end) {
		pol_diag(diag, path, 0, 0, "bundle is damaged (databases)");
		goto fail;
	}
	if (!pol_finish(p, diag))
		goto fail;
	pol_policy_digest(p);
	return p;
fail:
	sl_policy_unref(p);
	return NULL;
}
