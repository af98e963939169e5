/* DNS64 with unbound (see intranet.h): unbound.conf(5)'s dns64 module in
 * front of its iterator, forwarding every name to the --dns64 upstreams and
 * synthesizing AAAA records in the NAT64 prefix for names that have only A
 * records (RFC 6147).  It listens on the resolver's address in the link
 * prefix (added to the server's TUN) and answers the link only; per-client
 * query rates are limited.  The server waits until it answers before
 * taking clients, restarts it when it dies, and stops it at shutdown. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "net/tun.h"
#include "server/intranet.h"
#include "server/types.h"

#define READY_TIMEOUT_MS 15000
#define READY_NAME "ready.iphttps.invalid"
#define RATE_PER_CLIENT 1000            /* queries a second from one address */

static int write_conf(const char *path, const char *text, char *err)
{
	size_t len = strlen(text);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || write(fd, text, len) != (ssize_t)len || close(fd) < 0) {
		snprintf(err, ERRLEN, "writing %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return 0;
}

/* unbound's forward-addr syntax is ours: ADDR or ADDR@PORT. */
static size_t forward_addrs(const struct strlist *up, char *out, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < up->n && n < len; i++)
		n += (size_t)snprintf(out + n, len - n, "\tforward-addr: %s\n", up->v[i]);
	return n;
}

static int unbound_conf(struct server *s, struct intranet *in, char *err)
{
	char conf[4096], fwd[2048], a[INET6_ADDRSTRLEN], link[INET6_ADDRSTRLEN], p[INET6_ADDRSTRLEN];

	forward_addrs(&s->cfg->dns64, fwd, sizeof(fwd));
	snprintf(conf, sizeof(conf),
		 "# Written by iphttps server for %s: rewritten at every start.\n"
		 "server:\n"
		 "\tinterface: %s\n\tport: %d\n\tip-freebind: yes\n\tinterface-automatic: no\n"
		 "\tdo-daemonize: no\n\tusername: \"\"\n\tchroot: \"\"\n\tdirectory: \"%s\"\n"
		 "\tpidfile: \"\"\n\tuse-syslog: no\n\tlogfile: \"\"\n\tverbosity: 1\n\tnum-threads: 1\n"
		 "\taccess-control: 0.0.0.0/0 refuse\n\taccess-control: ::/0 refuse\n"
		 "\taccess-control: %s/%u allow\n"
		 "\tmodule-config: \"dns64 iterator\"\n\tdns64-prefix: %s/96\n"
		 "\tdo-not-query-localhost: no\n\thide-identity: yes\n\thide-version: yes\n"
		 "\tip-ratelimit: %d\n"
		 "\tlocal-zone: \"iphttps.invalid.\" static\n"
		 "\tlocal-data: \"" READY_NAME ". IN A 127.0.0.1\"\n"
		 "remote-control:\n\tcontrol-enable: no\n"
		 "forward-zone:\n\tname: \".\"\n%s",
		 s->cfg->tun, inet_ntop(AF_INET6, &in->dns64_addr, a, sizeof(a)), DNS64_PORT, in->dir,
		 inet_ntop(AF_INET6, &in->link, link, sizeof(link)), in->link_len,
		 inet_ntop(AF_INET6, &in->prefix, p, sizeof(p)), RATE_PER_CLIENT, fwd);
	snprintf(in->unbound_conf, sizeof(in->unbound_conf), "%s/%s-unbound.conf", in->dir, s->cfg->tun);
	return write_conf(in->unbound_conf, conf, err);
}

/* A query for READY_NAME (type A, class IN) with id into q; its length. */
static size_t ready_query(uint8_t *q, uint16_t id)
{
	static const char name[] = "\005ready\007iphttps\007invalid";
	size_t n = 12;

	memset(q, 0, 12);
	q[0] = (uint8_t)(id >> 8);
	q[1] = (uint8_t)id;
	q[2] = 0x01;                    /* RD */
	q[5] = 1;                       /* QDCOUNT */
	memcpy(q + n, name, sizeof(name));
	n += sizeof(name);
	q[n++] = 0, q[n++] = 1;         /* A */
	q[n++] = 0, q[n++] = 1;         /* IN */
	return n;
}

