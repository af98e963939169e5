/* Capture reading: libpcap, link/IP/TCP decoding and the connection table.
 * See capture.h; reassembly is in reasm.c. */
#include "diag/capture.h"
#include "diag/reasm.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_ACK 0x10

struct capture {
	pcap_t *pcap;
	uint16_t port;
	struct cap_stats stats;
	struct cap_conn **buckets;
	size_t nbuckets;                /* a power of two */
	size_t nconns;                  /* in the table */
	struct cap_conn *first, *last;  /* every connection, in order */
	size_t budget_used;             /* out-of-order bytes held, all connections */
	const struct cap_handler *h;
	void *arg;
	int forget;                     /* capture_forget_ended() */
	struct cap_conn *ahead, *atail; /* open connections, least recently active first */
	size_t live;
};

/* One decoded TCP segment. */
struct pkt {
	struct cap_addr src, dst;
	uint32_t seq, ack;
	uint8_t flags;
	const uint8_t *payload;
	size_t caplen;                  /* payload bytes in the capture */
	size_t wirelen;                 /* payload bytes on the wire */
	const struct timeval *ts;
};

/* Per-connection extra state the reassembly callbacks need. */
struct cap_reasm_ext {
	struct cap_reasm r;
	uint32_t peer_ack;              /* highest ACK the other side sent for this direction */
	int have_peer_ack;
};

/* The context of one delivery. */
struct out_ctx {
	struct capture *cap;
	struct cap_conn *c;
	enum cap_dir dir;
	const struct timeval *ts;
};

/* ---- output of the reassembly to the handler ---- */

static void out_data(void *arg, const uint8_t *p, size_t len)
{
	struct out_ctx *o = arg;

	o->c->side[o->dir].bytes += len;
	if (o->cap->h && o->cap->h->data)
		o->cap->h->data(o->cap->arg, o->c, o->dir, p, len, o->ts);
}

/* Reassembly output: a hole of missing bytes, counted and handed on. */
static void out_gap(void *arg, uint64_t missing)
{
	struct out_ctx *o = arg;

	o->c->side[o->dir].gap_bytes += missing;
	o->c->side[o->dir].gaps++;
	if (o->cap->h && o->cap->h->gap)
		o->cap->h->gap(o->cap->arg, o->c, o->dir, missing, o->ts);
}

/* Takes a context to fill; returns the reassembly output for it. */
static struct reasm_out make_out(struct out_ctx *o)
{
	struct reasm_out out = {
		.data = out_data, .gap = out_gap, .arg = o,
		.budget_used = &o->cap->budget_used,
		.dropped = &o->cap->stats.ooo_dropped,
	};
	return out;
}

/* ---- the connection table ---- */

/* Takes the two endpoints; returns the FNV-1a hash of the 4-tuple. */
static uint32_t tuple_hash(const struct cap_addr *cli, const struct cap_addr *srv)
{
	uint32_t h = 2166136261u;
	const struct cap_addr *e[2] = { cli, srv };

	for (int i = 0; i < 2; i++) {
		size_t n = e[i]->family == AF_INET ? 4 : 16;

		for (size_t j = 0; j < n; j++)
			h = (h ^ e[i]->a[j]) * 16777619u;
		h = (h ^ (e[i]->port >> 8)) * 16777619u;
		h = (h ^ (e[i]->port & 0xff)) * 16777619u;
	}
	return h;
}

/* Takes two addresses; returns 1 when equal (family, address, port). */
static int addr_eq(const struct cap_addr *a, const struct cap_addr *b)
{
	return a->family == b->family && a->port == b->port && memcmp(a->a, b->a, 16) == 0;
}

/* Takes a 4-tuple and its hash; returns its connection in the table or NULL. */
static struct cap_conn *conn_find(struct capture *cap, const struct cap_addr *cli,
				  const struct cap_addr *srv, uint32_t h)
{
	for (struct cap_conn *c = cap->buckets[h & (cap->nbuckets - 1)]; c; c = c->hnext)
		if (c->hash == h && addr_eq(&c->cli, cli) && addr_eq(&c->srv, srv))
			return c;
	return NULL;
}

