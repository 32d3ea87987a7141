/* What the commands share: the key file, opening the store, the audit entry. */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keyfile.h"
#include "net.h"

const char *cli_key_path;
static struct ar_keys keys;
static bool keys_loaded;

static const struct ar_keys *load_keys(void)
{
	if (keys_loaded)
		return &keys;
	const char *path = cli_key_path ? cli_key_path : getenv("SLUICE_ARCHIVE_KEY");
	if (!path || !*path) {
		fprintf(stderr, "sluice-archive: no key file: give --key FILE or set "
				"SLUICE_ARCHIVE_KEY (make one with sluice-archive keygen FILE)\n");
		return NULL;
	}
	char err[512];
	if (ar_keys_load(path, &keys, err, sizeof err) < 0) {
		fprintf(stderr, "sluice-archive: %s\n", err);
		return NULL;
	}
	keys_loaded = true;
	return &keys;
}

struct ar_store *cli_open(const char *dir, bool write, bool create)
{
	const struct ar_keys *k = load_keys();
	if (!k)
		return NULL;
	char err[1024];
	struct ar_store *s = ar_store_open(dir, create ? AR_OPEN_CREATE : AR_OPEN_WRITE, k, err,
		sizeof err);
	if (s) {
		ar_audit_collect(s);
		return s;
	}
	if (!write && strstr(err, "lock")) {
		/* a server holds the store: read alongside it */
		char err2[1024];
		s = ar_store_open(dir, AR_OPEN_READ, k, err2, sizeof err2);
		if (s)
			return s;
		fprintf(stderr, "sluice-archive: %s\n", err2);
		return NULL;
	}
	if (strstr(err, "lock"))
		fprintf(stderr, "sluice-archive: %s is in use by a running server: %s\n", dir, err);
	else
		fprintf(stderr, "sluice-archive: %s\n", err);
	return NULL;
}

int cli_check_index(struct ar_store *s)
{
	if (s->counters.index_version == AR_INDEX_VERSION)
		return 0;
	fprintf(stderr, "sluice-archive: %s: the index has format %llu, this program reads "
			"format %d: run sluice-archive reindex --data %s\n", s->dir,
		(unsigned long long)s->counters.index_version, AR_INDEX_VERSION, s->dir);
	return -1;
}

void cli_note_index_lag(struct ar_store *s)
{
	const struct ar_counters *c = &s->counters;
	if (c->indexed_seq >= c->next_seq)
		return;
	fprintf(stderr, "sluice-archive: note: the newest %llu copies are not in the index yet "
			"(a running server adds them within about %u ms; a stopped archive when it "
			"next starts)\n", (unsigned long long)(c->next_seq - c->indexed_seq),
		AR_INDEX_DELAY_MS);
}

int cli_audit(struct ar_store *s, const char *action, const char *detail_json)
{
	struct sl_strbuf f;
	sl_strbuf_init(&f);
	sl_strbuf_puts(&f, "\"action\":");
	sl_json_str(&f, action);
	if (detail_json && *detail_json) {
		sl_strbuf_putc(&f, ',');
		sl_strbuf_puts(&f, detail_json);
	}
	char err[512];
	int r = sl_strbuf_failed(&f) ? -1 : ar_audit_append(s, getuid(), f.s, err, sizeof err);
	if (r < 0)
		fprintf(stderr, "sluice-archive: %s refused: the audit log cannot be written (%s)\n",
			action, sl_strbuf_failed(&f) ? "out of memory" : err);
	sl_strbuf_free(&f);
	return r;
}

bool cli_parse_docid(const char *s, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (!*s || *end || errno || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

int cli_data_json_args(int argc, char **argv, const char **data, bool *json)
{
	*data = NULL;
	*json = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--data") && i + 1 < argc)
			*data = argv[++i];
		else if (!strcmp(argv[i], "--json"))
			*json = true;
		else
			return -1;
	}
	return *data ? 0 : -1;
}

/* --relay-tls-ca F [--relay-tls-name N] [--relay-tls-cert F --relay-tls-key F]: one
 * option at argv[*i] (true), for `release` and `api` alike. */
bool cli_relay_tls_option(int argc, char **argv, int *i, struct ar_smtp_tls *tls)
{
	static const char *const names[] = { "--relay-tls-ca", "--relay-tls-name",
		"--relay-tls-cert", "--relay-tls-key" };
	const char **fields[] = { &tls->ca, &tls->name, &tls->cert, &tls->key };
	for (size_t k = 0; k < 4; k++)
		if (!strcmp(argv[*i], names[k]) && *i + 1 < argc) {
			*fields[k] = argv[++*i];
			return true;
		}
	return false;
}

bool cli_relay_tls_valid(const struct ar_smtp_tls *tls)
{
	return !tls->cert == !tls->key && (tls->ca || (!tls->name && !tls->cert));
}
