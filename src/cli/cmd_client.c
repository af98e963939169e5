/* iphttps client: the configuration (src/client/config.c), then the
 * client's loop (src/client/). */
#include <stdio.h>

#include "cli/commands.h"
#include "client/client.h"
#include "common/log.h"

int cmd_client(int argc, char **argv)
{
	struct client_cfg cfg;
	struct iph_url urls[CLIENT_MAX_URLS];
	SSL_CTX *ctx = NULL;
	char err[ERRLEN];
	size_t n = 0;
	int r, rc;

	r = client_cfg_parse(&cfg, argc, argv, urls, &n, err);
	if (r == 1) {
		client_cfg_usage(stdout);
		client_cfg_free(&cfg);
		return 0;
	}
	if (r < 0 || !(ctx = client_cfg_tls_ctx(&cfg, err))) {
		fprintf(stderr, "iphttps client: %s\n", err);
		client_cfg_free(&cfg);
		return 2;
	}
	log_init("iphttps-client", cfg.verbose ? 1 : 0);
	rc = client_main(&cfg, urls, n, ctx);
	SSL_CTX_free(ctx);
	client_cfg_free(&cfg);
	return rc;
}
