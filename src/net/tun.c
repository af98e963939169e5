/* TUN devices, their link/address/route configuration over rtnetlink
 * (libmnl) and the per-device IPv6 sysctls.  See tun.h for the contract.
 *
 * Every netlink call opens its own NETLINK_ROUTE socket, sends one request
 * with NLM_F_ACK and reads until the kernel's ACK (or NLMSG_DONE for dumps),
 * so the functions are stateless and safe to call from any thread.  Errors
 * carry the kernel's errno and, where the kernel sends one, its extended-ACK
 * text: "RTM_NEWADDR fd00::1/64 on iphttps0: File exists".
 *
 * Idempotence: adding an address or route that already exists succeeds (the
 * kernel's EEXIST is taken as success).  For addresses the kernel identifies
 * an address by its value only, so an existing fd00::1/48 makes adding
 * fd00::1/64 "succeed" without changing the prefix length.  Routes are added
 * without NLM_F_EXCL: the kernel answers EEXIST only when the same prefix,
 * metric, device and gateway exist; the same prefix and metric with another
 * gateway becomes one more (ECMP) next hop.  Deleting a route that does not
 * exist fails with ESRCH.
 *
 * Timing: the ACK of RTM_NEWADDR comes before the kernel has installed the
 * address's local route (addrconf does that from a work queue, even with
 * IFA_F_NODAD); a packet to the address written into the TUN within the
 * next fraction of a millisecond is dropped (Ip6InAddrErrors).  Measured on
 * Linux 6.18: a packet written at once after the ACK was lost 35 times in
 * 40, none after 100 ms. */
#include "net/tun.h"

#include <ctype.h>
#include <errno.h>
#include <ifaddrs.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>

#define NL_BUFSZ	32768	/* big enough for any dump message */
#define STEPLEN		128

/* What one netlink exchange collects: the kernel's extended-ACK message and
 * the dump callback with its argument. */
struct nl_ctx {
	char extmsg[128];
	mnl_cb_t data_cb;
	void *data;
};

/* Format a message into err (ERRLEN bytes; err may be NULL).  Keeps errno. */
static void __attribute__((format(printf, 2, 3)))
seterr(char *err, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err, ERRLEN, fmt, ap);
		va_end(ap);
	}
	errno = saved;
}

/* ---- sysctl ---- */

/* Write value to an absolute path, or to a path relative to /proc/sys/.
 * Returns 0, or -1 with errno and err set. */
int sysctl_set_path(const char *path, const char *value, char *err)
{
	char full[512];
	size_t len = strlen(value);
	ssize_t n;
	int fd, e;

	if (snprintf(full, sizeof(full), "%s%s", path[0] == '/' ? "" : "/proc/sys/",
		     path) >= (int)sizeof(full)) {
		errno = ENAMETOOLONG;
		seterr(err, "sysctl %s: path too long", path);
		return -1;
	}
	fd = open(full, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		seterr(err, "sysctl open %s: %s", full, strerror(errno));
		return -1;
	}
	n = write(fd, value, len);
	e = errno;
	close(fd);
	if (n != (ssize_t)len) {
		errno = n < 0 ? e : EIO;
		seterr(err, "sysctl %s=%s: %s", full, value, strerror(errno));
		return -1;
	}
	return 0;
}

/* A name usable as one /proc/sys path component: not empty, no '/', not a
 * dot entry.  Returns 1 if usable. */
static int path_component_ok(const char *s)
{
	return s[0] && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..");
}

/* Write /proc/sys/net/ipv6/conf/<dev>/<key>.  Returns 0, or -1 (errno, err). */
int sysctl_v6_set(const char *dev, const char *key, const char *value, char *err)
{
	char path[256];

	if (!path_component_ok(dev) || !path_component_ok(key) ||
	    strlen(dev) >= IFNAMSIZ) {
		errno = EINVAL;
		seterr(err, "sysctl net.ipv6.conf.%s.%s: bad device or key name", dev, key);
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/%s", dev, key);
	return sysctl_set_path(path, value, err);
}

/* ---- the TUN fd ---- */

/* Create or attach IFF_TUN|IFF_NO_PI device name (empty: the kernel picks
 * one, written back into name).  Returns the fd (O_NONBLOCK, O_CLOEXEC, the
 * caller closes it), or -1 with errno and err set. */
static int open_flags(char *name, short flags, char *err)
{
	size_t len = strnlen(name, IFNAMSIZ);
	struct ifreq ifr;
	int fd;

	if (len >= IFNAMSIZ) {
		errno = EINVAL;
		seterr(err, "TUNSETIFF %.*s...: name longer than %d characters",
		       IFNAMSIZ - 1, name, IFNAMSIZ - 1);
		return -1;
	}
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		seterr(err, "open /dev/net/tun: %s%s", strerror(errno),
		       errno == ENOENT ? " (is the tun module loaded?)" : "");
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = flags;
	memcpy(ifr.ifr_name, name, len);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;

		seterr(err, "TUNSETIFF %s: %s%s", name[0] ? name : "(any)", strerror(e),
		       e == EBUSY ? " (device exists and is in use)" : "");
		close(fd);
		errno = e;
		return -1;
	}
	memcpy(name, ifr.ifr_name, IFNAMSIZ);
	name[IFNAMSIZ - 1] = '\0';
	return fd;
}

