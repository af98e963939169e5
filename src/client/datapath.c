/* The client's data path: packets read from the TUN are queued and sent in
 * as few TLS records as the socket takes; the stream from the server is cut
 * into packets and written to the TUN. */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/client.h"
#include "common/log.h"
#include "errors.h"
#include "net/tun.h"
#include "wire/nd.h"

#define TUN_BATCH 64
#define CONTAINER(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

/* While a read waits for the socket to take bytes, readable means nothing:
 * only writable is watched (see stream_read_needs_write). */
static void set_mask(struct client *c, uint32_t mask)
{
	if (c->read_on_write && (mask & EPOLLIN))
		mask = (mask & ~EPOLLIN) | EPOLLOUT;
	if (c->sock_mask != mask) {
		c->sock_mask = mask;
		ev_mod(&c->ev, &c->sock_h, mask);
	}
}

/* One packet toward the server, counted; -1 when the queue is full. */
static int queue(struct client *c, const uint8_t *pkt, size_t len)
{
	return stream_queue_packet(&c->lc.io, pkt, len, (size_t)c->cfg->queue_limit, 65536);
}

/* The stream ended or failed (rc, with what the stream kept): the link is
 * lost, with the code and words of what happened. */
static void lost(struct client *c, int rc, const char *what)
{
	const struct stream *s = &c->lc.io;
	char why[512], e[256];
	uint32_t code = IPH_E_CLOSED;

	ERR_clear_error();
	if (rc == STREAM_EOF || (s->ssl_err == SSL_ERROR_SYSCALL && s->sys_errno == EPIPE)) {
		snprintf(why, sizeof(why), "the server closed the connection (%s)", what);
	} else if (s->ssl_err == SSL_ERROR_SYSCALL && s->sys_errno == ECONNRESET) {
		code = IPH_E_CONNRESET;
		snprintf(why, sizeof(why), "connection reset (%s)", what);
	} else if (s->ssl_err == SSL_ERROR_SYSCALL && s->sys_errno == ETIMEDOUT) {
		code = IPH_E_TIMEDOUT;
		snprintf(why, sizeof(why), "connection timed out (%s)", what);
	} else {
		code = IPH_E_PROTOCOL;
		snprintf(why, sizeof(why), "%s failed: %s", what, stream_why(s, e, sizeof(e)));
	}
	client_link_lost(c, code, why);
}

void client_flush(struct client *c)
{
	int rc;

	if (c->fsm.state != CS_LINKUP)
		return;
	rc = stream_flush(&c->lc.io);
	if (rc == STREAM_WANT_WRITE)
		set_mask(c, EPOLLIN | EPOLLOUT);
	else if (rc == 1 || rc == STREAM_WANT_READ)
		set_mask(c, EPOLLIN);
	else
		lost(c, rc, "write");
}

/* One packet from the TUN toward the server. */
static int from_tun(void *arg, const uint8_t *pkt, size_t len)
{
	struct client *c = arg;

	if (c->fsm.state != CS_LINKUP || queue(c, pkt, len) < 0)
		c->drops++;
	return 0;
}

void client_on_tun(struct evloop *ev, struct ev_handler *h, uint32_t events)
{
	struct client *c = CONTAINER(h, struct client, tun_h);

	for (int i = 0; i < TUN_BATCH; i++) {
		int r = tunio_read(&c->tun, from_tun, c);
		if (r < 0)
			log_warn("tun %s: read", c->tun_name);
		if (r <= 0)
			break;
	}
	if (c->fsm.state == CS_LINKUP && !(c->sock_mask & EPOLLOUT))
		client_flush(c);
}

/* A Router Advertisement from the server: when it advertises another
 * prefix than the link before (another node of a cluster, another site),
 * what the kernel configured from the old one goes, or the kernel would go
 * on choosing a source address the new server drops. */
