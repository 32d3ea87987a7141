/* Opening the RocksDB store and the small helpers every other file uses. */
#include "store.h"

#include "chain.h"
#include "keyfile.h"
#include "seal.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const cf_names[AR_CF_COUNT] = {
	"default", "blobs", "parts", "copies", "seqs", "blobdoc", "docs", "postings",
	"bydate", "audit", "checkpoints",
};

const char *ar_cf_name(enum ar_cf cf)
{
	return cf_names[cf];
}

void ar_dockey(uint8_t out[AR_DOCKEY_LEN], int64_t date, uint32_t docid)
{
	uint32_t d = date < 0 ? 0 : date > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)date;
	ar_put_be32(out, ~d);
	ar_put_be32(out + 4, docid);
}

uint32_t ar_dockey_docid(const uint8_t key[AR_DOCKEY_LEN])
{
	return ar_get_be32(key + 4);
}

int64_t ar_dockey_date(const uint8_t key[AR_DOCKEY_LEN])
{
	return (int64_t)(uint32_t)~ar_get_be32(key);
}

/* Per-family options: mail bodies compress well with zstd; the index families are
 * read by prefix and get bloom filters. */
static rocksdb_options_t *family_options(enum ar_cf cf, rocksdb_cache_t *cache,
	enum ar_open_mode mode)
{
	rocksdb_options_t *o = rocksdb_options_create();
	rocksdb_block_based_table_options_t *t = rocksdb_block_based_options_create();
	rocksdb_block_based_options_set_filter_policy(t, rocksdb_filterpolicy_create_bloom_full(10));
	rocksdb_block_based_options_set_block_cache(t, cache);
	/* Message skeletons in 1 MiB blocks: zstd then finds what one message repeats of
	 * another (headers, signatures, quoted text), 7 % fewer bytes than 64 KiB blocks
	 * (docs/benchmarks.md). Reading one message decompresses its block (~1 ms), so
	 * ingest asks blobdoc, not blobs, whether a message is stored. Parts stay at 64 KiB:
	 * ingest reads them to dedup attachments. */
	if (cf == AR_CF_BLOBS)
		rocksdb_block_based_options_set_block_size(t, 1 << 20);
	else if (cf == AR_CF_PARTS)
		rocksdb_block_based_options_set_block_size(t, 64 << 10);
	rocksdb_options_set_block_based_table_factory(o, t);
	rocksdb_block_based_options_destroy(t);
	/* sealed values are ciphertext (compressed before sealing, seal.c) */
	rocksdb_options_set_compression(o, ar_cf_sealed(cf) ? rocksdb_no_compression :
		rocksdb_zstd_compression);
	const char *dict = getenv("SLUICE_ARCHIVE_ZSTD_DICT");
	int level = 3;
	if ((cf == AR_CF_BLOBS || cf == AR_CF_PARTS) && dict && atoi(dict) > 0) {
		/* zstd dictionary trained per SST file (docs/benchmarks.md: measured) */
		rocksdb_options_set_compression_options(o, -14, level, 0, 16 << 10);
		rocksdb_options_set_compression_options_zstd_max_train_bytes(o, 100 * (16 << 10));
	} else {
		rocksdb_options_set_compression_options(o, -14, level, 0, 0);
	}
	rocksdb_options_set_write_buffer_size(o, cf == AR_CF_POSTINGS ? 64u << 20 : 32u << 20);
	/* Ingest inserts hundreds of postings per message: an append-only vector memtable
	 * (sorted once, at flush) halves the CPU of ingest. Only a writer has it; nothing
	 * searches through a writer's memtable (readers are secondaries, or open after the
	 * writer closed, when recovery has flushed it). */
	if (cf == AR_CF_POSTINGS && mode != AR_OPEN_READ)
		rocksdb_options_set_memtable_vector_rep(o);
	return o;
}

static void load_counters(struct ar_store *s)
{
	memset(&s->counters, 0, sizeof s->counters);
	size_t len;
	char *err = NULL;
	char *v = ar_store_get(s, AR_CF_DEFAULT, "stats", 5, &len, &err);
	free(err);
	if (v) {
		uint64_t *dst = (uint64_t *)(void *)&s->counters;
		size_t n = len / 8 < sizeof s->counters / 8 ? len / 8 : sizeof s->counters / 8;
		for (size_t i = 0; i < n; i++)
			dst[i] = ar_get_be64((const uint8_t *)v + 8 * i);
		free(v);
	} else {
		s->counters.index_version = AR_INDEX_VERSION;
		s->counters.format = AR_FORMAT_VERSION;
	}
	/* the indexer's mark, written apart from the committer's counters (a store
	 * written before the indexer has none: its counters say) */
	v = ar_store_get(s, AR_CF_DEFAULT, "indexed", 7, &len, &err);
	free(err);
	if (v && len == 8)
		s->counters.indexed_seq = ar_get_be64((const uint8_t *)v);
	free(v);
}

