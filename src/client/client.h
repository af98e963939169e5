/* The IP-HTTPS client: the specification's state machine (3.1.1), the
 * reconnect timer (3.1.2.1), a TUN device whose carrier follows the link, and
 * the stream between them.  Attempts run in a worker thread (the layers of
 * connect.h block with timeouts) so that the event loop keeps answering the
 * control socket; everything else runs in the loop.
 *
 * Files: config.c (options, defaults, checks), client.c (state machine, loop,
 * attempts), datapath.c (TUN <-> TLS), status.c (the control socket's
 * answers). */
#ifndef IPHTTPS_CLIENT_H
#define IPHTTPS_CLIENT_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "client/attempt.h"
#include "dial/connect.h"
#include "dial/proxy.h"
#include "client/fsm.h"
#include "client/timer.h"
#include "common/bufq.h"
#include "common/hook.h"
#include "client/config.h"
#include "client/dns.h"
#include "ctl/ctl.h"
#include "net/evloop.h"
#include "net/tunio.h"
#include "tls/tls.h"
#include "wire/ipv6_stream.h"

#define CLIENT_HOLD_PKTS 64
#define CLIENT_HOLD_MS 1500
extern const char *const client_state_names[];


/* One connection attempt to one entry point, run in its own thread; the
 * attempts of a round (every entry point at once) race, the first to answer
 * 200 wins. */
struct attempt {
	struct client *c;
	size_t url_index;
	uint64_t round;
	pthread_t thread;
	uint64_t started_ms, elapsed_ms;
	struct attempt_seq seq;         /* the entry point's, copied in and back */
	struct link_conn lc;
	struct connect_result res;
	int rc;
};

/* What the last round said about one entry point. */
struct entry_status {
	uint32_t code;
	char why[256];
	uint64_t elapsed_ms;
	int tried;
};

struct client_reload;

struct client {
	struct client_cfg *cfg;
	struct evloop ev;
	SSL_CTX *ssl_ctx;
	struct iph_url urls[CLIENT_MAX_URLS];
	size_t n_urls, cur;
	struct proxy_cfg proxies[CLIENT_MAX_URLS]; /* per URL, when has_proxy[i] */
	int has_proxy[CLIENT_MAX_URLS];
	char tun_name[16];
	struct ev_handler tun_h, sock_h, done_h, sig_h; /* tun_h.fd is tun.fd */
	struct tunio tun;               /* the TUN's reads and writes (net/tunio.h) */
	int done_pipe[2];
	struct ctl_server ctl;
	struct link_conn lc;            /* the link while LinkUp */
	uint32_t sock_mask;
	uint8_t read_on_write;          /* the read waits for the socket to take bytes */
	struct client_fsm fsm;          /* state, rounds, timer (fsm.h) */
	struct entry_status entries[CLIENT_MAX_URLS];
	struct attempt_seq seq[CLIENT_MAX_URLS]; /* per entry point (attempt.h) */
	char choice[256];               /* which entry point is in use and why */
	struct in6_addr link_prefix;    /* the /64 the server advertises */
	struct in6_addr router_ll;      /* the source of its RAs (fe80::1 until one came) */
	int have_link_prefix;
	int router_known;               /* router_ll is this link's: the first RA's source */
	/* After carrier on, packets for the TUN wait until the kernel has
	 * applied it (net/linkwatch.h), at most HOLD_MS. */
	struct ev_handler lw_h;
	unsigned ifindex;
	int kernel_ready;
	uint64_t carrier_on_ms;
	unsigned n_held;
	struct held_pkt { uint8_t *data; size_t len; } held[CLIENT_HOLD_PKTS];
	struct dns dns;                 /* the advertised DNS applied (dns.h) */
	/* status */
	uint32_t last_code;
	char last_error[768];
	const char *last_step;
	char tls_desc[96], server_cert[512], peer[64];
	char resp_note[200];            /* the 200 announced a body of its own (connect.h) */
	time_t connected_since, next_attempt_wall;
	uint64_t rx_bytes, tx_bytes, rx_packets, tx_packets; /* of the links that ended: client_count() */
	uint64_t drops;
	uint64_t tun_write_errors;
	uint64_t router_msgs_ignored;   /* RAs and Redirects not from the router */
	int stopping;
	uint8_t rbuf[65536 + 64];
	struct hooks hooks;             /* --up-script, --down-script (hooks.h) */
	struct hook_stats hook_st;
	struct hook_job *up_job;        /* while the up script runs */
	uint8_t up_ran, up_ok;          /* for this link */
	struct client_reload *pending_reload; /* read, waiting for the attempts (reload.h) */
	/* The privileged helper (client/helper.h). */
	struct ps_chan ps;
	struct ev_handler ps_h;         /* ps_h.fd is ps.fd, -1: none */
	struct ps_chan files;           /* PS_OPEN, from any thread; fd -1: none */
	pid_t helper_pid;
	int helper_lost;                /* it ended: the client stops, exit status 1 */
};

/* Runs the client until SIGTERM; takes ctx over (frees it). */
int client_main(struct client_cfg *cfg, const struct iph_url *urls, size_t n_urls, SSL_CTX *ctx);
/* systemd's STATUS= line from the state and the last error. */
void client_update_status(struct client *c);
/* The one function that changes state; logs every transition. */
void client_set_state(struct client *c, enum client_state st, const char *why);

/* IPv6 packets and bytes both ways since the start: the links that ended
 * and the one up (its stream's counters). */
struct client_count {
	uint64_t rx_bytes, tx_bytes, rx_packets, tx_packets;
};
struct client_count client_count(const struct client *c);

/* datapath.c */
void client_on_tun(struct evloop *ev, struct ev_handler *h, uint32_t events);
void client_on_sock(struct evloop *ev, struct ev_handler *h, uint32_t events);
void client_flush(struct client *c);
/* The kernel has applied the carrier (or HOLD_MS passed): deliver what
 * waited; drop_held frees it instead. */
void client_release_held(struct client *c);
void client_drop_held(struct client *c);
/* A write to the TUN failed (tunio_fail_fn): counted, logged now and then. */
void client_tun_write_failed(void *arg, void *owner, unsigned npkts);
/* Unsolicited NA to the router for each global address on the TUN. */
void client_announce_addresses(struct client *c);
/* Stream bytes from the server; -1 if the link was lost. */
int client_feed(struct client *c, const uint8_t *data, size_t len);
/* The link ended (code and plain words); reconnects. */
void client_link_lost(struct client *c, uint32_t code, const char *why);
/* Close the link's connection and stream (the caller changes the state). */
void client_close_link(struct client *c);

/* status.c */
struct json_object *client_ctl(void *arg, const char *cmd);
/* client.c, for the control socket */
void client_reconnect_now(struct client *c);
void client_disable(struct client *c);
void client_enable(struct client *c);

#endif
