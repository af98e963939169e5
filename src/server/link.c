/* The IP-HTTPS link as its router sees it (MS-IPHTTPS 3.2.5.2): every client
 * source address is bound to the connection that first used it and no other
 * connection may use it; the router answers Router and Neighbor Solicitations
 * itself (the kernel ignores multicast NS on a TUN, ../shared/LINUX-TUN.md);
 * packets between clients are switched here, everything else goes to or
 * comes from the TUN.
 *
 * Authentication mode None (3.2.5.2.2): link-local unicast only to the
 * router, no multicast between clients (RS and DAD NS are answered here), no
 * multicast to clients but RAs and the DAD answer.  Mode Certificates:
 * multicast goes to every other client, except DAD NS and multicast NA whose
 * target a client holds, which go to that client only (and the NA also to
 * whoever just asked by DAD, so that DAD works).
 *
 * Per-client prefixes (an extension): every connection gets a /64 of its own
 * from the pool, advertised on its connection only. */
#include <arpa/inet.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "server/bind.h"
#include "server/conn.h"
#include "server/ident.h"
#include "server/intranet.h"
#include "server/link.h"
#include "server/server.h"
#include "server/workers.h"

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
	[DROP_NO_PREFIX] = "no_prefix_left",
	[DROP_ROUTER_MSG] = "router_message",
	[DROP_FOREIGN_TARGET] = "target_of_another_client",
	[DROP_MCAST_RATE] = "multicast_rate",
	[DROP_SERVER_BUDGET] = "server_queue_budget",
	[DROP_RESERVED] = "address_reserved",
};

static const struct in6_addr all_nodes = { { { 0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 } } };

/* What each drop means, for the log (once per client and reason). */
static const char *const drop_reason_text[DROP__COUNT] = {
	[DROP_MALFORMED] = "a malformed packet",
	[DROP_SRC_SPOOFED] = "a source address another client holds",
	[DROP_SRC_OUTSIDE] = "a source address outside the link (or the router's)",
	[DROP_TOO_MANY_ADDRS] = "a new address beyond --max-addresses, none idle enough to give up",
	[DROP_MULTICAST] = "multicast the link does not carry in this mode",
	[DROP_LINKLOCAL] = "link-local unicast not to the router (mode None)",
	[DROP_NO_OWNER] = "a destination on the link nobody holds",
	[DROP_QUEUE_FULL] = "more than --queue-limit waiting toward it",
	[DROP_TUN] = "a packet the TUN refused",
	[DROP_NO_PREFIX] = "no /64 left in --prefix-pool",
	[DROP_ROUTER_MSG] = "a router message (RA, Redirect, or an RS to a client): only the server is a router",
	[DROP_FOREIGN_TARGET] = "a Neighbor Advertisement for an address another client holds",
	[DROP_MCAST_RATE] = "multicast beyond its share (--multicast-rate, or the link's)",
	[DROP_SERVER_BUDGET] = "a packet toward it beyond the server-wide --queue-budget",
	[DROP_RESERVED] = "an address kept for a disconnected client's certificate (--address-hold)",
};

void link_drop(struct conn *c, enum drop_reason r)
{
	if (c->drops[r]++ == 0)
		log_info("client #%llu %s: dropped %s (%s; logged once per client and reason)",
			 (unsigned long long)c->id, c->peer_str, drop_reason_text[r], drop_reason_names[r]);
	c->srv->st.drops[r]++;
}

static void srv_drop(struct server *s, enum drop_reason r)
{
	s->st.drops[r]++;
}

static int per_client(const struct server *s)
{
	return s->cfg->prefix_mode == PREFIX_PER_CLIENT;
}

static struct in6_addr prefix64(const struct in6_addr *a)
{
	struct in6_addr p = *a;
	memset(&p.s6_addr[8], 0, 8);
	return p;
}

static int in_pool(const struct server *s, const struct in6_addr *a)
{
	unsigned full = s->pool_len / 8, rest = s->pool_len % 8;

	if (memcmp(a, &s->pool, full))
		return 0;
	return !rest || ((a->s6_addr[full] ^ s->pool.s6_addr[full]) & (0xff00 >> rest)) == 0;
}