/* Doubles the table when it holds two connections per bucket.  On no memory
 * the table stays as it is (longer chains). */
static void table_grow(struct capture *cap)
{
	size_t n = cap->nbuckets * 2;
	struct cap_conn **nb;

	if (cap->nconns < cap->nbuckets * 2)
		return;
	nb = calloc(n, sizeof(*nb));
	if (!nb)
		return;
	for (size_t i = 0; i < cap->nbuckets; i++) {
		struct cap_conn *c = cap->buckets[i], *nx;

		for (; c; c = nx) {
			nx = c->hnext;
			c->hnext = nb[c->hash & (n - 1)];
			nb[c->hash & (n - 1)] = c;
		}
	}
	free(cap->buckets);
	cap->buckets = nb;
	cap->nbuckets = n;
}

/* Takes c out of the table (it stays in the list of connections). */
static void table_remove(struct capture *cap, struct cap_conn *c)
{
	struct cap_conn **pp = &cap->buckets[c->hash & (cap->nbuckets - 1)];

	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == c) {
			*pp = c->hnext;
			c->hnext = NULL;
			cap->nconns--;
			return;
		}
	}
}

static void active_unlink(struct capture *cap, struct cap_conn *c)
{
	if (c->aprev)
		c->aprev->anext = c->anext;
	else
		cap->ahead = c->anext;
	if (c->anext)
		c->anext->aprev = c->aprev;
	else
		cap->atail = c->aprev;
	c->aprev = c->anext = NULL;
	cap->live--;
}

/* c is the most recently active now. */
static void active_push(struct capture *cap, struct cap_conn *c)
{
	c->aprev = cap->atail;
	c->anext = NULL;
	if (cap->atail)
		cap->atail->anext = c;
	else
		cap->ahead = c;
	cap->atail = c;
	cap->live++;
}

/* Takes a new 4-tuple; returns a new connection in the table and the list,
 * or NULL (limit reached or no memory, counted). */
static struct cap_conn *conn_new(struct capture *cap, const struct cap_addr *cli,
				 const struct cap_addr *srv, uint32_t h, const struct timeval *ts)
{
	struct cap_conn *c;

	if (cap->stats.conns >= CAP_MAX_CONNS || !(c = calloc(1, sizeof(*c)))) {
		cap->stats.conns_dropped++;
		return NULL;
	}
	c->rx[0] = calloc(1, sizeof(struct cap_reasm_ext));
	c->rx[1] = calloc(1, sizeof(struct cap_reasm_ext));
	if (!c->rx[0] || !c->rx[1]) {
		free(c->rx[0]);
		free(c->rx[1]);
		free(c);
		cap->stats.conns_dropped++;
		return NULL;
	}
	c->id = (unsigned)++cap->stats.conns;
	c->cli = *cli;
	c->srv = *srv;
	c->first = c->last = *ts;
	c->hash = h;
	c->hnext = cap->buckets[h & (cap->nbuckets - 1)];
	cap->buckets[h & (cap->nbuckets - 1)] = c;
	cap->nconns++;
	if (cap->forget) {
		active_push(cap, c);
	} else {
		if (cap->last)
			cap->last->next = c;
		else
			cap->first = c;
		cap->last = c;
	}
	table_grow(cap);
	if (cap->h && cap->h->conn_start)
		cap->h->conn_start(cap->arg, c);
	return c;
}

/* Takes a connection; flushes both directions (holes reported as gaps),
 * frees the reassembly and tells the handler. */
static void conn_end(struct capture *cap, struct cap_conn *c)
{
	if (c->ended)
		return;
	for (int d = 0; d < 2; d++) {
		struct cap_reasm_ext *x = (struct cap_reasm_ext *)c->rx[d];
		struct out_ctx o = { cap, c, (enum cap_dir)d, &c->last };
		struct reasm_out out = make_out(&o);

		reasm_flush(&x->r, x->have_peer_ack, x->peer_ack, &out);
		reasm_free(&x->r, &cap->budget_used);
		free(x);
		c->rx[d] = NULL;
	}
	c->ended = 1;
	if (cap->h && cap->h->conn_end)
		cap->h->conn_end(cap->arg, c);
}

