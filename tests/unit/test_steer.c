/* Tests of the multi-queue TUN steering (src/net/steer.c) against the real
 * kernel, in a private network namespace: the program's decisions
 * (BPF_PROG_TEST_RUN), claims, releases, lookups and sweeps; processes each
 * holding one queue of one IFF_MULTI_QUEUE TUN receiving the packets of
 * their claimed addresses and prefixes, the rest at queue 0; a dead worker's
 * queue kept in place by the opener's descriptors (and what happens when
 * that rule is broken); the claim race between unprivileged processes; an
 * unprivileged attach refused once the owner is set.  Needs root (CAP_BPF,
 * CAP_NET_ADMIN); exits 77 (skipped) without. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "net/steer.h"
#include "net/tun.h"

#define NQ 3
#define PORT 9999
#define NOBODY 65534

static struct in6_addr A(const char *s)
{
	struct in6_addr a;

	assert_int_equal(inet_pton(AF_INET6, s, &a), 1);
	return a;
}

/* The same as a pointer (8 live at a time). */
static const struct in6_addr *P(const char *s)
{
	static struct in6_addr ring[8];
	static unsigned i;

	ring[i % 8] = A(s);
	return &ring[i++ % 8];
}

static uint64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* An IPv6/UDP header to dst (40 + 8 bytes, enough for the program). */
static void v6pkt(uint8_t *p, const char *dst)
{
	struct in6_addr d = A(dst), s = A("fd00:5::1");

	memset(p, 0, 48);
	p[0] = 0x60;
	p[5] = 8;
	p[6] = 17;
	p[7] = 64;
	memcpy(p + 8, &s, 16);
	memcpy(p + 24, &d, 16);
}

static long decide(const struct steer *s, const char *dst)
{
	uint8_t p[48];

	v6pkt(p, dst);
	return steer_prog_run(s, p, sizeof(p));
}

/* Drops every privilege: uid and gid nobody, no supplementary groups (the
 * capability sets empty with the uid change).  0 or -1. */
static int become_nobody(void)
{
	return setgroups(0, NULL) == 0 && setgid(NOBODY) == 0 && setuid(NOBODY) == 0 ? 0 : -1;
}

/* ---- the program and the maps, no TUN ---- */

static void test_program_decisions(void **state)
{
	char err[ERRLEN];
	struct steer s;
	uint8_t p[48];

	assert_int_equal(steer_create(&s, 64, 16, err), 0);
	assert_int_equal(steer_claim_addr(&s, P("fd00:5::11"), 1, 7), STEER_OK);
	assert_int_equal(steer_claim_addr(&s, P("fe80::22"), 2, 1), STEER_OK);
	assert_int_equal(steer_claim_prefix(&s, P("fd00:6::"), 2, 1), STEER_OK);
	assert_int_equal(steer_claim_addr(&s, P("fd00:6::33"), 5, 1), STEER_OK);

	assert_int_equal(decide(&s, "fd00:5::11"), 1);         /* the generation stays out */
	assert_int_equal(decide(&s, "fe80::22"), 2);           /* link-local */
	assert_int_equal(decide(&s, "fd00:6::1234:5678"), 2);  /* inside the claimed /64 */
	assert_int_equal(decide(&s, "fd00:6::33"), 5);         /* a /128 wins over its /64 */
	assert_int_equal(decide(&s, "fd00:5::99"), STEER_DEFAULT_QUEUE);
	assert_int_equal(decide(&s, "ff02::1"), STEER_DEFAULT_QUEUE);
	assert_int_equal(decide(&s, "ff02::16"), STEER_DEFAULT_QUEUE);      /* MLD reports */
	v6pkt(p, "fd00:5::11");
	assert_int_equal(steer_prog_run(&s, p, 39), STEER_DEFAULT_QUEUE);   /* shorter than a header */
	p[0] = 0x45;
	assert_int_equal(steer_prog_run(&s, p, 48), STEER_DEFAULT_QUEUE);   /* IPv4 */
	steer_close(&s);
	assert_int_equal(s.prog_fd, -1);
}

