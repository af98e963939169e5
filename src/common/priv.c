/* Dropping capabilities: see priv.h. */
#include "common/priv.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int priv_keep_net_admin(char *err)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];
	const unsigned keep = CAP_NET_ADMIN;

	/* The bounding set first (needs CAP_SETPCAP, which we still hold). */
	for (unsigned cap = 0; cap <= 63; cap++) {
		if (cap == keep)
			continue;
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1 &&
		    prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) {
			snprintf(err, ERRLEN, "dropping capability %u from the bounding set: %s", cap, strerror(errno));
			return -1;
		}
	}
	memset(data, 0, sizeof(data));
	data[0].effective = data[0].permitted = 1u << keep;
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
