/* The server's setup and its one event loop: listener, TUN, signals, the
 * control socket, a one-second tick; at the end of every loop turn the
 * connections that got data are flushed (many packets per TLS record) and the
 * closed ones freed. */
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <limits.h>
#include <unistd.h>

#include "common/log.h"
#include "common/priv.h"
#include "common/sdnotify.h"
#include "net/tun.h"
#include <linux/capability.h>

#include "server/bind.h"
#include "server/conn.h"
#include "server/crl.h"
#include "server/metrics.h"
#include "server/helper.h"
#include "server/intranet.h"
#include "server/scripts.h"
#include "tls/tls.h"
#include "server/link.h"
#include "server/server.h"
#include "server/status.h"
#include "server/workers.h"

#define TUN_BATCH 64
#define SWAP_FIELD(a, b, f) do { char *t_ = (a)->f; (a)->f = (b)->f; (b)->f = t_; } while (0)
#define ACCEPT_BATCH 64

void server_mark_resume(struct conn *c)
{
	if (c->pending_read)
		return;
	c->pending_read = 1;
	c->resume_next = c->srv->resume;
	c->srv->resume = c;
}

/* Connections that used their read share last turn go on now, once each:
 * one busy client never keeps the loop from the others. */
static void resume_reads(struct server *s)
{
	struct conn *list = s->resume;

	s->resume = NULL;
	while (list) {
		struct conn *c = list;
		list = c->resume_next;
		c->resume_next = NULL;
		conn_resume_read(c);   /* clears pending_read; may mark again */
	}
}

void server_mark_dirty(struct conn *c)
{
	if (c->dirty)
		return;
	c->dirty = 1;
	c->dirty_next = c->srv->dirty;
	c->srv->dirty = c;
}

/* A new connection may start its handshake: 1, or 0 refused (counted and
 * logged once per source).  LinkUp clients are capped by --max-clients;
 * handshakes by --max-handshakes (the oldest makes room: an honest
 * client's handshake takes milliseconds, an idle socket waits to be the
 * oldest) and per source address or /64. */
static int admit(struct server *s, const struct sockaddr_storage *peer)
{
	struct in6_addr k = conn_source_key(peer);
	uintptr_t v = (uintptr_t)addrtab_get(&s->per_source, &k);
	char a[INET6_ADDRSTRLEN];

	if (s->n_linkup >= (unsigned long)s->max_clients) {
		s->st.refused_full++;
		s->st.refused[REFUSE_MAX_CLIENTS]++;
		if (s->st.refused_full == 1 || s->st.refused_full % 1000 == 0)
			log_warnx("--max-clients %ld reached: refusing connections (%llu so far)",
				  s->max_clients, (unsigned long long)s->st.refused_full);
		return 0;
	}
	if ((v & ~CONN_SOURCE_LOGGED) >= (uintptr_t)s->cfg->max_per_source) {
		s->st.refused[REFUSE_PER_SOURCE]++;
		if (!(v & CONN_SOURCE_LOGGED)) {
			log_warnx("%s: %ld handshakes from this source already (--max-handshakes-per-source): refusing more (logged once while it lasts)",
				  inet_ntop(AF_INET6, &k, a, sizeof(a)), s->cfg->max_per_source);
			addrtab_put(&s->per_source, &k, (void *)(v | CONN_SOURCE_LOGGED));
		}
		return 0;
	}
	if (s->n_handshakes >= (unsigned long)s->max_handshakes && s->hs_old) {
		if (s->st.refused[REFUSE_HANDSHAKE_EVICTED]++ % 1000 == 0)
			log_warnx("--max-handshakes %ld reached: closing the oldest handshake for each new connection (%llu so far)",
				  s->max_handshakes, (unsigned long long)s->st.refused[REFUSE_HANDSHAKE_EVICTED]);
		conn_close(s->hs_old, NULL);
	}
	return 1;
}

