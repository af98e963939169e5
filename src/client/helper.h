/* The client's privileged helper (common/privsep.h, common/helper.h).
 *
 * The helper process (helper.c), forked just before the client becomes
 * its user: it stays uid 0 with CAP_NET_ADMIN alone (effective, for
 * systemd-resolved, which asks a caller for it; inheritable, for
 * resolvconf), no_new_privs, no seccomp filter (resolvconf and the
 * scripts would inherit it).  Root's uid is what writing /etc/resolv.conf
 * and running resolvconf need; nothing else is kept.  It does three
 * things, each only as its own configuration says:
 *   - the advertised DNS (client/dns.h, the whole module runs here):
 *     PS_DNS_SET with the servers (16 bytes each, at most ND_MAX_DNS) and
 *     domains (at most ND_MAX_DOMAINS) the RAs carry, PS_DNS_DOWN when
 *     the link ends, PS_DNS_SHUTDOWN at exit; PS_DNS_STATUS back whenever
 *     what is applied changes (for `state`);
 *   - PS_RUN_SCRIPT / PS_STOP_SCRIPT: --up-script and --down-script as
 *     its configuration names them (common/helper.c), as root with
 *     CAP_NET_ADMIN, as before the split;
 *   - PS_RELOAD: its configuration read again (the scripts, the hook
 *     timeout), after the daemon's own reload took it.
 * When the daemon ends, even killed, the helper takes the DNS back, lets
 * the scripts end (bounded) and exits; when the helper ends, the client
 * stops (exit status 1).  The crash marker of dns_file.c still covers both
 * ending at once.
 *
 * Error convention: 0, or -1 with err[ERRLEN] naming the step. */
#ifndef IPHTTPS_CLIENT_HELPER_H
#define IPHTTPS_CLIENT_HELPER_H

#include "client/client.h"

/* Fork the helper; 0, or -1. */
int client_helper_start(struct client *c, char *err);
/* SIGHUP: the helper reads its configuration again first (its scripts,
 * and the certificates and keys it will open, read and checked as root);
 * their paths and labels into creds[*n] (CLIENT_MAX_CERTS at most) for
 * the daemon's own reading of the rest.  0, or -1 with err. */
int client_helper_reload(struct client *c, struct tls_cred *creds, size_t *n, char *err);
/* In the helper: PS_DNS_SET m as a set (s filled); -1 for a message the
 * daemon may not send. */
int client_helper_dns_set(const struct ps_msg *m, struct dns_set *s);
/* 1 while a helper runs. */
int client_helper_running(const struct client *c);
/* At exit: the DNS taken back by the helper (bounded), the channel
 * closed, the helper waited for (bounded). */
void client_helper_end(struct client *c);

#endif
