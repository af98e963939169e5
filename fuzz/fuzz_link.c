/* libFuzzer harness for the server's link rules (src/server/link.c,
 * bind.c), driven without sockets (tests/support/linksim.h): several
 * clients send packet sequences, connections end and come back, the inside
 * sends from the TUN.  Beyond the absence of crashes it asserts the
 * isolation invariant of docs/link-rules.md after every step:
 *   - no client's bindings change through another client's packets;
 *   - no RA or Redirect reaches a client but the router's own (fe80::1);
 *   - no NA from a client reaches another client for an address a third
 *     party (or the receiver) holds;
 *   - every packet one client gets from another carries a source bound to
 *     the sender (or ::), and nothing goes back to the sender but the
 *     router's answers;
 *   - a client's multicast reaches the others within its share (each
 *     connection's own: one opened again starts with a full bucket), but
 *     for a DAD probe of another's address, which reaches that holder
 *     only, and a holder's NA for its address, which reaches only the
 *     clients that probed it;
 *   - what the TUN sends reaches only the client holding the destination.
 *
 * Input: a first byte of settings (mode, address limit), then steps
 * [op][client][len][bytes...]: a raw packet, a packet built from a
 * template (to reach the rules with valid checksums), a connection closed
 * and opened again (same or another certificate), a packet from the TUN. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/support/linksim.h"
#include "common/log.h"

#define NCONN 4
#define MAXA 8

struct snap {
	int n;
	struct in6_addr a[MAXA];
};

static struct sim m;
static struct conn *cl[NCONN];
/* Per connection (a connection opened again starts with a full bucket of
 * its own, link_conn_up): the floods it caused and when it came up. */
static uint64_t mc_sent[NCONN];
static uint64_t t0[NCONN];

static const uint8_t keys[3][16] = { { 1 }, { 2 }, { 3 } };

static void snapshot(struct conn *c, struct snap *s)
{
	s->n = c && c->state == CONN_LINKUP ? c->n_addrs : 0;
	for (int i = 0; i < s->n; i++)
		s->a[i] = c->addrs[i];
}

static int same(const struct snap *a, const struct snap *b)
{
	return a->n == b->n && !memcmp(a->a, b->a, sizeof(a->a[0]) * (size_t)a->n);
}

static int is_router(const struct in6_addr *a)
{
	return IN6_ARE_ADDR_EQUAL(a, &m.s.router_ll) || IN6_ARE_ADDR_EQUAL(a, &m.s.router_addr);
}

static struct conn *new_conn(int k)
{
	return sim_conn(&m, m.cfg.auth == AUTH_CERTIFICATES ? keys[k % 3] : NULL);
}

/* An address for template slot x, relative to client i. */
static struct in6_addr addr_of(uint8_t x, int i)
{
	struct in6_addr a;

	memset(&a, 0, sizeof(a));
	switch (x % 8) {
	case 0: /* link-local of client n */
		a.s6_addr[0] = 0xfe;
		a.s6_addr[1] = 0x80;
		a.s6_addr[15] = (uint8_t)(1 + (x >> 3) % NCONN);
		break;
	case 1: /* global of client n */
		a = m.s.prefix;
		a.s6_addr[14] = 0x0a;
		a.s6_addr[15] = (uint8_t)(1 + (x >> 3) % NCONN);
		break;
	case 2:
		a = m.s.router_ll;
		break;
	case 3:
		a = m.s.router_addr;
		break;
	case 4: /* ff02::1, ff02::2, ff02::16 */
		a.s6_addr[0] = 0xff;
		a.s6_addr[1] = 2;
		a.s6_addr[15] = (x >> 3) % 3 == 0 ? 1 : (x >> 3) % 3 == 1 ? 2 : 0x16;
		break;
	case 5: /* solicited-node of a global of client n */
		a = addr_of((uint8_t)(1 | (x & 0xf8)), i);
		nd_solicited_node(&a, &a);
		break;
	case 6: /* unspecified */
		break;
	default: /* off-link */
		a.s6_addr[0] = 0x20;
		a.s6_addr[1] = 0x01;
		a.s6_addr[2] = 0x0d;
		a.s6_addr[3] = 0xb8;
		a.s6_addr[15] = x;
		break;
	}
	return a;
}

/* A well-formed ICMPv6 packet from a template. */
static size_t templ(uint8_t *p, const uint8_t *t, size_t n, int i)
{
	static const uint8_t types[] = { 128, 133, 134, 135, 136, 137, 143, 129 };
	struct in6_addr src, dst, tgt;
	uint8_t type;
	size_t body = 24, plen;
	uint16_t ck;

	if (n < 4)
		return 0;
	type = types[t[0] % sizeof(types)];
	src = addr_of(t[1], i);
	dst = addr_of(t[2], i);
	tgt = addr_of(t[3], i);
	if (type == 137)
		body = 40;
	plen = body;
	memset(p, 0, 40 + plen);
	p[0] = 0x60;
	p[5] = (uint8_t)plen;
	p[6] = 58;
	p[7] = type == 128 || type == 129 ? 64 : type == 143 ? 1 : 255;
	memcpy(p + 8, &src, 16);
	memcpy(p + 24, &dst, 16);
	p[40] = type;
	if (type == 136)
		p[44] = t[0] & 0xe0;
	memcpy(p + 48, &tgt, 16);
	if (type == 137)
		memcpy(p + 64, &dst, 16);
	ck = icmp6_checksum(&src, &dst, p + 40, plen);
	p[42] = (uint8_t)(ck >> 8);
	p[43] = (uint8_t)ck;
	return 40 + plen;
}

