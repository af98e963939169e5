/* The IP-HTTPS link as its router sees it (MS-IPHTTPS 3.2.5.2): every client
 * source address is bound to the connection that first used it and no other
 * connection may use it; the router answers Router and Neighbor Solicitations
 * itself (the kernel ignores multicast NS on a TUN, ../shared/LINUX-TUN.md);
 * packets between clients are switched here, everything else goes to or
 * comes from the TUN. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "server/server.h"

const char *const drop_reason_names[DROP__COUNT] = {
	[DROP_MALFORMED] = "malformed",
	[DROP_SRC_SPOOFED] = "source_of_another_client",
	[DROP_SRC_OUTSIDE] = "source_outside_link",
	[DROP_TOO_MANY_ADDRS] = "too_many_addresses",
	[DROP_MULTICAST] = "multicast",
	[DROP_LINKLOCAL] = "link_local_not_to_server",
	[DROP_NO_OWNER] = "no_owner",
	[DROP_QUEUE_FULL] = "queue_full",
	[DROP_TUN] = "tun_write",
};

void link_drop(struct conn *c, enum drop_reason r)
{
	if (c)
		c->drops[r]++;
	if (c)
		c->srv->st.drops[r]++;
}

static void srv_drop(struct server *s, enum drop_reason r)
{
	s->st.drops[r]++;
}

static int in_prefix(const struct server *s, const struct in6_addr *a)
{
	return !memcmp(a, &s->prefix, 8);
}

static int is_router_addr(const struct server *s, const struct in6_addr *a)
{
	return IN6_ARE_ADDR_EQUAL(a, &s->router_ll) || IN6_ARE_ADDR_EQUAL(a, &s->router_addr);
}

static int on_link(const struct server *s, const struct in6_addr *a)
{
	return IN6_IS_ADDR_LINKLOCAL(a) || in_prefix(s, a);
}

/* The link is set up: the RA template from the configuration. */
int link_setup(struct server *s, char *err)
{
	struct ra_params *ra = &s->ra;
	struct server_cfg *cfg = s->cfg;

	memset(ra, 0, sizeof(*ra));
	ra->src = s->router_ll;
	ra->cur_hop_limit = 64;
	ra->router_lifetime = cfg->default_route ? 1800 : 0;
	ra->has_prefix = 1;
	ra->prefix = s->prefix;
	ra->prefix_len = 64;
	ra->valid_lifetime = 86400;
	ra->preferred_lifetime = 14400;
	ra->mtu = 1280;
	for (size_t i = 0; i < cfg->routes.n; i++) {
		char buf[INET6_ADDRSTRLEN + 8], *slash;
		long plen;
		if (ra->n_routes >= ND_MAX_ROUTES) {
			snprintf(err, 256, "--route: at most %d routes", ND_MAX_ROUTES);
			return -1;
		}
		snprintf(buf, sizeof(buf), "%s", cfg->routes.v[i]);
		slash = strchr(buf, '/');
		plen = slash ? strtol(slash + 1, NULL, 10) : 128;
		if (slash)
			*slash = 0;
		if (inet_pton(AF_INET6, buf, &ra->routes[ra->n_routes].prefix) != 1 || plen < 0 ||
		    plen > 128) {
			snprintf(err, 256, "--route: '%s' is not an IPv6 PREFIX/LEN", cfg->routes.v[i]);
			return -1;
		}
		ra->routes[ra->n_routes].plen = (uint8_t)plen;
		ra->routes[ra->n_routes].lifetime = 1800;
		ra->n_routes++;
	}
	for (size_t i = 0; i < cfg->dns.n; i++) {
		if (ra->n_dns >= ND_MAX_DNS) {
			snprintf(err, 256, "--dns: at most %d servers", ND_MAX_DNS);
			return -1;
		}
		if (inet_pton(AF_INET6, cfg->dns.v[i], &ra->dns[ra->n_dns]) != 1) {
			snprintf(err, 256, "--dns: '%s' is not an IPv6 address", cfg->dns.v[i]);
			return -1;
		}
		ra->n_dns++;
	}
	ra->dns_lifetime = 1800;
	return 0;
}

