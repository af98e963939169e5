/* NAT64 with a real translator (see intranet.h).
 *
 * TAYGA (tayga.conf(5), tayga(8)): a persistent TUN made with `tayga
 * --mktun`, the NAT64 prefix and the IPv4 pool routed to it, the daemon run
 * in the foreground (-d: its messages on stderr, logged by us) and restarted
 * when it dies; its dynamic map kept in the state directory, so that a
 * restarted TAYGA gives every client the IPv4 address it had and
 * connections survive.  The kernel masquerades the pool toward the inside:
 * TAYGA is stateless, the kernel's conntrack makes it stateful, as TAYGA's
 * documentation describes.
 *
 * Jool: an instance of the kernel module in netfilter mode (`jool instance
 * add --netfilter --pool6`), which is stateful by itself and uses the
 * host's addresses; where the module does not load, TAYGA.
 *
 * nftables, one table of our own (replaced whole, atomically):
 *   - prerouting (before conntrack and before Jool's hook): toward the NAT64
 *     prefix only from the link's addresses (no client spoofs an inside or
 *     another source through the translator; TAYGA would translate an
 *     IPv4-embedded source as it is), only to the allowed IPv4 ranges, never
 *     to an address of this host nor to the pool;
 *   - TAYGA's side: nothing from its TUN to the host itself (input), only
 *     the pool's sources and the allowed destinations forwarded, no hairpin;
 *     the pool masqueraded. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "net/tun.h"
#include "server/intranet.h"
#include "server/types.h"

#define RUN_TIMEOUT_MS 10000
#define RULESET_MAX 16384

/* Write text to path (mode 0644) through a temporary file and rename. */
static int write_file(const char *path, const char *text, char *err)
{
	char tmp[PATH_MAX];
	size_t len = strlen(text);
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) < 0 || close(fd) < 0 ||
	    rename(tmp, path) < 0) {
		snprintf(err, ERRLEN, "writing %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* Run a set-up command to completion: 0, or -1 with its output in err. */
static int run(char *const argv[], const char *input, char *err)
{
	char out[1024], e[ERRLEN];
	/* CAP_NET_ADMIN for the child: at shutdown the server runs as its
	 * user with that capability only. */
	int st = proc_run_sync_caps(argv, input, RUN_TIMEOUT_MS, 1ull << CAP_NET_ADMIN, out, sizeof(out), e);
	char *nl;

	if (st < 0) {
		snprintf(err, ERRLEN, "%s", e);
		return -1;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	while ((nl = strchr(out, '\n')) && nl[1])
		*nl = ' ';
	if ((nl = strchr(out, '\n')))
		*nl = 0;
	proc_status_text(st, e, sizeof(e));
	snprintf(err, ERRLEN, "%s %s: %s: %s", argv[0], argv[1] ? argv[1] : "", e, out);
	return -1;
}

int nat64_jool_usable(char *why, size_t len)
{
	char path[512], out[256], e[ERRLEN];
	char *const dry[] = { (char *)"modprobe", (char *)"-n", (char *)"-q", (char *)"jool", NULL };
	int st;

	if (proc_find_program("jool", path, sizeof(path)) < 0) {
		snprintf(why, len, "the jool command is not installed (Debian package jool-tools)");
		return 0;
	}
	if (access("/sys/module/jool", F_OK) == 0)
		return 1;
	st = proc_run_sync(dry, NULL, RUN_TIMEOUT_MS, out, sizeof(out), e);
	if (st == 0)
		return 1;
	snprintf(why, len, "the jool kernel module is not loaded and cannot be loaded (Debian package jool-dkms; this kernel may load no modules)");
	return 0;
}

static void addr6(const struct in6_addr *a, unsigned len, char *out, size_t outlen)
{
	char t[INET6_ADDRSTRLEN];

	snprintf(out, outlen, "%s/%u", inet_ntop(AF_INET6, a, t, sizeof(t)), len);
}

/* The addresses a client may not reach through the NAT64, as IPv6: this
 * host's IPv4 addresses and the pool, embedded in the prefix. */
static size_t deny6(const struct intranet *in, char *out, size_t len)
{
	struct ifaddrs *ifa, *i;
	size_t n = 0;
	char a[64];

	if (in->translator == XLAT_TAYGA) {
		addr6((struct in6_addr[]){ nat64_embed(&in->prefix, in->pool.a) }, 96u + in->pool.len, a, sizeof(a));
		n += (size_t)snprintf(out + n, len - n, "%s", a);
	}
	if (getifaddrs(&ifa) == 0) {
		for (i = ifa; i && n < len - 64; i = i->ifa_next) {
			struct cidr4 h = { .len = 32 };
			if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
				continue;
			h.a = ((struct sockaddr_in *)i->ifa_addr)->sin_addr;
			if ((ntohl(h.a.s_addr) >> 24) == 127 || (ntohl(h.a.s_addr) >> 24) == 0 ||
			    (in->translator == XLAT_TAYGA && cidr4_overlap(&h, &in->pool)))
				continue;   /* in the ranges below, or the pool */
			addr6((struct in6_addr[]){ nat64_embed(&in->prefix, ((struct sockaddr_in *)i->ifa_addr)->sin_addr) },
			      128, a, sizeof(a));
			n += (size_t)snprintf(out + n, len - n, "%s%s", n ? ", " : "", a);
		}
		freeifaddrs(ifa);
	}
	/* loopback and 0.0.0.0/8 in any case */
	for (unsigned k = 0; k < 2 && n < len - 64; k++) {
		struct in_addr v = { .s_addr = htonl(k ? 0x7f000000u : 0) };
		addr6((struct in6_addr[]){ nat64_embed(&in->prefix, v) }, 104, a, sizeof(a));
		n += (size_t)snprintf(out + n, len - n, "%s%s", n ? ", " : "", a);
	}
	return n;
}

/* The IPv6 side (both translators), in prerouting before conntrack. */
static size_t rules_pre(const struct intranet *in, char *out, size_t len)
{
	char p[64], link[64], allow[2048] = "", deny[4096], a[64];
	size_t n = 0;

	addr6(&in->prefix, 96, p, sizeof(p));
	addr6(&in->link, in->link_len, link, sizeof(link));
	for (size_t i = 0; i < in->n_allow; i++) {
		addr6((struct in6_addr[]){ nat64_embed(&in->prefix, in->allow[i].a) }, 96u + in->allow[i].len, a, sizeof(a));
		n += (size_t)snprintf(allow + n, sizeof(allow) - n, "%s%s", i ? ", " : "", a);
	}
	deny6(in, deny, sizeof(deny));
	return (size_t)snprintf(out, len,
		"\tset allow6 { type ipv6_addr; flags interval; auto-merge; elements = { %s } }\n"
		"\tset deny6 { type ipv6_addr; flags interval; auto-merge; elements = { %s } }\n"
		"\tchain pre {\n\t\ttype filter hook prerouting priority raw; policy accept;\n"
		"\t\tip6 daddr %s ip6 saddr != %s counter drop comment \"NAT64: source not of the link\"\n"
		"\t\tip6 daddr %s ip6 daddr @deny6 counter reject with icmpv6 admin-prohibited comment \"NAT64: this host or the pool\"\n"
		"\t\tip6 daddr %s ip6 daddr != @allow6 counter reject with icmpv6 admin-prohibited comment \"NAT64: outside the inside network\"\n"
		"\t}\n", allow, deny, p, link, p, p);
}

/* TAYGA's IPv4 side and the masquerading of its pool. */
static size_t rules_tayga(const struct intranet *in, char *out, size_t len)
{
	char pool[40], allow[1024] = "", a[40];
	size_t n = 0;

	cidr4_format(&in->pool, pool, sizeof(pool));
	for (size_t i = 0; i < in->n_allow; i++) {
		cidr4_format(&in->allow[i], a, sizeof(a));
		n += (size_t)snprintf(allow + n, sizeof(allow) - n, "%s%s", i ? ", " : "", a);
	}
	return (size_t)snprintf(out, len,
		"\tset allow4 { type ipv4_addr; flags interval; auto-merge; elements = { %s } }\n"
		"\tchain in4 {\n\t\ttype filter hook input priority filter - 10; policy accept;\n"
		"\t\tiifname \"%s\" counter drop comment \"NAT64: the server host itself\"\n\t}\n"
		"\tchain fwd4 {\n\t\ttype filter hook forward priority filter - 10; policy accept;\n"
		"\t\tiifname \"%s\" oifname \"%s\" counter drop comment \"NAT64: hairpin\"\n"
		"\t\tiifname \"%s\" ip saddr != %s counter drop comment \"NAT64: not from the pool\"\n"
		"\t\tiifname \"%s\" ip daddr != @allow4 counter drop comment \"NAT64: outside the inside network\"\n\t}\n"
		"\tchain post4 {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
		"\t\tip saddr %s oifname != \"%s\" masquerade\n\t}\n",
		allow, in->tun, in->tun, in->tun, in->tun, pool, in->tun, pool, in->tun);
}

/* Replace our table with the rules for the plan, in one transaction. */
static int nft_apply(struct intranet *in, char *err)
{
	char *rs = malloc(RULESET_MAX), *const argv[] = { (char *)"nft", (char *)"-f", (char *)"-", NULL };
	size_t n;
	int r;

	if (!rs) {
		snprintf(err, ERRLEN, "nft: out of memory");
		return -1;
	}
	n = (size_t)snprintf(rs, RULESET_MAX, "add table inet %s\ndelete table inet %s\ntable inet %s {\n",
			     in->table, in->table, in->table);
	n += rules_pre(in, rs + n, RULESET_MAX - n);
	if (in->translator == XLAT_TAYGA && n < RULESET_MAX)
		n += rules_tayga(in, rs + n, RULESET_MAX - n);
	if (n + 3 >= RULESET_MAX) {
		snprintf(err, ERRLEN, "nft: the ruleset is larger than %d bytes", RULESET_MAX);
		free(rs);
		return -1;
	}
	strcat(rs, "}\n");
	r = run(argv, rs, err);
	free(rs);
	if (r == 0)
		in->nft_made = 1;
	return r;
}

/* The map a previous TAYGA wrote (as root, at a start) to the user. */
static int own_map(const char *dir, const struct priv_user *u)
{
	char map[PATH_MAX];

	snprintf(map, sizeof(map), "%s/dynamic.map", dir);
	return chown(map, u->uid, u->gid) < 0 && errno != ENOENT ? -1 : 0;
}

static int tayga_conf(struct server *s, struct intranet *in, char *path, size_t plen, char *err)
{
	char conf[1024], p[INET6_ADDRSTRLEN], pool[40], self[INET_ADDRSTRLEN], data[PATH_MAX];
	struct in_addr me = { .s_addr = htonl(ntohl(in->pool.a.s_addr) + 1) };

	/* TAYGA's map, in the run directory: a restarted TAYGA runs as the
	 * server's user, who owns it (the state directory is root's). */
	snprintf(data, sizeof(data), "%s/%s-tayga", in->dir, s->cfg->tun);
	if ((mkdir(data, 0700) < 0 && errno != EEXIST) ||
	    (s->cfg->run_as.drop && (chown(data, s->cfg->run_as.uid, s->cfg->run_as.gid) < 0 ||
				     own_map(data, &s->cfg->run_as) < 0))) {
		snprintf(err, ERRLEN, "%s: %s", data, strerror(errno));
		return -1;
	}
	cidr4_format(&in->pool, pool, sizeof(pool));
	snprintf(conf, sizeof(conf),
		 "# Written by iphttps server for %s: rewritten at every start.\n"
		 "tun-device %s\nipv4-addr %s\nprefix %s/96\ndynamic-pool %s\ndata-dir %s\n",
		 s->cfg->tun, in->tun, inet_ntop(AF_INET, &me, self, sizeof(self)),
		 inet_ntop(AF_INET6, &in->prefix, p, sizeof(p)), pool, data);
	snprintf(path, plen, "%s/%s-tayga.conf", in->dir, s->cfg->tun);
	return write_file(path, conf, err);
}

/* TAYGA's TUN (persistent, so that routes stay across restarts), its
 * routes, the rules; TAYGA itself is the helper's (nat64_run). */
static int tayga_start(struct server *s, struct intranet *in, char *err)
{
	char *conf = in->tayga_conf;
	char *const mktun[] = { (char *)"tayga", (char *)"--mktun", (char *)"-c", conf, NULL };

	if (tayga_conf(s, in, conf, sizeof(in->tayga_conf), err) < 0 || run(mktun, NULL, err) < 0)
		return -1;
	in->tun_made = 1;
	/* The queue the kernel keeps toward TAYGA: the default 500 drops the
	 * bursts of one TCP flow, as on our own TUN (net/tun.h). */
	if (tun_set_txqueuelen(in->tun, TUN_TXQUEUELEN, err) < 0 || tun_set_up(in->tun, 1, err) < 0 ||
	    tun_route_add(in->tun, &in->prefix, 96, NULL, 0, err) < 0 ||
	    tun_route4_add(in->tun, &in->pool.a, in->pool.len, err) < 0)
		return -1;
	return nft_apply(in, err);
}

int nat64_run(struct server *s, struct evloop *ev, char *err)
{
	struct intranet *in = s->in;
	struct proc *p = &in->tayga;

	if (in->translator != XLAT_TAYGA)
		return 0;
	/* TAYGA prints with stdio: line-buffered, or a pipe holds its words
	 * until it exits. */
	p->name = "tayga";
	p->argv[0] = (char *)"stdbuf";
	p->argv[1] = (char *)"-oL";
	p->argv[2] = (char *)"tayga";
	p->argv[3] = (char *)"-d";
	p->argv[4] = (char *)"-c";
	p->argv[5] = in->tayga_conf;
	p->restart = 1;
	intranet_child_user(s, p);
	return proc_start(ev, p, err);
}

static int jool_start(struct server *s, struct intranet *in, char *err)
{
	char pfx[64];
	char *const modprobe[] = { (char *)"modprobe", (char *)"jool", NULL };
	char *const add[] = { (char *)"jool", (char *)"instance", (char *)"add", s->cfg->tun,
			      (char *)"--netfilter", (char *)"--pool6", pfx, NULL };

	addr6(&in->prefix, 96, pfx, sizeof(pfx));
	if ((access("/sys/module/jool", F_OK) < 0 && run(modprobe, NULL, err) < 0) || run(add, NULL, err) < 0)
		return -1;
	in->jool_made = 1;
	return nft_apply(in, err);
}

int nat64_start(struct server *s, char *err)
{
	struct intranet *in = s->in;

	if (sysctl_set_path("/proc/sys/net/ipv4/ip_forward", "1", err) < 0)
		return -1;
	return in->translator == XLAT_JOOL ? jool_start(s, in, err) : tayga_start(s, in, err);
}

void nat64_undo(struct server *s)
{
	struct intranet *in = s->in;
	char err[ERRLEN], del[80], *conf = in->tayga_conf;
	char *const rmtun[] = { (char *)"tayga", (char *)"--rmtun", (char *)"-c", conf, NULL };
	char *const nft[] = { (char *)"nft", (char *)"-f", (char *)"-", NULL };
	char *const jool[] = { (char *)"jool", (char *)"instance", (char *)"remove", s->cfg->tun, NULL };

	proc_stop_wait(&in->tayga, 3000);
	snprintf(del, sizeof(del), "delete table inet %s\n", in->table);
	if (in->nft_made && run(nft, del, err) < 0)
		log_warnx("NAT64: %s", err);
	if (in->tun_made && run(rmtun, NULL, err) < 0)
		log_warnx("NAT64: %s", err);
	if (in->jool_made && run(jool, NULL, err) < 0)
		log_warnx("NAT64: %s", err);
	if (in->tun_made)
		unlink(conf);
	in->nft_made = in->tun_made = in->jool_made = 0;
}
