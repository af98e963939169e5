/* The epoll wrapper: see evloop.h. */
#include "net/evloop.h"

#include <errno.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Create the epoll fd; the loop starts empty and not stopped.
 * Returns 0 or -1 (errno). */
int ev_init(struct evloop *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->epfd = epoll_create1(EPOLL_CLOEXEC);
	return ev->epfd < 0 ? -1 : 0;
}

/* Close the epoll fd (safe to call twice). */
void ev_free(struct evloop *ev)
{
	if (ev->epfd >= 0)
		close(ev->epfd);
	ev->epfd = -1;
	ev->nbatch = 0;
}

/* epoll_ctl op for h with events, data.ptr = h.  Returns 0 or -1 (errno). */
static int ev_ctl(struct evloop *ev, int op, struct ev_handler *h, uint32_t events)
{
	struct epoll_event e;

	memset(&e, 0, sizeof(e));
	e.events = events;
	e.data.ptr = h;
	return epoll_ctl(ev->epfd, op, h->fd, &e);
}

int ev_add(struct evloop *ev, struct ev_handler *h, uint32_t events)
{
	return ev_ctl(ev, EPOLL_CTL_ADD, h, events);
}

int ev_mod(struct evloop *ev, struct ev_handler *h, uint32_t events)
{
	return ev_ctl(ev, EPOLL_CTL_MOD, h, events);
}

/* Void every entry for h in the current batch (already dispatched ones too:
 * harmless, dispatch never looks back). */
void ev_forget(struct evloop *ev, struct ev_handler *h)
{
	for (int i = 0; i < ev->nbatch; i++)
		if (ev->batch[i].data.ptr == h)
			ev->batch[i].data.ptr = NULL;
}

int ev_del(struct evloop *ev, struct ev_handler *h)
{
	ev_forget(ev, h);
	return epoll_ctl(ev->epfd, EPOLL_CTL_DEL, h->fd, NULL);
}

/* Wait, then call each live handler once per event.  Returns the number of
 * callbacks, 0 on timeout or EINTR, -1 on another error (errno). */
int ev_run_once(struct evloop *ev, int timeout_ms)
{
	int n, done = 0;

	n = epoll_wait(ev->epfd, ev->batch, EV_BATCH, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -1;
	ev->nbatch = n;
	for (int i = 0; i < n && !ev->stop; i++) {
		struct ev_handler *h = ev->batch[i].data.ptr;

		if (!h)
			continue;
		h->cb(ev, h, ev->batch[i].events);
		done++;
	}
	ev->nbatch = 0;
	return done;
}

uint64_t ev_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t ev_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int ev_add_signals(struct evloop *ev, struct ev_handler *h)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	h->fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return h->fd < 0 ? -1 : ev_add(ev, h, EPOLLIN);
}
