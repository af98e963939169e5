/* The server as a supervisor and workers: see workers.h. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/capability.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fdpass.h"
#include "common/json.h"
#include "common/log.h"
#include "common/priv.h"
#include "common/ring.h"
#include "net/steer.h"
#include "server/link.h"
#include "server/server.h"
#include "server/status.h"
#include "server/workers.h"

#define RING_SLOTS          1024
#define RING_SLOTS_BIG      256     /* --max-packet beyond 4 KiB */
#define RING_POP_BATCH      256
#define HANDOFF_BATCH       64
#define BACKOFF_FIRST_MS    1000
#define BACKOFF_MAX_MS      30000
#define STABLE_MS           60000   /* a worker that lived this long starts the backoff afresh */
#define GATHER_MS           1000
#define STOP_WAIT_MS        5000

enum wk_state { WK_STARTING = 0, WK_RUNNING, WK_BACKOFF, WK_STOPPED };
static const char *const wk_state_names[] = { "starting", "running", "restarting", "stopped" };

/* One worker's slot in the shared segment.  The supervisor writes pid,
 * state, restarts, gen; the worker everything else (one writer each). */
struct wk_slot {
	int32_t pid;
	uint32_t state, restarts, gen;
	uint64_t received;              /* connections received from the supervisor */
	uint64_t cap;                   /* connections it can hold (its descriptor limit) */
	uint32_t n_conns, n_linkup, n_handshakes;
	uint64_t queued;
	struct server_stats st;
	struct tunio_stats tun;
};

struct wk_shared {
	uint64_t flood_window_ms, flood_copies;  /* the link-wide flood budget */
	uint64_t pool_cursor;                   /* per-client mode: where the next /64 is looked for */
	struct wk_slot slot[];
};

/* Messages on a worker's socketpair (SOCK_SEQPACKET). */
enum { MSG_CONN = 1, MSG_CMD, MSG_REPLY };
struct wk_msg {
	uint32_t type, seq;
	struct sockaddr_storage peer;   /* MSG_CONN */
	char cmd[256];                  /* MSG_CMD */
};

struct wk_proc {
	struct ev_handler pid_h;        /* the worker's pidfd (supervisor) */
	struct server *srv;
	int idx;
	pid_t pid;
	int sup_fd, wk_fd;              /* the socketpair: supervisor's end, worker's end */
	uint64_t sent;                  /* connections handed over to this incarnation */
	uint64_t started_ms, restart_at_ms, backoff_ms;
};

struct workers {
	int n, self;                    /* self: -1 in the supervisor */
	uint16_t gen;                   /* worker: its incarnation */
	pid_t sup_pid;
	struct wk_shared *sh;
	size_t sh_len;
	struct steer steer;
	int resv_fd;                    /* reservations of every worker (--address-hold) */
	int remembered_fd;              /* per-client mode: client key -> its last /64's index + 1 */
	int vnet;
	int qfd[SERVER_MAX_WORKERS];
	struct wk_proc p[SERVER_MAX_WORKERS];
	struct ring **ring;             /* [from * n + to] */
	/* supervisor */
	struct server_stats own, prev, dead;  /* its own counts; the last sum; dead incarnations' */
	struct tunio_stats dead_tun;
	uint32_t seq;
	/* worker */
	struct ev_handler hand_h;
	struct ev_handler ring_h[SERVER_MAX_WORKERS];
	long rlim;
};

static struct ring *ring_of(struct workers *w, int from, int to)
{
	return w->ring[from * w->n + to];
}

int workers_count(const struct server *s)
{
	return s->w ? s->w->n : 1;
}

int workers_is_worker(const struct server *s)
{
	return s->w && s->w->self >= 0;
}

/* ---- start-up ---- */

long workers_wanted(const struct server_cfg *cfg, long nofile)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN), room, need;

	if (cfg->workers != 0)
		return cfg->workers;
	if (cpus < 1)
		cpus = 1;
	room = nofile ? nofile - SERVER_FD_RESERVE : 0;
	need = room > 0 ? (cfg->max_clients + cfg->max_handshakes + room - 1) / room : 1;
	need = need > cpus ? need : cpus;
	return need > SERVER_MAX_WORKERS ? SERVER_MAX_WORKERS : need;
}

