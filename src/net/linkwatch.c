/* Link notifications from rtnetlink: see linkwatch.h. */
#include "net/linkwatch.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct lw_ctx {
	unsigned ifindex;
	int up;
	int addr_changed;
};

static int on_msg(const struct nlmsghdr *nlh, void *data)
{
	struct lw_ctx *x = data;
	const struct ifinfomsg *ifi;

	if (nlh->nlmsg_type == RTM_NEWADDR && nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(struct ifaddrmsg))) {
		const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
		if (ifa->ifa_index == x->ifindex && ifa->ifa_scope == RT_SCOPE_UNIVERSE)
			x->addr_changed = 1;
		return MNL_CB_OK;
	}
	if (nlh->nlmsg_type != RTM_NEWLINK || nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
		return MNL_CB_OK;
	ifi = mnl_nlmsg_get_payload(nlh);
	if ((unsigned)ifi->ifi_index == x->ifindex)
		x->up = (ifi->ifi_flags & (IFF_UP | IFF_LOWER_UP)) == (IFF_UP | IFF_LOWER_UP);
	return MNL_CB_OK;
}

int linkwatch_open(char *err)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK | RTMGRP_IPV6_IFADDR };

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(err, ERRLEN, "rtnetlink link notifications: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int linkwatch_read(int fd, unsigned ifindex, int *addr_changed)
{
	char buf[16384];
	struct lw_ctx x = { ifindex, -1, 0 };

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			if (errno == ENOBUFS)
				continue; /* missed some: the next ones still tell */
			return -1;
		}
		mnl_cb_run(buf, (size_t)n, 0, 0, on_msg, &x);
	}
	*addr_changed = x.addr_changed;
	return x.up == 1;
}

void linkwatch_close(int fd)
{
	if (fd >= 0)
		close(fd);
}
