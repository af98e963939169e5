/* The advertised DNS through resolvconf, or by rewriting /etc/resolv.conf
 * with the original kept beside it (see dns.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "client/client.h"
#include "client/dns.h"
#include "common/log.h"

#define MARKER_PREFIX RESOLV_CONF ".iphttps-"
#define ABSENT "iphttps:no-resolv.conf"  /* a kept symlink to this: there was none */
#define RC_TIMEOUT_MS 15000             /* resolvconf runs its subscribers: slow on a busy host */
#define ORIGINAL_MAX (256 * 1024)

size_t resolv_text(const struct client *c, char *out, size_t len)
{
	const struct dns_set *s = &c->dns.want;
	char a[INET6_ADDRSTRLEN];
	size_t n = 0;

	out[0] = 0;
	/* The C library reads three nameservers at most. */
	for (size_t i = 0; i < s->n_servers && i < 3 && n < len; i++)
		n += (size_t)snprintf(out + n, len - n, "nameserver %s%s%s\n",
				      inet_ntop(AF_INET6, &s->servers[i], a, sizeof(a)),
				      /* a link-local server is reached through the TUN */
				      IN6_IS_ADDR_LINKLOCAL(&s->servers[i]) ? "%" : "",
				      IN6_IS_ADDR_LINKLOCAL(&s->servers[i]) ? dns_ifname(c) : "");
	for (size_t i = 0; i < s->n_domains && n < len; i++)
		n += (size_t)snprintf(out + n, len - n, "%s%s%s", i ? " " : "search ", s->domains[i],
				      i + 1 == s->n_domains ? "\n" : "");
	return n < len ? n : len - 1;
}

/* ---- resolvconf ---- */

int resolvconf_present(struct client *c)
{
	struct dns *d = &c->dns;
	char real[PATH_MAX], *buf, *base;
	ssize_t n;
	int fd;

	if (proc_find_program("resolvconf", d->rc_path, sizeof(d->rc_path)) < 0 || !realpath(d->rc_path, real))
		return 0;
	base = strrchr(real, '/');
	if (base && !strcmp(base + 1, "resolvectl"))
		return 0;       /* systemd's: works only when resolved runs */
	if ((fd = open(real, O_RDONLY | O_CLOEXEC)) < 0 || !(buf = malloc(65537))) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	n = read(fd, buf, 65536);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	d->rc_openresolv = strstr(buf, "openresolv") != NULL;
	free(buf);
	return 1;
}

/* resolvconf -a (add, the servers on its stdin) or -d for the TUN.
 * openresolv marks the interface exclusive (-x): its servers alone are
 * used, every name goes through the tunnel.  Debian's resolvconf takes a
 * record name IFACE.PROG. */
static void rc_argv(struct client *c, int add, char *name, size_t nlen, char *argv[8])
{
	struct dns *d = &c->dns;
	int n = 0;

	snprintf(name, nlen, d->rc_openresolv ? "%s" : "%s.iphttps", dns_ifname(c));
	argv[n++] = d->rc_path;
	argv[n++] = (char *)(add ? "-a" : "-d");
	argv[n++] = name;
	if (add && d->rc_openresolv)
		argv[n++] = (char *)"-x";
	if (!add && d->rc_openresolv)
		argv[n++] = (char *)"-f";   /* no complaint if it is gone already */
	argv[n] = NULL;
}

static void rc_exited(struct proc *p, int st, void *arg)
{
	struct client *c = arg;
	char why[PROC_LINE + 64];

	snprintf(why, sizeof(why), "resolvconf %s%s%s", p->last_exit_text, p->last_line[0] ? ": " : "",
		 p->last_line);
	proc_release(p);
	dns_done(c, MECH_RESOLVCONF, WIFEXITED(st) && WEXITSTATUS(st) == 0, why);
}