int workers_init(struct server *s, long n, char *err)
{
	struct workers *w = calloc(1, sizeof(*w));
	uint32_t slot = (uint32_t)(s->cfg->max_packet > 4096 ? s->cfg->max_packet : 4096);

	if (!w || !(w->ring = calloc((size_t)(n * n), sizeof(*w->ring)))) {
		free(w);
		snprintf(err, ERRLEN, "out of memory");
		return -1;
	}
	s->w = w;
	w->n = (int)n;
	w->self = -1;
	w->sup_pid = getpid();
	w->steer.addrs_fd = w->steer.prefixes_fd = w->steer.prog_fd = w->resv_fd = w->remembered_fd = -1;
	for (int i = 0; i < w->n; i++) {
		w->qfd[i] = w->p[i].sup_fd = w->p[i].wk_fd = w->p[i].pid_h.fd = -1;
		w->p[i].srv = s;
		w->p[i].idx = i;
	}
	w->sh_len = sizeof(struct wk_shared) + (size_t)n * sizeof(struct wk_slot);
	w->sh = mmap(NULL, w->sh_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (w->sh == MAP_FAILED) {
		w->sh = NULL;
		snprintf(err, ERRLEN, "shared memory for %ld workers: %s", n, strerror(errno));
		return -1;
	}
	for (int a = 0; a < w->n; a++)
		for (int b = 0; b < w->n; b++) {
			if (a == b)
				continue;
			w->ring[a * w->n + b] = ring_create(slot > 4096 ? RING_SLOTS_BIG : RING_SLOTS, slot, err);
			if (!w->ring[a * w->n + b])
				return -1;
		}
	return 0;
}

int workers_open_tun(struct server *s, char *err)
{
	struct workers *w = s->w;
	uint32_t max_addrs = (uint32_t)(s->cfg->max_clients * s->cfg->max_addrs * 2);
	uint32_t max_prefixes = (uint32_t)(s->cfg->max_clients * 2);
	int hs = 10;

	if (max_addrs > STEER_MAX_ENTRIES)
		max_addrs = STEER_MAX_ENTRIES;
	/* Owner root: an unprivileged local user cannot attach a queue (steer.h). */
	if (s->cfg->offload && steer_tun_open(s->tun_name, w->n, IFF_VNET_HDR, 0, w->qfd, err) == 0) {
		if (ioctl(w->qfd[0], TUNSETVNETHDRSZ, &hs) == 0 &&
		    ioctl(w->qfd[0], TUNSETOFFLOAD, (unsigned long)(TUN_F_CSUM | TUN_F_TSO6)) == 0) {
			w->vnet = 1;
		} else {
			log_warnx("tun %s: no offload (TUNSETOFFLOAD: %s); packet by packet", s->tun_name,
				  strerror(errno));
			for (int i = 0; i < w->n; i++)
				close(w->qfd[i]);
		}
	} else if (s->cfg->offload) {
		log_warnx("tun %s: no offload (%s); packet by packet", s->tun_name, err);
	}
	if (!w->vnet && steer_tun_open(s->tun_name, w->n, 0, 0, w->qfd, err) < 0)
		return -1;
	if (max_prefixes > STEER_MAX_ENTRIES)
		max_prefixes = STEER_MAX_ENTRIES;
	if (steer_create(&w->steer, max_addrs, max_prefixes, err) < 0 || steer_attach(&w->steer, w->qfd[0], err) < 0 ||
	    (w->resv_fd = steer_table_create("resv", 24, max_addrs < 65536 ? max_addrs : 65536, err)) < 0 ||
	    (w->remembered_fd = steer_table_create("remembered", sizeof(uint64_t), 65536, err)) < 0)
		return -1;
	/* The supervisor reads no packet: its tunio only names the device. */
	if (tunio_attach(&s->tun, -1, w->vnet, 1280, NULL, NULL) < 0) {
		snprintf(err, ERRLEN, "out of memory");
		return -1;
	}
	log_info("tun %s: %d queues (one per worker), steered by destination (eBPF), owner root", s->tun_name,
		 w->n);
	return 0;
}

/* ---- the supervisor's side of a worker ---- */

static void on_worker_exit(struct evloop *ev, struct ev_handler *h, uint32_t events);
static void worker_main(struct server *s, int i) __attribute__((noreturn));

static int spawn(struct server *s, int i, char *err)
{
	struct workers *w = s->w;
	struct wk_proc *p = &w->p[i];
	struct wk_slot *sl = &w->sh->slot[i];
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(err, ERRLEN, "worker %d: socketpair: %s", i, strerror(errno));
		return -1;
	}
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	p->sup_fd = sv[0];
	p->wk_fd = sv[1];
	p->sent = 0;
	memset(&sl->st, 0, sizeof(sl->st));
	memset(&sl->tun, 0, sizeof(sl->tun));
	sl->received = 0;
	sl->n_conns = sl->n_linkup = sl->n_handshakes = 0;
	sl->queued = 0;
	sl->cap = 0;
	sl->gen = (sl->gen + 1) & 0xffff;
	sl->state = WK_STARTING;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		snprintf(err, ERRLEN, "worker %d: fork: %s", i, strerror(errno));
		close(sv[0]);
		close(sv[1]);
		p->sup_fd = p->wk_fd = -1;
		return -1;
	}
	if (pid == 0)
		worker_main(s, i);
	close(p->wk_fd);
	p->wk_fd = -1;
	p->pid = pid;
	p->started_ms = ev_now_ms();
	sl->pid = pid;
	p->pid_h.fd = (int)syscall(SYS_pidfd_open, pid, 0);
	p->pid_h.cb = on_worker_exit;
	if (p->pid_h.fd < 0 || ev_add(&s->ev, &p->pid_h, EPOLLIN) < 0) {
		snprintf(err, ERRLEN, "worker %d: pidfd: %s", i, strerror(errno));
		return -1;
	}
	log_info("worker %d: pid %d, TUN queue %d, generation %u", i, (int)pid, i, (unsigned)sl->gen);
	return 0;
}

