/* The server's configuration: the options table, defaults, checks and the
 * embedded defaults (config.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/hook.h"
#include "common/log.h"
#include "server/config.h"
#include "server/intranet.h"
#include "tls/certcheck.h"
#include "tls/tls.h"
#include "wire/http.h"
#include "net/tun.h"
#include "wire/nd.h"

static const char *const transports[] = { "https", "http", NULL };
static const char *const auth_modes[] = { "none", "certificates", NULL };
static const char *const null_modes[] = { "off", "allow", "prefer", NULL };
static const char *const tls_mins[] = { "1.0", "1.1", "1.2", NULL };
static const char *const prefix_modes[] = { "shared", "per-client", NULL };
static const char *const translators[] = { "auto", "tayga", "jool", NULL };
static const char *const tls_records[] = { "own", "openssl", NULL };
static const char *const on_off[] = { "on", "off", NULL };

#define O(f) offsetof(struct server_cfg, f)
const struct opt_def server_opts[] = {
	{ "config", 'c', OPT_CONFIG, 0, "FILE", "read options from FILE ([server] section)" },
	{ "listen", 0, OPT_STR, O(listen), "ADDR:PORT", "where to accept clients (default [::]:443, IPv4 too)" },
	{ "path", 0, OPT_LIST, O(paths), "PATH", "URL path accepted, repeatable (default /IPHTTPS and /IPTLS)" },
	{ "transport", 0, OPT_ENUM, O(transport), "https|http", "http behind a TLS-terminating balancer (default https)", 0, 0, transports },
	{ "cert", 0, OPT_STR, O(cert), "FILE", "server certificate chain, PEM (default: generated)" },
	{ "key", 0, OPT_STR, O(key), "FILE", "server private key, PEM (default: generated)" },
	{ "auth", 0, OPT_ENUM, O(auth), "none|certificates", "client authentication (default certificates)", 0, 0, auth_modes },
	{ "client-ca", 0, OPT_STR, O(client_ca), "FILE", "CAs accepted for client certificates (default: the generated CA)" },
	{ "crl", 0, OPT_STR, O(crl), "FILE", "revoked client certificates (PEM CRLs), read again on reload (default: the generated CA's)" },
	{ "null-encryption", 0, OPT_ENUM, O(null_enc), "off|allow|prefer", "TLS suites without encryption (default prefer with --auth none, else off)", 0, 0, null_modes },
	{ "tls-min", 0, OPT_ENUM, O(tls_min), "1.0|1.1|1.2", "lowest TLS version (default 1.2); 1.0 for stock Windows 7 clients: legacy, warned about", 0, 0, tls_mins },
	{ "tls-records", 0, OPT_ENUM, O(tls_records), "own|openssl", "after the handshake, who seals and opens the TLS records: own (the keys taken from OpenSSL, its SSL freed: far less memory per client) or openssl (default own; suites own does not cover stay with OpenSSL)", 0, 0, tls_records },
	{ "tls-resumption", 0, OPT_ENUM, O(tls_resumption), "on|off", "TLS session resumption with stateless tickets, TLS 1.2 and 1.3 (default on; keys rotate hourly and change at a reload that changes the certificate, CA or CRL)", 0, 0, on_off },
	{ "prefix", 0, OPT_STR, O(prefix), "PREFIX/64", "the link's prefix (default: a random ULA /64, kept)" },
	{ "prefix-mode", 0, OPT_ENUM, O(prefix_mode), "shared|per-client", "one /64 for the link, or one /64 per client from --prefix-pool (default shared)", 0, 0, prefix_modes },
	{ "prefix-pool", 0, OPT_STR, O(prefix_pool), "PREFIX/LEN", "per-client mode: the /64s handed out (e.g. a /48)" },
	{ "route", 0, OPT_LIST, O(routes), "PREFIX", "inside prefix advertised to clients, repeatable" },
	{ "default-route", 0, OPT_FLAG, O(default_route), NULL, "advertise the server as default router" },
	{ "dns", 0, OPT_LIST, O(dns), "ADDR", "DNS server advertised (RDNSS), repeatable" },
	{ "nat64", 0, OPT_STR, O(nat64), "auto|PREFIX/96", "translate PREFIX to IPv4 toward the inside (TAYGA, or Jool where it loads); auto: a /96 of the server's ULA space" },
	{ "nat64-pool4", 0, OPT_STR, O(nat64_pool4), "CIDR", "IPv4 pool of the translator, masqueraded (default: a free block of 100.64.0.0/10, printed)" },
	{ "nat64-allow", 0, OPT_LIST, O(nat64_allow), "CIDR", "IPv4 destinations clients may reach through NAT64, repeatable (default 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)" },
	{ "nat64-translator", 0, OPT_ENUM, O(nat64_translator), "auto|tayga|jool", "the translator (default auto: Jool where its module loads, else TAYGA)", 0, 0, translators },
	{ "dns64", 0, OPT_LIST, O(dns64), "ADDR[@PORT]", "run a DNS64 resolver (unbound) forwarding to ADDR, advertised in RDNSS, repeatable (implies --nat64 auto)" },
	{ "dns-search", 0, OPT_LIST, O(dns_search), "DOMAIN", "the intranet's domains, advertised in DNSSL, repeatable" },
	{ "tun", 0, OPT_STR, O(tun), "NAME", "server TUN device and instance name (default iphttps0)" },
	{ "state-dir", 0, OPT_STR, O(state_dir), "DIR", "generated certificates and prefix (default /var/lib/iphttps)" },
	{ "run-dir", 0, OPT_STR, O(run_dir), "DIR", "control sockets (default /run/iphttps or $IPHTTPS_RUN_DIR)" },
	{ "max-clients", 0, OPT_INT, O(max_clients), "N", "refuse connections beyond N (default 10000)", 1, 1000000 },
	{ "server-header", 0, OPT_STR, O(server_header), "TEXT", "HTTP Server: value (default Microsoft-HTTPAPI/2.0)" },
	{ "hostname", 0, OPT_LIST, O(hostnames), "NAME", "name(s) for the generated certificate and the printed URL (default: this host's name)" },
	{ "header-timeout", 0, OPT_INT, O(header_timeout), "SECONDS", "TLS handshake and request must complete within (default 10)", 1, 3600 },
	{ "max-packet", 0, OPT_INT, O(max_packet), "BYTES", "largest IPv6 packet accepted from a client (default 2048)", 1280, 65575 },
	{ "max-addresses", 0, OPT_INT, O(max_addrs), "N", "addresses one client may use (default 8)", 1, 64 },
	{ "queue-limit", 0, OPT_INT, O(queue_limit), "BYTES", "bytes queued toward one client before drops (default 1048576)", 65536, 1 << 30 },
	{ "address-idle", 0, OPT_INT, O(addr_idle), "SECONDS", "a client at --max-addresses gives up its least recently used address idle this long (default 60)", 0, 86400 },
	{ "address-hold", 0, OPT_INT, O(addr_hold), "SECONDS", "mode certificates: a gone client's addresses stay its certificate's this long (default 300, 0 off)", 0, 86400 },
	{ "multicast-rate", 0, OPT_INT, O(multicast_rate), "N", "multicast packets a second one client may send to the others (default 20)", 1, 100000 },
	{ "queue-budget", 0, OPT_INT, O(queue_budget), "BYTES", "bytes queued toward all clients together before drops (default 268435456)", 1 << 20, 1L << 40 },
	{ "max-handshakes", 0, OPT_INT, O(max_handshakes), "N", "connections still in TLS/HTTP at once; beyond, the oldest goes (default 1000)", 1, 1000000 },
	{ "max-handshakes-per-source", 0, OPT_INT, O(max_per_source), "N", "of those, from one IPv4 address or IPv6 /64 (default 250)", 1, 1000000 },
	{ "ra-interval", 0, OPT_INT, O(ra_interval), "SECONDS", "unsolicited RA to each client every (default 600)", 0, 86400 },
	{ "workers", 0, OPT_STR, O(workers_arg), "N|auto", "worker processes that hold the clients (default 1: one process; auto: the online CPUs, more when --max-clients needs the descriptors)" },
	{ "offload", 0, OPT_FLAG, O(offload), NULL, "TUN offloads: TCP super-packets cut on reads, joined on writes (on by default; --no-offload: packet by packet)" },
	{ "metrics", 0, OPT_STR, O(metrics), "ADDR:PORT", "Prometheus text exposition at GET /metrics there (default off)" },
	{ "connect-script", 0, OPT_STR, O(connect_script), "FILE", "run at each client's LinkUp (IPHTTPS_* in its environment: man iphttps)" },
	{ "disconnect-script", 0, OPT_STR, O(disconnect_script), "FILE", "run when a client's connection ends" },
	{ "hook-timeout", 0, OPT_INT, O(hook_timeout), "SECONDS", "a script still running then is stopped (default 10)", 1, 3600 },
	{ "hook-fatal", 0, OPT_FLAG, O(hook_fatal), NULL, "the connect script runs before the 200 and a failure refuses the client (403)" },
	{ "user", 0, OPT_STR, O(user), "NAME", "the unprivileged user to run as after setup (default iphttps; root keeps root)" },
	{ "verbose", 'v', OPT_FLAG, O(verbose), NULL, "debug logging" },
	{ "check", 0, OPT_FLAG, O(check), NULL, "validate the configuration and its files, change nothing, exit 0 or 2" },
	{ NULL },
};
#undef O

static void set_default(char **field, const char *v)
{
	if (!*field)
		*field = strdup(v);
}

static void cfg_defaults(struct server_cfg *c)
{
	set_default(&c->listen, "[::]:443");
	set_default(&c->tun, "iphttps0");
	set_default(&c->state_dir, "/var/lib/iphttps");
	set_default(&c->server_header, "Microsoft-HTTPAPI/2.0");
	if (!c->paths.n) {
		strlist_add(&c->paths, "/IPHTTPS");
		strlist_add(&c->paths, "/IPTLS");
	}
	if (!c->hostnames.n) {
		char h[HOST_NAME_MAX + 1] = "localhost";
		gethostname(h, sizeof(h));
		h[HOST_NAME_MAX] = 0;
		strlist_add(&c->hostnames, h);
	}
}

/* --null-encryption when not given: prefer in authentication mode None (the
 * DirectAccess deployment: a DirectAccess server gives Windows 8/10/11
 * clients the null suites they ask for first), else off (encrypted suites
 * only; a null-only ClientHello is reset so that Windows retries with
 * encrypted suites: tls.h).  Plain HTTP behind a balancer: the balancer
 * chooses. */
