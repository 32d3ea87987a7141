/* synflood: a bounded TCP SYN flood for the lab (docs/lab.md, tools/bench flood).
 *
 * Bare SYNs from random sources in documentation prefixes (RFC 5737) to one documentation
 * address and port, written to an interface through an AF_PACKET socket in sendmmsg
 * batches: random source ports, ISNs and IP ids, an MSS option like a real client's SYN.
 * The rate and the duration are capped by the program itself, and it refuses addresses
 * outside 192.0.2.0/24, 198.51.100.0/24 and 203.0.113.0/24. At the end it prints what it
 * achieved:
 *
 *   synflood: sent N SYNs in T s: R SYN/s (target P SYN/s), E send errors
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PPS 1000000
#define MAX_SECONDS 600
#define MAX_SOURCES 8
#define MAX_BATCH 256
#define FRAME_LEN (14 + 20 + 24) /* Ethernet, IPv4, TCP with the MSS option */

struct prefix {
	uint32_t base, hostmask; /* host byte order */
};

struct opts {
	const char *iface;
	uint8_t dst_mac[6], src_mac[6];
	uint32_t dst;
	uint16_t dport;
	struct prefix src[MAX_SOURCES];
	int nsrc;
	long pps;
	double seconds;
	uint64_t seed;
	int batch;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(void)
{
	fprintf(stderr,
	        "usage: synflood --iface IF --dst-mac MAC --dst ADDR [--dport PORT]\n"
	        "                --src PREFIX/LEN [--src ...] --pps N --seconds S\n"
	        "                [--src-mac MAC] [--seed N] [--batch N]\n"
	        "Addresses only in 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24; at most %d SYN/s\n"
	        "for at most %d s.\n", MAX_PPS, MAX_SECONDS);
	exit(2);
}

static void die(const char *what)
{
	fprintf(stderr, "synflood: %s\n", what);
	exit(2);
}

/* One of the RFC 5737 documentation networks. */
static bool documentation(uint32_t a)
{
	uint32_t net = a & 0xffffff00u;
	return net == 0xc0000200u || net == 0xc6336400u || net == 0xcb007100u;
}

static bool parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return false;
	for (int i = 0; i < 6; i++) {
		if (v[i] > 255)
			return false;
		mac[i] = (uint8_t)v[i];
	}
	return true;
}

static bool parse_prefix(const char *s, struct prefix *p)
{
	char addr[32];
	const char *slash = strchr(s, '/');
	if (!slash || (size_t)(slash - s) >= sizeof addr)
		return false;
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = 0;
	char *end;
	long len = strtol(slash + 1, &end, 10);
	struct in_addr in;
	if (*end || len < 24 || len > 32 || inet_pton(AF_INET, addr, &in) != 1)
		return false;
	p->hostmask = len == 32 ? 0 : (1u << (32 - len)) - 1;
	p->base = ntohl(in.s_addr) & ~p->hostmask;
	return documentation(p->base);
}

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option longs[] = {
		{"iface", 1, 0, 'i'}, {"dst-mac", 1, 0, 'm'}, {"dst", 1, 0, 'd'},
		{"dport", 1, 0, 'p'}, {"src", 1, 0, 's'}, {"pps", 1, 0, 'r'},
		{"seconds", 1, 0, 't'}, {"src-mac", 1, 0, 'M'}, {"seed", 1, 0, 'S'},
		{"batch", 1, 0, 'b'}, {0, 0, 0, 0}};
	static const uint8_t default_src_mac[6] = {0x02, 0x00, 0x5e, 0x00, 0x53, 0xf1};
	memset(o, 0, sizeof *o);
	memcpy(o->src_mac, default_src_mac, 6);
	o->dport = 25;
	o->seed = (uint64_t)time(NULL);
	o->batch = 64;
	bool have_mac = false;
	struct in_addr in;
	int c;
	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (c) {
		case 'i': o->iface = optarg; break;
		case 'm': if (!(have_mac = parse_mac(optarg, o->dst_mac))) die("--dst-mac: not a MAC address"); break;
		case 'M': if (!parse_mac(optarg, o->src_mac)) die("--src-mac: not a MAC address"); break;
		case 'd':
			if (inet_pton(AF_INET, optarg, &in) != 1 || !documentation(ntohl(in.s_addr)))
				die("--dst: an IPv4 address in a documentation network (RFC 5737)");
			o->dst = ntohl(in.s_addr);
			break;
		case 'p': o->dport = (uint16_t)atoi(optarg); break;
		case 's':
			if (o->nsrc == MAX_SOURCES || !parse_prefix(optarg, &o->src[o->nsrc++]))
				die("--src: a /24 or longer prefix inside a documentation network (RFC 5737)");
			break;
		case 'r': o->pps = atol(optarg); break;
		case 't': o->seconds = atof(optarg); break;
		case 'S': o->seed = strtoull(optarg, NULL, 0); break;
		case 'b': o->batch = atoi(optarg); break;
		default: usage();
		}
	}
	if (!o->iface || !have_mac || !o->dst || !o->nsrc || optind != argc)
		usage();
	if (o->pps < 1 || o->pps > MAX_PPS)
		die("--pps: 1 to 1000000");
	if (!(o->seconds > 0) || o->seconds > MAX_SECONDS)
		die("--seconds: more than 0, at most 600");
	if (o->batch < 1 || o->batch > MAX_BATCH)
		die("--batch: 1 to 256");
	if (!o->dport)
		die("--dport: 1 to 65535");
}

