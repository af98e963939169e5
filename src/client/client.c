/* The client's state machine, attempts and loop: see client.h. */
#include "client/client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "common/log.h"
#include "common/priv.h"
#include "common/sdnotify.h"
#include "client/helper.h"
#include "client/hooks.h"
#include "client/reload.h"
#include "errors.h"
#include "net/linkwatch.h"
#include "net/tun.h"

const char *const client_state_names[] = {
	[CS_DISABLED] = "Disabled", [CS_ENABLED] = "Enabled", [CS_LINKDOWN] = "LinkDown",
	[CS_ESTABLISHED] = "Established", [CS_LINKUP] = "LinkUp",
};

#define CONTAINER(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

void client_update_status(struct client *c)
{
	if (c->fsm.state == CS_LINKUP)
		notify_status("LinkUp: %s (%s)", c->urls[c->cur].text, c->peer);
	else if (c->last_code)
		notify_status("%s: 0x%x %s: %.120s", client_state_names[c->fsm.state], c->last_code,
			      iph_error_symbol(c->last_code), c->last_error);
	else
		notify_status("%s", client_state_names[c->fsm.state]);
}

/* The state became what the machine says (fsm.h) from old: log it, and
 * what follows a change (the carrier follows the link: routes through the
 * TUN stop being used while it is down, ignore_routes_with_linkdown). */
static void entered(struct client *c, enum client_state old, const char *why)
{
	enum client_state st = c->fsm.state;
	char e[ERRLEN];

	if (st == old)
		return;
	log_info("state %s -> %s%s%s", client_state_names[old], client_state_names[st],
		 why ? ": " : "", why ? why : "");
	if ((st == CS_LINKUP) != (old == CS_LINKUP)) {
		if (tun_set_carrier(c->tun_h.fd, st == CS_LINKUP, e) < 0)
			log_warnx("%s", e);
		if (st != CS_LINKUP) {
			client_hooks_down(c, why);
			dns_link_down(c);
		}
		c->kernel_ready = 0;
		c->router_known = 0;    /* a new link: its first RA names its router */
		c->carrier_on_ms = ev_now_ms();
		client_drop_held(c);
	}
	client_update_status(c);
}

void client_set_state(struct client *c, enum client_state st, const char *why)
{
	enum client_state old = c->fsm.state;

	c->fsm.state = st;
	entered(c, old, why);
}

/* When the next round is due, for `state` (wall clock). */
static void next_wall(struct client *c, uint64_t now)
{
	c->next_attempt_wall = c->fsm.next_ms ? time(NULL) + (time_t)((c->fsm.next_ms > now ? c->fsm.next_ms - now : 0) / 1000) : 0;
}

static void *attempt_thread(void *arg)
{
	struct attempt *a = arg;
	struct connect_opts o = {
		.ssl_ctx = a->c->ssl_ctx,
		.timeout_ms = (int)a->c->cfg->timeout * 1000,
		.proxy = a->c->has_proxy[a->url_index] ? &a->c->proxies[a->url_index] : NULL,
	};

	if (!strcmp(a->c->urls[a->url_index].scheme, "http"))
		o.ssl_ctx = NULL;
	a->rc = attempt_run(a->c->cfg, &a->c->urls[a->url_index], &o, &a->seq, &a->lc, &a->res);
	a->elapsed_ms = ev_now_ms() - a->started_ms;
	if (write(a->c->done_pipe[1], &a, sizeof(a)) != sizeof(a))
		log_warn("attempt: cannot report its end");
	return NULL;
}

static const char *url_text(const struct iph_url *u, char *buf, size_t len)
{
	snprintf(buf, len, "%s", u->text);
	return buf;
}

/* A round: every entry point at once (Windows 10 picks the nearest site the
 * same way); the first to answer 200 is kept. */
static void start_round(struct client *c)
{
	enum client_state old = c->fsm.state;
	uint64_t now = ev_now_ms(), round = fsm_round_begin(&c->fsm), wait;
	unsigned started = 0;
	char u[600];

	entered(c, old, "connecting");
	for (size_t i = 0; i < c->n_urls; i++) {
		struct attempt *a = calloc(1, sizeof(*a));
		if (!a) {
			log_warnx("attempt: out of memory");
			continue;
		}
		a->c = c;
		a->url_index = i;
		a->seq = c->seq[i];
		a->round = round;
		a->started_ms = now;
		log_info("connecting to %s", url_text(&c->urls[i], u, sizeof(u)));
		if (pthread_create(&a->thread, NULL, attempt_thread, a)) {
			log_warnx("attempt: cannot start a thread");
			free(a);
			continue;
		}
		SSL_CTX_up_ref(c->ssl_ctx);    /* the attempt holds the context too */
		started++;
	}
	wait = fsm_round_started(&c->fsm, started, now);
	next_wall(c, now);
	if (!started)
		log_warnx("no connection attempt could start; next in %llu s",
			  (unsigned long long)(wait / 1000));
}