static void null_enc_default(struct server_cfg *c)
{
	c->null_enc_explicit = c->null_enc >= 0;
	if (!c->null_enc_explicit)
		c->null_enc = c->auth == AUTH_NONE && c->transport == TRANSPORT_HTTPS ?
			      NULL_ENC_PREFER : NULL_ENC_OFF;
}

/* err = "FILE:LINE: name: ..." or "--name: ..." about option name's value
 * (item of a list); -1. */
#define bad(c, name, item, err, ...) \
	opts_bad(server_opts, &(c)->origin, (c), (name), (item), (err), __VA_ARGS__)

int server_parse_prefix(const char *text, struct in6_addr *p, long *plen)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash, *end;

	if (strlen(text) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", text);
	if (!(slash = strchr(buf, '/')))
		return -1;
	*slash = 0;
	errno = 0;
	*plen = strtol(slash + 1, &end, 10);
	if (errno || end == slash + 1 || *end || *plen < 0 || *plen > 128 ||
	    inet_pton(AF_INET6, buf, p) != 1)
		return -1;
	return 0;
}

/* "[::]:443", "0.0.0.0:443", "127.0.0.1:8443", ":443", "*:443" */
int server_parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *len, char *err)
{
	char host[128];
	const char *colon = strrchr(spec, ':');
	char *end;
	long port;

	if (!colon || (size_t)(colon - spec) >= sizeof(host)) {
		snprintf(err, ERRLEN, "'%s' is not ADDR:PORT", spec);
		return -1;
	}
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || port < 1 || port > 65535) {
		snprintf(err, ERRLEN, "bad port in '%s' (1 to 65535)", spec);
		return -1;
	}
	snprintf(host, sizeof(host), "%.*s", (int)(colon - spec), spec);
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = 0;
	}
	memset(ss, 0, sizeof(*ss));
	if (!host[0] || !strcmp(host, "*") || !strcmp(host, "::")) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_any;
		a->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a);
		return 0;
	}
	{
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
		struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
		if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
			a6->sin6_family = AF_INET6;
			a6->sin6_port = htons((uint16_t)port);
			*len = sizeof(*a6);
			return 0;
		}
		if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
			a4->sin_family = AF_INET;
			a4->sin_port = htons((uint16_t)port);
			*len = sizeof(*a4);
			return 0;
		}
	}
	snprintf(err, ERRLEN, "'%s' is not an IP address (give ADDR:PORT, e.g. [::]:443)", host);
	return -1;
}

