/* The advertised DNS through systemd-resolved's D-Bus API
 * (org.freedesktop.resolve1(5)): per-link servers and domains, the link as
 * DNS default route or not, asynchronously from the client's event loop
 * (the bus fd and its timeout watched there).  See dns.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "client/client.h"
#include "client/dns.h"
#include "common/log.h"

#define DEST "org.freedesktop.resolve1"
#define PATH "/org/freedesktop/resolve1"
#define IFACE "org.freedesktop.resolve1.Manager"
#define SYNC_TIMEOUT_US 2000000ull
/* resolved makes this socket when it runs (systemd 246 and later). */
#define RESOLVED_SOCKET "/run/systemd/resolve/io.systemd.Resolve"
#define CONTAINER(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

int resolved_present(void)
{
	struct stat st;

	return stat(RESOLVED_SOCKET, &st) == 0 && S_ISSOCK(st.st_mode);
}

void resolved_close(struct client *c)
{
	struct dns *d = &c->dns;

	if (d->bus_h.fd >= 0)
		ev_del(&c->ev, &d->bus_h);
	if (d->tmr_h.fd >= 0) {
		ev_del(&c->ev, &d->tmr_h);
		close(d->tmr_h.fd);
	}
	d->bus_h.fd = d->tmr_h.fd = -1;
	if (d->bus)
		sd_bus_flush_close_unref(d->bus);
	d->bus = NULL;
}

