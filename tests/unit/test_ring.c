/* Unit tests of the shared-memory packet rings (src/common/ring.c): order,
 * content and tags, drop-and-count when full or too big, the sleep/kick
 * protocol, a consumer in another process (fork) woken through the eventfd,
 * a corrupt shared header or slot, and a bounded stress run across fork in
 * which the producer never waits. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/ring.h"

/* ---- helpers ---- */

/* Packet number seq: its length (8 .. max) and bytes follow from seq. */
static size_t pkt_len(uint64_t seq, size_t max)
{
	return 8 + (size_t)((seq * 2654435761u) % (max - 7));
}

static void pkt_fill(uint8_t *p, uint64_t seq, size_t len)
{
	memcpy(p, &seq, 8);
	for (size_t i = 8; i < len; i++)
		p[i] = (uint8_t)(seq + i);
}

/* 1 if p is packet seq of length len. */
static int pkt_ok(const uint8_t *p, size_t len, size_t max)
{
	uint64_t seq;

	if (len < 8)
		return 0;
	memcpy(&seq, p, 8);
	if (len != pkt_len(seq, max))
		return 0;
	for (size_t i = 8; i < len; i++)
		if (p[i] != (uint8_t)(seq + i))
			return 0;
	return 1;
}

static uint64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* What a consumer saw: packets in order, their sequence numbers checked. */
struct seen {
	uint64_t n, next, bad, gaps, last_tag;
	size_t max;
	int lossless;           /* every sequence number must come, in order */
	int done;               /* set by the producer when it has sent all */
};

static void on_pkt(void *arg, const uint8_t *p, size_t len, uint32_t tag)
{
	struct seen *s = arg;
	uint64_t seq;

	if (!pkt_ok(p, len, s->max)) {
		s->bad++;
		return;
	}
	memcpy(&seq, p, 8);
	if (seq != s->next && (s->lossless || seq < s->next))
		s->bad++;
	if (seq > s->next)
		s->gaps++;
	if (tag != (uint32_t)(seq ^ 0x5a5a5a5a))
		s->bad++;
	s->next = seq + 1;
	s->n++;
	s->last_tag = tag;
}

/* ---- one process ---- */

static void test_create_errors(void **state)
{
	char err[ERRLEN];

	assert_null(ring_create(0, 2048, err));
	assert_non_null(strstr(err, "power of two"));
	assert_null(ring_create(1000, 2048, err));
	assert_null(ring_create(RING_MAX_SLOTS * 2, 2048, err));
	assert_null(ring_create(16, 4, err));
	assert_non_null(strstr(err, "slot size"));
	assert_null(ring_create(16, RING_MAX_SLOT_SIZE + 1, err));
}

static void test_order_full_and_too_big(void **state)
{
	char err[ERRLEN];
	struct ring *r = ring_create(8, 100, err);  /* rounded up to 104 */
	uint8_t buf[200];
	struct seen s = { .max = 100, .lossless = 1 };
	struct ring_stats st;
	uint64_t seq = 0;

	assert_non_null(r);
	/* Many laps around the ring: the positions wrap, the order holds. */
	for (int lap = 0; lap < 50; lap++) {
		for (int i = 0; i < 8; i++, seq++) {
			size_t len = pkt_len(seq, 100);
			pkt_fill(buf, seq, len);
			assert_int_equal(ring_push(r, buf, len, (uint32_t)(seq ^ 0x5a5a5a5a)), RING_OK);
		}
		assert_int_equal(ring_count(r), 8);
		assert_int_equal(ring_push(r, buf, 10, 0), RING_FULL);
		assert_int_equal(ring_pop(r, 3, on_pkt, &s), 3);
		assert_int_equal(ring_pop(r, 100, on_pkt, &s), 5);
		assert_int_equal(ring_pop(r, 100, on_pkt, &s), 0);
	}
	assert_int_equal(ring_push(r, buf, 105, 0), RING_TOO_BIG);
	assert_int_equal(ring_push(r, buf, 104, 0), RING_OK);   /* the rounded size fits */
	ring_stats(r, &st);
	assert_int_equal(s.n, 400);
	assert_int_equal(s.bad, 0);
	assert_int_equal(st.pushed, 401);
	assert_int_equal(st.popped, 400);
	assert_int_equal(st.drop_full, 50);
	assert_int_equal(st.drop_big, 1);
	assert_int_equal(ring_bytes(r), sizeof(struct ring_shared) + 8 * (8 + 104));
	ring_destroy(r);
}

static int readable(int fd, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };

	return poll(&p, 1, ms) == 1;
}