/* Printable text without CR or LF (it goes into an HTTP header). */
static int header_text_ok(const char *t)
{
	for (; *t; t++)
		if (!isprint((unsigned char)*t))
			return 0;
	return 1;
}

static int check_prefixes(struct server_cfg *c, char *err)
{
	struct in6_addr a;
	long plen;
	size_t max_routes = ND_MAX_ROUTES - (c->prefix_mode == PREFIX_PER_CLIENT ? 1 : 0);

	if (c->prefix && (server_parse_prefix(c->prefix, &a, &plen) < 0 || plen != 64 ||
			  IN6_IS_ADDR_MULTICAST(&a) || IN6_IS_ADDR_LINKLOCAL(&a)))
		return bad(c, "prefix", 0, err, "'%s' is not a unicast IPv6 PREFIX/64", c->prefix);
	if (c->prefix_pool && (server_parse_prefix(c->prefix_pool, &a, &plen) < 0 || plen < 16 ||
			       plen > 63 || IN6_IS_ADDR_MULTICAST(&a) || IN6_IS_ADDR_LINKLOCAL(&a)))
		return bad(c, "prefix-pool", 0, err,
			   "'%s' is not a unicast IPv6 PREFIX/LEN with LEN from 16 to 63", c->prefix_pool);
	if (c->routes.n > max_routes)
		return bad(c, "route", max_routes, err, "at most %zu routes%s", max_routes,
			   max_routes < ND_MAX_ROUTES ? " with --prefix-pool" : "");
	for (size_t i = 0; i < c->routes.n; i++)
		if (server_parse_prefix(c->routes.v[i], &a, &plen) < 0)
			return bad(c, "route", i, err, "'%s' is not an IPv6 PREFIX/LEN", c->routes.v[i]);
	if (c->dns.n > ND_MAX_DNS)
		return bad(c, "dns", ND_MAX_DNS, err, "at most %d servers", ND_MAX_DNS);
	for (size_t i = 0; i < c->dns.n; i++)
		if (inet_pton(AF_INET6, c->dns.v[i], &a) != 1)
			return bad(c, "dns", i, err, "'%s' is not an IPv6 address", c->dns.v[i]);
	return 0;
}

