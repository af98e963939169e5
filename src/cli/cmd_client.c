/* iphttps client: the configuration (src/client/config.c), then the
 * client's loop (src/client/). */
#include <stdio.h>

#include "cli/commands.h"
#include "client/client.h"
#include "common/log.h"
#include "common/priv.h"

/* --check passed: what the client would run with. */
static void print_check(const struct client_cfg *c, const struct iph_url *urls, size_t n)
{
	char err[ERRLEN];

	printf("configuration OK%s%s\n", c->origin.file[0] ? ": " : "", c->origin.file);
	for (size_t i = 0; i < n; i++)
		printf("  entry point %s\n", urls[i].text);
	printf("  server certificates from %s%s\n", c->ca ? c->ca : "the system trust store",
	       c->pin ? ", public key pinned" : "");
	if (!c->n_creds)
		printf("  client certificate none\n");
	for (size_t i = 0; i < c->n_creds; i++)
		printf("  client certificate %s%s (key %s)\n", c->creds[i].cert_file,
		       c->n_creds > 1 ? (i ? ", then" : ", tried first") : "", c->creds[i].key_file);
	printf("  TUN %s\n", c->tun);
	if (priv_check_daemon(0, err) < 0)
		printf("note: to run, the client %s\n", err);
}

int cmd_client(int argc, char **argv)
{
	struct client_cfg cfg;
	struct iph_url urls[CLIENT_MAX_URLS];
	SSL_CTX *ctx = NULL;
	char err[ERRLEN];
	size_t n = 0;
	int r, rc;

	log_init("iphttps-client", 0);
	r = client_cfg_parse(&cfg, argc, argv, urls, &n, err);
	if (r == 1) {
		client_cfg_usage(stdout);
		client_cfg_free(&cfg);
		return 0;
	}
	/* Every check before anything on the host changes (issue 12 item 6). */
	if (r < 0 || priv_user_lookup(cfg.user, &cfg.run_as, err) < 0 ||
	    !(ctx = client_cfg_tls_ctx(&cfg, err))) {
		log_cmd_error("iphttps client", "%s", err);
		client_cfg_free(&cfg);
		return 2;
	}
	log_init("iphttps-client", cfg.verbose ? 1 : 0);
	rc = 0;
	if (cfg.check) {
		print_check(&cfg, urls, n);
	} else if (priv_check_daemon(0, err) < 0) {
		log_errx("%s", err);
		rc = 1;
	} else {
		rc = client_main(&cfg, urls, n, ctx);   /* takes ctx */
		ctx = NULL;
	}
	SSL_CTX_free(ctx);
	client_cfg_free(&cfg);
	return rc;
}
