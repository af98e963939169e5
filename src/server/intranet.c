/* The intranet's options, plan, RA options and status: see intranet.h. */
#include "server/intranet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <ifaddrs.h>
#include <json-c/json.h>
#include <linux/capability.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "ctl/ctl.h"
#include "server/helper.h"
#include "server/types.h"
#include "tls/pki.h"
#include "wire/nd.h"

/* What clients may reach through NAT64 unless --nat64-allow says: the
 * private ranges (RFC 1918) an intranet uses. */
static const char *const default_allow[] = { "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", NULL };
/* Where the automatic pool comes from: the shared address space (RFC 6598),
 * made for a NAT's inside and rarely an intranet's. */
#define AUTO_POOL_BASE 0x64400000u      /* 100.64.0.0/10 */
#define AUTO_POOL_LEN 10

/* err = "--name: ..." or "FILE:LINE: name: ..." for option name's value
 * (item of a list), as every option error; returns -1. */
#define bad(c, name, item, err, ...) \
	opts_bad(server_opts, &(c)->origin, (c), (name), (item), (err), __VA_ARGS__)

static uint32_t mask4(uint8_t len)
{
	return len ? 0xffffffffu << (32 - len) : 0;
}

int cidr4_parse(const char *text, struct cidr4 *out)
{
	char buf[INET_ADDRSTRLEN + 4], *slash, *end;
	long len;
	uint32_t a;

	if (strlen(text) >= sizeof(buf))
		return -1;
	strcpy(buf, text);
	if ((slash = strchr(buf, '/'))) {
		*slash = 0;
		len = strtol(slash + 1, &end, 10);
		if (!slash[1] || *end || len < 0 || len > 32)
			return -1;
	} else {
		len = 32;
	}
	if (inet_pton(AF_INET, buf, &out->a) != 1)
		return -1;
	out->len = (uint8_t)len;
	a = ntohl(out->a.s_addr);
	out->a.s_addr = htonl(a & mask4(out->len));
	return (a & ~mask4(out->len)) ? 1 : 0;
}

void cidr4_format(const struct cidr4 *c, char *out, size_t len)
{
	char a[INET_ADDRSTRLEN];

	snprintf(out, len, "%s/%u", inet_ntop(AF_INET, &c->a, a, sizeof(a)), c->len);
}

int cidr4_overlap(const struct cidr4 *a, const struct cidr4 *b)
{
	uint8_t len = a->len < b->len ? a->len : b->len;

	return ((ntohl(a->a.s_addr) ^ ntohl(b->a.s_addr)) & mask4(len)) == 0;
}

struct in6_addr nat64_embed(const struct in6_addr *prefix, struct in_addr v4)
{
	struct in6_addr a = *prefix;

	memcpy(&a.s6_addr[12], &v4, 4);
	return a;
}

/* 1 when a/alen and b/blen overlap (IPv6). */
static int overlap6(const struct in6_addr *a, unsigned alen, const struct in6_addr *b, unsigned blen)
{
	unsigned len = alen < blen ? alen : blen, full = len / 8, rest = len % 8;

	if (memcmp(a, b, full))
		return 0;
	return !rest || ((a->s6_addr[full] ^ b->s6_addr[full]) & (0xff00 >> rest)) == 0;
}

static int parse6(const char *text, struct in6_addr *p, unsigned *plen)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash, *end;
	long l;

	if (strlen(text) >= sizeof(buf) || !(slash = strchr(strcpy(buf, text), '/')))
		return -1;
	*slash = 0;
	l = strtol(slash + 1, &end, 10);
	if (!slash[1] || *end || l < 0 || l > 128 || inet_pton(AF_INET6, buf, p) != 1)
		return -1;
	*plen = (unsigned)l;
	return 0;
}

/* The translator's TUN for the server's TUN tun. */
static void nat64_tun_name(const char *tun, char out[16])
{
	snprintf(out, 16, "%.11s-n64", tun);
}

