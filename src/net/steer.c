/* See steer.h.  The program, the maps and the queues; bpf() used raw. */
#include "net/steer.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PREFIX_KEY_LEN 8

static long sys_bpf(int cmd, union bpf_attr *a)
{
	return syscall(__NR_bpf, cmd, a, sizeof(*a));
}

/* ---- queues ---- */

/* Opens one queue of name into *fd; the first one creates the device and
 * names it.  0 or -1 with err set. */
static int open_queue(char *name, unsigned flags, int *fd, char *err)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	ifr.ifr_flags = (short)(IFF_TUN | IFF_NO_PI | IFF_MULTI_QUEUE | flags);
	*fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (*fd < 0) {
		snprintf(err, ERRLEN, "opening /dev/net/tun: %s", strerror(errno));
		return -1;
	}
	if (ioctl(*fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;
		snprintf(err, ERRLEN, "attaching a queue of %s (TUNSETIFF, IFF_MULTI_QUEUE): %s",
			 name[0] ? name : "a new TUN", strerror(e));
		close(*fd);
		*fd = -1;
		errno = e;
		return -1;
	}
	snprintf(name, IFNAMSIZ, "%s", ifr.ifr_name);
	return 0;
}

static void close_all(int *fds, int n)
{
	int e = errno;

	for (int i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
	errno = e;
}

int steer_tun_open(char *name, int n, unsigned extra_flags, uid_t owner, int *fds, char *err)
{
	int i;

	if (n < 1 || n > STEER_MAX_QUEUES) {
		snprintf(err, ERRLEN, "%d TUN queues: from 1 to %d", n, STEER_MAX_QUEUES);
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < n; i++)
		fds[i] = -1;
	if (open_queue(name, extra_flags, &fds[0], err) < 0)
		return -1;
	/* The owner before any other queue: from now on only the owner's uid
	 * or CAP_NET_ADMIN attaches one. */
	if (ioctl(fds[0], TUNSETOWNER, (unsigned long)owner) < 0) {
		snprintf(err, ERRLEN, "setting the owner of %s (TUNSETOWNER %u): %s", name, (unsigned)owner,
			 strerror(errno));
		close_all(fds, n);
		return -1;
	}
	for (i = 1; i < n; i++) {
		if (open_queue(name, extra_flags, &fds[i], err) < 0) {
			close_all(fds, n);
			return -1;
		}
	}
	return 0;
}

/* ---- maps ---- */

static int map_create_as(uint32_t type, const char *what, uint32_t key_size, uint32_t value_size,
			 uint32_t max, char *err);

/* A BPF hash map; its fd or -1 with err set. */
static int map_create(const char *what, uint32_t key_size, uint32_t max, char *err)
{
	return map_create_as(BPF_MAP_TYPE_HASH, what, key_size, sizeof(uint32_t), max, err);
}

static int map_create_as(uint32_t type, const char *what, uint32_t key_size, uint32_t value_size,
			 uint32_t max, char *err)
{
	union bpf_attr a;
	int fd;

	memset(&a, 0, sizeof(a));
	a.map_type = type;
	a.key_size = key_size;
	a.value_size = value_size;
	a.max_entries = max;
	/* memory as entries come (77 B each, measured); an LRU map is
	 * preallocated (the kernel refuses the flag there) */
	a.map_flags = type == BPF_MAP_TYPE_LRU_HASH ? 0 : BPF_F_NO_PREALLOC;
	snprintf(a.map_name, sizeof(a.map_name), "iphttps_%s", what);
	fd = (int)sys_bpf(BPF_MAP_CREATE, &a);
	if (fd < 0)
		snprintf(err, ERRLEN, "creating the BPF map of %s (%u entries): %s%s", what, max, strerror(errno),
			 errno == EPERM ? " (needs CAP_BPF)" : "");
	return fd;
}

static uint32_t pack(uint16_t queue, uint16_t gen)
{
	return (uint32_t)queue | (uint32_t)gen << 16;
}

/* Map operations: 0 or -1 with errno. */
static int map_op(int cmd, int fd, const void *key, void *val, uint64_t flags)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)fd;
	a.key = (uint64_t)(uintptr_t)key;
	if (cmd == BPF_MAP_GET_NEXT_KEY)
		a.next_key = (uint64_t)(uintptr_t)val;
	else
		a.value = (uint64_t)(uintptr_t)val;
	a.flags = flags;
	return sys_bpf(cmd, &a) < 0 ? -1 : 0;
}

