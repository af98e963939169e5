/* The IP-HTTPS server: one non-blocking epoll loop that terminates every
 * client connection (TLS or plain HTTP behind a balancer), is the IPv6 router
 * of the link and forwards between the clients and a TUN device.
 *
 * Files: config.c (options, defaults, checks, embedded defaults), server.c
 * (setup, loop, accept, timers), conn.c (one connection: TLS, HTTP handshake,
 * stream), link.c (the link's rules: address binding, ND, RA, forwarding),
 * addrtab.c (address -> connection), status.c (state and clients for the
 * control socket).  Types are in types.h, each file's functions in its own
 * header. */
#ifndef IPHTTPS_SERVER_H
#define IPHTTPS_SERVER_H

#include "server/types.h"

/* Set up (prefix, TLS, TUN, control socket, listener) and run the loop until
 * SIGTERM/SIGINT; 0 on a clean stop, 1 when setup failed (logged). */
/* on_ready (may be NULL) is called once everything is set up, before the
 * first client is served. */
int server_main(struct server_cfg *cfg, server_reload_fn reload, void (*on_ready)(void *arg),
		void *ready_arg);
/* Before anything is set up: raise the descriptor limit's soft value to
 * its hard one; -1 (err set) when it leaves no room for a client once
 * SERVER_FD_RESERVE are kept. */
int server_check_nofile(char *err);
void server_mark_dirty(struct conn *c);
/* A connection accepted here or handed over by the supervisor (workers.h):
 * admitted (per-source and handshake caps) and started, or closed. */
void server_take_conn(struct server *s, int fd, const struct sockaddr_storage *peer);
/* The TUN's write-failure callback (tunio.h). */
void server_tun_write_failed(void *arg, void *owner, unsigned npkts);
/* A worker's loop until SIGTERM, then its clients closed; the exit status. */
int server_worker_loop(struct server *s);
/* c used its share of reading this turn; it goes on next turn. */
void server_mark_resume(struct conn *c);

#endif