static void conn_release(struct capture *cap, struct cap_conn *c);

/* Forgetting: end and free a connection that is over (in the table or not). */
static void conn_forget(struct capture *cap, struct cap_conn *c)
{
	conn_end(cap, c);
	active_unlink(cap, c);
	conn_release(cap, c);
}

/* Forgetting: end the connections silent for CAP_IDLE_S at time now, and
 * the least recently active beyond CAP_MAX_LIVE. */
static void expire(struct capture *cap, const struct timeval *now)
{
	while (cap->ahead && (cap->live > CAP_MAX_LIVE ||
			      cap->ahead->last.tv_sec + CAP_IDLE_S < now->tv_sec)) {
		struct cap_conn *c = cap->ahead;
		table_remove(cap, c);
		conn_forget(cap, c);
	}
}

/* ---- decoding ---- */

/* Takes a TCP header of len bytes (IP payload) and the wire length of the IP
 * payload; fills pk.  Returns 0 or -1 (malformed). */
static int decode_tcp(const uint8_t *b, size_t len, size_t wirelen, struct pkt *pk)
{
	size_t off;

	if (len < 20)
		return -1;
	off = (size_t)(b[12] >> 4) * 4;
	if (off < 20 || off > len)
		return -1;
	pk->src.port = (uint16_t)(b[0] << 8 | b[1]);
	pk->dst.port = (uint16_t)(b[2] << 8 | b[3]);
	pk->seq = (uint32_t)b[4] << 24 | (uint32_t)b[5] << 16 | (uint32_t)b[6] << 8 | b[7];
	pk->ack = (uint32_t)b[8] << 24 | (uint32_t)b[9] << 16 | (uint32_t)b[10] << 8 | b[11];
	pk->flags = b[13];
	pk->payload = b + off;
	pk->caplen = len - off;
	pk->wirelen = wirelen > off ? wirelen - off : 0;
	if (pk->caplen > pk->wirelen)
		pk->caplen = pk->wirelen;       /* Ethernet padding */
	return 0;
}

/* IPv4: returns 1 for TCP (pk filled), 0 not TCP, -1 malformed, -2 a fragment. */
static int decode_ipv4(struct capture *cap, const uint8_t *b, size_t len, struct pkt *pk)
{
	size_t ihl, total;

	if (len < 20 || (b[0] >> 4) != 4)
		return -1;
	ihl = (size_t)(b[0] & 0x0f) * 4;
	total = (size_t)b[2] << 8 | b[3];
	if (ihl < 20 || ihl > len || total < ihl)
		return -1;
	if (b[9] != IPPROTO_TCP)
		return 0;
	if ((b[6] & 0x3f) || b[7]) {     /* MF or a fragment offset */
		cap->stats.fragments++;
		return -2;
	}
	pk->src.family = pk->dst.family = AF_INET;
	memcpy(pk->src.a, b + 12, 4);
	memcpy(pk->dst.a, b + 16, 4);
	if (len > total)
		len = total;
	return decode_tcp(b + ihl, len - ihl, total - ihl, pk) < 0 ? -1 : 1;
}