void server_take_conn(struct server *s, int fd, const struct sockaddr_storage *peer)
{
	int one = 1;

	if (!admit(s, peer)) {
		close(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	conn_accepted(s, fd, peer);
}

static void on_accept(struct evloop *ev, struct ev_handler *h, uint32_t events)
{
	struct listener *l = (struct listener *)h;
	struct server *s = l->srv;

	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		int fd = accept4(h->fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				/* The listener stays readable: stop watching it for a
				 * second instead of spinning. */
				if (!s->accept_paused++)
					log_warn("accept: out of file descriptors; pausing accepts for a second");
				ev_mod(&s->ev, &l->h, 0);
				s->accept_resume_ms = ev_now_ms() + 1000;
			}
			return;
		}
		if (s->w)
			workers_dispatch(s, fd, &peer);   /* the supervisor holds no client */
		else
			server_take_conn(s, fd, &peer);
	}
}

static int tun_packet(void *arg, const uint8_t *pkt, size_t len)
{
	link_from_tun(arg, pkt, len);
	return 0;
}

static void on_tun(struct evloop *ev, struct ev_handler *h, uint32_t events)
{
	struct server *s = (struct server *)((char *)h - offsetof(struct server, tun_h));

	for (int i = 0; i < TUN_BATCH; i++) {
		int r = tunio_read(&s->tun, tun_packet, s);
		if (r < 0)
			log_warn("tun %s: read", s->tun_name);
		if (r <= 0)
			return;
	}
}

/* A write to the TUN failed: counted for the client that sent the packets. */
void server_tun_write_failed(void *arg, void *owner, unsigned npkts)
{
	struct server *s = arg;
	struct conn *c = owner;

	while (npkts--)
		link_drop(c, DROP_TUN);
	if (s->st.drops[DROP_TUN] <= 1)
		log_warn("tun %s: write (client #%llu)", s->tun_name, (unsigned long long)c->id);
}

static int setup_tls(struct server *s, char *err);
static int clamp_max_clients(struct server *s, char *err);

/* The TLS policy in force, at start-up and after a reload. */
static void log_tls_policy(struct server *s)
{
	char p[600];

	server_cfg_tls_policy(s->cfg, s->null_enc, p, sizeof(p));
	log_info("TLS: %s", p);
	if (s->cfg->tls_min != TLS_MIN_1_2 && s->cfg->transport == TRANSPORT_HTTPS)
		log_warnx("--tls-min %s: this server accepts TLS %s, legacy versions with weaker handshake hashes, for stock Windows 7 clients; prefer enabling TLS 1.2 on them (docs/windows.md)",
			  s->cfg->tls_min == TLS_MIN_1_0 ? "1.0" : "1.1",
			  s->cfg->tls_min == TLS_MIN_1_0 ? "1.0 and 1.1" : "1.1");
}

static int str_differs(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a && strcmp(a, b));
}

/* SIGHUP: read the configuration again.  TLS material and the null-suite
 * policy apply to new connections; routes and DNS to the next RAs; a change
 * of the authentication mode ends every connection (3.2.7.1).  What only a
 * restart can change (listen address, TUN, prefix) is named and kept. */
/* After a reload that changed what the RA says: an RA to every client at
 * once, not at the next --ra-interval. */
static void ra_changed(struct server *s, const struct ra_params *old)
{
	struct ra_params o = *old, n_ra = s->ra;
	uint8_t a[1500], b[1500];
	int la, lb;
	unsigned n = 0;

	memset(&o.dst, 0, sizeof(o.dst));       /* the template's per-send field */
	memset(&n_ra.dst, 0, sizeof(n_ra.dst));
	la = nd_build_ra(a, sizeof(a), &o);
	lb = nd_build_ra(b, sizeof(b), &n_ra);
	if (la == lb && la > 0 && !memcmp(a, b, (size_t)la))
		return;
	for (struct conn *c = s->conns; c; c = c->next)
		if (c->state == CONN_LINKUP) {
			link_send_ra(c, NULL);
			n++;
		}
	log_info("reload: the Router Advertisement changed; sent to %u client%s", n, n == 1 ? "" : "s");
}