/* --workers N|auto into c->workers (0: auto, resolved at start-up). */
static int parse_workers(struct server_cfg *c, char *err)
{
	char *end;
	long n;

	c->workers = 1;
	if (!c->workers_arg)
		return 0;
	if (!strcmp(c->workers_arg, "auto")) {
		c->workers = 0;
	} else {
		errno = 0;
		n = strtol(c->workers_arg, &end, 10);
		if (errno || end == c->workers_arg || *end || n < 1 || n > SERVER_MAX_WORKERS)
			return bad(c, "workers", 0, err, "'%s' is neither auto nor a number from 1 to %d",
				   c->workers_arg, SERVER_MAX_WORKERS);
		c->workers = n;
	}
	if (c->workers != 1 && (c->connect_script || c->disconnect_script))
		return bad(c, "workers", 0, err, "--connect-script and --disconnect-script run in one process "
			   "for now (the helper that runs them serves the first process only): use --workers 1");
	return 0;
}

/* The values alone, without looking at the host: 0 or -1 with err. */
static int check_values(struct server_cfg *c, char *err)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char e[ERRLEN];

	if ((c->cert == NULL) != (c->key == NULL))
		return bad(c, c->cert ? "cert" : "key", 0, err, "--cert and --key go together");
	if (!tun_name_ok(c->tun))
		return bad(c, "tun", 0, err, "'%s' is not an interface name (1 to 15 characters, no '/', ':' or spaces)",
			   c->tun);
	for (size_t i = 0; i < c->paths.n; i++)
		if (c->paths.v[i][0] != '/' || strpbrk(c->paths.v[i], " \t\r\n?#"))
			return bad(c, "path", i, err, "'%s' must start with / and hold no spaces, ? or #",
				   c->paths.v[i]);
	if (c->paths.n >= HTTP_MAX_PATHS)
		return bad(c, "path", c->paths.n - 1, err, "at most %d paths", HTTP_MAX_PATHS - 1);
	if ((c->prefix_mode == PREFIX_PER_CLIENT) != (c->prefix_pool != NULL))
		return bad(c, c->prefix_pool ? "prefix-pool" : "prefix-mode", 0, err,
			   "--prefix-mode per-client and --prefix-pool go together");
	if (c->tls_min != TLS_MIN_1_2 && c->transport == TRANSPORT_HTTP)
		return bad(c, "tls-min", 0, err, "concerns TLS; with --transport http the balancer in front chooses the versions");
	if (c->null_enc_explicit && c->null_enc != NULL_ENC_OFF && c->transport == TRANSPORT_HTTP)
		return bad(c, "null-encryption", 0, err,
			   "concerns TLS; with --transport http the balancer in front chooses the suites");
	if (server_parse_listen(c->listen, &ss, &sl, e) < 0)
		return bad(c, "listen", 0, err, "%s", e);
	if (c->metrics && server_parse_listen(c->metrics, &ss, &sl, e) < 0)
		return bad(c, "metrics", 0, err, "%s", e);
	if (parse_workers(c, err) < 0)
		return -1;
	if (c->hook_fatal && !c->connect_script)
		return bad(c, "hook-fatal", 0, err, "needs --connect-script");
	if (!header_text_ok(c->server_header))
		return bad(c, "server-header", 0, err, "must be printable text on one line");
	for (size_t i = 0; i < c->hostnames.n; i++)
		if (!pki_name_ok(c->hostnames.v[i]))
			return bad(c, "hostname", i, err, "'%s' is neither a DNS name nor an IP address",
				   c->hostnames.v[i]);
	return check_prefixes(c, err);
}

