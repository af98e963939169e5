/* The server's --connect-script and --disconnect-script (scripts.c), run
 * through common/hook.h with the client's facts in the environment:
 *   IPHTTPS_EVENT        connect | disconnect
 *   IPHTTPS_INTERFACE    the server's TUN
 *   IPHTTPS_ID           the connection's Id (as in `iphttps clients`)
 *   IPHTTPS_SUBJECT, IPHTTPS_SERIAL   its certificate ("" without one)
 *   IPHTTPS_PEER_ADDRESS, IPHTTPS_PEER_PORT
 *   IPHTTPS_PREFIX       its own /64 (per-client mode) or the link's
 *   IPHTTPS_ADDRESSES    the addresses bound to it, space-separated
 *   IPHTTPS_TLS          protocol and suite
 *   IPHTTPS_RX_BYTES, IPHTTPS_TX_BYTES, IPHTTPS_RX_PACKETS, IPHTTPS_TX_PACKETS
 *   IPHTTPS_DURATION     seconds since LinkUp (disconnect)
 *   IPHTTPS_REASON       why it ended (disconnect)
 * The connect script runs at LinkUp; with --hook-fatal it runs before the
 * 200 and a failure answers 403 instead.  The disconnect script runs when a
 * connection whose connect script succeeded ends (after that script, if it
 * still runs); without a connect script, for every connection that was up.
 *
 * Error convention: none (outcomes are logged and counted by hook.c). */
#ifndef IPHTTPS_SERVER_SCRIPTS_H
#define IPHTTPS_SERVER_SCRIPTS_H

#include "server/types.h"

void scripts_init(struct server *s);
/* Its connect script, at LinkUp (before_linkup 0) or, with --hook-fatal,
 * before the 200 (before_linkup 1): then 1 when c waits for it
 * (conn_hook_done() follows), 0 to go on, -1 when it failed at once. */
int scripts_connect(struct conn *c, int before_linkup);
/* c ends (why): its disconnect script, if one is due. */
void scripts_disconnect(struct conn *c, const char *why);
/* At shutdown: let the scripts end (the hook timeout at most). */
void scripts_drain(struct server *s);

#endif