int workers_start(struct server *s, char *err)
{
	for (int i = 0; i < s->w->n; i++)
		if (spawn(s, i, err) < 0)
			return -1;
	return 0;
}

static void add_stats(uint64_t *dst, const uint64_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] += src[i];
}

#define NSTAT (sizeof(struct server_stats) / sizeof(uint64_t))
#define NTUN (sizeof(struct tunio_stats) / sizeof(uint64_t))

/* A worker ended: its entries in the maps swept, its counters kept in the
 * totals, a successor after the backoff. */
static void on_worker_exit(struct evloop *ev, struct ev_handler *h, uint32_t events)
{
	struct wk_proc *p = (struct wk_proc *)h;
	struct server *s = p->srv;
	struct workers *w = s->w;
	struct wk_slot *sl = &w->sh->slot[p->idx];
	uint64_t now = ev_now_ms();
	int status = 0;
	long swept;

	(void)events;
	if (waitpid(p->pid, &status, WNOHANG) == 0)
		return;
	ev_del(&s->ev, h);
	close(h->fd);
	h->fd = -1;
	close(p->sup_fd);
	p->sup_fd = -1;
	swept = steer_sweep(&w->steer, (uint16_t)p->idx, (uint16_t)sl->gen);
	add_stats((uint64_t *)&w->dead, (const uint64_t *)&sl->st, NSTAT);
	add_stats((uint64_t *)&w->dead_tun, (const uint64_t *)&sl->tun, NTUN);
	memset(&sl->st, 0, sizeof(sl->st));
	memset(&sl->tun, 0, sizeof(sl->tun));
	sl->n_conns = sl->n_linkup = sl->n_handshakes = 0;
	sl->queued = 0;
	sl->pid = 0;
	if (s->stopping) {
		sl->state = WK_STOPPED;
		return;
	}
	sl->restarts++;
	sl->state = WK_BACKOFF;
	if (now - p->started_ms >= STABLE_MS || !p->backoff_ms)
		p->backoff_ms = BACKOFF_FIRST_MS;
	else if ((p->backoff_ms *= 2) > BACKOFF_MAX_MS)
		p->backoff_ms = BACKOFF_MAX_MS;
	p->restart_at_ms = now + p->backoff_ms;
	if (WIFSIGNALED(status))
		log_errx("worker %d (pid %d) killed by signal %d; %ld address%s of its clients released, "
			 "a successor on queue %d in %llu s", p->idx, (int)p->pid, WTERMSIG(status), swept,
			 swept == 1 ? "" : "es", p->idx, (unsigned long long)(p->backoff_ms / 1000));
	else
		log_errx("worker %d (pid %d) exited with status %d; %ld address%s of its clients released, "
			 "a successor on queue %d in %llu s", p->idx, (int)p->pid, WEXITSTATUS(status), swept,
			 swept == 1 ? "" : "es", p->idx, (unsigned long long)(p->backoff_ms / 1000));
}

int workers_pick(int n, const uint64_t *load, const uint64_t *cap, uint64_t usable)
{
	int best = -1;

	for (int i = 0; i < n && i < 64; i++) {
		if (!(usable >> i & 1) || load[i] >= cap[i])
			continue;
		if (best < 0 || load[i] < load[best])
			best = i;
	}
	return best;
}

/* The worker with the fewest connections below its cap (connections
 * handed over and not yet received count), or -1. */
static int least_loaded(struct workers *w, uint64_t skip)
{
	uint64_t load[SERVER_MAX_WORKERS], cap[SERVER_MAX_WORKERS], usable = 0;

	for (int i = 0; i < w->n; i++) {
		struct wk_slot *sl = &w->sh->slot[i];
		uint64_t received = __atomic_load_n(&sl->received, __ATOMIC_ACQUIRE);
		load[i] = __atomic_load_n(&sl->n_conns, __ATOMIC_RELAXED) +
			  (w->p[i].sent > received ? w->p[i].sent - received : 0);
		cap[i] = __atomic_load_n(&sl->cap, __ATOMIC_RELAXED);
		if (w->p[i].sup_fd >= 0 && sl->state == WK_RUNNING && !(skip >> i & 1))
			usable |= 1ull << i;
	}
	return workers_pick(w->n, load, cap, usable);
}

static int send_msg(int sock, const struct wk_msg *m, int fd)
{
	return fdpass_send(sock, m, sizeof(*m), fd, MSG_DONTWAIT);
}

/* One message and the descriptor it carries (or -1); -1 when none. */
static int recv_msg(int sock, struct wk_msg *m, int *fd)
{
	ssize_t n = fdpass_recv(sock, m, sizeof(*m), fd, MSG_DONTWAIT);

	if (n >= 0 && n != (ssize_t)sizeof(*m)) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		errno = EPROTO;
		return -1;
	}
	return n < 0 ? -1 : 0;
}

static void refuse_full(struct server *s, const char *why)
{
	s->st.refused_full++;
	s->st.refused[REFUSE_MAX_CLIENTS]++;
	if (s->st.refused_full == 1 || s->st.refused_full % 1000 == 0)
		log_warnx("%s: refusing connections (%llu so far)", why,
			  (unsigned long long)s->st.refused_full);
}

