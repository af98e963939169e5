/* ICMPv6 and Neighbor Discovery for the IP-HTTPS link (see nd.h).
 *
 * Parsers take a packet and its ipv6_view and check every length against the
 * bytes present before reading.  Builders write the IPv6 header (hop limit
 * 255, Payload Length, next header 58) and the ICMPv6 message with its
 * checksum.  All multi-byte fields are read and written big-endian byte by
 * byte, so no alignment is assumed. */
#include <string.h>

#include "wire/ipv6_stream.h"
#include "wire/nd.h"

#define PROTO_HOPOPTS 0
#define PROTO_ROUTING 43
#define PROTO_FRAGMENT 44
#define PROTO_DSTOPTS 60
#define PROTO_ICMPV6 58

#define ND_OPT_SLLAO 1
#define ND_OPT_TLLAO 2
#define ND_OPT_PIO 3
#define ND_OPT_MTU 5
#define ND_OPT_RIO 24
#define ND_OPT_RDNSS 25
#define ND_OPT_DNSSL 31
#define ND_OPT_PREF64 38

#define RS_LEN 8
#define RA_LEN 16
#define NS_NA_LEN 24
#define NA_FLAG_S 0x40
#define PIO_FLAG_L 0x80
#define PIO_FLAG_A 0x40

