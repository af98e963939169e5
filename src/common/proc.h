/* Child processes run and watched from an event loop, never blocking it.
 *
 * A struct proc is one program the daemon runs: a translator, a resolver,
 * a script.  The caller fills in the public fields and calls proc_start();
 * from then on the event loop does the rest through three descriptors of
 * the proc's own (a pidfd that becomes readable when the child exits, a
 * pipe carrying its stdout and stderr, a timerfd for restarts and for the
 * SIGKILL after a SIGTERM), so no SIGCHLD handler and no tick are needed:
 *   - the child starts with a clean environment (PATH, LANG=C.UTF-8 and the
 *     caller's env entries), stdin from /dev/null or the caller's fd, no
 *     other descriptor, default signals, its own session, SIGTERM when the
 *     daemon dies (PR_SET_PDEATHSIG), and the ambient capabilities asked
 *     for (only those the daemon still holds);
 *   - each line it prints is logged with its name and kept as its last
 *     words for the status;
 *   - with restart set, a child that exits is started again after a backoff
 *     that doubles from backoff_min_ms to backoff_max_ms and starts afresh
 *     once a child ran for PROC_STABLE_MS;
 *   - proc_stop() sends SIGTERM and SIGKILL after stop_timeout_ms, to the
 *     child's whole process group (it leads its own session), so that what
 *     a script started goes too;
 *   - with run_timeout_ms (one-shot procs: scripts), a child still running
 *     then is stopped that way and timed_out is set.
 * on_exit (optional) is called from the loop after each exit, with the
 * wait status; it may call proc_stop() or proc_start() (one-shot uses).
 *
 * A proc must stay at one address from proc_start() to proc_release().
 * Everything runs in the loop's thread; fork happens there too, so that
 * PR_SET_PDEATHSIG follows the loop's thread (the process's main thread).
 *
 * Error convention: 0 on success, -1 with a message in err[ERRLEN] naming
 * the program and the step. proc_run_sync returns the wait status. */
#ifndef IPHTTPS_PROC_H
#define IPHTTPS_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "common/errbuf.h"
#include "net/evloop.h"

#define PROC_MAX_ARGS 32
#define PROC_MAX_ENV 24
#define PROC_LINE 256
#define PROC_STABLE_MS 30000
/* The environment's PATH when the daemon has none. */
#define PROC_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

enum proc_state {
	PROC_IDLE = 0,      /* never started, or stopped on request */
	PROC_RUNNING,
	PROC_WAITING,       /* exited; started again when the backoff ends */
	PROC_STOPPING,      /* SIGTERM sent, SIGKILL at the deadline */
	PROC_EXITED,        /* exited and not to be restarted */
};

struct proc;
typedef void (*proc_exit_fn)(struct proc *p, int wstatus, void *arg);

/* Who the child runs as: set, another user than the daemon's now (the
 * daemon's own user later, so that it can still signal the child after it
 * gave up root). */
struct proc_user {
	int set;
	uid_t uid;
	gid_t gid;
};

struct proc {
	/* Set by the caller before proc_start(). */
	const char *name;               /* for the log and the status */
	char *argv[PROC_MAX_ARGS];      /* argv[0]: a path, or a name looked up in PATH */
	char *env[PROC_MAX_ENV];        /* "KEY=VALUE" added to the clean environment */
	int stdin_fd;                   /* -1 (or 0 when never set): /dev/null */
	int restart;                    /* restart with backoff when it exits */
	uint64_t caps;                  /* 1 << CAP_x: ambient capabilities for the child */
	struct proc_user user;          /* run as this user (caps kept as ambient) */
	unsigned backoff_min_ms, backoff_max_ms, stop_timeout_ms; /* 0: 1000, 60000, 5000 */
	unsigned run_timeout_ms;        /* 0: none; else stopped when still running then */
	proc_exit_fn on_exit;
	void *arg;
	/* Kept by proc.c; read them for the status. */
	enum proc_state state;
	pid_t pid;
	unsigned starts;                /* successful forks */
	unsigned restarts;              /* of them, restarts after an exit */
	int last_status, has_status;    /* wait status of the last exit */
	time_t since, last_exit;        /* wall clock of the last start and exit */
	char last_line[PROC_LINE];      /* the last line it printed */
	char last_exit_text[96];        /* "exited with status 1", "killed by signal 9" */
	int timed_out;                  /* the last run was stopped at run_timeout_ms */
	/* Internal. */
	struct evloop *ev;
	struct ev_handler pid_h, out_h, tmr_h;
	unsigned backoff_ms;
	uint64_t started_ms;
	char path[512];
	char buf[PROC_LINE];
	size_t buf_len;
};

/* Start p (fills the internal fields first). 0, or -1 with err when the
 * program cannot be found, forked or watched; an exec failure shows as an
 * exit with status 127 and the reason as its last line. */
int proc_start(struct evloop *ev, struct proc *p, char *err);
/* SIGTERM now, SIGKILL after stop_timeout_ms; no restart. A proc that is
 * waiting to restart just stops waiting. */
void proc_stop(struct proc *p);
/* For shutdown, outside the loop: SIGTERM, wait up to timeout_ms, SIGKILL,
 * reap; then the descriptors are closed. Safe on a proc never started. */
void proc_stop_wait(struct proc *p, int timeout_ms);
/* Close the descriptors of a proc that has no child any more (after
 * proc_stop_wait, or in PROC_EXITED/PROC_IDLE); nothing for a zeroed proc
 * never started. */
void proc_release(struct proc *p);
/* One line for `state`: "running (pid 123, since ..., 2 restarts; last exit:
 * killed by signal 9 at ...)". */
void proc_describe(const struct proc *p, char *out, size_t len);
/* "exited with status N" / "killed by signal N (NAME)" for a wait status. */
void proc_status_text(int wstatus, char *out, size_t len);
/* Find an executable: name with a '/' is taken as it is; otherwise each
 * directory of $PATH (PROC_DEFAULT_PATH when unset).  0 with out filled, or
 * -1. */
int proc_find_program(const char *name, char *out, size_t len);
/* Run argv to completion outside any loop (set-up and shutdown steps):
 * input (may be NULL) on its stdin, stdout and stderr into out (up to
 * outlen - 1 bytes, NUL-terminated), clean environment as above, killed
 * after timeout_ms.  Returns the wait status, or -1 with err when it could
 * not be started or timed out. */
int proc_run_sync(char *const argv[], const char *input, int timeout_ms, char *out,
		  size_t outlen, char *err);
/* The same, the child given the ambient capabilities caps (as proc.caps):
 * a daemon that runs as another user since its setup undoing it. */
int proc_run_sync_caps(char *const argv[], const char *input, int timeout_ms, uint64_t caps,
		       char *out, size_t outlen, char *err);

#endif