int tun_name_ok(const char *n)
{
	if (!*n || strlen(n) >= IFNAMSIZ || !strcmp(n, ".") || !strcmp(n, ".."))
		return 0;
	for (; *n; n++)
		if (*n == '/' || *n == ':' || isspace((unsigned char)*n) || !isprint((unsigned char)*n))
			return 0;
	return 1;
}

int tun_open(char *name, char *err)
{
	return open_flags(name, IFF_TUN | IFF_NO_PI, err);
}

/* The TUN with a virtio-net header on every packet and the kernel's TCP
 * segmentation left to us: reads may be TCP super-packets of up to 64 KiB
 * (see net/gso.h), writes carry a header too. */
int tun_open_offload(char *name, char *err)
{
	int fd = open_flags(name, IFF_TUN | IFF_NO_PI | IFF_VNET_HDR, err), hs = 10;

	if (fd < 0)
		return -1;
	if (ioctl(fd, TUNSETVNETHDRSZ, &hs) < 0 ||
	    ioctl(fd, TUNSETOFFLOAD, (unsigned long)(TUN_F_CSUM | TUN_F_TSO6)) < 0) {
		int e = errno;
		seterr(err, "TUNSETOFFLOAD %s: %s", name, strerror(e));
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Carrier on or off with TUNSETCARRIER on the tun fd.  Returns 0 or -1. */
int tun_set_carrier(int tun_fd, int on, char *err)
{
	int v = on ? 1 : 0;

	if (ioctl(tun_fd, TUNSETCARRIER, &v) < 0) {
		seterr(err, "TUNSETCARRIER %s: %s", on ? "on" : "off", strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- netlink plumbing ---- */

/* NLMSG_ERROR: 0 is the ACK (stop); otherwise keep the extended-ACK text,
 * set errno and fail. */
static int nl_error_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	struct nl_ctx *ctx = data;
	const struct nlattr *a;
	unsigned off;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (e->error == 0)
		return MNL_CB_STOP;
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
		off = sizeof(*e);
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED) &&
		    e->msg.nlmsg_len >= sizeof(struct nlmsghdr))
			off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
		if (off > mnl_nlmsg_get_payload_len(nlh))
			goto out;
		mnl_attr_for_each(a, nlh, off) {
			if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
			    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
				snprintf(ctx->extmsg, sizeof(ctx->extmsg), "%s",
					 mnl_attr_get_str(a));
		}
	}
out:
	errno = e->error < 0 ? -e->error : e->error;
	return MNL_CB_ERROR;
}

/* NLMSG_DONE ends a dump; since Linux 4.x it carries the dump's error. */
static int nl_done_cb(const struct nlmsghdr *nlh, void *data)
{
	int e;

	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int)) {
		memcpy(&e, mnl_nlmsg_get_payload(nlh), sizeof(e));
		if (e < 0) {
			errno = -e;
			return MNL_CB_ERROR;
		}
	}
	return MNL_CB_STOP;
}

/* Dump messages go to the caller's callback, if any. */
static int nl_data_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nl_ctx *ctx = data;

	return ctx->data_cb ? ctx->data_cb(nlh, ctx->data) : MNL_CB_OK;
}

/* Read answers to request seq until its ACK or NLMSG_DONE.  Returns 0, or -1
 * with errno set (and ctx->extmsg when the kernel explained). */