/* IPv6 with extension headers: returns as decode_ipv4. */
static int decode_ipv6(struct capture *cap, const uint8_t *b, size_t len, struct pkt *pk)
{
	size_t off = 40, wire;
	uint8_t nh;

	if (len < 40 || (b[0] >> 4) != 6)
		return -1;
	wire = 40 + ((size_t)b[4] << 8 | b[5]);
	if (len > wire)
		len = wire;
	nh = b[6];
	for (int i = 0; i < 8 && nh != IPPROTO_TCP; i++) {
		size_t hl;

		if (nh == 44) {
			cap->stats.fragments++;
			return -2;
		}
		if (nh != 0 && nh != 43 && nh != 60 && nh != 51)
			return 0;
		if (off + 8 > len)
			return -1;
		hl = nh == 51 ? ((size_t)b[off + 1] + 2) * 4 : ((size_t)b[off + 1] + 1) * 8;
		nh = b[off];
		off += hl;
	}
	if (nh != IPPROTO_TCP)
		return 0;
	if (off > len)
		return -1;
	pk->src.family = pk->dst.family = AF_INET6;
	memcpy(pk->src.a, b + 8, 16);
	memcpy(pk->dst.a, b + 24, 16);
	return decode_tcp(b + off, len - off, wire - off, pk) < 0 ? -1 : 1;
}

/* Takes a link-layer frame; returns the offset of the IP header and its
 * ethertype-like version in *ver (4 or 6), or -1 when it carries no IP. */
static long link_ip(int dlt, const uint8_t *b, size_t len, int *ver)
{
	size_t off;
	uint16_t type;

	switch (dlt) {
	case DLT_EN10MB:
		if (len < 14)
			return -1;
		off = 12;
		type = (uint16_t)(b[off] << 8 | b[off + 1]);
		for (int i = 0; i < 2 && (type == 0x8100 || type == 0x88a8 || type == 0x9100); i++) {
			off += 4;
			if (len < off + 2)
				return -1;
			type = (uint16_t)(b[off] << 8 | b[off + 1]);
		}
		off += 2;
		break;
	case DLT_LINUX_SLL:
		if (len < 16)
			return -1;
		type = (uint16_t)(b[14] << 8 | b[15]);
		off = 16;
		break;
	case DLT_LINUX_SLL2:
		if (len < 20)
			return -1;
		type = (uint16_t)(b[0] << 8 | b[1]);
		off = 20;
		break;
	case DLT_NULL:
	case DLT_LOOP:
		off = 4;
		type = 0;
		break;
	default:        /* raw IP */
		off = 0;
		type = 0;
		break;
	}
	if (off >= len)
		return -1;
	if (type == 0x0800 || (type == 0 && (b[off] >> 4) == 4))
		*ver = 4;
	else if (type == 0x86dd || (type == 0 && (b[off] >> 4) == 6))
		*ver = 6;
	else
		return -1;
	return (long)off;
}

/* ---- the TCP state of a connection ---- */

static struct cap_reasm_ext *rx(struct cap_conn *c, enum cap_dir d)
{
	return (struct cap_reasm_ext *)c->rx[d];
}

/* Takes a connection and a segment in direction d; updates SYN/RST/FIN state
 * and feeds the payload to the reassembly. */
static void conn_segment(struct capture *cap, struct cap_conn *c, enum cap_dir d,
			 const struct pkt *pk)
{
	struct cap_side *s = &c->side[d];
	struct out_ctx o = { cap, c, d, pk->ts };
	struct reasm_out out = make_out(&o);
	const struct cap_handler *h = cap->h;

	c->last = *pk->ts;
	if (pk->flags & TH_RST) {
		if (!s->rst) {
			s->rst = 1;
			s->rst_ts = *pk->ts;
			if (d == CAP_S2C && c->saw_syn && !c->saw_synack)
				c->rst_to_syn = 1;
			c->closed = 1;
			if (h && h->tcp)
				h->tcp(cap->arg, c, d, CAP_EV_RST, pk->ts);
		}
		return;
	}
	if (pk->flags & TH_SYN) {
		int synack = (pk->flags & TH_ACK) != 0;

		if (synack != (d == CAP_S2C))
			return;         /* simultaneous open: not IP-HTTPS */
		if (!s->syns++)
			s->first_syn = *pk->ts;
		s->last_syn = *pk->ts;
		if (synack)
			c->saw_synack = 1;
		else
			c->saw_syn = 1;
		if (!rx(c, d)->r.init)
			reasm_start(&rx(c, d)->r, pk->seq + 1);
		if (h && h->tcp)
			h->tcp(cap->arg, c, d, synack ? CAP_EV_SYNACK : CAP_EV_SYN, pk->ts);
		if (!synack)
			return;
	}
	if (pk->flags & TH_ACK) {
		struct cap_reasm_ext *peer = rx(c, !d);
		struct out_ctx po = { cap, c, !d, pk->ts };
		struct reasm_out pout = make_out(&po);

		if (!peer->have_peer_ack || (int32_t)(pk->ack - peer->peer_ack) > 0)
			peer->peer_ack = pk->ack;
		peer->have_peer_ack = 1;
		reasm_ack(&peer->r, pk->ack, &pout);
	}
	if (!(pk->flags & TH_SYN))
		reasm_segment(&rx(c, d)->r, pk->seq, pk->payload, pk->caplen, &out);
	if ((pk->flags & TH_FIN) && !s->fin) {
		s->fin = 1;
		s->fin_ts = *pk->ts;
		rx(c, d)->r.fin = 1;
		rx(c, d)->r.fin_seq = pk->seq + (uint32_t)pk->wirelen;
		if (c->side[!d].fin)
			c->closed = 1;
		if (h && h->tcp)
			h->tcp(cap->arg, c, d, CAP_EV_FIN, pk->ts);
	}
}

