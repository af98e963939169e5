/* The IPv4 intranet behind the server, reached by name (issue 9):
 *   - NAT64 with a real translator: TAYGA (a TUN-based stateless NAT64)
 *     with the kernel's masquerading behind it, or Jool where its kernel
 *     module loads; nftables rules keep clients to the inside network
 *     (never the server host itself) and to their own sources;
 *   - DNS64: unbound's dns64 module on a server address inside the link
 *     prefix, forwarding to the company's DNS servers;
 *   - what the RA says of them: RDNSS, DNSSL (RFC 8106), PREF64 (RFC 8781)
 *     and a route to the NAT64 prefix.
 * The translator and the resolver are children of the server's helper
 * (server/helper.c, common/proc.h): started once the helper runs, restarted
 * when they die, stopped at shutdown, shown in `state` (their state comes to
 * the daemon as messages).
 *
 * Files: intranet.c (options checked, the plan, RA, status), nat64.c
 * (translator, its TUN and routes, nftables), dns64.c (unbound).
 *
 * Error convention: 0, or -1 with a message in err[ERRLEN] naming the option
 * or the step.  intranet_check and intranet_plan change nothing on the
 * host: their failures are configuration errors (exit 2). */
#ifndef IPHTTPS_SERVER_INTRANET_H
#define IPHTTPS_SERVER_INTRANET_H

#include <limits.h>
#include <netinet/in.h>
#include <stdint.h>

#include "common/opts.h"
#include "common/proc.h"
#include "server/config.h"

struct server;
struct ra_params;
struct json_object;

enum nat64_translator { XLAT_AUTO = 0, XLAT_TAYGA, XLAT_JOOL };

struct cidr4 {
	struct in_addr a;               /* network byte order, host bits clear */
	uint8_t len;
};

#define DNS64_PORT 53
#define DNS64_IID 0x53                  /* the resolver's address: LINK::53 */
#define NAT64_RA_LIFETIME 1800          /* RIO and PREF64 */

struct intranet {
	/* The plan (intranet_plan). */
	int nat64, dns64;
	int translator;                 /* XLAT_TAYGA or XLAT_JOOL */
	char translator_why[200];
	struct in6_addr prefix;         /* the NAT64 /96 */
	struct cidr4 pool;              /* TAYGA's IPv4 pool, masqueraded */
	size_t n_allow;                 /* IPv4 destinations clients may reach */
	struct cidr4 allow[OPTS_LIST_MAX];
	struct in6_addr link;           /* client sources: the link /64 or the pool */
	uint8_t link_len;
	struct in6_addr dns64_addr;
	char tun[16];                   /* TAYGA's TUN device */
	char table[48];                 /* our nftables table (family inet) */
	char dir[PATH_MAX - 64];        /* generated configuration files */
	char tayga_conf[PATH_MAX], unbound_conf[PATH_MAX];
	/* What is running (nat64.c, dns64.c). */
	struct proc tayga, unbound;
	int tun_made, nft_made, jool_made, addr_added;
};

/* The options of the intranet as the configuration gives them: syntax,
 * combinations, the programs needed (tayga, unbound, nft; jool when asked),
 * an explicit --nat64-pool4 against this host's IPv4 routes. */
int intranet_check(const struct server_cfg *c, char *err);
/* After the link prefix is known: the NAT64 prefix (auto: a /96 of the
 * server's ULA space, never 64:ff9b::/96), the pool (auto: a free block of
 * 100.64.0.0/10 sized for --max-clients), the translator, the resolver's
 * address.  s->in stays NULL when no intranet option is given. */
int intranet_plan(struct server *s, char *err);
/* Set the host up (after the TUN exists, as root): the translator's TUN,
 * routes and rules, the resolver's address and configuration.  On failure
 * what was done is undone. */
int intranet_start(struct server *s, char *err);
/* In the helper (server/helper.c): start the translator and the resolver
 * on ev; intranet_undo stops them and undoes what intranet_start did. */
int intranet_run(struct server *s, struct evloop *ev, char *err);
void intranet_undo(struct server *s);
/* In the daemon, once the helper runs them: wait until the resolver
 * answers (-1 with err when it exits or the time is up). */
int intranet_wait(struct server *s, char *err);
/* Stop the children and undo what intranet_start did (by the helper once
 * it runs, bounded wait). */
void intranet_stop(struct server *s);
/* Reload: 1 when a and b differ in what only a restart changes (the
 * translator, the pool, the resolver and its upstreams; --dns-search may
 * change); intranet_cfg_swap exchanges those fields. */
int intranet_cfg_differs(const struct server_cfg *a, const struct server_cfg *b);
void intranet_cfg_swap(struct server_cfg *a, struct server_cfg *b);
/* Add the RA's intranet options (route, RDNSS, DNSSL, PREF64) to ra. */
int intranet_ra(const struct server *s, struct ra_params *ra, char *err);
/* 1 when a is an address of the server on the link besides the router's
 * (the resolver's). */
int intranet_server_addr(const struct server *s, const struct in6_addr *a);
/* The keys of `state`: NAT64Prefix, NAT64Pool4, NAT64Allow, NAT64Translator,
 * DNS64, DNS64Upstreams, DNSSearch. */
void intranet_status(const struct server *s, struct json_object *o);
/* Capabilities the children need after the server gave up the others. */
uint64_t intranet_caps(const struct server *s);
/* A child of the intranet as the server's user (--user) from its first
 * start: the server, once it is that user, can still stop it. */
void intranet_child_user(const struct server *s, struct proc *p);

/* Helpers shared by the files of the intranet. */
int cidr4_parse(const char *text, struct cidr4 *out);
void cidr4_format(const struct cidr4 *c, char *out, size_t len);
int cidr4_overlap(const struct cidr4 *a, const struct cidr4 *b);
/* PREFIX::a.b.c.d (RFC 6052, /96). */
struct in6_addr nat64_embed(const struct in6_addr *prefix, struct in_addr v4);

/* nat64.c */
int nat64_start(struct server *s, char *err);
int nat64_run(struct server *s, struct evloop *ev, char *err);
void nat64_undo(struct server *s);
/* 1 when Jool can run here (its command and its kernel module); 0 with
 * the reason in why. */
int nat64_jool_usable(char *why, size_t len);
/* dns64.c */
int dns64_start(struct server *s, char *err);
int dns64_run(struct server *s, struct evloop *ev, char *err);
int dns64_wait(struct server *s, char *err);
void dns64_undo(struct server *s);
void dns64_addr_del(struct server *s);

#endif