/* Every entry point of the round failed (the machine says when the next
 * round is due): the last one to fail is reported (the others are in the
 * state's EntryPoints). */
static void round_failed(struct client *c, struct attempt *a, enum client_state old, uint64_t now)
{
	uint64_t wait = c->fsm.next_ms > now ? c->fsm.next_ms - now : 0;

	c->last_code = a->res.code;
	c->last_step = a->res.step;
	snprintf(c->last_error, sizeof(c->last_error), "%s", a->res.why);
	if (a->res.server_cert[0])
		snprintf(c->server_cert, sizeof(c->server_cert), "%s", a->res.server_cert);
	if (c->n_urls > 1)
		log_warnx("no entry point answered; last: 0x%x %s: %s; next attempt in %llu s", a->res.code,
			  iph_error_symbol(a->res.code), a->res.why, (unsigned long long)(wait / 1000));
	else
		log_warnx("cannot connect: 0x%x %s: %s; next attempt in %llu s", a->res.code,
			  iph_error_symbol(a->res.code), a->res.why, (unsigned long long)(wait / 1000));
	entered(c, old, "waiting to reconnect");
	next_wall(c, now);
}

static void attempt_succeeded(struct client *c, struct attempt *a)
{
	char u[600];

	enum client_state old;
	uint64_t now = ev_now_ms();

	c->lc = a->lc;
	c->cur = a->url_index;
	c->last_code = IPH_OK;
	c->last_step = "linkup";
	c->last_error[0] = 0;
	snprintf(c->tls_desc, sizeof(c->tls_desc), "%s", a->res.tls_desc[0] ? a->res.tls_desc : "none (plain HTTP)");
	snprintf(c->server_cert, sizeof(c->server_cert), "%s", a->res.server_cert);
	snprintf(c->peer, sizeof(c->peer), "%s", a->res.peer);
	snprintf(c->resp_note, sizeof(c->resp_note), "%s", a->res.http_note);
	if (c->n_urls > 1)
		snprintf(c->choice, sizeof(c->choice), "%s: the first of %zu entry points to answer (%llu ms)",
			 url_text(&c->urls[a->url_index], u, sizeof(u)), c->n_urls,
			 (unsigned long long)a->elapsed_ms);
	else
		snprintf(c->choice, sizeof(c->choice), "%s: the only entry point (%llu ms)",
			 url_text(&c->urls[a->url_index], u, sizeof(u)), (unsigned long long)a->elapsed_ms);
	c->connected_since = time(NULL);
	c->sock_h.fd = c->lc.io.fd;
	c->sock_h.cb = client_on_sock;
	c->sock_mask = EPOLLIN;
	c->read_on_write = 0;
	if (ev_add(&c->ev, &c->sock_h, EPOLLIN) < 0) {
		link_conn_close(&c->lc);
		c->last_code = IPH_E_LOCAL;
		snprintf(c->last_error, sizeof(c->last_error), "epoll_ctl: %s", strerror(errno));
		fsm_linkup_failed(&c->fsm, now);
		next_wall(c, now);
		return;
	}
	old = c->fsm.state;
	fsm_established(&c->fsm);
	entered(c, old, "HTTPS up, POST answered 200");
	fsm_linkup(&c->fsm, now);
	entered(c, CS_ESTABLISHED, NULL);
	log_info("link up with %s (%s), %s; %s", c->peer, c->tls_desc, c->server_cert, c->choice);
	if (c->lc.rest_len) {
		/* Bytes that came with the response header start the stream. */
		uint8_t rest[sizeof(c->lc.rest)];
		size_t n = c->lc.rest_len;
		memcpy(rest, c->lc.rest, n);
		c->lc.rest_len = 0;
		client_feed(c, rest, n);
	}
}