/* Does c overlap one of this host's IPv4 routes (main table, but the
 * default route and the routes of our own translator's TUN, skip_dev) or
 * addresses?  1 with what it overlaps in what. */
static int host_overlap(const struct cidr4 *c, const char *skip_dev, char *what, size_t len)
{
	FILE *f = fopen("/proc/net/route", "r");
	char line[256], ifn[IF_NAMESIZE + 1];
	struct ifaddrs *ifa, *i;
	int hit = 0;

	while (f && !hit && fgets(line, sizeof(line), f)) {
		unsigned long dst, mask;
		struct cidr4 r;
		if (sscanf(line, "%16s %lx %*x %*x %*d %*d %*d %lx", ifn, &dst, &mask) != 3 || !mask ||
		    !strcmp(ifn, skip_dev))
			continue;
		r.a.s_addr = (uint32_t)dst;
		r.len = (uint8_t)__builtin_popcount((unsigned)mask);
		if ((hit = cidr4_overlap(c, &r))) {
			char t[40];
			cidr4_format(&r, t, sizeof(t));
			snprintf(what, len, "this host's route %s on %s", t, ifn);
		}
	}
	if (f)
		fclose(f);
	if (hit || getifaddrs(&ifa) < 0)
		return hit;
	for (i = ifa; i && !hit; i = i->ifa_next) {
		struct cidr4 r = { .len = 32 };
		char t[INET_ADDRSTRLEN];
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
			continue;
		r.a = ((struct sockaddr_in *)i->ifa_addr)->sin_addr;
		if ((hit = cidr4_overlap(c, &r)))
			snprintf(what, len, "this host's address %s on %s", inet_ntop(AF_INET, &r.a, t, sizeof(t)),
				 i->ifa_name);
	}
	freeifaddrs(ifa);
	return hit;
}

static int need_program(const struct server_cfg *c, const char *opt, const char *prog,
			const char *pkg, char *err)
{
	char path[512];

	if (proc_find_program(prog, path, sizeof(path)) == 0)
		return 0;
	return bad(c, opt, 0, err, "the program %s is not installed (Debian package %s): install it, or leave --%s out",
		   prog, pkg, opt);
}

/* --dns64 ADDR[@PORT] */
static int upstream_ok(const char *text)
{
	char buf[INET6_ADDRSTRLEN + 8], *at, *end;
	struct in6_addr a;
	long port;

	if (strlen(text) >= sizeof(buf))
		return 0;
	strcpy(buf, text);
	if ((at = strchr(buf, '@'))) {
		*at = 0;
		port = strtol(at + 1, &end, 10);
		if (!at[1] || *end || port < 1 || port > 65535)
			return 0;
	}
	return inet_pton(AF_INET, buf, &a) == 1 || inet_pton(AF_INET6, buf, &a) == 1;
}

static int check_nat64_prefix(const struct server_cfg *c, const char *text, char *err)
{
	static const uint8_t wkp[12] = { 0, 0x64, 0xff, 0x9b };
	struct in6_addr p;
	unsigned plen;

	if (!strcmp(text, "auto"))
		return 0;
	if (parse6(text, &p, &plen) < 0 || plen != 96)
		return bad(c, "nat64", 0, err, "'%s' is not auto or an IPv6 PREFIX/96 (RFC 6052: the IPv4 address takes the last 32 bits)", text);
	if (p.s6_addr32[3])
		return bad(c, "nat64", 0, err, "'%s' has bits set after /96", text);
	if (IN6_IS_ADDR_MULTICAST(&p) || IN6_IS_ADDR_LINKLOCAL(&p) || IN6_IS_ADDR_LOOPBACK(&p))
		return bad(c, "nat64", 0, err, "'%s' is not a unicast prefix", text);
	if (!memcmp(&p, wkp, 12))
		return bad(c, "nat64", 0, err, "64:ff9b::/96 is the well-known prefix, which RFC 6052 forbids for private IPv4 addresses (an intranet's): use auto or a /96 of your own");
	return 0;
}