/* Expired: an error; within CERT_WARN_DAYS: a warning. */
static int check_expiry(const struct server_cfg *c, const char *opt, const char *file,
			const struct cert_facts *f, char *err)
{
	long days = cert_days_left(f->not_after, time(NULL));
	char date[16];

	cert_date(f->not_after, date, sizeof(date));
	if (f->not_after <= time(NULL))
		return bad(c, opt, 0, err, "%s (%s) expired on %s%s", file, f->subject, date,
			   !strcmp(opt, "cert") ? ": renew it (iphttps renew-server-cert for the generated one)" : "");
	if (days < CERT_WARN_DAYS)
		log_warnx("%s (%s) expires in %ld days, on %s", file, f->subject, days, date);
	return 0;
}

/* A certificate and its key (generated or given): readable, matching,
 * not expired. */
static int check_pair(const struct server_cfg *c, const char *opt, const char *cert,
		      const char *key, char *err)
{
	struct cert_facts f;
	char e[ERRLEN];

	if (certcheck_pair(cert, key, &f, e) < 0)
		return bad(c, opt, 0, err, "%s", e);
	return check_expiry(c, opt, cert, &f, err);
}

/* A CRL: readable, signed by a client CA, not out of date; warned about
 * within CERT_WARN_DAYS of its nextUpdate. */
