/* The server's configuration: the options table, defaults, checks and the
 * embedded defaults (config.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "server/config.h"
#include "tls/tls.h"
#include "wire/http.h"

static const char *const transports[] = { "https", "http", NULL };
static const char *const auth_modes[] = { "none", "certificates", NULL };
static const char *const null_modes[] = { "off", "allow", "prefer", NULL };
static const char *const prefix_modes[] = { "shared", "per-client", NULL };

#define O(f) offsetof(struct server_cfg, f)
static const struct opt_def server_opts[] = {
	{ "config", 'c', OPT_CONFIG, 0, "FILE", "read options from FILE ([server] section)" },
	{ "listen", 0, OPT_STR, O(listen), "ADDR:PORT", "where to accept clients (default [::]:443, IPv4 too)" },
	{ "path", 0, OPT_LIST, O(paths), "PATH", "URL path accepted, repeatable (default /IPHTTPS and /IPTLS)" },
	{ "transport", 0, OPT_ENUM, O(transport), "https|http", "http behind a TLS-terminating balancer (default https)", 0, 0, transports },
	{ "cert", 0, OPT_STR, O(cert), "FILE", "server certificate chain, PEM (default: generated)" },
	{ "key", 0, OPT_STR, O(key), "FILE", "server private key, PEM (default: generated)" },
	{ "auth", 0, OPT_ENUM, O(auth), "none|certificates", "client authentication (default certificates)", 0, 0, auth_modes },
	{ "client-ca", 0, OPT_STR, O(client_ca), "FILE", "CAs accepted for client certificates (default: the generated CA)" },
	{ "null-encryption", 0, OPT_ENUM, O(null_enc), "off|allow|prefer", "TLS suites without encryption (default prefer with --auth none, else off)", 0, 0, null_modes },
	{ "prefix", 0, OPT_STR, O(prefix), "PREFIX/64", "the link's prefix (default: a random ULA /64, kept)" },
	{ "prefix-mode", 0, OPT_ENUM, O(prefix_mode), "shared|per-client", "one /64 for the link, or one /64 per client from --prefix-pool (default shared)", 0, 0, prefix_modes },
	{ "prefix-pool", 0, OPT_STR, O(prefix_pool), "PREFIX/LEN", "per-client mode: the /64s handed out (e.g. a /48)" },
	{ "route", 0, OPT_LIST, O(routes), "PREFIX", "inside prefix advertised to clients, repeatable" },
	{ "default-route", 0, OPT_FLAG, O(default_route), NULL, "advertise the server as default router" },
	{ "dns", 0, OPT_LIST, O(dns), "ADDR", "DNS server advertised (RDNSS), repeatable" },
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
	{ "max-handshakes-per-source", 0, OPT_INT, O(max_per_source), "N", "of those, from one IPv4 address or IPv6 /64 (default 16)", 1, 1000000 },
	{ "ra-interval", 0, OPT_INT, O(ra_interval), "SECONDS", "unsolicited RA to each client every (default 600)", 0, 86400 },
	{ "offload", 0, OPT_FLAG, O(offload), NULL, "TCP segmentation offload on the TUN (measured no faster yet: docs/performance.md)" },
	{ "verbose", 'v', OPT_FLAG, O(verbose), NULL, "debug logging" },
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

static int check_cfg(struct server_cfg *c, char *err)
{
	if ((c->cert == NULL) != (c->key == NULL)) {
		snprintf(err, ERRLEN, "--cert and --key go together");
		return -1;
	}
	if (strlen(c->tun) >= 16) {
		snprintf(err, ERRLEN, "--tun: '%s' is longer than 15 characters", c->tun);
		return -1;
	}
	for (size_t i = 0; i < c->paths.n; i++)
		if (c->paths.v[i][0] != '/') {
			snprintf(err, ERRLEN, "--path: '%s' must start with /", c->paths.v[i]);
			return -1;
		}
	if (c->paths.n >= HTTP_MAX_PATHS) {
		snprintf(err, ERRLEN, "--path: at most %d paths", HTTP_MAX_PATHS - 1);
		return -1;
	}
	if ((c->prefix_mode == PREFIX_PER_CLIENT) != (c->prefix_pool != NULL)) {
		snprintf(err, ERRLEN, "--prefix-mode per-client and --prefix-pool go together");
		return -1;
	}
	if (c->null_enc_explicit && c->null_enc != NULL_ENC_OFF && c->transport == TRANSPORT_HTTP) {
		snprintf(err, ERRLEN, "--null-encryption concerns TLS; with --transport http the balancer in front chooses the suites");
		return -1;
	}
	return 0;
}

/* Fill cert/key/client CA/prefix from the state directory, generating
 * what is missing; sets *client_cert for the printed command line. */
static int embedded_defaults(struct server_cfg *c, struct pki_paths *pp, char *client_cert,
			     char *client_key, size_t len, char *err)
{
	int created = 0;
	struct in6_addr prefix;
	char buf[INET6_ADDRSTRLEN + 8];

	pki_paths_init(pp, c->state_dir);
	client_cert[0] = client_key[0] = 0;
	if (!c->cert || (c->auth == AUTH_CERTIFICATES && !c->client_ca)) {
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
	if (c->auth == AUTH_CERTIFICATES && !c->client_ca)
		c->client_ca = strdup(pp->ca_cert);
	if (!c->prefix) {
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
	c->max_clients = 10000;
	c->header_timeout = 10;
	c->max_packet = 2048;
	c->max_addrs = 8;
	c->queue_limit = 1 << 20;
	c->ra_interval = 600;
	c->addr_idle = 60;
	c->addr_hold = 300;
	c->multicast_rate = 20;
	c->queue_budget = 256L << 20;
	c->max_handshakes = 1000;
	c->max_per_source = 16;
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
	r = opts_parse(server_opts, cfg, "server", argc, argv, NULL, err);
	if (r != 0)
		return r;
	cfg_defaults(cfg);
	null_enc_default(cfg);
	absolutize(&cfg->state_dir);
	return check_cfg(cfg, err);
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

	if (server_cfg_parse(out, saved_argc, saved_argv, err) != 0 ||
	    server_cfg_materialize(out, &b, err) < 0) {
		opts_free(server_opts, out);
		return -1;
	}
	return 0;
}

void server_cfg_tls_policy(const struct server_cfg *c, int null_enc, char *out, size_t len)
{
	const char *why = null_enc != c->null_enc ? " (--null-encryption was not given and the server key is not RSA)" :
			  c->null_enc_explicit ? "" :
			  c->auth == AUTH_NONE ? " (the default with --auth none)" : " (the default with --auth certificates)";

	if (c->transport == TRANSPORT_HTTP) {
		snprintf(out, len, "plain HTTP: the TLS-terminating balancer in front chooses versions and suites");
	} else if (null_enc == NULL_ENC_PREFER) {
		snprintf(out, len, "null suites (TLS_RSA_WITH_NULL_SHA256, TLS_RSA_WITH_NULL_SHA, TLS 1.2) whenever the client offers them, as a DirectAccess server gives them to Windows 8/10/11 clients; encrypted suites to the others%s", why);
	} else if (null_enc == NULL_ENC_ALLOW) {
		snprintf(out, len, "an encrypted suite whenever the client offers one; the null suites only to a client that offers nothing else, such as the first attempt of a Windows 8/10/11 client%s", why);
	} else {
		snprintf(out, len, "encrypted suites only; a ClientHello with only the null suites (the first attempt of a Windows 8/10/11 client) is reset without an alert, so that the client retries at once with encrypted suites%s", why);
	}
}