static void reload(struct server *s)
{
	struct server_cfg *n = calloc(1, sizeof(*n)), *old = s->cfg;
	SSL_CTX *old_ctx = s->ssl_ctx;
	struct ra_params old_ra = s->ra;
	char err[ERRLEN];

	notify_reloading();
	if (!n || (server_helper_running(s) ? server_helper_reload(s, n, err) : !s->reload ? -1 : s->reload(n, err)) < 0) {
		int denied = n && strstr(err, "Permission denied") && s->cfg->run_as.drop;
		log_errx("reload: %s; keeping the running configuration%s%s%s", n ? err : "out of memory",
			 denied ? " (this daemon runs as " : "", denied ? s->cfg->run_as.name : "",
			 denied ? ": what it reads again must be readable to that user)" : "");
		free(n);
		notify_ready();
		return;
	}
	if (str_differs(n->listen, old->listen) || str_differs(n->tun, old->tun) ||
	    (n->prefix && str_differs(n->prefix, old->prefix)) || n->transport != old->transport ||
	    n->prefix_mode != old->prefix_mode || str_differs(n->prefix_pool, old->prefix_pool) ||
	    str_differs(n->metrics, old->metrics) || str_differs(n->workers_arg, old->workers_arg))
		log_warnx("reload: listen, transport, tun, prefix, metrics and workers changes need a restart; kept");
	if (intranet_cfg_differs(n, old))
		log_warnx("reload: --nat64 and --dns64 changes need a restart; kept");
	intranet_cfg_swap(n, old);
	/* Keep what cannot change while running. */
	SWAP_FIELD(n, old, listen);
	SWAP_FIELD(n, old, tun);
	SWAP_FIELD(n, old, prefix);
	SWAP_FIELD(n, old, prefix_pool);
	SWAP_FIELD(n, old, metrics);
	SWAP_FIELD(n, old, workers_arg);
	n->workers = old->workers;
	n->run_as = old->run_as;
	n->transport = old->transport;
	n->prefix_mode = old->prefix_mode;
	s->cfg = n;
	s->ssl_ctx = NULL;
	crl_reload(s);  /* a CRL that cannot be read keeps the one in use */
	if (setup_tls(s, err) < 0 || link_setup_ra(s, err) < 0) {
		log_errx("reload: %s; keeping the running configuration", err);
		notify_ready();
		if (s->ssl_ctx)
			SSL_CTX_free(s->ssl_ctx);
		s->ssl_ctx = old_ctx;
		s->ra = old_ra;
		s->cfg = old;
		intranet_cfg_swap(n, old);
		SWAP_FIELD(n, old, listen);
		SWAP_FIELD(n, old, tun);
		SWAP_FIELD(n, old, prefix);
		SWAP_FIELD(n, old, prefix_pool);
		SWAP_FIELD(n, old, metrics);
		server_cfg_free(n);
		free(n);
		return;
	}
	if (old_ctx)
		SSL_CTX_free(old_ctx); /* connections hold their own reference */
	if (clamp_max_clients(s, err) < 0)
		log_warnx("reload: %s; refusing new clients", err);
	for (size_t i = 0; i < n->paths.n && i < HTTP_MAX_PATHS - 1; i++)
		s->paths[i] = n->paths.v[i];
	s->paths[n->paths.n < HTTP_MAX_PATHS - 1 ? n->paths.n : HTTP_MAX_PATHS - 1] = NULL;
	log_info("reload: configuration read again (authentication %s, %zu routes)",
		 n->auth == AUTH_NONE ? "none" : "certificates", n->routes.n);
	log_tls_policy(s);
	if (n->auth != old->auth) {
		log_warnx("reload: authentication mode changed from %s to %s: ending all %u connections",
			  old->auth == AUTH_NONE ? "none" : "certificates",
			  n->auth == AUTH_NONE ? "none" : "certificates", s->n_conns);
		while (s->conns)
			conn_close(s->conns, "authentication mode changed");
		bind_drop_reservations(s);
	}
	/* Requests parsed later compare against the new paths; the old
	 * configuration's strings go with it. */
	for (struct conn *c = s->conns; c; c = c->next)
		if (c->hp)
			memcpy(c->hp->paths, s->paths, sizeof(c->hp->paths));
	crl_disconnect_revoked(s);
	ra_changed(s, &old_ra);
	certwatch_update(s);
	s->hooks.timeout_ms = (unsigned)n->hook_timeout * 1000;
	server_cfg_free(old);
	if (old != s->orig_cfg)
		free(old);
	if (s->w && !workers_is_worker(s))
		workers_reload(s);      /* checked here first; each worker applies it */
	notify_ready();
}