static void test_claim_release_lookup(void **state)
{
	char err[ERRLEN];
	struct steer s;
	struct in6_addr a = A("fd00:5::11"), p = A("fd00:6::");
	uint16_t q = 0, g = 0;

	assert_int_equal(steer_create(&s, 4, 2, err), 0);
	assert_int_equal(steer_lookup_addr(&s, &a, &q, &g), STEER_ABSENT);
	assert_int_equal(steer_claim_addr(&s, &a, 1, 3), STEER_OK);
	assert_int_equal(steer_claim_addr(&s, &a, 2, 1), STEER_TAKEN);
	assert_int_equal(steer_claim_addr(&s, &a, 1, 3), STEER_TAKEN);     /* no double claim */
	assert_int_equal(steer_lookup_addr(&s, &a, &q, &g), STEER_OK);
	assert_int_equal(q, 1);
	assert_int_equal(g, 3);
	assert_int_equal(steer_release_addr(&s, &a, 2, 1), STEER_TAKEN);   /* not the owner's */
	assert_int_equal(steer_release_addr(&s, &a, 1, 2), STEER_TAKEN);   /* an older generation */
	assert_int_equal(steer_lookup_addr(&s, &a, NULL, NULL), STEER_OK);
	assert_int_equal(steer_release_addr(&s, &a, 1, 3), STEER_OK);
	assert_int_equal(steer_release_addr(&s, &a, 1, 3), STEER_ABSENT);
	assert_int_equal(steer_claim_addr(&s, &a, 2, 1), STEER_OK);        /* free again */

	/* The /64 key is the first 8 bytes: any address inside names it. */
	assert_int_equal(steer_claim_prefix(&s, &p, 1, 1), STEER_OK);
	assert_int_equal(steer_claim_prefix(&s, P("fd00:6::ffff"), 2, 1), STEER_TAKEN);
	assert_int_equal(steer_lookup_prefix(&s, P("fd00:6::1:2:3:4"), &q, NULL), STEER_OK);
	assert_int_equal(q, 1);
	assert_int_equal(steer_release_prefix(&s, &p, 1, 1), STEER_OK);

	/* A full map: a clear answer, nothing replaced. */
	for (int i = 0; i < 3; i++) {
		struct in6_addr b = A("fd00:8::");
		b.s6_addr[15] = (uint8_t)(i + 1);
		assert_int_equal(steer_claim_addr(&s, &b, 1, 1), STEER_OK);
	}
	assert_int_equal(steer_claim_addr(&s, P("fd00:8::99"), 1, 1), STEER_FULL);
	assert_int_equal(steer_lookup_addr(&s, &a, &q, NULL), STEER_OK);
	assert_int_equal(q, 2);
	steer_close(&s);
}

static void test_sweep(void **state)
{
	char err[ERRLEN];
	struct steer s;
	struct in6_addr a = A("fd00:9::"), p = A("fd00:a::");
	uint16_t q, g;
	long held[3] = { 0 };

	assert_int_equal(steer_create(&s, 1024, 64, err), 0);
	/* 300 addresses round-robin over (1,1), (2,1) and (1,2); prefixes too. */
	for (int i = 0; i < 300; i++) {
		a.s6_addr[14] = (uint8_t)(i >> 8);
		a.s6_addr[15] = (uint8_t)i;
		assert_int_equal(steer_claim_addr(&s, &a, i % 3 == 1 ? 2 : 1, i % 3 == 2 ? 2 : 1), STEER_OK);
	}
	for (int i = 0; i < 30; i++) {
		p.s6_addr[7] = (uint8_t)i;
		assert_int_equal(steer_claim_prefix(&s, &p, i % 3 == 1 ? 2 : 1, i % 3 == 2 ? 2 : 1), STEER_OK);
	}
	assert_int_equal(steer_sweep(&s, 1, 1), 110);   /* the dead worker: queue 1, generation 1 */
	assert_int_equal(steer_sweep(&s, 1, 1), 0);
	for (int i = 0; i < 300; i++) {
		a.s6_addr[14] = (uint8_t)(i >> 8);
		a.s6_addr[15] = (uint8_t)i;
		if (steer_lookup_addr(&s, &a, &q, &g) == STEER_ABSENT) {
			held[0]++;
			assert_int_equal(i % 3, 0);
		} else {
			held[i % 3]++;
			assert_int_equal(q, i % 3 == 1 ? 2 : 1);
		}
	}
	assert_int_equal(held[0], 100);
	assert_int_equal(held[1] + held[2], 200);
	assert_int_equal(steer_sweep(&s, 2, 1) + steer_sweep(&s, 1, 2), 220);
	assert_int_equal(steer_sweep(&s, 7, 7), 0);
	steer_close(&s);
}