static void rc_run(struct client *c, int add, int wait)
{
	struct dns *d = &c->dns;
	char text[RESOLV_MAX], name[32], out[512], err[ERRLEN], *argv[8];
	struct proc *p = &d->rc;
	int st, fd;

	resolv_text(c, text, sizeof(text));
	rc_argv(c, add, name, sizeof(name), argv);
	if (wait) {
		st = proc_run_sync(argv, add ? text : "", RC_TIMEOUT_MS, out, sizeof(out), err);
		if (st < 0)
			snprintf(out, sizeof(out), "%s", err);
		dns_done(c, MECH_RESOLVCONF, st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, out);
		return;
	}
	memset(p, 0, sizeof(*p));
	p->name = "resolvconf";
	memcpy(p->argv, argv, sizeof(argv));
	p->on_exit = rc_exited;
	p->arg = c;
	p->run_timeout_ms = RC_TIMEOUT_MS;
	fd = memfd_create("iphttps-dns", MFD_CLOEXEC);
	if (fd < 0 || (add && write(fd, text, strlen(text)) != (ssize_t)strlen(text)) || lseek(fd, 0, SEEK_SET) < 0) {
		snprintf(err, sizeof(err), "memfd: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		dns_done(c, MECH_RESOLVCONF, 0, err);
		return;
	}
	p->stdin_fd = fd;
	st = proc_start(&c->ev, p, err);
	close(fd);
	if (st < 0) {
		proc_release(p);
		dns_done(c, MECH_RESOLVCONF, 0, err);
	}
}

void resolvconf_apply(struct client *c)
{
	rc_run(c, 1, 0);
}

void resolvconf_revert(struct client *c, int wait)
{
	rc_run(c, 0, wait);
}

/* ---- /etc/resolv.conf ---- */

static void marker_path(const struct client *c, char *out, size_t len)
{
	snprintf(out, len, MARKER_PREFIX "%s", dns_ifname(c));
}

static void header(const struct client *c, char *out, size_t len)
{
	snprintf(out, len, "# Written by the iphttps client for %s: the tunnel's DNS servers.\n"
		 "# The original is kept as " MARKER_PREFIX "%s and put back when the link goes down.\n",
		 dns_ifname(c), dns_ifname(c));
}

/* The bytes of path (following a symlink), NUL-terminated; -1 if none. */
static ssize_t read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;
	ssize_t r = 0;

	if (fd < 0)
		return -1;
	while (n + 1 < len && (r = read(fd, buf + n, len - 1 - n)) > 0)
		n += (size_t)r;
	close(fd);
	buf[n] = 0;
	return r < 0 ? -1 : (ssize_t)n;
}

/* text to path: a temporary file renamed over it; where path is a mount
 * point (a container's bind-mounted resolv.conf) rewritten in place. */
