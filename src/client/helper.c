/* The client's privileged helper: see helper.h.  The helper's process
 * and the daemon's side of the channel. */
#include "client/helper.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/helper.h"
#include "common/log.h"
#include "common/priv.h"
#include "wire/nd.h"

#define SHUTDOWN_CALL_MS 20000  /* dns.c takes at most 15 s */
#define RELOAD_CALL_MS 10000
#define OPEN_CALL_MS 10000
#define END_MS 10000

/* ---- the helper's process ---- */

static struct helper H;
static struct client_cfg *trusted;      /* its configuration after a reload */
static struct client_cfg *previous;     /* the one before (attempts in flight use it) */

/* What the daemon was last told of the DNS. */
static struct { int valid, mech, applied, split, busy; char note[256]; } told;

static void use_cfg(const struct client_cfg *cfg)
{
	H.hook_timeout_ms = (unsigned)cfg->hook_timeout * 1000;
	H.script_for[PS_EV_UP] = cfg->up_script;
	H.script_for[PS_EV_DOWN] = cfg->down_script;
}

static void tick(struct helper *hp, void *arg)
{
	struct client *c = arg;
	struct dns *d = &c->dns;
	struct ps_out o;

	if (told.valid && told.mech == (int)d->mech && told.applied == d->applied && told.split == d->split &&
	    told.busy == d->busy && !strcmp(told.note, d->note))
		return;
	told.valid = 1;
	told.mech = (int)d->mech;
	told.applied = d->applied;
	told.split = d->split;
	told.busy = d->busy;
	snprintf(told.note, sizeof(told.note), "%s", d->note);
	ps_begin(&o, PS_DNS_STATUS, 0);
	ps_put_u32(&o, PT_MECH, (uint32_t)d->mech);
	ps_put_u32(&o, PT_APPLIED, (uint32_t)d->applied);
	ps_put_u32(&o, PT_SPLIT, (uint32_t)d->split);
	ps_put_u32(&o, PT_BUSY, (uint32_t)d->busy);
	ps_put_str(&o, PT_NOTE, d->note);
	helper_send(hp, &o);
}

/* PS_DNS_SET: every server 16 bytes (the schema bounds their number and
 * the domains'), every domain a name the RA parser would have taken
 * (nd_domain_encode: letters, digits, '-' and '_' in labels; no
 * newline or space to add lines of the daemon's own to resolv.conf, no
 * empty name); -1 otherwise. */
int client_helper_dns_set(const struct ps_msg *m, struct dns_set *s)
{
	uint8_t wire[ND_DOMAIN_MAX + 2];
	size_t len;

	memset(s, 0, sizeof(*s));
	s->n_servers = ps_count(m, PT_SERVER);
	s->n_domains = ps_count(m, PT_DOMAIN);
	for (size_t i = 0; i < s->n_servers; i++) {
		const uint8_t *p = ps_bytes(m, PT_SERVER, i, &len);
		if (len != sizeof(s->servers[i]))
			return -1;
		memcpy(&s->servers[i], p, len);
	}
	for (size_t i = 0; i < s->n_domains; i++)
		if (ps_str(m, PT_DOMAIN, i, s->domains[i], sizeof(s->domains[i])) >= (int)sizeof(s->domains[i]) ||
		    nd_domain_encode(s->domains[i], wire, sizeof(wire)) < 0) {
			log_warnx("privsep: the client sent DNS domain %zu, which is no domain name", i);
			return -1;
		}
	return 0;
}

static int dns_set(struct client *c, const struct ps_msg *m)
{
	struct dns_set s;

	if (client_helper_dns_set(m, &s) < 0)
		return -1;
	dns_want(c, &s);
	return 0;
}