/* Send a Router Advertisement on c: to dst (a solicitor) or to ff02::1. */
void link_send_ra(struct conn *c, const struct in6_addr *dst)
{
	struct server *s = c->srv;
	uint8_t pkt[1280];
	int n;

	if (dst && !IN6_IS_ADDR_UNSPECIFIED(dst))
		s->ra.dst = *dst;
	else
		inet_pton(AF_INET6, "ff02::1", &s->ra.dst);
	n = nd_build_ra(pkt, sizeof(pkt), &s->ra);
	if (n < 0) {
		log_warnx("RA does not fit in 1280 bytes; fewer --route/--dns please");
		return;
	}
	c->last_ra_ms = ev_now_ms();
	s->st.ra_sent++;
	conn_send_packet(c, pkt, (size_t)n);
}

static void send_na(struct conn *c, const struct in6_addr *src, const struct in6_addr *dst,
		    const struct in6_addr *target, uint8_t flags)
{
	uint8_t pkt[128];
	int n = nd_build_na(pkt, sizeof(pkt), src, dst, target, flags);

	if (n > 0) {
		c->srv->st.na_sent++;
		conn_send_packet(c, pkt, (size_t)n);
	}
}

void link_conn_up(struct conn *c)
{
	c->srv->n_linkup++;
	/* An unsolicited RA at once: the client's kernel may have spent its
	 * solicitations while the link was down. */
	link_send_ra(c, NULL);
}

void link_conn_down(struct conn *c)
{
	struct server *s = c->srv;

	for (unsigned i = 0; i < c->n_addrs; i++)
		if (addrtab_get(&s->addrs, &c->addrs[i]) == c)
			addrtab_del(&s->addrs, &c->addrs[i]);
	c->n_addrs = 0;
	s->n_linkup--;
}

/* Check (and on first use bind) the source address; 0 if allowed. */
static int check_source(struct conn *c, const struct in6_addr *src)
{
	struct server *s = c->srv;
	struct conn *owner;
	char a[INET6_ADDRSTRLEN];

	if (!on_link(s, src) || is_router_addr(s, src)) {
		link_drop(c, DROP_SRC_OUTSIDE);
		return -1;
	}
	owner = addrtab_get(&s->addrs, src);
	if (owner == c)
		return 0;
	if (owner) {
		link_drop(c, DROP_SRC_SPOOFED);
		if (c->drops[DROP_SRC_SPOOFED] == 1)
			log_info("client #%llu %s: uses %s, which client #%llu holds; dropped",
				 (unsigned long long)c->id, c->peer_str,
				 inet_ntop(AF_INET6, src, a, sizeof(a)), (unsigned long long)owner->id);
		return -1;
	}
	if (c->n_addrs >= s->cfg->max_addrs) {
		link_drop(c, DROP_TOO_MANY_ADDRS);
		return -1;
	}
	if (addrtab_put(&s->addrs, src, c) < 0) {
		link_drop(c, DROP_TOO_MANY_ADDRS);
		return -1;
	}
	c->addrs[c->n_addrs++] = *src;
	log_info("client #%llu %s: bound %s", (unsigned long long)c->id, c->peer_str,
		 inet_ntop(AF_INET6, src, a, sizeof(a)));
	return 0;
}

/* ICMPv6 ND addressed to the router or to a multicast group.  Returns 1 if
 * handled here (answered or dropped), 0 if the packet goes on. */
static int handle_nd(struct conn *c, const uint8_t *pkt, const struct ipv6_view *v,
		     const struct icmp6_view *ic)
{
	struct server *s = c->srv;
	static const struct in6_addr all_nodes = { { { 0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 } } };

	switch (ic->type) {
	case ICMP6_TYPE_RS:
		link_send_ra(c, &v->src);
		return 1;
	case ICMP6_TYPE_NS:
		if (is_router_addr(s, &ic->target)) {
			if (IN6_IS_ADDR_UNSPECIFIED(&v->src))
				send_na(c, &ic->target, &all_nodes, &ic->target, 0x80 | 0x20);
			else
				send_na(c, &ic->target, &v->src, &ic->target, 0x80 | 0x40 | 0x20);
			return 1;
		}
		if (IN6_IS_ADDR_UNSPECIFIED(&v->src)) {
			/* DAD: answer for the owner if the address is taken, else
			 * stay silent so that DAD succeeds. Forward nothing. */
			struct conn *owner = addrtab_get(&s->addrs, &ic->target);
			if (owner && owner != c)
				send_na(c, &ic->target, &all_nodes, &ic->target, 0x20);
			return 1;
		}
		return 0;
	case ICMP6_TYPE_NA:
	case ICMP6_TYPE_RA:
	case ICMP6_TYPE_REDIRECT:
		if (IN6_IS_ADDR_MULTICAST(&v->dst) || is_router_addr(s, &v->dst)) {
			link_drop(c, DROP_MULTICAST);
			return 1;
		}
		return 0;
	default:
		return 0;
	}
}

