/* Write-side coalescing for offload TUNs: see gro.h. */
#include "net/gro.h"

#include <linux/virtio_net.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "net/gso.h"

#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_ACK 0x10

static const uint8_t zero_hdr[VNET_HDR_LEN];

int gro_init(struct gro *g, gro_out_fn out, void *arg)
{
	memset(g, 0, sizeof(*g));
	g->out = out;
	g->arg = arg;
	g->buf = malloc(GRO_BUF_SIZE);
	return g->buf ? 0 : -1;
}

void gro_free(struct gro *g)
{
	free(g->buf);
	g->buf = NULL;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The pseudo-header sum of an IPv6 TCP segment of tcp_len bytes. */
static uint32_t pseudo_sum(const uint8_t *ip6, uint32_t tcp_len)
{
	uint8_t ph[8] = { (uint8_t)(tcp_len >> 24), (uint8_t)(tcp_len >> 16), (uint8_t)(tcp_len >> 8),
			  (uint8_t)tcp_len, 0, 0, 0, IPPROTO_TCP };

	return csum_add(csum_add(0, ip6 + 8, 32), ph, 8);
}

/* A TCP segment that may be coalesced: returns the IPv6+TCP header length,
 * or 0.  Checks the shape and the checksum (counted when wrong). */
static size_t candidate(struct gro *g, const uint8_t *p, size_t len)
{
	size_t thl;

	if (len < 60 || (p[0] >> 4) != 6 || p[6] != IPPROTO_TCP ||
	    40 + ((size_t)p[4] << 8 | p[5]) != len)
		return 0;
	thl = (size_t)(p[52] >> 4) * 4;
	if (thl < 20 || 40 + thl >= len)            /* no payload: nothing to join */
		return 0;
	if ((p[53] & ~TCP_PSH) != TCP_ACK)
		return 0;
	if (csum_fold(csum_add(pseudo_sum(p, (uint32_t)(len - 40)), p + 40, len - 40)) != 0xffff) {
		g->bad_csum++;
		return 0;
	}
	return 40 + thl;
}

/* Does segment p (header length hlen) continue item it? */
static int joins(const struct gro_item *it, const uint8_t *p, size_t len, size_t hlen)
{
	const uint8_t *h = it->hdr;
	size_t pl = len - hlen;

	return it->open && hlen == it->hlen && pl <= it->gso_size &&
	       get32(p + 44) == it->next_seq &&
	       it->hlen - 40 + it->payload + pl <= 65535 &&
	       !memcmp(p, h, 4) && p[7] == h[7] &&
	       !memcmp(p + 48, h + 48, 4) &&              /* acknowledgment */
	       !memcmp(p + 54, h + 54, 2) &&              /* window */
	       !memcmp(p + 60, h + 60, hlen - 60);        /* options */
}

/* Might item it hold packets of p's flow?  Items of the same addresses
 * whose ports are unknown (not plain TCP) count as the same flow, so that
 * nothing of a flow overtakes them. */
static int same_flow(const struct gro_item *it, const uint8_t *p, size_t len)
{
	if (!it->addrs || len < 40 || memcmp(p + 8, it->hdr + 8, 32))
		return 0;
	return !it->ports || p[6] != IPPROTO_TCP || len < 44 || !memcmp(p + 40, it->hdr + 40, 4);
}

/* The newest pending item of p's flow, if p can join it. */
static struct gro_item *find_item(struct gro *g, const uint8_t *p, size_t len, size_t hlen)
{
	if (!hlen)
		return NULL;
	for (unsigned i = g->nitems; i-- > 0;) {
		struct gro_item *it = &g->items[i];
		if (same_flow(it, p, len))
			return it->tcp && joins(it, p, len, hlen) ? it : NULL;
	}
	return NULL;
}

static void append(struct gro *g, struct gro_item *it, int16_t idx, const uint8_t *p, size_t pl)
{
	g->pkts[it->last].next = idx;
	it->last = idx;
	it->nseg++;
	it->payload += (uint32_t)pl;
	it->next_seq += (uint32_t)pl;
	if (pl < it->gso_size || (p[53] & TCP_PSH))
		it->open = 0;
	it->hdr[53] |= p[53] & TCP_PSH;
	g->coalesced_pkts++;
}

static void new_item(struct gro *g, int16_t idx, const uint8_t *p, size_t len, size_t hlen,
		     void *owner)
{
	struct gro_item *it = &g->items[g->nitems++];

	it->first = it->last = idx;
	it->nseg = 1;
	it->owner = owner;
	it->tcp = hlen != 0;
	it->hlen = (uint16_t)hlen;
	it->addrs = len >= 40 && (p[0] >> 4) == 6;
	it->ports = it->addrs && p[6] == IPPROTO_TCP && len >= 44;
	it->open = 0;
	if (it->addrs)
		memcpy(it->hdr, p, hlen ? hlen : it->ports ? 44 : 40);
	if (!hlen)
		return;
	it->gso_size = (uint16_t)(len - hlen);
	it->payload = (uint32_t)(len - hlen);
	it->next_seq = get32(p + 44) + it->payload;
	it->open = !(p[53] & TCP_PSH);
}

void gro_add(struct gro *g, const uint8_t *pkt, size_t len, void *owner)
{
	struct gro_item *it;
	size_t hlen;
	int16_t idx;

	if (len > GRO_BUF_SIZE)
		return;
	if (g->npkts == GRO_MAX_PKTS || g->nitems == GRO_MAX_ITEMS || g->used + len > GRO_BUF_SIZE)
		gro_flush(g);
	g->in_pkts++;
	idx = (int16_t)g->npkts++;
	memcpy(g->buf + g->used, pkt, len);
	g->pkts[idx] = (struct gro_pkt){ g->buf + g->used, (uint16_t)len, 0, -1 };
	pkt = g->buf + g->used;
	g->used += len;
	hlen = candidate(g, pkt, len);
	g->pkts[idx].hlen = (uint16_t)hlen;
	if ((it = find_item(g, pkt, len, hlen)) != NULL)
		append(g, it, idx, pkt, len - hlen);
	else
		new_item(g, idx, pkt, len, hlen, owner);
}

/* Write one item: a single packet as it came, or the super-packet. */
static void write_item(struct gro *g, struct gro_item *it)
{
	struct iovec iov[GRO_MAX_IOV];
	struct virtio_net_hdr vh;
	const struct gro_pkt *p = &g->pkts[it->first];
	uint32_t tcp_len;
	uint16_t c;
	int n = 2;

	if (it->nseg == 1) {
		iov[0] = (struct iovec){ (void *)zero_hdr, VNET_HDR_LEN };
		iov[1] = (struct iovec){ (void *)p->data, p->len };
	} else {
		tcp_len = (uint32_t)(it->hlen - 40) + it->payload;
		it->hdr[4] = (uint8_t)(tcp_len >> 8);
		it->hdr[5] = (uint8_t)tcp_len;
		c = csum_fold(pseudo_sum(it->hdr, tcp_len));
		it->hdr[56] = (uint8_t)(c >> 8);
		it->hdr[57] = (uint8_t)c;
		memset(&vh, 0, sizeof(vh));
		vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		vh.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
		vh.hdr_len = it->hlen;
		vh.gso_size = it->gso_size;
		vh.csum_start = 40;
		vh.csum_offset = 16;
		iov[0] = (struct iovec){ &vh, VNET_HDR_LEN };
		iov[1] = (struct iovec){ it->hdr, it->hlen };
		for (int16_t i = it->first; i >= 0; i = g->pkts[i].next, n++)
			iov[n] = (struct iovec){ (void *)(g->pkts[i].data + it->hlen),
						 (size_t)g->pkts[i].len - it->hlen };
		g->out_super++;
	}
	g->out_writes++;
	if (g->out(g->arg, iov, n, it->owner, it->nseg, it->nseg > 1) == 0)
		return;
	if (it->nseg == 1) {
		g->failed_pkts++;
		return;
	}
	/* The kernel refused the super-packet: the packets as they came. */
	g->refused++;
	for (int16_t i = it->first; i >= 0; i = g->pkts[i].next) {
		iov[0] = (struct iovec){ (void *)zero_hdr, VNET_HDR_LEN };
		iov[1] = (struct iovec){ (void *)g->pkts[i].data, g->pkts[i].len };
		g->out_writes++;
		if (g->out(g->arg, iov, 2, it->owner, 1, 0) < 0)
			g->failed_pkts++;
	}
}

void gro_flush(struct gro *g)
{
	for (unsigned i = 0; i < g->nitems; i++)
		write_item(g, &g->items[i]);
	g->nitems = 0;
	g->npkts = 0;
	g->used = 0;
}
