/* ICMPv6 and Neighbor Discovery (RFC 4443, 4861, 4191, 8106, 8781) for the link.
 * Builders write whole IPv6 packets (header included) into a caller buffer and
 * return the length, or -1 if it does not fit.  Parsers are bounded: every
 * length is checked against the packet; they return 0 or -1 (malformed, with a
 * reason string in *why when why != NULL). */
#ifndef IPHTTPS_ND_H
#define IPHTTPS_ND_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#define ICMP6_TYPE_RS 133
#define ICMP6_TYPE_RA 134
#define ICMP6_TYPE_NS 135
#define ICMP6_TYPE_NA 136
#define ICMP6_TYPE_REDIRECT 137
#define ND_MAX_ROUTES 16
#define ND_MAX_DNS 4
#define ND_MAX_DOMAINS 8        /* DNSSL names kept (RFC 8106) */
#define ND_DOMAIN_MAX 254       /* a name as text, with its NUL */

/* A view of an IPv6 packet: fixed header fields and where the upper layer is
 * after skipping extension headers (hop-by-hop, routing, destination options;
 * a fragment header stops the walk: proto = 44). */
struct ipv6_view {
	struct in6_addr src, dst;
	uint8_t hop_limit;
	uint8_t proto;            /* final next-header value (58 = ICMPv6) */
	size_t payload_off;       /* offset of the upper-layer header */
	size_t payload_len;       /* bytes from payload_off to the end */
	size_t total_len;         /* 40 + Payload Length (must equal the buffer length) */
};
int ipv6_parse(const uint8_t *pkt, size_t len, struct ipv6_view *v, const char **why);

/* Internet checksum of ICMPv6 (pseudo-header included) over payload of len bytes. */
uint16_t icmp6_checksum(const struct in6_addr *src, const struct in6_addr *dst,
			const uint8_t *payload, size_t len);

/* What a received ICMPv6 message is, for the link rules. */
struct icmp6_view {
	uint8_t type, code;
	int checksum_ok;
	struct in6_addr target;   /* NS/NA/Redirect target */
	uint8_t na_flags;         /* NA: R=0x80, S=0x40, O=0x20 */
	int has_sllao, has_tllao;
};
/* Validates per RFC 4861 section 6.1.1/7.1.1 for RS/NS/NA (hop limit 255,
 * code 0, length, option lengths nonzero and within the message, checksum).
 * For other ICMPv6 types it checks length and checksum only. */
int icmp6_parse(const struct ipv6_view *v, const uint8_t *pkt, struct icmp6_view *out,
		const char **why);

struct nd_route {               /* RFC 4191 Route Information option */
	struct in6_addr prefix;
	uint8_t plen;
	uint32_t lifetime;
};

struct ra_params {
	struct in6_addr src;            /* router link-local, e.g. fe80::1 */
	struct in6_addr dst;            /* ff02::1 or the solicitor */
	uint8_t cur_hop_limit;          /* 64 */
	uint16_t router_lifetime;       /* 0 = not a default router */
	uint32_t reachable_time, retrans_timer;
	int has_prefix;
	struct in6_addr prefix;         /* PIO, L and A set */
	uint8_t prefix_len;             /* 64 */
	uint32_t valid_lifetime, preferred_lifetime;
	uint32_t mtu;                   /* MTU option if nonzero */
	size_t n_routes;
	struct nd_route routes[ND_MAX_ROUTES];
	size_t n_dns;
	struct in6_addr dns[ND_MAX_DNS];
	uint32_t dns_lifetime;          /* RDNSS and DNSSL */
	size_t n_domains;               /* DNSSL (RFC 8106), names checked by nd_domain_encode */
	const char *domains[ND_MAX_DOMAINS];
	int has_pref64;                 /* PREF64 (RFC 8781) */
	struct in6_addr pref64;
	uint8_t pref64_len;             /* 96, 64, 56, 48, 40 or 32 */
	uint16_t pref64_lifetime;       /* seconds, at most 65528 (a multiple of 8) */
};
int nd_build_ra(uint8_t *out, size_t outlen, const struct ra_params *p);
/* A domain name ("corp.example", a final dot allowed) in DNS wire form
 * (RFC 1035 3.1, no compression) into out.  Labels of 1 to 63 letters,
 * digits, '-' or '_', at most 253 characters in all.  Returns the length,
 * or -1 when the name is not one or out is too small. */
int nd_domain_encode(const char *name, uint8_t *out, size_t outlen);

/* Neighbor Advertisement: flags R/S/O as above; tllao not supported (the link
 * has no link-layer addresses). */
int nd_build_na(uint8_t *out, size_t outlen, const struct in6_addr *src,
		const struct in6_addr *dst, const struct in6_addr *target, uint8_t flags);
/* Router Solicitation from src to ff02::2, no options. */
int nd_build_rs(uint8_t *out, size_t outlen, const struct in6_addr *src);
/* Neighbor Solicitation (no SLLAO); dst is usually the solicited-node group. */
int nd_build_ns(uint8_t *out, size_t outlen, const struct in6_addr *src,
		const struct in6_addr *dst, const struct in6_addr *target);

/* Parsed Router Advertisement (for the client, probe and trace). */
struct ra_info {
	uint8_t cur_hop_limit, flags;
	uint16_t router_lifetime;
	int has_prefix;
	struct in6_addr prefix;
	uint8_t prefix_len, prefix_flags;
	uint32_t valid_lifetime, preferred_lifetime;
	uint32_t mtu;
	size_t n_routes;
	struct nd_route routes[ND_MAX_ROUTES];
	size_t n_dns;
	struct in6_addr dns[ND_MAX_DNS];
	uint32_t dns_lifetime;          /* of the first RDNSS option */
	size_t n_domains;               /* DNSSL: names as text, without the final dot */
	char domains[ND_MAX_DOMAINS][ND_DOMAIN_MAX];
	uint32_t dnssl_lifetime;
	int has_pref64;
	struct in6_addr pref64;         /* bits after pref64_len cleared */
	uint8_t pref64_len;
	uint16_t pref64_lifetime;       /* seconds */
};
/* DNSSL names with other characters than letters, digits, '-' and '_' are
 * skipped (they go to resolvers and files); a malformed DNSSL option is
 * ignored as a whole (RFC 8106 5.2), a PREF64 with an unknown prefix length
 * code too (RFC 8781 4). */
int nd_parse_ra(const struct ipv6_view *v, const uint8_t *pkt, struct ra_info *out,
		const char **why);

/* ff02::1:ffXX:XXXX for addr. */
void nd_solicited_node(const struct in6_addr *addr, struct in6_addr *out);
int nd_is_solicited_node(const struct in6_addr *a);

#endif
