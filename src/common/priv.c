/* Giving up privileges: see priv.h. */
#include "common/priv.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/log.h"

static int children_expected;

void priv_children_expected(void)
{
	children_expected = 1;
}

int priv_user_lookup(const char *name, struct priv_user *u, char *err)
{
	struct passwd *pw;

	memset(u, 0, sizeof(*u));
	snprintf(u->name, sizeof(u->name), "%s", name && *name ? name : PRIV_DEFAULT_USER);
	errno = 0;
	if (!(pw = getpwnam(u->name))) {
		snprintf(err, ERRLEN,
			 "--user %s: no such user; create it as `make install` and the Debian package do "
			 "(useradd --system --user-group --home-dir /nonexistent --no-create-home "
			 "--shell /usr/sbin/nologin %s), or name another with --user (--user root keeps root)",
			 u->name, u->name);
		return -1;
	}
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	u->drop = pw->pw_uid != 0;
	return 0;
}

/* 1 when u may use st by bit (S_IRUSR or S_IXUSR, shifted for group and
 * others), through its own permission bits. */
static int user_may(const struct priv_user *u, const struct stat *st, mode_t bit)
{
	if (st->st_uid == u->uid)
		return !!(st->st_mode & bit);
	if (st->st_gid == u->gid)
		return !!(st->st_mode & (bit >> 3));
	return !!(st->st_mode & (bit >> 6));
}

int priv_user_can_read(const struct priv_user *u, const char *path)
{
	char buf[4096], *slash;
	struct stat st;

	if (!u->drop)
		return 1;
	if (stat(path, &st) < 0 || !user_may(u, &st, S_IRUSR))
		return 0;
	/* every directory on the way must let it through */
	if (path[0] != '/' || snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return 1;
	while ((slash = strrchr(buf, '/')) && slash != buf) {
		*slash = 0;
		if (stat(buf, &st) < 0 || !user_may(u, &st, S_IXUSR))
			return 0;
	}
	return 1;
}

static int switch_user(const struct priv_user *u, char *err)
{
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 || setgroups(1, &u->gid) < 0 ||
	    setresgid(u->gid, u->gid, u->gid) < 0 || setresuid(u->uid, u->uid, u->uid) < 0) {
		snprintf(err, ERRLEN, "becoming user %s (uid %u): %s", u->name, (unsigned)u->uid,
			 strerror(errno));
		return -1;
	}
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
#if defined(__SANITIZE_ADDRESS__)
	/* LeakSanitizer attaches to the process at exit: allowed for the same
	 * user only while the process is dumpable (test builds only). */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
#endif
	return 0;
}

/* SIGSYS from the filter: say which call, then die of it (async-signal-safe). */
static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	char msg[240];
	int n = snprintf(msg, sizeof(msg),
			 "seccomp: system call %d (scmp_sys_resolver %d names it) is not in the allow-list "
			 "of src/common/priv.c; the daemon stops (IPHTTPS_SECCOMP=off runs without the filter)\n",
			 si->si_syscall, si->si_syscall);

	if (n > 0 && write(2, msg, (size_t)n) < 0)
		n = 0;
	signal(SIGSYS, SIG_DFL);
	raise(SIGSYS);
	_exit(128 + SIGSYS);
}

/* What the steady state of both daemons calls: the event loop, sockets
 * (the client connects, resolves names and reads its addresses over
 * netlink from a thread per attempt), files (reloads re-read certificates;
 * the client's resolver reads /etc), memory, threads, time, signals,
 * OpenSSL's randomness, the TUN's ioctls.  Under a sanitizer build, what
 * the sanitizer needs at exit as well. */
static const char *const allowed[] = {
	"read", "write", "readv", "writev", "pread64", "pwrite64", "close", "lseek",
	"epoll_wait", "epoll_pwait", "epoll_ctl", "epoll_create1", "poll", "ppoll", "select", "pselect6",
	"socket", "connect", "accept", "accept4", "bind", "listen", "shutdown", "socketpair",
	"sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg",
	"setsockopt", "getsockopt", "getsockname", "getpeername",
	"openat", "open", "newfstatat", "fstat", "stat", "lstat", "statx", "access", "faccessat",
	"faccessat2", "readlink", "readlinkat", "getdents", "getdents64", "fcntl", "ioctl", "unlink", "unlinkat",
	"pipe2", "dup", "dup2", "dup3", "eventfd2", "timerfd_create", "timerfd_settime",
	"timerfd_gettime", "signalfd4", "pidfd_open", "pidfd_send_signal", "waitid", "wait4",
	"mmap", "munmap", "mremap", "mprotect", "madvise", "brk",
	"clone", "clone3", "set_robust_list", "get_robust_list", "rseq", "futex", "set_tid_address",
	"exit", "exit_group", "gettid", "getpid", "getppid", "getuid", "geteuid", "getgid",
	"getegid", "getgroups", "getresuid", "getresgid", "tgkill", "kill", "sched_yield",
	"sched_getaffinity", "prctl", "arch_prctl", "capget", "uname", "sysinfo", "getrlimit",
	"prlimit64", "getrusage", "getcwd", "umask", "fchmod", "chmod", "fchown",
	"clock_gettime", "clock_getres", "clock_nanosleep", "gettimeofday", "nanosleep", "time",
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigtimedwait", "sigaltstack",
	"restart_syscall", "getrandom", "memfd_create", "ftruncate", "fsync", "fdatasync",
	"rename", "renameat", "mkdir", "mkdirat",
	"bpf",          /* the server's workers: claims in the steering maps (net/steer.h) */
	"close_range",  /* a worker forked by the server closes what is not its own */
	"capset",       /* ... and gives up its capabilities (only ever fewer: no_new_privs) */
#if defined(__SANITIZE_ADDRESS__)
	"ptrace", "process_vm_readv", "sched_getparam", "sched_getscheduler",
#endif
	NULL,
};

