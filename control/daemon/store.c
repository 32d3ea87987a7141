#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsutil.h"

static void path_of(const struct store *s, char *out, size_t len, const char *fmt, long long id)
{
	char rel[64];
	snprintf(rel, sizeof rel, fmt, id);
	snprintf(out, len, "%s/%s", s->dir, rel);
}

static bool parse_id(const char *name, int64_t *id)
{
	char *end;
	if (!*name || *name == '0' || strspn(name, "0123456789") != strlen(name))
		return false;
	errno = 0;
	long long v = strtoll(name, &end, 10);
	if (errno || v <= 0)
		return false;
	*id = v;
	return true;
}

/* The largest version id on disk; leftovers of interrupted writes (.new-*) removed. */
static int64_t scan_versions(const char *vdir)
{
	int64_t max = 0, id;
	DIR *d = opendir(vdir);
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, ".new-", 5) == 0) {
			char sub[CTL_PATH_MAX + 300];
			snprintf(sub, sizeof sub, "%s/%s", vdir, e->d_name);
			fs_remove_tree(sub);
		} else if (parse_id(e->d_name, &id) && id > max) {
			max = id;
		}
	}
	closedir(d);
	return max;
}

static json_t *obj_at(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_object(v)) {
		v = json_object();
		json_object_set_new(o, key, v);
	}
	return v;
}

int store_open(struct store *s, const char *dir, char *err, size_t errlen)
{
	memset(s, 0, sizeof *s);
	if (strlen(dir) >= sizeof s->dir - 64) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	strcpy(s->dir, dir);
	char vdir[CTL_PATH_MAX + 32], sp[CTL_PATH_MAX + 32];
	snprintf(vdir, sizeof vdir, "%s/versions", dir);
	if (fs_mkdirs(vdir, err, errlen))
		return -1;
	snprintf(sp, sizeof sp, "%s/state.json", dir);
	json_error_t je;
	if (access(sp, F_OK) == 0) {
		s->state = json_load_file(sp, 0, &je);
		if (!json_is_object(s->state)) {
			snprintf(err, errlen, "%s:%d: %s", sp, je.line, s->state ? "not a JSON object" : je.text);
			json_decref(s->state);
			s->state = NULL;
			return -1;
		}
	} else {
		s->state = json_object();
	}
	if (!s->state) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	obj_at(s->state, "dataplanes");
	json_int_t next = json_integer_value(json_object_get(s->state, "next_id"));
	int64_t max = scan_versions(vdir);
	if (next <= max)
		next = max + 1;
	json_object_set_new(s->state, "next_id", json_integer(next));
	return 0;
}

void store_close(struct store *s)
{
	json_decref(s->state);
	s->state = NULL;
}