static int check_pool(const struct server_cfg *c, char *err)
{
	struct cidr4 pool;
	char what[128], dev[16];
	int r;

	if (!c->nat64_pool4)
		return 0;
	if ((r = cidr4_parse(c->nat64_pool4, &pool)) < 0 || pool.len < 8 || pool.len > 30)
		return bad(c, "nat64-pool4", 0, err, "'%s' is not an IPv4 CIDR from /8 to /30", c->nat64_pool4);
	if (r > 0)
		return bad(c, "nat64-pool4", 0, err, "'%s' has host bits set", c->nat64_pool4);
	nat64_tun_name(c->tun, dev);
	if (host_overlap(&pool, dev, what, sizeof(what)))
		return bad(c, "nat64-pool4", 0, err, "%s overlaps %s (the inside network): choose a range this host does not use",
			   c->nat64_pool4, what);
	return 0;
}

static int check_translator(const struct server_cfg *c, char *err)
{
	char why[200];

	if (need_program(c, "nat64", "nft", "nftables", err) < 0)
		return -1;
	if (c->nat64_translator == XLAT_JOOL && !nat64_jool_usable(why, sizeof(why)))
		return bad(c, "nat64-translator", 0, err, "jool: %s; use --nat64-translator tayga", why);
	if (c->nat64_translator == XLAT_JOOL ||
	    (c->nat64_translator == XLAT_AUTO && nat64_jool_usable(why, sizeof(why))))
		return 0;
	return need_program(c, "nat64", "tayga", "tayga", err);
}

static int check_lists(const struct server_cfg *c, char *err)
{
	struct cidr4 a;
	uint8_t enc[256];

	for (size_t i = 0; i < c->nat64_allow.n; i++)
		if (cidr4_parse(c->nat64_allow.v[i], &a) != 0)
			return bad(c, "nat64-allow", i, err, "'%s' is not an IPv4 CIDR (host bits clear)",
				   c->nat64_allow.v[i]);
	for (size_t i = 0; i < c->dns64.n; i++)
		if (!upstream_ok(c->dns64.v[i]))
			return bad(c, "dns64", i, err, "'%s' is not an IP address (the company's DNS servers the resolver forwards to, e.g. --dns64 10.0.0.53 or 10.0.0.53@5353)",
				   c->dns64.v[i]);
	if (c->dns_search.n > ND_MAX_DOMAINS)
		return bad(c, "dns-search", ND_MAX_DOMAINS, err, "at most %d domains", ND_MAX_DOMAINS);
	for (size_t i = 0; i < c->dns_search.n; i++)
		if (nd_domain_encode(c->dns_search.v[i], enc, sizeof(enc)) < 0)
			return bad(c, "dns-search", i, err, "'%s' is not a domain name (labels of letters, digits, '-' and '_')",
				   c->dns_search.v[i]);
	if (c->dns_search.n && !c->dns64.n && !c->dns.n)
		return bad(c, "dns-search", 0, err, "needs --dns64 or --dns (the servers that answer for these domains)");
	return 0;
}

int intranet_check(const struct server_cfg *c, char *err)
{
	int nat64 = c->nat64 || c->dns64.n;

	if (!nat64 && (c->nat64_pool4 || c->nat64_allow.n || c->nat64_translator != XLAT_AUTO))
		return bad(c, c->nat64_pool4 ? "nat64-pool4" : c->nat64_allow.n ? "nat64-allow" : "nat64-translator",
			   0, err, "needs --nat64 (or --dns64, which implies --nat64 auto)");
	if ((c->nat64 && check_nat64_prefix(c, c->nat64, err) < 0) || check_lists(c, err) < 0 ||
	    check_pool(c, err) < 0)
		return -1;
	if (c->dns64.n && need_program(c, "dns64", "unbound", "unbound", err) < 0)
		return -1;
	return nat64 ? check_translator(c, err) : 0;
}