static void on_signal(struct evloop *ev, struct ev_handler *h, uint32_t events)
{
	struct server *s = (struct server *)((char *)h - offsetof(struct server, sig_h));
	struct signalfd_siginfo si;

	if (read(h->fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM) {
		log_info("signal %d: shutting down, disconnecting %u clients", si.ssi_signo, s->n_conns);
		notify_stopping();
		s->stopping = 1;
		ev->stop = 1;
	} else if (si.ssi_signo == SIGHUP) {
		reload(s);
	}
}

static int open_listener(struct server *s, char *err)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1, zero = 0;

	/* Socket activation: systemd keeps the socket across a restart, so a
	 * client that comes back at once (Windows retries at once after a
	 * lost link) waits in its backlog instead of being refused. */
	if ((fd = notify_listen_fd(s->lst.desc, sizeof(s->lst.desc), err)) == -2)
		return -1;
	if (fd >= 0) {
		s->lst.h.fd = fd;
		s->lst.h.cb = on_accept;
		s->lst.srv = s;
		log_info("listening on %s, the socket systemd passed (socket activation; --listen "
			 "is not used)", s->lst.desc);
		return ev_add(&s->ev, &s->lst.h, EPOLLIN);
	}
	if (server_parse_listen(s->cfg->listen, &ss, &len, err) < 0)
		return -1;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, ERRLEN, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6 &&
	    IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&ss)->sin6_addr))
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 4096) < 0) {
		snprintf(err, ERRLEN, "listen on %s: %s", s->cfg->listen, strerror(errno));
		close(fd);
		return -1;
	}
	s->lst.h.fd = fd;
	s->lst.h.cb = on_accept;
	s->lst.srv = s;
	snprintf(s->lst.desc, sizeof(s->lst.desc), "%s", s->cfg->listen);
	return ev_add(&s->ev, &s->lst.h, EPOLLIN);
}

/* Create and configure the TUN: no kernel link-local, MTU 1280, up, then
 * fe80::1 and PREFIX::1 (after up: LINUX-TUN.md), forwarding on. */
static int open_tun(struct server *s, char *err)
{
	char e[ERRLEN], a[INET6_ADDRSTRLEN];
	int fd;

	snprintf(s->tun_name, sizeof(s->tun_name), "%s", s->cfg->tun);
	if (s->w)
		fd = workers_open_tun(s, e);    /* one queue per worker, steered */
	else
		fd = tunio_open(&s->tun, s->tun_name, s->cfg->offload, 1280, server_tun_write_failed, s, e);
	if (fd < 0)
		goto fail;
	s->tun_h.fd = fd;
	s->tun_h.cb = on_tun;
	if (sysctl_v6_set(s->tun_name, "addr_gen_mode", "1", e) < 0 ||
	    sysctl_v6_set(s->tun_name, "accept_ra", "0", e) < 0 ||
	    sysctl_v6_set("all", "forwarding", "1", e) < 0 ||
	    tun_set_mtu(s->tun_name, 1280, e) < 0 ||
	    tun_set_txqueuelen(s->tun_name, TUN_TXQUEUELEN, e) < 0 || tun_set_up(s->tun_name, 1, e) < 0 ||
	    tun_addr_add(s->tun_name, &s->router_ll, 64, 1, e) < 0)
		goto fail;
	if (s->cfg->prefix_mode == PREFIX_PER_CLIENT) {
		/* The pool is routed to the TUN; each /64 belongs to a client. */
		if (tun_route_add(s->tun_name, &s->pool, s->pool_len, NULL, 0, e) < 0)
			goto fail;
		log_info("tun %s: up, mtu 1280, fe80::1, %s/%u routed here, one /64 per client, forwarding on",
			 s->tun_name, inet_ntop(AF_INET6, &s->pool, a, sizeof(a)), s->pool_len);
	} else {
		if (tun_addr_add(s->tun_name, &s->router_addr, 64, 1, e) < 0)
			goto fail;
		log_info("tun %s: up, mtu 1280, %s/64 and fe80::1, forwarding on", s->tun_name,
			 inet_ntop(AF_INET6, &s->router_addr, a, sizeof(a)));
	}
	return s->w ? 0 : ev_add(&s->ev, &s->tun_h, EPOLLIN);
fail:
	snprintf(err, ERRLEN, "%s", e);
	return -1;
}