static int check_crl(const struct server_cfg *c, const char *opt, const char *file,
		     const char *ca, char *err)
{
	struct crl_facts f;
	char e[ERRLEN], date[16];

	if (certcheck_crl(file, ca, NULL, &f, e) < 0)
		return bad(c, opt, 0, err, "%s", e);
	if (f.next_update && cert_days_left(f.next_update, time(NULL)) < CERT_WARN_DAYS) {
		cert_date(f.next_update, date, sizeof(date));
		log_warnx("%s: the CRL is to be renewed by %s (its nextUpdate)", file, date);
	}
	return 0;
}

/* What the embedded defaults will use from the state directory: the files
 * kept there must be sound; missing ones will be generated. */
static int check_state_dir(const struct server_cfg *c, char *err)
{
	struct pki_paths pp;
	struct in6_addr a;
	char e[ERRLEN];
	int need_ca = !c->cert || (c->auth == AUTH_CERTIFICATES && !c->client_ca);
	struct stat st;

	pki_paths_init(&pp, c->state_dir);
	if (stat(pp.dir, &st) == 0 && !S_ISDIR(st.st_mode))
		return bad(c, "state-dir", 0, err, "%s is not a directory", pp.dir);
	/* a reload runs as the daemon's user and never signs: the CA's key is root's */
	if (need_ca && !c->reloading && access(pp.ca_cert, F_OK) == 0 &&
	    check_pair(c, "state-dir", pp.ca_cert, pp.ca_key, err) < 0)
		return -1;
	if (!c->cert && access(pp.server_cert, F_OK) == 0 &&
	    check_pair(c, "state-dir", pp.server_cert, pp.server_key, err) < 0)
		return -1;
	if (c->auth == AUTH_CERTIFICATES && !c->client_ca && !c->crl && !c->reloading &&
	    access(pp.crl, F_OK) == 0 && check_crl(c, "state-dir", pp.crl, pp.ca_cert, err) < 0)
		return -1;
	if (!c->prefix && pki_read_prefix(pp.prefix_file, &a, e) < 0)
		return bad(c, "state-dir", 0, err, "%s", e);
	return 0;
}

/* The TLS context the files and the suites policy make (built and
 * thrown away): e.g. null suites need an RSA key. */
static int check_tls(const struct server_cfg *c, char *err)
{
	struct tls_server_opts o = {
		.cert_file = c->cert,
		.key_file = c->key,
		.client_ca_file = c->auth == AUTH_CERTIFICATES ? c->client_ca : NULL,
		.null_enc = (enum null_enc_policy)c->null_enc,
		.min_version = server_cfg_tls_version(c),
		.resumption = c->tls_resumption == TLS_RESUMPTION_ON,
	};
	SSL_CTX *ctx;
	char e[ERRLEN];

	if (c->transport == TRANSPORT_HTTP || !c->cert)
		return 0;       /* no TLS here, or the generated RSA certificate */
	ctx = tls_server_ctx(&o, e);
	if (!ctx && !c->null_enc_explicit && o.null_enc != NULL_ENC_OFF) {
		o.null_enc = NULL_ENC_OFF;      /* the default gives way (server.c says so) */
		ctx = tls_server_ctx(&o, e);
	}
	if (!ctx)
		return bad(c, c->null_enc != NULL_ENC_OFF ? "null-encryption" : "cert", 0, err, "%s", e);
	SSL_CTX_free(ctx);
	return 0;
}