void workers_dispatch(struct server *s, int fd, const struct sockaddr_storage *peer)
{
	struct workers *w = s->w;
	struct wk_msg m;
	uint64_t skip = 0;
	int i;

	if (s->n_linkup >= (unsigned long)s->max_clients) {
		refuse_full(s, "--max-clients reached");
		close(fd);
		return;
	}
	memset(&m, 0, sizeof(m));
	m.type = MSG_CONN;
	m.peer = *peer;
	while ((i = least_loaded(w, skip)) >= 0) {
		if (send_msg(w->p[i].sup_fd, &m, fd) == 0) {
			w->p[i].sent++;
			close(fd);
			return;
		}
		/* Its socket is full (a worker that does not read): the next. */
		if (w->p[i].sent % 1000 == 0)
			log_warn("worker %d: handing a connection over", i);
		skip |= 1ull << i;
	}
	refuse_full(s, "every worker is at its descriptor cap");
	close(fd);
}

static void restart_due(struct server *s, uint64_t now)
{
	struct workers *w = s->w;
	char err[ERRLEN];

	for (int i = 0; i < w->n; i++) {
		struct wk_proc *p = &w->p[i];
		if (w->sh->slot[i].state != WK_BACKOFF || now < p->restart_at_ms)
			continue;
		if (spawn(s, i, err) < 0) {
			log_errx("%s; trying again later", err);
			w->sh->slot[i].state = WK_BACKOFF;
			p->restart_at_ms = now + BACKOFF_MAX_MS;
		}
	}
}

/* s->st and the client counts become the sums over the workers (plus what
 * the supervisor counted itself: refusals, control and metrics). */
static void aggregate(struct server *s)
{
	struct workers *w = s->w;
	uint64_t *st = (uint64_t *)&s->st, *own = (uint64_t *)&w->own, *prev = (uint64_t *)&w->prev;
	uint64_t *tun = (uint64_t *)&s->tun.st;
	unsigned conns = 0, linkup = 0, hs = 0;
	uint64_t queued = 0;

	for (size_t k = 0; k < NSTAT; k++)
		own[k] += st[k] - prev[k];
	memcpy(st, own, sizeof(s->st));
	add_stats(st, (const uint64_t *)&w->dead, NSTAT);
	memcpy(tun, &w->dead_tun, sizeof(s->tun.st));
	for (int i = 0; i < w->n; i++) {
		struct wk_slot *sl = &w->sh->slot[i];
		add_stats(st, (const uint64_t *)&sl->st, NSTAT);
		add_stats(tun, (const uint64_t *)&sl->tun, NTUN);
		conns += __atomic_load_n(&sl->n_conns, __ATOMIC_RELAXED);
		linkup += __atomic_load_n(&sl->n_linkup, __ATOMIC_RELAXED);
		hs += __atomic_load_n(&sl->n_handshakes, __ATOMIC_RELAXED);
		queued += __atomic_load_n(&sl->queued, __ATOMIC_RELAXED);
	}
	memcpy(prev, st, sizeof(s->st));
	s->n_conns = conns;
	s->n_linkup = linkup;
	s->n_handshakes = hs;
	s->queued = queued;
}

void workers_free(struct server *s)
{
	struct workers *w = s->w;

	if (!w)
		return;
	for (int i = 0; i < w->n * w->n; i++)
		if (w->ring[i])
			ring_destroy(w->ring[i]);
	free(w->ring);
	for (int i = 0; i < w->n; i++) {
		if (w->qfd[i] >= 0)
			close(w->qfd[i]);
		if (w->p[i].sup_fd >= 0)
			close(w->p[i].sup_fd);
		if (w->p[i].pid_h.fd >= 0)
			close(w->p[i].pid_h.fd);
	}
	steer_close(&w->steer);
	if (w->resv_fd >= 0)
		close(w->resv_fd);
	if (w->remembered_fd >= 0)
		close(w->remembered_fd);
	if (w->sh)
		munmap(w->sh, w->sh_len);
	free(w);
	s->w = NULL;
}

void workers_stop(struct server *s)
{
	struct workers *w = s->w;
	uint64_t deadline = ev_now_ms() + STOP_WAIT_MS;

	if (!w->sh)
		return;
	for (int i = 0; i < w->n; i++)
		if (w->p[i].pid_h.fd >= 0)
			kill(w->p[i].pid, SIGTERM);
	for (int i = 0; i < w->n; i++) {
		struct pollfd pf = { w->p[i].pid_h.fd, POLLIN, 0 };
		uint64_t now = ev_now_ms();
		if (pf.fd < 0)
			continue;
		if (poll(&pf, 1, now < deadline ? (int)(deadline - now) : 0) == 0) {
			log_warnx("worker %d (pid %d) still running after %d s: killed", i, (int)w->p[i].pid,
				  STOP_WAIT_MS / 1000);
			kill(w->p[i].pid, SIGKILL);
		}
		on_worker_exit(&s->ev, &w->p[i].pid_h, POLLIN);
		if (w->p[i].pid_h.fd >= 0) {       /* not reaped yet: wait for it */
			waitpid(w->p[i].pid, NULL, 0);
			on_worker_exit(&s->ev, &w->p[i].pid_h, POLLIN);
		}
	}
	aggregate(s);
}

