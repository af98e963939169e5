/* Dropping capabilities: see priv.h. */
#include "common/priv.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int priv_keep(uint64_t extra, char *err)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];
	const uint64_t keep = extra | 1ull << CAP_NET_ADMIN;

	/* The bounding set first (needs CAP_SETPCAP, which we still hold). */
	for (unsigned cap = 0; cap <= 63; cap++) {
		if (keep & (1ull << cap))
			continue;
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1 &&
		    prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) {
			snprintf(err, ERRLEN, "dropping capability %u from the bounding set: %s", cap, strerror(errno));
			return -1;
		}
	}
	memset(data, 0, sizeof(data));
	/* Inheritable too: a child may be given them as ambient (proc.h). */
	data[0].effective = data[0].permitted = data[0].inheritable = (uint32_t)keep;
	data[1].effective = data[1].permitted = data[1].inheritable = (uint32_t)(keep >> 32);
	if (syscall(SYS_capset, &hdr, data) < 0) {
		snprintf(err, ERRLEN, "capset: %s", strerror(errno));
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		snprintf(err, ERRLEN, "no_new_privs: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* 1 if cap is in this process's effective set. */
static int have_cap(unsigned cap)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data) < 0)
		return 0;
	return (data[cap / 32].effective >> (cap % 32)) & 1;
}

/* The first port an unprivileged process may bind in this namespace. */
static unsigned unprivileged_port_start(void)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_unprivileged_port_start", "re");
	unsigned v = 1024;

	if (f) {
		if (fscanf(f, "%u", &v) != 1)
			v = 1024;
		fclose(f);
	}
	return v;
}

int priv_check_daemon(unsigned port, char *err)
{
	const char *who = geteuid() == 0 ? "root without it (a restricted container or unit?)"
					   : "not root";

	if (!have_cap(CAP_NET_ADMIN)) {
		snprintf(err, ERRLEN, "needs CAP_NET_ADMIN to create the TUN device and set its "
			 "addresses and routes, and this process is %s: start it as root (the "
			 "systemd units do) or give it CAP_NET_ADMIN (AmbientCapabilities=)", who);
		return -1;
	}
	if (port && port < unprivileged_port_start() && !have_cap(CAP_NET_BIND_SERVICE)) {
		snprintf(err, ERRLEN, "needs CAP_NET_BIND_SERVICE to listen on port %u (below %u), "
			 "and this process is %s: start it as root, give it CAP_NET_BIND_SERVICE, "
			 "or listen on a higher port", port, unprivileged_port_start(), who);
		return -1;
	}
	return 0;
}

int priv_keep_net_admin(char *err)
{
	return priv_keep(0, err);
}
