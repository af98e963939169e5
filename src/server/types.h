/* The server's types: a connection, the server, their counters.  Functions
 * live in the header of the file that implements them (server.h, conn.h,
 * link.h, status.h). */
#ifndef IPHTTPS_SERVER_TYPES_H
#define IPHTTPS_SERVER_TYPES_H

#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "common/bufq.h"
#include "common/hook.h"
#include "common/privsep.h"
#include "ctl/ctl.h"
#include "net/evloop.h"
#include "net/stream.h"
#include "net/tunio.h"
#include "server/addrtab.h"
#include "server/config.h"
#include "server/hsfail.h"
#include "server/certwatch.h"
#include "tls/certcheck.h"
#include "wire/http.h"
#include "wire/ipv6_stream.h"
#include "wire/nd.h"

/* A DAD NS for a taken address, forwarded to its owner in mode
 * Certificates: the owner's answer (a multicast NA) also goes back to the
 * client that asked, for a while. */
#define PENDING_DAD_SLOTS 64
#define PENDING_DAD_MS 10000
#define PENDING_DAD_PER_CLIENT 4       /* one client cannot fill the table */
struct pending_dad {
	struct in6_addr target;
	uint64_t conn_id;
	uint64_t expires_ms;
};

#define HS_LATENCY_BUCKETS 11     /* 5 ms .. 10 s; see metrics.c */

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
	DROP_ROUTER_MSG,        /* RA or Redirect from a client, RS to another client */
	DROP_FOREIGN_TARGET,    /* NA for an address another client holds */
	DROP_MCAST_RATE,        /* multicast beyond the sender's share */
	DROP_SERVER_BUDGET,     /* the server-wide queue budget is spent */
	DROP_RESERVED,          /* address kept for a disconnected client's certificate */
	DROP__COUNT
};
extern const char *const drop_reason_names[DROP__COUNT];

enum conn_state {
	CONN_TLS_HANDSHAKE = 0,
	CONN_HTTP_REQUEST,
	CONN_HOOK,              /* request done, its connect script decides (--hook-fatal) */
	CONN_LINKUP,
	CONN_CLOSING,           /* flushing a final response, then close */
	CONN_CLOSED,            /* resources released; freed at the end of the loop turn */
};

/* Descriptors kept for all but client connections: standard streams,
 * epoll, signalfd, TUN, listener, journald, certificate watch, metrics
 * (~16); the control socket and its 16 requests; 16 running scripts with
 * a pidfd and a pipe each and the spawned daemons (~40); a connection
 * being refused, files read on reload (~8); the rest for what comes.
 * --max-clients and --max-handshakes together are lowered to
 * RLIMIT_NOFILE minus this. */
#define SERVER_FD_RESERVE 128

struct server;
struct conn_ident;
struct metrics;
struct workers;

struct conn {
	struct ev_handler h;            /* first: the event loop hands us &h */
	struct server *srv;
	uint64_t id;
	enum conn_state state;
	struct sockaddr_storage peer;
	char peer_str[64];
	uint64_t start_ms;              /* accept time (monotonic) */
	time_t since;                   /* link up time (wall clock) */
	uint64_t last_ra_ms;
	uint32_t ev_mask;
	struct http_req_parser *hp;     /* only while the request is read */
	struct stream io;               /* socket, TLS (io.ssl NULL with transport http), deframer,
	                                   queue of bytes to send, packet counters */
	uint8_t n_addrs, max_addrs;     /* max_addrs: the room in addrs (fixed at accept) */
	uint8_t has_key;                /* key holds the client certificate's digest */
	struct in6_addr *addrs;         /* bound source addresses */
	uint64_t *addr_used;            /* when each was last used (bind.c's use stamp) */
	uint64_t evicted;               /* bindings given up at the limit */
	uint64_t mc_tokens, mc_last_ms; /* multicast share (thousandths of a packet) */
	uint8_t has_prefix;             /* per-client mode: this client's own /64 */
	struct in6_addr prefix;
	uint8_t key[16];                /* who the client is, across reconnects */
	struct conn *prev, *next;       /* all connections */
	struct conn *dirty_next;        /* pending flush in this loop turn */
	struct conn *resume_next;       /* reads to go on with next turn */
	struct conn *hs_prev, *hs_next; /* still in the handshake, oldest last */
	uint8_t in_handshake;
	uint64_t closing_ms;            /* when it went Closing */
	uint8_t dirty, pending_read;
	uint8_t read_on_write;          /* the read waits for the socket to take bytes */
	char tls_desc[64];
	uint32_t drops[DROP__COUNT];
	struct conn_ident *ident;       /* its certificate (ident.h), or NULL */
	struct hook_job *connect_job;   /* its connect script, while it runs (scripts.h) */
	uint8_t connect_ran, connect_ok, was_up;
	uint8_t *held;                  /* stream bytes that came while the script ran */
	size_t held_len;
};

/* Why a connection was refused or ended before LinkUp, beyond TLS and
 * HTTP failures: counted for the server. */
