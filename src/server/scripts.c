/* The server's connect and disconnect scripts: see scripts.h. */
#include "server/scripts.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "server/conn.h"
#include "server/ident.h"

void scripts_init(struct server *s)
{
	hooks_init(&s->hooks, &s->ev, (unsigned)s->cfg->hook_timeout * 1000, &s->st.hooks);
}

/* Address and port of the peer, IPv4-mapped shown as IPv4. */
static void peer_parts(const struct conn *c, char *addr, size_t len, unsigned *port)
{
	snprintf(addr, len, "?");
	*port = 0;
	if (c->peer.ss_family == AF_INET6) {
		const struct sockaddr_in6 *p6 = (const void *)&c->peer;
		if (IN6_IS_ADDR_V4MAPPED(&p6->sin6_addr))
			inet_ntop(AF_INET, &p6->sin6_addr.s6_addr[12], addr, (socklen_t)len);
		else
			inet_ntop(AF_INET6, &p6->sin6_addr, addr, (socklen_t)len);
		*port = ntohs(p6->sin6_port);
	} else if (c->peer.ss_family == AF_INET) {
		const struct sockaddr_in *p4 = (const void *)&c->peer;
		inet_ntop(AF_INET, &p4->sin_addr, addr, (socklen_t)len);
		*port = ntohs(p4->sin_port);
	}
}

/* A job with what both events say. */
static struct hook_job *job_for(struct conn *c, const char *script, const char *event)
{
	struct server *s = c->srv;
	char name[64], addr[INET6_ADDRSTRLEN], addrs[64 * (INET6_ADDRSTRLEN + 1)] = "";
	struct hook_job *j;
	unsigned port;
	size_t off = 0;

	snprintf(name, sizeof(name), "%s-script #%llu", event, (unsigned long long)c->id);
	if (!(j = hook_new(script, event, name)))
		return NULL;
	peer_parts(c, addr, sizeof(addr), &port);
	for (unsigned i = 0; i < c->n_addrs && off < sizeof(addrs) - INET6_ADDRSTRLEN - 1; i++) {
		char a[INET6_ADDRSTRLEN];
		inet_ntop(AF_INET6, &c->addrs[i], a, sizeof(a));
		off += (size_t)snprintf(addrs + off, sizeof(addrs) - off, "%s%s", i ? " " : "", a);
	}
	inet_ntop(AF_INET6, c->has_prefix ? &c->prefix : &s->prefix, name, sizeof(name));
	hook_env(j, "IPHTTPS_INTERFACE", "%s", s->tun_name);
	hook_env(j, "IPHTTPS_ID", "%llu", (unsigned long long)c->id);
	hook_env(j, "IPHTTPS_SUBJECT", "%s", ident_subject(c));
	hook_env(j, "IPHTTPS_SERIAL", "%s", c->ident ? c->ident->serial : "");
	hook_env(j, "IPHTTPS_PEER_ADDRESS", "%s", addr);
	hook_env(j, "IPHTTPS_PEER_PORT", "%u", port);
	hook_env(j, "IPHTTPS_PREFIX", "%s/64", name);
	hook_env(j, "IPHTTPS_ADDRESSES", "%s", addrs);
	hook_env(j, "IPHTTPS_TLS", "%s", c->tls_desc);
	hook_env(j, "IPHTTPS_RX_BYTES", "%llu", (unsigned long long)c->io.rx_bytes);
	hook_env(j, "IPHTTPS_TX_BYTES", "%llu", (unsigned long long)c->io.tx_bytes);
	hook_env(j, "IPHTTPS_RX_PACKETS", "%llu", (unsigned long long)c->io.rx_packets);
	hook_env(j, "IPHTTPS_TX_PACKETS", "%llu", (unsigned long long)c->io.tx_packets);
	return j;
}

static void connect_done(struct hook_job *j, int ok, void *arg)
{
	struct conn *c = arg;
	int waiting = c->state == CONN_HOOK;

	c->connect_job = NULL;
	c->connect_ok = (uint8_t)ok;
	if (waiting)
		conn_hook_done(c, ok);
}

int scripts_connect(struct conn *c, int before_linkup)
{
	struct server *s = c->srv;
	struct hook_job *j;

	if (!s->cfg->connect_script || (before_linkup != !!s->cfg->hook_fatal))
		return 0;
	if (!(j = job_for(c, s->cfg->connect_script, "connect"))) {
		log_warnx("client #%llu: out of memory for the connect script", (unsigned long long)c->id);
		return 0;
	}
	c->connect_job = j;
	c->connect_ran = 1;
	hook_submit(&s->hooks, j, connect_done, c);
	if (!before_linkup)
		return 0;
	/* A script that could not start has answered already. */
	return c->connect_job ? 1 : c->connect_ok ? 0 : -1;
}

void scripts_disconnect(struct conn *c, const char *why)
{
	struct server *s = c->srv;
	struct hook_job *j;

	if (c->connect_job)
		hook_forget(c->connect_job);    /* c goes; the script runs on */
	if (!s->cfg->disconnect_script || (s->cfg->connect_script ? !c->connect_ran : !c->was_up))
		return;
	if (s->cfg->connect_script && !c->connect_job && !c->connect_ok)
		return;                          /* it failed: nothing to undo */
	if (!(j = job_for(c, s->cfg->disconnect_script, "disconnect")))
		return;
	hook_env(j, "IPHTTPS_DURATION", "%lld", c->was_up ? (long long)(time(NULL) - c->since) : 0LL);
	hook_env(j, "IPHTTPS_REASON", "%s", why ? why : "");
	if (c->connect_job)
		hook_after(c->connect_job, j);
	else
		hook_submit(&s->hooks, j, NULL, NULL);
	c->connect_job = NULL;
}

void scripts_drain(struct server *s)
{
	if (s->hooks.running || s->hooks.queued)
		log_info("waiting for %u script%s to end (at most %ld s)", s->hooks.running + s->hooks.queued,
			 s->hooks.running + s->hooks.queued == 1 ? "" : "s", s->cfg->hook_timeout);
	hooks_drain(&s->hooks, (int)s->cfg->hook_timeout * 1000);
}