static int claim(int fd, const void *key, uint16_t queue, uint16_t gen)
{
	uint32_t v = pack(queue, gen);

	if (map_op(BPF_MAP_UPDATE_ELEM, fd, key, &v, BPF_NOEXIST) == 0)
		return STEER_OK;
	if (errno == EEXIST)
		return STEER_TAKEN;
	if (errno == E2BIG)
		return STEER_FULL;
	return -1;
}

static int lookup(int fd, const void *key, uint16_t *queue, uint16_t *gen)
{
	uint32_t v;

	if (map_op(BPF_MAP_LOOKUP_ELEM, fd, key, &v, 0) < 0)
		return errno == ENOENT ? STEER_ABSENT : -1;
	if (queue)
		*queue = (uint16_t)v;
	if (gen)
		*gen = (uint16_t)(v >> 16);
	return STEER_OK;
}

/* Only the owner deletes, so nothing can slip in between the two steps. */
static int release(int fd, const void *key, uint16_t queue, uint16_t gen)
{
	uint16_t q, g;
	int rc = lookup(fd, key, &q, &g);

	if (rc != STEER_OK)
		return rc;
	if (q != queue || g != gen)
		return STEER_TAKEN;
	if (map_op(BPF_MAP_DELETE_ELEM, fd, key, NULL, 0) < 0)
		return errno == ENOENT ? STEER_ABSENT : -1;
	return STEER_OK;
}

int steer_claim_addr(const struct steer *s, const struct in6_addr *a, uint16_t queue, uint16_t gen)
{
	return claim(s->addrs_fd, a, queue, gen);
}

int steer_release_addr(const struct steer *s, const struct in6_addr *a, uint16_t queue, uint16_t gen)
{
	return release(s->addrs_fd, a, queue, gen);
}

int steer_lookup_addr(const struct steer *s, const struct in6_addr *a, uint16_t *queue, uint16_t *gen)
{
	return lookup(s->addrs_fd, a, queue, gen);
}

int steer_claim_prefix(const struct steer *s, const struct in6_addr *p, uint16_t queue, uint16_t gen)
{
	return claim(s->prefixes_fd, p->s6_addr, queue, gen);
}

int steer_release_prefix(const struct steer *s, const struct in6_addr *p, uint16_t queue, uint16_t gen)
{
	return release(s->prefixes_fd, p->s6_addr, queue, gen);
}

int steer_lookup_prefix(const struct steer *s, const struct in6_addr *p, uint16_t *queue, uint16_t *gen)
{
	return lookup(s->prefixes_fd, p->s6_addr, queue, gen);
}

/* Deletes key if its value is want; 1 if deleted. */
static long sweep_key(int fd, const uint8_t *key, uint32_t want)
{
	uint32_t v;

	return map_op(BPF_MAP_LOOKUP_ELEM, fd, key, &v, 0) == 0 && v == want &&
	       map_op(BPF_MAP_DELETE_ELEM, fd, key, NULL, 0) == 0;
}

/* Sweeps one map; the number deleted or -1.  The next key is taken before
 * the current one goes, so the walk never restarts because of our own
 * deletes; the bound covers restarts caused by others'. */
static long sweep_map(int fd, uint16_t queue, uint16_t gen)
{
	uint8_t key[16], next[16];
	uint32_t want = pack(queue, gen);
	long n = 0, steps = 0;
	int have = 0, rc, e;

	while (steps++ < 2L * STEER_MAX_ENTRIES) {
		rc = map_op(BPF_MAP_GET_NEXT_KEY, fd, have ? key : NULL, next, 0);
		e = errno;
		if (have)
			n += sweep_key(fd, key, want);
		if (rc < 0) {
			errno = e;
			return e == ENOENT ? n : -1;
		}
		memcpy(key, next, sizeof(key));
		have = 1;
	}
	return n;
}

long steer_sweep(const struct steer *s, uint16_t queue, uint16_t gen)
{
	long a = sweep_map(s->addrs_fd, queue, gen), p;

	if (a < 0)
		return -1;
	p = sweep_map(s->prefixes_fd, queue, gen);
	return p < 0 ? -1 : a + p;
}

/* ---- the program ---- */