static void on_attempt_done(struct evloop *ev, struct ev_handler *h, uint32_t events)
{
	struct client *c = CONTAINER(h, struct client, done_h);
	uint64_t now = ev_now_ms();
	enum client_state old;
	struct attempt *a;
	int current;

	if (read(h->fd, &a, sizeof(a)) != sizeof(a))
		return;
	pthread_join(a->thread, NULL);
	SSL_CTX_free(c->ssl_ctx);       /* the attempt's reference */
	c->seq[a->url_index] = a->seq;
	current = a->round == c->fsm.round && !c->stopping && c->fsm.state != CS_DISABLED;
	if (current) {
		struct entry_status *e = &c->entries[a->url_index];
		e->tried = 1;
		e->code = a->rc == 0 ? IPH_OK : a->res.code;
		e->elapsed_ms = a->elapsed_ms;
		snprintf(e->why, sizeof(e->why), "%s", a->rc == 0 ? "answered 200" : a->res.why);
	}
	/* While stopping no round is waited for. */
	old = c->fsm.state;
	switch (fsm_attempt_done(&c->fsm, c->stopping ? UINT64_MAX : a->round, a->rc == 0, now)) {
	case FSM_USE:
		attempt_succeeded(c, a);
		break;
	case FSM_CLOSE:
		/* A slower entry point, or one nobody waits for any more. */
		link_conn_close(&a->lc);
		break;
	case FSM_ROUND_FAILED:
		round_failed(c, a, old, now);
		break;
	case FSM_WAIT:
		break;
	}
	free(a);
	client_reload_pending(c);
}

struct client_count client_count(const struct client *c)
{
	struct client_count n = { c->rx_bytes, c->tx_bytes, c->rx_packets, c->tx_packets };

	if (c->fsm.state == CS_LINKUP) {
		n.rx_bytes += c->lc.io.rx_bytes;
		n.tx_bytes += c->lc.io.tx_bytes;
		n.rx_packets += c->lc.io.rx_packets;
		n.tx_packets += c->lc.io.tx_packets;
	}
	return n;
}

void client_close_link(struct client *c)
{
	if (c->fsm.state != CS_LINKUP)
		return;
	ev_del(&c->ev, &c->sock_h);
	c->rx_bytes += c->lc.io.rx_bytes;
	c->tx_bytes += c->lc.io.tx_bytes;
	c->rx_packets += c->lc.io.rx_packets;
	c->tx_packets += c->lc.io.tx_packets;
	link_conn_close(&c->lc);
	c->lc.io.rx_bytes = c->lc.io.tx_bytes = c->lc.io.rx_packets = c->lc.io.tx_packets = 0;
	c->connected_since = 0;
}

void client_link_lost(struct client *c, uint32_t code, const char *why)
{
	uint64_t now = ev_now_ms(), wait;
	int broken;

	if (c->fsm.state != CS_LINKUP)
		return;
	log_warnx("link lost: 0x%x %s: %s (rx %llu packets, tx %llu packets)", code,
		  iph_error_symbol(code), why, (unsigned long long)c->lc.io.rx_packets,
		  (unsigned long long)c->lc.io.tx_packets);
	client_close_link(c);
	c->last_code = code;
	c->last_step = "linkup";
	snprintf(c->last_error, sizeof(c->last_error), "%s", why);
	broken = code == IPH_E_PROTOCOL || code == IPH_E_LOCAL;
	/* Re-established at once (3.1.5.4), then a few quick retries; but a
	 * server that broke the stream, a local failure or links that keep
	 * dying as soon as they are up wait for the reconnect timer. */
	wait = fsm_link_lost(&c->fsm, broken, now);
	entered(c, CS_LINKUP, "link lost");
	next_wall(c, now);
	if (wait)
		log_warnx("%s; next attempt in %llu s", code == IPH_E_PROTOCOL ? "the server broke the stream"
			  : code == IPH_E_LOCAL ? "a local failure"
			  : "the link keeps failing as soon as it is up", (unsigned long long)(wait / 1000));
}

/* Windows' client starts over: null suites first again (IpTlsStartClient). */
static void seq_reset(struct client *c)
{
	for (size_t i = 0; i < CLIENT_MAX_URLS; i++)
		attempt_seq_init(&c->seq[i], c->cfg);
}

void client_reconnect_now(struct client *c)
{
	uint64_t now = ev_now_ms();

	if (!c->fsm.running)
		seq_reset(c);
	fsm_reconnect_now(&c->fsm, now);
	next_wall(c, now);
}

void client_disable(struct client *c)
{
	enum client_state old;

	client_close_link(c);
	old = c->fsm.state;
	fsm_disable(&c->fsm);
	c->next_attempt_wall = 0;
	entered(c, old, "disabled by request");
}