static void test_errors(void **state)
{
	char err[ERRLEN], name[IFNAMSIZ] = "stq9";
	struct steer s;
	int fds[2];

	assert_int_equal(steer_create(&s, 0, 16, err), -1);
	assert_non_null(strstr(err, "from 1 to"));
	assert_int_equal(s.addrs_fd, -1);
	assert_int_equal(steer_tun_open(name, 0, 0, 0, fds, err), -1);
	assert_non_null(strstr(err, "TUN queues"));
	/* An unprivileged process cannot make the maps, and says why. */
	pid_t pid = fork();
	if (pid == 0) {
		int ok = become_nobody() == 0 && steer_create(&s, 16, 16, err) == -1 && strstr(err, "CAP_BPF");
		_exit(ok ? 0 : 1);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* ---- processes on the queues of one TUN ---- */

struct tally {
	uint32_t got[NQ][256];  /* UDP datagrams to PORT by reader and last address byte */
	uint32_t other[NQ];
	int stop;
};

struct fleet {
	char name[IFNAMSIZ];
	int fds[NQ];            /* the opener's: every queue stays attached */
	pid_t pid[NQ];
	struct tally *t;
	struct steer s;
	int udp;
};

/* A worker: reads its queue until told to stop (or 60 s). */
static void reader(int q, int fd, struct tally *t)
{
	uint64_t end = now_ms() + 60000;
	uint8_t buf[2048];
	ssize_t n;

	while (!__atomic_load_n(&t->stop, __ATOMIC_ACQUIRE) && now_ms() < end) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 50) <= 0)
			continue;
		while ((n = read(fd, buf, sizeof(buf))) > 0) {
			if (n >= 48 && buf[6] == 17 && (buf[42] << 8 | buf[43]) == PORT)
				__atomic_add_fetch(&t->got[q][buf[39]], 1, __ATOMIC_RELAXED);
			else
				__atomic_add_fetch(&t->other[q], 1, __ATOMIC_RELAXED);
		}
	}
	_exit(0);
}

static void fleet_up(struct fleet *f, const char *name)
{
	char err[ERRLEN];
	struct in6_addr me = A("fd00:5::1"), pfx = A("fd00:6::");

	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "%s", name);
	if (steer_tun_open(f->name, NQ, 0, 0, f->fds, err) < 0 || steer_create(&f->s, 256, 16, err) < 0 ||
	    steer_attach(&f->s, f->fds[NQ - 1], err) < 0 || sysctl_v6_set(f->name, "addr_gen_mode", "1", err) < 0 ||
	    tun_set_up(f->name, 1, err) < 0 || tun_addr_add(f->name, &me, 64, 1, err) < 0 ||
	    tun_route_add(f->name, &pfx, 64, NULL, 0, err) < 0)
		fail_msg("%s", err);
	f->t = mmap(NULL, sizeof(*f->t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(f->t != MAP_FAILED);
	memset(f->t, 0, sizeof(*f->t));
	for (int q = 0; q < NQ; q++) {
		f->pid[q] = fork();
		assert_true(f->pid[q] >= 0);
		if (f->pid[q] == 0) {
			for (int o = 0; o < NQ; o++)    /* a worker holds its own queue only */
				if (o != q)
					close(f->fds[o]);
			reader(q, f->fds[q], f->t);
		}
	}
	f->udp = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(f->udp >= 0);
}

static void send_to(struct fleet *f, const char *dst, int n)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons(PORT), .sin6_addr = A(dst) };

	for (int i = 0; i < n; i++)
		assert_int_equal(sendto(f->udp, "x", 1, 0, (struct sockaddr *)&sa, sizeof(sa)), 1);
}

/* Waits (bounded) until reader q has n datagrams to ...:last. */
static int wait_got(struct fleet *f, int q, uint8_t last, uint32_t n)
{
	uint64_t end = now_ms() + 10000;

	while (__atomic_load_n(&f->t->got[q][last], __ATOMIC_ACQUIRE) < n && now_ms() < end)
		usleep(2000);
	return __atomic_load_n(&f->t->got[q][last], __ATOMIC_ACQUIRE) >= n;
}

static void fleet_down(struct fleet *f)
{
	__atomic_store_n(&f->t->stop, 1, __ATOMIC_RELEASE);
	for (int q = 0; q < NQ; q++)
		if (f->pid[q] > 0)
			waitpid(f->pid[q], NULL, 0);
	for (int q = 0; q < NQ; q++)
		if (f->fds[q] >= 0)
			close(f->fds[q]);
	close(f->udp);
	steer_close(&f->s);
	munmap(f->t, sizeof(*f->t));
}

static void claim_or_fail(struct fleet *f, const char *addr, uint16_t q)
{
	assert_int_equal(steer_claim_addr(&f->s, P(addr), q, 1), STEER_OK);
}

