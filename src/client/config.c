/* The client's configuration (config.h): the options table, defaults and
 * checks. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/config.h"
#include "common/log.h"
#include "net/tun.h"
#include "tls/certcheck.h"
#include "tls/tls.h"

static const char *const null_modes[] = { "off", "on", NULL };
static const char *const dns_modes[] = { "split", "full", "off", NULL };

#define O(f) offsetof(struct client_cfg, f)
const struct opt_def client_opts[] = {
	{ "config", 'c', OPT_CONFIG, 0, "FILE", "read options from FILE ([client] section)" },
	{ "url", 0, OPT_LIST, O(urls), "URL", "entry point (also as arguments), repeatable" },
	{ "ca", 0, OPT_STR, O(ca), "FILE", "CAs that may sign the server certificate (default: system store)" },
	{ "pin", 0, OPT_STR, O(pin), "sha256//BASE64", "accept only this server public key" },
	{ "cert", 0, OPT_STR, O(cert), "FILE", "client certificate (PEM)" },
	{ "key", 0, OPT_STR, O(key), "FILE", "client private key (PEM)" },
	{ "proxy", 0, OPT_STR, O(proxy), "http://[USER:PASS@]HOST:PORT", "HTTP proxy for CONNECT (default: $https_proxy unless $no_proxy covers the host)" },
	{ "null-encryption", 0, OPT_ENUM, O(null_enc), "off|on", "offer the null suites (default off)", 0, 0, null_modes },
	{ "tun", 0, OPT_STR, O(tun), "NAME", "client TUN device and instance name (default iphttps0)" },
	{ "run-dir", 0, OPT_STR, O(run_dir), "DIR", "control sockets (default /run/iphttps or $IPHTTPS_RUN_DIR)" },
	{ "reconnect-initial", 0, OPT_INT, O(reconnect_initial), "S", "first wait after a failure (default 30)", 1, 86400 },
	{ "reconnect-max", 0, OPT_INT, O(reconnect_max), "S", "longest wait between attempts (default 900)", 1, 86400 },
	{ "timeout", 0, OPT_INT, O(timeout), "S", "limit for each step: TCP, TLS, HTTP (default 10)", 1, 600 },
	{ "queue-limit", 0, OPT_INT, O(queue_limit), "BYTES", "bytes queued toward the server before drops (default 4194304)", 65536, 1 << 30 },
	{ "dns", 0, OPT_ENUM, O(dns), "split|full|off", "apply the advertised DNS servers and domains: split sends only those domains through the tunnel (default), full every name, off nothing", 0, 0, dns_modes },
	{ "offload", 0, OPT_FLAG, O(offload), NULL, "TCP segmentation offload on the TUN (measured no faster yet: docs/performance.md)" },
	{ "allow-http", 0, OPT_FLAG, O(allow_http), NULL, "accept http:// URLs (no TLS: only for tests and trusted paths)" },
	{ "verbose", 'v', OPT_FLAG, O(verbose), NULL, "debug logging" },
	{ "check", 0, OPT_FLAG, O(check), NULL, "validate the configuration and its files, change nothing, exit 0 or 2" },
	{ NULL },
};
#undef O

/* err = "FILE:LINE: name: ..." or "--name: ..."; returns -1. */
static int __attribute__((format(printf, 5, 6)))
bad(const struct client_cfg *c, const char *name, size_t item, char *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	opts_vbad(client_opts, &c->origin, c, name, item, err, fmt, ap);
	va_end(ap);
	return -1;
}

/* Expired: an error; within CERT_WARN_DAYS: a warning. */
static int check_expiry(const struct client_cfg *c, const char *opt, const char *file,
			const struct cert_facts *f, char *err)
{
	long days = cert_days_left(f->not_after, time(NULL));
	char date[16];

	cert_date(f->not_after, date, sizeof(date));
	if (f->not_after <= time(NULL))
		return bad(c, opt, 0, err, "%s (%s) expired on %s", file, f->subject, date);
	if (days < CERT_WARN_DAYS)
		log_warnx("%s (%s) expires in %ld days, on %s", file, f->subject, days, date);
	return 0;
}

