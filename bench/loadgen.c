/* loadgen: many idle IP-HTTPS clients at once, for the idle-memory line of
 * bench/bench.sh (never run by make check).
 *
 * P processes (the descriptor limit of 20,000 binds a generator as it binds
 * the server) open N connections in all, from K source addresses per
 * process (IP_BIND_ADDRESS_NO_PORT: each address has its own ephemeral
 * ports).  Each connection is a real client: TCP, a full TLS handshake
 * with the server's certificate checked against --ca (and the client
 * certificate when given), the POST with the endless Content-Length, the
 * answer's header, which must be 200.  Then it is held: what the server
 * sends (its Router Advertisements) is read and dropped, a close counts.
 *
 * Bounded: at most LG_MAX_COUNT connections and LG_MAX_PROCS processes, at
 * most --concurrency handshakes in flight per process, setup within
 * --setup-timeout, the hold within --max-hold.
 *
 * Protocol with the caller, on stdout:
 *   READY <held> <failed> <setup seconds>   once every connection is set up
 *                                           or failed (or the setup time ran out)
 *   {json}                                  at the end
 * The hold ends at EOF or a line on stdin (after --min-hold seconds) or
 * after --max-hold seconds.  Progress goes to stderr every 5 s.
 *
 * Error convention: setup failures exit 2 with a message; connection
 * failures are counted by reason, never fatal. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LG_MAX_COUNT 60000
#define LG_MAX_PROCS 16
#define LG_MAX_SRC   64

enum fail_reason { F_CONNECT, F_TLS, F_HTTP, F_LOCAL, F__COUNT };
static const char *const fail_names[F__COUNT] = { "connect", "tls", "http", "local" };

static struct {
	long count;
	int procs, conc, src_count, setup_timeout, min_hold, max_hold;
	const char *connect, *servername, *ca, *cert, *key, *src;
	struct sockaddr_in dst;
	uint32_t src_base;              /* host order; 0: the kernel's choice */
} o = { .count = 1, .procs = 1, .conc = 16, .src_count = 1, .setup_timeout = 300, .min_hold = 0,
	.max_hold = 600, .servername = "iphttps.test" };

/* Per process, shared with the parent. */
struct pstat {
	volatile long started, held, dropped, inflight, failed[F__COUNT];
	volatile long rss_kib;
	volatile int setup_done;
};
static struct pstat *ps;
static volatile int *stop_flag;
static int me;

enum conn_state { C_CONNECT, C_TLS, C_REQUEST, C_RESPONSE, C_HELD };
struct conn {
	int fd;
	enum conn_state state;
	SSL *ssl;
	size_t got;
	char head[512];
};

static const char request_fmt[] =
	"POST /IPHTTPS HTTP/1.1\r\nHost: %s\r\nContent-Length: 18446744073709551615\r\n\r\n";
static char request[256];
static int request_len;

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("loadgen: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static long rss_kib(void)
{
	char line[128];
	long v = 0;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			v = atol(line + 6);
	if (f)
		fclose(f);
	return v;
}

static SSL_CTX *client_ctx(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    SSL_CTX_load_verify_locations(ctx, o.ca, NULL) != 1)
		die("the CA %s: %s", o.ca, ERR_reason_error_string(ERR_get_error()));
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);  /* a full handshake each */
	if (o.cert && (SSL_CTX_use_certificate_chain_file(ctx, o.cert) != 1 ||
		       SSL_CTX_use_PrivateKey_file(ctx, o.key, SSL_FILETYPE_PEM) != 1))
		die("the client certificate %s or key %s: %s", o.cert, o.key,
		    ERR_reason_error_string(ERR_get_error()));
	return ctx;
}

static int ep;

static void conn_end(struct conn *c, int reason)
{
	if (reason >= 0)
		ps[me].failed[reason]++;
	if (c->state != C_HELD)
		ps[me].inflight--;
	else
		ps[me].dropped++;
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	SSL_free(c->ssl);
	close(c->fd);
	free(c);
}

static void want(struct conn *c, uint32_t events)
{
	struct epoll_event e = { .events = events, .data.ptr = c };

	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
}

