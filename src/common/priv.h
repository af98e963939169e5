/* Giving up privileges once set up: after the TUN device, its addresses and
 * the control socket exist, a daemon keeps only CAP_NET_ADMIN (the carrier
 * of the TUN, deleting stale addresses, routes) and nothing else; no new
 * privileges can be gained afterwards (no_new_privs).
 *
 * Error convention: 0 on success, -1 with a message in err[ERRLEN]. */
#ifndef IPHTTPS_PRIV_H
#define IPHTTPS_PRIV_H

#include <stdint.h>

#include "common/errbuf.h"

int priv_keep_net_admin(char *err);
/* The same, keeping also the capabilities in extra (1 << CAP_x), e.g. for
 * the programs a server restarts (common/proc.h passes them on). */
int priv_keep(uint64_t extra, char *err);
/* Before anything is set up: does this process hold what a daemon needs,
 * CAP_NET_ADMIN (the TUN device, its addresses and routes) and, to listen on
 * a port below the kernel's unprivileged start (port 0: none),
 * CAP_NET_BIND_SERVICE?  0, or -1 with err naming what is missing. */
int priv_check_daemon(unsigned port, char *err);

#endif
