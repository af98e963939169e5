/* The server's link without sockets, for unit tests and fuzzing: a server
 * whose connections are plain structs in LinkUp, fed packets as if they
 * came from their streams (link_from_client); what the link queues toward
 * each connection stays in its queue (c->io.out) to be taken, what it would
 * write to the TUN is collected.  Header-only (static functions): include
 * it in one test or harness linked with the library. */
#ifndef IPHTTPS_LINKSIM_H
#define IPHTTPS_LINKSIM_H

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "server/bind.h"
#include "server/config.h"
#include "server/conn.h"
#include "server/link.h"
#include "server/types.h"

#define SIM_MAX_CONNS 8

struct sim {
	struct server s;
	struct server_cfg cfg;
	int cfg_shared;                 /* cfg is a copy of the caller's (sim_init_cfg) */
	struct conn *c[SIM_MAX_CONNS];
	int n;
	unsigned tun_pkts;
	size_t tun_bytes;
	uint8_t tun_last[2048];
	size_t tun_last_len;
};

static inline void sim_tun(struct server *s, const uint8_t *pkt, size_t len)
{
	struct sim *m = (struct sim *)((char *)s - offsetof(struct sim, s));

	m->tun_pkts++;
	m->tun_bytes += len;
	m->tun_last_len = len < sizeof(m->tun_last) ? len : sizeof(m->tun_last);
	memcpy(m->tun_last, pkt, m->tun_last_len);
}

/* The configuration of sim_init: prefix fd00:1:2:3::/64 and the options in
 * args (NULL-terminated, e.g. "--auth", "none"); 0, or -1 with err. */
static inline int sim_cfg(struct server_cfg *cfg, const char *const *args, char *err)
{
	char *argv[32] = { "server", "--prefix", "fd00:1:2:3::/64", "--route", "2001:db8:1::/64" };
	int argc = 5;

	for (; args && *args && argc < 31; args++)
		argv[argc++] = (char *)*args;
	return server_cfg_parse(cfg, argc, argv, err) != 0 ? -1 : 0;
}

/* The server around m->cfg; 0, or -1 with err. */
static inline int sim_start(struct sim *m, char *err)
{
	m->s.cfg = m->s.orig_cfg = &m->cfg;
	m->s.tun_sink = sim_tun;
	inet_pton(AF_INET6, "fe80::1", &m->s.router_ll);
	inet_pton(AF_INET6, "fd00:1:2:3::", &m->s.prefix);
	inet_pton(AF_INET6, "fd00:1:2:3::1", &m->s.router_addr);
	if (addrtab_init(&m->s.addrs, 64) < 0 || addrtab_init(&m->s.reserved, 64) < 0 ||
	    addrtab_init(&m->s.per_source, 64) < 0 || link_setup(&m->s, err) < 0)
		return -1;
	return 0;
}

/* A server configured by sim_cfg(args); 0, or -1 with err. */
static inline int sim_init(struct sim *m, const char *const *args, char *err)
{
	memset(m, 0, sizeof(*m));
	if (sim_cfg(&m->cfg, args, err) < 0)
		return -1;
	return sim_start(m, err);
}

/* The same with a configuration made once by sim_cfg (a fuzzer's inputs
 * need not parse it again): cfg is copied and stays the caller's. */
static inline int sim_init_cfg(struct sim *m, const struct server_cfg *cfg, char *err)
{
	memset(m, 0, sizeof(*m));
	m->cfg = *cfg;
	m->cfg_shared = 1;
	return sim_start(m, err);
}

/* A connection in LinkUp (its first RA queued and taken away); key: a
 * certificate's identity (mode Certificates), or NULL. */
static inline struct conn *sim_conn(struct sim *m, const uint8_t *key)
{
	struct server *s = &m->s;
	struct conn *c = calloc(1, sizeof(*c));

	if (!c || m->n >= SIM_MAX_CONNS)
		abort();
	c->srv = s;
	c->id = ++s->next_id;
	c->h.fd = -1;
	c->max_addrs = (uint8_t)s->cfg->max_addrs;
	c->addrs = calloc((size_t)c->max_addrs, sizeof(*c->addrs));
	c->addr_used = calloc((size_t)c->max_addrs, sizeof(*c->addr_used));
	snprintf(c->peer_str, sizeof(c->peer_str), "sim%d", m->n);
	c->state = CONN_LINKUP;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->n_conns++;
	m->c[m->n++] = c;
	if (link_conn_up(c) < 0)
		abort();
	if (key) {
		memcpy(c->key, key, 16);
		c->has_key = 1;
	}
	bufq_consume(&c->io.out, bufq_pending(&c->io.out));
	s->queued = 0;
	for (int i = 0; i < m->n; i++)
		s->queued += bufq_pending(&m->c[i]->io.out);
	return c;
}

/* Copy n queued bytes of c into out (NULL: discard them). */
static inline void sim_pop(struct conn *c, uint8_t *out, size_t n)
{
	while (n) {
		size_t k = bufq_head_len(&c->io.out);
		if (k > n)
			k = n;
		if (out) {
			memcpy(out, bufq_head(&c->io.out), k);
			out += k;
		}
		bufq_consume(&c->io.out, k);
		c->srv->queued -= k;
		n -= k;
	}
}

/* Take the next whole packet queued toward c into out (cap >= 65575): its
 * length, or 0 when none is queued. */
static inline size_t sim_take(struct conn *c, uint8_t *out, size_t cap)
{
	size_t len;

	if (bufq_pending(&c->io.out) < 40 || cap < 40)
		return 0;
	sim_pop(c, out, 40);
	len = 40 + ((size_t)out[4] << 8 | out[5]);
	if (len > cap || bufq_pending(&c->io.out) < len - 40)
		abort();        /* the link queues whole packets only */
	sim_pop(c, out + 40, len - 40);
	return len;
}

/* Drop everything queued toward every connection; the number of packets. */
static inline unsigned sim_flush_all(struct sim *m)
{
	static uint8_t buf[65600];
	unsigned n = 0;

	for (int i = 0; i < m->n; i++)
		while (m->c[i]->state == CONN_LINKUP && sim_take(m->c[i], buf, sizeof(buf)))
			n++;
	return n;
}

/* The connection ends (its addresses released or reserved). */
static inline void sim_close(struct sim *m, struct conn *c)
{
	link_conn_down(c);
	c->srv->queued -= bufq_pending(&c->io.out);
	bufq_free(&c->io.out);
	c->state = CONN_CLOSED;
}

static inline void sim_free(struct sim *m)
{
	for (int i = 0; i < m->n; i++) {
		struct conn *c = m->c[i];
		if (c->state == CONN_LINKUP)
			link_conn_down(c);
		bufq_free(&c->io.out);
		v6df_free(&c->io.df);
		free(c->addrs);
		free(c->addr_used);
		free(c);
	}
	addrtab_free(&m->s.addrs);
	addrtab_free(&m->s.per_source);
	addrtab_free(&m->s.prefixes);
	addrtab_free(&m->s.remembered);
	bind_free_all(&m->s);
	if (!m->cfg_shared)
		server_cfg_free(&m->cfg);
	memset(m, 0, sizeof(*m));
}

#endif
