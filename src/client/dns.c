/* The advertised DNS: what the server says, the choice of mechanism, the
 * status.  See dns.h. */
#include "client/dns.h"

#include <arpa/inet.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "client/client.h"
#include "common/log.h"

enum { IDLE = 0, APPLYING, REVERTING };

static const char *const mech_names[MECH__COUNT] = {
	[MECH_NONE] = "nothing", [MECH_RESOLVED] = "systemd-resolved",
	[MECH_RESOLVCONF] = "resolvconf", [MECH_FILE] = RESOLV_CONF,
};
static const char *const mode_names[] = { "split", "full", "off" };

unsigned dns_ifindex(const struct client *c)
{
	return c->ifindex;
}

const char *dns_ifname(const struct client *c)
{
	return c->tun_name;
}

void dns_init(struct client *c, int mode)
{
	c->dns.mode = mode;
	c->dns.tmr_h.fd = c->dns.bus_h.fd = -1;
	file_repair(c);
}

/* The mechanism for the next application, or MECH_NONE (note says why). */
static enum dns_mech choose(struct client *c)
{
	struct dns *d = &c->dns;
	char who[64];

	if (!(d->unusable & 1u << MECH_RESOLVED) && resolved_present())
		return MECH_RESOLVED;
	if (!(d->unusable & 1u << MECH_RESOLVCONF) && resolvconf_present(c))
		return MECH_RESOLVCONF;
	if (file_held_by_other(c, who, sizeof(who))) {
		snprintf(d->note, sizeof(d->note), "%s is held by the iphttps client %s", RESOLV_CONF, who);
		return MECH_NONE;
	}
	if (!(d->unusable & 1u << MECH_FILE))
		return MECH_FILE;
	return MECH_NONE;
}

static void revert(struct client *c, int wait)
{
	struct dns *d = &c->dns;

	d->busy = REVERTING;
	switch (d->mech) {
	case MECH_RESOLVED:
		resolved_revert(c, wait);
		break;
	case MECH_RESOLVCONF:
		resolvconf_revert(c, wait);
		break;
	case MECH_FILE:
		file_revert(c);
		break;
	default:
		dns_done(c, MECH_NONE, 1, NULL);
	}
}

static void apply(struct client *c)
{
	struct dns *d = &c->dns;
	enum dns_mech m;

	if (d->busy) {
		d->again = 1;
		return;
	}
	if (!d->want.n_servers || d->mode == DNS_OFF) {
		if (d->applied)
			revert(c, 0);
		return;
	}
	m = choose(c);
	if (d->applied && d->mech != m) {
		revert(c, 1);   /* another mechanism now: the old one first */
		d->busy = IDLE;
	}
	d->mech = m;
	d->split = d->mode == DNS_SPLIT && m == MECH_RESOLVED && d->want.n_domains > 0;
	if (m == MECH_NONE) {
		log_warnx("DNS: the advertised servers are not applied: %s", d->note);
		return;
	}
	if (d->mode == DNS_SPLIT && !d->split)
		snprintf(d->note, sizeof(d->note), "%s", !d->want.n_domains ?
			 "the server advertises no domains to route by" :
			 "it cannot send only some names to the tunnel");
	else
		d->note[0] = 0;
	d->busy = APPLYING;
	if (m == MECH_RESOLVED)
		resolved_apply(c, d->split);
	else if (m == MECH_RESOLVCONF)
		resolvconf_apply(c);
	else
		file_apply(c);
}

static void log_applied(struct client *c)
{
	struct dns *d = &c->dns;
	char s[INET6_ADDRSTRLEN];

	inet_ntop(AF_INET6, &d->want.servers[0], s, sizeof(s));
	log_info("DNS: %s%s%s applied through %s (%s%s%s)", s, d->want.n_servers > 1 ? " and more" : "",
		 d->split ? " for the advertised domains" : " for every name", mech_names[d->mech],
		 d->split ? "split" : "full", d->note[0] ? ": " : "", d->note);
}

void dns_done(struct client *c, enum dns_mech m, int ok, const char *why)
{
	struct dns *d = &c->dns;
	int was = d->busy;

	d->busy = IDLE;
	if (was == APPLYING && ok) {
		d->applied = 1;
		log_applied(c);
	} else if (was == APPLYING) {
		log_warnx("DNS: %s failed: %s; trying the next way", mech_names[m], why ? why : "?");
		d->unusable |= 1u << m;
		d->applied = 1;     /* what it may have done is undone like the rest */
		revert(c, 1);
		d->busy = IDLE;
		d->again = 1;
	} else if (was == REVERTING) {
		if (!ok)
			log_warnx("DNS: taking back from %s: %s", mech_names[m], why ? why : "?");
		else if (d->applied)
			log_info("DNS: the tunnel's servers taken back from %s", mech_names[m]);
		d->applied = 0;
		d->mech = MECH_NONE;
	}
	if (d->again) {
		d->again = 0;
		apply(c);
	}
}

/* The RA's servers and domains (those with a lifetime) as a set. */
static void from_ra(const struct ra_info *ra, struct dns_set *s)
{
	memset(s, 0, sizeof(*s));
	if (ra->dns_lifetime) {
		s->n_servers = ra->n_dns;
		memcpy(s->servers, ra->dns, sizeof(ra->dns[0]) * ra->n_dns);
	}
	if (ra->dnssl_lifetime) {
		/* as text: the bytes after each name stay zero, sets compare */
		s->n_domains = ra->n_domains;
		for (size_t i = 0; i < ra->n_domains; i++)
			snprintf(s->domains[i], sizeof(s->domains[i]), "%s", ra->domains[i]);
	}
}