int server_cfg_check(struct server_cfg *c, char *err)
{
	struct cert_facts f;
	char e[ERRLEN];

	if (c->cert && check_pair(c, "cert", c->cert, c->key, err) < 0)
		return -1;
	if (c->auth == AUTH_CERTIFICATES && c->client_ca) {
		if (certcheck_bundle(c->client_ca, &f, e) < 0)
			return bad(c, "client-ca", 0, err, "%s", e);
		if (check_expiry(c, "client-ca", c->client_ca, &f, err) < 0)
			return -1;
	}
	/* On reload an unreadable CRL keeps the one in use (crl.c): not a
	 * reason to refuse the rest. */
	if (c->crl && !c->reloading && check_crl(c, "crl", c->crl, c->client_ca, err) < 0)
		return -1;
	if (check_tls(c, err) < 0 || intranet_check(c, err) < 0)
		return -1;
	if (c->connect_script && hook_check_script(c->connect_script, e) < 0)
		return bad(c, "connect-script", 0, err, "%s", e);
	if (c->disconnect_script && hook_check_script(c->disconnect_script, e) < 0)
		return bad(c, "disconnect-script", 0, err, "%s", e);
	return check_state_dir(c, err);
}

/* Fill cert/key/client CA/prefix from the state directory, generating
 * what is missing; sets *client_cert for the printed command line. */
/* A reload runs as the unprivileged user (common/priv.h): it reads what
 * the start generated and generates nothing (the CA's key is root's). */
static int reloading;

static int embedded_defaults(struct server_cfg *c, struct pki_paths *pp, char *client_cert,
			     char *client_key, size_t len, char *err)
{
	int created = 0;
	struct in6_addr prefix;
	char buf[INET6_ADDRSTRLEN + 8];

	pki_paths_init(pp, c->state_dir);
	client_cert[0] = client_key[0] = 0;
	if (!reloading && (!c->cert || (c->auth == AUTH_CERTIFICATES && !c->client_ca))) {
		if (pki_ensure_server(pp, (const char *const *)c->hostnames.v, c->hostnames.n,
				      &created, err) < 0)
			return -1;
		if (created)
			log_info("generated a certificate authority and a server certificate for %s in %s",
				 c->hostnames.v[0], pp->dir);
		if (pki_client_paths(pp, "client1", client_cert, client_key, len) != 0) {
			if (pki_issue_client(pp, "client1", client_cert, client_key, len, err) < 0)
				return -1;
			log_info("issued a first client certificate: %s", client_cert);
		}
	}
	if (!c->cert) {
		c->cert = strdup(pp->server_cert);
		c->key = strdup(pp->server_key);
	}
	if (c->auth == AUTH_CERTIFICATES && !c->client_ca) {
		c->client_ca = strdup(pp->ca_cert);
		if (!c->crl) {
			/* a reload generates nothing: the CA's key is root's */
			if (!reloading && pki_ensure_crl(pp, &created, err) < 0)
				return -1;
			c->crl = strdup(pp->crl);
		}
	}
	if (!c->prefix && !reloading) {     /* a reload keeps the running prefix */
		created = 0;
		if (pki_ensure_prefix(pp, &prefix, &created, err) < 0)
			return -1;
		inet_ntop(AF_INET6, &prefix, buf, sizeof(buf));
		strcat(buf, "/64");
		c->prefix = strdup(buf);
		if (created)
			log_info("generated the link prefix %s (kept in %s)", buf, pp->prefix_file);
	}
	return 0;
}

static void absolutize(char **path)
{
	char buf[PATH_MAX];
	if (*path && (*path)[0] != '/' && getcwd(buf, sizeof(buf))) {
		char *n = NULL;
		if (asprintf(&n, "%s/%s", buf, *path) > 0) {
			free(*path);
			*path = n;
		}
	}
}

static int saved_argc;
static char **saved_argv;

void server_cfg_free(struct server_cfg *cfg)
{
	opts_free(server_opts, cfg);
}

static void cfg_init(struct server_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->auth = AUTH_CERTIFICATES;
	c->null_enc = -1;               /* not given: null_enc_default() */
	c->tls_min = TLS_MIN_1_2;
	c->max_clients = 10000;
	c->header_timeout = 10;
	c->max_packet = 2048;
	c->max_addrs = 8;
	c->queue_limit = 1 << 20;
	c->ra_interval = 600;
	c->hook_timeout = 10;
	c->addr_idle = 60;
	c->addr_hold = 300;
	c->multicast_rate = 20;
	c->queue_budget = 256L << 20;
	c->max_handshakes = 1000;
	c->max_per_source = 250;
	c->offload = 1;
}

