/* Tests of src/net/tun.c against the real kernel, in a private network
 * namespace (and a private mount namespace, so that /sys can be remounted to
 * show that namespace's devices).  Needs root; exits 77 (skipped) without. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* unshare, pipe2 */
#endif
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/mount.h>

#include "net/tun.h"

#define DEV "ipht0"

/* The fixture: an open TUN named DEV, addr_gen_mode=1 (no automatic
 * link-local, hence no RS and a predictable address list). */
struct fix {
	int fd;
	char name[IFNAMSIZ];
	char err[ERRLEN];
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->name, DEV);
	f->fd = tun_open(f->name, f->err);
	if (f->fd < 0 || sysctl_v6_set(f->name, "addr_gen_mode", "1", f->err) < 0) {
		fprintf(stderr, "setup: %s\n", f->err);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	close(f->fd);	/* a non-persistent TUN goes away with its fd */
	free(f);
	return 0;
}

/* Read a small file into buf, without the trailing newline.  Returns 0 or -1. */
static int read_file(const char *path, char *buf, size_t len)
{
	FILE *fp = fopen(path, "r");
	int ok;

	if (!fp)
		return -1;
	ok = fgets(buf, (int)len, fp) != NULL;
	fclose(fp);
	if (!ok)
		return -1;
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* /sys/class/net/<dev>/<attr> as a string. */
static void sys_attr(const char *dev, const char *attr, char *buf, size_t len)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/class/net/%s/%s", dev, attr);
	assert_int_equal(read_file(path, buf, len), 0);
}

static struct in6_addr a6(const char *s)
{
	struct in6_addr a;

	assert_int_equal(inet_pton(AF_INET6, s, &a), 1);
	return a;
}

/* Does the listing hold exactly this line? */
static int has_line(const char *list, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = list; (p = strstr(p, line)); p++)
		if ((p == list || p[-1] == '\n') && p[n] == '\n')
			return 1;
	return 0;
}