static void reload(struct helper *hp, const struct ps_msg *m)
{
	struct client_cfg *n = calloc(1, sizeof(*n));
	struct iph_url *urls = calloc(CLIENT_MAX_URLS, sizeof(*urls));
	size_t n_urls = 0;
	SSL_CTX *ctx = NULL;
	char err[ERRLEN];

	if (!n || !urls || client_cfg_reload(n, urls, &n_urls, &ctx, err) < 0) {
		helper_reply_failed(hp, m, n && urls ? err : "out of memory");
		free(n);
	} else {
		struct ps_out o;
		ps_begin(&o, PS_CREDS, m->id);
		for (size_t i = 0; i < n->n_creds; i++) {
			ps_put_str(&o, PT_CFG_CREDCERT, n->creds[i].cert_file);
			ps_put_str(&o, PT_CFG_CREDKEY, n->creds[i].key_file);
			ps_put_str(&o, PT_CFG_CREDLABEL, n->creds[i].label);
		}
		helper_reply(hp, &o, -1);
		SSL_CTX_free(ctx);
		use_cfg(n);
		if (previous) {
			client_cfg_free(previous);
			free(previous);
		}
		previous = trusted;
		trusted = n;
	}
	free(urls);
}

/* 1 when path is the certificate (is_key 0) or key of a credential of
 * cfg. */
static int configured(const struct client_cfg *cfg, const char *path, int is_key)
{
	for (size_t i = 0; cfg && i < cfg->n_creds; i++)
		if (!strcmp(is_key ? cfg->creds[i].key_file : cfg->creds[i].cert_file, path))
			return 1;
	return 0;
}

/* PS_OPEN: a certificate or key file of the configuration (the first, the
 * one read again, or the one before it while attempts still use it),
 * opened for reading and passed back; any other path is refused (-1: the
 * helper ends). */
static int open_file(struct client *c, struct helper *hp, const struct ps_msg *m)
{
	char path[512];
	uint32_t kind = ps_u32(m, PT_KIND, 2);
	struct ps_out o;
	int fd;

	ps_str(m, PT_PATH, 0, path, sizeof(path));
	if (kind > 1 || !(configured(trusted ? trusted : c->cfg, path, (int)kind) ||
			  configured(previous ? previous : c->cfg, path, (int)kind))) {
		log_warnx("privsep: the client asked for %s, which is no %s of its configuration", path,
			  kind ? "key" : "certificate");
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	ps_begin(&o, PS_OPENED, m->id);
	ps_put_u32(&o, PT_ERRNO, fd < 0 ? (uint32_t)errno : 0);
	helper_reply(hp, &o, fd);
	if (fd >= 0)
		close(fd);
	return 0;
}

static int op(struct helper *hp, const struct ps_msg *m, void *arg)
{
	struct client *c = arg;

	switch (m->type) {
	case PS_OPEN:
		return open_file(c, hp, m);
	case PS_DNS_SET:
		return dns_set(c, m);
	case PS_DNS_DOWN:
		dns_link_down(c);
		return 0;
	case PS_DNS_SHUTDOWN:
		dns_shutdown(c);
		tick(hp, c);
		helper_reply_done(hp, m);
		return 0;
	case PS_RELOAD:
		reload(hp, m);
		return 0;
	default:
		return -1;
	}
}

static void __attribute__((noreturn)) helper_main(struct client *c)
{
	char err[ERRLEN];

	err[0] = 0;
	priv_children_expected();
	if (priv_keep(0, err) < 0 || ev_init(&c->ev) < 0 || helper_init(&H, &c->ev, 1, op, c) < 0) {
		log_errx("privsep: the client's helper: %s", err);
		_exit(1);
	}
	c->dns.remote = NULL;
	use_cfg(c->cfg);
	helper_loop(&H, tick, c);
	dns_shutdown(c);        /* (nothing when it was done on request) */
	helper_finish(&H);
	for (struct client_cfg **p = &trusted; p; p = p == &trusted ? &previous : NULL)
		if (*p) {
			client_cfg_free(*p);
			free(*p);
		}
	_exit(0);
}

/* ---- the daemon's side ---- */

static void helper_gone(struct client *c, const char *why)
{
	if (c->ps_h.fd < 0)
		return;
	log_errx("the privileged helper (pid %d): %s; the client stops", (int)c->helper_pid, why);
	ev_del(&c->ev, &c->ps_h);
	close(c->ps_h.fd);
	c->ps_h.fd = c->ps.fd = -1;
	c->dns.remote = NULL;
	c->dns.applied = c->dns.busy = 0;
	hook_remote_lost(&c->hooks);
	c->helper_lost = 1;
	c->stopping = 1;
}

static void event(void *arg, const struct ps_msg *m)
{
	struct client *c = arg;
	struct dns *d = &c->dns;

	if (m->type == PS_SCRIPT_DONE) {
		hook_remote_done(&c->hooks, m);
	} else if (m->type == PS_DNS_STATUS && ps_u32(m, PT_MECH, 0) < MECH__COUNT) {
		d->mech = (enum dns_mech)ps_u32(m, PT_MECH, 0);
		d->applied = !!ps_u32(m, PT_APPLIED, 0);
		d->split = !!ps_u32(m, PT_SPLIT, 0);
		d->busy = (int)ps_u32(m, PT_BUSY, 0);
		ps_str(m, PT_NOTE, 0, d->note, sizeof(d->note));
	} else {
		helper_gone(c, "it sent what it may not");
	}
}

static void on_helper(struct evloop *ev, struct ev_handler *h, uint32_t events)
{
	struct client *c = (struct client *)((char *)h - offsetof(struct client, ps_h));
	struct ps_msg *m = malloc(sizeof(*m));
	char why[ERRLEN];

	for (int i = 0; m && i < 64 && c->ps_h.fd >= 0; i++) {
		ssize_t n = ps_recv(c->ps.fd, c->ps.in, sizeof(c->ps.in), NULL, 0);
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			helper_gone(c, n == 0 ? "it ended" : strerror(errno));
			break;
		}
		if (ps_parse(c->ps.in, (size_t)n, m, why) < 0 || m->id) {
			helper_gone(c, m->id ? "an answer nobody asked for" : why);
			break;
		}
		event(c, m);
	}
	free(m);
}

