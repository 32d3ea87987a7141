/* sluice-control's health check of a pool host (daemon/health.c) against small SMTP
 * servers on the loopback, one script each: a good host, a host that greets 421, one
 * that refuses EHLO, one that never greets, one that greets in several lines, one that
 * closes after the greeting; and a port nobody listens on. Also the [pool] section of
 * control.conf. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "cunit_run.h"
#include "health.h"

struct server {
	int lfd;
	uint16_t port;
	const char *greeting, *ehlo_reply; /* NULL greeting: say nothing; NULL ehlo: close */
	pthread_t th;
};

static void *serve(void *arg)
{
	struct server *s = arg;
	int fd = accept(s->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	char buf[512];
	if (!s->greeting) {
		sleep(2); /* longer than the check's timeout */
	} else if (write(fd, s->greeting, strlen(s->greeting)) > 0 && s->ehlo_reply &&
	           read(fd, buf, sizeof buf) > 0 && strncmp(buf, "EHLO ", 5) == 0 &&
	           write(fd, s->ehlo_reply, strlen(s->ehlo_reply)) > 0 && read(fd, buf, sizeof buf) > 0 &&
	           strncmp(buf, "QUIT", 4) == 0) {
		if (write(fd, "221 bye\r\n", 9) < 0)
			perror("write");
	}
	close(fd);
	return NULL;
}

static void start(struct server *s, const char *greeting, const char *ehlo_reply)
{
	s->greeting = greeting;
	s->ehlo_reply = ehlo_reply;
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	CU_ASSERT_FATAL(s->lfd >= 0 && bind(s->lfd, (struct sockaddr *)&a, sizeof a) == 0 && listen(s->lfd, 1) == 0 &&
	                getsockname(s->lfd, (struct sockaddr *)&a, &len) == 0);
	s->port = ntohs(a.sin_port);
	CU_ASSERT_FATAL(pthread_create(&s->th, NULL, serve, s) == 0);
}

static void stop(struct server *s)
{
	pthread_join(s->th, NULL);
	close(s->lfd);
}

/* The check against a server with this script: its result, and its message in err. */
static int check(const char *greeting, const char *ehlo_reply, char *err, size_t errlen)
{
	struct server s;
	start(&s, greeting, ehlo_reply);
	int rc = health_check_smtp("127.0.0.1", s.port, 500, err, errlen);
	stop(&s);
	return rc;
}

static void test_checks(void)
{
	char err[256];
	CU_ASSERT_EQUAL(check("220 mx1.example.net ESMTP\r\n", "250-mx1\r\n250-PIPELINING\r\n250 8BITMIME\r\n", err,
	                      sizeof err), 0);
	CU_ASSERT_EQUAL(check("220-mx1.example.net ESMTP\r\n220-more\r\n220 ready\r\n", "250 mx1\r\n", err, sizeof err),
	                0);
	CU_ASSERT_EQUAL(check("421 4.3.2 Service not available\r\n", "250 mx1\r\n", err, sizeof err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "greeting: 421"));
	CU_ASSERT_EQUAL(check("220 mx1\r\n", "554 5.7.1 go away\r\n", err, sizeof err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "EHLO: 554"));
	CU_ASSERT_EQUAL(check("220 mx1\r\n", NULL, err, sizeof err), -1); /* closes after the greeting */
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "EHLO"));
	CU_ASSERT_EQUAL(check("HTTP/1.1 400 Bad Request\r\n", "250 x\r\n", err, sizeof err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not an SMTP reply"));
	/* a server that never greets: the check gives up at its timeout */
	struct server srv;
	start(&srv, NULL, NULL);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CU_ASSERT_EQUAL(health_check_smtp("127.0.0.1", srv.port, 500, err, sizeof err), -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	stop(&srv);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "greeting: no reply in time"));
	CU_ASSERT(s >= 0.45 && s < 1.5); /* at its timeout (500 ms), not at the server's 2 s */
}

static void test_refused_and_bad_address(void)
{
	char err[256];
	struct server s;
	start(&s, "220 x\r\n", "250 x\r\n");
	uint16_t port = s.port;
	/* let the server end, then its port is closed */
	CU_ASSERT_EQUAL(health_check_smtp("127.0.0.1", port, 500, err, sizeof err), 0);
	stop(&s);
	CU_ASSERT_EQUAL(health_check_smtp("127.0.0.1", port, 500, err, sizeof err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "connect: Connection refused"));
	CU_ASSERT_EQUAL(health_check_smtp("mx1.example.net", 25, 500, err, sizeof err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not an address"));
}

static void test_pool_section(void)
{
	struct ctl_config c;
	char err[300];
	CU_ASSERT_EQUAL(ctl_config_parse(&c, "t.conf", "[control]\nstate = /tmp/x\n", err, sizeof err), 0);
	CU_ASSERT_FALSE(c.pool_checks);
	CU_ASSERT_EQUAL(c.pool_interval_ms, 2000);
	CU_ASSERT_EQUAL(c.pool_rise, 2);
	CU_ASSERT_EQUAL(ctl_config_parse(&c, "t.conf", "[pool]\ninterval = 500ms\ntimeout = 1s\nrise = 3\nfall = 1\n", err,
	                                 sizeof err), 0);
	CU_ASSERT_TRUE(c.pool_checks);
	CU_ASSERT_EQUAL(c.pool_interval_ms, 500);
	CU_ASSERT_EQUAL(c.pool_timeout_ms, 1000);
	CU_ASSERT_EQUAL(c.pool_rise, 3);
	CU_ASSERT_EQUAL(c.pool_fall, 1);
	CU_ASSERT_EQUAL(ctl_config_parse(&c, "t.conf", "[pool]\nrise = 0\n", err, sizeof err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "t.conf:2: rise: expected a number from 1 to 100"));
	CU_ASSERT_EQUAL(ctl_config_parse(&c, "t.conf", "[pool]\nhosts = a\n", err, sizeof err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "unknown key 'hosts'"));
	CU_ASSERT_EQUAL(ctl_config_parse(&c, "t.conf", "[pool x]\n", err, sizeof err), -1);
}

int main(void)
{
	static const struct cu_test tests[] = {
		{"greeting, EHLO, QUIT; refusals and silence", test_checks},
		{"a closed port, a name for an address", test_refused_and_bad_address},
		{"[pool] in control.conf", test_pool_section},
		{NULL, NULL},
	};
	return cu_run_suite("pool health checks", NULL, NULL, tests);
}