void ar_indexed_put(struct ar_store *s, rocksdb_writebatch_t *b, uint64_t indexed_seq)
{
	uint8_t v[8];
	ar_put_be64(v, indexed_seq);
	rocksdb_writebatch_put_cf(b, s->cf[AR_CF_DEFAULT], "indexed", 7, (const char *)v, 8);
}

/* A store is bound to the key it was created with: another key could neither decrypt
 * nor verify it. 0, or -1 with a reason. */
static int check_key(struct ar_store *s, char *err, size_t errlen)
{
	size_t len;
	char *e = NULL;
	char *id = ar_store_get(s, AR_CF_DEFAULT, "key_id", 6, &len, &e);
	free(e);
	if (!id) {
		if (s->mode == AR_OPEN_READ || !s->keys || s->counters.next_seq ||
		    s->counters.next_audit_seq) {
			snprintf(err, errlen, "%s: the store names no key (not a sluice-archive store "
					"of format %d)", s->dir, AR_FORMAT_VERSION);
			return -1;
		}
		/* a new store: bound to this key, with fresh data keys */
		rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
		rocksdb_writebatch_put_cf(wb, s->cf[AR_CF_DEFAULT], "key_id", 6,
			(const char *)s->keys->id, 8);
		ar_counters_put(s, wb);
		int r = ar_seal_open(s, wb, err, errlen);
		if (r == 0)
			r = ar_store_write(s, wb, true, err, errlen);
		rocksdb_writebatch_destroy(wb);
		return r;
	}
	int r = 0;
	if (s->counters.format != AR_FORMAT_VERSION) {
		snprintf(err, errlen, "%s: store format %llu, this program reads format %d",
			s->dir, (unsigned long long)s->counters.format, AR_FORMAT_VERSION);
		r = -1;
	} else if (!s->keys) {
		snprintf(err, errlen, "%s: needs the archive's key file (--key FILE or "
				"SLUICE_ARCHIVE_KEY)", s->dir);
		r = -1;
	} else if (len != 8 || memcmp(id, s->keys->id, 8) != 0) {
		snprintf(err, errlen, "%s: this key file is not the archive's key", s->dir);
		r = -1;
	}
	free(id);
	return r < 0 ? r : ar_seal_open(s, NULL, err, errlen);
}

void ar_counters_put(struct ar_store *s, rocksdb_writebatch_t *b)
{
	uint8_t buf[sizeof s->counters];
	const uint64_t *src = (const uint64_t *)(const void *)&s->counters;
	for (size_t i = 0; i < sizeof s->counters / 8; i++)
		ar_put_be64(buf + 8 * i, src[i]);
	rocksdb_writebatch_put_cf(b, s->cf[AR_CF_DEFAULT], "stats", 5, (const char *)buf, sizeof buf);
}

static int open_db(struct ar_store *s, char *err, size_t errlen)
{
	const char *names[AR_CF_COUNT];
	const rocksdb_options_t *cfo[AR_CF_COUNT];
	for (int i = 0; i < AR_CF_COUNT; i++) {
		names[i] = cf_names[i];
		cfo[i] = s->cf_opts[i];
	}
	char *e = NULL;
	if (s->mode == AR_OPEN_READ) {
		char secondary[4096];
		snprintf(secondary, sizeof secondary, "%s/.reader-%d", s->dir, (int)getpid());
		rocksdb_options_set_max_open_files(s->opts, -1);
		s->db = rocksdb_open_as_secondary_column_families(s->opts, s->dir, secondary,
			AR_CF_COUNT, names, cfo, s->cf, &e);
	} else {
		s->db = rocksdb_open_column_families(s->opts, s->dir, AR_CF_COUNT, names, cfo, s->cf, &e);
	}
	if (!s->db) {
		snprintf(err, errlen, "%s: %s", s->dir, e ? e : "cannot open");
		free(e);
		return -1;
	}
	return 0;
}

