/* sluice-control: the daemon that owns the policy (docs/control.md).
 *
 *   sluice-control [-c CONF]                run (the default command)
 *   sluice-control keygen [-c CONF] [--force]
 *   sluice-control check-config [-c CONF]
 *   sluice-control audit-verify [-c CONF]
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/unixsock.h"
#include "ctl.h"
#include "link.h"
#include "metrics.h"
#include "pool.h"
#include "server.h"
#include "sluice/bundlesig.h"

#define DEFAULT_CONF "/etc/sluice/control.conf"

static int wake_pipe[2] = {-1, -1};
static struct ctl *the_ctl;

static void on_signal(int sig)
{
	(void)sig;
	int e = errno;
	atomic_store(&the_ctl->stop, true);
	if (write(wake_pipe[1], "x", 1) < 0) {
		/* the pipe is full: a wake-up is already pending */
	}
	errno = e;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: sluice-control [-c CONF]                 run the daemon\n"
	           "       sluice-control keygen [-c CONF] [--force]  make the signing key pair\n"
	           "       sluice-control check-config [-c CONF]\n"
	           "       sluice-control audit-verify [-c CONF]      check the audit log's hash chain\n"
	           "CONF defaults to " DEFAULT_CONF "; see docs/control.md.\n");
}

static int keygen(const struct ctl_config *conf, bool force)
{
	char pub[CTL_PATH_MAX + 8], err[512];
	ctl_public_key_path(conf->private_key, pub, sizeof pub);
	if (!force && access(conf->private_key, F_OK) == 0) {
		fprintf(stderr, "sluice-control keygen: %s exists (--force replaces it; every dataplane then "
		        "needs the new public key)\n", conf->private_key);
		return 1;
	}
	if (sl_bundlesig_keygen(conf->private_key, pub, err, sizeof err) != 0) {
		fprintf(stderr, "sluice-control keygen: %s\n", err);
		return 1;
	}
	printf("private key %s (mode 0600)\npublic key  %s\n"
	       "give every dataplane the public key: [control] public_key = %s\n",
	       conf->private_key, pub, pub);
	return 0;
}

/* Sign one byte: the key is there, readable and Ed25519. */
static int check_key(const char *path, char *err, size_t errlen)
{
	struct sl_strbuf out;
	sl_strbuf_init(&out);
	static const uint8_t probe[1] = {0};
	int rc = sl_bundlesig_sign(probe, 1, 0, path, &out, err, errlen);
	sl_strbuf_free(&out);
	return rc;
}

static int audit_verify_cmd(const struct ctl_config *conf)
{
	char path[CTL_PATH_MAX + 32], head[65], err[600];
	uint64_t lines;
	long long torn;
	snprintf(path, sizeof path, "%s/audit.jsonl", conf->state);
	if (audit_verify(path, &lines, head, &torn, err, sizeof err)) {
		printf("%s: BROKEN: %s\n", path, err);
		return 1;
	}
	struct store s;
	if (store_open(&s, conf->state, err, sizeof err)) {
		printf("%s: %llu lines, chain intact; state.json: %s\n", path, (unsigned long long)lines, err);
		return 1;
	}
	uint64_t recorded;
	const char *rhead;
	store_audit_head(&s, &recorded, &rhead);
	int rc = 0;
	if (lines < recorded) {
		printf("%s: CUT: %llu lines, state.json recorded %llu\n", path, (unsigned long long)lines,
		       (unsigned long long)recorded);
		rc = 1;
	} else if (lines == recorded && recorded && strcmp(rhead, head) != 0) {
		printf("%s: CHANGED: the last line's hash is not the one state.json recorded\n", path);
		rc = 1;
	} else {
		printf("%s: %llu lines, chain intact%s\n", path, (unsigned long long)lines,
		       torn >= 0 ? " (a torn last line, never acknowledged, is cut at the next start)" : "");
	}
	store_close(&s);
	return rc;
}

/* The audit log as state.json last saw it: shorter means lines were cut off. */
static int check_audit_against_state(struct ctl *c, char *err, size_t errlen)
{
	uint64_t recorded;
	const char *head;
	store_audit_head(&c->store, &recorded, &head);
	if (c->audit.lines < recorded) {
		snprintf(err, errlen, "the audit log has %llu lines but state.json recorded %llu: lines were removed",
		         (unsigned long long)c->audit.lines, (unsigned long long)recorded);
		return -1;
	}
	if (c->audit.lines == recorded && recorded && strcmp(head, c->audit.head) != 0) {
		snprintf(err, errlen, "the audit log's last line is not the one state.json recorded: it was changed");
		return -1;
	}
	return 0;
}