static int open_signals(struct server *s)
{
	s->sig_h.cb = on_signal;
	return ev_add_signals(&s->ev, &s->sig_h);
}

static long nofile_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (rlim_t)LONG_MAX)
		return 0;
	return (long)rl.rlim_cur;
}

int server_check_nofile(char *err)
{
	long n = nofile_limit();

	if (n && n - SERVER_FD_RESERVE < 2) {    /* a client and a handshake */
		snprintf(err, ERRLEN, "the descriptor limit (RLIMIT_NOFILE) is %ld: no room for clients "
			 "once %d are kept for the TUN, listener and control socket; raise it (LimitNOFILE=)",
			 n, SERVER_FD_RESERVE);
		return -1;
	}
	return 0;
}

/* --max-clients and --max-handshakes within what RLIMIT_NOFILE allows, with
 * SERVER_FD_RESERVE kept for the rest: LinkUp clients and handshakes
 * together never take the last descriptors, so a client beyond is refused
 * cleanly (accepted, closed, counted) and the control socket keeps
 * working.  Handshakes get at most half of the room.  Sets s->max_clients
 * and s->max_handshakes; returns -1 (err set) when there is no room. */
static int clamp_max_clients(struct server *s, char *err)
{
	long room;

	s->max_clients = s->cfg->max_clients;
	s->max_handshakes = s->cfg->max_handshakes;
	if (!(s->nofile = nofile_limit()))
		return 0;
	if (server_check_nofile(err) < 0) {
		s->max_clients = 0;
		return -1;
	}
	room = s->nofile - SERVER_FD_RESERVE;
	if (s->w && !workers_is_worker(s))
		room *= workers_count(s);        /* the workers' descriptors, each process its own */
	if (s->max_clients + s->max_handshakes <= room)
		return 0;
	if (s->max_handshakes > room / 2)
		s->max_handshakes = room / 2 > 0 ? room / 2 : 1;
	if (s->max_clients > room - s->max_handshakes)
		s->max_clients = room - s->max_handshakes > 0 ? room - s->max_handshakes : 1;
	log_warnx("--max-clients %ld and --max-handshakes %ld lowered to %ld and %ld: the descriptor limit "
		  "(RLIMIT_NOFILE) is %ld and %d are kept for the TUN, listener and control socket; "
		  "clients beyond are refused", s->cfg->max_clients, s->cfg->max_handshakes, s->max_clients,
		  s->max_handshakes, s->nofile, SERVER_FD_RESERVE);
	return 0;
}

/* End of a loop turn: flush what was queued, free what was closed. */
static void end_of_turn(struct server *s)
{
	/* The TUN first: its queued packets name connections freed below. */
	tunio_flush(&s->tun);
	while (s->dirty) {
		struct conn *c = s->dirty;
		s->dirty = c->dirty_next;
		c->dirty = 0;
		c->dirty_next = NULL;
		if (c->state == CONN_CLOSED)
			continue;
		conn_flush(c);
	}
	while (s->graveyard) {
		struct conn *c = s->graveyard;
		if (c->dirty || c->pending_read)
			break; /* still on a list: freed next turn */
		s->graveyard = c->next;
		conn_free(c);
	}
	if (s->w)
		workers_end_of_turn(s);
}

