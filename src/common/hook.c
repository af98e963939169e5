/* Administrators' scripts on events: see hook.h. */
#include "common/hook.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"

struct hook_job {
	struct proc p;
	char name[64], script[512];
	char *env[PROC_MAX_ENV];
	unsigned n_env;
	struct hooks *h;
	hook_done_fn done;
	void *arg;
	struct hook_job *then;          /* runs after this one, if it succeeds */
	struct hook_job *next;          /* in the queue */
	struct hook_job *live_prev, *live_next;
	uint32_t id;                    /* with a remote runner */
	int event;                      /* enum ps_event */
};

static void start(struct hooks *h, struct hook_job *j);

int hook_check_script(const char *path, char *err)
{
	struct stat st;

	if (path[0] != '/') {
		snprintf(err, ERRLEN, "%s: give the script's absolute path", path);
		return -1;
	}
	if (stat(path, &st) < 0) {
		snprintf(err, ERRLEN, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode) || access(path, X_OK) < 0) {
		snprintf(err, ERRLEN, "%s: not an executable file (chmod +x?)", path);
		return -1;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, ERRLEN, "%s: others may change it (mode %04o) and it runs with the "
			 "daemon's privileges: chmod go-w %s", path, (unsigned)(st.st_mode & 07777), path);
		return -1;
	}
	return 0;
}

void hooks_init(struct hooks *h, struct evloop *ev, unsigned timeout_ms, struct hook_stats *st)
{
	memset(h, 0, sizeof(*h));
	h->ev = ev;
	h->timeout_ms = timeout_ms;
	h->st = st;
}

struct hook_job *hook_new(const char *script, const char *event, const char *name)
{
	struct hook_job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	snprintf(j->name, sizeof(j->name), "%s", name);
	snprintf(j->script, sizeof(j->script), "%s", script);
	j->event = !strcmp(event, "connect") ? PS_EV_CONNECT : !strcmp(event, "disconnect") ? PS_EV_DISCONNECT
		 : !strcmp(event, "up") ? PS_EV_UP : PS_EV_DOWN;
	hook_env(j, "IPHTTPS_EVENT", "%s", event);
	return j;
}

void hook_env(struct hook_job *j, const char *key, const char *fmt, ...)
{
	char *v = NULL, *kv = NULL;
	va_list ap;

	if (j->n_env >= PROC_MAX_ENV - 1)
		return;
	va_start(ap, fmt);
	if (vasprintf(&v, fmt, ap) < 0)
		v = NULL;
	va_end(ap);
	if (v && asprintf(&kv, "%s=%s", key, v) > 0)
		j->env[j->n_env++] = kv;
	free(v);
}

/* j and the jobs chained after it (never started). */
static void job_free(struct hook_job *j)
{
	while (j) {
		struct hook_job *then = j->then;
		for (unsigned i = 0; i < j->n_env; i++)
			free(j->env[i]);
		free(j);
		j = then;
	}
}

static void live_unlink(struct hooks *h, struct hook_job *j)
{
	if (j->live_prev)
		j->live_prev->live_next = j->live_next;
	else if (h->live == j)
		h->live = j->live_next;
	if (j->live_next)
		j->live_next->live_prev = j->live_prev;
	j->live_prev = j->live_next = NULL;
}

/* The job ended (or never started): report, chain, free, start a waiter. */
static void finish(struct hooks *h, struct hook_job *j, int ok)
{
	struct hook_job *then = j->then;

	j->then = NULL;
	if (j->done)
		j->done(j, ok, j->arg);
	if (then) {
		if (ok && !h->draining)
			hook_submit(h, then, then->done, then->arg);
		else {
			log_info("%s: not run, %s %s", then->name, j->name,
				 h->draining ? "was stopped at shutdown" : "failed");
			job_free(then);
		}
	}
	job_free(j);
	while (h->head && h->running < HOOK_MAX_RUNNING && !h->draining) {
		struct hook_job *w = h->head;
		h->head = w->next;
		if (!h->head)
			h->tail = NULL;
		h->queued--;
		start(h, w);
	}
}

/* The script of j ended (p says how: here, or as the helper said). */
static void ended(struct hooks *h, struct hook_job *j, struct proc *p, int st)
{
	int ok = !p->timed_out && WIFEXITED(st) && WEXITSTATUS(st) == 0;

	h->running--;
	live_unlink(h, j);
	if (p->timed_out) {
		h->st->timed_out++;
		log_warnx("%s: %s did not end within %u ms: stopped (%s)", j->name, j->script,
			  h->timeout_ms, p->last_exit_text);
	} else if (!ok) {
		h->st->failed++;
		log_warnx("%s: %s %s%s%s", j->name, j->script, p->last_exit_text,
			  p->last_line[0] ? ": " : "", p->last_line);
	} else {
		h->st->succeeded++;
		log_info("%s: %s done", j->name, j->script);
	}
	if (!h->remote)
		proc_release(p);
	finish(h, j, ok);
}

static void on_exit_cb(struct proc *p, int st, void *arg)
{
	struct hook_job *j = arg;

	ended(j->h, j, p, st);
}

/* The helper runs j: PS_RUN_SCRIPT with its id, event, name and
 * variables (IPHTTPS_EVENT is the helper's own).  0, or -1 with err. */
