/* The privileged helper's process (common/privsep.h), the part that does
 * not depend on the role (server/helper.c adds the server's operations):
 *   - helper_fork(): the fork just before the daemon's drop; in the helper
 *     every descriptor but its channels and stdin/stdout/stderr is closed,
 *     SIGINT, SIGTERM and SIGHUP are ignored (a Ctrl-C or systemd's stop
 *     reaches the whole group: the helper outlives the daemon's shutdown to
 *     undo what it did, and ends when the daemon's end of the socket does);
 *   - its own event loop: requests from the daemon (parsed, then handed
 *     to the role), the end of the daemon (undo, exit);
 *   - the administrators' scripts: PS_RUN_SCRIPT runs the script the
 *     helper's own configuration names for that event (never a path from
 *     the daemon) with the daemon's IPHTTPS_* variables, each name checked,
 *     as the daemon's user with CAP_NET_ADMIN, stopped at the hook timeout;
 *     its end goes back as PS_SCRIPT_DONE.
 *
 * Error convention: helper_fork returns the pid (daemon), 0 (helper) or
 * -1 with errno; helper_send returns 0 or -1 (errno). */
#ifndef IPHTTPS_HELPER_H
#define IPHTTPS_HELPER_H

#include <sys/types.h>
#include <unistd.h>

#include "common/privsep.h"
#include "common/proc.h"
#include "net/evloop.h"

#define HELPER_SCRIPTS_MAX 16           /* the daemon's HOOK_MAX_RUNNING */

struct helper;
/* A request for the role (scripts are handled before); returns -1 when
 * the message is one the role does not take (the helper then ends). */
typedef int (*helper_op_fn)(struct helper *hp, const struct ps_msg *m, void *arg);

struct helper_script {
	struct proc p;
	struct helper *hp;
	uint32_t id;
	char name[64], path[PS_STR_MAX];
	char *env[PROC_MAX_ENV];
};

struct helper {
	struct evloop *ev;              /* the role's loop (made anew in the helper) */
	struct ps_chan ch;              /* to the daemon */
	struct ev_handler ch_h;
	int file_fd;                    /* the client's file channel (PS_OPEN only), or -1 */
	struct ev_handler file_h;
	int reply_fd;                   /* where the request being handled came from */
	int done;                       /* the daemon ended, or sent what it may not */
	helper_op_fn op;
	void *arg;
	/* scripts: what runs them, for how long, the paths of the events */
	struct helper_script *scripts[HELPER_SCRIPTS_MAX];
	struct proc_user user;
	unsigned hook_timeout_ms;
	const char *script_for[PS_EV_DOWN + 1]; /* the configured path per ps_event, or NULL */
	uint8_t in[PS_MSG_MAX];
};

/* Fork the helper.  keep[0..n) are the helper's channel ends (moved to
 * descriptors 3, 4, ... in the helper, in that order). */
pid_t helper_fork(const int *keep, unsigned n);
/* In the helper, after the fork: its loop ev (ev_init'ed by the caller)
 * on descriptor 3, and 4 as the file channel when with_file (PS_OPEN
 * there, nowhere else). */
int helper_init(struct helper *hp, struct evloop *ev, int with_file, helper_op_fn op, void *arg);
/* Run until the daemon's end (hp->done); tick (may be NULL) after each
 * turn of the loop. */
void helper_loop(struct helper *hp, void (*tick)(struct helper *hp, void *arg), void *arg);
/* At the end: stop the scripts still running (bounded), close. */
void helper_finish(struct helper *hp);
/* To the daemon: an event on the main channel, or the reply to the request
 * being handled on its channel (with pass_fd when >= 0). */
int helper_send(struct helper *hp, const struct ps_out *o);
int helper_reply(struct helper *hp, const struct ps_out *o, int pass_fd);
/* PS_DONE / PS_FAILED (with why) for request m. */
void helper_reply_done(struct helper *hp, const struct ps_msg *m);
void helper_reply_failed(struct helper *hp, const struct ps_msg *m, const char *why);

#endif