int store_save(struct store *s, char *err, size_t errlen)
{
	char sp[CTL_PATH_MAX + 32];
	snprintf(sp, sizeof sp, "%s/state.json", s->dir);
	char *text = json_dumps(s->state, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (!text) {
		snprintf(err, errlen, "cannot encode state.json");
		return -1;
	}
	size_t n = strlen(text);
	text[n] = '\n'; /* json_dumps leaves room: replaced NUL, length n + 1 */
	int rc = fs_replace(sp, text, n + 1, err, errlen);
	free(text);
	return rc;
}

static json_t *dp_entry(const struct store *s, const char *dp)
{
	return json_object_get(json_object_get(s->state, "dataplanes"), dp);
}

int64_t store_wanted(const struct store *s, const char *dp)
{
	json_t *v = json_object_get(dp_entry(s, dp), "version");
	return json_is_integer(v) ? json_integer_value(v) : -1;
}

void store_set_wanted(struct store *s, const char *dp, int64_t id)
{
	json_t *e = obj_at(obj_at(s->state, "dataplanes"), dp);
	json_object_set_new(e, "version", id >= 0 ? json_integer(id) : json_null());
}

const char *store_knob(const struct store *s, const char *dp, const char *knob)
{
	return json_string_value(json_object_get(dp_entry(s, dp), knob));
}

void store_set_knob(struct store *s, const char *dp, const char *knob, const char *value)
{
	json_object_set_new(obj_at(obj_at(s->state, "dataplanes"), dp), knob, json_string(value));
}

void store_audit_head(const struct store *s, uint64_t *lines, const char **head)
{
	json_t *a = json_object_get(s->state, "audit");
	*lines = (uint64_t)json_integer_value(json_object_get(a, "lines"));
	*head = json_string_value(json_object_get(a, "head"));
	if (!*head)
		*head = "";
}

void store_set_audit_head(struct store *s, uint64_t lines, const char *head)
{
	json_t *a = obj_at(s->state, "audit");
	json_object_set_new(a, "lines", json_integer((json_int_t)lines));
	json_object_set_new(a, "head", json_string(head));
}

int store_publish(const struct store *s, const char *dp, int64_t id, char *err, size_t errlen)
{
	char dir[CTL_PATH_MAX + 16], path[CTL_PATH_MAX + 128];
	snprintf(dir, sizeof dir, "%s/current", s->dir);
	if (fs_mkdirs(dir, err, errlen))
		return -1;
	size_t len;
	uint8_t *b = store_bundle(s, id, &len, err, errlen);
	if (!b)
		return -1;
	snprintf(path, sizeof path, "%s/%s.bundle", dir, dp);
	int rc = fs_replace(path, b, len, err, errlen);
	free(b);
	return rc;
}

bool store_valid_file_name(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n >= 256 || name[0] == '/')
		return false;
	for (const char *c = name; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == '\\')
			return false;
	for (const char *p = name; *p;) {
		size_t k = strcspn(p, "/");
		if (k == 0 || (k == 1 && p[0] == '.') || (k == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += k;
		if (*p == '/' && !*++p)
			return false; /* trailing slash */
	}
	return true;
}

static int write_source(const char *srcdir, const struct sl_policy_file *f, char *err, size_t errlen)
{
	char path[CTL_PATH_MAX + 300];
	if (snprintf(path, sizeof path, "%s/%s", srcdir, f->name) >= (int)sizeof path) {
		snprintf(err, errlen, "%s: path too long", f->name);
		return -1;
	}
	char *slash = strrchr(path, '/');
	*slash = 0;
	if (fs_mkdirs(path, err, errlen))
		return -1;
	*slash = '/';
	return fs_write_sync(path, f->data, f->len, err, errlen);
}

int64_t store_next_id(const struct store *s)
{
	return json_integer_value(json_object_get(s->state, "next_id"));
}

int store_add_version(struct store *s, const struct sl_policy_file *files, size_t n,
                      const uint8_t *bundle, size_t bundle_len, json_t *meta, int64_t *id,
                      char *err, size_t errlen)
{
	int64_t next = store_next_id(s);
	char tmp[CTL_PATH_MAX + 64], final[CTL_PATH_MAX + 64], p[CTL_PATH_MAX + 300];
	path_of(s, tmp, sizeof tmp, "versions/.new-%lld", (long long)next);
	path_of(s, final, sizeof final, "versions/%lld", (long long)next);
	fs_remove_tree(tmp);
	snprintf(p, sizeof p, "%s/src", tmp);
	if (fs_mkdirs(p, err, errlen))
		goto fail;
	for (size_t i = 0; i < n; i++)
		if (write_source(p, &files[i], err, errlen))
			goto fail;
	snprintf(p, sizeof p, "%s/bundle", tmp);
	if (fs_write_sync(p, bundle, bundle_len, err, errlen))
		goto fail;
	json_object_set_new(meta, "id", json_integer(next));
	char *text = json_dumps(meta, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (!text) {
		snprintf(err, errlen, "cannot encode meta.json");
		goto fail;
	}
	snprintf(p, sizeof p, "%s/meta.json", tmp);
	int rc = fs_write_sync(p, text, strlen(text), err, errlen);
	free(text);
	if (rc)
		goto fail;
	snprintf(p, sizeof p, "%s/src", tmp);
	if (fs_fsync_dir(p, err, errlen) || fs_fsync_dir(tmp, err, errlen))
		goto fail;
	if (rename(tmp, final) != 0) {
		snprintf(err, errlen, "rename %s: %s", tmp, strerror(errno));
		goto fail;
	}
	snprintf(p, sizeof p, "%s/versions", s->dir);
	if (fs_fsync_dir(p, err, errlen))
		return -1; /* in place; the next id must not reuse it */
	json_object_set_new(s->state, "next_id", json_integer(next + 1));
	*id = next;
	return 0;
fail:
	fs_remove_tree(tmp);
	return -1;
}

bool store_has_version(const struct store *s, int64_t id)
{
	char p[CTL_PATH_MAX + 64];
	path_of(s, p, sizeof p, "versions/%lld/meta.json", (long long)id);
	return id > 0 && access(p, R_OK) == 0;
}

json_t *store_meta(const struct store *s, int64_t id)
{
	char p[CTL_PATH_MAX + 64];
	path_of(s, p, sizeof p, "versions/%lld/meta.json", (long long)id);
	json_t *m = json_load_file(p, 0, NULL);
	if (m && !json_is_object(m)) {
		json_decref(m);
		m = NULL;
	}
	return m;
}

uint8_t *store_bundle(const struct store *s, int64_t id, size_t *len, char *err, size_t errlen)
{
	char p[CTL_PATH_MAX + 64];
	path_of(s, p, sizeof p, "versions/%lld/bundle", (long long)id);
	uint8_t *b = sl_read_file(p, len);
	if (!b)
		snprintf(err, errlen, "version %lld: %s: %s", (long long)id, p, strerror(errno));
	return b;
}

static int cmp_ids(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

json_t *store_list(const struct store *s)
{
	char vdir[CTL_PATH_MAX + 32];
	snprintf(vdir, sizeof vdir, "%s/versions", s->dir);
	json_t *out = json_array();
	DIR *d = opendir(vdir);
	if (!d || !out)
		return out;
	int64_t *ids = NULL, id;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!parse_id(e->d_name, &id))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			int64_t *g = realloc(ids, cap * sizeof *ids);
			if (!g)
				break;
			ids = g;
		}
		ids[n++] = id;
	}
	closedir(d);
	qsort(ids, n, sizeof *ids, cmp_ids);
	for (size_t i = 0; i < n; i++) {
		json_t *m = store_meta(s, ids[i]);
		if (m)
			json_array_append_new(out, m);
	}
	free(ids);
	return out;
}

int store_diff(const struct store *s, int64_t a, int64_t b, size_t max, struct sl_strbuf *out,
               char *err, size_t errlen)
{
	char vdir[CTL_PATH_MAX + 32], pa[32], pb[32];
	snprintf(vdir, sizeof vdir, "%s/versions", s->dir);
	snprintf(pa, sizeof pa, "%lld/src", (long long)a);
	snprintf(pb, sizeof pb, "%lld/src", (long long)b);
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addchdir_np(&fa, vdir);
	char *argv[] = {"diff", "-ruN", "--", pa, pb, NULL};
	char *envp[] = {"LC_ALL=C", "PATH=/usr/bin:/bin", NULL};
	pid_t pid;
	int rc = posix_spawn(&pid, "/usr/bin/diff", &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	if (rc != 0) {
		close(pipefd[0]);
		snprintf(err, errlen, "cannot run diff: %s", strerror(rc));
		return -1;
	}
	char buf[65536];
	bool cut = false;
	for (;;) {
		ssize_t k = read(pipefd[0], buf, sizeof buf);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		if (out->len + (size_t)k > max) {
			k = out->len < max ? (ssize_t)(max - out->len) : 0;
			cut = true;
		}
		sl_strbuf_put(out, buf, (size_t)k);
	}
	close(pipefd[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (cut)
		sl_strbuf_printf(out, "\n[diff cut at %zu bytes]\n", max);
	/* diff exits 0 (same), 1 (different), 2 (trouble) */
	if (!cut && (!WIFEXITED(status) || WEXITSTATUS(status) > 1)) {
		snprintf(err, errlen, "diff failed");
		return -1;
	}
	if (sl_strbuf_failed(out)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}
