/* The client's SIGHUP (reload.c): the configuration read and checked again
 * (as at start) and applied: entry points, proxies, TLS material, timers,
 * scripts.  Attempts in flight read the entry points and the TLS context,
 * so a reload waits for them to report.  The link stays up unless its entry
 * point is no longer configured; a client waiting to reconnect tries at
 * once with what it read.  --tun, --run-dir, --offload and --dns need a
 * restart (said, and kept).
 *
 * Error convention: none; a configuration that does not pass its checks is
 * logged and the running one kept. */
#ifndef IPHTTPS_CLIENT_RELOAD_H
#define IPHTTPS_CLIENT_RELOAD_H

struct client;

void client_reload(struct client *c);
/* The attempts have reported: apply a reload that waited for them. */
void client_reload_pending(struct client *c);
/* At exit: a reload that still waits is dropped. */
void client_reload_discard(struct client *c);

#endif