static int is_router_addr(const struct server *s, const struct in6_addr *a)
{
	return IN6_ARE_ADDR_EQUAL(a, &s->router_ll) ||
	       (!per_client(s) && IN6_ARE_ADDR_EQUAL(a, &s->router_addr)) ||
	       intranet_server_addr(s, a);
}

/* An address this client may use as its source. */
static int src_on_link(const struct conn *c, const struct in6_addr *a)
{
	if (IN6_IS_ADDR_LINKLOCAL(a))
		return 1;
	if (per_client(c->srv))
		return c->has_prefix && !memcmp(a, &c->prefix, 8);
	return !memcmp(a, &c->srv->prefix, 8);
}

/* The connection that holds a destination on the link, or NULL. */
static struct conn *owner_of(struct server *s, const struct in6_addr *a)
{
	if (per_client(s) && !IN6_IS_ADDR_LINKLOCAL(a)) {
		struct in6_addr p = prefix64(a);
		return addrtab_get(&s->prefixes, &p);
	}
	return addrtab_get(&s->addrs, a);
}

static int dst_on_link(const struct server *s, const struct in6_addr *a)
{
	if (IN6_IS_ADDR_LINKLOCAL(a))
		return 1;
	return per_client(s) ? in_pool(s, a) : !memcmp(a, &s->prefix, 8);
}

/* The RA template from the configuration (again on reload). */
int link_setup_ra(struct server *s, char *err)
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
	ra->dns_lifetime = 1800;
	for (size_t i = 0; i < cfg->routes.n + (per_client(s) ? 1 : 0); i++) {
		struct nd_route *r = &ra->routes[ra->n_routes];
		long plen;
		if (ra->n_routes >= ND_MAX_ROUTES) {
			snprintf(err, ERRLEN, "--route: at most %d routes%s", ND_MAX_ROUTES - (per_client(s) ? 1 : 0),
				 per_client(s) ? " with --prefix-pool" : "");
			return -1;
		}
		if (i == cfg->routes.n) {
			/* Clients reach each other through the router: the pool is a route. */
			r->prefix = s->pool;
			plen = s->pool_len;
		} else if (server_parse_prefix(cfg->routes.v[i], &r->prefix, &plen) < 0) {
			snprintf(err, ERRLEN, "--route: '%s' is not an IPv6 PREFIX/LEN", cfg->routes.v[i]);
			return -1;
		}
		r->plen = (uint8_t)plen;
		r->lifetime = 1800;
		ra->n_routes++;
	}
	for (size_t i = 0; i < cfg->dns.n; i++) {
		if (ra->n_dns >= ND_MAX_DNS) {
			snprintf(err, ERRLEN, "--dns: at most %d servers", ND_MAX_DNS);
			return -1;
		}
		if (inet_pton(AF_INET6, cfg->dns.v[i], &ra->dns[ra->n_dns]) != 1) {
			snprintf(err, ERRLEN, "--dns: '%s' is not an IPv6 address", cfg->dns.v[i]);
			return -1;
		}
		ra->n_dns++;
	}
	return intranet_ra(s, ra, err);
}

/* The link is set up: the prefix pool, then the RA template. */
int link_setup(struct server *s, char *err)
{
	struct server_cfg *cfg = s->cfg;

	if (per_client(s)) {
		long plen;
		if (!cfg->prefix_pool || server_parse_prefix(cfg->prefix_pool, &s->pool, &plen) < 0 ||
		    plen < 16 || plen > 63 || IN6_IS_ADDR_MULTICAST(&s->pool) ||
		    IN6_IS_ADDR_LINKLOCAL(&s->pool)) {
			snprintf(err, ERRLEN, "--prefix-pool: '%s' is not a unicast IPv6 PREFIX/LEN with LEN from 16 to 63",
				 cfg->prefix_pool ? cfg->prefix_pool : "(none)");
			return -1;
		}
		s->pool_len = (uint8_t)plen;
		s->pool_size = 1ULL << (64 - plen);
		if (addrtab_init(&s->prefixes, 1024) < 0 || addrtab_init(&s->remembered, 1024) < 0) {
			snprintf(err, ERRLEN, "out of memory");
			return -1;
		}
	}
	return link_setup_ra(s, err);
}

