/* The client's configuration (config.h): the options table, defaults and
 * checks. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "client/config.h"
#include "common/hook.h"
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
	{ "cert", 0, OPT_LIST, O(certs), "FILE|DIR", "client certificate (PEM), repeatable: tried in turn as Windows does; a directory: its NAME.pem/NAME.crt with NAME.key" },
	{ "key", 0, OPT_LIST, O(keys), "FILE", "private key (PEM) of the --cert FILE of the same rank" },
	{ "proxy", 0, OPT_STR, O(proxy), "http://[USER:PASS@]HOST:PORT", "HTTP proxy for CONNECT (default: $https_proxy unless $no_proxy covers the host)" },
	{ "null-encryption", 0, OPT_ENUM, O(null_enc), "off|on", "on: first attempt with only the null suites, then encrypted ones on Windows' conditions (default off)", 0, 0, null_modes },
	{ "tun", 0, OPT_STR, O(tun), "NAME", "client TUN device and instance name (default iphttps0)" },
	{ "run-dir", 0, OPT_STR, O(run_dir), "DIR", "control sockets (default /run/iphttps or $IPHTTPS_RUN_DIR)" },
	{ "reconnect-initial", 0, OPT_INT, O(reconnect_initial), "S", "first wait after a failure (default 30)", 1, 86400 },
	{ "reconnect-max", 0, OPT_INT, O(reconnect_max), "S", "longest wait between attempts (default 900)", 1, 86400 },
	{ "timeout", 0, OPT_INT, O(timeout), "S", "limit for each step: TCP, TLS, HTTP (default 10)", 1, 600 },
	{ "queue-limit", 0, OPT_INT, O(queue_limit), "BYTES", "bytes queued toward the server before drops (default 4194304)", 65536, 1 << 30 },
	{ "dns", 0, OPT_ENUM, O(dns), "split|full|off", "apply the advertised DNS servers and domains: split sends only those domains through the tunnel (default), full every name, off nothing", 0, 0, dns_modes },
	{ "offload", 0, OPT_FLAG, O(offload), NULL, "TUN offloads: TCP super-packets cut on reads, joined on writes (on by default; --no-offload: packet by packet)" },
	{ "allow-http", 0, OPT_FLAG, O(allow_http), NULL, "accept http:// URLs (no TLS: only for tests and trusted paths)" },
	{ "user", 0, OPT_STR, O(user), "NAME", "the unprivileged user to run as after setup (default iphttps; root keeps root)" },
	{ "verbose", 'v', OPT_FLAG, O(verbose), NULL, "debug logging" },
	{ "up-script", 0, OPT_STR, O(up_script), "FILE", "run when the link is up with its address (IPHTTPS_* in its environment: man iphttps)" },
	{ "down-script", 0, OPT_STR, O(down_script), "FILE", "run when the link ends" },
	{ "hook-timeout", 0, OPT_INT, O(hook_timeout), "SECONDS", "a script still running then is stopped (default 10)", 1, 3600 },
	{ "hook-fatal", 0, OPT_FLAG, O(hook_fatal), NULL, "a failing up script ends the link" },
	{ "check", 0, OPT_FLAG, O(check), NULL, "validate the configuration and its files, change nothing, exit 0 or 2" },
	{ NULL },
};
#undef O

/* err = "FILE:LINE: name: ..." or "--name: ..." about option name's value
 * (item of a list); -1. */
#define bad(c, name, item, err, ...) \
	opts_bad(client_opts, &(c)->origin, (c), (name), (item), (err), __VA_ARGS__)

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

/* Appends the pair cert/key (of --cert item `item`) to c->creds, checked:
 * readable, matching, not expired (certcheck_pair); one not for client
 * authentication is kept with a warning, as Windows keeps it until a
 * server asks (then 0x800b0110 drops it).  0, or -1 with err. */
static int add_cred(struct client_cfg *c, size_t item, const char *cert, const char *key, char *err)
{
	struct tls_cred *cr;
	struct cert_facts f;
	const char *base = strrchr(cert, '/');
	char e[ERRLEN];

	if (c->n_creds >= CLIENT_MAX_CERTS)
		return bad(c, "cert", item, err, "at most %d client certificates", CLIENT_MAX_CERTS);
	cr = &c->creds[c->n_creds];
	if ((size_t)snprintf(cr->cert_file, sizeof(cr->cert_file), "%s", cert) >= sizeof(cr->cert_file) ||
	    (size_t)snprintf(cr->key_file, sizeof(cr->key_file), "%s", key) >= sizeof(cr->key_file))
		return bad(c, "cert", item, err, "%s: path too long", cert);
	snprintf(cr->label, sizeof(cr->label), "%s", base ? base + 1 : cert);
	if (certcheck_pair(cert, key, &f, e) < 0)
		return bad(c, "cert", item, err, "%s", e);
	if (check_expiry(c, "cert", cert, &f, err) < 0)
		return -1;
	switch (tls_cred_check(cr, e)) {
	case -1:
		return bad(c, "cert", item, err, "%s", e);
	case 1:
		log_warnx("--cert %s: %s; it is dropped (0x800b0110) when a server asks for a certificate",
			  cert, e);
		break;
	}
	c->n_creds++;
	return 0;
}