void workers_reload(struct server *s)
{
	struct workers *w = s->w;

	for (int i = 0; i < w->n; i++)
		if (w->p[i].pid_h.fd >= 0)
			kill(w->p[i].pid, SIGHUP);
}

struct json_object *workers_state_json(struct server *s)
{
	struct workers *w = s->w;
	struct json_object *a = json_object_new_array();

	for (int i = 0; i < w->n; i++) {
		struct wk_slot *sl = &w->sh->slot[i];
		struct json_object *o = json_object_new_object();
		json_put_u64(o, "Worker", (uint64_t)i);
		json_put_u64(o, "PID", (uint64_t)(sl->pid > 0 ? sl->pid : 0));
		json_put_str(o, "State", sl->state < 4 ? wk_state_names[sl->state] : "?");
		json_put_u64(o, "Clients", sl->n_linkup);
		json_put_u64(o, "Connections", sl->n_conns);
		json_put_u64(o, "Capacity", sl->cap);
		json_put_u64(o, "Restarts", sl->restarts);
		json_object_array_add(a, o);
	}
	return a;
}

/* The answer of worker i to a command sent with seq: its JSON, or NULL. */
static struct json_object *read_reply(struct workers *w, int i, uint32_t seq, uint64_t deadline)
{
	for (;;) {
		uint64_t now = ev_now_ms();
		struct pollfd pf = { w->p[i].sup_fd, POLLIN, 0 };
		struct wk_msg m;
		int fd;

		/* Past the deadline (a silent worker took the time) an answer
		 * already waiting is still taken. */
		if (poll(&pf, 1, now >= deadline ? 0 : (int)(deadline - now)) <= 0)
			return NULL;
		if (recv_msg(w->p[i].sup_fd, &m, &fd) < 0)
			continue;
		if (m.type == MSG_REPLY && m.seq == seq && fd >= 0) {
			struct json_object *o = json_object_from_fd(fd);
			close(fd);
			return o;
		}
		if (fd >= 0)
			close(fd);
	}
}

struct json_object *workers_gather(struct server *s, const char *cmd)
{
	struct workers *w = s->w;
	struct json_object *all = json_object_new_array(), *ids = json_object_new_array(), *err = NULL;
	uint64_t deadline = ev_now_ms() + GATHER_MS;
	int disconnect = !strncmp(cmd, "disconnect ", 11);
	struct wk_msg m;
	int sent[SERVER_MAX_WORKERS];

	memset(&m, 0, sizeof(m));
	m.type = MSG_CMD;
	m.seq = ++w->seq;
	snprintf(m.cmd, sizeof(m.cmd), "%s", cmd);
	for (int i = 0; i < w->n; i++)
		sent[i] = w->p[i].sup_fd >= 0 && send_msg(w->p[i].sup_fd, &m, -1) == 0;
	for (int i = 0; i < w->n; i++) {
		struct json_object *r = sent[i] ? read_reply(w, i, m.seq, deadline) : NULL, *v;
		if (!r) {
			struct json_object *o = json_object_new_object();
			char t[96];
			snprintf(t, sizeof(t), "worker %d (pid %d) did not answer within %d s", i,
				 (int)w->sh->slot[i].pid, GATHER_MS / 1000);
			json_put_str(o, "Worker", t);
			json_object_array_add(all, o);
			continue;
		}
		if (!disconnect) {
			for (size_t k = 0; json_object_is_type(r, json_type_array) && k < json_object_array_length(r); k++)
				json_object_array_add(all, json_object_get(json_object_array_get_idx(r, k)));
		} else if (json_object_object_get_ex(r, "Disconnected", &v)) {
			for (size_t k = 0; k < json_object_array_length(v); k++)
				json_object_array_add(ids, json_object_get(json_object_array_get_idx(v, k)));
		} else if (!err) {
			err = json_object_get(r);
		}
		json_object_put(r);
	}
	if (!disconnect) {
		json_object_put(ids);
		return all;
	}
	if (!json_object_array_length(ids) && err) {
		json_object_put(all);
		json_object_put(ids);
		return err;
	}
	if (err)
		json_object_put(err);
	{
		struct json_object *o = json_object_new_object();
		char t[64];
		snprintf(t, sizeof(t), "disconnected %zu connection%s", json_object_array_length(ids),
			 json_object_array_length(ids) == 1 ? "" : "s");
		json_put_str(o, "Result", t);
		json_object_object_add(o, "Disconnected", ids);
		if (json_object_array_length(all))
			json_object_object_add(o, "NotAnswered", all);
		else
			json_object_put(all);
		return o;
	}
}

/* ---- the worker ---- */

