/* The client's reload: see reload.h. */
#include "client/reload.h"

#include <stdlib.h>
#include <string.h>

#include "client/client.h"
#include "client/helper.h"
#include "common/log.h"
#include "common/sdnotify.h"

struct client_reload {
	struct client_cfg cfg;
	struct iph_url urls[CLIENT_MAX_URLS];
	size_t n_urls;
	SSL_CTX *ctx;
};

static int differs(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a && strcmp(a, b));
}

#define SWAP_STR(a, b, f) do { char *t_ = (a)->f; (a)->f = (b)->f; (b)->f = t_; } while (0)

/* What only a restart changes stays as it is. */
static void keep_fixed(struct client_cfg *n, struct client_cfg *old)
{
	if (differs(n->tun, old->tun) || differs(n->run_dir, old->run_dir) ||
	    n->offload != old->offload || n->dns != old->dns)
		log_warnx("reload: --tun, --run-dir, --offload and --dns need a restart; kept");
	SWAP_STR(n, old, tun);
	SWAP_STR(n, old, run_dir);
	n->offload = old->offload;
	n->dns = old->dns;
}

static void apply(struct client *c, struct client_reload *r)
{
	char cur[sizeof(c->urls[0].text)], err[ERRLEN];
	int kept = -1;

	snprintf(cur, sizeof(cur), "%s", c->urls[c->cur].text);
	keep_fixed(&r->cfg, c->cfg);
	client_cfg_free(c->cfg);
	*c->cfg = r->cfg;               /* the strings move over */
	SSL_CTX_free(c->ssl_ctx);       /* connections hold their own reference */
	c->ssl_ctx = r->ctx;
	for (size_t i = 0; i < c->n_urls; i++)
		explicit_bzero(&c->proxies[i], sizeof(c->proxies[i]));
	memcpy(c->urls, r->urls, r->n_urls * sizeof(r->urls[0]));
	c->n_urls = r->n_urls;
	for (size_t i = 0; i < c->n_urls; i++) {
		c->has_proxy[i] = client_proxy_for(c->cfg, c->urls[i].host, &c->proxies[i], err) == 1;
		if (!strcmp(c->urls[i].text, cur))
			kept = (int)i;
	}
	memset(c->entries, 0, sizeof(c->entries));
	c->fsm.rt.initial_ms = (uint64_t)c->cfg->reconnect_initial * 1000;
	c->fsm.rt.max_ms = (uint64_t)c->cfg->reconnect_max * 1000;
	c->hooks.timeout_ms = (unsigned)c->cfg->hook_timeout * 1000;
	log_info("reload: configuration read again (%zu entry point%s)", c->n_urls,
		 c->n_urls == 1 ? "" : "s");
	c->cur = kept >= 0 ? (size_t)kept : 0;
	if (c->fsm.state == CS_LINKUP && kept < 0) {
		log_notice("reload: the entry point in use (%s) is no longer configured: reconnecting", cur);
		client_close_link(c);
		client_set_state(c, CS_LINKDOWN, "reload: its entry point is gone");
	}
	if (c->fsm.state != CS_LINKUP)
		client_reconnect_now(c);    /* with what was just read */
}

void client_reload(struct client *c)
{
	struct client_reload *r = calloc(1, sizeof(*r));
	char err[ERRLEN];
	struct tls_cred creds[CLIENT_MAX_CERTS];
	size_t n = 0;
	int rc;

	notify_reloading();
	/* The helper first: it reads and checks the certificates and keys as
	 * root (the daemon may not read them), the daemon the rest. */
	if (r && client_helper_running(c) && client_helper_reload(c, creds, &n, err) < 0) {
		log_errx("reload: %s; keeping the running configuration", err);
		free(r);
		notify_ready();
		return;
	}
	if (r && client_helper_running(c))
		client_cfg_given_creds(creds, n);
	rc = r ? client_cfg_reload(&r->cfg, r->urls, &r->n_urls, &r->ctx, err) : -1;
	client_cfg_given_creds(NULL, 0);
	if (rc < 0) {
		log_errx("reload: %s; keeping the running configuration", r ? err : "out of memory");
		free(r);
		notify_ready();
		return;
	}
	client_reload_discard(c);       /* a newer one replaces it */
	c->pending_reload = r;
	if (!c->fsm.running)
		client_reload_pending(c);
	else
		log_info("reload: read; applied once the %u attempt%s in flight report", c->fsm.running,
			 c->fsm.running == 1 ? "" : "s");
}

void client_reload_discard(struct client *c)
{
	struct client_reload *r = c->pending_reload;

	if (!r)
		return;
	client_cfg_free(&r->cfg);
	SSL_CTX_free(r->ctx);
	free(r);
	c->pending_reload = NULL;
}

void client_reload_pending(struct client *c)
{
	struct client_reload *r = c->pending_reload;

	if (!r || c->fsm.running)
		return;
	c->pending_reload = NULL;
	apply(c, r);
	free(r);
	notify_ready();
}