/* Every NAME.pem or NAME.crt of --cert item `item` (a directory) with a
 * NAME.key, in name order, into c->creds.  0, or -1 with err (none there
 * is an error too). */
static int add_cred_dir(struct client_cfg *c, size_t item, const char *dir, char *err)
{
	struct dirent **ents;
	size_t before = c->n_creds;
	int n = scandir(dir, &ents, NULL, alphasort), rc = 0;

	if (n < 0)
		return bad(c, "cert", item, err, "%s: %s", dir, strerror(errno));
	for (int i = 0; i < n; i++) {
		char cert[1024], key[1024];
		const char *name = ents[i]->d_name;
		size_t len = strlen(name);

		if (rc == 0 && len > 4 && (!strcmp(name + len - 4, ".pem") || !strcmp(name + len - 4, ".crt"))) {
			snprintf(cert, sizeof(cert), "%s/%s", dir, name);
			snprintf(key, sizeof(key), "%s/%.*s.key", dir, (int)(len - 4), name);
			if (access(key, F_OK) == 0)
				rc = add_cred(c, item, cert, key, err);
		}
		free(ents[i]);
	}
	free(ents);
	if (rc == 0 && c->n_creds == before)
		return bad(c, "cert", item, err, "%s: no certificate NAME.pem or NAME.crt with its NAME.key in this directory", dir);
	return rc;
}

/* The client certificates of --cert/--key, checked, into c->creds.
 * 0, or -1 with err naming the option (or FILE:LINE) and the file. */
static const struct tls_cred *given;
static size_t n_given;

void client_cfg_given_creds(const struct tls_cred *v, size_t n)
{
	given = v;
	n_given = n < CLIENT_MAX_CERTS ? n : CLIENT_MAX_CERTS;
}

static int load_creds(struct client_cfg *c, char *err)
{
	size_t k = 0;
	struct stat st;

	if (given) {
		memcpy(c->creds, given, n_given * sizeof(*given));
		c->n_creds = n_given;
		return 0;
	}

	for (size_t i = 0; i < c->certs.n; i++) {
		const char *cert = c->certs.v[i];

		if (stat(cert, &st) < 0)
			return bad(c, "cert", i, err, "%s: %s", cert, strerror(errno));
		if (S_ISDIR(st.st_mode)) {
			if (add_cred_dir(c, i, cert, err) < 0)
				return -1;
			continue;
		}
		if (k >= c->keys.n)
			return bad(c, "cert", i, err, "%s needs its --key (one --key for each --cert FILE, in the same order)", cert);
		if (add_cred(c, i, cert, c->keys.v[k++], err) < 0)
			return -1;
	}
	if (k < c->keys.n)
		return bad(c, "key", k, err, "%s has no --cert FILE (one --key for each --cert FILE, in the same order)",
			   c->keys.v[k]);
	return 0;
}

static int check_files(struct client_cfg *c, char *err)
{
	struct cert_facts f;
	char e[ERRLEN];

	if (c->up_script && hook_check_script(c->up_script, e) < 0)
		return bad(c, "up-script", 0, err, "%s", e);
	if (c->down_script && hook_check_script(c->down_script, e) < 0)
		return bad(c, "down-script", 0, err, "%s", e);
	if (c->hook_fatal && !c->up_script)
		return bad(c, "hook-fatal", 0, err, "needs --up-script");
	if (c->ca && (certcheck_bundle(c->ca, &f, e) < 0 ? bad(c, "ca", 0, err, "%s", e)
				: check_expiry(c, "ca", c->ca, &f, err)) < 0)
		return -1;
	return load_creds(c, err);
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

static int saved_argc;
static char **saved_argv;

int client_cfg_reload(struct client_cfg *cfg, struct iph_url *urls, size_t *n_urls, SSL_CTX **ctx,
		      char *err)
{
	int r = client_cfg_parse(cfg, saved_argc, saved_argv, urls, n_urls, err);

	*ctx = NULL;
	if (r == 0 && !(*ctx = client_cfg_tls_ctx(cfg, err)))
		r = -1;
	if (r != 0) {
		client_cfg_free(cfg);
		return -1;
	}
	return 0;
}

int client_cfg_parse(struct client_cfg *cfg, int argc, char **argv, struct iph_url *urls,
		     size_t *n_urls, char *err)
{
	struct strlist pos = { 0 };
	char e[ERRLEN];
	size_t n;
	int r;

	saved_argc = argc;
	saved_argv = argv;
	memset(cfg, 0, sizeof(*cfg));
	cfg->reconnect_initial = 30;
	cfg->hook_timeout = 10;
	cfg->reconnect_max = 900;
	cfg->timeout = 10;
	cfg->queue_limit = 4 << 20;
	cfg->offload = 1;
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
	return check_files(cfg, err);
}

SSL_CTX *client_cfg_tls_ctx(const struct client_cfg *cfg, char *err)
{
	struct tls_client_opts to = { 0 };

	to.ca_file = cfg->ca;
	to.pin = cfg->pin;
	return tls_client_ctx(&to, err);
}