static int nl_wait(struct mnl_socket *nl, unsigned seq, char *buf, struct nl_ctx *ctx)
{
	mnl_cb_t ctl[NLMSG_DONE + 1] = {
		[NLMSG_ERROR] = nl_error_cb,
		[NLMSG_DONE] = nl_done_cb,
	};
	unsigned portid = mnl_socket_get_portid(nl);
	ssize_t n;
	int ret;

	do {
		n = mnl_socket_recvfrom(nl, buf, NL_BUFSZ);
		if (n < 0)
			return -1;
		ret = mnl_cb_run2(buf, n, seq, portid, nl_data_cb, ctx, ctl,
				  NLMSG_DONE + 1);
	} while (ret == MNL_CB_OK);
	return ret < 0 ? -1 : 0;
}

/* Send the request in buf (nlh), flagged NLM_F_REQUEST|NLM_F_ACK, and wait
 * for the kernel's answer, passing dump messages to cb(msg, data).  step names
 * the request for err.  Returns 0, or -1 with errno and err set. */
static int nl_talk(struct nlmsghdr *nlh, char *buf, const char *step,
		   mnl_cb_t cb, void *data, char *err)
{
	struct nl_ctx ctx = { .data_cb = cb, .data = data };
	struct mnl_socket *nl;
	const unsigned seq = 1;	/* one request per socket */
	int one = 1, ret = -1;

	nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		seterr(err, "%s: netlink socket: %s", step, strerror(errno));
		goto out;
	}
	/* Best effort: older kernels lack them, the errno still tells. */
	mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		seterr(err, "%s: netlink send: %s", step, strerror(errno));
		goto out;
	}
	ret = nl_wait(nl, seq, buf, &ctx);	/* overwrites the request */
	if (ret < 0)
		seterr(err, "%s: %s%s%s%s", step, strerror(errno),
		       ctx.extmsg[0] ? " (" : "", ctx.extmsg, ctx.extmsg[0] ? ")" : "");
out:
	if (nl) {
		int e = errno;

		mnl_socket_close(nl);
		errno = e;
	}
	return ret;
}

/* A zeroed request buffer of NL_BUFSZ with a header of type and flags.
 * Returns the header (the buffer starts at it; free() it), or NULL (errno,
 * err set). */
static struct nlmsghdr *nl_new(uint16_t type, uint16_t flags, const char *step, char *err)
{
	char *buf = calloc(1, NL_BUFSZ);
	struct nlmsghdr *nlh;

	if (!buf) {
		seterr(err, "%s: %s", step, strerror(errno));
		return NULL;
	}
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	return nlh;
}

/* The ifindex of dev, or 0 with errno and err ("<step>: No such device"). */
static unsigned dev_index(const char *dev, const char *step, char *err)
{
	unsigned idx = if_nametoindex(dev);

	if (!idx)
		seterr(err, "%s: %s", step, strerror(errno));
	return idx;
}

/* "fd00::1/64" into s (INET6_ADDRSTRLEN + 4 bytes). */
static void fmt_prefix(char *s, size_t n, const struct in6_addr *a, unsigned plen)
{
	char t[INET6_ADDRSTRLEN];

	inet_ntop(AF_INET6, a, t, sizeof(t));
	snprintf(s, n, "%s/%u", t, plen);
}

/* Dump request type (RTM_GETADDR, RTM_GETROUTE) for AF_INET6, whose family
 * header (ifaddrmsg, rtmsg: family first) is hdrlen bytes, passing each
 * message to cb(msg, data).  A dump the kernel flags as interrupted (the
 * table changed meanwhile: libmnl says EINTR) is restarted after reset(data),
 * up to three times.  Returns 0 or -1 (errno, err). */
static int nl_dump(uint16_t type, size_t hdrlen, const char *step, mnl_cb_t cb,
		   void *data, void (*reset)(void *), char *err)
{
	struct nlmsghdr *nlh;
	unsigned char *fam;
	int ret = -1;

	for (int tries = 0; tries < 3; tries++) {
		if (!(nlh = nl_new(type, NLM_F_DUMP, step, err)))
			return -1;
		fam = mnl_nlmsg_put_extra_header(nlh, hdrlen);
		*fam = AF_INET6;
		reset(data);
		ret = nl_talk(nlh, (char *)nlh, step, cb, data, err);
		free(nlh);
		if (ret == 0 || errno != EINTR)
			break;
	}
	return ret;
}

/* ---- link ---- */

/* RTM_NEWLINK on dev changing the IFF_UP flag and/or setting the MTU
 * (mtu 0: unchanged).  Returns 0 or -1 (errno, err). */