/* Watch the bus for what it waits for, and its next timeout. */
static void arm(struct client *c)
{
	struct dns *d = &c->dns;
	struct itimerspec its;
	uint64_t usec = UINT64_MAX;
	int ev = sd_bus_get_events(d->bus);

	if (ev < 0) {
		resolved_close(c);
		return;
	}
	ev_mod(&c->ev, &d->bus_h, (uint32_t)ev);
	memset(&its, 0, sizeof(its));
	if (sd_bus_get_timeout(d->bus, &usec) >= 0 && usec != UINT64_MAX) {
		its.it_value.tv_sec = (time_t)(usec / 1000000);
		its.it_value.tv_nsec = (long)(usec % 1000000) * 1000;
		if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
			its.it_value.tv_nsec = 1;
	}
	timerfd_settime(d->tmr_h.fd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void process(struct client *c)
{
	int r = 0;

	while (c->dns.bus && (r = sd_bus_process(c->dns.bus, NULL)) > 0)
		;
	if (c->dns.bus && r < 0) {
		log_warnx("DNS: the system bus: %s", strerror(-r));
		resolved_close(c);
		return;
	}
	if (c->dns.bus)
		arm(c);
}

static void on_bus(struct evloop *ev, struct ev_handler *h, uint32_t events)
{
	process(CONTAINER(h, struct client, dns.bus_h));
}

static void on_tmr(struct evloop *ev, struct ev_handler *h, uint32_t events)
{
	uint64_t n;

	if (read(h->fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	process(CONTAINER(h, struct client, dns.tmr_h));
}

static int open_bus(struct client *c, char *why, size_t len)
{
	struct dns *d = &c->dns;
	sd_bus *bus = NULL;
	int r;

	if (d->bus)
		return 0;
	if ((r = sd_bus_open_system(&bus)) < 0) {
		snprintf(why, len, "connecting to the system bus: %s", strerror(-r));
		return -1;
	}
	d->bus = bus;
	d->bus_h.fd = sd_bus_get_fd(bus);
	d->bus_h.cb = on_bus;
	d->tmr_h.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	d->tmr_h.cb = on_tmr;
	if (d->bus_h.fd < 0 || d->tmr_h.fd < 0 || ev_add(&c->ev, &d->bus_h, EPOLLIN) < 0 ||
	    ev_add(&c->ev, &d->tmr_h, EPOLLIN) < 0) {
		snprintf(why, len, "watching the system bus: %s", strerror(errno));
		if (d->tmr_h.fd >= 0)
			close(d->tmr_h.fd);
		d->bus_h.fd = d->tmr_h.fd = -1;
		sd_bus_flush_close_unref(bus);
		d->bus = NULL;
		return -1;
	}
	return 0;
}

/* One reply of an application: the last one says how it went. */
static int on_reply(sd_bus_message *m, void *arg, sd_bus_error *e)
{
	struct client *c = arg;
	struct dns *d = &c->dns;
	const sd_bus_error *err = sd_bus_message_get_error(m);

	if (err && !d->call_failed) {
		d->call_failed = 1;
		snprintf(d->err, sizeof(d->err), "%s: %s", err->name, err->message ? err->message : "");
	}
	if (d->pending && --d->pending == 0)
		dns_done(c, MECH_RESOLVED, !d->call_failed, d->err);
	return 0;
}

/* A method call with its arguments appended by fill; async unless wait. */
static int call(struct client *c, const char *method, int wait,
		int (*fill)(sd_bus_message *m, struct client *c, const void *arg), const void *arg)
{
	struct dns *d = &c->dns;
	sd_bus_message *m = NULL, *reply = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int r;

	if ((r = sd_bus_message_new_method_call(d->bus, &m, DEST, PATH, IFACE, method)) < 0 ||
	    (r = sd_bus_message_append(m, "i", (int32_t)dns_ifindex(c))) < 0 ||
	    (fill && (r = fill(m, c, arg)) < 0))
		goto out;
	if (wait) {
		r = sd_bus_call(d->bus, m, SYNC_TIMEOUT_US, &e, &reply);
		if (r < 0)
			snprintf(d->err, sizeof(d->err), "%s: %s", method, e.message ? e.message : strerror(-r));
	} else if ((r = sd_bus_call_async(d->bus, NULL, m, on_reply, c, SYNC_TIMEOUT_US)) >= 0) {
		d->pending++;
	}
out:
	if (r < 0 && !d->err[0])
		snprintf(d->err, sizeof(d->err), "%s: %s", method, strerror(-r));
	sd_bus_error_free(&e);
	sd_bus_message_unref(reply);
	sd_bus_message_unref(m);
	return r;
}

static int fill_dns(sd_bus_message *m, struct client *c, const void *arg)
{
	const struct dns_set *s = &c->dns.want;
	int r = sd_bus_message_open_container(m, 'a', "(iay)");

	for (size_t i = 0; r >= 0 && i < s->n_servers; i++) {
		if ((r = sd_bus_message_open_container(m, 'r', "iay")) < 0 ||
		    (r = sd_bus_message_append(m, "i", AF_INET6)) < 0 ||
		    (r = sd_bus_message_append_array(m, 'y', &s->servers[i], 16)) < 0)
			return r;
		r = sd_bus_message_close_container(m);
	}
	return r < 0 ? r : sd_bus_message_close_container(m);
}

/* The advertised domains as routing domains; in full mode "." too. */
static int fill_domains(sd_bus_message *m, struct client *c, const void *arg)
{
	const struct dns_set *s = &c->dns.want;
	int r = sd_bus_message_open_container(m, 'a', "(sb)");

	for (size_t i = 0; r >= 0 && i < s->n_domains; i++)
		r = sd_bus_message_append(m, "(sb)", s->domains[i], 1);
	if (r >= 0 && !*(const int *)arg)
		r = sd_bus_message_append(m, "(sb)", ".", 1);
	return r < 0 ? r : sd_bus_message_close_container(m);
}

static int fill_bool(sd_bus_message *m, struct client *c, const void *arg)
{
	return sd_bus_message_append(m, "b", *(const int *)arg);
}

static int fill_str(sd_bus_message *m, struct client *c, const void *arg)
{
	return sd_bus_message_append(m, "s", (const char *)arg);
}

void resolved_apply(struct client *c, int split)
{
	struct dns *d = &c->dns;
	char why[200];
	int full_route = !split;

	d->call_failed = 0;
	d->pending = 0;
	if (open_bus(c, why, sizeof(why)) < 0) {
		dns_done(c, MECH_RESOLVED, 0, why);
		return;
	}
	d->err[0] = 0;
	if (call(c, "SetLinkDNS", 0, fill_dns, NULL) < 0 ||
	    call(c, "SetLinkDomains", 0, fill_domains, &split) < 0 ||
	    call(c, "SetLinkDefaultRoute", 0, fill_bool, &full_route) < 0 ||
	    call(c, "SetLinkLLMNR", 0, fill_str, "no") < 0 ||
	    call(c, "SetLinkMulticastDNS", 0, fill_str, "no") < 0) {
		/* What was sent still answers; the last reply reports. */
		d->call_failed = 1;
		if (!d->pending) {
			snprintf(why, sizeof(why), "%s", d->err);
			dns_done(c, MECH_RESOLVED, 0, why);
			return;
		}
	}
	process(c);
}

void resolved_revert(struct client *c, int wait)
{
	struct dns *d = &c->dns;
	char why[200] = "";

	d->call_failed = 0;
	d->pending = 0;
	d->err[0] = 0;
	if (open_bus(c, why, sizeof(why)) < 0) {
		dns_done(c, MECH_RESOLVED, 0, why);
		return;
	}
	if (call(c, "RevertLink", wait, NULL, NULL) < 0) {
		snprintf(why, sizeof(why), "%s", d->err);
		dns_done(c, MECH_RESOLVED, 0, why);
		return;
	}
	if (wait)
		dns_done(c, MECH_RESOLVED, 1, NULL);
	else
		process(c);
}
