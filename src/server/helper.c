/* The server's privileged helper, its process: see helper.h.  Runs in a
 * fork of the server made just before the drop; it uses the plan and the
 * configuration of that copy, never the daemon's word for a path or a
 * program. */
#include "server/helper.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cfgpack.h"
#include "common/helper.h"
#include "common/log.h"
#include "common/priv.h"
#include "server/intranet.h"

static struct helper H;
/* The configuration of the last reload (the scripts point into it). */
static struct server_cfg *trusted;

/* What the daemon was last told of each child. */
struct seen {
	int valid, state, has_status;
	pid_t pid;
	unsigned starts, restarts;
	time_t last_exit;
};
static struct seen seen[PS_CHILD_UNBOUND + 1];

static void use_cfg(const struct server_cfg *c)
{
	H.hook_timeout_ms = (unsigned)c->hook_timeout * 1000;
	H.script_for[PS_EV_CONNECT] = c->connect_script;
	H.script_for[PS_EV_DISCONNECT] = c->disconnect_script;
}

static void send_child(unsigned which, const struct proc *p)
{
	struct ps_out *o = malloc(sizeof(*o));

	if (!o)
		return;
	ps_begin(o, PS_CHILD_STATUS, 0);
	ps_put_u32(o, PT_WHICH, which);
	ps_put_u32(o, PT_STATE, (uint32_t)p->state);
	ps_put_u32(o, PT_PID, (uint32_t)p->pid);
	ps_put_u32(o, PT_STARTS, p->starts);
	ps_put_u32(o, PT_RESTARTS, p->restarts);
	ps_put_u64(o, PT_SINCE, (uint64_t)p->since);
	ps_put_u64(o, PT_LASTEXIT, (uint64_t)p->last_exit);
	ps_put_u32(o, PT_STATUS, (uint32_t)p->last_status);
	ps_put_u32(o, PT_HASSTATUS, (uint32_t)p->has_status);
	ps_put_u32(o, PT_BACKOFF, p->backoff_ms);
	ps_put_str(o, PT_TEXT, p->last_exit_text);
	ps_put_str(o, PT_LINE, p->last_line);
	helper_send(&H, o);
	free(o);
}

/* The child's state, if it changed since the daemon last heard. */
static void child_tick(unsigned which, const struct proc *p)
{
	struct seen now = { 1, (int)p->state, p->has_status, p->pid, p->starts, p->restarts, p->last_exit };

	if (!memcmp(&now, &seen[which], sizeof(now)))
		return;
	seen[which] = now;
	send_child(which, p);
}

static void tick(struct helper *hp, void *arg)
{
	struct server *s = arg;

	if (!s->in)
		return;
	if (s->in->nat64 && s->in->translator == XLAT_TAYGA)
		child_tick(PS_CHILD_TAYGA, &s->in->tayga);
	if (s->in->dns64)
		child_tick(PS_CHILD_UNBOUND, &s->in->unbound);
}

static void reload(struct helper *hp, const struct ps_msg *m)
{
	struct server_cfg *n = calloc(1, sizeof(*n));
	struct ps_out *o = malloc(sizeof(*o));
	char err[ERRLEN];

	if (!n || !o || server_cfg_reload(n, err) < 0) {
		helper_reply_failed(hp, m, n && o ? err : "out of memory");
		free(n);
		free(o);
		return;
	}
	ps_begin(o, PS_RELOADED, m->id);
	cfgpack_put(o, server_opts, n, &n->origin);
	ps_put_u32(o, PT_CFG_EXTRA, (uint32_t)n->null_enc_explicit);
	if (o->overflow) {
		helper_reply_failed(hp, m, "the configuration is larger than a message (64 KiB)");
		server_cfg_free(n);
		free(n);
	} else {
		helper_reply(hp, o, -1);
		use_cfg(n);
		if (trusted) {
			server_cfg_free(trusted);
			free(trusted);
		}
		trusted = n;
	}
	free(o);
}

static int op(struct helper *hp, const struct ps_msg *m, void *arg)
{
	struct server *s = arg;

	switch (m->type) {
	case PS_INTRANET_STOP:
		intranet_undo(s);
		tick(hp, s);
		helper_reply_done(hp, m);
		return 0;
	case PS_RELOAD:
		reload(hp, m);
		return 0;
	default:
		return -1;
	}
}

/* A child that could not even be started: shown to the daemon as an exit. */
static void start_failed(struct proc *p, const char *err)
{
	p->state = PROC_EXITED;
	p->has_status = 1;
	p->last_status = 127 << 8;
	p->last_exit = time(NULL);
	snprintf(p->last_exit_text, sizeof(p->last_exit_text), "could not be started");
	snprintf(p->last_line, sizeof(p->last_line), "%s", err);
}

void server_helper_main(struct server *s)
{
	struct server_cfg *c = s->cfg;
	uint64_t caps = 1ull << CAP_NET_ADMIN | intranet_caps(s);
	char err[ERRLEN];

	err[0] = 0;
	if (priv_helper(&c->run_as, 1, caps, caps, err) < 0 || ev_init(&s->ev) < 0 ||
	    helper_init(&H, &s->ev, 0, op, s) < 0) {
		log_errx("privsep: the server's helper: %s", err);
		_exit(1);
	}
	if (c->run_as.drop)
		H.user = (struct proc_user){ 1, c->run_as.uid, c->run_as.gid };
	use_cfg(c);
	if (s->in && intranet_run(s, &s->ev, err) < 0) {
		log_errx("%s", err);
		start_failed(s->in->dns64 && s->in->unbound.state != PROC_RUNNING ? &s->in->unbound
			     : &s->in->tayga, err);
	}
	tick(&H, s);
	helper_loop(&H, tick, s);
	intranet_undo(s);
	helper_finish(&H);
	if (trusted) {
		server_cfg_free(trusted);
		free(trusted);
	}
	exit(0);
}