static int link_change(const char *dev, int change_up, int up, unsigned mtu,
		       unsigned txqlen, const char *step, char *err)
{
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	unsigned idx;
	int ret;

	if (!(idx = dev_index(dev, step, err)))
		return -1;
	if (!(nlh = nl_new(RTM_NEWLINK, 0, step, err)))
		return -1;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)idx;
	if (change_up) {
		ifi->ifi_change = IFF_UP;
		ifi->ifi_flags = up ? IFF_UP : 0;
	}
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	if (txqlen)
		mnl_attr_put_u32(nlh, IFLA_TXQLEN, txqlen);
	ret = nl_talk(nlh, (char *)nlh, step, NULL, NULL, err);
	free(nlh);
	return ret;
}

/* Bring dev up (up != 0) or down.  Returns 0 or -1 (errno, err). */
int tun_set_up(const char *dev, int up, char *err)
{
	char step[STEPLEN];

	snprintf(step, sizeof(step), "RTM_NEWLINK %s %s", dev, up ? "up" : "down");
	return link_change(dev, 1, up, 0, 0, step, err);
}

/* Set the link MTU of dev (not the IPv6 sysctl, which link up resets).
 * Returns 0 or -1 (errno, err). */
int tun_set_mtu(const char *dev, unsigned mtu, char *err)
{
	char step[STEPLEN];

	snprintf(step, sizeof(step), "RTM_NEWLINK %s mtu %u", dev, mtu);
	if (mtu == 0) {
		errno = EINVAL;
		seterr(err, "%s: MTU 0", step);
		return -1;
	}
	return link_change(dev, 0, 0, mtu, 0, step, err);
}

/* Set the transmit queue length of dev: the packets the kernel holds for
 * the reader before it drops.  Returns 0 or -1 (errno, err). */
int tun_set_txqueuelen(const char *dev, unsigned len, char *err)
{
	char step[STEPLEN];

	snprintf(step, sizeof(step), "RTM_NEWLINK %s txqueuelen %u", dev, len);
	if (len == 0) {
		errno = EINVAL;
		seterr(err, "%s: length 0", step);
		return -1;
	}
	return link_change(dev, 0, 0, 0, len, step, err);
}

/* ---- addresses ---- */

/* Remove addr/plen from dev.  A missing address counts as success.
 * Returns 0 or -1 (errno, err). */
int tun_addr_del(const char *dev, const struct in6_addr *addr, unsigned plen, char *err)
{
	char step[STEPLEN], pfx[INET6_ADDRSTRLEN + 8];
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	unsigned idx;
	int ret;

	fmt_prefix(pfx, sizeof(pfx), addr, plen);
	snprintf(step, sizeof(step), "RTM_DELADDR %s on %s", pfx, dev);
	if (!(idx = dev_index(dev, step, err)))
		return -1;
	if (!(nlh = nl_new(RTM_DELADDR, 0, step, err)))
		return -1;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET6;
	ifa->ifa_prefixlen = (unsigned char)plen;
	ifa->ifa_index = idx;
	mnl_attr_put(nlh, IFA_LOCAL, sizeof(*addr), addr);
	mnl_attr_put(nlh, IFA_ADDRESS, sizeof(*addr), addr);
	ret = nl_talk(nlh, (char *)nlh, step, NULL, NULL, err);
	free(nlh);
	if (ret < 0 && errno == EADDRNOTAVAIL) {
		ret = 0;
		if (err)
			err[0] = '\0';
	}
	return ret;
}

/* Add addr/plen to dev (scope chosen by the kernel, lifetimes forever),
 * IFA_F_NODAD if nodad.  An existing address counts as success (see the top
 * of this file).  Returns 0 or -1 (errno, err). */
int tun_addr_add(const char *dev, const struct in6_addr *addr, unsigned plen,
		 int nodad, char *err)
{
	char step[STEPLEN], pfx[INET6_ADDRSTRLEN + 8];
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	unsigned idx;
	int ret;

	fmt_prefix(pfx, sizeof(pfx), addr, plen);
	snprintf(step, sizeof(step), "RTM_NEWADDR %s on %s", pfx, dev);
	if (plen > 128) {
		errno = EINVAL;
		seterr(err, "%s: prefix length over 128", step);
		return -1;
	}
	if (!(idx = dev_index(dev, step, err)))
		return -1;
	if (!(nlh = nl_new(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, step, err)))
		return -1;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET6;
	ifa->ifa_prefixlen = (unsigned char)plen;
	ifa->ifa_flags = nodad ? IFA_F_NODAD : 0;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = idx;
	mnl_attr_put(nlh, IFA_LOCAL, sizeof(*addr), addr);
	mnl_attr_put(nlh, IFA_ADDRESS, sizeof(*addr), addr);
	if (nodad)
		mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
	ret = nl_talk(nlh, (char *)nlh, step, NULL, NULL, err);
	free(nlh);
	if (ret < 0 && errno == EEXIST) {
		ret = 0;
		if (err)
			err[0] = '\0';
	}
	return ret;
}