/* --nat64 auto: a /96 of the server's ULA space, in a /64 of its own
 * (subnet ff64, or the next free one), outside the link and the routes. */
static int auto_prefix(struct server *s, struct intranet *in, char *err)
{
	struct in6_addr bases[3];
	size_t nb = 0;
	struct pki_paths pp;
	int created = 0;

	if ((in->link.s6_addr[0] & 0xfe) == 0xfc)
		bases[nb++] = in->link;
	pki_paths_init(&pp, s->cfg->state_dir);
	if (pki_ensure_prefix(&pp, &bases[nb], &created, err) == 0)
		nb++;
	for (size_t b = 0; b < nb; b++)
		for (unsigned sub = 0xff64; sub <= 0xff6f; sub++) {
			struct in6_addr p;
			int clash = 0;
			memset(&p, 0, sizeof(p));
			memcpy(&p, &bases[b], 6);
			p.s6_addr[6] = (uint8_t)(sub >> 8);
			p.s6_addr[7] = (uint8_t)sub;
			clash = overlap6(&p, 96, &in->link, in->link_len);
			for (size_t i = 0; i < s->cfg->routes.n && !clash; i++) {
				struct in6_addr r;
				unsigned rl;
				clash = parse6(s->cfg->routes.v[i], &r, &rl) == 0 && overlap6(&p, 96, &r, rl);
			}
			if (!clash) {
				in->prefix = p;
				return 0;
			}
		}
	return bad(s->cfg, "nat64", 0, err, "auto: no free /96 in the server's ULA space; give --nat64 PREFIX/96");
}

/* The automatic pool: a block of 100.64.0.0/10 with room for every
 * address of every client (TAYGA gives each IPv6 address its own IPv4
 * address for two hours), free on this host. */
static int auto_pool(struct server *s, struct intranet *in, char *err)
{
	uint64_t need = (uint64_t)s->cfg->max_clients * (uint64_t)s->cfg->max_addrs + 2;
	uint8_t len = 30;
	char what[128];

	while (len > AUTO_POOL_LEN && (1ull << (32 - len)) < need)
		len--;
	if (len > 24)
		len = 24;
	for (uint32_t a = AUTO_POOL_BASE; a < AUTO_POOL_BASE + (1u << (32 - AUTO_POOL_LEN)); a += 1u << (32 - len)) {
		struct cidr4 c = { .a.s_addr = htonl(a), .len = len };
		int clash = host_overlap(&c, in->tun, what, sizeof(what));
		for (size_t i = 0; i < in->n_allow && !clash; i++)
			clash = cidr4_overlap(&c, &in->allow[i]);
		if (!clash) {
			in->pool = c;
			return 0;
		}
	}
	return bad(s->cfg, "nat64-pool4", 0, err, "no free /%u in 100.64.0.0/10 on this host; give one", len);
}

/* The resolver's address: LINK::53 with a shared prefix; in per-client
 * mode the last /64 of the pool is kept out of the clients' reach for it. */