/* 1 when the resolver answers READY_NAME within timeout_ms. */
static int answers(const struct in6_addr *addr, int timeout_ms)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons(DNS64_PORT), .sin6_addr = *addr };
	uint8_t q[64], r[512];
	uint16_t id = (uint16_t)(ev_now_ms() & 0xffff);
	size_t qlen = ready_query(q, id);
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0), ok = 0;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (fd < 0)
		return 0;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && send(fd, q, qlen, 0) == (ssize_t)qlen &&
	    poll(&pfd, 1, timeout_ms) == 1 && (n = recv(fd, r, sizeof(r), 0)) >= 12)
		ok = r[0] == q[0] && r[1] == q[1] && (r[2] & 0x80) && (r[3] & 0x0f) == 0 && (r[6] || r[7]);
	close(fd);
	return ok;
}

/* Run the loop (the resolver's output and exit are seen there) until the
 * resolver answers; -1 with err when it exits or the time is up. */
static int wait_ready(struct server *s, struct intranet *in, char *err)
{
	uint64_t deadline = ev_now_ms() + READY_TIMEOUT_MS;

	while (ev_now_ms() < deadline) {
		/* (the helper runs it: its state comes as messages, none yet
		 * at first) */
		if (in->unbound.state != PROC_RUNNING &&
		    (in->unbound.starts || in->unbound.has_status || in->unbound.state == PROC_EXITED)) {
			snprintf(err, ERRLEN, "--dns64: unbound did not start (%s): %s", in->unbound.last_exit_text,
				 in->unbound.last_line[0] ? in->unbound.last_line : "no message");
			return -1;
		}
		if (answers(&in->dns64_addr, 200))
			return 0;
		ev_run_once(&s->ev, 100);
		s->ev.stop = 0;
	}
	snprintf(err, ERRLEN, "--dns64: unbound does not answer on its address after %d s: %s",
		 READY_TIMEOUT_MS / 1000, in->unbound.last_line[0] ? in->unbound.last_line : "no message");
	return -1;
}

int dns64_start(struct server *s, char *err)
{
	struct intranet *in = s->in;

	if (tun_addr_add(s->tun_name, &in->dns64_addr, 128, 1, err) < 0)
		return -1;
	in->addr_added = 1;
	return unbound_conf(s, in, err);
}

int dns64_run(struct server *s, struct evloop *ev, char *err)
{
	struct intranet *in = s->in;
	struct proc *p = &in->unbound;

	p->name = "unbound";
	p->argv[0] = (char *)"unbound";
	p->argv[1] = (char *)"-d";
	p->argv[2] = (char *)"-c";
	p->argv[3] = in->unbound_conf;
	p->restart = 1;
	intranet_child_user(s, p);
	return proc_start(ev, p, err);
}

int dns64_wait(struct server *s, char *err)
{
	struct intranet *in = s->in;
	char a[INET6_ADDRSTRLEN];

	if (wait_ready(s, in, err) < 0)
		return -1;
	log_info("DNS64: unbound answers on [%s]:%d", inet_ntop(AF_INET6, &in->dns64_addr, a, sizeof(a)),
		 DNS64_PORT);
	return 0;
}

void dns64_undo(struct server *s)
{
	struct intranet *in = s->in;

	proc_stop_wait(&in->unbound, 3000);
	if (in->unbound_conf[0])
		unlink(in->unbound_conf);
}

void dns64_addr_del(struct server *s)
{
	struct intranet *in = s->in;
	char err[ERRLEN];

	if (in->addr_added && tun_addr_del(s->tun_name, &in->dns64_addr, 128, err) < 0 && errno != ENODEV)
		log_debug("DNS64: %s", err);
	in->addr_added = 0;
}