/* What an address dump collects. */
struct addr_walk {
	unsigned idx;		/* the device */
	char *out, *ll;		/* non-link-local lines, link-local lines */
	size_t outlen, olen, lllen, llused;
	int count, overflow;
	struct in6_addr first_ll;
	int have_ll;
};

/* Append line + '\n' to buf (size cap, used *used).  Returns 0 or -1 if full. */
static int append_line(char *buf, size_t cap, size_t *used, const char *line)
{
	size_t n = strlen(line);

	if (!buf || *used + n + 2 > cap)
		return -1;
	memcpy(buf + *used, line, n);
	buf[*used + n] = '\n';
	*used += n + 1;
	buf[*used] = '\0';
	return 0;
}

/* The address of one RTM_NEWADDR message: IFA_LOCAL (set with a peer), else
 * IFA_ADDRESS.  Returns 0, or -1 if it has none. */
static int addr_of_msg(const struct nlmsghdr *nlh, struct in6_addr *a)
{
	const struct nlattr *attr, *local = NULL, *addr = NULL;

	mnl_attr_for_each(attr, nlh, sizeof(struct ifaddrmsg)) {
		if (mnl_attr_get_payload_len(attr) != sizeof(*a))
			continue;
		if (mnl_attr_get_type(attr) == IFA_LOCAL)
			local = attr;
		else if (mnl_attr_get_type(attr) == IFA_ADDRESS)
			addr = attr;
	}
	if (!local)
		local = addr;
	if (!local)
		return -1;
	memcpy(a, mnl_attr_get_payload(local), sizeof(*a));
	return 0;
}

/* One message of the RTM_GETADDR dump: keep dev's IPv6 addresses. */
static int addr_walk_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	struct addr_walk *w = data;
	char line[INET6_ADDRSTRLEN + 8];
	struct in6_addr a;
	int r;

	if (nlh->nlmsg_type != RTM_NEWADDR ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa) ||
	    ifa->ifa_family != AF_INET6 || ifa->ifa_index != w->idx ||
	    addr_of_msg(nlh, &a) < 0)
		return MNL_CB_OK;
	fmt_prefix(line, sizeof(line), &a, ifa->ifa_prefixlen);
	if (IN6_IS_ADDR_LINKLOCAL(&a)) {
		if (!w->have_ll) {
			w->first_ll = a;
			w->have_ll = 1;
		}
		r = append_line(w->ll, w->lllen, &w->llused, line);
	} else {
		r = append_line(w->out, w->outlen, &w->olen, line);
	}
	if (r < 0)
		w->overflow = 1;
	w->count++;
	return MNL_CB_OK;
}

/* Start an address walk (again): nothing collected yet. */
static void addr_walk_reset(void *data)
{
	struct addr_walk *w = data;

	w->olen = w->llused = 0;
	w->count = w->overflow = w->have_ll = 0;
	if (w->out)
		w->out[0] = '\0';
	if (w->ll)
		w->ll[0] = '\0';
}

/* Dump the IPv6 addresses of dev into w.  Returns 0 or -1 (errno, err). */
static int addr_dump(const char *dev, struct addr_walk *w, char *err)
{
	char step[STEPLEN];

	snprintf(step, sizeof(step), "RTM_GETADDR %s", dev);
	if (!(w->idx = dev_index(dev, step, err)))
		return -1;
	return nl_dump(RTM_GETADDR, sizeof(struct ifaddrmsg), step, addr_walk_cb, w,
		       addr_walk_reset, err);
}

/* List dev's IPv6 addresses as "ADDR/PLEN\n" lines into out: all
 * non-link-local addresses first, then the link-local ones, each group in
 * the kernel's order.  Returns the number of entries, or -1 (errno, err;
 * ENOSPC if out is too small). */