static void tick(struct server *s, uint64_t now)
{
	struct conn *c, *next;

	if (s->accept_resume_ms && now >= s->accept_resume_ms) {
		s->accept_resume_ms = 0;
		ev_mod(&s->ev, &s->lst.h, EPOLLIN);
	}

	for (c = s->conns; c; c = next) {
		next = c->next;
		conn_tick(c, now);
	}
	bind_tick(s, now);
	if (s->w)
		workers_tick(s, now);
	if (!workers_is_worker(s)) {
		ctl_server_tick(&s->ctl, now);
		s->st.ctl_timeouts = s->ctl.timeouts;
	}
	/* Handshakes and request parsers come in bursts (a whole site
	 * reconnecting); what they used is given back to the system once
	 * they are done, or idle clients would look several KiB fatter. */
	if (s->freed_since_trim >= 64) {
		malloc_trim(0);
		s->freed_since_trim = 0;
	}
}

static void shutdown_all(struct server *s)
{
	while (s->conns)
		conn_close(s->conns, "server shutting down");
	end_of_turn(s);
	while (s->graveyard) {
		struct conn *c = s->graveyard;
		s->graveyard = c->next;
		conn_free(c);
	}
}

/* The link prefix: cfg->prefix is "P/64" (the command filled it in). */
static int setup_prefix(struct server *s, char *err)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash;

	snprintf(buf, sizeof(buf), "%s", s->cfg->prefix ? s->cfg->prefix : "");
	slash = strchr(buf, '/');
	if (slash)
		*slash = 0;
	if (!slash || strcmp(slash + 1, "64") || inet_pton(AF_INET6, buf, &s->prefix) != 1 ||
	    IN6_IS_ADDR_MULTICAST(&s->prefix) || IN6_IS_ADDR_LINKLOCAL(&s->prefix)) {
		snprintf(err, ERRLEN, "--prefix: '%s' is not a unicast IPv6 PREFIX/64", s->cfg->prefix);
		return -1;
	}
	memset(&s->prefix.s6_addr[8], 0, 8);
	s->router_addr = s->prefix;
	s->router_addr.s6_addr[15] = 1;
	return 0;
}

/* The TLS context of the configuration.  When --null-encryption was not
 * given and its default (prefer, with --auth none) cannot apply to the
 * server's key (not RSA), encrypted suites only, said at start-up. */
static int setup_tls(struct server *s, char *err)
{
	struct tls_server_opts o = {
		.cert_file = s->cfg->cert,
		.key_file = s->cfg->key,
		.client_ca_file = s->cfg->auth == AUTH_CERTIFICATES ? s->cfg->client_ca : NULL,
		.crls = s->crls,
		.null_enc = (enum null_enc_policy)s->cfg->null_enc,
		.min_version = server_cfg_tls_version(s->cfg),
		.resumption = s->cfg->tls_resumption == TLS_RESUMPTION_ON,
	};

	s->null_enc = s->cfg->null_enc;
	if (s->cfg->transport == TRANSPORT_HTTP)
		return 0;
	s->ssl_ctx = tls_server_ctx(&o, err);
	if (!s->ssl_ctx && !s->cfg->null_enc_explicit && o.null_enc != NULL_ENC_OFF) {
		log_warnx("%s: the server offers encrypted suites only", err);
		o.null_enc = NULL_ENC_OFF;
		s->null_enc = NULL_ENC_OFF;
		s->ssl_ctx = tls_server_ctx(&o, err);
	}
	if (s->ssl_ctx && s->cfg->tls_records == TLS_RECORDS_OWN && rec_ctx_prepare(s->ssl_ctx, err) < 0)
		return -1;
	return s->ssl_ctx ? 0 : -1;
}

/* What `systemctl status` shows: the clients and where the server listens. */
static void update_status(struct server *s)
{
	notify_status("%u client%s linked up, %u connection%s; listening on %s", s->n_linkup,
		      s->n_linkup == 1 ? "" : "s", s->n_conns, s->n_conns == 1 ? "" : "s",
		      s->lst.desc);
}

/* What the listener really does.  Plain HTTP authenticates nobody and
 * encrypts nothing: whoever reaches it joins the link, so on a wildcard
 * address (reachable from everywhere, not only from the balancer) it is
 * warned about. */
