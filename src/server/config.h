/* The server's configuration: every option (also a key of the [server]
 * section of a configuration file), its default and its checks, and the
 * embedded defaults (generated CA, certificates, prefix) that fill what the
 * administrator left out.
 *
 * Error convention: 0 on success, -1 with a message in err[ERRLEN] naming
 * the option or FILE:LINE; server_cfg_parse returns 1 when --help was
 * printed. */
#ifndef IPHTTPS_SERVER_CONFIG_H
#define IPHTTPS_SERVER_CONFIG_H

#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>

#include "common/errbuf.h"
#include "common/opts.h"
#include "common/priv.h"
#include "tls/pki.h"

#define SERVER_MAX_WORKERS 64

enum transport { TRANSPORT_HTTPS = 0, TRANSPORT_HTTP };
enum tls_min { TLS_MIN_1_0 = 0, TLS_MIN_1_1, TLS_MIN_1_2 };
enum auth_mode { AUTH_NONE = 0, AUTH_CERTIFICATES };
enum tls_records { TLS_RECORDS_OWN = 0, TLS_RECORDS_OPENSSL };
enum tls_resumption { TLS_RESUMPTION_ON = 0, TLS_RESUMPTION_OFF };

struct server_cfg {
	char *config;
	char *listen;
	struct strlist paths;
	int transport;          /* enum transport */
	char *cert, *key;
	int auth;               /* enum auth_mode */
	char *client_ca;
	char *crl;              /* revoked client certificates (PEM CRLs) */
	int null_enc;           /* off, allow, prefer (enum null_enc_policy) */
	int null_enc_explicit;  /* given; else the default of the authentication mode */
	int tls_min;            /* enum tls_min: --tls-min */
	int tls_records;        /* enum tls_records: --tls-records */
	int tls_resumption;     /* enum tls_resumption: --tls-resumption */
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
	long addr_idle;         /* a binding unused this long may be evicted at the limit */
	long addr_hold;         /* mode Certificates: a gone client's addresses kept this long */
	long multicast_rate;    /* multicast packets a second one client may flood */
	long queue_budget;      /* bytes queued toward all clients together */
	long max_handshakes;    /* connections not yet LinkUp */
	long max_per_source;    /* of those, from one address (IPv4) or /64 (IPv6) */
	char *nat64;            /* "auto" or PREFIX/96: the intranet (server/intranet.h) */
	char *nat64_pool4;      /* CIDR */
	struct strlist nat64_allow;
	int nat64_translator;   /* enum nat64_translator */
	struct strlist dns64;   /* upstreams of the DNS64 resolver */
	struct strlist dns_search;
	int prefix_mode;        /* enum prefix_mode */
	char *prefix_pool;      /* per-client mode: the pool, e.g. P/48 */
	int offload;
	char *workers_arg;      /* --workers N|auto */
	long workers;           /* parsed: 0 auto (resolved at start-up), else 1 .. SERVER_MAX_WORKERS */
	char *user;             /* --user NAME (default iphttps) */
	struct priv_user run_as;        /* looked up by the command (common/priv.h) */
	int verbose;
	int check;              /* --check: validate and exit */
	int reloading;
	char *connect_script, *disconnect_script;
	char *metrics;          /* ADDR:PORT of the Prometheus exposition, or NULL */
	long hook_timeout;      /* seconds a script may run */
	int hook_fatal;         /* a failed connect script refuses the client */          /* read again on SIGHUP (the CRL's errors are not fatal) */
	struct opts_origin origin;
};

enum prefix_mode { PREFIX_SHARED = 0, PREFIX_PER_CLIENT };

/* The options table (also the [server] keys). */
extern const struct opt_def server_opts[];

/* Builds a fresh configuration from the same command line and file (for
 * SIGHUP); 0, or -1 with a message in err[ERRLEN]. The caller frees it with
 * server_cfg_free. */
typedef int (*server_reload_fn)(struct server_cfg *out, char *err);

/* What the embedded defaults produced that the start-up banner shows. */
struct server_boot {
	struct pki_paths pp;
	char client_cert[600], client_key[600];  /* the first client's, if generated */
};

/* Parse the command line (with -c FILE), apply the defaults and check the
 * values; nothing on the host is touched.  argv is kept for
 * server_cfg_reload. */
int server_cfg_parse(struct server_cfg *cfg, int argc, char **argv, char *err);
/* Check the files the configuration names (certificates, keys, CAs, the
 * state directory's kept files), changing nothing; warns (log) about
 * what expires within CERT_WARN_DAYS.  Run before every start and reload. */
int server_cfg_check(struct server_cfg *cfg, char *err);
/* "P/LEN" into p and *plen; 0 or -1. */
int server_parse_prefix(const char *text, struct in6_addr *p, long *plen);
/* "ADDR:PORT" ("[::]:443", "0.0.0.0:443", ":443"); 0 or -1 with err. */
int server_parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *len, char *err);
void server_cfg_usage(FILE *f);
/* Fill certificate, key, client CA and prefix from the state directory,
 * generating what is missing there. */
int server_cfg_materialize(struct server_cfg *cfg, struct server_boot *b, char *err);
/* SIGHUP: the same command line and file read again, checked and
 * materialized (a server_reload_fn). */
int server_cfg_reload(struct server_cfg *out, char *err);
void server_cfg_free(struct server_cfg *cfg);
/* The TLS policy in one sentence (start-up log, state, man page): which
 * suites a client gets and why; null_enc is the policy in force (it differs
 * from cfg's when the default could not apply). */
void server_cfg_tls_policy(const struct server_cfg *c, int null_enc, char *out, size_t len);
/* The lowest TLS version of --tls-min (TLS1_VERSION...TLS1_2_VERSION). */
int server_cfg_tls_version(const struct server_cfg *c);

#endif