void client_enable(struct client *c)
{
	uint64_t now = ev_now_ms();

	if (c->fsm.state != CS_DISABLED)
		return;
	if (!c->fsm.running)
		seq_reset(c);
	fsm_enable(&c->fsm, now);
	next_wall(c, now);
	entered(c, CS_DISABLED, "enabled by request");
}

static void on_signal(struct evloop *ev, struct ev_handler *h, uint32_t events)
{
	struct client *c = CONTAINER(h, struct client, sig_h);
	struct signalfd_siginfo si;

	if (read(h->fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM) {
		log_info("signal %d: closing the link", si.ssi_signo);
		notify_stopping();
		c->stopping = 1;
		ev->stop = 1;
	} else if (si.ssi_signo == SIGHUP) {
		client_reload(c);
	}
}

/* TUN for the client: sysctls before link up so that the kernel takes our
 * RA (accept_ra=2 also when the host forwards), routes from RIOs, and stops
 * using the routes while the carrier is down. */
static int open_tun(struct client *c, char *err)
{
	static const char *const sysctls[][2] = {
		{ "accept_ra", "2" },
		{ "accept_ra_rt_info_max_plen", "128" },
		{ "autoconf", "1" },
		{ "accept_ra_pinfo", "1" },
		{ "accept_ra_defrtr", "1" },
		{ "ignore_routes_with_linkdown", "1" },
	};
	int fd;

	snprintf(c->tun_name, sizeof(c->tun_name), "%s", c->cfg->tun);
	/* --offload: TCP segmentation and coalescing when the kernel allows it. */
	if ((fd = tunio_open(&c->tun, c->tun_name, c->cfg->offload, 1280, client_tun_write_failed, c,
			     err)) < 0)
		return -1;
	c->tun_h.fd = fd;
	c->tun_h.cb = client_on_tun;
	for (size_t i = 0; i < sizeof(sysctls) / sizeof(sysctls[0]); i++)
		if (sysctl_v6_set(c->tun_name, sysctls[i][0], sysctls[i][1], err) < 0)
			return -1;
	/* A longer queue than the default 500: a burst from a local TCP sender
	 * waits for the reader instead of being dropped. */
	if (tun_set_carrier(fd, 0, err) < 0 || tun_set_mtu(c->tun_name, 1280, err) < 0 ||
	    tun_set_txqueuelen(c->tun_name, TUN_TXQUEUELEN, err) < 0 ||
	    tun_set_up(c->tun_name, 1, err) < 0)
		return -1;
	return ev_add(&c->ev, &c->tun_h, EPOLLIN);
}

static void on_linkwatch(struct evloop *ev, struct ev_handler *h, uint32_t events)
{
	struct client *c = CONTAINER(h, struct client, lw_h);

	int addr_changed = 0;

	if (linkwatch_read(h->fd, c->ifindex, &addr_changed) == 1 && c->fsm.state == CS_LINKUP &&
	    !c->kernel_ready)
		client_release_held(c);
	else if (addr_changed && c->fsm.state == CS_LINKUP && c->kernel_ready) {
		client_announce_addresses(c);
		client_hooks_address(c);
	}
}

static int open_signals(struct client *c)
{
	c->sig_h.cb = on_signal;
	return ev_add_signals(&c->ev, &c->sig_h);
}

int client_main(struct client_cfg *cfg, const struct iph_url *urls, size_t n_urls, SSL_CTX *ctx)
{
	struct client *c = calloc(1, sizeof(*c));
	char err[ERRLEN];
	int rc = 1;

	if (!c)
		fatalx("out of memory");
	c->cfg = cfg;
	c->ssl_ctx = ctx;
	c->n_urls = n_urls;
	memcpy(c->urls, urls, n_urls * sizeof(*urls));
	for (size_t i = 0; i < n_urls; i++) {
		/* Checked by the caller already: cannot fail here. */
		c->has_proxy[i] = client_proxy_for(cfg, urls[i].host, &c->proxies[i], err) == 1;
		if (c->has_proxy[i])
			log_info("%s: through the proxy %s:%s%s", urls[i].host, c->proxies[i].host,
				 c->proxies[i].port, c->proxies[i].has_auth ? " (with credentials)" : "");
	}
	c->tun_h.fd = c->sig_h.fd = c->done_h.fd = c->lc.io.fd = c->lw_h.fd = c->ps_h.fd = c->ps.fd = c->files.fd = -1;
	c->dns.bus_h.fd = c->dns.tmr_h.fd = -1;
	c->ctl.h.fd = -1;
	c->done_pipe[0] = c->done_pipe[1] = -1;
	/* Enabled, the first round due once set up. */
	fsm_init(&c->fsm, (uint64_t)cfg->reconnect_initial * 1000, (uint64_t)cfg->reconnect_max * 1000,
		 ev_now_ms());
	inet_pton(AF_INET6, "fe80::1", &c->router_ll);
	seq_reset(c);
	if (ev_init(&c->ev) < 0 || pipe2(c->done_pipe, O_CLOEXEC) < 0)
		fatal("event loop");
	client_hooks_init(c);
	c->done_h.fd = c->done_pipe[0];
	c->done_h.cb = on_attempt_done;
	if (ev_add(&c->ev, &c->done_h, EPOLLIN) < 0 || open_signals(c) < 0) {
		log_err("event loop");
		goto out;
	}
	if (open_tun(c, err) < 0 ||
	    ctl_server_open(&c->ctl, &c->ev, ctl_run_dir(cfg->run_dir), c->tun_name, client_ctl, c,
			    err) < 0) {
		log_errx("%s", err);
		goto out;
	}
	c->ifindex = if_nametoindex(c->tun_name);
	dns_init(c, cfg->dns);
	c->lw_h.cb = on_linkwatch;
	if ((c->lw_h.fd = linkwatch_open(err)) < 0 || ev_add(&c->ev, &c->lw_h, EPOLLIN) < 0) {
		log_errx("%s", err);
		goto out;
	}
	log_info("tun %s: up, mtu 1280, carrier off until the link is up", c->tun_name);
	/* Set up: the helper forked for what needs root (client/helper.h:
	 * the advertised DNS, the scripts, the certificates and keys each
	 * attempt reads again), then from here on the unprivileged user with
	 * CAP_NET_ADMIN only (carrier, addresses) and the seccomp filter. */
	if (client_helper_start(c, err) < 0 || priv_drop(&cfg->run_as, 0, err) < 0) {
		log_errx("%s", err);
		goto out;
	}
	log_info("running as %s (uid %u), CAP_NET_ADMIN only", cfg->run_as.drop ? cfg->run_as.name : "root",
		 (unsigned)getuid());
	client_update_status(c);
	notify_ready();
	while (!c->stopping) {
		uint64_t now = ev_now_ms();
		int timeout = notify_watchdog(now);
		if (c->fsm.next_ms && !c->fsm.running) {
			int t = c->fsm.next_ms > now ? (int)(c->fsm.next_ms - now) : 0;
			if (timeout < 0 || t < timeout)
				timeout = t;
		}
		if (c->fsm.state == CS_LINKUP && !c->kernel_ready) {
			uint64_t until = c->carrier_on_ms + CLIENT_HOLD_MS;
			int t = until > now ? (int)(until - now) : 0;
			if (timeout < 0 || t < timeout)
				timeout = t;
		}
		if (c->ctl.open_conns && (timeout < 0 || timeout > 500))
			timeout = 500;  /* control requests have deadlines */
		if (ev_run_once(&c->ev, timeout) < 0 && errno != EINTR)
			fatal("epoll_wait");
		c->ev.stop = 0;
		tunio_flush(&c->tun);   /* what this turn wrote, in super-packets */
		ctl_server_tick(&c->ctl, ev_now_ms());
		if (fsm_round_due(&c->fsm, ev_now_ms()))
			start_round(c);
		if (c->fsm.state == CS_LINKUP && !c->kernel_ready &&
		    ev_now_ms() >= c->carrier_on_ms + CLIENT_HOLD_MS)
			client_release_held(c); /* no word from the kernel: go on */
	}
	rc = c->helper_lost ? 1 : 0;
out:
	if (c->fsm.state == CS_LINKUP) {
		client_close_link(c);
		client_set_state(c, CS_DISABLED, "the client stops");   /* its down script */
	}
	client_hooks_drain(c);
	if (c->pending_reload)
		client_reload_discard(c);
	SSL_CTX_free(c->ssl_ctx);       /* attempts in flight hold their own reference */
	client_helper_end(c);   /* the helper takes the DNS back */
	dns_shutdown(c);        /* (only when there was no helper) */
	ctl_server_close(&c->ctl);
	if (c->tun_h.fd >= 0)
		tunio_close(&c->tun);
	if (c->sig_h.fd >= 0)
		close(c->sig_h.fd);
	linkwatch_close(c->lw_h.fd);
	client_drop_held(c);
	ev_free(&c->ev);
	if (!c->fsm.running) {
		close(c->done_pipe[0]);
		close(c->done_pipe[1]);
		free(c);
	}
	return rc;
}
