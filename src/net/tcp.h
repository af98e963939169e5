/* TCP connections with a deadline, shared by the client's connector, its
 * proxy layer and the probe.
 *
 * Error convention: tcp_connect_sa and tcp_connect_addr return a connected
 * non-blocking fd, or -1 with the errno kept (ETIMEDOUT when the deadline
 * passed). */
#ifndef IPHTTPS_TCP_H
#define IPHTTPS_TCP_H

#include <netdb.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <netinet/in.h>

/* Wait until fd is ready for events (POLLIN/POLLOUT) or the deadline (ms on
 * the ev_now_ms clock) passes.  Returns 1 ready, 0 timeout. */
int net_wait_fd(int fd, short events, uint64_t deadline_ms);
/* "a.b.c.d:port" or "[v6]:port". */
void net_addr_str(const struct sockaddr *sa, char *out, size_t len);
/* What one connect showed: the errno (0: connected; ETIMEDOUT when the
 * deadline passed), how long it took, the SYNs sent (TCP_INFO). */
struct tcp_attempt {
	int err;
	double ms;
	unsigned syns;
};
/* One non-blocking connect to sa within timeout_ms; TCP_NODELAY and
 * keepalive set.  Returns the fd, or -1 with t->err. */
int tcp_connect_sa(const struct sockaddr *sa, socklen_t salen, int timeout_ms, struct tcp_attempt *t);
/* The same for one getaddrinfo() result, the errno in *err. */
int tcp_connect_addr(const struct addrinfo *a, int timeout_ms, int *err);

#endif