#define INSN(code, d, s, o, i) ((struct bpf_insn){ (uint8_t)(code), (d), (s), (int16_t)(o), (int32_t)(i) })
#define MOV_REG(d, s)    INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOV_IMM(d, v)    INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, v)
#define ADD_IMM(d, v)    INSN(BPF_ALU64 | BPF_ADD | BPF_K, d, 0, 0, v)
#define AND_IMM(d, v)    INSN(BPF_ALU64 | BPF_AND | BPF_K, d, 0, 0, v)
#define LDX(sz, d, s, o) INSN(BPF_LDX | (sz) | BPF_MEM, d, s, o, 0)
#define JNE_IMM(d, v, o) INSN(BPF_JMP | BPF_JNE | BPF_K, d, 0, o, v)
#define JEQ_IMM(d, v, o) INSN(BPF_JMP | BPF_JEQ | BPF_K, d, 0, o, v)
#define CALL(f)          INSN(BPF_JMP | BPF_CALL, 0, 0, 0, f)
#define EXIT()           INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
#define LD_MAP(d, fd)    INSN(BPF_LD | BPF_DW | BPF_IMM, d, BPF_PSEUDO_MAP_FD, 0, fd), INSN(0, 0, 0, 0, 0)

/* At selection time skb->data is the IPv6 header (a TUN has no link
 * header).  The header goes to fp-40; its destination is fp-16 (and its /64
 * the 8 bytes there).  Jump offsets count from the next instruction; LD_MAP
 * takes two slots. */
static int prog_load(int addrs_fd, int prefixes_fd, char *log, size_t loglen)
{
	const struct bpf_insn p[] = {
		/*  0 */ MOV_REG(BPF_REG_6, BPF_REG_1),
		/*  1 */ MOV_REG(BPF_REG_1, BPF_REG_6),
		/*  2 */ MOV_IMM(BPF_REG_2, 0),
		/*  3 */ MOV_REG(BPF_REG_3, BPF_REG_10),
		/*  4 */ ADD_IMM(BPF_REG_3, -40),
		/*  5 */ MOV_IMM(BPF_REG_4, 40),
		/*  6 */ CALL(BPF_FUNC_skb_load_bytes),
		/*  7 */ JNE_IMM(BPF_REG_0, 0, 29 - 8),         /* shorter than 40 bytes */
		/*  8 */ LDX(BPF_B, BPF_REG_1, BPF_REG_10, -40),
		/*  9 */ AND_IMM(BPF_REG_1, 0xf0),
		/* 10 */ JNE_IMM(BPF_REG_1, 0x60, 29 - 11),     /* not IPv6 */
		/* 11 */ LD_MAP(BPF_REG_1, addrs_fd),
		/* 13 */ MOV_REG(BPF_REG_2, BPF_REG_10),
		/* 14 */ ADD_IMM(BPF_REG_2, -16),
		/* 15 */ CALL(BPF_FUNC_map_lookup_elem),
		/* 16 */ JEQ_IMM(BPF_REG_0, 0, 20 - 17),
		/* 17 */ LDX(BPF_W, BPF_REG_0, BPF_REG_0, 0),
		/* 18 */ AND_IMM(BPF_REG_0, 0xffff),
		/* 19 */ EXIT(),
		/* 20 */ LD_MAP(BPF_REG_1, prefixes_fd),
		/* 22 */ MOV_REG(BPF_REG_2, BPF_REG_10),
		/* 23 */ ADD_IMM(BPF_REG_2, -16),
		/* 24 */ CALL(BPF_FUNC_map_lookup_elem),
		/* 25 */ JEQ_IMM(BPF_REG_0, 0, 29 - 26),
		/* 26 */ LDX(BPF_W, BPF_REG_0, BPF_REG_0, 0),
		/* 27 */ AND_IMM(BPF_REG_0, 0xffff),
		/* 28 */ EXIT(),
		/* 29 */ MOV_IMM(BPF_REG_0, STEER_DEFAULT_QUEUE),
		/* 30 */ EXIT(),
	};
	static const char license[] = "GPL";
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	a.insns = (uint64_t)(uintptr_t)p;
	a.insn_cnt = sizeof(p) / sizeof(p[0]);
	a.license = (uint64_t)(uintptr_t)license;
	a.log_buf = (uint64_t)(uintptr_t)log;
	a.log_size = (uint32_t)loglen;
	a.log_level = 1;
	snprintf(a.prog_name, sizeof(a.prog_name), "iphttps_steer");
	log[0] = '\0';
	return (int)sys_bpf(BPF_PROG_LOAD, &a);
}

/* The verifier's verdict: the last line of its log (cut in place). */
static const char *last_line(char *log)
{
	size_t n = strnlen(log, 4095);
	char *nl;

	log[n] = '\0';
	while (n && log[n - 1] == '\n')
		log[--n] = '\0';
	nl = strrchr(log, '\n');
	return nl ? nl + 1 : log;
}

