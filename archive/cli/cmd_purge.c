/* hold, purge: legal holds and the purge of what retention no longer requires
 * (archive/retention/; docs/archive.md "Retention and legal hold"). */
#include <errno.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "holds.h"
#include "purge.h"
#include "rules.h"
#include "search.h"

static int hold_add(struct ar_store *s, const char *name, const char *query)
{
	char err[512];
	struct ar_qnode *q = ar_query_parse(query, err, sizeof err);
	if (!q) {
		fprintf(stderr, "sluice-archive hold: bad query: %s\n", err);
		return 2;
	}
	ar_query_free(q);
	struct sl_strbuf f;
	sl_strbuf_init(&f);
	ar_hold_fragment(&f, name, query);
	/* a hold only keeps mail: a reader beside the server may place one (audit.h) */
	int rc = sl_strbuf_failed(&f) || cli_audit(s, "hold", f.s) < 0 ? 1 : 0;
	sl_strbuf_free(&f);
	if (!rc)
		printf("hold %s: %s\n", name, query);
	return rc;
}

int cmd_hold(int argc, char **argv)
{
	const char *data = NULL, *verb = NULL, *name = NULL, *query = NULL, *user = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--data") && i + 1 < argc)
			data = argv[++i];
		else if (!strcmp(argv[i], "--user") && i + 1 < argc)
			user = argv[++i];
		else if (!verb)
			verb = argv[i];
		else if (!name)
			name = argv[i];
		else if (!query)
			query = argv[i];
		else
			verb = "?";
	}
	bool add = verb && !strcmp(verb, "add"), remove = verb && !strcmp(verb, "remove");
	bool list = verb && !strcmp(verb, "list");
	if (!data || (!add && !remove && !list) || (list && name) || ((add || remove) && !name) ||
	    (add && !query == !user) || (!add && (query || user))) {
		fprintf(stderr, "usage: sluice-archive hold --data DIR add NAME (QUERY | --user ADDR)\n"
				"       sluice-archive hold --data DIR remove NAME\n"
				"       sluice-archive hold --data DIR list\n");
		return 2;
	}
	if (name && !ar_hold_name_ok(name)) {
		fprintf(stderr, "sluice-archive hold: a name is 1-64 letters, digits, '.', '_', '-'\n");
		return 2;
	}
	char byuser[600];
	if (user) {
		if (strchr(user, '"') || strchr(user, ' ') || strlen(user) > 256) {
			fprintf(stderr, "sluice-archive hold: bad address %s\n", user);
			return 2;
		}
		snprintf(byuser, sizeof byuser, "from:%s OR to:%s", user, user);
		query = byuser;
	}
	/* lifting a hold lets mail be purged: only a writer (not beside the server) */
	struct ar_store *s = cli_open(data, remove, false);
	if (!s)
		return 1;
	struct ar_holds h;
	ar_holds_load(s, &h);
	if (h.failed)
		fprintf(stderr, "sluice-archive hold: some hold entries cannot be read (run verify)\n");
	int rc = 0;
	if (add) {
		rc = hold_add(s, name, query);
	} else if (remove) {
		bool found = false;
		for (size_t i = 0; i < h.n; i++)
			found |= !strcmp(h.v[i].name, name);
		char d[128];
		snprintf(d, sizeof d, "\"name\":\"%s\"", name);
		if (!found) {
			fprintf(stderr, "sluice-archive hold: no hold %s\n", name);
			rc = 1;
		} else if (cli_audit(s, "unhold", d) < 0) {
			rc = 1;
		} else {
			printf("hold %s lifted\n", name);
		}
	} else if (cli_audit(s, "holds", NULL) < 0) {
		rc = 1;
	} else {
		for (size_t i = 0; i < h.n; i++)
			printf("%s\t%s\t(by %s)\n", h.v[i].name, h.v[i].query, h.v[i].user);
	}
	ar_holds_free(&h);
	ar_store_close(s);
	return rc;
}

/* ---- purge ---- */

static char *read_text(const char *path)
{
	size_t len;
	uint8_t *p = sl_read_file(path, &len);
	if (!p)
		return NULL;
	char *t = realloc(p, len + 1);
	if (!t) {
		free(p);
		return NULL;
	}
	t[len] = '\0';
	return t;
}

int cmd_purge(int argc, char **argv)
{
	const char *data = NULL, *rfile = NULL;
	bool dry = false;
	unsigned long max = 1000;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--data") && i + 1 < argc)
			data = argv[++i];
		else if (!strcmp(argv[i], "--retention") && i + 1 < argc)
			rfile = argv[++i];
		else if (!strcmp(argv[i], "--max") && i + 1 < argc)
			max = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--dry-run"))
			dry = true;
		else
			data = NULL, i = argc;
	}
	if (!data || !rfile || !max) {
		fprintf(stderr, "usage: sluice-archive purge --data DIR --retention FILE [--dry-run] "
				"[--max N]\n");
		return 2;
	}
	char *text = read_text(rfile);
	if (!text) {
		fprintf(stderr, "sluice-archive purge: %s: %s\n", rfile, strerror(errno));
		return 1;
	}
	struct ar_retention rt;
	char err[512];
	if (ar_retention_parse(text, &rt, err, sizeof err) < 0) {
		fprintf(stderr, "sluice-archive purge: %s: %s\n", rfile, err);
		free(text);
		return 2;
	}
	uint8_t digest[32];
	SHA256((const uint8_t *)text, strlen(text), digest);
	char rsha[65];
	for (int i = 0; i < 32; i++)
		sprintf(rsha + 2 * i, "%02x", digest[i]);
	free(text);
	struct ar_store *s = cli_open(data, true, false);
	/* the holds are searches: they need a current index, with every copy in it (a
	 * crash may have left the newest unindexed) */
	if (!s || cli_check_index(s) < 0 || ar_index_catch_up(s) < 0) {
		if (s)
			fprintf(stderr, "sluice-archive purge: the index cannot be brought up to date\n");
		ar_store_close(s);
		ar_retention_free(&rt);
		return 1;
	}
	struct ar_purge_result res;
	int rc = 1;
	if (ar_purge(s, &rt, rsha, max, dry, &res, err, sizeof err) < 0) {
		fprintf(stderr, "sluice-archive purge: %s: %s\n", res.purged ? "stopped" : "nothing purged",
			err);
		if (res.purged)
			fprintf(stderr, "sluice-archive purge: %zu messages were purged before: run "
					"reindex\n", res.purged);
	} else if (dry) {
		char detail[128];
		snprintf(detail, sizeof detail, "\"would_purge\":%zu,\"held\":%zu", res.n, res.held);
		if (cli_audit(s, "purge-dry-run", detail) == 0) {
			for (size_t i = 0; i < res.n; i++)
				printf("would purge %u\n", res.ids[i]);
			printf("%zu messages past retention, %zu more kept by a legal hold\n", res.n,
				res.held);
			rc = 0;
		}
	} else {
		printf("purged %zu messages; %zu more past retention kept by a legal hold\n",
			res.purged, res.held);
		rc = res.purged ? cli_reindex(s) : 0;
	}
	ar_purge_result_free(&res);
	ar_retention_free(&rt);
	ar_store_close(s);
	return rc;
}
