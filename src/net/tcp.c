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

int tcp_connect_addr(const struct addrinfo *a, int timeout_ms, int *err)
{
	uint64_t deadline = ev_now_ms() + (uint64_t)timeout_ms;
	socklen_t el = sizeof(*err);
	int fd, one = 1;

	*err = 0;
	fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*err = errno;
		return -1;
	}
	if (connect(fd, a->ai_addr, a->ai_addrlen) < 0 && errno != EINPROGRESS)
		*err = errno;
	else if (!net_wait_fd(fd, POLLOUT, deadline))
		*err = ETIMEDOUT;
	else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, err, &el) < 0)
		*err = errno;
	if (*err) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	return fd;
}