static void log_listening(struct server *s)
{
	struct server_cfg *cfg = s->cfg;
	const char *l = s->lst.desc;    /* --listen, or the socket systemd passed */

	if (cfg->transport == TRANSPORT_HTTP) {
		log_info("listening on %s (plain HTTP: no TLS and no client authentication here; the balancer in front terminates TLS%s), %u path(s), max %ld clients",
			 l, cfg->auth == AUTH_CERTIFICATES ? " and must check client certificates" : "",
			 (unsigned)cfg->paths.n, (long)s->max_clients);
		if (!strncmp(l, "[::]:", 5) || !strncmp(l, "0.0.0.0:", 8) || !strncmp(l, "*:", 2) || l[0] == ':')
			log_warnx("--transport http on the wildcard address %s: anyone who reaches this port joins the link unauthenticated; listen on the address only the balancer reaches (--listen 127.0.0.1:8080, or a private one)", l);
		return;
	}
	log_info("listening on %s (TLS, authentication %s), %u path(s), max %ld clients", l,
		 cfg->auth == AUTH_NONE ? "none" : "certificates", (unsigned)cfg->paths.n, (long)s->max_clients);
}

/* Everything the loop needs; 0, or the exit status with the failure logged
 * (an error): 2 for a configuration that cannot work, 1 for a step that
 * failed on this host. */
static int setup(struct server *s)
{
	char err[ERRLEN];

	if (setup_prefix(s, err) < 0 || crl_load(s, err) < 0 || setup_tls(s, err) < 0 ||
	    link_setup(s, err) < 0 ||
	    /* the intranet's plan is checked before anything changes too */
	    intranet_plan(s, err) < 0 || link_setup_ra(s, err) < 0) {
		log_errx("%s", err);
		return 2;
	}
	if (open_signals(s) < 0) {
		snprintf(err, sizeof(err), "signalfd: %s", strerror(errno));
		goto fail;
	}
	if (open_tun(s, err) < 0 || intranet_start(s, err) < 0 ||
	    ctl_server_open(&s->ctl, &s->ev, ctl_run_dir(s->cfg->run_dir), s->tun_name, server_ctl, s,
			    err) < 0 ||
	    open_listener(s, err) < 0 || metrics_open(s, err) < 0)
		goto fail;
	return 0;
fail:
	log_errx("%s", err);
	return 1;
}

/* The loop, the same in the one-process server, the supervisor and a
 * worker (workers.h adds its steps). */
static void run_loop(struct server *s)
{
	uint64_t next_tick = ev_now_ms() + 1000;
	int worker = workers_is_worker(s);

	while (!s->stopping) {
		uint64_t now = ev_now_ms();
		int timeout = s->dirty || s->resume ? 0 : (int)(next_tick > now ? next_tick - now : 0);
		int wd = worker ? -1 : notify_watchdog(now);
		if (wd >= 0 && wd < timeout)
			timeout = wd;
		if (s->w)
			timeout = workers_before_wait(s, timeout);
		if (ev_run_once(&s->ev, timeout) < 0 && errno != EINTR)
			fatal("epoll_wait");
		s->ev.stop = 0;
		if (s->w)
			workers_after_wait(s);
		resume_reads(s);
		now = ev_now_ms();
		if (now >= next_tick) {
			tick(s, now);
			if (!worker) {
				certwatch_tick(s, now);
				metrics_tick(s, now);
				update_status(s);
			}
			next_tick = now + 1000;
		}
		end_of_turn(s);
	}
}

int server_worker_loop(struct server *s)
{
	char err[ERRLEN];

	if (clamp_max_clients(s, err) < 0)
		log_errx("%s", err);
	workers_ready(s);
	run_loop(s);
	shutdown_all(s);
	scripts_drain(s);
	tunio_flush(&s->tun);
	return 0;
}