/* Takes one TCP segment; finds or makes its connection and processes it. */
static void tcp_packet(struct capture *cap, struct pkt *pk)
{
	const struct cap_addr *cli, *srv;
	enum cap_dir d;
	struct cap_conn *c;
	uint32_t h;

	if (pk->dst.port == cap->port) {
		d = CAP_C2S;
		cli = &pk->src;
		srv = &pk->dst;
	} else if (pk->src.port == cap->port) {
		d = CAP_S2C;
		cli = &pk->dst;
		srv = &pk->src;
	} else {
		cap->stats.other_port++;
		return;
	}
	h = tuple_hash(cli, srv);
	c = conn_find(cap, cli, srv, h);
	if (c && d == CAP_C2S && (pk->flags & (TH_SYN | TH_ACK | TH_RST)) == TH_SYN &&
	    (c->closed || !c->saw_syn || pk->seq != c->isn)) {
		/* a new connection on the same 4-tuple */
		table_remove(cap, c);
		if (cap->forget)
			conn_forget(cap, c);
		else
			conn_end(cap, c);
		c = NULL;
	}
	if (!c && !(c = conn_new(cap, cli, srv, h, pk->ts)))
		return;
	if (cap->forget) {
		active_unlink(cap, c);
		active_push(cap, c);
	}
	if (d == CAP_C2S && (pk->flags & (TH_SYN | TH_ACK)) == TH_SYN && !c->saw_syn)
		c->isn = pk->seq;
	conn_segment(cap, c, d, pk);
}

/* Takes one frame from libpcap; decodes it down to TCP and processes it. */
static void packet(struct capture *cap, const struct pcap_pkthdr *ph, const uint8_t *b)
{
	struct pkt pk;
	long off;
	int ver = 0, rc;

	memset(&pk, 0, sizeof(pk));
	pk.ts = &ph->ts;
	if (ph->caplen < ph->len)
		cap->stats.snapped++;
	off = link_ip(cap->stats.linktype, b, ph->caplen, &ver);
	if (off < 0) {
		cap->stats.not_ip++;
		return;
	}
	if (ver == 4)
		rc = decode_ipv4(cap, b + off, ph->caplen - (size_t)off, &pk);
	else
		rc = decode_ipv6(cap, b + off, ph->caplen - (size_t)off, &pk);
	if (rc == -1)
		cap->stats.malformed++;
	else if (rc == 0)
		cap->stats.not_tcp++;
	else
		tcp_packet(cap, &pk);
}

/* ---- the public interface ---- */

/* Takes an open pcap_t; returns a capture, or NULL with err. */
static struct capture *cap_new(pcap_t *p, uint16_t port, char *err)
{
	struct capture *cap;
	int dlt = pcap_datalink(p);

