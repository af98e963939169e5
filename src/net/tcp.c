/* TCP connections with a deadline: see tcp.h. */
#include "net/tcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <unistd.h>

#include "net/evloop.h"

int net_wait_fd(int fd, short events, uint64_t deadline_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r;

	do {
		uint64_t now = ev_now_ms();
		r = poll(&p, 1, now >= deadline_ms ? 0 : (int)(deadline_ms - now));
	} while (r < 0 && errno == EINTR);
	return r > 0;
}

void net_addr_str(const struct sockaddr *sa, char *out, size_t len)
{
	char h[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)sa;
		inet_ntop(AF_INET6, &a->sin6_addr, h, sizeof(h));
		snprintf(out, len, "[%s]:%u", h, ntohs(a->sin6_port));
	} else {
		const struct sockaddr_in *a = (const void *)sa;
		inet_ntop(AF_INET, &a->sin_addr, h, sizeof(h));
		snprintf(out, len, "%s:%u", h, ntohs(a->sin_port));
	}
}

/* SYNs sent so far on fd (1 + retransmissions), from TCP_INFO. */
static unsigned syns_sent(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return 1;
	return 1 + (ti.tcpi_total_retrans > ti.tcpi_retransmits ? ti.tcpi_total_retrans : ti.tcpi_retransmits);
}

int tcp_connect_sa(const struct sockaddr *sa, socklen_t salen, int timeout_ms, struct tcp_attempt *t)
{
	uint64_t t0 = ev_now_us(), deadline = t0 / 1000 + (uint64_t)timeout_ms;
	socklen_t el = sizeof(t->err);
	int fd, one = 1;

	t->err = 0;
	t->syns = 1;
	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		t->err = errno;
		t->ms = 0;
		return -1;
	}
	if (connect(fd, sa, salen) < 0 && errno != EINPROGRESS) {
		t->err = errno;
	} else if (!net_wait_fd(fd, POLLOUT, deadline)) {
		t->err = ETIMEDOUT;
		t->syns = syns_sent(fd);
	} else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &t->err, &el) < 0) {
		t->err = errno;
	}
	t->ms = (double)(ev_now_us() - t0) / 1000.0;
	if (t->err) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	return fd;
}

int tcp_connect_addr(const struct addrinfo *a, int timeout_ms, int *err)
{
	struct tcp_attempt t;
	int fd = tcp_connect_sa(a->ai_addr, a->ai_addrlen, timeout_ms, &t);

	*err = t.err;
	return fd;
}