static int check_files(const struct client_cfg *c, char *err)
{
	struct cert_facts f;
	char e[ERRLEN];

	if (c->ca && (certcheck_bundle(c->ca, &f, e) < 0 ? bad(c, "ca", 0, err, "%s", e)
				: check_expiry(c, "ca", c->ca, &f, err)) < 0)
		return -1;
	if (c->cert && (certcheck_pair(c->cert, c->key, &f, e) < 0 ? bad(c, "cert", 0, err, "%s", e)
				  : check_expiry(c, "cert", c->cert, &f, err)) < 0)
		return -1;
	return 0;
}

void client_cfg_usage(FILE *f)
{
	opts_usage(f, "iphttps client [-c FILE] [options] URL...", client_opts);
}

void client_cfg_free(struct client_cfg *cfg)
{
	opts_free(client_opts, cfg);
}

int client_proxy_for(const struct client_cfg *cfg, const char *host, struct proxy_cfg *p, char *err)
{
	if (cfg->proxy)
		return proxy_parse_url(cfg->proxy, p, err) < 0 ? -1 : 1;
	return proxy_from_env(p, host, err);
}

int client_cfg_parse(struct client_cfg *cfg, int argc, char **argv, struct iph_url *urls,
		     size_t *n_urls, char *err)
{
	struct strlist pos = { 0 };
	char e[ERRLEN];
	size_t n;
	int r;

	memset(cfg, 0, sizeof(*cfg));
	cfg->reconnect_initial = 30;
	cfg->reconnect_max = 900;
	cfg->timeout = 10;
	cfg->queue_limit = 4 << 20;
	*n_urls = 0;
	r = opts_parse(client_opts, cfg, "client", argc, argv, &pos, &cfg->origin, err);
	for (size_t i = 0; r == 0 && i < pos.n; i++)
		strlist_add(&cfg->urls, pos.v[i]);
	strlist_free(&pos);
	if (r != 0)
		return r;
	if (!cfg->urls.n) {
		snprintf(err, ERRLEN, "no URL given (e.g. https://da.example.com/IPHTTPS)");
		return -1;
	}
	if (cfg->urls.n > CLIENT_MAX_URLS) {
		snprintf(err, ERRLEN, "at most %d URLs", CLIENT_MAX_URLS);
		return -1;
	}
	for (n = 0; n < cfg->urls.n; n++)
		if (iph_url_parse(cfg->urls.v[n], &urls[n], cfg->allow_http, e) < 0) {
			if (!cfg->urls.line[n])
				return snprintf(err, ERRLEN, "%s", e), -1;
			return bad(cfg, "url", n, err, "%s", e);
		}
	*n_urls = n;
	for (size_t i = 0; i < n; i++) {
		struct proxy_cfg px;
		int pr = client_proxy_for(cfg, urls[i].host, &px, e);
		explicit_bzero(&px, sizeof(px));
		if (pr < 0)
			return cfg->proxy ? bad(cfg, "proxy", 0, err, "%s", e)
					  : (snprintf(err, ERRLEN, "%s", e), -1);
	}
	if (!cfg->tun)
		cfg->tun = strdup("iphttps0");
	if (!tun_name_ok(cfg->tun))
		return bad(cfg, "tun", 0, err,
			   "'%s' is not an interface name (1 to 15 characters, no '/', ':' or spaces)",
			   cfg->tun);
	if ((cfg->cert == NULL) != (cfg->key == NULL))
		return bad(cfg, cfg->cert ? "cert" : "key", 0, err, "--cert and --key go together");
	return check_files(cfg, err);
}

SSL_CTX *client_cfg_tls_ctx(const struct client_cfg *cfg, char *err)
{
	struct tls_client_opts to = { 0 };

	to.ca_file = cfg->ca;
	to.cert_file = cfg->cert;
	to.key_file = cfg->key;
	to.pin = cfg->pin;
	to.null_enc = cfg->null_enc ? NULL_ENC_ON : NULL_ENC_OFF;
	return tls_client_ctx(&to, err);
}
