/* Micro-benchmarks of the building blocks for the multi-process server
 * (`make bench-modules`; figures go to docs/performance.md by hand):
 *   ring    1,280-byte packets from one process to another through a
 *           shared-memory ring (src/common/ring.c): CPU per packet on each
 *           side, wake-ups;
 *   record  sealing and opening one record with the taken-over record layer
 *           (src/tls/record.c), TLS 1.3 AES-128-GCM and TLS 1.2 NULL-SHA256,
 *           1,280 and 16,384 bytes, with the EVP contexts kept (busy) and
 *           made afresh each time (idle between records).
 * Bounded: a fixed count each, a few seconds in all. */
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/ring.h"
#include "tls/record.h"

static double cpu_us(void)
{
	struct rusage r;

	getrusage(RUSAGE_SELF, &r);
	return (double)(r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1e6 + (double)(r.ru_utime.tv_usec + r.ru_stime.tv_usec);
}

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static void count(void *arg, const uint8_t *p, size_t n, uint32_t tag)
{
	(*(long *)arg)++;
}

/* The consumer: pops until n packets came (or 30 s); its CPU per packet
 * into *out. */
static void consume(struct ring *r, long n, double *out)
{
	long got = 0;
	double end = now_us() + 30e6, c0 = cpu_us();

	while (got < n && now_us() < end) {
		if (ring_pop(r, 64, count, &got))
			continue;
		if (ring_sleep(r)) {
			struct pollfd p = { ring_fd(r), POLLIN, 0 };
			poll(&p, 1, 100);       /* a worker's epoll_wait */
			ring_woken(r);
		}
	}
	*out = (cpu_us() - c0) / (double)(got ? got : 1);
	_exit(0);
}

static void bench_ring(void)
{
	enum { N = 1000000, PKT = 1280 };
	char err[ERRLEN];
	struct ring *r = ring_create(1024, PKT, err);
	double *rx = mmap(NULL, sizeof(double), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	uint8_t pkt[PKT] = { 0x60 };
	struct ring_stats st;
	double c0, t0, t1;
	pid_t pid;

	if (!r) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	pid = fork();
	if (pid == 0)
		consume(r, N, rx);
	c0 = cpu_us();
	t0 = now_us();
	for (long i = 0; i < N;) {
		if (ring_push(r, pkt, PKT, 0) == RING_OK)
			i++;
		else
			sched_yield();
		if ((i & 31) == 0)
			ring_kick(r);
	}
	ring_kick(r);
	t1 = now_us();
	waitpid(pid, NULL, 0);
	ring_stats(r, &st);
	printf("ring     %d packets of %d B: producer %.3f us CPU/packet (full-ring retries included), "
	       "consumer %.3f us CPU/packet, %.2f Mpackets/s, %llu wake-ups\n", N, PKT, (cpu_us() - c0) / N, *rx,
	       N / (t1 - t0), (unsigned long long)st.wakeups);
	ring_destroy(r);
}

/* Seal and open n records of len bytes; microseconds per record each. */
static void bench_record(const char *what, struct rec *c, struct rec *s, size_t len, int fresh)
{
	enum { N = 20000 };
	static uint8_t plain[16384], wire[16384 + 512];
	struct iovec v = { plain, len };
	struct rec_span sp;
	double t_seal = 0, t_open = 0, t;
	size_t used;

	for (int i = 0; i < N; i++) {
		t = now_us();
		ssize_t n = rec_seal(c, &v, 1, 0, wire, sizeof(wire));
		t_seal += now_us() - t;
		t = now_us();
		if (n < 0 || rec_open(s, wire, (size_t)n, &used, &sp) != REC_DATA || sp.n != len) {
			fprintf(stderr, "record bench: round trip failed\n");
			exit(1);
		}
		t_open += now_us() - t;
		if (fresh) {
			rec_idle(c);
			rec_idle(s);
		}
	}
	printf("record   %-24s %5zu B, %s contexts: seal %.2f us, open %.2f us per record\n", what, len,
	       fresh ? "fresh " : "cached", t_seal / N, t_open / N);
}

static void bench_records(void)
{
	uint8_t secret[48], master[48], cr[32], sr[32];
	char err[ERRLEN];
	struct rec c, s;

	memset(secret, 7, sizeof(secret));
	memset(master, 1, sizeof(master));
	memset(cr, 2, sizeof(cr));
	memset(sr, 3, sizeof(sr));
	for (int suite = 0; suite < 2; suite++)
		for (int fresh = 0; fresh < 2; fresh++)
			for (size_t len = 1280; len <= 16384; len = len == 1280 ? 16384 : 99999) {
				if (suite == 0 && (rec_init_tls13(&c, REC_CLIENT, 0x1301, secret, secret, 32, err) < 0 ||
						   rec_init_tls13(&s, REC_SERVER, 0x1301, secret, secret, 32, err) < 0))
					goto fail;
				if (suite == 1 && (rec_init_tls12(&c, REC_CLIENT, 0x003B, 0x0303, master, cr, sr, "SHA256", err) < 0 ||
						   rec_init_tls12(&s, REC_SERVER, 0x003B, 0x0303, master, cr, sr, "SHA256", err) < 0))
					goto fail;
				bench_record(suite ? "TLS 1.2 NULL-SHA256" : "TLS 1.3 AES-128-GCM", &c, &s, len, fresh);
				rec_free(&c);
				rec_free(&s);
			}
	printf("record   an idle taken-over connection holds struct rec: %zu bytes (no heap; see test_record)\n",
	       sizeof(struct rec));
	return;
fail:
	fprintf(stderr, "%s\n", err);
	exit(1);
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "ring"))
		bench_ring();
	if (argc < 2 || !strcmp(argv[1], "record"))
		bench_records();
	return 0;
}