static void watch_ra(struct client *c, const uint8_t *pkt, size_t len)
{
	struct ipv6_view v;
	struct ra_info ra;
	const char *why;
	char e[ERRLEN], a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

	if (ipv6_parse(pkt, len, &v, &why) < 0 || nd_parse_ra(&v, pkt, &ra, &why) < 0)
		return;
	dns_ra(c, &ra);
	if (!ra.has_prefix || ra.prefix_len != 64)
		return;
	if (c->have_link_prefix && memcmp(&c->link_prefix, &ra.prefix, 8)) {
		log_info("the server advertises %s/64 instead of %s/64: removing the old prefix's addresses and route",
			 inet_ntop(AF_INET6, &ra.prefix, a, sizeof(a)),
			 inet_ntop(AF_INET6, &c->link_prefix, b, sizeof(b)));
		if (getenv("IPH_NOFORGET") == NULL && tun_forget_prefix(c->tun_name, &c->link_prefix, e) < 0)
			log_warnx("%s", e);
	}
	c->link_prefix = ra.prefix;
	c->have_link_prefix = 1;
}

static void to_tun(struct client *c, const uint8_t *pkt, size_t len);

/* Router messages (RA, Redirect) are trusted from the link's router only:
 * the source of the first RA on this link (the server sends one right
 * after its 200, before anything else).  Another client's RA or Redirect,
 * were the server to let one through, would take this machine's addresses
 * or routes; it is counted and never reaches the kernel.  Returns 1 when
 * pkt must be ignored. */
static int foreign_router_msg(struct client *c, const uint8_t *pkt, size_t len)
{
	struct in6_addr src;
	char a[INET6_ADDRSTRLEN], r[INET6_ADDRSTRLEN] = "none yet";
	uint8_t type;

	if (len <= 40 || pkt[6] != IPPROTO_ICMPV6)
		return 0;
	type = pkt[40];
	if (type != ICMP6_TYPE_RA && type != ICMP6_TYPE_REDIRECT)
		return 0;
	memcpy(&src, pkt + 8, 16);
	if (type == ICMP6_TYPE_RA && !c->router_known && IN6_IS_ADDR_LINKLOCAL(&src)) {
		c->router_ll = src;
		c->router_known = 1;
		return 0;
	}
	if (c->router_known && IN6_ARE_ADDR_EQUAL(&src, &c->router_ll))
		return 0;
	if (c->router_known)
		inet_ntop(AF_INET6, &c->router_ll, r, sizeof(r));
	if (c->router_msgs_ignored++ == 0)
		log_warnx("ignored a %s from %s: only the router (%s) advertises or redirects on this link (logged once)",
			  type == ICMP6_TYPE_RA ? "Router Advertisement" : "Redirect",
			  inet_ntop(AF_INET6, &src, a, sizeof(a)), r);
	return 1;
}

static int on_packet(void *arg, const uint8_t *pkt, size_t len)
{
	struct client *c = arg;

	if (foreign_router_msg(c, pkt, len)) {
		c->drops++;
		return 0;
	}
	if (len > 40 && pkt[6] == IPPROTO_ICMPV6 && pkt[40] == ICMP6_TYPE_RA)
		watch_ra(c, pkt, len);
	if (!c->kernel_ready) {
		uint8_t *copy;
		if (c->n_held >= CLIENT_HOLD_PKTS || !(copy = malloc(len))) {
			c->drops++;
			return 0;
		}
		memcpy(copy, pkt, len);
		c->held[c->n_held].data = copy;
		c->held[c->n_held++].len = len;
		return 0;
	}
	to_tun(c, pkt, len);
	return 0;
}

void client_drop_held(struct client *c)
{
	for (unsigned i = 0; i < c->n_held; i++)
		free(c->held[i].data);
	c->n_held = 0;
}

void client_release_held(struct client *c)
{
	c->kernel_ready = 1;
	for (unsigned i = 0; i < c->n_held; i++)
		to_tun(c, c->held[i].data, c->held[i].len);
	client_drop_held(c);
	client_announce_addresses(c);
}

