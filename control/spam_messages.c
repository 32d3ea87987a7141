/* Messages for `sluicectl spam`: directories of .eml files or mbox files, and each
 * message's tokens through the same SMTP session, MIME parser and tokenizer as the
 * dataplane (rules_feed_message). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rules.h"
#include "spam.h"
#include "sluice/strbuf.h"

static void tokens_cb(void *ctx, const struct sl_event *ev)
{
	sl_bayes_tokens_event(ctx, ev);
}

bool spam_tokens_of(struct sl_bayes_tokens *t, const char *name, const uint8_t *msg, size_t len)
{
	struct rules_envelope_opts env = {0};
	const char *err = NULL;
	sl_bayes_tokens_reset(t);
	if (rules_feed_message(msg, len, &env, tokens_cb, t, &err))
		return true;
	fprintf(stderr, "%s: not a message the engine can read: %s\n", name, err ? err : "no end of data");
	return false;
}

/* An mbox: messages start at lines "From " (the first line too); ">From " lines are
 * left as they are (mboxrd unquoting changes no token). */
static bool each_in_mbox(const char *path, const uint8_t *b, size_t len,
                         bool (*fn)(void *, const char *, const uint8_t *, size_t), void *ctx)
{
	size_t start = 0, n = 0;
	char name[4096];
	while (start < len) {
		size_t body = start;
		while (body < len && b[body] != '\n') /* skip the "From " separator line */
			body++;
		body += body < len;
		size_t end = body;
		while (end < len && !(end + 5 <= len && memcmp(b + end, "From ", 5) == 0 &&
		                      (end == 0 || b[end - 1] == '\n')))
			end++;
		snprintf(name, sizeof name, "%s#%zu", path, ++n);
		if (!fn(ctx, name, b + body, end - body))
			return false;
		start = end;
	}
	return true;
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), k = strlen(suf);
	return n >= k && strcmp(s + n - k, suf) == 0;
}

/* A file named on the command line is one message or an mbox; in a directory, files
 * that are neither *.eml nor an mbox are skipped, and said so. */
static bool each_in_file(const char *path, bool (*fn)(void *, const char *, const uint8_t *, size_t),
                         void *ctx, bool in_dir)
{
	size_t len;
	uint8_t *b = sl_read_file(path, &len);
	if (!b) {
		fprintf(stderr, "%s: cannot read: %s\n", path, strerror(errno));
		return false;
	}
	bool mbox = len >= 5 && memcmp(b, "From ", 5) == 0, ok = true;
	if (mbox)
		ok = each_in_mbox(path, b, len, fn, ctx);
	else if (!in_dir || has_suffix(path, ".eml"))
		ok = fn(ctx, path, b, len);
	else
		fprintf(stderr, "%s: skipped: neither a .eml file nor an mbox\n", path);
	free(b);
	return ok;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

bool spam_each_message(const char *path,
                       bool (*fn)(void *ctx, const char *name, const uint8_t *msg, size_t len),
                       void *ctx)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return false;
	}
	if (!S_ISDIR(st.st_mode))
		return each_in_file(path, fn, ctx, false);
	DIR *d = opendir(path);
	if (!d) {
		fprintf(stderr, "%s: cannot open: %s\n", path, strerror(errno));
		return false;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	bool ok = true;
	struct dirent *de;
	while (ok && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char full[4096];
		if ((size_t)snprintf(full, sizeof full, "%s/%s", path, de->d_name) >= sizeof full ||
		    stat(full, &st) != 0 || !S_ISREG(st.st_mode))
			continue; /* subdirectories and special files are not messages */
		if (n == cap) {
			cap = cap ? 2 * cap : 256;
			char **nn = realloc(names, cap * sizeof *names);
			ok = nn != NULL;
			names = nn ? nn : names;
		}
		if (ok && !(names[n++] = strdup(full)))
			ok = false, n--;
	}
	closedir(d);
	if (!ok)
		fprintf(stderr, "%s: out of memory\n", path);
	if (n) /* an empty directory has no array at all */
		qsort(names, n, sizeof *names, by_name);
	for (size_t i = 0; ok && i < n; i++)
		ok = each_in_file(names[i], fn, ctx, true);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return ok;
}