int server_main(struct server_cfg *cfg, server_reload_fn reload_fn,
		void (*on_ready)(void *arg), void *ready_arg)
{
	struct server *s = calloc(1, sizeof(*s));
	char err[ERRLEN];
	long nw;
	int rc = 1;

	if (!s)
		fatalx("out of memory");
	s->cfg = s->orig_cfg = cfg;
	s->reload = reload_fn;
	s->started = time(NULL);
	s->lst.h.fd = s->tun_h.fd = s->sig_h.fd = s->ps_h.fd = s->ps.fd = -1;
	s->ctl.h.fd = -1;
	for (size_t i = 0; i < cfg->paths.n && i < HTTP_MAX_PATHS - 1; i++)
		s->paths[i] = cfg->paths.v[i];
	inet_pton(AF_INET6, "fe80::1", &s->router_ll);
	if (ev_init(&s->ev) < 0 || addrtab_init(&s->addrs, 1024) < 0 ||
	    addrtab_init(&s->reserved, 64) < 0 || addrtab_init(&s->per_source, 64) < 0)
		fatal("event loop");
	scripts_init(s);
	nw = workers_wanted(cfg, nofile_limit());
	if (nw > 1 && workers_init(s, nw, err) < 0) {
		log_errx("%s", err);
		goto out;
	}
	if (clamp_max_clients(s, err) < 0) {
		log_errx("%s", err);
		goto out;
	}
	if ((rc = setup(s)) != 0)
		goto out;
	rc = 1;
	certwatch_update(s);
	/* Set up: the helper forked for what needs more (server/helper.h),
	 * then from here on the unprivileged user with CAP_NET_ADMIN only and
	 * the seccomp filter; the translator and the resolver start in the
	 * helper, and the server waits for the resolver to answer. */
	if (server_helper_start(s, err) < 0 || priv_drop(&cfg->run_as, 0, err) < 0) {
		log_errx("%s", err);
		goto out;
	}
	s->dropped = 1;
	log_info("running as %s (uid %u), CAP_NET_ADMIN only, seccomp filter%s",
		 cfg->run_as.drop ? cfg->run_as.name : "root", (unsigned)getuid(),
		 getenv("IPHTTPS_SECCOMP") && strcmp(getenv("IPHTTPS_SECCOMP"), "log") ? " off" : " on");
	if (intranet_wait(s, err) < 0) {
		log_errx("%s", err);
		goto out;
	}
	log_listening(s);
	log_tls_policy(s);
	if (s->w) {
		log_info("%d worker processes, each at most %ld connections (its descriptor limit); this "
			 "process supervises them", workers_count(s), s->nofile ? s->nofile - SERVER_FD_RESERVE : -1L);
		if (workers_start(s, err) < 0) {
			log_errx("%s", err);
			goto out;
		}
	}
	if (on_ready)
		on_ready(ready_arg);
	update_status(s);
	notify_ready();
	run_loop(s);
	rc = s->helper_lost ? 1 : 0;
out:
	if (s->w)
		workers_stop(s);        /* their clients first, then what they used */
	/* The listener first: a client that comes back while the others are
	 * being closed is refused, not accepted and reset. */
	if (s->lst.h.fd >= 0) {
		ev_del(&s->ev, &s->lst.h);
		close(s->lst.h.fd);
	}
	metrics_close(s);
	shutdown_all(s);
	intranet_stop(s);
	scripts_drain(s);
	server_helper_end(s);
	ctl_server_close(&s->ctl);
	if (s->tun_h.fd >= 0)
		tunio_close(&s->tun);
	if (s->sig_h.fd >= 0)
		close(s->sig_h.fd);
	if (s->ssl_ctx)
		SSL_CTX_free(s->ssl_ctx);
	crl_free(s);
	addrtab_free(&s->addrs);
	addrtab_free(&s->prefixes);
	addrtab_free(&s->remembered);
	addrtab_free(&s->per_source);
	bind_free_all(s);
	workers_free(s);
	ev_free(&s->ev);
	if (s->cfg != cfg) {
		/* Reloaded: the caller's struct gets the current configuration. */
		server_cfg_free(cfg);
		*cfg = *s->cfg;
		free(s->cfg);
	}
	free(s);
	return rc;
}