/* Tell the server each global address the kernel uses on the TUN, with an
 * unsolicited Neighbor Advertisement to the router: the server binds a
 * client's address when it first sees it as a source, and the Linux kernel
 * sends nothing by itself from a new SLAAC address on a TUN (no DAD, no
 * MLD): without this the inside could not reach a client that has not
 * spoken yet, nor one that just reconnected. */
void client_announce_addresses(struct client *c)
{
	struct ifaddrs *ifa, *i;
	uint8_t pkt[128];

	if (c->fsm.state != CS_LINKUP || getifaddrs(&ifa) < 0)
		return;
	for (i = ifa; i; i = i->ifa_next) {
		const struct sockaddr_in6 *a = (const void *)i->ifa_addr;
		int n;
		if (!a || a->sin6_family != AF_INET6 || strcmp(i->ifa_name, c->tun_name) ||
		    IN6_IS_ADDR_LINKLOCAL(&a->sin6_addr) || IN6_IS_ADDR_MULTICAST(&a->sin6_addr))
			continue;
		if (c->have_link_prefix && memcmp(&a->sin6_addr, &c->link_prefix, 8))
			continue; /* an address of another link, about to go */
		n = nd_build_na(pkt, sizeof(pkt), &a->sin6_addr, &c->router_ll, &a->sin6_addr, 0x20);
		if (n > 0)
			queue(c, pkt, (size_t)n);
	}
	freeifaddrs(ifa);
	if (!(c->sock_mask & EPOLLOUT))
		client_flush(c);
}

static void to_tun(struct client *c, const uint8_t *pkt, size_t len)
{
	tunio_write(&c->tun, pkt, len, NULL);
}

void client_tun_write_failed(void *arg, void *owner, unsigned npkts)
{
	struct client *c = arg;
	uint64_t before = c->tun_write_errors;

	c->drops += npkts;
	c->tun_write_errors += npkts;
	/* Logged at the 1st, 2nd, 4th, 8th... */
	if (!before || 63 - __builtin_clzll(before) != 63 - __builtin_clzll(c->tun_write_errors))
		log_warn("tun %s: write (%llu packets lost so far)", c->tun_name,
			 (unsigned long long)c->tun_write_errors);
}

int client_feed(struct client *c, const uint8_t *data, size_t len)
{
	char why[400];

	const struct v6_deframer *df = &c->lc.io.df;

	if (stream_feed(&c->lc.io, data, len, on_packet, c) == 0)
		return 0;
	snprintf(why, sizeof(why), "the server sent bytes that are not IPv6 packets: %s (byte 0x%02x after %llu packets)%s%s%s",
		 v6df_strerror(df->error), df->bad_byte, (unsigned long long)df->packets,
		 !df->packets && c->resp_note[0] ? "; " : "", !df->packets ? c->resp_note : "",
		 !df->packets && c->resp_note[0] ? ": a web page, not an IP-HTTPS stream" : "");
	client_link_lost(c, IPH_E_PROTOCOL, why);
	return -1;
}

void client_on_sock(struct evloop *ev, struct ev_handler *h, uint32_t events)
{
	struct client *c = CONTAINER(h, struct client, sock_h);
	if (c->fsm.state != CS_LINKUP)
		return;
	if (events & EPOLLOUT) {
		c->read_on_write = 0;   /* the reads below try again */
		client_flush(c);
		if (c->fsm.state != CS_LINKUP)
			return;
	}
	/* Read until TLS wants more: what OpenSSL holds is invisible to epoll. */
	for (;;) {
		int n = stream_read(&c->lc.io, c->rbuf, sizeof(c->rbuf) - 64);
		if (n > 0) {
			if (client_feed(c, c->rbuf, (size_t)n) < 0)
				return;
			continue;
		}
		if (n == STREAM_WANT_WRITE) {
			c->read_on_write = (uint8_t)stream_read_needs_write(&c->lc.io);
			set_mask(c, EPOLLIN | EPOLLOUT);
		} else if (n != STREAM_WANT_READ)
			lost(c, n, "read");
		return;
	}
}