static void test_sleep_and_kick(void **state)
{
	char err[ERRLEN];
	struct ring *r = ring_create(4, 64, err);
	struct seen s = { .max = 64, .lossless = 1 };
	uint8_t buf[64];
	struct ring_stats st;

	assert_non_null(r);
	assert_int_equal(ring_kick(r), 0);              /* nobody sleeps */
	assert_int_equal(ring_sleep(r), 1);             /* empty: may sleep */
	assert_false(readable(ring_fd(r), 0));
	pkt_fill(buf, 0, pkt_len(0, 64));
	assert_int_equal(ring_push(r, buf, pkt_len(0, 64), 0x5a5a5a5a), RING_OK);
	assert_int_equal(ring_kick(r), 1);              /* it slept: woken */
	assert_int_equal(ring_kick(r), 0);              /* once */
	assert_true(readable(ring_fd(r), 0));
	ring_woken(r);
	assert_false(readable(ring_fd(r), 0));
	assert_int_equal(ring_sleep(r), 0);             /* a packet waits: no sleep */
	assert_int_equal(ring_kick(r), 0);              /* and the announcement was taken back */
	assert_int_equal(ring_pop(r, 10, on_pkt, &s), 1);
	ring_woken(r);                                  /* nothing to read: harmless */
	ring_stats(r, &st);
	assert_int_equal(st.wakeups, 1);
	assert_int_equal(st.sleeps, 1);
	assert_int_equal(s.bad, 0);
	ring_destroy(r);
}

struct bounds {
	const uint8_t *lo, *hi;
	size_t max, n;
};

static void in_bounds(void *arg, const uint8_t *p, size_t len, uint32_t tag)
{
	struct bounds *b = arg;

	assert_true(p >= b->lo && p + len <= b->hi && len <= b->max);
	b->n++;
}

static void test_corrupt_shared_memory(void **state)
{
	char err[ERRLEN];
	struct ring *r = ring_create(4, 64, err);
	struct bounds b;
	struct ring_stats st;
	uint8_t buf[64] = { 0 };

	assert_non_null(r);
	b = (struct bounds){ r->sh->slot, (uint8_t *)r->sh + ring_bytes(r), 64, 0 };
	for (int i = 0; i < 3; i++)
		assert_int_equal(ring_push(r, buf, 10, 0), RING_OK);
	((struct ring_slot *)r->sh->slot)->len = 0xfffffff0u;   /* slot 0 */
	r->sh->slot_size = 1u << 30;                            /* never believed */
	assert_int_equal(ring_pop(r, 10, in_bounds, &b), 2);
	ring_stats(r, &st);
	assert_int_equal(st.corrupt, 1);
	/* A tail far ahead of the head: nothing is read, the ring starts over. */
	r->sh->tail += 1000;
	assert_int_equal(ring_count(r), 0);
	assert_int_equal(ring_push(r, buf, 10, 0), RING_FULL);
	assert_int_equal(ring_pop(r, 10, in_bounds, &b), 0);
	ring_stats(r, &st);
	assert_int_equal(st.corrupt, 2);
	assert_int_equal(ring_push(r, buf, 10, 0), RING_OK);
	assert_int_equal(ring_pop(r, 10, in_bounds, &b), 1);
	assert_int_equal(b.n, 3);
	ring_destroy(r);
}

/* ---- across fork ---- */

/* The consumer's loop in a child: pops until it has `want` packets or the
 * deadline passes, sleeping on the eventfd between bursts; its findings go
 * to *out (shared).  Exits 0. */
static void consumer(struct ring *r, struct seen *out, uint64_t want, int deadline_ms)
{
	uint64_t end = now_ms() + (uint64_t)deadline_ms;

	alarm((unsigned)deadline_ms / 1000 + 10);
	while (out->n < want && now_ms() < end) {
		if (ring_pop(r, 64, on_pkt, out))
			continue;
		if (__atomic_load_n(&out->done, __ATOMIC_ACQUIRE) && !ring_count(r))
			break;
		if (ring_sleep(r)) {
			readable(ring_fd(r), 100);
			ring_woken(r);
		}
	}
	_exit(0);
}

static struct seen *shared_seen(size_t max, int lossless)
{
	struct seen *s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	assert_true(s != MAP_FAILED);
	memset(s, 0, sizeof(*s));
	s->max = max;
	s->lossless = lossless;
	return s;
}

/* Waits (bounded) until the consumer has announced its sleep. */
static void wait_asleep(struct ring *r, uint64_t end)
{
	while (!__atomic_load_n(&r->sh->sleeping, __ATOMIC_ACQUIRE) && now_ms() < end)
		usleep(100);
}