/* The /64 number i of the pool. */
static struct in6_addr pool_prefix(const struct server *s, uint64_t i)
{
	struct in6_addr p = s->pool;
	uint64_t hi = 0;

	for (int k = 0; k < 8; k++)
		hi = hi << 8 | p.s6_addr[k];
	hi |= i;
	for (int k = 7; k >= 0; k--, hi >>= 8)
		p.s6_addr[k] = (uint8_t)hi;
	memset(&p.s6_addr[8], 0, 8);
	return p;
}

/* Who the client is: its certificate, else its address; as an in6_addr for
 * the table of remembered prefixes. */
static struct in6_addr client_key(const struct conn *c)
{
	struct in6_addr k;

	if (c->ident) {
		memcpy(&k, c->ident->key, 16);
	} else {
		const struct sockaddr_in6 *p6 = (const void *)&c->peer;
		const struct sockaddr_in *p4 = (const void *)&c->peer;
		memset(&k, 0, sizeof(k));
		if (c->peer.ss_family == AF_INET6)
			k = p6->sin6_addr;
		else
			memcpy(&k.s6_addr[12], &p4->sin_addr, 4);
		k.s6_addr[0] ^= 0x5a; /* keep the two kinds of key apart */
	}
	return k;
}

/* The table of who had which /64 is bounded (in mode None anyone who
 * reaches the port adds an entry): past the bound it starts afresh. */
#define REMEMBERED_MAX 65536
static void remembered_reset(struct server *s)
{
	addrtab_free(&s->remembered);
	addrtab_init(&s->remembered, 1024);
}

/* With workers: the same, the /64s claimed in the steering map (one owner
 * across workers), the pool's cursor and the remembered /64s shared
 * (workers.h). */
static int assign_prefix_shared(struct conn *c, struct in6_addr *p, uint64_t *last)
{
	struct server *s = c->srv;
	struct in6_addr key = client_key(c);
	uint64_t cursor = workers_pool_cursor(s, NULL);

	*last = workers_remembered(s, &key, NULL);
	if (*last && *last <= s->pool_size) {
		*p = pool_prefix(s, *last - 1);
		if (workers_prefix_claim(s, p) == 0)
			goto found;
	}
	for (uint64_t n = 0; n < s->pool_size; n++) {
		uint64_t i = (cursor + n) % s->pool_size, next = (i + 1) % s->pool_size;
		*p = pool_prefix(s, i);
		if (workers_prefix_claim(s, p) == 0) {
			workers_pool_cursor(s, &next);
			*last = i + 1;
			goto found;
		}
	}
	return -1;
found:
	if (addrtab_put(&s->prefixes, p, c) < 0) {
		workers_prefix_release(s, p);
		return -1;
	}
	workers_remembered(s, &key, last);
	return 0;
}

/* Give c a /64 of its own: the one it had last time if it is free. */
static int assign_prefix(struct conn *c)
{
	struct server *s = c->srv;
	struct in6_addr key = client_key(c), p;
	uintptr_t last = (uintptr_t)addrtab_get(&s->remembered, &key);
	char a[INET6_ADDRSTRLEN];

	if (s->w) {
		uint64_t l;
		if (assign_prefix_shared(c, &p, &l) < 0)
			return -1;
		goto assigned;
	}
	if (last) {
		p = pool_prefix(s, last - 1);
		if (!addrtab_get(&s->prefixes, &p))
			goto found;
	}
	for (uint64_t n = 0; n < s->pool_size; n++) {
		uint64_t i = (s->pool_cursor + n) % s->pool_size;
		p = pool_prefix(s, i);
		if (!addrtab_get(&s->prefixes, &p)) {
			s->pool_cursor = (i + 1) % s->pool_size;
			last = (uintptr_t)i + 1;
			goto found;
		}
	}
	return -1;
found:
	if (addrtab_put(&s->prefixes, &p, c) < 0)
		return -1;
	if (s->remembered.used >= REMEMBERED_MAX)
		remembered_reset(s);    /* bounded: forget who had which /64 */
	if (addrtab_put(&s->remembered, &key, (void *)last) < 0) {
		addrtab_del(&s->prefixes, &p);
		return -1;
	}
assigned:
	c->prefix = p;
	c->has_prefix = 1;
	log_info("client #%llu %s: prefix %s/64", (unsigned long long)c->id, c->peer_str,
		 inet_ntop(AF_INET6, &p, a, sizeof(a)));
	return 0;
}