void server_cfg_usage(FILE *f)
{
	opts_usage(f, "iphttps server [-c FILE] [options]", server_opts);
}

int server_cfg_parse(struct server_cfg *cfg, int argc, char **argv, char *err)
{
	int r;

	cfg_init(cfg);
	saved_argc = argc;
	saved_argv = argv;
	r = opts_parse(server_opts, cfg, "server", argc, argv, NULL, &cfg->origin, err);
	if (r != 0)
		return r;
	cfg_defaults(cfg);
	null_enc_default(cfg);
	absolutize(&cfg->state_dir);
	return check_values(cfg, err);
}

int server_cfg_materialize(struct server_cfg *cfg, struct server_boot *b, char *err)
{
	if (embedded_defaults(cfg, &b->pp, b->client_cert, b->client_key, sizeof(b->client_cert), err) < 0)
		return -1;
	if (!b->client_cert[0] && cfg->auth == AUTH_CERTIFICATES)
		pki_client_paths(&b->pp, "client1", b->client_cert, b->client_key, sizeof(b->client_cert));
	return 0;
}

int server_cfg_reload(struct server_cfg *out, char *err)
{
	struct server_boot b;
	int r = server_cfg_parse(out, saved_argc, saved_argv, err);

	out->reloading = 1;
	reloading = 1;
	if (r != 0 || server_cfg_check(out, err) < 0 || server_cfg_materialize(out, &b, err) < 0) {
		reloading = 0;
		opts_free(server_opts, out);
		return -1;
	}
	reloading = 0;
	return 0;
}

int server_cfg_tls_version(const struct server_cfg *c)
{
	return c->tls_min == TLS_MIN_1_0 ? TLS1_VERSION : c->tls_min == TLS_MIN_1_1 ? TLS1_1_VERSION :
	       TLS1_2_VERSION;
}

void server_cfg_tls_policy(const struct server_cfg *c, int null_enc, char *out, size_t len)
{
	const char *why = null_enc != c->null_enc ? " (--null-encryption was not given and the server key is not RSA)" :
			  c->null_enc_explicit ? "" :
			  c->auth == AUTH_NONE ? " (the default with --auth none)" : " (the default with --auth certificates)";
	const char *versions = c->tls_min == TLS_MIN_1_0 ?
		"TLS 1.0 to 1.3 (--tls-min 1.0: TLS 1.0 and 1.1 for stock Windows 7 clients, legacy versions with weaker handshake hashes, SHA-1 and MD5+SHA-1)" :
		c->tls_min == TLS_MIN_1_1 ?
		"TLS 1.1 to 1.3 (--tls-min 1.1: TLS 1.1 for Windows 7 clients, a legacy version with weaker handshake hashes, SHA-1 and MD5+SHA-1)" :
		"TLS 1.2 and 1.3";

	if (c->transport == TRANSPORT_HTTP) {
		snprintf(out, len, "plain HTTP: the TLS-terminating balancer in front chooses versions and suites");
	} else if (null_enc == NULL_ENC_PREFER) {
		snprintf(out, len, "%s; null suites (TLS_RSA_WITH_NULL_SHA256, TLS_RSA_WITH_NULL_SHA, TLS 1.2) whenever the client offers them, as a DirectAccess server gives them to Windows 8/10/11 clients; encrypted suites to the others%s", versions, why);
	} else if (null_enc == NULL_ENC_ALLOW) {
		snprintf(out, len, "%s; an encrypted suite whenever the client offers one; the null suites only to a client that offers nothing else, such as the first attempt of a Windows 8/10/11 client%s", versions, why);
	} else {
		snprintf(out, len, "%s; encrypted suites only; a ClientHello with only the null suites (the first attempt of a Windows 8/10/11 client) is reset without an alert, so that the client retries at once with encrypted suites%s", versions, why);
	}
}