static void dns64_address(struct server *s, struct intranet *in)
{
	in->dns64_addr = in->link;
	if (s->cfg->prefix_mode == PREFIX_PER_CLIENT) {
		for (unsigned bit = in->link_len; bit < 64; bit++)
			in->dns64_addr.s6_addr[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
		s->pool_size--;
	}
	memset(&in->dns64_addr.s6_addr[8], 0, 8);
	in->dns64_addr.s6_addr[15] = DNS64_IID;
}

static void plan_names(struct server *s, struct intranet *in)
{
	size_t n;

	nat64_tun_name(s->cfg->tun, in->tun);
	n = (size_t)snprintf(in->table, sizeof(in->table), "iphttps_%s", s->cfg->tun);
	for (size_t i = 8; i < n && i < sizeof(in->table); i++)
		if (!((in->table[i] >= 'a' && in->table[i] <= 'z') || (in->table[i] >= 'A' && in->table[i] <= 'Z') ||
		      (in->table[i] >= '0' && in->table[i] <= '9')))
			in->table[i] = '_';
	snprintf(in->dir, sizeof(in->dir), "%s", ctl_run_dir(s->cfg->run_dir));
}

static int plan_nat64(struct server *s, struct intranet *in, char *err)
{
	const struct server_cfg *c = s->cfg;
	unsigned plen;

	if (!c->nat64 || !strcmp(c->nat64, "auto")) {
		if (auto_prefix(s, in, err) < 0)
			return -1;
	} else if (parse6(c->nat64, &in->prefix, &plen) < 0 ||
		   overlap6(&in->prefix, 96, &in->link, in->link_len)) {
		return bad(c, "nat64", 0, err, "%s overlaps the link's %s: give the NAT64 a prefix of its own",
			   c->nat64, c->prefix_mode == PREFIX_PER_CLIENT ? "--prefix-pool" : "--prefix");
	}
	for (size_t i = 0; c->nat64_allow.n ? i < c->nat64_allow.n : default_allow[i] != NULL; i++)
		cidr4_parse(c->nat64_allow.n ? c->nat64_allow.v[i] : default_allow[i], &in->allow[in->n_allow++]);
	if (c->nat64_pool4)
		cidr4_parse(c->nat64_pool4, &in->pool);
	else if (auto_pool(s, in, err) < 0)
		return -1;
	in->translator = c->nat64_translator == XLAT_AUTO ? XLAT_TAYGA : c->nat64_translator;
	if (c->nat64_translator == XLAT_AUTO && nat64_jool_usable(in->translator_why, sizeof(in->translator_why))) {
		in->translator = XLAT_JOOL;
		snprintf(in->translator_why, sizeof(in->translator_why), "its kernel module is available");
	} else if (c->nat64_translator == XLAT_AUTO) {
		char why[160];
		snprintf(why, sizeof(why), "%s", in->translator_why);
		snprintf(in->translator_why, sizeof(in->translator_why), "Jool cannot run here (%s)", why);
	} else {
		snprintf(in->translator_why, sizeof(in->translator_why), "--nat64-translator");
	}
	return 0;
}

static void log_plan(const struct server *s, const struct intranet *in)
{
	char p[INET6_ADDRSTRLEN], pool[40], d[INET6_ADDRSTRLEN];

	inet_ntop(AF_INET6, &in->prefix, p, sizeof(p));
	cidr4_format(&in->pool, pool, sizeof(pool));
	if (in->nat64)
		log_info("NAT64: %s/96 through %s (%s), IPv4 pool %s masqueraded toward the inside",
			 p, in->translator == XLAT_JOOL ? "Jool" : "TAYGA", in->translator_why,
			 in->translator == XLAT_JOOL ? "(Jool's own: the host's addresses)" : pool);
	if (in->dns64)
		log_info("DNS64: unbound on %s, forwarding to %s%s", inet_ntop(AF_INET6, &in->dns64_addr, d, sizeof(d)),
			 s->cfg->dns64.v[0], s->cfg->dns64.n > 1 ? " and more" : "");
}

int intranet_plan(struct server *s, char *err)
{
	const struct server_cfg *c = s->cfg;
	struct intranet *in;

	if (!c->nat64 && !c->dns64.n && !c->dns_search.n)
		return 0;
	if (!(s->in = in = calloc(1, sizeof(*in)))) {
		snprintf(err, ERRLEN, "out of memory");
		return -1;
	}
	in->nat64 = c->nat64 || c->dns64.n;
	in->dns64 = c->dns64.n > 0;
	in->link = c->prefix_mode == PREFIX_PER_CLIENT ? s->pool : s->prefix;
	in->link_len = c->prefix_mode == PREFIX_PER_CLIENT ? s->pool_len : 64;
	plan_names(s, in);
	if (in->nat64 && plan_nat64(s, in, err) < 0)
		return -1;
	if (in->dns64)
		dns64_address(s, in);
	log_plan(s, in);
	return 0;
}

static int strlist_differs(const struct strlist *a, const struct strlist *b)
{
	if (a->n != b->n)
		return 1;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]))
			return 1;
	return 0;
}

