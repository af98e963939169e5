/* The IP-HTTPS server: one non-blocking epoll loop that terminates every
 * client connection (TLS or plain HTTP behind a balancer), is the IPv6 router
 * of the link and forwards between the clients and a TUN device.
 *
 * Files: server.c (setup, loop, accept, timers), conn.c (one connection:
 * TLS, HTTP handshake, stream), link.c (the link's rules: address binding,
 * ND, RA, forwarding), addrtab.c (address -> connection), status.c (state
 * and clients for the control socket). */
#ifndef IPHTTPS_SERVER_H
#define IPHTTPS_SERVER_H

#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "common/bufq.h"
#include "common/opts.h"
#include "ctl/ctl.h"
#include "net/evloop.h"
#include "server/addrtab.h"
#include "tls/tls.h"
#include "wire/http.h"
#include "wire/ipv6_stream.h"
#include "wire/nd.h"

enum transport { TRANSPORT_HTTPS = 0, TRANSPORT_HTTP };
enum auth_mode { AUTH_NONE = 0, AUTH_CERTIFICATES };

struct server_cfg {
	char *config;
	char *listen;
	struct strlist paths;
	int transport;          /* enum transport */
	char *cert, *key;
	int auth;               /* enum auth_mode */
	char *client_ca;
	int null_enc;           /* off, allow, prefer */
	char *prefix;
	struct strlist routes;
	int default_route;
	struct strlist dns;
	char *tun;
	char *state_dir;
	char *run_dir;
	long max_clients;
	char *server_header;
	struct strlist hostnames;
	long header_timeout;    /* seconds for TLS + HTTP request */
	long max_packet;
	long max_addrs;         /* addresses one client may bind */
	long queue_limit;       /* bytes queued toward one client before drops */
	long ra_interval;       /* seconds between unsolicited RAs to each client */
	int prefix_mode;        /* enum prefix_mode */
	char *prefix_pool;      /* per-client mode: the pool, e.g. P/48 */
	int offload;
	int verbose;
};

enum prefix_mode { PREFIX_SHARED = 0, PREFIX_PER_CLIENT };

/* Builds a fresh configuration from the same command line and file (for
 * SIGHUP); 0, or -1 with a message in err[ERRLEN]. The caller frees it with
 * server_cfg_free. */
typedef int (*server_reload_fn)(struct server_cfg *out, char *err);

/* A DAD NS for a taken address, forwarded to its owner in mode
 * Certificates: the owner's answer (a multicast NA) also goes back to the
 * client that asked, for a while. */
#define PENDING_DAD_SLOTS 64
#define PENDING_DAD_MS 10000
struct pending_dad {
	struct in6_addr target;
	uint64_t conn_id;
	uint64_t expires_ms;
};

/* Why a packet was dropped: counted per client and for the server. */
enum drop_reason {
	DROP_MALFORMED = 0,     /* not a valid IPv6/ICMPv6 packet */
	DROP_SRC_SPOOFED,       /* source bound to another client */
	DROP_SRC_OUTSIDE,       /* source outside the prefix and link-local range */
	DROP_TOO_MANY_ADDRS,    /* client reached max_addrs */
	DROP_MULTICAST,         /* multicast not allowed on the link */
	DROP_LINKLOCAL,         /* link-local unicast not to the server */
	DROP_NO_OWNER,          /* destination on the link held by nobody */
	DROP_QUEUE_FULL,        /* the client's queue is full */
	DROP_TUN,               /* write to the TUN failed */
	DROP_NO_PREFIX,         /* per-client mode: the pool is exhausted */
	DROP__COUNT
};
extern const char *const drop_reason_names[DROP__COUNT];

enum conn_state {
	CONN_TLS_HANDSHAKE = 0,
	CONN_HTTP_REQUEST,
	CONN_LINKUP,
	CONN_CLOSING,           /* flushing a final response, then close */
	CONN_CLOSED,            /* resources released; freed at the end of the loop turn */
};

struct server;