/* xorshift64*: fast, and good enough for ports and sequence numbers. */
static uint64_t rnd_state;
static uint32_t rnd(void)
{
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return (uint32_t)((rnd_state * 0x2545F4914F6CDD1Dull) >> 32);
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)(p[n - 1] << 8);
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* One SYN from a random source of the prefixes. */
static void build_syn(const struct opts *o, uint8_t *f)
{
	const struct prefix *p = &o->src[rnd() % (uint32_t)o->nsrc];
	uint32_t src = p->base | (rnd() & p->hostmask);
	memcpy(f, o->dst_mac, 6);
	memcpy(f + 6, o->src_mac, 6);
	put16(f + 12, ETHERTYPE_IP);
	uint8_t *ip = f + 14, *tcp = ip + 20;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	put16(ip + 2, 20 + 24);
	put16(ip + 4, (uint16_t)rnd());
	put16(ip + 6, 0x4000); /* DF */
	ip[8] = 64;
	ip[9] = IPPROTO_TCP;
	put32(ip + 12, src);
	put32(ip + 16, o->dst);
	put16(ip + 10, fold(sum16(ip, 20, 0)));
	memset(tcp, 0, 24);
	put16(tcp, (uint16_t)(1024 + rnd() % 64512));
	put16(tcp + 2, o->dport);
	put32(tcp + 4, rnd());
	tcp[12] = 6 << 4; /* 24-byte header */
	tcp[13] = 0x02;   /* SYN */
	put16(tcp + 14, 64240);
	tcp[20] = 2; /* MSS 1460 */
	tcp[21] = 4;
	put16(tcp + 22, 1460);
	uint8_t pseudo[12];
	memcpy(pseudo, ip + 12, 8);
	pseudo[8] = 0;
	pseudo[9] = IPPROTO_TCP;
	put16(pseudo + 10, 24);
	put16(tcp + 16, fold(sum16(tcp, 24, sum16(pseudo, 12, 0))));
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void sleep_until(double t)
{
	struct timespec ts = {(time_t)t, (long)((t - (double)(time_t)t) * 1e9)};
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR && !stop)
		;
}

int main(int argc, char **argv)
{
	struct opts o;
	parse(argc, argv, &o);
	rnd_state = o.seed ? o.seed : 1;

	int fd = socket(AF_PACKET, SOCK_RAW, 0); /* protocol 0: send only */
	if (fd < 0) {
		perror("synflood: socket(AF_PACKET)");
		return 1;
	}
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_ifindex = (int)if_nametoindex(o.iface)};
	if (!sll.sll_ifindex || bind(fd, (struct sockaddr *)&sll, sizeof sll) != 0) {
		fprintf(stderr, "synflood: %s: %s\n", o.iface, strerror(errno));
		return 1;
	}
	int one = 1;
	setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one); /* best effort */

	static uint8_t frames[MAX_BATCH][FRAME_LEN];
	static struct iovec iov[MAX_BATCH];
	static struct mmsghdr msgs[MAX_BATCH];
	for (int i = 0; i < o.batch; i++) {
		iov[i] = (struct iovec){frames[i], FRAME_LEN};
		msgs[i].msg_hdr = (struct msghdr){.msg_iov = &iov[i], .msg_iovlen = 1};
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	uint64_t sent = 0, errors = 0;
	double start = now(), end = start + o.seconds;
	int pending = 0, first = 0; /* frames built and not yet sent: [first, first + pending) */
	while (!stop) {
		double t = start + (double)sent / (double)o.pps; /* when the next SYN is due */
		if (t >= end)
			break;
		if (t > now())
			sleep_until(t);
		if (!pending) {
			first = 0;
			pending = o.batch;
			uint64_t left = (uint64_t)(o.pps * o.seconds) - sent;
			if ((uint64_t)pending > left)
				pending = (int)left;
			if (!pending)
				break;
			for (int i = 0; i < pending; i++)
				build_syn(&o, frames[i]);
		}
		int n = sendmmsg(fd, msgs + first, (unsigned)pending, 0);
		if (n < 0) {
			if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR) {
				perror("synflood: sendmmsg");
				break;
			}
			errors++;
			sleep_until(now() + 0.0002); /* the interface queue is full: let it drain */
			continue;
		}
		sent += (uint64_t)n;
		first += n;
		pending -= n;
	}
	double took = now() - start;
	printf("synflood: sent %llu SYNs in %.2f s: %.0f SYN/s (target %ld SYN/s), %llu send errors\n",
	       (unsigned long long)sent, took, took > 0 ? (double)sent / took : 0.0, o.pps,
	       (unsigned long long)errors);
	close(fd);
	return 0;
}