int tun_list_addrs(const char *dev, char *out, size_t outlen, char *err)
{
	struct addr_walk w = { .out = out, .outlen = outlen, .lllen = outlen };
	int ret = -1;

	if (!out || outlen == 0) {
		errno = EINVAL;
		seterr(err, "list addresses of %s: no output buffer", dev);
		return -1;
	}
	out[0] = '\0';
	w.ll = calloc(1, outlen);
	if (!w.ll) {
		seterr(err, "list addresses of %s: %s", dev, strerror(errno));
		return -1;
	}
	if (addr_dump(dev, &w, err) < 0)
		goto out;
	if (w.overflow || (w.llused && w.olen + w.llused + 1 > outlen)) {
		errno = ENOSPC;
		seterr(err, "list addresses of %s: output buffer too small", dev);
		goto out;
	}
	memcpy(out + w.olen, w.ll, w.llused + 1);
	ret = w.count;
out:
	free(w.ll);
	return ret;
}

/* The first link-local address of dev in the kernel's order into out.
 * Returns 0 if found, -1 otherwise (errno ENOENT if dev has none). */
int tun_link_local(const char *dev, struct in6_addr *out)
{
	struct addr_walk w = { 0 };

	if (addr_dump(dev, &w, NULL) < 0)
		return -1;
	if (!w.have_ll) {
		errno = ENOENT;
		return -1;
	}
	*out = w.first_ll;
	return 0;
}

/* ---- routes ---- */

/* RTM_NEWROUTE/RTM_DELROUTE of dst/plen on dev in the main table, with gw
 * (NULL: on-link) and metric (0: the kernel's default, 1024) for adding.
 * Returns 0 or -1 (errno, err). */
static int route_change(uint16_t type, const char *dev, const struct in6_addr *dst,
			unsigned plen, const struct in6_addr *gw, unsigned metric, char *err)
{
	char step[STEPLEN], pfx[INET6_ADDRSTRLEN + 8], via[INET6_ADDRSTRLEN] = "";
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	unsigned idx;
	int ret;

	fmt_prefix(pfx, sizeof(pfx), dst, plen);
	if (gw)
		inet_ntop(AF_INET6, gw, via, sizeof(via));
	snprintf(step, sizeof(step), "%s %s%s%s on %s",
		 type == RTM_NEWROUTE ? "RTM_NEWROUTE" : "RTM_DELROUTE",
		 pfx, gw ? " via " : "", via, dev);
	if (plen > 128) {
		errno = EINVAL;
		seterr(err, "%s: prefix length over 128", step);
		return -1;
	}
	if (!(idx = dev_index(dev, step, err)))
		return -1;
	if (!(nlh = nl_new(type, type == RTM_NEWROUTE ? NLM_F_CREATE : 0, step, err)))
		return -1;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET6;
	rtm->rtm_dst_len = (unsigned char)plen;
	rtm->rtm_table = RT_TABLE_MAIN;
	/* Ours are static; a deletion matches any protocol (unspecified), as
	 * the kernel's own routes (a SLAAC prefix's) are proto kernel. */
	rtm->rtm_protocol = type == RTM_NEWROUTE ? RTPROT_STATIC : RTPROT_UNSPEC;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put(nlh, RTA_DST, sizeof(*dst), dst);
	mnl_attr_put_u32(nlh, RTA_OIF, idx);
	if (gw)
		mnl_attr_put(nlh, RTA_GATEWAY, sizeof(*gw), gw);
	if (metric)
		mnl_attr_put_u32(nlh, RTA_PRIORITY, metric);
	ret = nl_talk(nlh, (char *)nlh, step, NULL, NULL, err);
	free(nlh);
	return ret;
}

/* Add the route dst/plen on dev, via gw (NULL: on-link), metric (0: kernel
 * default 1024), main table.  An identical existing route counts as
 * success.  Returns 0 or -1 (errno, err). */
int tun_route_add(const char *dev, const struct in6_addr *dst, unsigned plen,
		  const struct in6_addr *gw, unsigned metric, char *err)
{
	int ret = route_change(RTM_NEWROUTE, dev, dst, plen, gw, metric, err);

	if (ret < 0 && errno == EEXIST) {
		ret = 0;
		if (err)
			err[0] = '\0';
	}
	return ret;
}

/* An IPv4 route dst/plen on dev (scope link) in the main table: another
 * program's TUN, e.g. the NAT64 translator's pool.  An identical existing
 * route counts as success.  Returns 0 or -1 (errno, err). */