/* Source address of the n-th connection of this process (0: any). */
static uint32_t source_of(long n)
{
	return o.src_base ? o.src_base + (uint32_t)(me * o.src_count + (int)(n % o.src_count)) : 0;
}

static void start_one(SSL_CTX *ctx)
{
	struct sockaddr_in src = { .sin_family = AF_INET };
	struct conn *c = calloc(1, sizeof(*c));
	struct epoll_event e = { .events = EPOLLOUT };
	int one = 1;

	ps[me].started++;
	if (!c || (c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		ps[me].failed[F_LOCAL]++;
		free(c);
		return;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((src.sin_addr.s_addr = htonl(source_of(ps[me].started)))) {
		setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		if (bind(c->fd, (struct sockaddr *)&src, sizeof(src)) < 0)
			die("bind to source %s: %s", inet_ntoa(src.sin_addr), strerror(errno));
	}
	ps[me].inflight++;
	c->ssl = SSL_new(ctx);
	e.data.ptr = c;
	if (!c->ssl || !SSL_set_fd(c->ssl, c->fd) || !SSL_set_tlsext_host_name(c->ssl, o.servername) ||
	    !SSL_set1_host(c->ssl, o.servername) ||
	    (connect(c->fd, (struct sockaddr *)&o.dst, sizeof(o.dst)) < 0 && errno != EINPROGRESS) ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e) < 0) {
		conn_end(c, F_CONNECT);
		return;
	}
	SSL_set_connect_state(c->ssl);
}

/* TLS and HTTP steps; 0 to wait, -1 when the connection ended. */
static int step_tls(struct conn *c)
{
	int r = SSL_connect(c->ssl), e;

	if (r == 1) {
		c->state = C_REQUEST;
		return 1;
	}
	e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		want(c, e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLIN | EPOLLOUT);
		return 0;
	}
	ERR_clear_error();
	conn_end(c, F_TLS);
	return -1;
}

static int step_response(struct conn *c)
{
	char *end;
	int n = SSL_read(c->ssl, c->head + c->got, (int)(sizeof(c->head) - 1 - c->got)), e;

	if (n > 0) {
		c->got += (size_t)n;
		c->head[c->got] = 0;
		if (!(end = strstr(c->head, "\r\n\r\n")))
			return c->got < sizeof(c->head) - 1 ? 1 : (conn_end(c, F_HTTP), -1);
		if (strncmp(c->head, "HTTP/1.1 200", 12)) {
			conn_end(c, F_HTTP);
			return -1;
		}
		c->state = C_HELD;
		ps[me].inflight--;
		ps[me].held++;
		return 1;
	}
	e = SSL_get_error(c->ssl, n);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return 0;
	ERR_clear_error();
	conn_end(c, F_HTTP);
	return -1;
}

/* Held: whatever comes is read and dropped; an end is counted. */
static void step_held(struct conn *c)
{
	static char sink[16384];

	for (;;) {
		int n = SSL_read(c->ssl, sink, sizeof(sink)), e;
		if (n > 0)
			continue;
		e = SSL_get_error(c->ssl, n);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			return;
		ERR_clear_error();
		conn_end(c, -1);        /* counted as dropped */
		return;
	}
}

static void on_event(struct conn *c)
{
	int err = 0, r = 1;
	socklen_t l = sizeof(err);

	if (c->state == C_CONNECT) {
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0 || err) {
			conn_end(c, F_CONNECT);
			return;
		}
		c->state = C_TLS;
	}
	if (c->state == C_TLS && (r = step_tls(c)) <= 0)
		return;
	if (c->state == C_REQUEST) {
		if (SSL_write(c->ssl, request, request_len) != request_len) {
			ERR_clear_error();
			conn_end(c, F_HTTP);
			return;
		}
		c->state = C_RESPONSE;
		want(c, EPOLLIN);
	}
	while (c->state == C_RESPONSE && (r = step_response(c)) > 0)
		;
	if (r >= 0 && c->state == C_HELD)
		step_held(c);
}

static long target_of(int i)
{
	return o.count / o.procs + (i < o.count % o.procs);
}

