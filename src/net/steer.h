/* Multi-queue TUN steering: which worker process receives a packet the
 * kernel sends into the TUN (for the multi-process server; not wired in yet).
 *
 * One IFF_MULTI_QUEUE TUN, one queue per worker.  An eBPF socket-filter
 * program, attached with TUNSETSTEERINGEBPF, runs for every packet before a
 * queue is chosen: it looks the IPv6 destination up in a hash map of /128s,
 * then its /64 in a hash map of prefixes (per-client prefix mode), and
 * returns the queue stored there; anything else (unclaimed addresses,
 * multicast, the kernel's MLD, a packet too short or not IPv6) goes to queue
 * STEER_DEFAULT_QUEUE.  The maps and the program are made with the raw bpf()
 * system call (31 instructions, no libbpf, no ELF).
 *
 * The maps are the one global truth of address ownership.  A value is
 * {queue, generation}: the generation is the worker's incarnation, so that a
 * successor's claims survive the sweep of its dead predecessor's entries.
 * A claim is an insert with BPF_NOEXIST, atomic across processes: of any
 * number of workers claiming one address exactly one wins.  Only the owner
 * releases an entry; the supervisor sweeps a dead worker's.
 *
 * Privileges: creating maps and loading the program need CAP_BPF (or
 * CAP_SYS_ADMIN); claim, release, lookup and sweep on an inherited map
 * descriptor need nothing.  steer_tun_open sets TUNSETOWNER, without which
 * any local user could attach a queue of a multi-queue TUN and read or
 * inject packets (a process of the owner's uid still can: give an owner that
 * no worker runs as when workers keep uid 0).
 *
 * THE RULE: queues are positions, never detach one.  Queue k is the k-th
 * attached file; when a queue's last descriptor closes, the kernel moves the
 * last queue into its slot and every map entry of that queue then steers to
 * the wrong worker.  The process that opens the queues keeps every
 * descriptor for the TUN's lifetime and hands workers duplicates; nothing
 * ever calls TUNSETQUEUE.  A dead worker's packets wait in its queue for its
 * successor.
 *
 * Error convention: setup functions (steer_tun_open, steer_create,
 * steer_attach) return 0 or -1 with errno and a message in err[ERRLEN]
 * naming the step.  Map operations return an enum steer_result (>= 0) or -1
 * with errno (a descriptor or kernel fault; the caller logs it). */
#ifndef IPHTTPS_STEER_H
#define IPHTTPS_STEER_H

#include "common/errbuf.h"

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define STEER_MAX_QUEUES    256     /* the kernel's MAX_TAP_QUEUES */
#define STEER_DEFAULT_QUEUE 0
#define STEER_MAX_ENTRIES   (1u << 22)

enum steer_result {
	STEER_OK = 0,           /* claimed, released, found */
	STEER_TAKEN = 1,        /* claim: someone holds it; release: not ours */
	STEER_FULL = 2,         /* claim: the map is at max entries */
	STEER_ABSENT = 3,       /* lookup, release: no such entry */
};

struct steer {
	int addrs_fd;           /* BPF hash: struct in6_addr -> value */
	int prefixes_fd;        /* BPF hash: the first 8 bytes (a /64) -> value */
	int prog_fd;            /* the steering program */
};

/* Opens n (1 .. STEER_MAX_QUEUES) queues of one IFF_TUN|IFF_NO_PI|
 * IFF_MULTI_QUEUE device into fds[0..n-1], with extra_flags added (e.g.
 * IFF_VNET_HDR), non-blocking, close-on-exec, and sets its owner.  name is
 * in/out (IFNAMSIZ).  On failure nothing stays open. */
int steer_tun_open(char *name, int n, unsigned extra_flags, uid_t owner, int *fds, char *err);

/* Makes the two maps (max_addrs and max_prefixes entries, 1 ..
 * STEER_MAX_ENTRIES) and loads the program.  On failure nothing stays open
 * and the fds are -1.  Release with steer_close. */
int steer_create(struct steer *s, uint32_t max_addrs, uint32_t max_prefixes, char *err);
void steer_close(struct steer *s);
/* Attaches the program to the TUN of queue_fd (any of its queues: the
 * program is per device). */
int steer_attach(const struct steer *s, int queue_fd, char *err);

/* Address /128 and prefix /64 (the first 8 bytes of p) ownership.
 * claim: STEER_OK, STEER_TAKEN, STEER_FULL.  release: STEER_OK when the
 * entry was (queue, gen)'s and is gone, STEER_TAKEN when another holds it,
 * STEER_ABSENT.  lookup: STEER_OK with *queue and *gen set (either may be
 * NULL), or STEER_ABSENT. */
int steer_claim_addr(const struct steer *s, const struct in6_addr *a, uint16_t queue, uint16_t gen);
int steer_release_addr(const struct steer *s, const struct in6_addr *a, uint16_t queue, uint16_t gen);
int steer_lookup_addr(const struct steer *s, const struct in6_addr *a, uint16_t *queue, uint16_t *gen);
int steer_claim_prefix(const struct steer *s, const struct in6_addr *p, uint16_t queue, uint16_t gen);
int steer_release_prefix(const struct steer *s, const struct in6_addr *p, uint16_t queue, uint16_t gen);
int steer_lookup_prefix(const struct steer *s, const struct in6_addr *p, uint16_t *queue, uint16_t *gen);

/* Deletes every entry of both maps held by (queue, gen): a dead worker's.
 * Returns the number deleted, or -1 with errno. */
long steer_sweep(const struct steer *s, uint16_t queue, uint16_t gen);

/* Tables shared by processes (the server's workers: --address-hold's
 * reservations, the remembered per-client prefixes): a 16-byte key (an
 * address, or a client's key) -> value_size bytes, in an LRU hash (bounded
 * by itself: the least recently used entry goes when it is full).  Any
 * process holding the fd reads and writes entries.  create returns the fd
 * or -1 (err); put 0 or -1 (errno); get and del STEER_OK, STEER_ABSENT or
 * -1 (errno). */
int steer_table_create(const char *name, uint32_t value_size, uint32_t max, char *err);
int steer_table_put(int fd, const struct in6_addr *k, const void *v);
int steer_table_get(int fd, const struct in6_addr *k, void *v);
int steer_table_del(int fd, const struct in6_addr *k);

/* Runs the program on one IPv6 packet as the kernel would
 * (BPF_PROG_TEST_RUN), for tests and diagnostics.  Returns the queue it
 * chose (before the kernel's modulo by the number of queues), or -1. */
long steer_prog_run(const struct steer *s, const uint8_t *pkt, size_t len);

#endif