static void test_queues_reach_their_process(void **state)
{
	struct fleet f;

	fleet_up(&f, "stq0");
	claim_or_fail(&f, "fd00:5::11", 1);
	claim_or_fail(&f, "fd00:5::22", 2);
	assert_int_equal(steer_claim_prefix(&f.s, P("fd00:6::"), 2, 1), STEER_OK);
	send_to(&f, "fd00:5::11", 20);
	send_to(&f, "fd00:5::22", 20);
	send_to(&f, "fd00:6::33", 20);          /* inside the claimed /64 */
	send_to(&f, "fd00:5::99", 20);          /* nobody's */
	assert_true(wait_got(&f, 1, 0x11, 20));
	assert_true(wait_got(&f, 2, 0x22, 20));
	assert_true(wait_got(&f, 2, 0x33, 20));
	assert_true(wait_got(&f, 0, 0x99, 20));
	/* and nowhere else */
	for (int q = 0; q < NQ; q++) {
		assert_int_equal(f.t->got[q][0x11], q == 1 ? 20 : 0);
		assert_int_equal(f.t->got[q][0x22], q == 2 ? 20 : 0);
		assert_int_equal(f.t->got[q][0x33], q == 2 ? 20 : 0);
		assert_int_equal(f.t->got[q][0x99], q == 0 ? 20 : 0);
	}
	/* A released address falls back to queue 0. */
	assert_int_equal(steer_release_addr(&f.s, P("fd00:5::11"), 1, 1), STEER_OK);
	send_to(&f, "fd00:5::11", 5);
	assert_true(wait_got(&f, 0, 0x11, 5));
	fleet_down(&f);
}

/* Reads the opener's own descriptor of a queue: n datagrams to ...:last
 * waiting there (bounded wait). */
static int queued_for(int fd, uint8_t last, int n)
{
	uint64_t end = now_ms() + 10000;
	uint8_t buf[2048];
	int got = 0;

	while (got < n && now_ms() < end) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 50) <= 0)
			continue;
		while (read(fd, buf, sizeof(buf)) >= 48)
			got += buf[39] == last && buf[6] == 17;
	}
	return got;
}

static void test_dead_worker_keeps_positions(void **state)
{
	struct fleet f;
	int st;

	fleet_up(&f, "stq1");
	claim_or_fail(&f, "fd00:5::11", 1);
	claim_or_fail(&f, "fd00:5::22", 2);
	/* Worker 1 dies; the opener still holds its queue. */
	kill(f.pid[1], SIGKILL);
	assert_int_equal(waitpid(f.pid[1], &st, 0), f.pid[1]);
	f.pid[1] = 0;
	send_to(&f, "fd00:5::22", 10);
	assert_true(wait_got(&f, 2, 0x22, 10));         /* worker 2 unmoved */
	send_to(&f, "fd00:5::11", 10);
	assert_int_equal(queued_for(f.fds[1], 0x11, 10), 10);   /* waiting for a successor */
	assert_int_equal(f.t->got[0][0x22] + f.t->got[0][0x11], 0);

	/* Breaking the rule: the last descriptor of queue 1 closes, the kernel
	 * moves queue 2 into its place, and worker 2's packets (queue 2 mod 2
	 * queues) now reach worker 0.  This is why nothing may detach a queue.
	 * The kernel detaches the queue a moment after close() returns (seen:
	 * packets sent at once still reached worker 2 under load), so one
	 * datagram each 20 ms until the first reaches worker 0 (at most 10 s),
	 * then ten that must all go there. */
	close(f.fds[1]);
	f.fds[1] = -1;
	for (int i = 0; i < 500 && !__atomic_load_n(&f.t->got[0][0x22], __ATOMIC_ACQUIRE); i++) {
		send_to(&f, "fd00:5::22", 1);
		usleep(20000);
	}
	assert_true(wait_got(&f, 0, 0x22, 1));
	uint32_t before = __atomic_load_n(&f.t->got[0][0x22], __ATOMIC_ACQUIRE);
	send_to(&f, "fd00:5::22", 10);
	assert_true(wait_got(&f, 0, 0x22, before + 10));
	fleet_down(&f);
}

/* ---- the claim race, unprivileged ---- */

#define RACE_N 3000