	switch (dlt) {
	case DLT_EN10MB: case DLT_LINUX_SLL: case DLT_LINUX_SLL2: case DLT_RAW:
	case DLT_IPV4: case DLT_IPV6: case DLT_NULL: case DLT_LOOP:
		break;
	default:
		snprintf(err, ERRLEN, "link type %s is not supported (Ethernet, Linux cooked, raw IP or loopback are)",
			 pcap_datalink_val_to_name(dlt) ? pcap_datalink_val_to_name(dlt) : "unknown");
		pcap_close(p);
		return NULL;
	}
	cap = calloc(1, sizeof(*cap));
	if (cap)
		cap->buckets = calloc(1024, sizeof(*cap->buckets));
	if (!cap || !cap->buckets) {
		free(cap);
		snprintf(err, ERRLEN, "out of memory");
		pcap_close(p);
		return NULL;
	}
	cap->nbuckets = 1024;
	cap->pcap = p;
	cap->port = port ? port : 443;
	cap->stats.linktype = dlt;
	cap->stats.linkname = pcap_datalink_val_to_name(dlt);
	return cap;
}

struct capture *capture_open(const char *path, uint16_t port, char *err)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	pcap_t *p = pcap_open_offline(path, ebuf);

	if (!p) {
		snprintf(err, ERRLEN, "%s", ebuf);
		return NULL;
	}
	return cap_new(p, port, err);
}

struct capture *capture_fopen(FILE *fp, uint16_t port, char *err)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	pcap_t *p = pcap_fopen_offline(fp, ebuf);

	if (!p) {
		fclose(fp);
		snprintf(err, ERRLEN, "%s", ebuf);
		return NULL;
	}
	return cap_new(p, port, err);
}

int capture_run(struct capture *cap, const struct cap_handler *h, void *arg)
{
	struct pcap_pkthdr *ph;
	const u_char *b;
	int rc;

	cap->h = h;
	cap->arg = arg;
	while ((rc = pcap_next_ex(cap->pcap, &ph, &b)) == 1) {
		cap->stats.packets++;
		cap->stats.bytes += ph->len;
		packet(cap, ph, b);
		if (cap->forget)
			expire(cap, &ph->ts);
	}
	if (rc == -1) {
		cap->stats.truncated = 1;
		snprintf(cap->stats.error, sizeof(cap->stats.error), "%s", pcap_geterr(cap->pcap));
	}
	for (struct cap_conn *c = cap->first; c; c = c->next)
		conn_end(cap, c);
	while (cap->ahead) {
		struct cap_conn *c = cap->ahead;
		table_remove(cap, c);
		conn_forget(cap, c);
	}
	return cap->stats.truncated;
}

const struct cap_stats *capture_stats(const struct capture *cap)
{
	return &cap->stats;
}

struct cap_conn *capture_conns(const struct capture *cap)
{
	return cap->first;
}

const char *cap_addr_str(const struct cap_addr *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (a->family == AF_INET6) {
		inet_ntop(AF_INET6, a->a, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, a->port);
	} else {
		inet_ntop(AF_INET, a->a, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, a->port);
	}
	return buf;
}

void capture_forget_ended(struct capture *cap)
{
	cap->forget = 1;
}

/* Free a connection and what its reassembly still holds. */
static void conn_release(struct capture *cap, struct cap_conn *c)
{
	for (int d = 0; d < 2; d++) {
		if (c->rx[d]) {
			reasm_free(c->rx[d], &cap->budget_used);
			free(c->rx[d]);
		}
	}
	free(c);
}

void capture_close(struct capture *cap)
{
	struct cap_conn *c, *nx;

	if (!cap)
		return;
	for (c = cap->first; c; c = nx) {
		nx = c->next;
		conn_release(cap, c);
	}
	for (c = cap->ahead; c; c = nx) {
		nx = c->anext;
		conn_release(cap, c);
	}
	free(cap->buckets);
	pcap_close(cap->pcap);
	free(cap);
}