static void publish(struct server *s)
{
	struct wk_slot *sl = &s->w->sh->slot[s->w->self];

	memcpy(&sl->st, &s->st, sizeof(sl->st));
	memcpy(&sl->tun, &s->tun.st, sizeof(sl->tun));
	__atomic_store_n(&sl->n_conns, s->n_conns, __ATOMIC_RELAXED);
	__atomic_store_n(&sl->n_linkup, s->n_linkup, __ATOMIC_RELAXED);
	__atomic_store_n(&sl->n_handshakes, s->n_handshakes, __ATOMIC_RELAXED);
	__atomic_store_n(&sl->queued, s->queued, __ATOMIC_RELAXED);
}

/* What this worker can hold: its LinkUp clients and handshakes
 * (--max-clients and --max-handshakes within its descriptor limit,
 * server.c), and no more connections than its limit leaves room for.  The
 * limit is read again each second. */
static void update_cap(struct server *s)
{
	struct workers *w = s->w;
	struct rlimit rl;
	uint64_t cap = (uint64_t)s->max_clients + (uint64_t)s->max_handshakes;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
		uint64_t room = rl.rlim_cur > SERVER_FD_RESERVE ? rl.rlim_cur - SERVER_FD_RESERVE : 0;
		if (room < cap)
			cap = room;
		if (w->rlim && (long)rl.rlim_cur != w->rlim)
			log_info("worker %d: descriptor limit now %llu: holds at most %llu connections", w->self,
				 (unsigned long long)rl.rlim_cur, (unsigned long long)cap);
		w->rlim = (long)rl.rlim_cur;
	}
	__atomic_store_n(&w->sh->slot[w->self].cap, cap, __ATOMIC_RELAXED);
}

void workers_ready(struct server *s)
{
	update_cap(s);
	publish(s);
	s->w->sh->slot[s->w->self].state = WK_RUNNING;
}

static void on_handoff(struct evloop *ev, struct ev_handler *h, uint32_t events)
{
	struct workers *w = (struct workers *)((char *)h - offsetof(struct workers, hand_h));
	struct server *s = w->p[0].srv;
	struct wk_slot *sl = &w->sh->slot[w->self];

	(void)ev;
	if (events & (EPOLLHUP | EPOLLERR)) {
		log_errx("worker %d: the supervisor is gone; stopping", w->self);
		s->stopping = 1;
		s->ev.stop = 1;
		return;
	}
	for (int k = 0; k < HANDOFF_BATCH; k++) {
		struct wk_msg m;
		int fd;

		if (recv_msg(h->fd, &m, &fd) < 0)
			return;
		if (m.type == MSG_CONN && fd >= 0) {
			server_take_conn(s, fd, &m.peer);
			/* The connection counted before it stops counting as
			 * in flight, so the acceptor never sees this worker
			 * lighter than it is (least_loaded reads in the other
			 * order). */
			__atomic_store_n(&sl->n_conns, s->n_conns, __ATOMIC_RELAXED);
			__atomic_store_n(&sl->received, sl->received + 1, __ATOMIC_RELEASE);
		} else if (m.type == MSG_CMD) {
			struct json_object *r;
			struct wk_msg a;
			int mfd;

			m.cmd[sizeof(m.cmd) - 1] = 0;
			r = server_ctl(s, m.cmd);
			mfd = memfd_create("iphttps-reply", MFD_CLOEXEC);
			if (mfd >= 0 && r)
				json_object_to_fd(mfd, r, JSON_C_TO_STRING_PLAIN);
			if (mfd >= 0)
				lseek(mfd, 0, SEEK_SET);
			memset(&a, 0, sizeof(a));
			a.type = MSG_REPLY;
			a.seq = m.seq;
			if (mfd >= 0 && send_msg(h->fd, &a, mfd) < 0)
				log_warn("worker %d: answering the supervisor", w->self);
			if (mfd >= 0)
				close(mfd);
			if (r)
				json_object_put(r);
		} else if (fd >= 0) {
			close(fd);
		}
	}
}

static void ring_packet(void *arg, const uint8_t *pkt, size_t len, uint32_t tag)
{
	link_from_worker(arg, pkt, len, (int)tag);
}

static void on_ring(struct evloop *ev, struct ev_handler *h, uint32_t events)
{
	(void)ev;
	(void)h;
	(void)events;       /* popped in workers_after_wait */
}

/* Close everything inherited but what the worker uses. */
static void close_others(struct server *s, int i)
{
	struct workers *w = s->w;
	int keep[8 + 2 * SERVER_MAX_WORKERS * SERVER_MAX_WORKERS], n = 0, lo = 3;

	keep[n++] = s->sig_h.fd;
	keep[n++] = w->qfd[i];
	keep[n++] = w->p[i].wk_fd;
	keep[n++] = w->steer.addrs_fd;
	keep[n++] = w->steer.prefixes_fd;
	keep[n++] = w->resv_fd;
	keep[n++] = w->remembered_fd;
	for (int a = 0; a < w->n; a++)
		for (int b = 0; b < w->n; b++)
			if (a != b && (a == i || b == i))
				keep[n++] = ring_fd(ring_of(w, a, b));
	for (int x = 1; x < n; x++)          /* sort */
		for (int y = x; y > 0 && keep[y] < keep[y - 1]; y--) {
			int t = keep[y];
			keep[y] = keep[y - 1];
			keep[y - 1] = t;
		}
	for (int k = 0; k < n; k++) {
		if (keep[k] < lo)
			continue;
		if (keep[k] > lo)
			syscall(SYS_close_range, (unsigned)lo, (unsigned)keep[k] - 1, 0);
		lo = keep[k] + 1;
	}
	syscall(SYS_close_range, (unsigned)lo, ~0u, 0);
}