static int install_seccomp(char *err)
{
	struct sigaction sa;
	scmp_filter_ctx ctx;
	int rc = 0;

	if (children_expected) {
		log_info("seccomp: no filter (this daemon runs other programs)");
		return 0;
	}
	if (getenv("IPHTTPS_SECCOMP") && !strcmp(getenv("IPHTTPS_SECCOMP"), "off")) {
		log_warnx("seccomp: IPHTTPS_SECCOMP=off: running without the system-call filter");
		return 0;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSYS, &sa, NULL);
	/* IPHTTPS_SECCOMP=log: allow everything, the kernel logs what the
	 * list lacks (dmesg, audit type 1326): to find a missing entry. */
	if (!(ctx = seccomp_init(getenv("IPHTTPS_SECCOMP") && !strcmp(getenv("IPHTTPS_SECCOMP"), "log")
				 ? SCMP_ACT_LOG : SCMP_ACT_TRAP))) {
		snprintf(err, ERRLEN, "seccomp_init failed");
		return -1;
	}
	for (size_t i = 0; allowed[i] && rc == 0; i++) {
		int nr = seccomp_syscall_resolve_name(allowed[i]);
		if (nr != __NR_SCMP_ERROR)
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	}
	/* All threads (the client's attempt threads start later and inherit it). */
	if (rc == 0 && (rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc < 0) {
		snprintf(err, ERRLEN, "seccomp: %s", strerror(-rc));
		return -1;
	}
	return 0;
}

/* Empty the bounding set but for keep (needs CAP_SETPCAP: before the
 * user changes). */
static int drop_bounding(uint64_t keep, char *err)
{
	for (unsigned cap = 0; cap <= 63; cap++) {
		if (keep & (1ull << cap))
			continue;
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1 &&
		    prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) {
			snprintf(err, ERRLEN, "dropping capability %u from the bounding set: %s", cap, strerror(errno));
			return -1;
		}
	}
	return 0;
}

int priv_keep(uint64_t extra, char *err)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];
	const uint64_t keep = extra | 1ull << CAP_NET_ADMIN;

	if (drop_bounding(keep, err) < 0)
		return -1;
	memset(data, 0, sizeof(data));
	data[0].effective = data[0].permitted = (uint32_t)keep;
	data[1].effective = data[1].permitted = (uint32_t)(keep >> 32);
	/* Inheritable only for a daemon that runs programs itself: a child
	 * may be given them as ambient (proc.h). */
	if (children_expected) {
		data[0].inheritable = (uint32_t)keep;
		data[1].inheritable = (uint32_t)(keep >> 32);
	}
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

int priv_helper(const struct priv_user *u, int become, uint64_t permitted, uint64_t inheritable,
		char *err)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];

	if (drop_bounding(permitted, err) < 0 || (become && u->drop && switch_user(u, err) < 0))
		return -1;
	memset(data, 0, sizeof(data));
	data[0].permitted = (uint32_t)permitted;
	data[1].permitted = (uint32_t)(permitted >> 32);
	data[0].inheritable = (uint32_t)(inheritable & permitted);
	data[1].inheritable = (uint32_t)((inheritable & permitted) >> 32);
	if (syscall(SYS_capset, &hdr, data) < 0) {
		snprintf(err, ERRLEN, "helper: capset: %s", strerror(errno));
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		snprintf(err, ERRLEN, "helper: no_new_privs: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int priv_drop(const struct priv_user *u, uint64_t extra, char *err)
{
	/* The bounding set while CAP_SETPCAP is still there, the user with the
	 * capabilities kept across the change, then only those kept. */
	if (drop_bounding(extra | 1ull << CAP_NET_ADMIN, err) < 0 || (u->drop && switch_user(u, err) < 0))
		return -1;
	if (priv_keep(extra, err) < 0)
		return -1;
	if (!u->drop && !strcmp(u->name, "root"))
		log_warnx("--user root: running as root (CAP_NET_ADMIN only); a dedicated user is safer");
	return install_seccomp(err);
}