static void to_tun(struct server *s, struct conn *c, const uint8_t *pkt, size_t len)
{
	if (write(s->tun_h.fd, pkt, len) != (ssize_t)len) {
		link_drop(c, DROP_TUN);
		if (c->drops[DROP_TUN] == 1)
			log_warn("tun %s: write of %zu bytes", s->tun_name, len);
		return;
	}
	s->st.to_tun++;
}

int link_from_client(struct conn *c, const uint8_t *pkt, size_t len)
{
	struct server *s = c->srv;
	struct ipv6_view v;
	struct icmp6_view ic;
	const char *why = NULL;
	int is_icmp;

	if (ipv6_parse(pkt, len, &v, &why) < 0) {
		link_drop(c, DROP_MALFORMED);
		return 0;
	}
	is_icmp = v.proto == IPPROTO_ICMPV6;
	if (is_icmp && icmp6_parse(&v, pkt, &ic, &why) < 0) {
		link_drop(c, DROP_MALFORMED);
		return 0;
	}
	if (IN6_IS_ADDR_UNSPECIFIED(&v.src)) {
		/* Only DAD (NS) and RS may come from ::. */
		if (!is_icmp || (ic.type != ICMP6_TYPE_NS && ic.type != ICMP6_TYPE_RS)) {
			link_drop(c, DROP_SRC_OUTSIDE);
			return 0;
		}
	} else if (check_source(c, &v.src) < 0) {
		return 0;
	}
	if (is_icmp && (IN6_IS_ADDR_MULTICAST(&v.dst) || is_router_addr(s, &v.dst)) &&
	    handle_nd(c, pkt, &v, &ic))
		return 0;
	if (IN6_IS_ADDR_MULTICAST(&v.dst)) {
		link_drop(c, DROP_MULTICAST);
		return 0;
	}
	if (is_router_addr(s, &v.dst)) {
		to_tun(s, c, pkt, len);
		return 0;
	}
	if (on_link(s, &v.dst)) {
		struct conn *dst = addrtab_get(&s->addrs, &v.dst);
		if (!dst) {
			link_drop(c, IN6_IS_ADDR_LINKLOCAL(&v.dst) ? DROP_LINKLOCAL : DROP_NO_OWNER);
			return 0;
		}
		if (IN6_IS_ADDR_LINKLOCAL(&v.dst) && dst != c) {
			/* Link-local unicast between clients is not switched:
			 * the link's only neighbor is the router (3.2.5.2.2). */
			link_drop(c, DROP_LINKLOCAL);
			return 0;
		}
		s->st.client_to_client++;
		conn_send_packet(dst, pkt, len);
		return 0;
	}
	to_tun(s, c, pkt, len);
	return 0;
}

void link_from_tun(struct server *s, const uint8_t *pkt, size_t len)
{
	struct ipv6_view v;
	const char *why;
	struct conn *c;

	s->st.from_tun++;
	if (ipv6_parse(pkt, len, &v, &why) < 0) {
		srv_drop(s, DROP_MALFORMED);
		return;
	}
	/* The kernel's MLD reports and anything multicast stay here: the server
	 * sends no multicast to clients but its own RAs. */
	if (IN6_IS_ADDR_MULTICAST(&v.dst)) {
		srv_drop(s, DROP_MULTICAST);
		return;
	}
	c = addrtab_get(&s->addrs, &v.dst);
	if (!c || c->state != CONN_LINKUP) {
		srv_drop(s, DROP_NO_OWNER);
		return;
	}
	conn_send_packet(c, pkt, len);
}