static void close_db(struct ar_store *s)
{
	if (!s->db)
		return;
	for (int i = 0; i < AR_CF_COUNT; i++)
		if (s->cf[i])
			rocksdb_column_family_handle_destroy(s->cf[i]);
	memset(s->cf, 0, sizeof s->cf);
	rocksdb_close(s->db);
	s->db = NULL;
}

int ar_store_reopen(struct ar_store *s, char *err, size_t errlen)
{
	/* after a failed write RocksDB must not be written again (its WAL writer is in an
	 * error state); closing and opening recovers from the last synced batch */
	pthread_rwlock_wrlock(&s->db_lock);
	close_db(s);
	int r = open_db(s, err, errlen);
	pthread_rwlock_unlock(&s->db_lock);
	if (r == 0) { /* (they read through ar_store_get: not under the write lock) */
		load_counters(s);
		ar_chain_load(s);
	}
	return r;
}

struct ar_store *ar_store_open(const char *dir, enum ar_open_mode mode,
	const struct ar_keys *keys, char *err, size_t errlen)
{
	struct stat st;
	bool exists = stat(dir, &st) == 0;
	if (!exists && mode != AR_OPEN_CREATE) {
		snprintf(err, errlen, "%s: no archive here (create one with import or serve)", dir);
		return NULL;
	}
	if (!exists && mkdir(dir, 0700) < 0) {
		snprintf(err, errlen, "%s: cannot create", dir);
		return NULL;
	}
	struct ar_store *s = calloc(1, sizeof *s);
	s->dir = strdup(dir);
	s->mode = mode;
	s->keys = keys;
	pthread_mutex_init(&s->chain_mu, NULL);
	pthread_rwlock_init(&s->db_lock, NULL);
	s->cache = rocksdb_cache_create_lru(128u << 20); /* shared by every family */
	s->opts = rocksdb_options_create();
	rocksdb_options_set_create_if_missing(s->opts, mode == AR_OPEN_CREATE);
	rocksdb_options_set_create_missing_column_families(s->opts, mode != AR_OPEN_READ);
	rocksdb_options_increase_parallelism(s->opts, 2);
	rocksdb_options_set_max_background_jobs(s->opts, 2);
	/* RocksDB's own LOG only gets its header: after a failed write on a full disk,
	 * Debian's RocksDB (built with assertions) aborts the process when its recovery
	 * thread appends to a LOG file whose last append failed. Errors reach us anyway,
	 * as the status of our writes. */
	rocksdb_options_set_info_log_level(s->opts, 5);
	rocksdb_options_set_keep_log_file_num(s->opts, 3);
	/* one committer writes; the vector memtable of the postings needs this off */
	rocksdb_options_set_allow_concurrent_memtable_write(s->opts, 0);
	for (int i = 0; i < AR_CF_COUNT; i++)
		s->cf_opts[i] = family_options(i, s->cache, mode);
	if (open_db(s, err, errlen) < 0) {
		ar_store_close(s);
		return NULL;
	}
	s->ro = rocksdb_readoptions_create();
	s->wo_sync = rocksdb_writeoptions_create();
	rocksdb_writeoptions_set_sync(s->wo_sync, 1);
	s->wo_nosync = rocksdb_writeoptions_create();
	load_counters(s);
	if (check_key(s, err, errlen) < 0) {
		ar_store_close(s);
		return NULL;
	}
	ar_chain_load(s);
	return s;
}

void ar_store_close(struct ar_store *s)
{
	if (!s)
		return;
	close_db(s);
	if (s->mode == AR_OPEN_READ) {
		char secondary[4096];
		snprintf(secondary, sizeof secondary, "%s/.reader-%d", s->dir, (int)getpid());
		DIR *d = opendir(secondary);
		struct dirent *de;
		while (d && (de = readdir(d))) {
			char p[8192];
			snprintf(p, sizeof p, "%s/%s", secondary, de->d_name);
			if (de->d_name[0] != '.')
				unlink(p);
		}
		if (d)
			closedir(d);
		rmdir(secondary);
	}
	for (int i = 0; i < AR_CF_COUNT; i++)
		if (s->cf_opts[i])
			rocksdb_options_destroy(s->cf_opts[i]);
	if (s->opts)
		rocksdb_options_destroy(s->opts);
	if (s->cache)
		rocksdb_cache_destroy(s->cache);
	if (s->ro)
		rocksdb_readoptions_destroy(s->ro);
	if (s->wo_sync)
		rocksdb_writeoptions_destroy(s->wo_sync);
	if (s->wo_nosync)
		rocksdb_writeoptions_destroy(s->wo_nosync);
	ar_seal_close(s);
	pthread_mutex_destroy(&s->chain_mu);
	pthread_rwlock_destroy(&s->db_lock);
	free(s->dir);
	free(s);
}