static int run(struct ctl *c)
{
	char err[1024], path[CTL_PATH_MAX + 32];
	if (check_key(c->conf.private_key, err, sizeof err)) {
		fprintf(stderr, "sluice-control: the signing key: %s (make one with 'sluice-control keygen')\n", err);
		return 1;
	}
	if (store_open(&c->store, c->conf.state, err, sizeof err)) {
		fprintf(stderr, "sluice-control: state directory: %s\n", err);
		return 1;
	}
	snprintf(path, sizeof path, "%s/audit.jsonl", c->conf.state);
	if (audit_open(&c->audit, path, err, sizeof err) || check_audit_against_state(c, err, sizeof err)) {
		fprintf(stderr, "sluice-control: %s\n", err);
		return 1;
	}
	if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
		fprintf(stderr, "sluice-control: pipe: %s\n", strerror(errno));
		return 1;
	}
	the_ctl = c;
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	int lfd = unixsock_listen(c->conf.socket, c->conf.group, &c->group, err, sizeof err);
	if (lfd < 0) {
		fprintf(stderr, "sluice-control: %s\n", err);
		return 1;
	}
	c->links = calloc(c->conf.ndp + 1, sizeof *c->links);
	if (!c->links) {
		fprintf(stderr, "sluice-control: out of memory\n");
		return 1;
	}
	for (unsigned i = 0; i < c->conf.ndp; i++) {
		if (link_start(&c->links[i], c, &c->conf.dp[i]) != 0) {
			fprintf(stderr, "sluice-control: cannot start the link to %s\n", c->conf.dp[i].name);
			return 1;
		}
		c->nlinks++;
	}
	if (pool_load(c, err, sizeof err)) {
		fprintf(stderr, "sluice-control: %s\n", err);
		return 1;
	}
	if (pool_start(c) != 0) {
		fprintf(stderr, "sluice-control: cannot start the pool's health checks\n");
		return 1;
	}
	if (metrics_start(c, err, sizeof err)) {
		fprintf(stderr, "sluice-control: %s\n", err);
		return 1;
	}
	ctl_log("ready: %u dataplane%s, socket %s (%s), metrics %s, state %s", c->nlinks,
	        c->nlinks == 1 ? "" : "s", c->conf.socket,
	        c->group == (gid_t)-1 ? "root only" : c->conf.group,
	        c->conf.metrics_listen[0] ? c->conf.metrics_listen : "off", c->conf.state);
	server_run(c, lfd, wake_pipe[0]);
	ctl_log("stopping");
	close(lfd);
	unlink(c->conf.socket);
	metrics_stop();
	pool_stop(); /* before the links its checks use */
	pthread_mutex_lock(&c->change_lock); /* a change in progress ends first */
	for (unsigned i = 0; i < c->nlinks; i++)
		link_stop(&c->links[i]);
	audit_close(&c->audit);
	ctl_log("stopped");
	/* client threads may still be reading; the process ends here */
	return 0;
}

int main(int argc, char **argv)
{
	const char *conf_path = NULL, *cmd = "run";
	bool force = false;
	for (int i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
			conf_path = argv[++i];
		else if (strcmp(argv[i], "--force") == 0)
			force = true;
		else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return usage(stdout), 0;
		else if (argv[i][0] != '-' && strcmp(cmd, "run") == 0)
			cmd = argv[i];
		else
			return usage(stderr), 2;
	}
	static struct ctl c = {
		.change_lock = PTHREAD_MUTEX_INITIALIZER,
		.state_lock = PTHREAD_MUTEX_INITIALIZER,
		.group = (gid_t)-1,
	};
	c.started = time(NULL);
	char err[1024];
	if (!conf_path && strcmp(cmd, "keygen") == 0 && access(DEFAULT_CONF, F_OK) != 0)
		ctl_config_default(&c.conf); /* keygen before any configuration exists */
	else if (ctl_config_load(&c.conf, conf_path ? conf_path : DEFAULT_CONF, err, sizeof err)) {
		fprintf(stderr, "sluice-control: %s\n", err);
		return 1;
	}
	if (strcmp(cmd, "run") == 0)
		return run(&c);
	if (strcmp(cmd, "keygen") == 0)
		return keygen(&c.conf, force);
	if (strcmp(cmd, "audit-verify") == 0)
		return audit_verify_cmd(&c.conf);
	if (strcmp(cmd, "check-config") == 0) {
		printf("%s: ok: %u dataplane%s, state %s, socket %s\n", conf_path ? conf_path : DEFAULT_CONF,
		       c.conf.ndp, c.conf.ndp == 1 ? "" : "s", c.conf.state, c.conf.socket);
		return 0;
	}
	usage(stderr);
	return 2;
}
