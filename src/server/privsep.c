/* The server's privileged helper, the daemon's side: see helper.h. */
#include "server/helper.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cfgpack.h"
#include "common/helper.h"
#include "common/log.h"
#include "server/intranet.h"

#define CALL_MS 30000           /* a reload, the intranet's stop */
#define END_MS 10000            /* the helper's own end after ours */

int server_helper_running(const struct server *s)
{
	return s->ps_h.fd >= 0;
}

static void helper_gone(struct server *s, const char *why)
{
	if (s->ps_h.fd < 0)
		return;
	log_errx("the privileged helper (pid %d): %s; the server stops", (int)s->helper_pid, why);
	ev_del(&s->ev, &s->ps_h);
	close(s->ps_h.fd);
	s->ps_h.fd = s->ps.fd = -1;
	hook_remote_lost(&s->hooks);
	s->helper_lost = 1;
	s->stopping = 1;
}

/* The state of one of the helper's children, mirrored for `state`. */
static void child_status(struct server *s, const struct ps_msg *m)
{
	uint32_t which = ps_u32(m, PT_WHICH, 0);
	struct proc *p;

	if (!s->in || (which != PS_CHILD_TAYGA && which != PS_CHILD_UNBOUND))
		return;
	p = which == PS_CHILD_TAYGA ? &s->in->tayga : &s->in->unbound;
	p->state = (enum proc_state)ps_u32(m, PT_STATE, PROC_IDLE);
	p->pid = (pid_t)ps_u32(m, PT_PID, 0);
	p->starts = ps_u32(m, PT_STARTS, 0);
	p->restarts = ps_u32(m, PT_RESTARTS, 0);
	p->since = (time_t)ps_u64(m, PT_SINCE, 0);
	p->last_exit = (time_t)ps_u64(m, PT_LASTEXIT, 0);
	p->last_status = (int)ps_u32(m, PT_STATUS, 0);
	p->has_status = (int)ps_u32(m, PT_HASSTATUS, 0);
	p->backoff_ms = ps_u32(m, PT_BACKOFF, 0);
	ps_str(m, PT_TEXT, 0, p->last_exit_text, sizeof(p->last_exit_text));
	ps_str(m, PT_LINE, 0, p->last_line, sizeof(p->last_line));
}

/* An event from the helper (also those that come during a call). */
static void event(void *arg, const struct ps_msg *m)
{
	struct server *s = arg;

	if (m->type == PS_SCRIPT_DONE)
		hook_remote_done(&s->hooks, m);
	else if (m->type == PS_CHILD_STATUS)
		child_status(s, m);
	else
		helper_gone(s, "it sent what it may not");
}

static void on_helper(struct evloop *ev, struct ev_handler *h, uint32_t events)
{
	struct server *s = (struct server *)((char *)h - offsetof(struct server, ps_h));
	struct ps_msg *m = malloc(sizeof(*m));
	char why[ERRLEN];

	for (int i = 0; m && i < 64 && s->ps_h.fd >= 0; i++) {
		ssize_t n = ps_recv(s->ps.fd, s->ps.in, sizeof(s->ps.in), NULL, 0);
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			helper_gone(s, n == 0 ? "it ended" : strerror(errno));
			break;
		}
		if (ps_parse(s->ps.in, (size_t)n, m, why) < 0 || m->id) {
			helper_gone(s, m->id ? "an answer nobody asked for" : why);
			break;
		}
		event(s, m);
	}
	free(m);
}

int server_helper_start(struct server *s, char *err)
{
	int fds[2];
	pid_t pid;

	if (ps_pair(fds) < 0) {
		snprintf(err, ERRLEN, "privsep: socketpair: %s", strerror(errno));
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	if ((pid = helper_fork(&fds[1], 1)) < 0) {
		snprintf(err, ERRLEN, "privsep: fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0)
		server_helper_main(s);
	close(fds[1]);
	s->helper_pid = pid;
	ps_chan_init(&s->ps, fds[0]);
	s->ps_h.fd = fds[0];
	s->ps_h.cb = on_helper;
	if (ev_add(&s->ev, &s->ps_h, EPOLLIN) < 0) {
		snprintf(err, ERRLEN, "privsep: watching the helper: %s", strerror(errno));
		return -1;
	}
	hook_remote(&s->hooks, &s->ps);
	log_info("privileged helper: pid %d (the intranet's programs, the scripts, reloads)", (int)pid);
	return 0;
}

/* A call to the helper; its reply in *m (malloc'ed, the caller frees):
 * 0, or -1 with err. */
static int call(struct server *s, unsigned type, struct ps_msg **m, char *err)
{
	struct ps_out *o = malloc(sizeof(*o));
	int rc = -1;

	*m = malloc(sizeof(**m));
	if (!o || !*m) {
		snprintf(err, ERRLEN, "out of memory");
	} else if (!server_helper_running(s)) {
		snprintf(err, ERRLEN, "the privileged helper is gone");
	} else {
		ps_begin(o, type, 0);
		rc = ps_call(&s->ps, o, *m, NULL, CALL_MS, event, s, err);
		if (rc < 0)
			helper_gone(s, err);
	}
	free(o);
	return rc;
}

int server_helper_reload(struct server *s, struct server_cfg *out, char *err)
{
	struct ps_msg *m;
	int rc = call(s, PS_RELOAD, &m, err);

	if (rc == 0 && m->type == PS_FAILED) {
		ps_str(m, PT_ERR, 0, err, ERRLEN);
		rc = -1;
	} else if (rc == 0 && m->type != PS_RELOADED) {
		helper_gone(s, "an answer of the wrong kind");
		snprintf(err, ERRLEN, "the privileged helper answered out of turn");
		rc = -1;
	} else if (rc == 0) {
		memset(out, 0, sizeof(*out));
		rc = cfgpack_get(m, server_opts, out, &out->origin, err);
		out->null_enc_explicit = (int)ps_u32(m, PT_CFG_EXTRA, 0);
		out->reloading = 1;
		if (rc < 0)
			server_cfg_free(out);
	}
	free(m);
	return rc;
}

void server_helper_intranet_stop(struct server *s)
{
	struct ps_msg *m;
	char err[ERRLEN];

	if (call(s, PS_INTRANET_STOP, &m, err) < 0 || m->type != PS_DONE)
		log_warnx("NAT64/DNS64: the helper could not take the intranet's programs away: %s", err);
	free(m);
}

void server_helper_end(struct server *s)
{
	uint64_t end = ev_now_ms() + END_MS;
	int st;

	if (s->ps_h.fd >= 0) {
		ev_del(&s->ev, &s->ps_h);
		close(s->ps_h.fd);
		s->ps_h.fd = s->ps.fd = -1;
	}
	if (s->helper_pid <= 0)
		return;
	while (waitpid(s->helper_pid, &st, WNOHANG) == 0) {
		struct timespec ts = { 0, 20 * 1000000L };
		if (ev_now_ms() >= end) {
			log_warnx("the privileged helper (pid %d) is still running %d s after the server; left",
				  (int)s->helper_pid, END_MS / 1000);
			return;
		}
		nanosleep(&ts, NULL);
	}
	s->helper_pid = 0;
}