struct conn {
	struct ev_handler h;            /* first: the event loop hands us &h */
	struct server *srv;
	uint64_t id;
	enum conn_state state;
	SSL *ssl;                       /* NULL with transport http */
	struct sockaddr_storage peer;
	char peer_str[64];
	uint64_t start_ms;              /* accept time (monotonic) */
	time_t since;                   /* link up time (wall clock) */
	uint64_t last_ra_ms;
	uint32_t ev_mask;
	struct http_req_parser *hp;     /* only while the request is read */
	struct v6_deframer df;
	struct bufq out;                /* bytes to send */
	uint8_t n_addrs, max_addrs;     /* max_addrs: the room in addrs (fixed at accept) */
	struct in6_addr *addrs;         /* bound source addresses */
	uint8_t has_prefix;             /* per-client mode: this client's own /64 */
	struct in6_addr prefix;
	uint8_t key[16];                /* who the client is, across reconnects */
	struct conn *prev, *next;       /* all connections */
	struct conn *dirty_next;        /* pending flush in this loop turn */
	struct conn *resume_next;       /* reads to go on with next turn */
	uint8_t dirty, pending_read;
	char tls_desc[64];
	uint64_t rx_bytes, tx_bytes, rx_packets, tx_packets;
	uint32_t drops[DROP__COUNT];
};

struct server_stats {
	uint64_t accepted, refused_full, tls_failed, http_rejected, header_timeouts,
		stream_errors, closed;
	uint64_t rx_packets, tx_packets, rx_bytes, tx_bytes;
	uint64_t to_tun, from_tun, client_to_client;
	uint64_t ra_sent, na_sent;
	uint64_t drops[DROP__COUNT];
};

struct listener {
	struct ev_handler h;
	struct server *srv;
	char desc[64];
};

struct server {
	struct server_cfg *cfg;
	struct server_cfg *orig_cfg;    /* the caller's, not ours to free */
	server_reload_fn reload;
	struct evloop ev;
	SSL_CTX *ssl_ctx;
	const char *paths[HTTP_MAX_PATHS];
	struct listener lst;
	struct ev_handler tun_h;
	char tun_name[16];
	struct ev_handler sig_h;
	struct ctl_server ctl;
	struct in6_addr prefix;         /* the link's /64 */
	struct in6_addr router_ll;      /* fe80::1 */
	struct in6_addr router_addr;    /* prefix::1 */
	struct ra_params ra;            /* the RA template (dst filled per send) */
	struct addrtab addrs;           /* bound address -> connection */
	struct addrtab prefixes;        /* per-client mode: /64 -> connection */
	struct addrtab remembered;      /* per-client mode: client key -> last /64 index + 1 */
	struct in6_addr pool;           /* per-client mode */
	uint8_t pool_len;
	uint64_t pool_size, pool_cursor;
	struct pending_dad dad[PENDING_DAD_SLOTS];
	unsigned dad_next;
	struct conn *conns;             /* all connections */
	struct conn *dirty;             /* to flush at the end of this turn */
	struct conn *resume;            /* used their read share: go on next turn */
	struct conn *graveyard;         /* closed, to free at the end of this turn */
	unsigned n_conns, n_linkup;
	unsigned freed_since_trim;      /* request parsers and connections freed */
	int offload;                    /* TUN with IFF_VNET_HDR and TSO (net/gso.h) */
	uint64_t accept_resume_ms;      /* accepts paused (out of descriptors) until */
	unsigned accept_paused;
	uint64_t next_id;
	time_t started;
	struct server_stats st;
	uint8_t rbuf[65536 + 64];       /* shared read buffer (one thread) */
	int stopping;
};

/* conn.c */
void conn_accepted(struct server *s, int fd, const struct sockaddr_storage *peer);
void conn_event(struct evloop *ev, struct ev_handler *h, uint32_t events);
/* Queue an IPv6 packet toward the client; counts a drop if the queue is full. */
void conn_send_packet(struct conn *c, const uint8_t *pkt, size_t len);
void conn_flush(struct conn *c);
/* Go on reading a connection that used its fair share last turn. */
void conn_resume_read(struct conn *c);
void conn_close(struct conn *c, const char *why);
void conn_free(struct conn *c);
void conn_tick(struct conn *c, uint64_t now_ms);

/* link.c */
int link_setup(struct server *s, char *err);
int link_setup_ra(struct server *s, char *err);
/* One packet from a client's stream; returns 0, or -1 to end the session. */
int link_from_client(struct conn *c, const uint8_t *pkt, size_t len);
void link_from_tun(struct server *s, const uint8_t *pkt, size_t len);
/* 0, or -1 when no /64 is left (per-client mode). */
int link_conn_up(struct conn *c);
void link_conn_down(struct conn *c);
void link_send_ra(struct conn *c, const struct in6_addr *dst);
void link_drop(struct conn *c, enum drop_reason r);

/* status.c */
struct json_object *server_ctl(void *arg, const char *cmd);

/* server.c */
int server_main(struct server_cfg *cfg, server_reload_fn reload);
void server_cfg_free(struct server_cfg *cfg);
void server_mark_dirty(struct conn *c);
/* c used its share of reading this turn; it goes on next turn. */
void server_mark_resume(struct conn *c);

#endif