/* To the helper: the set to apply (PS_DNS_SET) or the link's end. */
static void send_remote(struct client *c, unsigned type)
{
	struct dns *d = &c->dns;
	struct ps_out o;

	ps_begin(&o, type, 0);
	for (size_t i = 0; type == PS_DNS_SET && i < d->want.n_servers; i++)
		ps_put_bytes(&o, PT_SERVER, &d->want.servers[i], 16);
	for (size_t i = 0; type == PS_DNS_SET && i < d->want.n_domains; i++)
		ps_put_str(&o, PT_DOMAIN, d->want.domains[i]);
	if (ps_send(d->remote->fd, &o, -1) < 0)
		log_warn("DNS: to the privileged helper");
}

void dns_want(struct client *c, const struct dns_set *s)
{
	struct dns *d = &c->dns;

	if (!memcmp(s, &d->want, sizeof(*s)) && (d->applied || d->busy || d->mode == DNS_OFF))
		return;
	d->want = *s;
	apply(c);
}

void dns_ra(struct client *c, const struct ra_info *ra)
{
	struct dns *d = &c->dns;
	struct dns_set s;

	if (ra->has_pref64) {
		d->has_pref64 = ra->pref64_lifetime > 0;
		d->pref64 = ra->pref64;
		d->pref64_len = ra->pref64_len;
	}
	from_ra(ra, &s);
	if (!d->remote) {
		dns_want(c, &s);
	} else if (memcmp(&s, &d->want, sizeof(s))) {
		d->want = s;
		if (d->mode != DNS_OFF)
			send_remote(c, PS_DNS_SET);
	}
}

void dns_link_down(struct client *c)
{
	struct dns *d = &c->dns;

	memset(&d->want, 0, sizeof(d->want));
	d->has_pref64 = 0;
	d->unusable = 0;
	if (d->remote && d->mode != DNS_OFF)
		send_remote(c, PS_DNS_DOWN);
	else if (!d->remote)
		apply(c);
}

/* At exit: what is running (an application, or the revert LinkDown
 * started) is let finish through the loop, within SHUTDOWN_MS; then what is
 * still applied is taken back, waiting for it. */
#define SHUTDOWN_MS 15000
void dns_shutdown(struct client *c)
{
	struct dns *d = &c->dns;
	uint64_t deadline = ev_now_ms() + SHUTDOWN_MS;

	if (d->remote)
		return;         /* the helper's (client/helper.c) */
	memset(&d->want, 0, sizeof(d->want));
	while (d->busy && ev_now_ms() < deadline) {
		ev_run_once(&c->ev, 100);
		c->ev.stop = 0;
	}
	d->again = 0;
	if (d->busy) {
		log_warnx("DNS: %s still busy after %d s; taking the servers back now", mech_names[d->mech],
			  SHUTDOWN_MS / 1000);
		if (d->mech == MECH_RESOLVCONF)
			proc_stop_wait(&d->rc, 2000);
		d->busy = IDLE;
		d->applied = 1;
	}
	if (d->applied)
		revert(c, 1);
	proc_release(&d->rc);
	resolved_close(c);
}

static struct json_object *servers_json(const struct dns_set *s)
{
	struct json_object *a = json_object_new_array();
	char t[INET6_ADDRSTRLEN];

	for (size_t i = 0; i < s->n_servers; i++)
		json_object_array_add(a, json_object_new_string(inet_ntop(AF_INET6, &s->servers[i], t, sizeof(t))));
	return a;
}

void dns_status(struct client *c, struct json_object *o)
{
	struct dns *d = &c->dns;
	struct json_object *dom = json_object_new_array();
	char mode[400], p[INET6_ADDRSTRLEN + 8] = "";

	for (size_t i = 0; i < d->want.n_domains; i++)
		json_object_array_add(dom, json_object_new_string(d->want.domains[i]));
	json_object_object_add(o, "DNSServers", servers_json(&d->want));
	json_object_object_add(o, "DNSDomains", dom);
	if (d->mode == DNS_OFF)
		snprintf(mode, sizeof(mode), "off; nothing applied");
	else if (d->applied)
		snprintf(mode, sizeof(mode), "%s; applied: %s through %s%s%s%s", mode_names[d->mode],
			 d->split ? "split" : "full", mech_names[d->mech], d->note[0] ? " (" : "", d->note,
			 d->note[0] ? ")" : "");
	else if (d->busy)
		snprintf(mode, sizeof(mode), "%s; being applied through %s", mode_names[d->mode], mech_names[d->mech]);
	else if (!d->want.n_servers)
		snprintf(mode, sizeof(mode), "%s; nothing applied (no DNS servers advertised)", mode_names[d->mode]);
	else
		snprintf(mode, sizeof(mode), "%s; not applied: %s", mode_names[d->mode], d->note);
	json_object_object_add(o, "DNSMode", json_object_new_string(mode));
	if (d->has_pref64) {
		inet_ntop(AF_INET6, &d->pref64, p, sizeof(p));
		snprintf(p + strlen(p), sizeof(p) - strlen(p), "/%u", d->pref64_len);
	}
	json_object_object_add(o, "NAT64Prefix", json_object_new_string(p));
}
