/* Administrators' scripts run on events: the server's --connect-script and
 * --disconnect-script, the client's --up-script and --down-script (as
 * ocserv's connect-script and wg-quick's PostUp/PostDown), for firewall rules
 * and accounting.  A script runs as a child (proc.h) with the event's facts
 * in its environment (IPHTTPS_*), CAP_NET_ADMIN if the daemon still has it,
 * and is never waited for by the loop; one that hangs is stopped after the
 * timeout, with what it started.  At most HOOK_MAX_RUNNING run at once; the
 * rest wait in a queue of HOOK_MAX_QUEUED (beyond, the event is dropped).
 * Every outcome is logged and counted; what it means for a connection is the
 * caller's choice (--hook-fatal).
 *
 * Once the daemon gave up its privileges it runs no program itself: its
 * privileged helper does (common/helper.h) after hook_remote(); the queue,
 * the chaining, the counting and the log stay here, the helper starts the
 * script its own configuration names for the event and reports its end
 * (hook_remote_done).
 *
 * A job belongs to the hook layer once submitted: it is freed after its end
 * (after done is called).  Error convention: none; failures are outcomes. */
#ifndef IPHTTPS_HOOK_H
#define IPHTTPS_HOOK_H

#include <stdint.h>

#include "common/privsep.h"
#include "common/proc.h"

#define HOOK_MAX_RUNNING 16
#define HOOK_MAX_QUEUED 4096

struct hook_stats {
	uint64_t started, succeeded, failed, timed_out, dropped;
};

struct hook_job;
/* ok: the script exited with status 0 in time. */
typedef void (*hook_done_fn)(struct hook_job *j, int ok, void *arg);

struct hooks {
	struct evloop *ev;
	unsigned timeout_ms;
	unsigned running, queued;
	struct hook_job *head, *tail;   /* waiting for a slot */
	struct hook_job *live;          /* running, for the shutdown */
	struct hook_stats *st;
	int draining;                   /* shutting down: nothing new starts */
	struct ps_chan *remote;         /* the helper that runs them, or NULL: here */
	uint32_t next_id;
};

/* A script the daemon may run: a regular executable file that only its
 * owner may change (it runs with the daemon's privileges).  0, or -1 with
 * err[ERRLEN] saying what is wrong. */
int hook_check_script(const char *path, char *err);
void hooks_init(struct hooks *h, struct evloop *ev, unsigned timeout_ms, struct hook_stats *st);
/* A job running script for event ("connect", "up", ...; in IPHTTPS_EVENT);
 * name labels its log lines.  NULL when out of memory. */
struct hook_job *hook_new(const char *script, const char *event, const char *name);
/* KEY=VALUE into its environment (at most PROC_MAX_ENV - 1 of them). */
void hook_env(struct hook_job *j, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Run j now or when a slot frees.  done (may be NULL) is called once from
 * the loop with the outcome, possibly before hook_submit returns (a script
 * that cannot be started). */
void hook_submit(struct hooks *h, struct hook_job *j, hook_done_fn done, void *arg);
/* Run j once first has ended, if first succeeded (a disconnect script after
 * its connect script); first may be waiting or running. */
void hook_after(struct hook_job *first, struct hook_job *j);
/* Its owner is gone: done will not be called (it still runs to its end). */
void hook_forget(struct hook_job *j);
/* At shutdown: let the queued and running scripts end, at most timeout_ms
 * (then they are stopped). */
void hooks_drain(struct hooks *h, int timeout_ms);
/* From now on the helper on ch runs the scripts. */
void hook_remote(struct hooks *h, struct ps_chan *ch);
/* The helper's PS_SCRIPT_DONE. */
void hook_remote_done(struct hooks *h, const struct ps_msg *m);
/* The helper is gone: every job it ran ends as failed. */
void hook_remote_lost(struct hooks *h);

#endif
