/* ICMPv6 and Neighbor Discovery (RFC 4443, 4861, 4191, 8106) for the link.
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
	uint32_t dns_lifetime;
};
int nd_build_ra(uint8_t *out, size_t outlen, const struct ra_params *p);

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
};
int nd_parse_ra(const struct ipv6_view *v, const uint8_t *pkt, struct ra_info *out,
		const char **why);

/* ff02::1:ffXX:XXXX for addr. */
void nd_solicited_node(const struct in6_addr *addr, struct in6_addr *out);
int nd_is_solicited_node(const struct in6_addr *a);

#endif