/* Send a Router Advertisement on c: to dst (a solicitor) or to ff02::1. */
void link_send_ra(struct conn *c, const struct in6_addr *dst)
{
	struct server *s = c->srv;
	uint8_t pkt[1280];
	int n;

	s->ra.dst = dst && !IN6_IS_ADDR_UNSPECIFIED(dst) ? *dst : all_nodes;
	s->ra.prefix = per_client(s) ? c->prefix : s->prefix;
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

int link_conn_up(struct conn *c)
{
	c->srv->n_linkup++;
	c->mc_tokens = 2000 * (uint64_t)c->srv->cfg->multicast_rate;  /* a full bucket */
	c->mc_last_ms = ev_now_ms();
	bind_identify(c);
	if (per_client(c->srv) && assign_prefix(c) < 0) {
		link_drop(c, DROP_NO_PREFIX);
		return -1;
	}
	/* An unsolicited RA at once: the client's kernel may have spent its
	 * solicitations while the link was down. */
	link_send_ra(c, NULL);
	return 0;
}

void link_conn_down(struct conn *c)
{
	struct server *s = c->srv;

	bind_release(c);
	if (c->has_prefix && addrtab_get(&s->prefixes, &c->prefix) == c) {
		addrtab_del(&s->prefixes, &c->prefix);
		workers_prefix_release(s, &c->prefix);
	}
	c->has_prefix = 0;
	s->n_linkup--;
}

/* Check (and on first use bind) the source address; 0 if allowed. */
static int check_source(struct conn *c, const struct in6_addr *src)
{
	struct server *s = c->srv;
	enum drop_reason r;

	if (!src_on_link(c, src) || is_router_addr(s, src) || IN6_IS_ADDR_MULTICAST(src))
		r = DROP_SRC_OUTSIDE;
	else
		r = bind_source(c, src);
	if (r == DROP__COUNT)
		return 0;
	link_drop(c, r);
	return -1;
}

/* A DAD probe for a free address this client may use: it is the client's
 * from now on (a second client probing for it is answered as taken).  A
 * Windows client announces a new address this way and may send nothing
 * from it before the inside sends to it. */
static void claim_by_dad(struct conn *c, const struct in6_addr *target)
{
	struct server *s = c->srv;

	if (src_on_link(c, target) && !is_router_addr(s, target) && !IN6_IS_ADDR_MULTICAST(target))
		bind_claim(c, target, " (DAD)");
}

/* Remember that asker probed target: the owner's answer goes back to it.
 * One client holds at most PENDING_DAD_PER_CLIENT entries (its oldest is
 * reused), so that no client can push the others' entries out alone. */
static void remember_dad(struct server *s, const struct in6_addr *target, struct conn *asker)
{
	uint64_t now = ev_now_ms();
	struct pending_dad *d = NULL, *own_oldest = NULL, *oldest = &s->dad[0];
	unsigned own = 0;

	for (unsigned i = 0; i < PENDING_DAD_SLOTS; i++) {
		struct pending_dad *e = &s->dad[i];
		if (e->expires_ms < now) {
			if (!d)
				d = e;
			continue;
		}
		if (e->conn_id == asker->id && (!own_oldest || e->expires_ms < own_oldest->expires_ms))
			own_oldest = e;
		own += e->conn_id == asker->id;
		if (e->expires_ms < oldest->expires_ms)
			oldest = e;
	}
	if (own >= PENDING_DAD_PER_CLIENT)
		d = own_oldest;
	else if (!d)
		d = oldest;
	d->target = *target;
	d->conn_id = asker->id;
	d->expires_ms = now + PENDING_DAD_MS;
}

/* Mode Certificates: multicast from c to every other client, within the
 * sender's share (a token bucket of --multicast-rate packets a second) and
 * the link's (FLOOD_COPIES_PER_S copies a second, all senders together):
 * one packet costs as many copies as there are clients. */
#define FLOOD_COPIES_PER_S 200000
static int flood_allowed(struct conn *c)
{
	struct server *s = c->srv;
	uint64_t now = ev_now_ms(), rate = (uint64_t)s->cfg->multicast_rate;
	unsigned linkup = s->w ? workers_linkup_total(s) : s->n_linkup;
	uint64_t burst = 2 * rate * 1000, copies = linkup ? linkup - 1 : 0;

	c->mc_tokens += (now - c->mc_last_ms) * rate;   /* in thousandths of a packet */
	if (c->mc_tokens > burst)
		c->mc_tokens = burst;
	c->mc_last_ms = now;
	if (c->mc_tokens < 1000)
		return 0;
	if (s->w) {
		/* The link's budget is shared by every worker (workers.h). */
		if (!workers_flood_budget(s, now, copies, FLOOD_COPIES_PER_S))
			return 0;
	} else {
		if (now - s->flood_window_ms >= 1000) {
			s->flood_window_ms = now;
			s->flood_copies = 0;
		}
		if (s->flood_copies + copies > FLOOD_COPIES_PER_S)
			return 0;
		s->flood_copies += copies;
	}
	c->mc_tokens -= 1000;
	return 1;
}

static void flood(struct conn *from, const uint8_t *pkt, size_t len)
{
	if (!flood_allowed(from)) {
		link_drop(from, DROP_MCAST_RATE);
		return;
	}
	for (struct conn *o = from->srv->conns; o; o = o->next)
		if (o != from && o->state == CONN_LINKUP)
			conn_send_packet(o, pkt, len);
	/* The other workers' clients: one copy to each worker. */
	if (from->srv->w && workers_send_all(from->srv, pkt, len, WK_FLOOD) < 0)
		link_drop(from, DROP_QUEUE_FULL);
}

/* A multicast NA from the owner of its target: to the clients that probed
 * that address by DAD in the last PENDING_DAD_MS, and to no one else
 * (3.2.5.2.2: not to clients that have no entry for it). */
static void na_to_askers(struct server *s, struct conn *from, const struct in6_addr *target,
			 const uint8_t *pkt, size_t len)
{
	uint64_t now = ev_now_ms();

	for (unsigned i = 0; i < PENDING_DAD_SLOTS; i++) {
		struct pending_dad *d = &s->dad[i];
		if (d->expires_ms < now || !IN6_ARE_ADDR_EQUAL(&d->target, target))
			continue;
		for (struct conn *o = s->conns; o; o = o->next)
			if (o->id == d->conn_id && o != from && o->state == CONN_LINKUP)
				conn_send_packet(o, pkt, len);
		d->expires_ms = 0;
	}
}

/* An NS for one of the router's addresses: the router answers on c (R, S
 * and O set; a DAD probe from :: gets the answer to ff02::1 in mode
 * Certificates, and none in mode None, where the server sends no multicast
 * but RAs, 3.2.5.2.1: the address stays unusable, its source refused). */
static void answer_ns_for_router(struct conn *c, const struct ipv6_view *v, const struct icmp6_view *ic)
{
	if (!IN6_IS_ADDR_UNSPECIFIED(&v->src))
		send_na(c, &ic->target, &v->src, &ic->target, 0x80 | 0x40 | 0x20);
	else if (c->srv->cfg->auth == AUTH_NONE)
		link_drop(c, DROP_MULTICAST);
	else
		send_na(c, &ic->target, &all_nodes, &ic->target, 0x80 | 0x20);
}

/* A DAD probe (NS from ::) for target, owned by owner or by nobody. */
static void dad_probe(struct conn *c, struct conn *owner, const struct icmp6_view *ic,
		      const uint8_t *pkt, size_t len)
{
	struct server *s = c->srv;
	/* Held by a client of another worker: the steering map knows. */
	int remote = owner ? -1 : workers_owner(s, &ic->target);

	if (owner == c)
		owner = NULL; /* re-checking its own address */
	if (!owner && remote < 0)
		claim_by_dad(c, &ic->target);
	if (s->cfg->auth == AUTH_NONE) {
		/* Answered here for the owner: the NA the owner would send, R and
		 * S clear, no TLLAO, on this connection (3.2.5.2.2). */
		if (owner || remote >= 0)
			send_na(c, &ic->target, &all_nodes, &ic->target, 0x20);
		return;
	}
	if (owner || remote >= 0) {
		remember_dad(s, &ic->target, c);
		if (owner)
			conn_send_packet(owner, pkt, len);
		else if (workers_send(s, remote, pkt, len, WK_DAD) < 0)
			link_drop(c, DROP_QUEUE_FULL);
		return;
	}
	flood(c, pkt, len);
}

/* Multicast from a client, by mode (docs/link-rules.md). */
static void from_client_multicast(struct conn *c, const uint8_t *pkt, size_t len,
				  const struct ipv6_view *v, const struct icmp6_view *ic, int is_icmp)
{
	struct server *s = c->srv;
	uint8_t type = is_icmp ? ic->type : 0;

	if (type == ICMP6_TYPE_RS) {
		link_send_ra(c, &v->src);
		return;
	}
	if (type == ICMP6_TYPE_NS && is_router_addr(s, &ic->target)) {
		answer_ns_for_router(c, v, ic);
		return;
	}
	if (type == ICMP6_TYPE_NS && IN6_IS_ADDR_UNSPECIFIED(&v->src)) {
		dad_probe(c, owner_of(s, &ic->target), ic, pkt, len);
		return;
	}
	if (s->cfg->auth == AUTH_NONE) {
		link_drop(c, DROP_MULTICAST);
		return;
	}
	if (type == ICMP6_TYPE_NA && owner_of(s, &ic->target) == c) {
		na_to_askers(s, c, &ic->target, pkt, len);
		/* The asker may be another worker's client: each applies its own
		 * table of pending DAD probes. */
		if (s->w && workers_send_all(s, pkt, len, WK_NA) < 0)
			link_drop(c, DROP_QUEUE_FULL);
		return;
	}
	flood(c, pkt, len);
}

static void to_tun(struct server *s, struct conn *c, const uint8_t *pkt, size_t len)
{
	if (s->tun_sink) {
		s->tun_sink(s, pkt, len);
		s->st.to_tun++;
		return;
	}
	tunio_write(&s->tun, pkt, len, c);
	s->st.to_tun++;
}

/* Unicast to the router: RS and NS answered here, NA taken as an
 * announcement (bindings are made from sources), the rest to the TUN. */
static void to_router(struct conn *c, const uint8_t *pkt, size_t len, const struct ipv6_view *v,
		      const struct icmp6_view *ic, int is_icmp)
{
	if (is_icmp && ic->type == ICMP6_TYPE_NS) {
		if (is_router_addr(c->srv, &ic->target))
			send_na(c, &ic->target, &v->src, &ic->target, 0x80 | 0x40 | 0x20);
		return;
	}
	if (is_icmp && ic->type == ICMP6_TYPE_RS) {
		link_send_ra(c, &v->src);
		return;
	}
	if (is_icmp && ic->type == ICMP6_TYPE_NA)
		return;
	to_tun(c->srv, c, pkt, len);
}

/* Router messages and foreign targets, whatever the destination: no
 * client advertises a router, redirects another, or answers for an address
 * another client holds.  Returns the drop reason, or DROP__COUNT. */
static enum drop_reason forbidden(struct conn *c, const struct ipv6_view *v, const struct icmp6_view *ic)
{
	struct server *s = c->srv;
	struct conn *o;

	switch (ic->type) {
	case ICMP6_TYPE_RA:
	case ICMP6_TYPE_REDIRECT:
		return DROP_ROUTER_MSG;
	case ICMP6_TYPE_RS:
		/* to the routers' group or the router, never to a client */
		return IN6_IS_ADDR_MULTICAST(&v->dst) || is_router_addr(s, &v->dst)
			? DROP__COUNT : DROP_ROUTER_MSG;
	case ICMP6_TYPE_NA:
		if (bind_reserved_for_other(c, &ic->target))
			return DROP_FOREIGN_TARGET;
		o = owner_of(s, &ic->target);
		if (!o && workers_owner(s, &ic->target) >= 0)
			return DROP_FOREIGN_TARGET;     /* another worker's client holds it */
		return o && o != c ? DROP_FOREIGN_TARGET : DROP__COUNT;
	default:
		return DROP__COUNT;
	}
}

/* Unicast from c to another address of the link (docs/link-rules.md). */
static void client_to_client(struct conn *c, const uint8_t *pkt, size_t len, const struct ipv6_view *v)
{
	struct server *s = c->srv;
	struct conn *dst = owner_of(s, &v->dst);

	if (IN6_IS_ADDR_LINKLOCAL(&v->dst) && s->cfg->auth == AUTH_NONE) {
		/* Mode None: the router is the only link-local neighbor, and a
		 * packet to oneself is not switched either. */
		link_drop(c, DROP_LINKLOCAL);
		return;
	}
	if (!dst) {
		int q = workers_owner(s, &v->dst);
		if (q >= 0) {
			/* Another worker's client: through the ring to it, the
			 * packet unchanged (hop limit included). */
			s->st.client_to_client++;
			if (workers_send(s, q, pkt, len, WK_UNICAST) < 0)
				link_drop(c, DROP_QUEUE_FULL);
			return;
		}
	}
	if (!dst || dst->state != CONN_LINKUP) {
		link_drop(c, DROP_NO_OWNER);
		return;
	}
	bind_touch(dst, &v->dst);
	s->st.client_to_client++;
	conn_send_packet(dst, pkt, len);
}

int link_from_client(struct conn *c, const uint8_t *pkt, size_t len)
{
	struct server *s = c->srv;
	struct ipv6_view v;
	struct icmp6_view ic;
	const char *why = NULL;
	enum drop_reason r;
	int is_icmp;

	if (ipv6_parse(pkt, len, &v, &why) < 0) {
		link_drop(c, DROP_MALFORMED);
		return 0;
	}
	is_icmp = v.proto == IPPROTO_ICMPV6;
	if (is_icmp && icmp6_parse(&v, pkt, &ic, &why) < 0) {
		if (c->drops[DROP_MALFORMED] == 0)
			log_info("client #%llu %s: malformed ICMPv6: %s", (unsigned long long)c->id,
				 c->peer_str, why ? why : "?");
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
	if (is_icmp && (r = forbidden(c, &v, &ic)) != DROP__COUNT) {
		link_drop(c, r);
		return 0;
	}
	if (IN6_IS_ADDR_MULTICAST(&v.dst))
		from_client_multicast(c, pkt, len, &v, &ic, is_icmp);
	else if (is_router_addr(s, &v.dst))
		to_router(c, pkt, len, &v, &ic, is_icmp);
	else if (!dst_on_link(s, &v.dst))
		to_tun(s, c, pkt, len);
	else
		client_to_client(c, pkt, len, &v);
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
	c = owner_of(s, &v.dst);
	if (!c || c->state != CONN_LINKUP) {
		srv_drop(s, DROP_NO_OWNER);
		return;
	}
	bind_touch(c, &v.dst);
	conn_send_packet(c, pkt, len);
}

/* A packet another worker's client sent, handed over through a ring
 * (workers.h): the sending worker applied the link's rules to its sender;
 * here only this worker's clients are looked at. */
void link_from_worker(struct server *s, const uint8_t *pkt, size_t len, int kind)
{
	struct ipv6_view v;
	struct icmp6_view ic;
	const char *why = NULL;
	struct conn *c;

	memset(&ic, 0, sizeof(ic));
	if (ipv6_parse(pkt, len, &v, &why) < 0) {
		srv_drop(s, DROP_MALFORMED);
		return;
	}
	if ((kind == WK_DAD || kind == WK_NA) &&
	    (v.proto != IPPROTO_ICMPV6 || icmp6_parse(&v, pkt, &ic, &why) < 0)) {
		srv_drop(s, DROP_MALFORMED);
		return;
	}
	switch (kind) {
	case WK_UNICAST:
	case WK_DAD:
		c = owner_of(s, kind == WK_DAD ? &ic.target : &v.dst);
		if (!c || c->state != CONN_LINKUP) {
			srv_drop(s, DROP_NO_OWNER);
			return;
		}
		if (kind == WK_UNICAST)
			bind_touch(c, &v.dst);
		conn_send_packet(c, pkt, len);
		return;
	case WK_FLOOD:
		for (c = s->conns; c; c = c->next)
			if (c->state == CONN_LINKUP)
				conn_send_packet(c, pkt, len);
		return;
	case WK_NA:
		na_to_askers(s, NULL, &ic.target, pkt, len);
		return;
	default:
		srv_drop(s, DROP_MALFORMED);
	}
}