enum refuse_reason {
	REFUSE_MAX_CLIENTS = 0,  /* --max-clients LinkUp clients already */
	REFUSE_PER_SOURCE,       /* --max-handshakes-per-source from this address */
	REFUSE_HANDSHAKE_EVICTED,/* --max-handshakes reached: the oldest handshake went */
	REFUSE_CLOSING_TIMEOUT,  /* an error answer not taken in time */
	REFUSE__COUNT
};
extern const char *const refuse_reason_names[REFUSE__COUNT];

struct server_stats {
	uint64_t refused[REFUSE__COUNT];
	uint64_t accepted, refused_full, tls_failed, http_rejected, header_timeouts,
		stream_errors, closed;
	uint64_t null_only_reset;       /* ClientHellos with only null suites, reset (tls.h) */
	uint64_t rx_packets, tx_packets, rx_bytes, tx_bytes;
	uint64_t to_tun, from_tun, client_to_client;
	uint64_t ra_sent, na_sent;
	uint64_t evicted;               /* bindings given up at a client's limit */
	uint64_t ctl_timeouts;          /* control requests closed (ctl.h), copied each tick */
	uint64_t drops[DROP__COUNT];
	uint64_t client_certs_expiring; /* handshakes with a certificate expiring soon */
	uint64_t disconnected;          /* by `iphttps disconnect` */
	uint64_t revoked_at_reload;     /* connected clients a new CRL revoked */
	struct hook_stats hooks;        /* connect and disconnect scripts */
	uint64_t hs_failures[HSF__COUNT]; /* TLS handshake failures by reason (hsfail.h) */
	uint64_t hs_latency[HS_LATENCY_BUCKETS]; /* accept to 200, cumulative buckets (metrics.h) */
	uint64_t hs_latency_count, hs_latency_sum_us;
	uint64_t metrics_scrapes, metrics_refused;
	uint64_t hook_refused;          /* connections a failed connect script refused */
	uint64_t records_taken;         /* connections whose TLS records were taken over (--tls-records own) */
	uint64_t tls_resumed;           /* handshakes that resumed a session (--tls-resumption) */
	uint64_t record_errors;         /* connections ended by a bad TLS record or an alert after the handshake */
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
	int null_enc;                   /* the null-suite policy in force (enum null_enc_policy) */
	const char *paths[HTTP_MAX_PATHS];
	struct listener lst;
	struct ev_handler tun_h;        /* tun_h.fd is tun.fd */
	struct tunio tun;               /* the TUN's reads and writes (net/tunio.h) */
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
	struct addrtab reserved;        /* address -> reservation of a gone client (bind.c) */
	uint64_t flood_window_ms, flood_copies;  /* multicast copies in this second */
	uint64_t use_seq;               /* orders address uses (bind.c) */
	/* Tests and fuzzing: packets for the TUN go here instead (link.c). */
	void (*tun_sink)(struct server *s, const uint8_t *pkt, size_t len);
	struct in6_addr pool;           /* per-client mode */
	uint8_t pool_len;
	uint64_t pool_size, pool_cursor;
	struct pending_dad dad[PENDING_DAD_SLOTS];
	unsigned dad_next;
	struct conn *conns;             /* all connections */
	struct conn *hs_new, *hs_old;   /* connections in the handshake, newest and oldest */
	unsigned n_handshakes;
	struct addrtab per_source;      /* source address or /64 -> handshakes from it */
	uint64_t queued;                /* bytes queued toward all clients */
	struct conn *dirty;             /* to flush at the end of this turn */
	struct conn *resume;            /* used their read share: go on next turn */
	struct conn *graveyard;         /* closed, to free at the end of this turn */
	unsigned n_conns, n_linkup;
	long max_clients, max_handshakes; /* within the descriptor limit */
	long nofile;                    /* RLIMIT_NOFILE in force (0: unlimited) */
	unsigned freed_since_trim;      /* request parsers and connections freed */
	uint64_t accept_resume_ms;      /* accepts paused (out of descriptors) until */
	unsigned accept_paused;
	uint64_t next_id;
	time_t started;
	struct intranet *in;            /* NAT64, DNS64, DNSSL (intranet.h); NULL without */
	struct server_stats st;
	uint8_t rbuf[65536 + 64];       /* shared read buffer (one thread) */
	int stopping;
	STACK_OF(X509_CRL) *crls;       /* --crl, read at start and reload (crl.h) */
	struct crl_facts crl_facts;
	time_t crl_read;
	struct certwatch certwatch;     /* expiry of the certificates in use */
	struct hooks hooks;             /* connect and disconnect scripts (scripts.h) */
	struct metrics *metrics;        /* --metrics (metrics.h), or NULL */
	/* The privileged helper (server/helper.h). */
	struct ps_chan ps;
	struct ev_handler ps_h;         /* ps_h.fd is ps.fd, -1: none */
	pid_t helper_pid;
	int helper_lost;                /* it ended: the server stops, exit status 1 */
	int dropped;                    /* the server runs as --user */
	struct workers *w;              /* --workers > 1 (workers.h), or NULL: one process */
};

#endif