/* Sets *why (when why != NULL) and returns -1. */
static int
bad(const char **why, const char *reason)
{
	if (why != NULL)
		*why = reason;
	return -1;
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* ---- IPv6 view ---- */

/* Walks the extension headers of pkt (len bytes) from offset 40.  Sets
 * v->proto and v->payload_off.  Returns 0 or -1 (a header overruns the packet,
 * or hop-by-hop is not first). */
static int
walk_ext(const uint8_t *pkt, size_t len, struct ipv6_view *v, const char **why)
{
	uint8_t nh = pkt[6];
	size_t off = IPV6_HDR_LEN, hlen;

	for (;;) {
		if (nh != PROTO_HOPOPTS && nh != PROTO_ROUTING && nh != PROTO_DSTOPTS)
			break;
		if (nh == PROTO_HOPOPTS && off != IPV6_HDR_LEN)
			return bad(why, "hop-by-hop header not first");
		if (len - off < 2)
			return bad(why, "truncated extension header");
		hlen = ((size_t)pkt[off + 1] + 1) * 8;
		if (len - off < hlen)
			return bad(why, "extension header overruns packet");
		nh = pkt[off];
		off += hlen;
	}
	v->proto = nh;
	v->payload_off = off;
	v->payload_len = len - off;
	return 0;
}

int
ipv6_parse(const uint8_t *pkt, size_t len, struct ipv6_view *v, const char **why)
{
	memset(v, 0, sizeof(*v));
	if (len < IPV6_HDR_LEN)
		return bad(why, "shorter than an IPv6 header");
	if ((pkt[0] >> 4) != 6)
		return bad(why, "IP version is not 6");
	v->total_len = IPV6_HDR_LEN + get16(pkt + 4);
	if (v->total_len != len)
		return bad(why, "payload length does not match the packet");
	v->hop_limit = pkt[7];
	memcpy(&v->src, pkt + 8, 16);
	memcpy(&v->dst, pkt + 24, 16);
	return walk_ext(pkt, len, v, why);
}

/* ---- checksum ---- */

/* Adds the len bytes at p to the one's complement sum as big-endian 16-bit
 * words (an odd last byte padded with zero).  Returns the new unfolded sum. */
static uint64_t
sum_bytes(uint64_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

/* Returns the checksum to store big-endian in bytes 2-3 of the ICMPv6 header
 * (computed with that field zero); over a message that already carries a
 * correct checksum, it returns 0. */
uint16_t
icmp6_checksum(const struct in6_addr *src, const struct in6_addr *dst,
	       const uint8_t *payload, size_t len)
{
	uint64_t sum = 0;

	sum = sum_bytes(sum, src->s6_addr, 16);
	sum = sum_bytes(sum, dst->s6_addr, 16);
	sum += (uint32_t)(len >> 16) + (uint32_t)(len & 0xffff);
	sum += PROTO_ICMPV6;
	sum = sum_bytes(sum, payload, len);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* ---- ICMPv6 validation ---- */

/* Walks the ND options in opt (len bytes): each needs a nonzero length and
 * must fit.  Sets *sllao / *tllao when those options are present.  Returns 0
 * or -1. */
static int
check_options(const uint8_t *opt, size_t len, int *sllao, int *tllao,
	      const char **why)
{
	size_t off = 0, olen;

	while (off < len) {
		if (len - off < 2)
			return bad(why, "truncated ND option");
		olen = (size_t)opt[off + 1] * 8;
		if (olen == 0)
			return bad(why, "ND option with length 0");
		if (olen > len - off)
			return bad(why, "ND option overruns the message");
		if (opt[off] == ND_OPT_SLLAO)
			*sllao = 1;
		else if (opt[off] == ND_OPT_TLLAO)
			*tllao = 1;
		off += olen;
	}
	return 0;
}

/* Returns 1 when a is the unspecified address ::. */
static int
is_unspecified(const struct in6_addr *a)
{
	static const struct in6_addr any;

	return memcmp(a, &any, sizeof(any)) == 0;
}

/* Checks the RFC 4861 rules specific to RS, NS and NA (m is the ICMPv6
 * message, its fixed part present, options already walked into out).
 * Returns 0 or -1. */
static int
check_nd_rules(const struct ipv6_view *v, const uint8_t *m,
	       const struct icmp6_view *out, const char **why)
{
	int unspec = is_unspecified(&v->src);

	if (out->type == ICMP6_TYPE_RS) {
		if (unspec && out->has_sllao)
			return bad(why, "RS from :: with a source link-layer option");
		return 0;
	}
	if (IN6_IS_ADDR_MULTICAST(&out->target))
		return bad(why, "ND target is multicast");
	if (out->type == ICMP6_TYPE_NS && unspec) {
		if (!nd_is_solicited_node(&v->dst))
			return bad(why, "DAD NS not sent to a solicited-node group");
		if (out->has_sllao)
			return bad(why, "DAD NS with a source link-layer option");
	}
	if (out->type == ICMP6_TYPE_NA && IN6_IS_ADDR_MULTICAST(&v->dst) &&
	    (m[4] & NA_FLAG_S))
		return bad(why, "multicast NA with the Solicited flag");
	return 0;
}

/* Validates an RS, NS or NA message m (len bytes) per RFC 4861 6.1.1 and
 * 7.1.1 and fills the target, flags and option presence.  Returns 0 or -1. */
static int
parse_nd(const struct ipv6_view *v, const uint8_t *m, size_t len,
	 struct icmp6_view *out, const char **why)
{
	size_t fixed = out->type == ICMP6_TYPE_RS ? RS_LEN : NS_NA_LEN;

	if (v->hop_limit != 255)
		return bad(why, "ND message with hop limit other than 255");
	if (out->code != 0)
		return bad(why, "ND message with code other than 0");
	if (len < fixed)
		return bad(why, "ND message too short");
	if (fixed == NS_NA_LEN) {
		memcpy(&out->target, m + 8, 16);
		if (out->type == ICMP6_TYPE_NA)
			out->na_flags = m[4] & 0xe0;
	}
	if (check_options(m + fixed, len - fixed, &out->has_sllao,
			  &out->has_tllao, why) < 0)
		return -1;
	return check_nd_rules(v, m, out, why);
}

int
icmp6_parse(const struct ipv6_view *v, const uint8_t *pkt, struct icmp6_view *out,
	    const char **why)
{
	const uint8_t *m = pkt + v->payload_off;
	size_t len = v->payload_len;

	memset(out, 0, sizeof(*out));
	if (v->proto != PROTO_ICMPV6)
		return bad(why, "not ICMPv6");
	if (len < 8)
		return bad(why, "ICMPv6 message too short");
	out->type = m[0];
	out->code = m[1];
	out->checksum_ok = icmp6_checksum(&v->src, &v->dst, m, len) == 0;
	if (!out->checksum_ok)
		return bad(why, "bad ICMPv6 checksum");
	switch (out->type) {
	case ICMP6_TYPE_RS:
	case ICMP6_TYPE_NS:
	case ICMP6_TYPE_NA:
		return parse_nd(v, m, len, out, why);
	case ICMP6_TYPE_REDIRECT:
		if (len >= NS_NA_LEN)
			memcpy(&out->target, m + 8, 16);
		return 0;
	}
	return 0;
}

/* ---- builders ---- */

/* Writes the IPv6 header and the ICMPv6 checksum of a message of mlen bytes
 * already at out + 40.  Returns the packet length. */
static int
finish(uint8_t *out, const struct in6_addr *src, const struct in6_addr *dst,
       size_t mlen)
{
	uint8_t *m = out + IPV6_HDR_LEN;

	memset(out, 0, IPV6_HDR_LEN);
	out[0] = 0x60;
	put16(out + 4, (uint16_t)mlen);
	out[6] = PROTO_ICMPV6;
	out[7] = 255;
	memcpy(out + 8, src, 16);
	memcpy(out + 24, dst, 16);
	m[2] = m[3] = 0;
	put16(m + 2, icmp6_checksum(src, dst, m, mlen));
	return (int)(IPV6_HDR_LEN + mlen);
}

/* Starts an ICMPv6 message of the given type and fixed size after the IPv6
 * header: checks room and zeroes it.  Returns the message, or NULL when
 * outlen is too small. */
static uint8_t *
start_msg(uint8_t *out, size_t outlen, uint8_t type, size_t fixed)
{
	uint8_t *m;

	if (out == NULL || outlen < IPV6_HDR_LEN + fixed)
		return NULL;
	m = out + IPV6_HDR_LEN;
	memset(m, 0, fixed);
	m[0] = type;
	return m;
}

/* Returns the length in bytes of a Route Information option for a prefix of
 * plen bits (RFC 4191 2.3: 8, 16 or 24). */
static size_t
rio_len(uint8_t plen)
{
	if (plen == 0)
		return 8;
	return plen <= 64 ? 16 : 24;
}

/* Copies prefix a into out (16 bytes) with the bits after plen cleared. */
static void
put_prefix(uint8_t *out, const struct in6_addr *a, uint8_t plen)
{
	size_t i;

	for (i = 0; i < 16; i++) {
		int bits = (int)plen - (int)i * 8;
		uint8_t mask = bits >= 8 ? 0xff : bits <= 0 ? 0 :
			       (uint8_t)(0xff << (8 - bits));

		out[i] = a->s6_addr[i] & mask;
	}
}

static int
domain_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int
nd_domain_encode(const char *name, uint8_t *out, size_t outlen)
{
	size_t n = strlen(name), o = 0, l, i;
	const char *p = name, *end, *dot;

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 0 || n > 253)
		return -1;
	end = name + n;
	while (p < end) {
		dot = memchr(p, '.', (size_t)(end - p));
		l = dot ? (size_t)(dot - p) : (size_t)(end - p);
		if (l == 0 || l > 63 || o + 1 + l + 1 > outlen)
			return -1;
		for (i = 0; i < l; i++)
			if (!domain_char((uint8_t)p[i]))
				return -1;
		out[o++] = (uint8_t)l;
		memcpy(out + o, p, l);
		o += l;
		p += l;
		if (dot && ++p == end)
			return -1;      /* "a..": an empty label */
	}
	out[o++] = 0;
	return (int)o;
}

/* Returns the size of the DNSSL option for p's domains (padded to 8), or -1
 * when one is not a domain name or there are too many. */
static long
dnssl_len(const struct ra_params *p)
{
	uint8_t tmp[256];
	size_t n = 8, i;
	int l;

	if (p->n_domains > ND_MAX_DOMAINS)
		return -1;
	for (i = 0; i < p->n_domains; i++) {
		if (p->domains[i] == NULL ||
		    (l = nd_domain_encode(p->domains[i], tmp, sizeof(tmp))) < 0)
			return -1;
		n += (size_t)l;
	}
	return (long)((n + 7) & ~(size_t)7);
}

/* RFC 8781 4: the Prefix Length Code of a NAT64 prefix length, or -1. */
static int
pref64_code(uint8_t plen)
{
	static const uint8_t lens[] = { 96, 64, 56, 48, 40, 32 };

	for (int i = 0; i < 6; i++)
		if (lens[i] == plen)
			return i;
	return -1;
}

/* Returns the size of the options an RA with p carries, or -1 when p asks for
 * something impossible (too many routes or servers, a prefix over 128). */
static long
ra_options_len(const struct ra_params *p)
{
	size_t n = 0, i;

	if (p->n_routes > ND_MAX_ROUTES || p->n_dns > ND_MAX_DNS ||
	    (p->has_prefix && p->prefix_len > 128))
		return -1;
	if (p->has_prefix)
		n += 32;
	if (p->mtu != 0)
		n += 8;
	for (i = 0; i < p->n_routes; i++) {
		if (p->routes[i].plen > 128)
			return -1;
		n += rio_len(p->routes[i].plen);
	}
	if (p->n_dns > 0)
		n += 8 + 16 * p->n_dns;
	if (p->n_domains > 0) {
		long d = dnssl_len(p);
		if (d < 0)
			return -1;
		n += (size_t)d;
	}
	if (p->has_pref64) {
		if (pref64_code(p->pref64_len) < 0)
			return -1;
		n += 16;
	}
	return (long)n;
}

/* Writes the Prefix Information option (L and A set) at o.  Returns its size. */
static size_t
put_pio(uint8_t *o, const struct ra_params *p)
{
	memset(o, 0, 32);
	o[0] = ND_OPT_PIO;
	o[1] = 4;
	o[2] = p->prefix_len;
	o[3] = PIO_FLAG_L | PIO_FLAG_A;
	put32(o + 4, p->valid_lifetime);
	put32(o + 8, p->preferred_lifetime);
	put_prefix(o + 16, &p->prefix, p->prefix_len);
	return 32;
}

/* Writes the MTU option at o.  Returns its size. */
static size_t
put_mtu(uint8_t *o, uint32_t mtu)
{
	memset(o, 0, 8);
	o[0] = ND_OPT_MTU;
	o[1] = 1;
	put32(o + 4, mtu);
	return 8;
}

/* Writes a Route Information option (medium preference) at o.  Returns its
 * size. */
static size_t
put_rio(uint8_t *o, const struct nd_route *r)
{
	uint8_t prefix[16];
	size_t len = rio_len(r->plen);

	memset(o, 0, len);
	o[0] = ND_OPT_RIO;
	o[1] = (uint8_t)(len / 8);
	o[2] = r->plen;
	put32(o + 4, r->lifetime);
	put_prefix(prefix, &r->prefix, r->plen);
	memcpy(o + 8, prefix, len - 8);
	return len;
}

/* Writes the RDNSS option with the servers of p at o.  Returns its size. */
static size_t
put_rdnss(uint8_t *o, const struct ra_params *p)
{
	size_t i;

	memset(o, 0, 8);
	o[0] = ND_OPT_RDNSS;
	o[1] = (uint8_t)(1 + 2 * p->n_dns);
	put32(o + 4, p->dns_lifetime);
	for (i = 0; i < p->n_dns; i++)
		memcpy(o + 8 + 16 * i, &p->dns[i], 16);
	return 8 + 16 * p->n_dns;
}

/* Writes the DNSSL option with the domains of p at o (their encoding was
 * checked by dnssl_len).  Returns its size. */
static size_t
put_dnssl(uint8_t *o, const struct ra_params *p)
{
	size_t len = (size_t)dnssl_len(p), off = 8, i;

	memset(o, 0, len);
	o[0] = ND_OPT_DNSSL;
	o[1] = (uint8_t)(len / 8);
	put32(o + 4, p->dns_lifetime);
	for (i = 0; i < p->n_domains; i++)
		off += (size_t)nd_domain_encode(p->domains[i], o + off, len - off);
	return len;
}

/* Writes the PREF64 option at o: the lifetime in units of 8 seconds
 * (rounded up, at most 8191) and the prefix length code.  Returns 16. */
static size_t
put_pref64(uint8_t *o, const struct ra_params *p)
{
	uint8_t prefix[16];
	uint32_t scaled = ((uint32_t)p->pref64_lifetime + 7) / 8;

	if (scaled > 8191)
		scaled = 8191;
	memset(o, 0, 16);
	o[0] = ND_OPT_PREF64;
	o[1] = 2;
	put16(o + 2, (uint16_t)(scaled << 3 | (uint32_t)pref64_code(p->pref64_len)));
	put_prefix(prefix, &p->pref64, p->pref64_len);
	memcpy(o + 4, prefix, 12);
	return 16;
}

int
nd_build_ra(uint8_t *out, size_t outlen, const struct ra_params *p)
{
	long optlen = ra_options_len(p);
	size_t off, i;
	uint8_t *m;

	if (optlen < 0 || out == NULL ||
	    outlen < IPV6_HDR_LEN + RA_LEN + (size_t)optlen)
		return -1;
	m = start_msg(out, outlen, ICMP6_TYPE_RA, RA_LEN);
	m[4] = p->cur_hop_limit;
	put16(m + 6, p->router_lifetime);
	put32(m + 8, p->reachable_time);
	put32(m + 12, p->retrans_timer);
	off = RA_LEN;
	if (p->has_prefix)
		off += put_pio(m + off, p);
	if (p->mtu != 0)
		off += put_mtu(m + off, p->mtu);
	for (i = 0; i < p->n_routes; i++)
		off += put_rio(m + off, &p->routes[i]);
	if (p->n_dns > 0)
		off += put_rdnss(m + off, p);
	if (p->n_domains > 0)
		off += put_dnssl(m + off, p);
	if (p->has_pref64)
		off += put_pref64(m + off, p);
	return finish(out, &p->src, &p->dst, off);
}

int
nd_build_na(uint8_t *out, size_t outlen, const struct in6_addr *src,
	    const struct in6_addr *dst, const struct in6_addr *target, uint8_t flags)
{
	uint8_t *m = start_msg(out, outlen, ICMP6_TYPE_NA, NS_NA_LEN);

	if (m == NULL)
		return -1;
	m[4] = flags & 0xe0;
	memcpy(m + 8, target, 16);
	return finish(out, src, dst, NS_NA_LEN);
}

int
nd_build_rs(uint8_t *out, size_t outlen, const struct in6_addr *src)
{
	static const struct in6_addr all_routers = {
		.s6_addr = { 0xff, 0x02, [15] = 0x02 }
	};
	uint8_t *m = start_msg(out, outlen, ICMP6_TYPE_RS, RS_LEN);

	if (m == NULL)
		return -1;
	return finish(out, src, &all_routers, RS_LEN);
}

int
nd_build_ns(uint8_t *out, size_t outlen, const struct in6_addr *src,
	    const struct in6_addr *dst, const struct in6_addr *target)
{
	uint8_t *m = start_msg(out, outlen, ICMP6_TYPE_NS, NS_NA_LEN);

	if (m == NULL)
		return -1;
	memcpy(m + 8, target, 16);
	return finish(out, src, dst, NS_NA_LEN);
}

/* ---- RA parser ---- */

/* Takes a Prefix Information option (o, olen bytes); keeps the first valid
 * one in out.  Invalid ones are ignored (RFC 4861 4.6.2). */
static void
ra_pio(const uint8_t *o, size_t olen, struct ra_info *out)
{
	if (olen != 32 || o[2] > 128 || out->has_prefix)
		return;
	out->has_prefix = 1;
	out->prefix_len = o[2];
	out->prefix_flags = o[3];
	out->valid_lifetime = get32(o + 4);
	out->preferred_lifetime = get32(o + 8);
	memcpy(&out->prefix, o + 16, 16);
}

/* Takes a Route Information option; keeps up to ND_MAX_ROUTES.  Options whose
 * length is too small for their prefix length are ignored (RFC 4191 2.3). */
static void
ra_rio(const uint8_t *o, size_t olen, struct ra_info *out)
{
	struct nd_route *r;

	if (olen > 24 || o[2] > 128 || olen < rio_len(o[2]) ||
	    out->n_routes >= ND_MAX_ROUTES)
		return;
	r = &out->routes[out->n_routes++];
	memset(r, 0, sizeof(*r));
	r->plen = o[2];
	r->lifetime = get32(o + 4);
	memcpy(&r->prefix, o + 8, olen - 8);
}

/* Takes an RDNSS option; keeps up to ND_MAX_DNS servers in all.  Options
 * shorter than one address or of even length are ignored (RFC 8106 5.1). */
static void
ra_rdnss(const uint8_t *o, size_t olen, struct ra_info *out)
{
	size_t i, n;

	if (olen < 24 || ((olen / 8) & 1) == 0)
		return;
	if (out->n_dns == 0)
		out->dns_lifetime = get32(o + 4);
	n = (olen - 8) / 16;
	for (i = 0; i < n && out->n_dns < ND_MAX_DNS; i++)
		memcpy(&out->dns[out->n_dns++], o + 8 + 16 * i, 16);
}

/* Reads one name of a DNSSL option at o[*off] (olen bytes in all) as text
 * into name.  Returns 1 for a name with only letters, digits, '-' and '_',
 * 0 for another well-formed name, -1 when malformed. */
static int
dnssl_name(const uint8_t *o, size_t olen, size_t *off, char name[ND_DOMAIN_MAX])
{
	size_t tl = 0, i;
	int clean = 1;
	uint8_t l;

	for (;;) {
		if (*off >= olen)
			return -1;      /* no terminating zero label */
		l = o[(*off)++];
		if (l == 0)
			break;
		if (l > 63 || *off + l > olen || tl + l + 1 >= ND_DOMAIN_MAX)
			return -1;
		if (tl)
			name[tl++] = '.';
		for (i = 0; i < l; i++) {
			clean &= domain_char(o[*off + i]);
			name[tl++] = (char)o[*off + i];
		}
		*off += l;
	}
	name[tl] = 0;
	return clean;
}

/* Takes a DNSSL option (RFC 8106 5.2): names until the padding; a malformed
 * option is ignored as a whole; up to ND_MAX_DOMAINS names in all. */
static void
ra_dnssl(const uint8_t *o, size_t olen, struct ra_info *out)
{
	char names[ND_MAX_DOMAINS][ND_DOMAIN_MAX], extra[ND_DOMAIN_MAX];
	size_t off = 8, n = 0, i;
	int r;

	if (olen < 16)
		return;
	while (off < olen && o[off] != 0) {
		r = dnssl_name(o, olen, &off, n < ND_MAX_DOMAINS ? names[n] : extra);
		if (r < 0)
			return;
		if (r > 0 && n < ND_MAX_DOMAINS)
			n++;
	}
	if (out->n_domains == 0)
		out->dnssl_lifetime = get32(o + 4);
	for (i = 0; i < n && out->n_domains < ND_MAX_DOMAINS; i++)
		memcpy(out->domains[out->n_domains++], names[i], strlen(names[i]) + 1);
}

/* Takes the first PREF64 option with a known prefix length code. */
static void
ra_pref64(const uint8_t *o, size_t olen, struct ra_info *out)
{
	static const uint8_t lens[] = { 96, 64, 56, 48, 40, 32 };
	uint16_t v;
	uint8_t plen;

	if (olen != 16 || out->has_pref64 || (get16(o + 2) & 7) > 5)
		return;
	v = get16(o + 2);
	plen = lens[v & 7];
	memset(&out->pref64, 0, sizeof(out->pref64));
	memcpy(&out->pref64, o + 4, plen / 8);
	out->pref64_len = plen;
	out->pref64_lifetime = (uint16_t)((v >> 3) * 8);
	out->has_pref64 = 1;
}

/* Reads the options of an RA (opt, len bytes, already checked to be well
 * formed) into out. */
static void
ra_options(const uint8_t *opt, size_t len, struct ra_info *out)
{
	size_t off = 0, olen;

	while (off + 2 <= len && opt[off + 1] != 0) {
		olen = (size_t)opt[off + 1] * 8;
		if (olen > len - off)
			break;
		switch (opt[off]) {
		case ND_OPT_PIO:
			ra_pio(opt + off, olen, out);
			break;
		case ND_OPT_MTU:
			if (olen == 8)
				out->mtu = get32(opt + off + 4);
			break;
		case ND_OPT_RIO:
			ra_rio(opt + off, olen, out);
			break;
		case ND_OPT_RDNSS:
			ra_rdnss(opt + off, olen, out);
			break;
		case ND_OPT_DNSSL:
			ra_dnssl(opt + off, olen, out);
			break;
		case ND_OPT_PREF64:
			ra_pref64(opt + off, olen, out);
			break;
		}
		off += olen;
	}
}

/* Validates an RA per RFC 4861 6.1.2: ICMPv6, link-local source, hop limit
 * 255, code 0, at least 16 bytes, correct checksum, well-formed options.
 * The RA is m (len bytes).  Returns 0 or -1. */
static int
ra_validate(const struct ipv6_view *v, const uint8_t *m, size_t len,
	    const char **why)
{
	int sllao = 0, tllao = 0;

	if (v->proto != PROTO_ICMPV6)
		return bad(why, "not ICMPv6");
	if (len < RA_LEN)
		return bad(why, "RA too short");
	if (m[0] != ICMP6_TYPE_RA)
		return bad(why, "not a Router Advertisement");
	if (icmp6_checksum(&v->src, &v->dst, m, len) != 0)
		return bad(why, "bad ICMPv6 checksum");
	if (v->hop_limit != 255)
		return bad(why, "RA with hop limit other than 255");
	if (m[1] != 0)
		return bad(why, "RA with code other than 0");
	if (!IN6_IS_ADDR_LINKLOCAL(&v->src))
		return bad(why, "RA source is not link-local");
	return check_options(m + RA_LEN, len - RA_LEN, &sllao, &tllao, why);
}

int
nd_parse_ra(const struct ipv6_view *v, const uint8_t *pkt, struct ra_info *out,
	    const char **why)
{
	const uint8_t *m = pkt + v->payload_off;
	size_t len = v->payload_len;

	memset(out, 0, sizeof(*out));
	if (ra_validate(v, m, len, why) < 0)
		return -1;
	out->cur_hop_limit = m[4];
	out->flags = m[5];
	out->router_lifetime = get16(m + 6);
	ra_options(m + RA_LEN, len - RA_LEN, out);
	return 0;
}

/* ---- solicited-node multicast ---- */

void
nd_solicited_node(const struct in6_addr *addr, struct in6_addr *out)
{
	struct in6_addr a = *addr;      /* addr and out may be the same */

	memset(out, 0, sizeof(*out));
	out->s6_addr[0] = 0xff;
	out->s6_addr[1] = 0x02;
	out->s6_addr[11] = 0x01;
	out->s6_addr[12] = 0xff;
	memcpy(&out->s6_addr[13], &a.s6_addr[13], 3);
}

int
nd_is_solicited_node(const struct in6_addr *a)
{
	static const uint8_t pfx[13] = {
		0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff
	};

	return memcmp(a->s6_addr, pfx, sizeof(pfx)) == 0;
}
