/* iphttps client: options, URLs and TLS context checked before anything is
 * touched, then the client's loop (src/client/). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "client/client.h"
#include "common/log.h"

static const char *const null_modes[] = { "off", "on", NULL };

#define O(f) offsetof(struct client_cfg, f)
static const struct opt_def client_opts[] = {
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
	{ "offload", 0, OPT_FLAG, O(offload), NULL, "TCP segmentation offload on the TUN (measured no faster yet: docs/performance.md)" },
	{ "allow-http", 0, OPT_FLAG, O(allow_http), NULL, "accept http:// URLs (no TLS: only for tests and trusted paths)" },
	{ "verbose", 'v', OPT_FLAG, O(verbose), NULL, "debug logging" },
	{ NULL },
};
#undef O

static int readable(const char *opt, const char *path, char *err)
{
	if (path && access(path, R_OK) < 0) {
		snprintf(err, ERRLEN, "--%s %s: %s", opt, path, strerror(errno));
		return -1;
	}
	return 0;
}

int cmd_client(int argc, char **argv)
{
	struct client_cfg cfg = { .reconnect_initial = 30, .reconnect_max = 900, .timeout = 10,
				  .queue_limit = 4 << 20 };
	struct strlist pos = { 0 };
	struct iph_url urls[CLIENT_MAX_URLS];
	struct tls_client_opts to = { 0 };
	SSL_CTX *ctx = NULL;
	char err[ERRLEN];
	size_t n = 0;
	int r, rc = 2;

	r = opts_parse(client_opts, &cfg, "client", argc, argv, &pos, err);
	if (r == 1) {
		opts_usage(stdout, "iphttps client [-c FILE] [options] URL...", client_opts);
		rc = 0;
		goto out;
	}
	if (r < 0)
		goto bad;
	log_init("iphttps-client", cfg.verbose ? 1 : 0);
	for (size_t i = 0; i < pos.n; i++)
		strlist_add(&cfg.urls, pos.v[i]);
	if (!cfg.urls.n) {
		snprintf(err, sizeof(err), "no URL given (e.g. https://da.example.com/IPHTTPS)");
		goto bad;
	}
	if (cfg.urls.n > CLIENT_MAX_URLS) {
		snprintf(err, sizeof(err), "at most %d URLs", CLIENT_MAX_URLS);
		goto bad;
	}
	for (n = 0; n < cfg.urls.n; n++)
		if (iph_url_parse(cfg.urls.v[n], &urls[n], cfg.allow_http, err) < 0)
			goto bad;
	for (size_t i = 0; i < n; i++) {
		struct proxy_cfg px;
		int pr = client_proxy_for(&cfg, urls[i].host, &px, err);
		explicit_bzero(&px, sizeof(px));
		if (pr < 0)
			goto bad;
	}
	if (!cfg.tun)
		cfg.tun = strdup("iphttps0");
	if (strlen(cfg.tun) >= 16) {
		snprintf(err, sizeof(err), "--tun: '%s' is longer than 15 characters", cfg.tun);
		goto bad;
	}
	if ((cfg.cert == NULL) != (cfg.key == NULL)) {
		snprintf(err, sizeof(err), "--cert and --key go together");
		goto bad;
	}
	if (readable("ca", cfg.ca, err) < 0 || readable("cert", cfg.cert, err) < 0 ||
	    readable("key", cfg.key, err) < 0)
		goto bad;
	to.ca_file = cfg.ca;
	to.cert_file = cfg.cert;
	to.key_file = cfg.key;
	to.pin = cfg.pin;
	to.null_enc = cfg.null_enc ? NULL_ENC_ON : NULL_ENC_OFF;
	if (!(ctx = tls_client_ctx(&to, err)))
		goto bad;
	rc = client_main(&cfg, urls, n, ctx);
	goto out;
bad:
	fprintf(stderr, "iphttps client: %s\n", err);
	rc = 2;
out:
	if (ctx && rc != 0 && rc != 1)
		SSL_CTX_free(ctx);
	else if (ctx)
		SSL_CTX_free(ctx);
	strlist_free(&pos);
	opts_free(client_opts, &cfg);
	return rc;
}