/* A worker needs no capability: its queue, the maps and its sockets are
 * descriptors it holds (measured: ../research/phase2-design.md, 1). */
static void drop_capabilities(int i)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) < 0)
		fatal("worker %d: giving up its capabilities", i);
}

static void worker_main(struct server *s, int i)
{
	struct workers *w = s->w;

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != w->sup_pid)
		_exit(1);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	w->self = i;
	w->gen = (uint16_t)w->sh->slot[i].gen;
	/* Connection Ids unique across workers and incarnations: i + 1, then
	 * every n-th (conn.c adds n). */
	s->next_id = 1 + (uint64_t)i + (uint64_t)(w->gen - 1) * (uint64_t)w->n * 1000000 - (uint64_t)w->n;
	close_others(s, i);
	/* Nothing of the supervisor's loop: a fresh epoll instance. */
	s->lst.h.fd = s->ctl.h.fd = -1;
	s->ps.fd = s->ps_h.fd = -1;     /* the helper is the supervisor's */
	s->metrics = NULL;
	s->ctl.open_conns = 0;
	s->ctl.oldest = s->ctl.newest = NULL;
	memset(&s->st, 0, sizeof(s->st));
	s->n_conns = s->n_linkup = s->n_handshakes = 0;
	s->queued = 0;
	if (ev_init(&s->ev) < 0)
		fatal("worker %d: epoll", i);
	if (tunio_attach(&s->tun, w->qfd[i], w->vnet, 1280, server_tun_write_failed, s) < 0)
		fatalx("worker %d: out of memory", i);
	s->tun_h.fd = w->qfd[i];
	w->hand_h.fd = w->p[i].wk_fd;
	w->hand_h.cb = on_handoff;
	if (ev_add(&s->ev, &s->sig_h, EPOLLIN) < 0 || ev_add(&s->ev, &s->tun_h, EPOLLIN) < 0 ||
	    ev_add(&s->ev, &w->hand_h, EPOLLIN) < 0)
		fatal("worker %d: epoll_ctl", i);
	for (int from = 0; from < w->n; from++) {
		if (from == i)
			continue;
		w->ring_h[from].fd = ring_fd(ring_of(w, from, i));
		w->ring_h[from].cb = on_ring;
		if (ev_add(&s->ev, &w->ring_h[from], EPOLLIN) < 0)
			fatal("worker %d: epoll_ctl", i);
	}
	w->rlim = 0;
	drop_capabilities(i);
	/* The supervisor's user and seccomp filter, inherited. */
	_exit(server_worker_loop(s));
}

int workers_before_wait(struct server *s, int timeout)
{
	struct workers *w = s->w;

	if (w->self < 0)
		return timeout;
	for (int from = 0; from < w->n; from++)
		if (from != w->self && !ring_sleep(ring_of(w, from, w->self)))
			timeout = 0;
	return timeout;
}

void workers_after_wait(struct server *s)
{
	struct workers *w = s->w;

	if (w->self < 0) {
		aggregate(s);
		return;
	}
	for (int from = 0; from < w->n; from++) {
		struct ring *r;
		if (from == w->self)
			continue;
		r = ring_of(w, from, w->self);
		ring_woken(r);
		ring_pop(r, RING_POP_BATCH, ring_packet, s);
	}
}

void workers_tick(struct server *s, uint64_t now_ms)
{
	if (s->w->self < 0) {
		restart_due(s, now_ms);
		aggregate(s);
		return;
	}
	if (getppid() != s->w->sup_pid) {
		s->stopping = 1;
		return;
	}
	update_cap(s);
}

void workers_end_of_turn(struct server *s)
{
	if (s->w->self >= 0)
		publish(s);
}

/* ---- address ownership and the rings (workers) ---- */

int workers_owner(struct server *s, const struct in6_addr *a)
{
	struct workers *w = s->w;
	uint16_t q, gen;

	if (!w || w->self < 0)
		return -1;
	/* As the steering program looks: the /128, then the /64 (per-client mode). */
	if (steer_lookup_addr(&w->steer, a, &q, &gen) != STEER_OK &&
	    (IN6_IS_ADDR_LINKLOCAL(a) || steer_lookup_prefix(&w->steer, a, &q, &gen) != STEER_OK))
		return -1;
	if (q == w->self || q >= w->n)
		return -1;
	return q;
}

int workers_claim(struct server *s, const struct in6_addr *a)
{
	struct workers *w = s->w;
	uint16_t q, gen;
	int r;

	if (!w || w->self < 0)
		return 0;
	r = steer_claim_addr(&w->steer, a, (uint16_t)w->self, w->gen);
	if (r == STEER_OK)
		return 0;
	if (r == STEER_TAKEN && steer_lookup_addr(&w->steer, a, &q, &gen) == STEER_OK &&
	    q == w->self && gen == w->gen)
		return 0;       /* ours already (a reservation of this worker) */
	if (r < 0)
		log_warn("worker %d: claiming an address in the steering map", w->self);
	return -1;
}

