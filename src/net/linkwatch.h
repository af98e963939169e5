/* Telling when the kernel has taken a carrier change into account.
 *
 * Setting a TUN's carrier on is immediate, but the kernel applies it later
 * (the linkwatch work, up to a second on): until then the routes of the
 * device keep the "linkdown" flag and, with ignore_routes_with_linkdown,
 * packets written to the TUN find no route and are dropped (Ip6InNoRoutes),
 * the server's first Router Advertisement among them.  The RTM_NEWLINK the
 * kernel sends once it has applied the change is the signal to wait for.
 *
 * It also tells when a global address appeared on the device (the kernel's
 * SLAAC), which the client announces to the server.
 *
 * Error convention: linkwatch_open returns an fd or -1 with err[ERRLEN];
 * linkwatch_read returns 1 when dev is now up with its carrier, 0 if not
 * (yet), -1 on a socket error; *addr_changed is set when a global address
 * of dev was added or changed. */
#ifndef IPHTTPS_LINKWATCH_H
#define IPHTTPS_LINKWATCH_H

#include "common/errbuf.h"

int linkwatch_open(char *err);
int linkwatch_read(int fd, unsigned ifindex, int *addr_changed);
void linkwatch_close(int fd);

#endif