static int remote_start(struct hooks *h, struct hook_job *j, char *err)
{
	struct ps_out *o = malloc(sizeof(*o));
	int rc;

	if (!o) {
		snprintf(err, ERRLEN, "out of memory");
		return -1;
	}
	if (!++h->next_id)
		h->next_id = 1;
	j->id = h->next_id;
	ps_begin(o, PS_RUN_SCRIPT, 0);
	ps_put_u32(o, PT_ID, j->id);
	ps_put_u32(o, PT_EVENT, (uint32_t)j->event);
	ps_put_str(o, PT_NAME, j->name);
	for (unsigned i = 0; i < j->n_env; i++)
		if (strncmp(j->env[i], "IPHTTPS_EVENT=", 14))
			ps_put_str(o, PT_ENV, j->env[i]);
	rc = ps_send(h->remote->fd, o, -1);
	if (rc < 0)
		snprintf(err, ERRLEN, "the privileged helper: %s", strerror(errno));
	free(o);
	return rc;
}

static void start(struct hooks *h, struct hook_job *j)
{
	char err[ERRLEN];

	memset(&j->p, 0, sizeof(j->p));
	j->p.name = j->name;
	j->p.argv[0] = j->script;
	for (unsigned i = 0; i < j->n_env; i++)
		j->p.env[i] = j->env[i];
	j->p.run_timeout_ms = h->timeout_ms;
	j->p.stop_timeout_ms = 2000;
	j->p.caps = 1ULL << CAP_NET_ADMIN;  /* firewall rules, routes */
	j->p.on_exit = on_exit_cb;
	j->p.arg = j;
	j->h = h;
	h->st->started++;
	if (h->remote ? remote_start(h, j, err) < 0 : proc_start(h->ev, &j->p, err) < 0) {
		h->st->failed++;
		log_warnx("%s: %s cannot be run: %s", j->name, j->script, err);
		if (!h->remote)
			proc_release(&j->p);
		finish(h, j, 0);
		return;
	}
	h->running++;
	j->live_next = h->live;
	if (h->live)
		h->live->live_prev = j;
	h->live = j;
}

void hook_submit(struct hooks *h, struct hook_job *j, hook_done_fn done, void *arg)
{
	j->done = done;
	j->arg = arg;
	j->h = h;
	if (h->running < HOOK_MAX_RUNNING) {
		start(h, j);
		return;
	}
	if (h->queued >= HOOK_MAX_QUEUED) {
		h->st->dropped++;
		log_warnx("%s: %u scripts already wait; %s not run", j->name, h->queued, j->script);
		j->done = NULL;
		if (done)
			done(j, 0, arg);
		job_free(j);
		return;
	}
	j->next = NULL;
	if (h->tail)
		h->tail->next = j;
	else
		h->head = j;
	h->tail = j;
	h->queued++;
}

void hook_after(struct hook_job *first, struct hook_job *j)
{
	struct hook_job *last = first;

	while (last->then)
		last = last->then;
	last->then = j;
}

void hook_forget(struct hook_job *j)
{
	j->done = NULL;
	j->arg = NULL;
}

/* Run the loop until no script runs (nor waits, with queue) or end. */
static void run_until_idle(struct hooks *h, uint64_t end, int queue)
{
	uint64_t now;

	while ((h->running || (queue && h->queued)) && (now = ev_now_ms()) < end)
		ev_run_once(h->ev, (int)(end - now));
}

void hooks_drain(struct hooks *h, int timeout_ms)
{
	run_until_idle(h, ev_now_ms() + (uint64_t)timeout_ms, 1);
	h->draining = 1;
	while (h->head) {
		struct hook_job *j = h->head;
		h->head = j->next;
		h->st->dropped++;
		log_warnx("%s: %s not run: shutting down", j->name, j->script);
		job_free(j);
	}
	h->tail = NULL;
	h->queued = 0;
	for (struct hook_job *j = h->live; j; j = j->live_next) {
		log_warnx("%s: %s still running at shutdown; stopping it", j->name, j->script);
		if (h->remote) {
			struct ps_out o;
			ps_begin(&o, PS_STOP_SCRIPT, 0);
			ps_put_u32(&o, PT_ID, j->id);
			ps_send(h->remote->fd, &o, -1);
		} else {
			proc_stop(&j->p);
		}
	}
	/* SIGKILL follows SIGTERM after the jobs' stop_timeout_ms. */
	run_until_idle(h, ev_now_ms() + 3000, 0);
}

void hook_remote(struct hooks *h, struct ps_chan *ch)
{
	h->remote = ch;
}

void hook_remote_done(struct hooks *h, const struct ps_msg *m)
{
	uint32_t id = ps_u32(m, PT_ID, 0);
	struct hook_job *j;

	for (j = h->live; j && j->id != id; j = j->live_next)
		;
	if (!j)
		return;         /* stopped at shutdown already, or not ours */
	j->p.timed_out = (int)ps_u32(m, PT_TIMEDOUT, 0);
	ps_str(m, PT_TEXT, 0, j->p.last_exit_text, sizeof(j->p.last_exit_text));
	ps_str(m, PT_LINE, 0, j->p.last_line, sizeof(j->p.last_line));
	ended(h, j, &j->p, (int)ps_u32(m, PT_STATUS, 0));
}

void hook_remote_lost(struct hooks *h)
{
	/* (h->remote stays: what is submitted later fails to reach it, and
	 * nothing ever runs in the daemon) */
	h->draining = 1;
	while (h->live) {
		struct hook_job *j = h->live;
		snprintf(j->p.last_exit_text, sizeof(j->p.last_exit_text), "lost with the privileged helper");
		j->p.last_line[0] = 0;
		j->p.timed_out = 0;
		ended(h, j, &j->p, 127 << 8);
	}
}
