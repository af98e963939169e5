/* The server's privileged helper (common/privsep.h, common/helper.h).
 *
 * The helper process (helper.c), forked just before the server gives up
 * root: the server's user, like the daemon, with CAP_NET_ADMIN (and with
 * --dns64 CAP_NET_BIND_SERVICE) permitted and inheritable only, for the
 * programs it starts as ambient capabilities; nothing effective, no
 * seccomp filter (the programs would inherit it).  It does four things:
 *   - runs the translator (TAYGA) and the resolver (unbound) of the
 *     intranet's plan (intranet.h), restarts them when they die, and tells
 *     the daemon their state whenever it changes (PS_CHILD_STATUS);
 *   - PS_INTRANET_STOP: stops them and takes away the translator's TUN,
 *     its nftables table, a Jool instance (nft, tayga --rmtun, jool run
 *     with CAP_NET_ADMIN);
 *   - PS_RUN_SCRIPT / PS_STOP_SCRIPT: the --connect-script and
 *     --disconnect-script as its own configuration names them
 *     (common/helper.c);
 *   - PS_RELOAD: the configuration read and checked again
 *     (server_cfg_reload, as the server's user: what it reads must be
 *     readable to it, as before), sent back whole (common/cfgpack.h); its
 *     scripts and hook timeout become the helper's.
 * When the daemon ends (the end of its socket) the helper does what
 * PS_INTRANET_STOP does, lets the scripts end (stopped after a bound) and
 * exits.  When the helper ends, the daemon stops (exit status 1).
 *
 * The daemon's side (privsep.c): the fork, the channel in the daemon's
 * loop, the children's state mirrored in s->in's procs for `state`, the
 * scripts' ends handed to common/hook.c, the reload and the stop as calls.
 *
 * Error convention: 0, or -1 with err[ERRLEN] naming the step. */
#ifndef IPHTTPS_SERVER_HELPER_H
#define IPHTTPS_SERVER_HELPER_H

#include "server/types.h"

/* Fork the helper (the children of the intranet start there); 0, or -1. */
int server_helper_start(struct server *s, char *err);
/* 1 while a helper runs (started and not gone). */
int server_helper_running(const struct server *s);
/* The configuration read again by the helper, into out (a server_cfg the
 * caller frees): 0, or -1 with err. */
int server_helper_reload(struct server *s, struct server_cfg *out, char *err);
/* The intranet's programs stopped and undone by the helper (bounded). */
void server_helper_intranet_stop(struct server *s);
/* At exit: close the channel, wait (bounded) for the helper to finish. */
void server_helper_end(struct server *s);
/* The helper's process: never returns. */
void server_helper_main(struct server *s) __attribute__((noreturn));

#endif