static void child(int i)
{
	struct epoll_event evs[256];
	double t0 = now_s(), next_rss = 0;
	SSL_CTX *ctx;
	long target;

	me = i;
	target = target_of(i);
	ctx = client_ctx();
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll: %s", strerror(errno));
	while (!*stop_flag && now_s() - t0 < o.setup_timeout + o.max_hold + 60) {
		while (ps[me].started < target && ps[me].inflight < o.conc && now_s() - t0 < o.setup_timeout)
			start_one(ctx);
		if (!ps[me].setup_done && ((ps[me].started >= target && !ps[me].inflight) ||
					   now_s() - t0 >= o.setup_timeout))
			ps[me].setup_done = 1;
		int n = epoll_wait(ep, evs, 256, 100);
		for (int k = 0; k < n; k++)
			on_event(evs[k].data.ptr);
		if (now_s() >= next_rss) {
			ps[me].rss_kib = rss_kib();
			next_rss = now_s() + 1;
		}
	}
	ps[me].rss_kib = rss_kib();
	_exit(0);
}

static long sum(size_t off)
{
	long t = 0;

	for (int i = 0; i < o.procs; i++)
		t += *(volatile long *)((char *)&ps[i] + off);
	return t;
}
#define SUM(f) sum(offsetof(struct pstat, f))

static long failed_total(void)
{
	long t = 0;

	for (int r = 0; r < F__COUNT; r++)
		t += sum(offsetof(struct pstat, failed) + (size_t)r * sizeof(long));
	return t;
}

static int all_set_up(void)
{
	for (int i = 0; i < o.procs; i++)
		if (!ps[i].setup_done)
			return 0;
	return 1;
}

static void progress(double t)
{
	fprintf(stderr, "loadgen t=%.0fs held=%ld inflight=%ld failed=%ld dropped=%ld rss=%ldMiB\n", t, SUM(held),
		SUM(inflight), failed_total(), SUM(dropped), SUM(rss_kib) / 1024);
}

/* The hold: until EOF or a line on stdin after min_hold, or max_hold. */
static void hold(void)
{
	double t0 = now_s(), last = t0;
	int open_in = 1;
	char buf[256];

	while (now_s() - t0 < o.max_hold) {
		struct pollfd p = { .fd = 0, .events = POLLIN };
		if (open_in && poll(&p, 1, 200) == 1) {
			ssize_t n = read(0, buf, sizeof(buf));
			if (n <= 0 || memchr(buf, '\n', (size_t)n))
				open_in = 0;
		} else if (!open_in) {
			usleep(200000);
		}
		if (!open_in && now_s() - t0 >= o.min_hold)
			break;
		if (now_s() - last >= 5) {
			progress(now_s() - t0);
			last = now_s();
		}
	}
}

static void parse_dst(const char *text)
{
	char host[64], *colon;

	snprintf(host, sizeof(host), "%s", text);
	if (!(colon = strrchr(host, ':')))
		die("--connect %s: IPv4:PORT", text);
	*colon = 0;
	o.dst.sin_family = AF_INET;
	o.dst.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &o.dst.sin_addr) != 1 || !o.dst.sin_port)
		die("--connect %s: IPv4:PORT", text);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: loadgen --connect IPV4:PORT --ca FILE [--cert FILE --key FILE] [--servername NAME]\n"
		   "               [--count N] [--procs P] [--src IPV4 --src-count K] [--concurrency C]\n"
		   "               [--setup-timeout S] [--min-hold S] [--max-hold S]\n"
		   "Hold N idle IP-HTTPS connections (bench only): see the comment of bench/loadgen.c.\n");
}

static long num_opt(const char *name, const char *v, long lo, long hi)
{
	char *end;
	long n = strtol(v, &end, 10);

	if (*end || n < lo || n > hi)
		die("--%s %s: a number from %ld to %ld", name, v, lo, hi);
	return n;
}

