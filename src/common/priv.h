/* Giving up privileges once set up.  After the TUN device, its addresses,
 * the control socket and the listener exist (and the keys were read), a
 * daemon becomes a dedicated unprivileged user (--user, default
 * "iphttps", created by `make install` and the Debian package; "root"
 * keeps uid 0, warned about) with CAP_NET_ADMIN (the TUN's carrier,
 * addresses and routes) and what the programs it restarts need (extra),
 * no way to gain more (no_new_privs, the bounding set emptied of the
 * rest), and a seccomp allow-list of the system calls the steady state
 * makes (libseccomp).
 *
 * A system call outside the list ends the daemon with SIGSYS after one
 * line on stderr naming it ("seccomp: system call N ... is not in the
 * allow-list"), so that a missing entry shows at once in the scenario
 * tests instead of as a silent EPERM somewhere; IPHTTPS_SECCOMP=off in the
 * environment leaves the filter out, IPHTTPS_SECCOMP=log only logs (dmesg)
 * what the list lacks.  A filter is inherited across fork and execve: the
 * daemon runs no program once set up, its helper does (common/helper.h),
 * forked before the drop and set up by priv_helper().
 *
 * Error convention: 0 on success, -1 with a message in err[ERRLEN] naming
 * the step and, for a missing user, the fix. */
#ifndef IPHTTPS_PRIV_H
#define IPHTTPS_PRIV_H

#include <stdint.h>
#include <sys/types.h>

#include "common/errbuf.h"

#define PRIV_DEFAULT_USER "iphttps"

struct priv_user {
	char name[64];
	uid_t uid;
	gid_t gid;
	int drop;               /* 0 for root: keep uid 0 (capabilities still dropped) */
};

/* Look the user up (nothing changes yet). */
int priv_user_lookup(const char *name, struct priv_user *u, char *err);
/* 1 when path can be read by u through the permission bits of the file
 * and of the directories on the way (owner, group or others), as a reload
 * after the drop would need. */
int priv_user_can_read(const struct priv_user *u, const char *path);
/* Become u with CAP_NET_ADMIN and extra (1 << CAP_x) only, then install
 * the seccomp filter. */
int priv_drop(const struct priv_user *u, uint64_t extra, char *err);
/* The helper's privileges: u when become (else the uid it has), the
 * bounding and permitted sets `permitted`, inheritable (for the programs
 * it starts, as ambient capabilities) `inheritable`, nothing effective,
 * no_new_privs; no seccomp filter (the programs it runs would inherit it). */
int priv_helper(const struct priv_user *u, int become, uint64_t permitted, uint64_t inheritable,
		char *err);
/* This process runs programs (the client's helper, client/helper.h):
 * priv_keep keeps the capabilities inheritable too, priv_drop installs
 * no seccomp filter. */
void priv_children_expected(void);

/* Keep uid, drop every capability but CAP_NET_ADMIN and extra (the same
 * as priv_drop for root, without the filter). */
int priv_keep_net_admin(char *err);
int priv_keep(uint64_t extra, char *err);
/* Before anything is set up: does this process hold what a daemon needs,
 * CAP_NET_ADMIN (the TUN device, its addresses and routes) and, to listen on
 * a port below the kernel's unprivileged start (port 0: none),
 * CAP_NET_BIND_SERVICE?  0, or -1 with err naming what is missing. */
int priv_check_daemon(unsigned port, char *err);

#endif