int tun_route4_add(const char *dev, const struct in_addr *dst, unsigned plen, char *err)
{
	char step[STEPLEN], a[INET_ADDRSTRLEN];
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	unsigned idx;
	int ret;

	snprintf(step, sizeof(step), "RTM_NEWROUTE %s/%u on %s",
		 inet_ntop(AF_INET, dst, a, sizeof(a)), plen, dev);
	if (plen > 32) {
		errno = EINVAL;
		seterr(err, "%s: prefix length over 32", step);
		return -1;
	}
	if (!(idx = dev_index(dev, step, err)) ||
	    !(nlh = nl_new(RTM_NEWROUTE, NLM_F_CREATE, step, err)))
		return -1;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = (unsigned char)plen;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put(nlh, RTA_DST, sizeof(*dst), dst);
	mnl_attr_put_u32(nlh, RTA_OIF, idx);
	ret = nl_talk(nlh, (char *)nlh, step, NULL, NULL, err);
	free(nlh);
	if (ret < 0 && errno == EEXIST) {
		ret = 0;
		if (err)
			err[0] = '\0';
	}
	return ret;
}

/* Delete the (first) route dst/plen on dev from the main table, whatever its
 * gateway, metric and protocol (ours or the kernel's).  Returns 0, or -1
 * (errno, err; ESRCH if none). */
int tun_route_del(const char *dev, const struct in6_addr *dst, unsigned plen, char *err)
{
	return route_change(RTM_DELROUTE, dev, dst, plen, NULL, 0, err);
}

/* What a route dump collects. */
struct route_walk {
	unsigned idx;
	char *out;
	size_t outlen, used;
	int count, overflow;
};

/* Attributes of one route message that the listing needs. */
struct route_attrs {
	struct in6_addr dst, gw;
	int has_gw;
	unsigned oif, table;
	const struct nlattr *multipath;
};

/* Collect the attributes of route message nlh into ra. */
static void route_parse(const struct nlmsghdr *nlh, struct route_attrs *ra)
{
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct rtmsg)) {
		uint16_t len = mnl_attr_get_payload_len(a);

		switch (mnl_attr_get_type(a)) {
		case RTA_DST:
			if (len == sizeof(ra->dst))
				memcpy(&ra->dst, mnl_attr_get_payload(a), len);
			break;
		case RTA_GATEWAY:
			if (len == sizeof(ra->gw)) {
				memcpy(&ra->gw, mnl_attr_get_payload(a), len);
				ra->has_gw = 1;
			}
			break;
		case RTA_OIF:
			if (len == 4)
				ra->oif = mnl_attr_get_u32(a);
			break;
		case RTA_TABLE:
			if (len == 4)
				ra->table = mnl_attr_get_u32(a);
			break;
		case RTA_MULTIPATH:
			ra->multipath = a;
			break;
		}
	}
}

/* Append "PFX" or "PFX via GW" for one next hop to w. */
static void route_emit(struct route_walk *w, const char *pfx, const struct in6_addr *gw)
{
	char line[2 * INET6_ADDRSTRLEN + 16], via[INET6_ADDRSTRLEN];

	if (gw) {
		inet_ntop(AF_INET6, gw, via, sizeof(via));
		snprintf(line, sizeof(line), "%s via %s", pfx, via);
	} else {
		snprintf(line, sizeof(line), "%s", pfx);
	}
	if (append_line(w->out, w->outlen, &w->used, line) < 0)
		w->overflow = 1;
	w->count++;
}

/* The next hops of an RTA_MULTIPATH route that leave through w's device. */
static void route_emit_multipath(struct route_walk *w, const char *pfx,
				 const struct nlattr *mp)
{
	const char *p = mnl_attr_get_payload(mp);
	size_t left = mnl_attr_get_payload_len(mp);

	while (left >= sizeof(struct rtnexthop)) {
		const struct rtnexthop *nh = (const void *)p;
		size_t nlen = RTNH_ALIGN(nh->rtnh_len);
		const struct nlattr *a;
		struct in6_addr gw;
		int has_gw = 0;

		if (nh->rtnh_len < sizeof(*nh) || nh->rtnh_len > left)
			break;
		for (a = (const void *)RTNH_DATA(nh);
		     mnl_attr_ok(a, (const char *)nh + nh->rtnh_len - (const char *)a);
		     a = mnl_attr_next(a)) {
			if (mnl_attr_get_type(a) == RTA_GATEWAY &&
			    mnl_attr_get_payload_len(a) == sizeof(gw)) {
				memcpy(&gw, mnl_attr_get_payload(a), sizeof(gw));
				has_gw = 1;
			}
		}
		if ((unsigned)nh->rtnh_ifindex == w->idx)
			route_emit(w, pfx, has_gw ? &gw : NULL);
		if (nlen >= left)
			break;
		p += nlen;
		left -= nlen;
	}
}