char *ar_store_get(struct ar_store *s, enum ar_cf cf, const void *key, size_t klen,
	size_t *len, char **err)
{
	pthread_rwlock_rdlock(&s->db_lock);
	char *v = NULL;
	if (s->db)
		v = rocksdb_get_cf(s->db, s->ro, s->cf[cf], key, klen, len, err);
	else
		*err = strdup("the store is closed (recovering from a failed write)");
	pthread_rwlock_unlock(&s->db_lock);
	if (!v || !ar_cf_sealed(cf))
		return v;
	struct sl_strbuf plain;
	char why[200];
	sl_strbuf_init(&plain);
	if (ar_unseal(s, cf, key, klen, v, *len, &plain, why, sizeof why) < 0 ||
	    sl_strbuf_failed(&plain)) {
		free(v);
		sl_strbuf_free(&plain);
		*err = strdup(why);
		return NULL;
	}
	free(v);
	/* (a strbuf's memory is the engine allocator's: the caller frees with free) */
	v = malloc(plain.len + 1);
	if (v) {
		memcpy(v, plain.s ? plain.s : "", plain.len);
		*len = plain.len;
	} else {
		*err = strdup("out of memory");
	}
	sl_strbuf_free(&plain);
	return v;
}

int ar_store_has(struct ar_store *s, enum ar_cf cf, const void *key, size_t klen)
{
	char *err = NULL;
	pthread_rwlock_rdlock(&s->db_lock);
	rocksdb_pinnableslice_t *v = NULL;
	if (s->db)
		v = rocksdb_get_pinned_cf(s->db, s->ro, s->cf[cf], key, klen, &err);
	else
		err = strdup("the store is closed (recovering from a failed write)");
	if (v)
		rocksdb_pinnableslice_destroy(v);
	pthread_rwlock_unlock(&s->db_lock);
	if (err) {
		/* a read error is not "absent": a caller deciding on it must stop */
		fprintf(stderr, "sluice-archive: read %s: %s\n", cf_names[cf], err);
		free(err);
		return -1;
	}
	return v ? 1 : 0;
}

int ar_store_write(struct ar_store *s, rocksdb_writebatch_t *b, bool sync, char *err,
	size_t errlen)
{
	char *e = NULL;
	rocksdb_write(s->db, sync ? s->wo_sync : s->wo_nosync, b, &e);
	if (e) {
		snprintf(err, errlen, "write: %s", e);
		free(e);
		return -1;
	}
	return 0;
}

int ar_store_reset_cf(struct ar_store *s, enum ar_cf cf, char *err, size_t errlen)
{
	char *e = NULL;
	rocksdb_drop_column_family(s->db, s->cf[cf], &e);
	if (!e) {
		rocksdb_column_family_handle_destroy(s->cf[cf]);
		s->cf[cf] = rocksdb_create_column_family(s->db, s->cf_opts[cf], cf_names[cf], &e);
	}
	if (e) {
		snprintf(err, errlen, "reset %s: %s", cf_names[cf], e);
		free(e);
		return -1;
	}
	return 0;
}

uint64_t ar_store_cf_bytes(struct ar_store *s, enum ar_cf cf)
{
	uint64_t total = 0;
	const char *props[] = { "rocksdb.total-sst-files-size", "rocksdb.cur-size-all-mem-tables" };
	for (int i = 0; i < 1; i++) {
		char *v = rocksdb_property_value_cf(s->db, s->cf[cf], props[i]);
		if (v)
			total += strtoull(v, NULL, 10);
		free(v);
	}
	return total;
}

uint64_t ar_store_dir_bytes(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	uint64_t total = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		bool data = (l > 4 && strcmp(de->d_name + l - 4, ".sst") == 0) ||
			    (l > 4 && strcmp(de->d_name + l - 4, ".log") == 0);
		if (!data)
			continue;
		char p[8192];
		struct stat st;
		snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
		if (stat(p, &st) == 0)
			total += (uint64_t)st.st_size;
	}
	closedir(d);
	return total;
}
