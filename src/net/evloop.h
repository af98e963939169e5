/* A thin epoll(7) wrapper for the server's and the client's event loops.
 *
 * Each watched fd has a struct ev_handler, usually embedded in the object
 * that owns the fd; epoll's data.ptr points at it and dispatch calls
 * h->cb(ev, h, events).  Registration is level-triggered.
 *
 * Freeing during dispatch: a callback may ev_del() (and then free) any
 * handler, including one whose event is still pending later in the same
 * batch; ev_del() calls ev_forget(), which voids those pending events so that
 * dispatch skips them.  Call ev_del() before close(fd) and before freeing h.
 * ev_run_once() is not reentrant (do not call it from a callback).
 *
 * Error convention: 0 (or a count) on success, -1 with errno set. */
#ifndef IPHTTPS_EVLOOP_H
#define IPHTTPS_EVLOOP_H

#include <stdint.h>
#include <sys/epoll.h>

#define EV_BATCH 256	/* events taken from the kernel per ev_run_once() */

struct evloop;

struct ev_handler {
	void (*cb)(struct evloop *ev, struct ev_handler *h, uint32_t events);
	int fd;
};

struct evloop {
	int epfd;
	int stop;		/* set by anyone to end the caller's loop; ends the batch */
	int nbatch;		/* events in the batch being dispatched, 0 outside */
	struct epoll_event batch[EV_BATCH];
};

/* Create the epoll instance (close-on-exec).  Returns 0 or -1 (errno). */
int ev_init(struct evloop *ev);
/* Close the epoll instance; the handlers are the caller's to free. */
void ev_free(struct evloop *ev);
/* Watch h->fd for events (EPOLLIN, EPOLLOUT, ...), level-triggered.
 * h must stay valid until ev_del(h).  Returns 0 or -1 (errno). */
int ev_add(struct evloop *ev, struct ev_handler *h, uint32_t events);
/* Change the events watched for h.  Returns 0 or -1 (errno). */
int ev_mod(struct evloop *ev, struct ev_handler *h, uint32_t events);
/* Stop watching h->fd and forget h's pending events (see ev_forget); after
 * this h may be freed even from inside a callback.  Returns 0 or -1 (errno,
 * e.g. EBADF if the fd was already closed; h is forgotten in any case). */
int ev_del(struct evloop *ev, struct ev_handler *h);
/* Void the events for h still pending in the batch being dispatched. */
void ev_forget(struct evloop *ev, struct ev_handler *h);
/* Wait up to timeout_ms (-1: for ever, 0: poll) and dispatch up to EV_BATCH
 * events, stopping early if ev->stop becomes set.  Returns the number of
 * callbacks made (0 on timeout or EINTR), or -1 (errno). */
int ev_run_once(struct evloop *ev, int timeout_ms);
/* A daemon's signals as an event: SIGINT, SIGTERM and SIGHUP blocked and
 * read from a signalfd watched with h (h->cb set by the caller); SIGPIPE
 * ignored.  Returns 0 or -1 (errno). */
int ev_add_signals(struct evloop *ev, struct ev_handler *h);
/* CLOCK_MONOTONIC in milliseconds. */
uint64_t ev_now_ms(void);
/* The same clock in microseconds. */
uint64_t ev_now_us(void);

#endif