static void parse(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "connect", 1, 0, 'd' }, { "servername", 1, 0, 'n' }, { "ca", 1, 0, 'a' }, { "cert", 1, 0, 'c' },
		{ "key", 1, 0, 'k' }, { "count", 1, 0, 'N' }, { "procs", 1, 0, 'P' }, { "src", 1, 0, 's' },
		{ "src-count", 1, 0, 'K' }, { "concurrency", 1, 0, 'C' }, { "setup-timeout", 1, 0, 'T' },
		{ "min-hold", 1, 0, 'm' }, { "max-hold", 1, 0, 'M' }, { "help", 0, 0, 'h' }, { 0, 0, 0, 0 }
	};
	struct in_addr a;
	int ch;

	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (ch) {
		case 'd': o.connect = optarg; break;
		case 'n': o.servername = optarg; break;
		case 'a': o.ca = optarg; break;
		case 'c': o.cert = optarg; break;
		case 'k': o.key = optarg; break;
		case 'N': o.count = num_opt("count", optarg, 1, LG_MAX_COUNT); break;
		case 'P': o.procs = (int)num_opt("procs", optarg, 1, LG_MAX_PROCS); break;
		case 's': o.src = optarg; break;
		case 'K': o.src_count = (int)num_opt("src-count", optarg, 1, LG_MAX_SRC); break;
		case 'C': o.conc = (int)num_opt("concurrency", optarg, 1, 1000); break;
		case 'T': o.setup_timeout = (int)num_opt("setup-timeout", optarg, 1, 3600); break;
		case 'm': o.min_hold = (int)num_opt("min-hold", optarg, 0, 3600); break;
		case 'M': o.max_hold = (int)num_opt("max-hold", optarg, 1, 3600); break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind < argc || !o.connect || !o.ca || !o.cert != !o.key) {
		usage(stderr);
		exit(2);
	}
	parse_dst(o.connect);
	if (o.src && inet_pton(AF_INET, o.src, &a) != 1)
		die("--src %s: an IPv4 address", o.src);
	o.src_base = o.src ? ntohl(a.s_addr) : 0;
	request_len = snprintf(request, sizeof(request), request_fmt, o.servername);
}

/* The limit of open files to its hard maximum (20,000 here): each process
 * holds count / procs connections. */
static void raise_nofile(void)
{
	struct rlimit rl;

	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if ((rlim_t)target_of(0) + 64 > rl.rlim_cur)
		die("%ld connections a process with %llu descriptors: give more --procs", target_of(0),
		    (unsigned long long)rl.rlim_cur);
}

static void report(double setup_s, long held_ready)
{
	printf("{\"count\": %ld, \"procs\": %d, \"sources\": %d, \"held\": %ld, \"setup_seconds\": %.2f, "
	       "\"held_at_end\": %ld, \"dropped\": %ld, \"generator_rss_kib\": %ld, \"failed\": {",
	       o.count, o.procs, o.src_base ? o.procs * o.src_count : 1, held_ready, setup_s, SUM(held) - SUM(dropped),
	       SUM(dropped), SUM(rss_kib));
	for (int r = 0; r < F__COUNT; r++)
		printf("%s\"%s\": %ld", r ? ", " : "", fail_names[r],
		       sum(offsetof(struct pstat, failed) + (size_t)r * sizeof(long)));
	printf("}}\n");
}

int main(int argc, char **argv)
{
	double t0, setup_s;
	long held_ready;
	int status;

	parse(argc, argv);
	raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	ps = mmap(NULL, sizeof(*ps) * LG_MAX_PROCS + sizeof(int), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		  -1, 0);
	if (ps == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	stop_flag = (volatile int *)(ps + LG_MAX_PROCS);
	t0 = now_s();
	for (int i = 0; i < o.procs; i++) {
		pid_t p = fork();
		if (p < 0)
			die("fork: %s", strerror(errno));
		if (p == 0)
			child(i);
	}
	for (double last = t0; !all_set_up(); usleep(100000))
		if (now_s() - last >= 5) {
			progress(now_s() - t0);
			last = now_s();
		}
	setup_s = now_s() - t0;
	held_ready = SUM(held);
	printf("READY %ld %ld %.2f\n", held_ready, failed_total(), setup_s);
	fflush(stdout);
	hold();
	*stop_flag = 1;
	while (wait(&status) > 0)
		;
	report(setup_s, held_ready);
	return 0;
}
