/* libFuzzer harness for the IPv6 view, ICMPv6 and Router Advertisement
 * parsers (src/wire/nd.c).
 *
 * Input: one IPv6 packet.  Checks the view's offsets, and for each RA that
 * parses, rebuilds it from the parsed values with nd_build_ra and parses the
 * result again: the same routes, servers, MTU, prefix, search domains
 * (DNSSL) and NAT64 prefix (PREF64) must come back. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wire/nd.h"

/* Turns what nd_parse_ra found into parameters for nd_build_ra. */
static void
to_params(const struct ipv6_view *v, const struct ra_info *ra, struct ra_params *p)
{
	memset(p, 0, sizeof(*p));
	p->src = v->src;
	p->dst = v->dst;
	p->cur_hop_limit = ra->cur_hop_limit;
	p->router_lifetime = ra->router_lifetime;
	p->has_prefix = ra->has_prefix;
	p->prefix = ra->prefix;
	p->prefix_len = ra->prefix_len;
	p->valid_lifetime = ra->valid_lifetime;
	p->preferred_lifetime = ra->preferred_lifetime;
	p->mtu = ra->mtu;
	p->n_routes = ra->n_routes;
	memcpy(p->routes, ra->routes, sizeof(p->routes));
	p->n_dns = ra->n_dns;
	memcpy(p->dns, ra->dns, sizeof(p->dns));
	p->dns_lifetime = ra->dns_lifetime;
	p->n_domains = ra->n_domains;
	for (size_t i = 0; i < ra->n_domains; i++)
		p->domains[i] = ra->domains[i];
	p->has_pref64 = ra->has_pref64;
	p->pref64 = ra->pref64;
	p->pref64_len = ra->pref64_len;
	p->pref64_lifetime = ra->pref64_lifetime;
}

/* Rebuilds the RA and checks that it parses back to the same values. */
static void
roundtrip(const struct ipv6_view *v, const struct ra_info *ra)
{
	static uint8_t out[2048];
	struct ra_params p;
	struct ipv6_view v2;
	struct ra_info ra2;
	size_t i;
	int n;

	to_params(v, ra, &p);
	n = nd_build_ra(out, sizeof(out), &p);
	assert(n > 0);
	assert(ipv6_parse(out, (size_t)n, &v2, NULL) == 0);
	assert(nd_parse_ra(&v2, out, &ra2, NULL) == 0);
	assert(ra2.n_routes == ra->n_routes && ra2.n_dns == ra->n_dns);
	assert(ra2.mtu == ra->mtu && ra2.has_prefix == ra->has_prefix);
	assert(ra2.router_lifetime == ra->router_lifetime);
	for (i = 0; i < ra->n_routes; i++)
		assert(ra2.routes[i].plen == ra->routes[i].plen &&
		       ra2.routes[i].lifetime == ra->routes[i].lifetime);
	assert(memcmp(ra2.dns, ra->dns, sizeof(ra->dns[0]) * ra->n_dns) == 0);
	/* every name kept is clean, so it encodes and comes back the same */
	assert(ra2.n_domains == ra->n_domains);
	for (i = 0; i < ra->n_domains; i++) {
		uint8_t enc[256];
		assert(nd_domain_encode(ra->domains[i], enc, sizeof(enc)) > 0);
		assert(strcmp(ra2.domains[i], ra->domains[i]) == 0);
	}
	assert(ra2.has_pref64 == ra->has_pref64);
	if (ra->has_pref64)
		assert(ra2.pref64_len == ra->pref64_len &&
		       ra2.pref64_lifetime == ra->pref64_lifetime &&
		       memcmp(&ra2.pref64, &ra->pref64, 16) == 0);
}

/* Runs the ICMPv6 and RA parsers over a packet whose view is v. */
static void
parse_all(const struct ipv6_view *v, const uint8_t *pkt)
{
	struct icmp6_view iv;
	struct ra_info ra;
	const char *why = NULL;

	if (icmp6_parse(v, pkt, &iv, &why) < 0)
		assert(why != NULL);
	else
		assert(iv.checksum_ok);
	if (nd_parse_ra(v, pkt, &ra, &why) == 0) {
		assert(ra.n_routes <= ND_MAX_ROUTES && ra.n_dns <= ND_MAX_DNS &&
		       ra.n_domains <= ND_MAX_DOMAINS);
		roundtrip(v, &ra);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t copy[70000];
	struct ipv6_view v;
	const char *why = NULL;
	uint8_t *m;
	uint16_t c;

	if (ipv6_parse(data, size, &v, &why) < 0) {
		assert(why != NULL);
		return 0;
	}
	assert(v.total_len == size);
	assert(v.payload_off >= 40 && v.payload_off + v.payload_len == size);
	parse_all(&v, data);
	/* again with a correct checksum, to reach the checks behind it */
	if (v.proto != 58 || v.payload_len < 4 || size > sizeof(copy))
		return 0;
	memcpy(copy, data, size);
	m = copy + v.payload_off;
	m[2] = m[3] = 0;
	c = icmp6_checksum(&v.src, &v.dst, m, v.payload_len);
	m[2] = (uint8_t)(c >> 8);
	m[3] = (uint8_t)c;
	assert(icmp6_checksum(&v.src, &v.dst, m, v.payload_len) == 0);
	parse_all(&v, copy);
	return 0;
}
