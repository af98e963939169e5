/* The link's rules (link.c): address binding, ND, RA, forwarding between
 * clients and to the TUN, drops counted per reason.
 * Error convention: setup functions return 0, or -1 with err[ERRLEN];
 * link_from_client returns 0, or -1 to end the client's session. */
#ifndef IPHTTPS_SERVER_LINK_H
#define IPHTTPS_SERVER_LINK_H

#include "server/types.h"

int link_setup(struct server *s, char *err);
int link_setup_ra(struct server *s, char *err);
/* One packet from a client's stream; returns 0, or -1 to end the session. */
int link_from_client(struct conn *c, const uint8_t *pkt, size_t len);
void link_from_tun(struct server *s, const uint8_t *pkt, size_t len);
/* A packet from another worker's client (kind: enum wk_kind, workers.h). */
void link_from_worker(struct server *s, const uint8_t *pkt, size_t len, int kind);
/* 0, or -1 when no /64 is left (per-client mode). */
int link_conn_up(struct conn *c);
void link_conn_down(struct conn *c);
void link_send_ra(struct conn *c, const struct in6_addr *dst);
void link_drop(struct conn *c, enum drop_reason r);

#endif