/* The daemon's opener of certificate and key files (tls_set_opener): the
 * helper opens them, from the attempts' threads and the reload alike
 * (the file channel's mutex keeps the calls apart). */
static int open_through_helper(const char *path, int is_key, void *arg)
{
	struct client *c = arg;
	struct ps_msg *m = malloc(sizeof(*m));
	struct ps_out *o = malloc(sizeof(*o));
	char why[ERRLEN];
	int fd = -1, e = EIO;

	if (m && o && c->files.fd >= 0) {
		ps_begin(o, PS_OPEN, 0);
		ps_put_u32(o, PT_KIND, (uint32_t)!!is_key);
		ps_put_str(o, PT_PATH, path);
		if (ps_call(&c->files, o, m, &fd, OPEN_CALL_MS, NULL, NULL, why) < 0) {
			log_warnx("reading %s: %s", path, why);
		} else if (m->type != PS_OPENED || (ps_u32(m, PT_ERRNO, 0) == 0) != (fd >= 0)) {
			log_warnx("reading %s: the privileged helper answered out of turn", path);
		} else if (fd < 0) {
			e = (int)ps_u32(m, PT_ERRNO, EIO);
		}
		if (fd >= 0 && m->type != PS_OPENED) {
			close(fd);
			fd = -1;
		}
	}
	free(m);
	free(o);
	if (fd < 0)
		errno = e;
	return fd;
}

