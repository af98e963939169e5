/* The client's configuration: every option (also a key of the [client]
 * section of a configuration file), its default and its checks, the entry
 * points parsed, the proxy for each, and the TLS context they call for.
 *
 * Error convention: 0 on success, -1 with a message in err[ERRLEN] naming
 * the option, the URL or FILE:LINE; client_cfg_parse returns 1 when --help
 * was printed. */
#ifndef IPHTTPS_CLIENT_CONFIG_H
#define IPHTTPS_CLIENT_CONFIG_H

#include <openssl/ssl.h>
#include <stdio.h>

#include "dial/connect.h"
#include "dial/proxy.h"
#include "common/errbuf.h"
#include "common/opts.h"
#include "common/priv.h"

#define CLIENT_MAX_URLS 8
#define CLIENT_MAX_CERTS 16

#include "tls/tls.h"

struct client_cfg {
	char *config;
	struct strlist urls;            /* positional, or url = ... keys */
	char *ca, *pin;
	struct strlist certs, keys;     /* --cert FILE|DIR and --key FILE, repeatable */
	struct tls_cred creds[CLIENT_MAX_CERTS]; /* the certificates tried in turn */
	size_t n_creds;
	char *proxy;                    /* --proxy URL, or NULL: https_proxy from the environment */
	int null_enc;                   /* off, on */
	char *tun;
	char *run_dir;
	long reconnect_initial, reconnect_max; /* seconds */
	long timeout;                   /* seconds per connection step */
	long queue_limit;
	int dns;                        /* enum dns_mode (client/dns.h) */
	int allow_http;
	int offload;
	char *user;                     /* --user NAME (default iphttps) */
	struct priv_user run_as;        /* looked up by the command (common/priv.h) */
	int verbose;
	int check;                      /* --check: validate and exit */
	char *up_script, *down_script;
	long hook_timeout;              /* seconds a script may run */
	int hook_fatal;                 /* a failed up script ends the link */
	struct opts_origin origin;
};

/* The options table (also the [client] keys). */
extern const struct opt_def client_opts[];

/* Parse the command line (with -c FILE) and the URL operands, apply the
 * defaults and check every value (URLs, proxies, the TUN name, the CA,
 * every client certificate with its key: readable, matching, not expired,
 * warned about within CERT_WARN_DAYS of their expiry); nothing on the host
 * is touched.  The entry points go to urls[CLIENT_MAX_URLS], their number to
 * *n_urls; the client certificates, in the order they are tried, to creds.
 * A --cert FILE takes the --key of the same rank among the --key options;
 * a --cert DIR takes every NAME.pem or NAME.crt of DIR that has a NAME.key,
 * in name order. */
int client_cfg_parse(struct client_cfg *cfg, int argc, char **argv, struct iph_url *urls,
		     size_t *n_urls, char *err);
/* SIGHUP: the same command line and file read and checked again, with the
 * TLS context they make (*ctx); 0, or -1 with err (nothing to free). */
int client_cfg_reload(struct client_cfg *cfg, struct iph_url *urls, size_t *n_urls, SSL_CTX **ctx,
		      char *err);
void client_cfg_usage(FILE *f);
/* The TLS context the configuration asks for (CA, pin); the client
 * certificates and the null suites are set per attempt (client/attempt.c);
 * NULL with err. */
SSL_CTX *client_cfg_tls_ctx(const struct client_cfg *cfg, char *err);
/* The proxy for URL host: --proxy, else https_proxy unless no_proxy covers
 * host.  1 with p filled in, 0 for none, -1 with err. */
int client_proxy_for(const struct client_cfg *cfg, const char *host, struct proxy_cfg *p, char *err);
void client_cfg_free(struct client_cfg *cfg);
/* The next parse takes these n client credentials (as the privileged
 * helper read and checked them, client/helper.h) instead of reading the
 * --cert files and directories itself; NULL: it reads them. */
void client_cfg_given_creds(const struct tls_cred *v, size_t n);

#endif