void workers_release(struct server *s, const struct in6_addr *a)
{
	struct workers *w = s->w;

	if (w && w->self >= 0)
		steer_release_addr(&w->steer, a, (uint16_t)w->self, w->gen);
}

int workers_send(struct server *s, int q, const uint8_t *pkt, size_t len, enum wk_kind kind)
{
	struct workers *w = s->w;
	struct ring *r;

	if (!w || w->self < 0 || q < 0 || q >= w->n || q == w->self)
		return -1;
	r = ring_of(w, w->self, q);
	if (ring_push(r, pkt, len, (uint32_t)kind) != RING_OK)
		return -1;
	ring_kick(r);
	return 0;
}

int workers_send_all(struct server *s, const uint8_t *pkt, size_t len, enum wk_kind kind)
{
	int rc = 0;

	if (!s->w || s->w->self < 0)
		return 0;
	for (int q = 0; q < s->w->n; q++)
		if (q != s->w->self && workers_send(s, q, pkt, len, kind) < 0)
			rc = -1;
	return rc;
}

unsigned workers_linkup_total(struct server *s)
{
	struct workers *w = s->w;
	unsigned n = 0;

	if (!w || w->self < 0)
		return s->n_linkup;
	for (int i = 0; i < w->n; i++)
		n += i == w->self ? s->n_linkup : __atomic_load_n(&w->sh->slot[i].n_linkup, __ATOMIC_RELAXED);
	return n;
}

int workers_flood_budget(struct server *s, uint64_t now_ms, uint64_t copies, uint64_t per_second)
{
	struct wk_shared *sh = s->w->sh;
	uint64_t win = __atomic_load_n(&sh->flood_window_ms, __ATOMIC_ACQUIRE);

	if (now_ms - win >= 1000 &&
	    __atomic_compare_exchange_n(&sh->flood_window_ms, &win, now_ms, 0, __ATOMIC_ACQ_REL,
					__ATOMIC_ACQUIRE))
		__atomic_store_n(&sh->flood_copies, 0, __ATOMIC_RELEASE);
	if (__atomic_add_fetch(&sh->flood_copies, copies, __ATOMIC_ACQ_REL) > per_second) {
		__atomic_sub_fetch(&sh->flood_copies, copies, __ATOMIC_ACQ_REL);
		return 0;
	}
	return 1;
}

/* ---- reservations across workers (bind.c) ---- */

struct resv {                   /* 24 bytes: the table's value */
	uint8_t key[16];
	uint64_t expires_ms;
};

int workers_resv_put(struct server *s, const struct in6_addr *a, const uint8_t key[16], uint64_t expires_ms)
{
	struct resv r;

	if (!workers_is_worker(s))
		return 0;
	memcpy(r.key, key, 16);
	r.expires_ms = expires_ms;
	return steer_table_put(s->w->resv_fd, a, &r);
}

int workers_resv_other(struct server *s, const struct in6_addr *a, const uint8_t *key, uint64_t now_ms)
{
	struct resv r;

	if (!workers_is_worker(s) || steer_table_get(s->w->resv_fd, a, &r) != STEER_OK)
		return 0;
	return r.expires_ms > now_ms && (!key || memcmp(r.key, key, 16));
}

void workers_resv_del(struct server *s, const struct in6_addr *a, int expired_only, uint64_t now_ms)
{
	struct resv r;

	if (!workers_is_worker(s))
		return;
	if (expired_only && (steer_table_get(s->w->resv_fd, a, &r) != STEER_OK || r.expires_ms > now_ms))
		return;
	steer_table_del(s->w->resv_fd, a);
}

/* ---- per-client prefixes across workers (link.c) ---- */

int workers_prefix_claim(struct server *s, const struct in6_addr *p)
{
	struct workers *w = s->w;

	return steer_claim_prefix(&w->steer, p, (uint16_t)w->self, w->gen) == STEER_OK ? 0 : -1;
}

void workers_prefix_release(struct server *s, const struct in6_addr *p)
{
	struct workers *w = s->w;

	if (w && w->self >= 0)
		steer_release_prefix(&w->steer, p, (uint16_t)w->self, w->gen);
}

uint64_t workers_pool_cursor(struct server *s, const uint64_t *set)
{
	if (set)
		__atomic_store_n(&s->w->sh->pool_cursor, *set, __ATOMIC_RELAXED);
	return __atomic_load_n(&s->w->sh->pool_cursor, __ATOMIC_RELAXED);
}

uint64_t workers_remembered(struct server *s, const struct in6_addr *key, const uint64_t *set)
{
	uint64_t v = 0;

	if (set)
		return steer_table_put(s->w->remembered_fd, key, set) == 0 ? *set : 0;
	return steer_table_get(s->w->remembered_fd, key, &v) == STEER_OK ? v : 0;
}