static int write_over(const char *path, const char *text, size_t len, mode_t mode, char *err, size_t elen)
{
	char tmp[PATH_MAX];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.iphttps-tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd >= 0 && fchmod(fd, mode) == 0 && write(fd, text, len) == (ssize_t)len && fsync(fd) == 0 &&
	    close(fd) == 0) {
		fd = -1;
		if (rename(tmp, path) == 0)
			return 0;
		if (errno != EBUSY && errno != EXDEV) {
			snprintf(err, elen, "rename %s: %s", path, strerror(errno));
			unlink(tmp);
			return -1;
		}
	}
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || close(fd) < 0) {
		snprintf(err, elen, "writing %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return 0;
}

/* Keep RESOLV_CONF as it is (bytes and mode, the symlink it is, or its
 * absence) in the marker. */
static int keep_original(const char *marker, char *err, size_t elen)
{
	char target[PATH_MAX], tmp[PATH_MAX], *buf;
	struct stat st;
	ssize_t n;
	int r, absent;

	snprintf(tmp, sizeof(tmp), "%s.tmp", marker);
	unlink(tmp);
	if ((absent = lstat(RESOLV_CONF, &st) < 0) || S_ISLNK(st.st_mode)) {
		n = absent ? -1 : readlink(RESOLV_CONF, target, sizeof(target) - 1);
		snprintf(target + (n > 0 ? n : 0), sizeof(target) - (size_t)(n > 0 ? n : 0), "%s", n > 0 ? "" : ABSENT);
		if (symlink(target, tmp) < 0 || rename(tmp, marker) < 0) {
			snprintf(err, elen, "keeping %s as %s: %s", RESOLV_CONF, marker, strerror(errno));
			return -1;
		}
		return 0;
	}
	if (!(buf = malloc(ORIGINAL_MAX)) || (n = read_file(RESOLV_CONF, buf, ORIGINAL_MAX)) < 0) {
		snprintf(err, elen, "reading %s: %s", RESOLV_CONF, strerror(errno));
		free(buf);
		return -1;
	}
	r = write_over(marker, buf, (size_t)n, st.st_mode & 07777, err, elen);
	free(buf);
	if (r == 0 && st.st_uid != getuid() && chown(marker, st.st_uid, st.st_gid) < 0)
		log_debug("DNS: chown %s: %s", marker, strerror(errno));
	return r;
}

void file_apply(struct client *c)
{
	struct dns *d = &c->dns;
	char marker[PATH_MAX], err[ERRLEN];
	struct stat st;
	size_t n;

	marker_path(c, marker, sizeof(marker));
	if (lstat(marker, &st) < 0 && keep_original(marker, err, sizeof(err)) < 0) {
		dns_done(c, MECH_FILE, 0, err);
		return;
	}
	header(c, d->written, sizeof(d->written));
	n = strlen(d->written);
	resolv_text(c, d->written + n, sizeof(d->written) - n);
	if (write_over(RESOLV_CONF, d->written, strlen(d->written), 0644, err, sizeof(err)) < 0) {
		d->written[0] = 0;
		dns_done(c, MECH_FILE, 0, err);
		return;
	}
	dns_done(c, MECH_FILE, 1, NULL);
}

/* Put the kept original back, if what is there now is ours: exactly
 * expect, or (expect NULL, after a crash) anything under our header.
 * The marker goes in any case.  0, or -1 with err. */
static int restore(struct client *c, const char *expect, char *err, size_t elen)
{
	char marker[PATH_MAX], target[PATH_MAX], hdr[512], *cur = malloc(RESOLV_MAX + 2);
	struct stat st;
	ssize_t n;
	int ours, r = 0;

	marker_path(c, marker, sizeof(marker));
	if (!cur || lstat(marker, &st) < 0) {
		free(cur);
		return 0;
	}
	header(c, hdr, sizeof(hdr));
	n = read_file(RESOLV_CONF, cur, RESOLV_MAX + 2);
	ours = n >= 0 && (expect ? !strcmp(cur, expect) : !strncmp(cur, hdr, strlen(hdr)));
	free(cur);
	if (!ours) {
		log_warnx("DNS: %s was changed by another program since the tunnel's servers were written: left as it is",
			  RESOLV_CONF);
	} else if (S_ISLNK(st.st_mode) && (n = readlink(marker, target, sizeof(target) - 1)) > 0 &&
		   (target[n] = 0, !strcmp(target, ABSENT))) {
		unlink(RESOLV_CONF);
	} else if (rename(marker, RESOLV_CONF) < 0) {
		char *orig = malloc(ORIGINAL_MAX);
		if (!orig || (n = read_file(marker, orig, ORIGINAL_MAX)) < 0 ||
		    write_over(RESOLV_CONF, orig, (size_t)n, st.st_mode & 07777, err, elen) < 0) {
			if (orig && n < 0)
				snprintf(err, elen, "reading %s: %s", marker, strerror(errno));
			r = -1;
		}
		free(orig);
	}
	if (r == 0)
		unlink(marker);
	return r;
}

void file_revert(struct client *c)
{
	char err[ERRLEN] = "";
	int r = restore(c, c->dns.written, err, sizeof(err));

	c->dns.written[0] = 0;
	dns_done(c, MECH_FILE, r == 0, err);
}

void file_repair(struct client *c)
{
	char marker[PATH_MAX], err[ERRLEN];
	struct stat st;

	marker_path(c, marker, sizeof(marker));
	if (lstat(marker, &st) < 0)
		return;
	log_warnx("DNS: %s is left from a run that did not end cleanly: putting %s back", marker, RESOLV_CONF);
	if (restore(c, NULL, err, sizeof(err)) < 0)
		log_warnx("DNS: %s", err);
}

int file_held_by_other(const struct client *c, char *who, size_t len)
{
	const char *base = &MARKER_PREFIX[5];   /* "resolv.conf.iphttps-" in /etc */
	DIR *dir = opendir("/etc");
	struct dirent *e;
	int held = 0;

	while (dir && !held && (e = readdir(dir))) {
		const char *name = e->d_name + strlen(base);
		size_t l = strlen(e->d_name);
		if (strncmp(e->d_name, base, strlen(base)) || !strcmp(name, dns_ifname(c)) ||
		    (l > 4 && !strcmp(e->d_name + l - 4, ".tmp")) || !strcmp(name, "tmp"))
			continue;   /* not a marker, ours, or a temporary file */
		snprintf(who, len, "%s", name);
		held = 1;
	}
	if (dir)
		closedir(dir);
	return held;
}