static void test_open(void **state)
{
	struct fix *f = *state;
	char name[IFNAMSIZ] = DEV, err[ERRLEN] = "", any[IFNAMSIZ] = "";
	char buf[64];
	int fd;

	assert_string_equal(f->name, DEV);
	assert_true(f->fd >= 0);
	assert_true(fcntl(f->fd, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(f->fd, F_GETFD) & FD_CLOEXEC);
	assert_true(if_nametoindex(DEV) > 0);
	sys_attr(DEV, "type", buf, sizeof(buf));
	assert_string_equal(buf, "65534");	/* ARPHRD_NONE */
	/* Already attached: EBUSY, with the step in the message. */
	assert_int_equal(tun_open(name, err), -1);
	assert_int_equal(errno, EBUSY);
	assert_non_null(strstr(err, "TUNSETIFF " DEV));
	/* No name: the kernel picks one. */
	fd = tun_open(any, err);
	assert_true(fd >= 0);
	assert_true(any[0] != '\0');
	assert_true(if_nametoindex(any) > 0);
	close(fd);
	/* A name that does not fit. */
	strcpy(err, "");
	assert_int_equal(tun_open((char[40]){"a-name-far-too-long-for-ifnamsiz"}, err), -1);
	assert_int_equal(errno, EINVAL);
	assert_true(err[0] != '\0');
}

static void test_sysctl(void **state)
{
	struct fix *f = *state;
	char buf[64], err[ERRLEN];

	assert_int_equal(sysctl_v6_set(DEV, "accept_ra_rt_info_max_plen", "64", f->err), 0);
	assert_int_equal(read_file("/proc/sys/net/ipv6/conf/" DEV "/accept_ra_rt_info_max_plen",
				   buf, sizeof(buf)), 0);
	assert_string_equal(buf, "64");
	assert_int_equal(sysctl_set_path("net/ipv6/conf/" DEV "/hop_limit", "33", f->err), 0);
	assert_int_equal(read_file("/proc/sys/net/ipv6/conf/" DEV "/hop_limit", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "33");
	/* The kernel refuses the value: the message names the sysctl. */
	assert_int_equal(sysctl_v6_set(DEV, "hop_limit", "not-a-number", err), -1);
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(err, DEV "/hop_limit"));
	assert_int_equal(sysctl_v6_set(DEV, "no_such_key", "1", err), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(sysctl_v6_set("../x", "forwarding", "1", err), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(sysctl_v6_set(DEV, "..", "1", err), -1);
}

static void test_mtu(void **state)
{
	struct fix *f = *state;
	char buf[32], err[ERRLEN];

	assert_int_equal(tun_set_mtu(DEV, 1280, f->err), 0);
	sys_attr(DEV, "mtu", buf, sizeof(buf));
	assert_string_equal(buf, "1280");
	assert_int_equal(tun_set_mtu(DEV, 1400, f->err), 0);
	sys_attr(DEV, "mtu", buf, sizeof(buf));
	assert_string_equal(buf, "1400");
	/* Above the device maximum: the kernel's error, with the step. */
	assert_int_equal(tun_set_mtu(DEV, 70000, err), -1);
	assert_int_equal(errno, EINVAL);
	printf("  (expected error: %s)\n", err);
	assert_non_null(strstr(err, "RTM_NEWLINK " DEV " mtu 70000: Invalid argument"));
	sys_attr(DEV, "mtu", buf, sizeof(buf));
	assert_string_equal(buf, "1400");
}

static void test_up_down(void **state)
{
	struct fix *f = *state;
	char buf[32];

	sys_attr(DEV, "flags", buf, sizeof(buf));
	assert_false(strtoul(buf, NULL, 0) & IFF_UP);
	assert_int_equal(tun_set_up(DEV, 1, f->err), 0);
	sys_attr(DEV, "flags", buf, sizeof(buf));
	assert_true(strtoul(buf, NULL, 0) & IFF_UP);
	assert_int_equal(tun_set_up(DEV, 0, f->err), 0);
	sys_attr(DEV, "flags", buf, sizeof(buf));
	assert_false(strtoul(buf, NULL, 0) & IFF_UP);
}

static void test_addrs(void **state)
{
	struct fix *f = *state;
	struct in6_addr g1 = a6("fd00:1:2:3::1"), g2 = a6("2001:db8:4::1"), ll = a6("fe80::1");
	struct in6_addr got;
	char list[512], tiny[12], err[ERRLEN];

	assert_int_equal(tun_set_up(DEV, 1, f->err), 0);
	assert_int_equal(tun_list_addrs(DEV, list, sizeof(list), f->err), 0);
	assert_string_equal(list, "");
	assert_int_equal(tun_link_local(DEV, &got), -1);
	/* Link-local added first: still listed last. */
	assert_int_equal(tun_addr_add(DEV, &ll, 64, 1, f->err), 0);
	assert_int_equal(tun_addr_add(DEV, &g1, 64, 1, f->err), 0);
	assert_int_equal(tun_addr_add(DEV, &g2, 48, 0, f->err), 0);
	assert_int_equal(tun_list_addrs(DEV, list, sizeof(list), f->err), 3);
	assert_true(has_line(list, "fd00:1:2:3::1/64"));
	assert_true(has_line(list, "2001:db8:4::1/48"));
	assert_int_equal(strlen(list), strlen("fd00:1:2:3::1/64\n2001:db8:4::1/48\nfe80::1/64\n"));
	assert_string_equal(list + strlen(list) - strlen("fe80::1/64\n"), "fe80::1/64\n");
	assert_int_equal(tun_link_local(DEV, &got), 0);
	assert_memory_equal(&got, &ll, sizeof(got));
	/* Adding again: the kernel's EEXIST counts as success. */
	assert_int_equal(tun_addr_add(DEV, &g1, 64, 1, f->err), 0);
	assert_int_equal(tun_list_addrs(DEV, list, sizeof(list), f->err), 3);
	/* Too small an output buffer. */
	assert_int_equal(tun_list_addrs(DEV, tiny, sizeof(tiny), err), -1);
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(tun_addr_add(DEV, &g1, 129, 1, err), -1);
	assert_int_equal(errno, EINVAL);
}

static void test_routes(void **state)
{
	struct fix *f = *state;
	struct in6_addr addr = a6("fd00:1:2:3::1"), gw = a6("fe80::2"), gw2 = a6("fe80::3");
	struct in6_addr r1 = a6("fd00:99::"), r2 = a6("fd00:aa::"), any = a6("::");
	char list[1024], err[ERRLEN];

	assert_int_equal(tun_set_up(DEV, 1, f->err), 0);
	assert_int_equal(tun_addr_add(DEV, &addr, 64, 1, f->err), 0);
	assert_int_equal(tun_route_add(DEV, &r1, 48, &gw, 100, f->err), 0);
	assert_int_equal(tun_route_add(DEV, &r2, 64, NULL, 0, f->err), 0);
	assert_int_equal(tun_route_add(DEV, &any, 0, &gw, 0, f->err), 0);
	assert_int_equal(tun_list_routes(DEV, list, sizeof(list), f->err), 4);
	printf("  routes:\n%s", list);
	assert_true(has_line(list, "fd00:1:2:3::/64"));	/* the address's prefix */
	assert_true(has_line(list, "fd00:99::/48 via fe80::2"));
	assert_true(has_line(list, "fd00:aa::/64"));
	assert_true(has_line(list, "::/0 via fe80::2"));
	assert_null(strstr(list, "fe80::/64"));
	assert_null(strstr(list, "ff00::"));
	/* Adding an identical route again succeeds and adds nothing. */
	assert_int_equal(tun_route_add(DEV, &r1, 48, &gw, 100, f->err), 0);
	assert_int_equal(tun_route_add(DEV, &r2, 64, NULL, 0, f->err), 0);
	assert_int_equal(tun_list_routes(DEV, list, sizeof(list), f->err), 4);
	/* A second gateway, same metric: a multipath route, one line per hop. */
	assert_int_equal(tun_route_add(DEV, &r1, 48, &gw2, 100, f->err), 0);
	assert_int_equal(tun_list_routes(DEV, list, sizeof(list), f->err), 5);
	assert_true(has_line(list, "fd00:99::/48 via fe80::2"));
	assert_true(has_line(list, "fd00:99::/48 via fe80::3"));
	/* Delete (all its next hops), then deleting again fails with ESRCH
	 * naming the step. */
	assert_int_equal(tun_route_del(DEV, &r1, 48, f->err), 0);
	assert_int_equal(tun_list_routes(DEV, list, sizeof(list), f->err), 3);
	assert_null(strstr(list, "fd00:99::"));
	assert_int_equal(tun_route_del(DEV, &r1, 48, err), -1);
	assert_int_equal(errno, ESRCH);
	assert_non_null(strstr(err, "RTM_DELROUTE fd00:99::/48 on " DEV ": "));
	assert_int_equal(tun_route_del(DEV, &r2, 64, f->err), 0);
	assert_int_equal(tun_route_del(DEV, &any, 0, f->err), 0);
	assert_int_equal(tun_list_routes(DEV, list, sizeof(list), f->err), 1);
	assert_string_equal(list, "fd00:1:2:3::/64\n");
}

/* What SLAAC leaves on a client's TUN, as the kernel makes it: an address
 * without a prefix route of its own and the on-link route of the RA's
 * prefix, "proto kernel metric 256" (made here with ip(8), which sets
 * those fields as the kernel's addrconf does).  tun_forget_prefix removes
 * both, whatever protocol the route has. */
static void test_forget_prefix(void **state)
{
	struct fix *f = *state;
	struct in6_addr old = a6("fd00:1:2:3::"), keep = a6("fd00:1:2:4::1");
	char list[1024];

	assert_int_equal(tun_set_up(DEV, 1, f->err), 0);
	assert_int_equal(tun_addr_add(DEV, &keep, 64, 1, f->err), 0);
	assert_int_equal(system("ip -6 addr add fd00:1:2:3:a8c3:1:2:3/64 dev " DEV " noprefixroute nodad"
				" && ip -6 route add fd00:1:2:3::/64 dev " DEV " proto kernel metric 256"
				" expires 86400"), 0);
	assert_int_equal(tun_list_routes(DEV, list, sizeof(list), f->err), 2);
	assert_true(has_line(list, "fd00:1:2:3::/64"));
	assert_int_equal(tun_forget_prefix(DEV, &old, f->err), 0);
	assert_int_equal(tun_list_addrs(DEV, list, sizeof(list), f->err), 1);
	assert_string_equal(list, "fd00:1:2:4::1/64\n");
	assert_int_equal(tun_list_routes(DEV, list, sizeof(list), f->err), 1);
	assert_string_equal(list, "fd00:1:2:4::/64\n");
	/* Nothing left of that prefix: forgetting it again is no error. */
	assert_int_equal(tun_forget_prefix(DEV, &old, f->err), 0);
}

static void test_errors(void **state)
{
	struct fix *f = *state;
	struct in6_addr r = a6("fd00:99::"), gw = a6("fd00:dead::1"), a = a6("fd00::1");
	char err[ERRLEN], list[256];

	assert_int_equal(tun_route_add("nosuch0", &r, 48, NULL, 0, err), -1);
	assert_int_equal(errno, ENODEV);
	printf("  (expected error: %s)\n", err);
	assert_non_null(strstr(err, "RTM_NEWROUTE fd00:99::/48 on nosuch0: No such device"));
	assert_int_equal(tun_addr_add("nosuch0", &a, 64, 1, err), -1);
	assert_non_null(strstr(err, "RTM_NEWADDR fd00::1/64 on nosuch0: No such device"));
	assert_int_equal(tun_set_up("nosuch0", 1, err), -1);
	assert_non_null(strstr(err, "RTM_NEWLINK nosuch0 up"));
	assert_int_equal(tun_set_mtu("nosuch0", 1280, err), -1);
	assert_int_equal(tun_list_addrs("nosuch0", list, sizeof(list), err), -1);
	assert_int_equal(tun_list_routes("nosuch0", list, sizeof(list), err), -1);
	assert_non_null(strstr(err, "RTM_GETROUTE nosuch0"));
	/* Refused by the kernel itself: a gateway that is not on-link. */
	assert_int_equal(tun_set_up(DEV, 1, f->err), 0);
	assert_int_equal(tun_route_add(DEV, &r, 48, &gw, 0, err), -1);
	printf("  (expected error: %s)\n", err);
	assert_non_null(strstr(err, "RTM_NEWROUTE fd00:99::/48 via fd00:dead::1 on " DEV ": "));
	assert_non_null(strstr(err, strerror(errno)));
}

static void test_carrier(void **state)
{
	struct fix *f = *state;
	char buf[16];

	assert_int_equal(tun_set_up(DEV, 1, f->err), 0);
	sys_attr(DEV, "carrier", buf, sizeof(buf));
	assert_string_equal(buf, "1");
	assert_int_equal(tun_set_carrier(f->fd, 0, f->err), 0);
	sys_attr(DEV, "carrier", buf, sizeof(buf));
	assert_string_equal(buf, "0");
	assert_int_equal(tun_set_carrier(f->fd, 1, f->err), 0);
	sys_attr(DEV, "carrier", buf, sizeof(buf));
	assert_string_equal(buf, "1");
	assert_int_equal(tun_set_carrier(-1, 1, f->err), -1);
	assert_non_null(strstr(f->err, "TUNSETCARRIER"));
}

/* The Internet checksum of an IPv6 upper-layer packet (RFC 8200 8.1). */
static uint16_t csum6(const uint8_t *src, const uint8_t *dst, uint8_t nh,
		      const uint8_t *p, size_t len)
{
	uint32_t s = 0;
	size_t i;

	for (i = 0; i < 16; i += 2)
		s += (src[i] << 8 | src[i + 1]) + (dst[i] << 8 | dst[i + 1]);
	s += (uint32_t)(len >> 16) + (uint32_t)(len & 0xffff) + nh;
	for (i = 0; i + 1 < len; i += 2)
		s += p[i] << 8 | p[i + 1];
	if (len & 1)
		s += p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* An echo request src -> dst with id, seq and a 16-byte payload into pkt.
 * Returns its length. */
static size_t build_echo(uint8_t *pkt, const struct in6_addr *src,
			 const struct in6_addr *dst, uint16_t id, uint16_t seq)
{
	uint8_t *icmp = pkt + 40;
	size_t plen = 8 + 16;
	uint16_t c;

	memset(pkt, 0, 40 + plen);
	pkt[0] = 0x60;
	pkt[4] = (uint8_t)(plen >> 8);
	pkt[5] = (uint8_t)plen;
	pkt[6] = 58;	/* ICMPv6 */
	pkt[7] = 64;
	memcpy(pkt + 8, src, 16);
	memcpy(pkt + 24, dst, 16);
	icmp[0] = 128;
	icmp[4] = (uint8_t)(id >> 8);
	icmp[5] = (uint8_t)id;
	icmp[6] = (uint8_t)(seq >> 8);
	icmp[7] = (uint8_t)seq;
	for (int i = 0; i < 16; i++)
		icmp[8 + i] = (uint8_t)('a' + i);
	c = csum6(pkt + 8, pkt + 24, 58, icmp, plen);
	icmp[2] = (uint8_t)(c >> 8);
	icmp[3] = (uint8_t)c;
	return 40 + plen;
}

/* Read packets from fd for up to ms until an ICMPv6 echo reply; its length
 * into *len.  Returns 1 if one came. */
static int read_echo_reply(int fd, int ms, uint8_t *buf, size_t cap, ssize_t *len)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	while (poll(&pfd, 1, ms) == 1) {
		*len = read(fd, buf, cap);
		if (*len >= 48 && (buf[0] >> 4) == 6 && buf[6] == 58 && buf[40] == 129)
			return 1;
		if (*len > 0)
			printf("  (skipping a packet of %zd bytes, next header %u)\n", *len, buf[6]);
	}
	return 0;
}

static void test_echo_through_tun(void **state)
{
	struct fix *f = *state;
	struct in6_addr me = a6("fd00:1:2:3::1"), peer = a6("fd00:1:2:3::2");
	uint8_t req[128], rep[2048];
	size_t n;
	ssize_t got;
	int seq, ok = 0;

	assert_int_equal(tun_set_mtu(DEV, 1280, f->err), 0);
	assert_int_equal(tun_set_up(DEV, 1, f->err), 0);
	assert_int_equal(tun_addr_add(DEV, &me, 64, 1, f->err), 0);
	/* The kernel installs the address's local route from a work queue
	 * just after the ACK, so the very first request may be dropped:
	 * retry a few times. */
	for (seq = 1; seq <= 15 && !ok; seq++) {
		n = build_echo(req, &peer, &me, 0x1234, (uint16_t)seq);
		assert_int_equal(write(f->fd, req, n), (ssize_t)n);
		ok = read_echo_reply(f->fd, 200, rep, sizeof(rep), &got);
	}
	assert_true(ok);
	if (seq > 2)
		printf("  (echo reply to request %d)\n", seq - 1);
	assert_int_equal(got, (ssize_t)n);
	assert_memory_equal(rep + 8, &me, 16);		/* from our address */
	assert_memory_equal(rep + 24, &peer, 16);	/* to the peer */
	assert_int_equal(rep[41], 0);
	assert_memory_equal(rep + 44, req + 44, n - 44);	/* id, seq, data */
	assert_int_equal(csum6(rep + 8, rep + 24, 58, rep + 40, (size_t)got - 40), 0);
}

/* Enter fresh network and mount namespaces, with /sys showing the new one.
 * Returns 0, or 77 when that is not possible here (skip). */
static int enter_namespaces(void)
{
	if (geteuid() != 0) {
		printf("test_tun: skipped, needs root\n");
		return 77;
	}
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0) {
		printf("test_tun: skipped, unshare: %s\n", strerror(errno));
		return errno == EPERM ? 77 : 1;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    umount2("/sys", MNT_DETACH) < 0 ||
	    mount("sysfs", "/sys", "sysfs", 0, NULL) < 0) {
		printf("test_tun: skipped, cannot remount /sys: %s\n", strerror(errno));
		return 77;
	}
	if (access("/dev/net/tun", R_OK | W_OK) < 0) {
		printf("test_tun: skipped, /dev/net/tun: %s\n", strerror(errno));
		return 77;
	}
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sysctl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mtu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_up_down, setup, teardown),
		cmocka_unit_test_setup_teardown(test_addrs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_routes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forget_prefix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_carrier, setup, teardown),
		cmocka_unit_test_setup_teardown(test_echo_through_tun, setup, teardown),
	};
	int r = enter_namespaces();

	if (r)
		return r;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