/* Check what every client got in the step in which `from` sent (from < 0:
 * the TUN did). */
static void check_delivered(int from, const struct snap *before)
{
	static uint8_t pkt[65600];

	for (int x = 0; x < NCONN; x++) {
		struct conn *c = cl[x];
		struct snap now;
		size_t len;

		snapshot(c, &now);
		if (x != from)
			assert(same(&before[x], &now));      /* bindings untouched */
		if (!c || c->state != CONN_LINKUP)
			continue;
		while ((len = sim_take(c, pkt, sizeof(pkt)))) {
			struct in6_addr src, dst, tgt;
			uint8_t type = len > 40 && pkt[6] == 58 ? pkt[40] : 0;
			struct conn *owner;

			memcpy(&src, pkt + 8, 16);
			memcpy(&dst, pkt + 24, 16);
			if (type == 134 || type == 137)
				assert(IN6_ARE_ADDR_EQUAL(&src, &m.s.router_ll));
			if (from < 0) {                     /* from the TUN */
				assert(addrtab_get(&m.s.addrs, &dst) == c);
				continue;
			}
			if (x == from)                      /* the router's answers, or its own */
				continue;
			if (is_router(&src))
				continue;
			owner = NULL;
			if ((type == 135 || type == 136) && len >= 64) {
				memcpy(&tgt, pkt + 48, 16);
				owner = addrtab_get(&m.s.addrs, &tgt);
			}
			if (type == 136)
				assert(!owner || owner == cl[from]);
			assert(IN6_IS_ADDR_UNSPECIFIED(&src) ||
			       addrtab_get(&m.s.addrs, &src) == cl[from]);
			/* A DAD probe of an address another client holds goes to
			 * that client alone, and the holder's NA for its own
			 * address to the clients that probed it (docs/link-rules.md:
			 * "to the owner", "to the DAD askers"): one receiver each,
			 * like a unicast packet, outside the multicast share. */
			if (type == 135 && IN6_IS_ADDR_UNSPECIFIED(&src) && owner && owner != cl[from]) {
				assert(owner == c);
				continue;
			}
			if (type == 136 && owner && owner == cl[from])
				continue;
			if (IN6_IS_ADDR_MULTICAST(&dst))
				mc_sent[from]++;
		}
	}
	/* the multicast share: a burst of 2 x rate, then rate a second (and
	 * one flood may reach every other client) */
	if (from >= 0) {
		uint64_t rate = (uint64_t)m.cfg.multicast_rate, el = ev_now_ms() - t0[from];
		assert(mc_sent[from] <= (NCONN - 1) * (2 * rate + rate * el / 1000 + 2));
	}
}

/* The configuration of the settings byte, parsed on first use (the same
 * options every time: parsing them again per input would take a third of
 * the time). */
static const struct server_cfg *config(uint8_t settings)
{
	static struct server_cfg cfgs[4 * (MAXA - 1)];
	static uint8_t parsed[4 * (MAXA - 1)];
	unsigned k = (settings & 3u) | (unsigned)(settings >> 2) % (MAXA - 1) << 2;
	char err[ERRLEN], maxa[8];
	const char *args[] = { "--auth", settings & 1 ? "none" : "certificates", "--max-addresses", maxa,
			       "--address-idle", settings & 2 ? "0" : "3600", "--multicast-rate", "5", NULL };

	if (!parsed[k]) {
		snprintf(maxa, sizeof(maxa), "%d", 2 + (settings >> 2) % (MAXA - 1));
		if (sim_cfg(&cfgs[k], args, err) < 0) {
			fprintf(stderr, "%s\n", err);
			abort();
		}
		parsed[k] = 1;
	}
	return &cfgs[k];
}

static void setup(uint8_t settings)
{
	char err[ERRLEN];

	if (sim_init_cfg(&m, config(settings), err) < 0) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
	for (int i = 0; i < NCONN; i++)
		cl[i] = new_conn(i);
	memset(mc_sent, 0, sizeof(mc_sent));
	for (int i = 0; i < NCONN; i++)
		t0[i] = ev_now_ms();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t pkt[65600];
	struct snap before[NCONN];
	size_t off = 1;

	if (size < 1)
		return 0;
	log_init("fuzz", -1);   /* info lines (a bind, a drop) would slow it down */
	setup(data[0]);
	while (off + 4 <= size && m.n < SIM_MAX_CONNS) {
		uint8_t op = data[off], who = data[off + 1] % NCONN;
		size_t len = (size_t)data[off + 2] << 8 | data[off + 3], plen;

		off += 4;
		if (len > size - off)
			len = size - off;
		for (int i = 0; i < NCONN; i++)
			snapshot(cl[i], &before[i]);
		switch (op % 4) {
		case 0:
			if (cl[who]->state == CONN_LINKUP)
				link_from_client(cl[who], data + off, len);
			check_delivered(who, before);
			break;
		case 1:
			plen = templ(pkt, data + off, len, who);
			if (plen && cl[who]->state == CONN_LINKUP)
				link_from_client(cl[who], pkt, plen);
			check_delivered(who, before);
			break;
		case 2:
			if (cl[who]->state == CONN_LINKUP)
				sim_close(&m, cl[who]);
			cl[who] = new_conn(op >> 2);
			mc_sent[who] = 0;
			t0[who] = ev_now_ms();
			before[who].n = 0;
			check_delivered(who, before);
			break;
		default:
			link_from_tun(&m.s, data + off, len);
			check_delivered(-1, before);
			break;
		}
		off += len;
	}
	sim_free(&m);
	return 0;
}
