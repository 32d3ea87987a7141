/* api: the auditor API over HTTPS (archive/api/). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "api.h"
#include "cli.h"
#include "net.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static char *read_pem(const char *path)
{
	size_t len;
	uint8_t *p = sl_read_file(path, &len);
	char *t = p ? realloc(p, len + 1) : NULL;
	if (!t) {
		free(p);
		fprintf(stderr, "sluice-archive api: cannot read %s\n", path);
		return NULL;
	}
	t[len] = '\0';
	return t;
}

int cmd_api(int argc, char **argv)
{
	const char *data = NULL, *listen = NULL, *cert = NULL, *key = NULL, *tokens = NULL;
	const char *relay = NULL;
	struct ar_smtp_tls tls = { 0 };
	for (int i = 1; i < argc; i++) {
		bool more = i + 1 < argc;
		if (!strcmp(argv[i], "--data") && more)
			data = argv[++i];
		else if (!strcmp(argv[i], "--listen") && more)
			listen = argv[++i];
		else if (!strcmp(argv[i], "--tls-cert") && more)
			cert = argv[++i];
		else if (!strcmp(argv[i], "--tls-key") && more)
			key = argv[++i];
		else if (!strcmp(argv[i], "--tokens") && more)
			tokens = argv[++i];
		else if (!strcmp(argv[i], "--relay") && more)
			relay = argv[++i];
		else if (cli_relay_tls_option(argc, argv, &i, &tls))
			continue;
		else
			data = NULL, i = argc;
	}
	if (!data || !listen || !cert || !key || !tokens || !cli_relay_tls_valid(&tls)) {
		fprintf(stderr, "usage: sluice-archive api --data DIR --listen ADDR:PORT --tls-cert F "
				"--tls-key F --tokens FILE [--relay HOST:PORT [--relay-tls-ca F "
				"[--relay-tls-name N] [--relay-tls-cert F --relay-tls-key F]]]\n");
		return 2;
	}
	char err[512];
	struct ar_api_users users;
	if (ar_api_users_load(tokens, &users, err, sizeof err) < 0) {
		fprintf(stderr, "sluice-archive api: %s\n", err);
		return 1;
	}
	char *cert_pem = read_pem(cert), *key_pem = cert_pem ? read_pem(key) : NULL;
	int fd = key_pem ? ar_listen(listen, err, sizeof err) : -1;
	if (key_pem && fd < 0)
		fprintf(stderr, "sluice-archive api: %s\n", err);
	/* beside a running server: a read-only secondary that catches up per request */
	struct ar_store *s = fd >= 0 ? cli_open(data, false, false) : NULL;
	int rc = 1;
	if (s) {
		struct sigaction sa = { .sa_handler = on_signal };
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		signal(SIGPIPE, SIG_IGN);
		struct sockaddr_storage me;
		socklen_t ml = sizeof me;
		char where[80] = "?";
		if (getsockname(fd, (struct sockaddr *)&me, &ml) == 0)
			ar_sockaddr_str((struct sockaddr *)&me, where, sizeof where);
		char detail[160];
		snprintf(detail, sizeof detail, "\"listen\":\"%s\",\"users\":%zu", where, users.n);
		if (cli_audit(s, "api-start", detail) == 0) {
			printf("listening api %s\n", where);
			fflush(stdout);
			struct ar_api_config cfg = { fd, cert_pem, key_pem, relay,
				tls.ca ? &tls : NULL };
			rc = ar_api_run(s, &users, &cfg, &stop) < 0 ? 1 : 0;
		}
	}
	ar_store_close(s);
	free(cert_pem);
	free(key_pem);
	ar_api_users_free(&users);
	return rc;
}