static int str_differs(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a && strcmp(a, b));
}

int intranet_cfg_differs(const struct server_cfg *a, const struct server_cfg *b)
{
	return str_differs(a->nat64, b->nat64) || str_differs(a->nat64_pool4, b->nat64_pool4) ||
	       strlist_differs(&a->nat64_allow, &b->nat64_allow) ||
	       a->nat64_translator != b->nat64_translator || strlist_differs(&a->dns64, &b->dns64) ||
	       (!a->nat64 && !a->dns64.n && !a->dns_search.n) != (!b->nat64 && !b->dns64.n && !b->dns_search.n);
}

void intranet_cfg_swap(struct server_cfg *a, struct server_cfg *b)
{
	struct server_cfg t = *a;

	a->nat64 = b->nat64, b->nat64 = t.nat64;
	a->nat64_pool4 = b->nat64_pool4, b->nat64_pool4 = t.nat64_pool4;
	a->nat64_allow = b->nat64_allow, b->nat64_allow = t.nat64_allow;
	a->nat64_translator = b->nat64_translator, b->nat64_translator = t.nat64_translator;
	a->dns64 = b->dns64, b->dns64 = t.dns64;
}

int intranet_start(struct server *s, char *err)
{
	struct intranet *in = s->in;

	if (!in)
		return 0;
	/* The run directory holds the generated configurations (the control
	 * socket, made later, goes there too). */
	if (mkdir(in->dir, 0755) < 0 && errno != EEXIST) {
		snprintf(err, ERRLEN, "mkdir %s: %s", in->dir, strerror(errno));
		return -1;
	}
	if ((in->nat64 && nat64_start(s, err) < 0) || (in->dns64 && dns64_start(s, err) < 0)) {
		intranet_undo(s);
		dns64_addr_del(s);
		return -1;
	}
	return 0;
}

int intranet_run(struct server *s, struct evloop *ev, char *err)
{
	struct intranet *in = s->in;

	if (!in)
		return 0;
	if (in->nat64 && nat64_run(s, ev, err) < 0)
		return -1;
	return in->dns64 ? dns64_run(s, ev, err) : 0;
}

void intranet_undo(struct server *s)
{
	if (!s->in)
		return;
	dns64_undo(s);
	nat64_undo(s);
}

int intranet_wait(struct server *s, char *err)
{
	return s->in && s->in->dns64 ? dns64_wait(s, err) : 0;
}

void intranet_stop(struct server *s)
{
	if (!s->in)
		return;
	if (server_helper_running(s))
		server_helper_intranet_stop(s);
	else if (!s->dropped)
		intranet_undo(s);       /* set-up failed: still root */
	else
		log_warnx("NAT64/DNS64: the helper is gone: the translator's TUN %s and the table inet %s are left",
			  s->in->tun, s->in->table);
	dns64_addr_del(s);
	free(s->in);
	s->in = NULL;
}

