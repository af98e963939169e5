/* The privileged helper's process: see helper.h. */
#include "common/helper.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"

#define CONTAINER(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

static const char *const event_names[] = {
	[PS_EV_CONNECT] = "connect", [PS_EV_DISCONNECT] = "disconnect", [PS_EV_UP] = "up",
	[PS_EV_DOWN] = "down",
};

pid_t helper_fork(const int *keep, unsigned n)
{
	pid_t pid = fork();
	int high[4];

	if (pid != 0 || n > 4)
		return pid;
	/* Above the targets 3 .. 3 + n - 1 (not at a fixed 1000: a descriptor
	 * limit of 1000 or less made that fail and the helper exit), then
	 * down to 3, 4, ... */
	for (unsigned i = 0; i < n; i++)
		if ((high[i] = fcntl(keep[i], F_DUPFD_CLOEXEC, 3 + (int)n)) < 0)
			_exit(1);
	for (unsigned i = 0; i < n; i++)
		if (dup3(high[i], 3 + (int)i, O_CLOEXEC) < 0)
			_exit(1);
	if (syscall(SYS_close_range, 3U + n, ~0U, 0U) < 0)
		for (int fd = 3 + (int)n; fd < 65536; fd++)
			close(fd);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* ---- scripts ---- */

static void script_free(struct helper_script *sc)
{
	for (unsigned i = 0; i < PROC_MAX_ENV && sc->env[i]; i++)
		free(sc->env[i]);
	free(sc);
}

static void script_exited(struct proc *p, int st, void *arg)
{
	struct helper_script *sc = arg;
	struct helper *hp = sc->hp;
	struct ps_out *o = malloc(sizeof(*o));

	if (o) {
		ps_begin(o, PS_SCRIPT_DONE, 0);
		ps_put_u32(o, PT_ID, sc->id);
		ps_put_u32(o, PT_STATUS, (uint32_t)st);
		ps_put_u32(o, PT_TIMEDOUT, (uint32_t)p->timed_out);
		ps_put_str(o, PT_TEXT, p->last_exit_text);
		ps_put_str(o, PT_LINE, p->last_line);
		helper_send(hp, o);
		free(o);
	}
	for (unsigned i = 0; i < HELPER_SCRIPTS_MAX; i++)
		if (hp->scripts[i] == sc)
			hp->scripts[i] = NULL;
	proc_release(p);
	script_free(sc);
}

/* "IPHTTPS_NAME=value" with NAME of capitals, digits and '_', never
 * IPHTTPS_EVENT (the helper sets it). */
static int env_ok(const char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t n;

	if (!eq || strncmp(kv, "IPHTTPS_", 8) || (n = (size_t)(eq - kv)) <= 8 || n > 48 ||
	    !strncmp(kv, "IPHTTPS_EVENT=", 14))
		return 0;
	for (const char *p = kv + 8; p < eq; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return 0;
	return 1;
}

/* The script's job from m, checked: NULL with why. */
static struct helper_script *script_from(struct helper *hp, const struct ps_msg *m, char *why)
{
	uint32_t ev = ps_u32(m, PT_EVENT, 0);
	struct helper_script *sc;
	size_t n = ps_count(m, PT_ENV);
	char kv[PS_STR_MAX + 1];

	if (ev < PS_EV_CONNECT || ev > PS_EV_DOWN || !hp->script_for[ev]) {
		snprintf(why, ERRLEN, "no script is configured for event %u", ev);
		return NULL;
	}
	if (n > PROC_MAX_ENV - 2 || !(sc = calloc(1, sizeof(*sc)))) {
		snprintf(why, ERRLEN, "%zu variables", n);
		return NULL;
	}
	sc->id = ps_u32(m, PT_ID, 0);
	ps_str(m, PT_NAME, 0, sc->name, sizeof(sc->name));
	snprintf(sc->path, sizeof(sc->path), "%s", hp->script_for[ev]);
	for (size_t i = 0; i < n; i++) {
		ps_str(m, PT_ENV, i, kv, sizeof(kv));
		if (!env_ok(kv) || !(sc->env[i] = strdup(kv))) {
			snprintf(why, ERRLEN, "variable %zu is not IPHTTPS_NAME=value", i);
			script_free(sc);
			return NULL;
		}
	}
	if (asprintf(&sc->env[n], "IPHTTPS_EVENT=%s", event_names[ev]) < 0)
		sc->env[n] = NULL;
	return sc;
}

/* PS_RUN_SCRIPT: -1 for a request the daemon may not make. */
static int run_script(struct helper *hp, const struct ps_msg *m)
{
	char why[ERRLEN], err[ERRLEN];
	struct helper_script *sc;
	unsigned slot = HELPER_SCRIPTS_MAX;

	for (unsigned i = 0; i < HELPER_SCRIPTS_MAX; i++) {
		if (hp->scripts[i] && hp->scripts[i]->id == ps_u32(m, PT_ID, 0))
			slot = HELPER_SCRIPTS_MAX + 1;  /* that job runs already */
		else if (!hp->scripts[i] && slot == HELPER_SCRIPTS_MAX)
			slot = i;
	}
	if (slot >= HELPER_SCRIPTS_MAX || !(sc = script_from(hp, m, why))) {
		if (slot >= HELPER_SCRIPTS_MAX)
			snprintf(why, ERRLEN, "job %u: a duplicate or a 17th script at once", ps_u32(m, PT_ID, 0));
		log_warnx("privsep: a script request the helper refuses: %s", why);
		return -1;
	}
	sc->hp = hp;
	sc->p.name = sc->name;
	sc->p.argv[0] = sc->path;
	memcpy(sc->p.env, sc->env, sizeof(sc->env));
	sc->p.run_timeout_ms = hp->hook_timeout_ms;
	sc->p.stop_timeout_ms = 2000;
	sc->p.caps = 1ULL << CAP_NET_ADMIN;     /* firewall rules, routes */
	sc->p.user = hp->user;
	sc->p.on_exit = script_exited;
	sc->p.arg = sc;
	hp->scripts[slot] = sc;
	if (proc_start(hp->ev, &sc->p, err) < 0) {
		/* reported as an exit: 127 and why */
		snprintf(sc->p.last_line, sizeof(sc->p.last_line), "%s", err);
		snprintf(sc->p.last_exit_text, sizeof(sc->p.last_exit_text), "cannot be run");
		script_exited(&sc->p, 127 << 8, sc);
	}
	return 0;
}

static void stop_script(struct helper *hp, uint32_t id)
{
	for (unsigned i = 0; i < HELPER_SCRIPTS_MAX; i++)
		if (hp->scripts[i] && hp->scripts[i]->id == id)
			proc_stop(&hp->scripts[i]->p);
}

/* ---- the loop ---- */

int helper_send(struct helper *hp, const struct ps_out *o)
{
	if (ps_send(hp->ch.fd, o, -1) < 0) {
		hp->done = 1;
		return -1;
	}
	return 0;
}

int helper_reply(struct helper *hp, const struct ps_out *o, int pass_fd)
{
	if (ps_send(hp->reply_fd, o, pass_fd) < 0) {
		hp->done = 1;
		return -1;
	}
	return 0;
}

void helper_reply_done(struct helper *hp, const struct ps_msg *m)
{
	struct ps_out o;

	ps_begin(&o, PS_DONE, m->id);
	helper_reply(hp, &o, -1);
}

void helper_reply_failed(struct helper *hp, const struct ps_msg *m, const char *why)
{
	struct ps_out o;

	ps_begin(&o, PS_FAILED, m->id);
	ps_put_str(&o, PT_ERR, why && *why ? why : "failed");
	helper_reply(hp, &o, -1);
}

/* One request from fd: -1 when the daemon is gone or out of line. */
static int take_request(struct helper *hp, int fd)
{
	struct ps_msg *m = malloc(sizeof(*m));
	char why[ERRLEN];
	ssize_t n = ps_recv(fd, hp->in, sizeof(hp->in), NULL, 0);
	int rc = -1;

	if (!m || n < 0) {
		if (m && errno == EAGAIN)
			rc = 0;
		else if (m)
			log_warnx("privsep: from the daemon: %s; the helper stops", strerror(errno));
		goto out;
	}
	if (n == 0)
		goto out;       /* the daemon ended */
	if (ps_parse(hp->in, (size_t)n, m, why) < 0) {
		log_warnx("privsep: a malformed message from the daemon (%s); the helper stops", why);
		goto out;
	}
	hp->reply_fd = fd;
	if (m->type == PS_RUN_SCRIPT)
		rc = run_script(hp, m);
	else if (m->type == PS_STOP_SCRIPT)
		stop_script(hp, ps_u32(m, PT_ID, 0)), rc = 0;
	else if ((fd == hp->file_fd) != (m->type == PS_OPEN))
		log_warnx("privsep: %s on the wrong channel; the helper stops", ps_type_name(m->type));
	else
		rc = hp->op(hp, m, hp->arg);
	if (rc < 0 && n > 0)
		log_warnx("privsep: the daemon asked what the helper does not do (%s); the helper stops",
			  ps_type_name(m->type));
out:
	free(m);
	return rc;
}

static void on_chan(struct evloop *ev, struct ev_handler *h, uint32_t events)
{
	struct helper *hp = CONTAINER(h, struct helper, ch_h);

	if (take_request(hp, h->fd) < 0)
		hp->done = 1;
}

static void on_file(struct evloop *ev, struct ev_handler *h, uint32_t events)
{
	struct helper *hp = CONTAINER(h, struct helper, file_h);

	if (take_request(hp, h->fd) < 0)
		hp->done = 1;
}

int helper_init(struct helper *hp, struct evloop *ev, int with_file, helper_op_fn op, void *arg)
{
	hp->ev = ev;
	hp->op = op;
	hp->arg = arg;
	hp->file_fd = -1;
	ps_chan_init(&hp->ch, 3);
	hp->ch_h.fd = 3;
	hp->ch_h.cb = on_chan;
	if (ev_add(hp->ev, &hp->ch_h, EPOLLIN) < 0)
		return -1;
	if (with_file) {
		hp->file_fd = hp->file_h.fd = 4;
		hp->file_h.cb = on_file;
		if (ev_add(hp->ev, &hp->file_h, EPOLLIN) < 0)
			return -1;
	}
	return 0;
}

void helper_loop(struct helper *hp, void (*tick)(struct helper *hp, void *arg), void *arg)
{
	while (!hp->done) {
		if (ev_run_once(hp->ev, 1000) < 0 && errno != EINTR)
			break;
		hp->ev->stop = 0;
		if (tick)
			tick(hp, arg);
	}
}

void helper_finish(struct helper *hp)
{
	uint64_t end;

	for (unsigned i = 0; i < HELPER_SCRIPTS_MAX; i++)
		if (hp->scripts[i]) {
			log_warnx("%s: %s still running as the daemon ends; stopping it", hp->scripts[i]->name,
				  hp->scripts[i]->path);
			proc_stop(&hp->scripts[i]->p);
		}
	/* SIGKILL follows SIGTERM after the scripts' stop_timeout_ms. */
	end = ev_now_ms() + 4000;
	for (;;) {
		unsigned live = 0;
		for (unsigned i = 0; i < HELPER_SCRIPTS_MAX; i++)
			live += hp->scripts[i] != NULL;
		if (!live || ev_now_ms() >= end)
			break;
		ev_run_once(hp->ev, 100);
	}
	close(hp->ch.fd);
	if (hp->file_fd >= 0)
		close(hp->file_fd);
}