static void racer(struct steer *s, int q, int go, uint8_t *owner, uint32_t *errors)
{
	struct in6_addr a = A("fd00:7::");
	char c;
	int rc;

	if (become_nobody() < 0 || read(go, &c, 1) != 1)
		_exit(1);
	for (int i = 0; i < RACE_N; i++) {
		a.s6_addr[14] = (uint8_t)(i >> 8);
		a.s6_addr[15] = (uint8_t)i;
		rc = steer_claim_addr(s, &a, (uint16_t)q, 1);
		if (rc == STEER_OK)
			owner[i] = (uint8_t)(q + 1);
		else if (rc != STEER_TAKEN)
			__atomic_add_fetch(errors, 1, __ATOMIC_RELAXED);
	}
	_exit(0);
}

static void test_claim_race_one_owner(void **state)
{
	char err[ERRLEN];
	struct steer s;
	struct in6_addr a = A("fd00:7::");
	uint8_t *owner;
	uint32_t *errors;
	int go[2], st, wins[NQ] = { 0 };
	pid_t pid[NQ];
	uint16_t q;

	assert_int_equal(steer_create(&s, RACE_N, 1, err), 0);
	owner = mmap(NULL, RACE_N + 64, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(owner != MAP_FAILED);
	memset(owner, 0, RACE_N + 64);
	errors = (uint32_t *)(owner + RACE_N + 32);
	assert_int_equal(pipe(go), 0);
	for (int i = 0; i < NQ; i++) {
		pid[i] = fork();
		assert_true(pid[i] >= 0);
		if (pid[i] == 0)
			racer(&s, i, go[0], owner, errors);
	}
	assert_int_equal(write(go[1], "ggg", NQ), NQ);  /* off they go */
	for (int i = 0; i < NQ; i++) {
		assert_int_equal(waitpid(pid[i], &st, 0), pid[i]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	assert_int_equal(*errors, 0);
	for (int i = 0; i < RACE_N; i++) {
		a.s6_addr[14] = (uint8_t)(i >> 8);
		a.s6_addr[15] = (uint8_t)i;
		assert_int_equal(steer_lookup_addr(&s, &a, &q, NULL), STEER_OK);
		assert_int_equal(owner[i], q + 1);      /* the one who was told "yours" */
		wins[q]++;
	}
	assert_int_equal(wins[0] + wins[1] + wins[2], RACE_N);
	printf("claim race: %d / %d / %d\n", wins[0], wins[1], wins[2]);
	close(go[0]);
	close(go[1]);
	munmap(owner, RACE_N + 64);
	steer_close(&s);
}

/* ---- the owner ---- */

/* In a child as nobody: attaches a queue of name.  Returns the errno of
 * TUNSETIFF (0 when it attached). */
static int attach_as_nobody(const char *name)
{
	int st;
	pid_t pid = fork();

	if (pid == 0) {
		struct ifreq ifr = { 0 };
		int fd;
		snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
		ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_MULTI_QUEUE;
		if (become_nobody() < 0 || (fd = open("/dev/net/tun", O_RDWR)) < 0)
			_exit(100);
		_exit(ioctl(fd, TUNSETIFF, &ifr) < 0 ? errno : 0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void test_unprivileged_attach_refused(void **state)
{
	char err[ERRLEN], name[IFNAMSIZ] = "stq2";
	struct ifreq ifr = { 0 };
	int fds[2], bare;

	/* The hole: a multi-queue TUN without an owner takes anyone's queue. */
	snprintf(ifr.ifr_name, IFNAMSIZ, "stq3");
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_MULTI_QUEUE;
	bare = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	assert_true(bare >= 0);
	assert_int_equal(ioctl(bare, TUNSETIFF, &ifr), 0);
	assert_int_equal(attach_as_nobody("stq3"), 0);
	close(bare);

	/* steer_tun_open closes it. */
	assert_int_equal(steer_tun_open(name, 2, 0, 0, fds, err), 0);
	assert_int_equal(attach_as_nobody(name), EPERM);
	close(fds[0]);
	close(fds[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_program_decisions),
		cmocka_unit_test(test_claim_release_lookup),
		cmocka_unit_test(test_sweep),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_queues_reach_their_process),
		cmocka_unit_test(test_dead_worker_keeps_positions),
		cmocka_unit_test(test_claim_race_one_owner),
		cmocka_unit_test(test_unprivileged_attach_refused),
	};

	if (unshare(CLONE_NEWNET) < 0) {
		printf("test_steer: skipped, unshare: %s\n", strerror(errno));
		return errno == EPERM ? 77 : 1;
	}
	if (access("/dev/net/tun", R_OK | W_OK) < 0) {
		printf("test_steer: skipped, /dev/net/tun: %s\n", strerror(errno));
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
