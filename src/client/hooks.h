/* The client's --up-script and --down-script (hooks.c), as wg-quick's
 * PostUp and PostDown, run through common/hook.h with the link's facts in
 * the environment:
 *   IPHTTPS_EVENT        up | down
 *   IPHTTPS_INTERFACE    the TUN
 *   IPHTTPS_URL, IPHTTPS_PEER   the entry point in use and its address
 *   IPHTTPS_ADDRESSES    the TUN's addresses ("fd00::1/64 ..."), space-separated
 *   IPHTTPS_ROUTES       its routes ("2001:db8::/48 via fe80::1", comma-separated)
 *   IPHTTPS_DNS          the advertised DNS servers (RDNSS), space-separated
 *   IPHTTPS_DNS_DOMAINS  the advertised domains (DNSSL), space-separated
 *   IPHTTPS_RX_BYTES, IPHTTPS_TX_BYTES, IPHTTPS_DURATION (down)
 *   IPHTTPS_REASON       why the link ended (down)
 * The up script runs once per link, when its first global address is in
 * place (the routes and DNS came with the same Router Advertisement); the
 * down script when that link ends, after the up script if it still runs,
 * and only if it succeeded.  With --hook-fatal a failing up script ends
 * the link (a local failure: the reconnect timer applies).
 *
 * Error convention: none (outcomes are logged and counted by hook.c). */
#ifndef IPHTTPS_CLIENT_HOOKS_H
#define IPHTTPS_CLIENT_HOOKS_H

struct client;

void client_hooks_init(struct client *c);
/* A global address appeared on the TUN while LinkUp. */
void client_hooks_address(struct client *c);
/* The link ends (why), before the state leaves LinkUp. */
void client_hooks_down(struct client *c, const char *why);
void client_hooks_drain(struct client *c);

#endif