int client_helper_start(struct client *c, char *err)
{
	int fds[2], ffds[2] = { -1, -1 }, keep[2];
	pid_t pid;

	if (ps_pair(fds) < 0 || ps_pair(ffds) < 0) {
		snprintf(err, ERRLEN, "privsep: socketpair: %s", strerror(errno));
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	keep[0] = fds[1];
	keep[1] = ffds[1];
	if ((pid = helper_fork(keep, 2)) < 0) {
		snprintf(err, ERRLEN, "privsep: fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		close(ffds[0]);
		close(ffds[1]);
		return -1;
	}
	if (pid == 0)
		helper_main(c);
	close(fds[1]);
	close(ffds[1]);
	ps_chan_init(&c->files, ffds[0]);
	tls_set_opener(open_through_helper, c);
	c->helper_pid = pid;
	ps_chan_init(&c->ps, fds[0]);
	c->ps_h.fd = fds[0];
	c->ps_h.cb = on_helper;
	if (ev_add(&c->ev, &c->ps_h, EPOLLIN) < 0) {
		snprintf(err, ERRLEN, "privsep: watching the helper: %s", strerror(errno));
		return -1;
	}
	hook_remote(&c->hooks, &c->ps);
	c->dns.remote = &c->ps;
	log_info("privileged helper: pid %d (the advertised DNS, the scripts)", (int)pid);
	return 0;
}

/* A call without arguments: its reply, of type want (PS_FAILED gives
 * err), in *m (malloc'ed, the caller frees); 0, or -1 with err. */
static int call(struct client *c, unsigned type, unsigned want, int timeout_ms, struct ps_msg **m,
		char *err)
{
	struct ps_out o;

	if (!(*m = malloc(sizeof(**m)))) {
		snprintf(err, ERRLEN, "out of memory");
		return -1;
	}
	if (c->ps_h.fd < 0) {
		snprintf(err, ERRLEN, "the privileged helper is gone");
		return -1;
	}
	ps_begin(&o, type, 0);
	if (ps_call(&c->ps, &o, *m, NULL, timeout_ms, event, c, err) < 0) {
		helper_gone(c, err);
		return -1;
	}
	if ((*m)->type == PS_FAILED) {
		ps_str(*m, PT_ERR, 0, err, ERRLEN);
		return -1;
	}
	if ((*m)->type != want) {
		helper_gone(c, "an answer of the wrong kind");
		snprintf(err, ERRLEN, "the privileged helper answered out of turn");
		return -1;
	}
	return 0;
}

int client_helper_reload(struct client *c, struct tls_cred *creds, size_t *n, char *err)
{
	struct ps_msg *m;
	int rc = call(c, PS_RELOAD, PS_CREDS, RELOAD_CALL_MS, &m, err);

	*n = 0;
	if (rc == 0) {
		*n = ps_count(m, PT_CFG_CREDCERT);
		if (*n > CLIENT_MAX_CERTS || ps_count(m, PT_CFG_CREDKEY) != *n ||
		    ps_count(m, PT_CFG_CREDLABEL) != *n) {
			helper_gone(c, "credentials that do not pair");
			snprintf(err, ERRLEN, "the privileged helper answered out of turn");
			rc = -1;
			*n = 0;
		}
		for (size_t i = 0; i < *n; i++) {
			memset(&creds[i], 0, sizeof(creds[i]));
			ps_str(m, PT_CFG_CREDCERT, i, creds[i].cert_file, sizeof(creds[i].cert_file));
			ps_str(m, PT_CFG_CREDKEY, i, creds[i].key_file, sizeof(creds[i].key_file));
			ps_str(m, PT_CFG_CREDLABEL, i, creds[i].label, sizeof(creds[i].label));
		}
	}
	free(m);
	return rc;
}

int client_helper_running(const struct client *c)
{
	return c->ps_h.fd >= 0;
}

void client_helper_end(struct client *c)
{
	uint64_t end;
	char err[ERRLEN];
	int st;

	struct ps_msg *m = NULL;

	if (c->ps_h.fd >= 0 && c->dns.mode != DNS_OFF &&
	    call(c, PS_DNS_SHUTDOWN, PS_DONE, SHUTDOWN_CALL_MS, &m, err) < 0)
		log_warnx("DNS: %s", err);
	free(m);
	if (c->ps_h.fd >= 0) {
		ev_del(&c->ev, &c->ps_h);
		close(c->ps_h.fd);
		c->ps_h.fd = c->ps.fd = -1;
	}
	if (c->files.fd >= 0) {
		/* (attempts still in flight then read nothing: the client stops) */
		pthread_mutex_lock(&c->files.mu);
		close(c->files.fd);
		c->files.fd = -1;
		pthread_mutex_unlock(&c->files.mu);
	}
	if (c->helper_pid <= 0)
		return;
	for (end = ev_now_ms() + END_MS; waitpid(c->helper_pid, &st, WNOHANG) == 0;) {
		struct timespec ts = { 0, 20 * 1000000L };
		if (ev_now_ms() >= end) {
			log_warnx("the privileged helper (pid %d) is still running %d s after the client; left",
				  (int)c->helper_pid, END_MS / 1000);
			return;
		}
		nanosleep(&ts, NULL);
	}
	c->helper_pid = 0;
}