int intranet_ra(const struct server *s, struct ra_params *ra, char *err)
{
	const struct intranet *in = s->in;
	const struct server_cfg *c = s->cfg;

	if (!in)
		return 0;
	if (in->nat64) {
		if (ra->n_routes >= ND_MAX_ROUTES) {
			snprintf(err, ERRLEN, "--route: at most %d routes with --nat64", ND_MAX_ROUTES - 1);
			return -1;
		}
		ra->routes[ra->n_routes++] = (struct nd_route){ in->prefix, 96, NAT64_RA_LIFETIME };
		ra->has_pref64 = 1;
		ra->pref64 = in->prefix;
		ra->pref64_len = 96;
		ra->pref64_lifetime = NAT64_RA_LIFETIME;
	}
	if (in->dns64) {
		if (ra->n_dns >= ND_MAX_DNS) {
			snprintf(err, ERRLEN, "--dns: at most %d servers with --dns64", ND_MAX_DNS - 1);
			return -1;
		}
		memmove(&ra->dns[1], &ra->dns[0], ra->n_dns * sizeof(ra->dns[0]));
		ra->dns[0] = in->dns64_addr;
		ra->n_dns++;
	}
	ra->n_domains = c->dns_search.n;
	for (size_t i = 0; i < c->dns_search.n; i++)
		ra->domains[i] = c->dns_search.v[i];
	return 0;
}

int intranet_server_addr(const struct server *s, const struct in6_addr *a)
{
	return s->in && s->in->dns64 && IN6_ARE_ADDR_EQUAL(a, &s->in->dns64_addr);
}

uint64_t intranet_caps(const struct server *s)
{
	uint64_t caps = 0;
	/* (the helper's; the daemon keeps CAP_NET_ADMIN alone) */

	if (s->in && s->in->nat64)
		caps |= 1ull << CAP_NET_ADMIN;
	if (s->in && s->in->dns64)
		caps |= 1ull << CAP_NET_BIND_SERVICE;
	return caps;
}

void intranet_child_user(const struct server *s, struct proc *p)
{
	p->caps = intranet_caps(s);
	if (s->cfg->run_as.drop)
		p->user = (struct proc_user){ 1, s->cfg->run_as.uid, s->cfg->run_as.gid };
}

static struct json_object *strlist_json(const struct strlist *l)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; i < l->n; i++)
		json_object_array_add(a, json_object_new_string(l->v[i]));
	return a;
}

static void nat64_status(const struct intranet *in, struct json_object *o)
{
	char buf[PROC_LINE + 400], t[40];
	struct json_object *a = json_object_new_array();

	inet_ntop(AF_INET6, &in->prefix, buf, sizeof(buf));
	strcat(buf, "/96");
	json_object_object_add(o, "NAT64Prefix", json_object_new_string(buf));
	if (in->translator == XLAT_TAYGA) {
		cidr4_format(&in->pool, t, sizeof(t));
		json_object_object_add(o, "NAT64Pool4", json_object_new_string(t));
		proc_describe(&in->tayga, buf + 7, sizeof(buf) - 7);
		memcpy(buf, "tayga: ", 7);
	} else {
		snprintf(buf, sizeof(buf), "jool: kernel instance %s", in->table);
	}
	json_object_object_add(o, "NAT64Translator", json_object_new_string(buf));
	for (size_t i = 0; i < in->n_allow; i++) {
		cidr4_format(&in->allow[i], t, sizeof(t));
		json_object_array_add(a, json_object_new_string(t));
	}
	json_object_object_add(o, "NAT64Allow", a);
}

void intranet_status(const struct server *s, struct json_object *o)
{
	const struct intranet *in = s->in;
	char buf[PROC_LINE + 400], a[INET6_ADDRSTRLEN];
	int n;

	if (!in)
		return;
	if (in->nat64)
		nat64_status(in, o);
	if (in->dns64) {
		n = snprintf(buf, sizeof(buf), "unbound on [%s]:%d: ", inet_ntop(AF_INET6, &in->dns64_addr, a, sizeof(a)),
			     DNS64_PORT);
		proc_describe(&in->unbound, buf + n, sizeof(buf) - (size_t)n);
		json_object_object_add(o, "DNS64", json_object_new_string(buf));
		json_object_object_add(o, "DNS64Upstreams", strlist_json(&s->cfg->dns64));
	}
	json_object_object_add(o, "DNSSearch", strlist_json(&s->cfg->dns_search));
}