int steer_create(struct steer *s, uint32_t max_addrs, uint32_t max_prefixes, char *err)
{
	char log[4096];

	s->addrs_fd = s->prefixes_fd = s->prog_fd = -1;
	if (max_addrs < 1 || max_addrs > STEER_MAX_ENTRIES || max_prefixes < 1 ||
	    max_prefixes > STEER_MAX_ENTRIES) {
		snprintf(err, ERRLEN, "steering maps of %u addresses and %u prefixes: from 1 to %u each",
			 max_addrs, max_prefixes, STEER_MAX_ENTRIES);
		errno = EINVAL;
		return -1;
	}
	s->addrs_fd = map_create("addrs", sizeof(struct in6_addr), max_addrs, err);
	if (s->addrs_fd >= 0)
		s->prefixes_fd = map_create("prefixes", PREFIX_KEY_LEN, max_prefixes, err);
	if (s->prefixes_fd < 0) {
		steer_close(s);
		return -1;
	}
	s->prog_fd = prog_load(s->addrs_fd, s->prefixes_fd, log, sizeof(log));
	if (s->prog_fd < 0) {
		int e = errno;
		const char *last = last_line(log);
		snprintf(err, ERRLEN, "loading the steering program: %s%s%s%s", strerror(e),
			 e == EPERM ? " (needs CAP_BPF)" : "", last[0] ? ": verifier: " : "", last);
		steer_close(s);
		errno = e;
		return -1;
	}
	return 0;
}

void steer_close(struct steer *s)
{
	int *fds[3] = { &s->prog_fd, &s->prefixes_fd, &s->addrs_fd }, e = errno;

	for (int i = 0; i < 3; i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
	errno = e;
}

int steer_attach(const struct steer *s, int queue_fd, char *err)
{
	int prog = s->prog_fd;

	if (ioctl(queue_fd, TUNSETSTEERINGEBPF, &prog) < 0) {
		snprintf(err, ERRLEN, "attaching the steering program (TUNSETSTEERINGEBPF): %s", strerror(errno));
		return -1;
	}
	return 0;
}

long steer_prog_run(const struct steer *s, const uint8_t *pkt, size_t len)
{
	/* The test run wants an Ethernet header, which it pulls before running
	 * a socket filter: the program then sees the packet as on the TUN.  Its
	 * type is a local experimental one (0x88b5), so that the kernel does not
	 * check the packet as IPv6 first: the program must cope with anything. */
	uint8_t frame[14 + 2048] = { [12] = 0x88, [13] = 0xb5 };
	union bpf_attr a;

	if (len > sizeof(frame) - 14)
		len = sizeof(frame) - 14;   /* the program reads 40 bytes at most */
	memcpy(frame + 14, pkt, len);
	memset(&a, 0, sizeof(a));
	a.test.prog_fd = (uint32_t)s->prog_fd;
	a.test.data_in = (uint64_t)(uintptr_t)frame;
	a.test.data_size_in = (uint32_t)(14 + len);
	a.test.repeat = 1;
	if (sys_bpf(BPF_PROG_TEST_RUN, &a) < 0)
		return -1;
	return (long)a.test.retval;
}

/* ---- tables shared by processes ---- */

int steer_table_create(const char *name, uint32_t value_size, uint32_t max, char *err)
{
	if (max < 1 || max > STEER_MAX_ENTRIES || value_size < 1 || value_size > 64) {
		snprintf(err, ERRLEN, "the BPF table %s: 1 to %u entries of 1 to 64 bytes", name,
			 STEER_MAX_ENTRIES);
		errno = EINVAL;
		return -1;
	}
	return map_create_as(BPF_MAP_TYPE_LRU_HASH, name, sizeof(struct in6_addr), value_size, max, err);
}

int steer_table_put(int fd, const struct in6_addr *k, const void *v)
{
	return map_op(BPF_MAP_UPDATE_ELEM, fd, k, (void *)v, BPF_ANY);
}

int steer_table_get(int fd, const struct in6_addr *k, void *v)
{
	if (map_op(BPF_MAP_LOOKUP_ELEM, fd, k, v, 0) == 0)
		return STEER_OK;
	return errno == ENOENT ? STEER_ABSENT : -1;
}

int steer_table_del(int fd, const struct in6_addr *k)
{
	if (map_op(BPF_MAP_DELETE_ELEM, fd, k, NULL, 0) == 0)
		return STEER_OK;
	return errno == ENOENT ? STEER_ABSENT : -1;
}
