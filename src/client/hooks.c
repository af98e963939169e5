/* The client's up and down scripts: see hooks.h. */
#include "client/hooks.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "client/client.h"
#include "common/log.h"
#include "errors.h"
#include "net/tun.h"

void client_hooks_init(struct client *c)
{
	hooks_init(&c->hooks, &c->ev, (unsigned)c->cfg->hook_timeout * 1000, &c->hook_st);
}

/* "a\nb\n" into "a<sep>b". */
static void join_lines(char *s, char sep)
{
	size_t n = strlen(s);

	while (n && s[n - 1] == '\n')
		s[--n] = 0;
	for (char *p = s; *p; p++)
		if (*p == '\n')
			*p = sep;
}

static struct hook_job *job_for(struct client *c, const char *script, const char *event)
{
	char buf[4096], err[ERRLEN], a[INET6_ADDRSTRLEN];
	struct hook_job *j = hook_new(script, event, !strcmp(event, "up") ? "up-script" : "down-script");
	size_t off = 0;

	if (!j)
		return NULL;
	hook_env(j, "IPHTTPS_INTERFACE", "%s", c->tun_name);
	hook_env(j, "IPHTTPS_URL", "%s", c->urls[c->cur].text);
	hook_env(j, "IPHTTPS_PEER", "%s", c->peer);
	if (tun_list_addrs(c->tun_name, buf, sizeof(buf), err) < 0)
		buf[0] = 0;
	join_lines(buf, ' ');
	hook_env(j, "IPHTTPS_ADDRESSES", "%s", buf);
	if (tun_list_routes(c->tun_name, buf, sizeof(buf), err) < 0)
		buf[0] = 0;
	join_lines(buf, ',');
	hook_env(j, "IPHTTPS_ROUTES", "%s", buf);
	buf[0] = 0;
	for (size_t i = 0; i < c->dns.want.n_servers && off < sizeof(buf) - sizeof(a); i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", i ? " " : "",
					inet_ntop(AF_INET6, &c->dns.want.servers[i], a, sizeof(a)));
	hook_env(j, "IPHTTPS_DNS", "%s", buf);
	buf[0] = 0;
	for (size_t i = 0, o = 0; i < c->dns.want.n_domains && o < sizeof(buf) - ND_DOMAIN_MAX; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", i ? " " : "",
				      c->dns.want.domains[i]);
	hook_env(j, "IPHTTPS_DNS_DOMAINS", "%s", buf);
	hook_env(j, "IPHTTPS_RX_BYTES", "%llu", (unsigned long long)client_count(c).rx_bytes);
	hook_env(j, "IPHTTPS_TX_BYTES", "%llu", (unsigned long long)client_count(c).tx_bytes);
	return j;
}

static void up_done(struct hook_job *j, int ok, void *arg)
{
	struct client *c = arg;

	c->up_job = NULL;
	c->up_ok = (uint8_t)ok;
	if (!ok && c->cfg->hook_fatal && c->fsm.state == CS_LINKUP)
		client_link_lost(c, IPH_E_LOCAL, "the up script failed (--hook-fatal)");
}

void client_hooks_address(struct client *c)
{
	struct hook_job *j;

	if (c->up_ran || c->fsm.state != CS_LINKUP)
		return;
	c->up_ran = 1;          /* once per link, scripts or not */
	c->up_ok = 1;
	if (!c->cfg->up_script || !(j = job_for(c, c->cfg->up_script, "up")))
		return;
	c->up_job = j;
	hook_submit(&c->hooks, j, up_done, c);
}

void client_hooks_down(struct client *c, const char *why)
{
	struct hook_job *j, *up = c->up_job;
	int ran = c->up_ran, ok = c->up_ok;

	c->up_ran = 0;
	c->up_job = NULL;
	if (up)
		hook_forget(up);
	if (!c->cfg->down_script || !ran || (!up && !ok) ||
	    !(j = job_for(c, c->cfg->down_script, "down")))
		return;
	hook_env(j, "IPHTTPS_DURATION", "%llu",
		 (unsigned long long)((ev_now_ms() - c->fsm.linkup_ms) / 1000));
	hook_env(j, "IPHTTPS_REASON", "%s", why ? why : "");
	if (up)
		hook_after(up, j);
	else
		hook_submit(&c->hooks, j, NULL, NULL);
}

void client_hooks_drain(struct client *c)
{
	hooks_drain(&c->hooks, (int)c->cfg->hook_timeout * 1000);
}