static void test_fork_lossless_with_wakeups(void **state)
{
	enum { N = 100000, MAX = 1500 };
	char err[ERRLEN];
	struct ring *r = ring_create(256, MAX, err);
	struct seen *s = shared_seen(MAX, 1);
	uint8_t buf[MAX];
	struct ring_stats st;
	uint64_t end = now_ms() + 60000;
	int status;
	pid_t pid;

	assert_non_null(r);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		consumer(r, s, N, 60000);
	for (uint64_t seq = 0; seq < N && now_ms() < end;) {
		size_t len = pkt_len(seq, MAX);
		pkt_fill(buf, seq, len);
		if (ring_push(r, buf, len, (uint32_t)(seq ^ 0x5a5a5a5a)) == RING_OK)
			seq++;
		else
			sched_yield();  /* this test wants every packet: wait for room */
		if ((seq & 15) == 0 || seq == N)
			ring_kick(r);
		if (seq < N && seq % 10000 == 0)
			wait_asleep(r, end);    /* each burst then starts with a wake-up */
	}
	ring_kick(r);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ring_stats(r, &st);
	assert_int_equal(s->n, N);
	assert_int_equal(s->bad, 0);
	assert_int_equal(st.popped, N);
	assert_int_equal(st.pushed, N);
	assert_true(st.sleeps >= 9);            /* the consumer did sleep (once per burst)... */
	assert_true(st.wakeups >= 9);           /* ...and was woken through the eventfd */
	printf("fork: %d packets, %llu drops while full (retried), %llu sleeps, %llu wake-ups\n", N,
	       (unsigned long long)st.drop_full, (unsigned long long)st.sleeps, (unsigned long long)st.wakeups);
	munmap(s, sizeof(*s));
	ring_destroy(r);
}

static void test_fork_full_drops_and_counts(void **state)
{
	char err[ERRLEN];
	struct ring *r = ring_create(64, 256, err);
	struct seen *s = shared_seen(256, 1);
	uint8_t buf[256];
	struct ring_stats st;
	int go[2], status;
	pid_t pid;
	char c;

	assert_non_null(r);
	assert_int_equal(pipe(go), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(go[1]);
		if (read(go[0], &c, 1) != 1)    /* a stalled consumer until told */
			_exit(1);
		consumer(r, s, 64, 10000);
	}
	close(go[0]);
	for (uint64_t seq = 0; seq < 3 * 64; seq++) {
		pkt_fill(buf, seq, pkt_len(seq, 256));
		ring_push(r, buf, pkt_len(seq, 256), (uint32_t)(seq ^ 0x5a5a5a5a));
	}
	ring_stats(r, &st);
	assert_int_equal(st.pushed, 64);
	assert_int_equal(st.drop_full, 128);
	assert_int_equal(write(go[1], "g", 1), 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(s->n, 64);             /* the first 64, in order */
	assert_int_equal(s->next, 64);
	assert_int_equal(s->bad, 0);
	close(go[1]);
	munmap(s, sizeof(*s));
	ring_destroy(r);
}

/* Stress, bounded in count and time: the producer never waits (a worker
 * drops when the ring is full); whatever arrives is whole, in order, and
 * arrived plus dropped is what was sent. */
static void test_fork_stress_never_waits(void **state)
{
	enum { N = 300000, MAX = 1280 };
	char err[ERRLEN];
	struct ring *r = ring_create(128, MAX, err);
	struct seen *s = shared_seen(MAX, 0);
	uint8_t buf[MAX];
	struct ring_stats st;
	uint64_t end = now_ms() + 20000, seq;
	int status;
	pid_t pid;

	assert_non_null(r);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		consumer(r, s, N, 25000);
	for (seq = 0; seq < N && now_ms() < end; seq++) {
		size_t len = pkt_len(seq, MAX);
		pkt_fill(buf, seq, len);
		ring_push(r, buf, len, (uint32_t)(seq ^ 0x5a5a5a5a));
		if ((seq & 31) == 31)
			ring_kick(r);
	}
	__atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
	ring_kick(r);
	/* The consumer stops when all is read, or at its deadline. */
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ring_stats(r, &st);
	assert_int_equal(s->bad, 0);
	assert_int_equal(st.pushed + st.drop_full, seq);
	assert_int_equal(s->n + ring_count(r), st.pushed);
	printf("stress: %llu sent, %llu through, %llu dropped full, %llu wake-ups\n", (unsigned long long)seq,
	       (unsigned long long)s->n, (unsigned long long)st.drop_full, (unsigned long long)st.wakeups);
	munmap(s, sizeof(*s));
	ring_destroy(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_errors),
		cmocka_unit_test(test_order_full_and_too_big),
		cmocka_unit_test(test_sleep_and_kick),
		cmocka_unit_test(test_corrupt_shared_memory),
		cmocka_unit_test(test_fork_lossless_with_wakeups),
		cmocka_unit_test(test_fork_full_drops_and_counts),
		cmocka_unit_test(test_fork_stress_never_waits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