/* Start a route walk (again): nothing collected yet. */
static void route_walk_reset(void *data)
{
	struct route_walk *w = data;

	w->used = 0;
	w->count = w->overflow = 0;
	w->out[0] = '\0';
}

/* The kernel's own fe80::/64 route of every IPv6 device. */
static int is_kernel_ll_route(const struct rtmsg *rtm, const struct in6_addr *dst)
{
	return rtm->rtm_protocol == RTPROT_KERNEL && rtm->rtm_dst_len == 64 &&
	       dst->s6_addr32[0] == htonl(0xfe800000) && dst->s6_addr32[1] == 0;
}

/* One message of the RTM_GETROUTE dump: keep main-table unicast routes out
 * of w's device, except the kernel's fe80::/64. */
static int route_walk_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct route_walk *w = data;
	struct route_attrs ra;
	char pfx[INET6_ADDRSTRLEN + 8];

	if (nlh->nlmsg_type != RTM_NEWROUTE ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm) ||
	    rtm->rtm_family != AF_INET6 || rtm->rtm_type != RTN_UNICAST ||
	    (rtm->rtm_flags & RTM_F_CLONED))
		return MNL_CB_OK;
	memset(&ra, 0, sizeof(ra));
	ra.table = rtm->rtm_table;
	route_parse(nlh, &ra);
	if (ra.table != RT_TABLE_MAIN || is_kernel_ll_route(rtm, &ra.dst))
		return MNL_CB_OK;
	fmt_prefix(pfx, sizeof(pfx), &ra.dst, rtm->rtm_dst_len);
	if (ra.multipath)
		route_emit_multipath(w, pfx, ra.multipath);
	else if (ra.oif == w->idx)
		route_emit(w, pfx, ra.has_gw ? &ra.gw : NULL);
	return MNL_CB_OK;
}

/* List dev's IPv6 routes in the main table as "PFX/LEN" or "PFX/LEN via GW"
 * lines, in the kernel's order, leaving out local, multicast and the
 * kernel's fe80::/64 routes; a multipath route gives one line per next hop
 * through dev.  Returns the number of entries, or -1 (errno, err; ENOSPC if
 * out is too small). */
int tun_list_routes(const char *dev, char *out, size_t outlen, char *err)
{
	struct route_walk w = { .out = out, .outlen = outlen };
	char step[STEPLEN];

	snprintf(step, sizeof(step), "RTM_GETROUTE %s", dev);
	if (!out || outlen == 0) {
		errno = EINVAL;
		seterr(err, "%s: no output buffer", step);
		return -1;
	}
	out[0] = '\0';
	if (!(w.idx = dev_index(dev, step, err)))
		return -1;
	if (nl_dump(RTM_GETROUTE, sizeof(struct rtmsg), step, route_walk_cb, &w,
		    route_walk_reset, err) < 0)
		return -1;
	if (w.overflow) {
		errno = ENOSPC;
		seterr(err, "%s: output buffer too small", step);
		return -1;
	}
	return w.count;
}

/* Remove the addresses of dev inside prefix/64 and that prefix's route:
 * what the kernel configured from the RA of a link that is gone, so that
 * source address selection stops choosing it.  Returns 0 or -1. */
int tun_forget_prefix(const char *dev, const struct in6_addr *prefix, char *err)
{
	struct ifaddrs *ifa, *i;
	int rc = 0;

	if (getifaddrs(&ifa) < 0) {
		seterr(err, "getifaddrs: %s", strerror(errno));
		return -1;
	}
	for (i = ifa; i; i = i->ifa_next) {
		const struct sockaddr_in6 *a = (const void *)i->ifa_addr;
		if (!a || a->sin6_family != AF_INET6 || strcmp(i->ifa_name, dev) ||
		    memcmp(&a->sin6_addr, prefix, 8))
			continue;
		if (tun_addr_del(dev, &a->sin6_addr, 64, err) < 0)
			rc = -1;
	}
	freeifaddrs(ifa);
	if (tun_route_del(dev, prefix, 64, err) < 0 && errno != ESRCH)
		rc = -1;
	return rc;
}
