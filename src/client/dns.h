/* The DNS the server advertises (RDNSS, DNSSL) applied to this machine's
 * resolver for the TUN link, and the NAT64 prefix it advertises (PREF64),
 * for `state`.
 *
 * --dns split (default): only the advertised domains are asked through
 * the tunnel, every other name stays with the host's resolver: the
 * Name Resolution Policy Table of DirectAccess.  --dns full: every name.
 * --dns off: nothing is touched.
 *
 * The mechanism is chosen at each application, the first that works:
 *   - systemd-resolved, over D-Bus (org.freedesktop.resolve1: SetLinkDNS,
 *     SetLinkDomains with the domains as routing domains "~corp.example",
 *     SetLinkDefaultRoute false in split, true with "~." in full; LLMNR and
 *     mDNS off on the link), asynchronously from the event loop;
 *     RevertLink when the link goes down;
 *   - resolvconf (openresolv or Debian's; never systemd's, which needs
 *     resolved), run as a child with the servers and domains on stdin;
 *   - rewriting /etc/resolv.conf: the original is kept beside it as
 *     /etc/resolv.conf.iphttps-TUN (byte for byte, or the symlink it was)
 *     and put back when the link goes down or the client exits; the kept
 *     copy is also the crash marker that the next start repairs.  What
 *     another program wrote there since is never overwritten.
 * resolvconf and resolv.conf cannot send some names one way and others
 * another: there, split behaves as full and `state` says so.  Split with no
 * advertised domain behaves as full too (there is nothing to route by).
 *
 * All of this needs root (resolvconf, root's /etc, a privileged D-Bus
 * caller): once the client runs as its user, its helper (client/helper.h)
 * runs this module on what the daemon sends (dns.remote set in the
 * daemon); a helper that ends takes the DNS back first.
 *
 * Files: dns.c (what is advertised, the choice, status), dns_resolved.c,
 * dns_file.c (resolvconf and resolv.conf).
 * Error convention: the apply and revert steps log their failures and show
 * them in `state`; nothing here ends the client. */
#ifndef IPHTTPS_CLIENT_DNS_H
#define IPHTTPS_CLIENT_DNS_H

#include <netinet/in.h>
#include <stddef.h>

#include "common/privsep.h"
#include "common/proc.h"
#include "net/evloop.h"
#include "wire/nd.h"

struct client;
struct json_object;

enum dns_mode { DNS_SPLIT = 0, DNS_FULL, DNS_OFF };
enum dns_mech { MECH_NONE = 0, MECH_RESOLVED, MECH_RESOLVCONF, MECH_FILE, MECH__COUNT };

#define RESOLV_CONF "/etc/resolv.conf"
#define RESOLV_MAX 2048

/* What the server advertises. */
struct dns_set {
	size_t n_servers;
	struct in6_addr servers[ND_MAX_DNS];
	size_t n_domains;
	char domains[ND_MAX_DOMAINS][ND_DOMAIN_MAX];
};

struct dns {
	int mode;                       /* asked: enum dns_mode */
	struct dns_set want;            /* from the last RA */
	int has_pref64;
	struct in6_addr pref64;
	uint8_t pref64_len;
	/* As applied. */
	enum dns_mech mech;             /* in use, MECH_NONE when nothing is applied */
	int applied, split;             /* the system has want, split or full */
	int busy;                       /* an application or a revert is running */
	int again;                      /* apply again once it is done */
	unsigned unusable;              /* 1 << mech: failed on this link, skipped */
	char note[256];                 /* why as applied, or why not */
	char err[256];                  /* the mechanism's last failure */
	/* systemd-resolved (dns_resolved.c) */
	void *bus;                      /* sd_bus * */
	struct ev_handler bus_h, tmr_h;
	unsigned pending;               /* calls without their reply yet */
	int call_failed;
	/* resolvconf and resolv.conf (dns_file.c) */
	struct proc rc;
	int rc_openresolv;
	char rc_path[512];
	char written[RESOLV_MAX];       /* what we wrote to RESOLV_CONF */
	/* Once the client runs as its user, its helper applies the DNS
	 * (client/helper.h): the calls below send it what to do, and the
	 * fields "as applied" mirror what it reports. */
	struct ps_chan *remote;
};

/* At start: read --dns, repair what a crashed run left in resolv.conf. */
void dns_init(struct client *c, int mode);
/* A Router Advertisement from the router: apply what changed. */
void dns_ra(struct client *c, const struct ra_info *ra);
/* In the helper: the servers and domains the daemon sent (PS_DNS_SET). */
void dns_want(struct client *c, const struct dns_set *s);
/* The link left LinkUp: take the tunnel's DNS away at once. */
void dns_link_down(struct client *c);
/* The client exits: put everything back before returning (bounded). */
void dns_shutdown(struct client *c);
/* DNSServers, DNSDomains, DNSMode, NAT64Prefix. */
void dns_status(struct client *c, struct json_object *o);

/* For the mechanisms: the result of an application or revert. */
void dns_done(struct client *c, enum dns_mech m, int ok, const char *why);
/* The TUN's interface index, name. */
unsigned dns_ifindex(const struct client *c);
const char *dns_ifname(const struct client *c);

/* dns_resolved.c: 1 when resolved seems to run here. */
int resolved_present(void);
void resolved_apply(struct client *c, int split);
void resolved_revert(struct client *c, int wait);
void resolved_close(struct client *c);
/* dns_file.c */
int resolvconf_present(struct client *c);
void resolvconf_apply(struct client *c);
void resolvconf_revert(struct client *c, int wait);
void file_apply(struct client *c);
void file_revert(struct client *c);
/* Another instance holds resolv.conf: its name in who, 1. */
int file_held_by_other(const struct client *c, char *who, size_t len);
void file_repair(struct client *c);
/* nameserver and search lines of want into out. */
size_t resolv_text(const struct client *c, char *out, size_t len);

#endif
