/* The server as a supervisor and worker processes (--workers N, N > 1;
 * with 1 none of this runs and the server is one process).
 *
 * The supervisor sets up as the one-process server does (configuration,
 * TLS, the TUN, the intranet's programs, the control socket, the metrics
 * listener, the listener), with the TUN made of N queues (IFF_MULTI_QUEUE,
 * TUNSETOWNER) and the steering program and its maps (net/steer.h).  It
 * then forks one worker per queue.  It keeps every queue descriptor for
 * the TUN's lifetime (queues are positions: steer.h) and holds no client:
 * it accepts and hands each connection (SCM_RIGHTS) to the worker with the
 * fewest connections below its cap, refusing cleanly (counted) when all are
 * full; it answers `state` from the counters the workers publish in shared
 * memory, gathers `clients` and `disconnect` from every worker (one second
 * at most each), passes SIGHUP on once its own reload succeeded, and
 * restarts a worker that died on the same queue (its map entries swept
 * first, backoff doubling from 1 s to 30 s, counted in `state`).
 *
 * A worker holds its clients, reads and writes its own TUN queue, claims
 * its clients' addresses in the steering map (one owner across all
 * workers: BPF_NOEXIST), and hands a packet for another worker's client to
 * that worker through a shared-memory ring (common/ring.h), never through
 * the kernel (which would decrement the hop limit and send Redirects).
 *
 * Error convention: setup functions return 0 or -1 with err[ERRLEN];
 * packet functions return 0 or -1 (dropped; the caller counts it). */
#ifndef IPHTTPS_WORKERS_H
#define IPHTTPS_WORKERS_H

#include "common/errbuf.h"
#include "server/types.h"

/* What a ring's tag says a packet is (link.c decides, the receiver
 * applies the same rules to its own clients). */
enum wk_kind {
	WK_UNICAST = 1,         /* to the receiver's client holding the destination */
	WK_FLOOD,               /* mode Certificates multicast: to every client of the receiver */
	WK_DAD,                 /* a DAD NS: to the receiver's client holding the target */
	WK_NA,                  /* a multicast NA from a target's owner: to the receiver's DAD askers */
};

/* The number of workers --workers asks for (auto resolved: the online
 * CPUs, or more when --max-clients and --max-handshakes need more
 * descriptors than one process has); 1 means one process. */
long workers_wanted(const struct server_cfg *cfg, long nofile);
/* The acceptor's choice among n workers (n <= 64): the lowest load[i]
 * among the usable ones (bit i of usable) below their cap[i], the first
 * of equals; -1 when none has room. */
int workers_pick(int n, const uint64_t *load, const uint64_t *cap, uint64_t usable);
/* Before setup: s->w for n workers (n > 1). */
int workers_init(struct server *s, long n, char *err);
/* During setup, instead of tunio_open: the multi-queue TUN, the steering
 * maps and program.  Returns 0 or -1 (err). */
int workers_open_tun(struct server *s, char *err);
/* After setup and the privilege drop: fork the workers.  In the
 * supervisor returns 0 (or -1, err); a worker never returns. */
int workers_start(struct server *s, char *err);
/* The supervisor's accepted connection: handed to a worker or refused. */
void workers_dispatch(struct server *s, int fd, const struct sockaddr_storage *peer);

/* Worker, once its caps are known (server.c): it takes connections. */
void workers_ready(struct server *s);
/* The loop's hooks, in both kinds of process.  before_wait returns the
 * timeout to use (0 when ring packets wait). */
int workers_before_wait(struct server *s, int timeout);
void workers_after_wait(struct server *s);
void workers_tick(struct server *s, uint64_t now_ms);
void workers_end_of_turn(struct server *s);
/* Supervisor, SIGTERM/SIGINT: the workers are stopped and waited for. */
void workers_stop(struct server *s);
/* Supervisor, after its own successful reload: SIGHUP to every worker. */
void workers_reload(struct server *s);
int workers_is_worker(const struct server *s);
int workers_count(const struct server *s);
/* Supervisor, at the end: the queues, maps, rings and memory (s->w NULL). */
void workers_free(struct server *s);

/* Worker: the queue of another worker holding a (a /128 of the steering
 * map), or -1 (nobody, or this worker). */
int workers_owner(struct server *s, const struct in6_addr *a);
/* Worker: claim and release a in the steering map.  claim: 0, or -1 when
 * another worker's client holds it; an address this worker already holds
 * counts as claimed. */
int workers_claim(struct server *s, const struct in6_addr *a);
void workers_release(struct server *s, const struct in6_addr *a);
/* Worker: a packet to worker q's ring, or to every other worker's.
 * Returns 0, or -1 when a ring was full (dropped there). */
int workers_send(struct server *s, int q, const uint8_t *pkt, size_t len, enum wk_kind kind);
int workers_send_all(struct server *s, const uint8_t *pkt, size_t len, enum wk_kind kind);
/* LinkUp clients of every worker together (the flood's copies). */
unsigned workers_linkup_total(struct server *s);
/* The link-wide flood budget, shared by all workers: 1 if copies more
 * may go in this second (and counts them), 0 if not. */
int workers_flood_budget(struct server *s, uint64_t now_ms, uint64_t copies, uint64_t per_second);

/* Worker: --address-hold across workers, in a map every worker sees
 * (net/steer.h).  put: a reservation of a for the certificate key until
 * expires_ms (0, or -1 when the map refused it); other: 1 when a is kept
 * for another certificate (key NULL: any) now; del: the entry of a, or
 * with expired_only only when it has expired. */
int workers_resv_put(struct server *s, const struct in6_addr *a, const uint8_t key[16], uint64_t expires_ms);
int workers_resv_other(struct server *s, const struct in6_addr *a, const uint8_t *key, uint64_t now_ms);
void workers_resv_del(struct server *s, const struct in6_addr *a, int expired_only, uint64_t now_ms);

/* Worker, per-client prefixes: claim (0, or -1 when another worker's
 * client holds it or the map is full) and release a /64 in the steering
 * map; the pool's cursor shared by the workers (set it when set is not
 * NULL; returns it); the /64 a client key had last (index + 1, 0 for
 * none), or set it (returns *set, 0 when the table refused it). */
int workers_prefix_claim(struct server *s, const struct in6_addr *p);
void workers_prefix_release(struct server *s, const struct in6_addr *p);
uint64_t workers_pool_cursor(struct server *s, const uint64_t *set);
uint64_t workers_remembered(struct server *s, const struct in6_addr *key, const uint64_t *set);

/* Supervisor, for the control socket: the `Workers` array of state; the
 * clients of every worker (an array; a worker that did not answer within a
 * second is an object naming it); disconnect on every worker. */
struct json_object *workers_state_json(struct server *s);
struct json_object *workers_gather(struct server *s, const char *cmd);

#endif
