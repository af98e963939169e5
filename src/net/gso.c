/* TCP segmentation for offload TUNs: see gso.h. */
#include "net/gso.h"

#include <arpa/inet.h>
#include <linux/virtio_net.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

/* The one's complement sum does not care about byte order as long as it is
 * the same throughout: sum native 32-bit words eight bytes at a time, fold,
 * and turn the result to network order once. */
uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	uint64_t s = 0;
	uint32_t w32;
	uint16_t w16, folded;

	while (len >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		s += (w & 0xffffffffu) + (w >> 32);
		p += 8;
		len -= 8;
	}
	if (len >= 4) {
		memcpy(&w32, p, 4);
		s += w32;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		memcpy(&w16, p, 2);
		s += w16;
		p += 2;
		len -= 2;
	}
	if (len) {
		uint8_t last[2] = { p[0], 0 };
		memcpy(&w16, last, 2);
		s += w16;
	}
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	folded = ntohs((uint16_t)s);
	s = (uint64_t)sum + folded;
	while (s >> 32)
		s = (s & 0xffffffff) + (s >> 32);
	return (uint32_t)s;
}

uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

long tun_write_vnet(int fd, const uint8_t *pkt, size_t len)
{
	static const uint8_t zero[VNET_HDR_LEN];
	struct iovec iov[2] = { { (void *)zero, VNET_HDR_LEN }, { (void *)pkt, len } };
	ssize_t n = writev(fd, iov, 2);

	return n < 0 ? -1 : n - VNET_HDR_LEN;
}

/* The TCP checksum of an IPv6 packet whose TCP header is at 40, len bytes. */
static void tcp6_checksum(uint8_t *pkt, size_t len)
{
	uint8_t *tcp = pkt + 40;
	size_t tlen = len - 40;
	uint32_t s = 0;
	uint8_t ph[8] = { 0 };

	tcp[16] = tcp[17] = 0;
	s = csum_add(s, pkt + 8, 32);          /* source and destination */
	ph[0] = (uint8_t)(tlen >> 24);
	ph[1] = (uint8_t)(tlen >> 16);
	ph[2] = (uint8_t)(tlen >> 8);
	ph[3] = (uint8_t)tlen;
	ph[7] = IPPROTO_TCP;
	s = csum_add(s, ph, 8);
	s = csum_add(s, tcp, tlen);
	uint16_t c = (uint16_t)~csum_fold(s);
	tcp[16] = (uint8_t)(c >> 8);
	tcp[17] = (uint8_t)c;
}

/* A packet the kernel left with a partial checksum: the field at
 * start+offset holds the pseudo-header sum; sum from start to the end. */
static int complete_csum(uint8_t *pkt, size_t len, size_t start, size_t offset)
{
	uint16_t c;

	if (start >= len || start + offset + 2 > len)
		return -1;
	c = (uint16_t)~csum_fold(csum_add(0, pkt + start, len - start));
	pkt[start + offset] = (uint8_t)(c >> 8);
	pkt[start + offset + 1] = (uint8_t)c;
	return 0;
}

/* Check a super-packet's header against what TUN_F_TSO6 lets the kernel
 * send: GSO TCPV6 (no ECN flavour), the checksum left to us at the TCP
 * checksum field, an IPv6 payload length that matches the read.  Returns
 * the IPv6+TCP header length, or a GSO_ERR_*. */
static int check_super(const struct virtio_net_hdr *h, const uint8_t *pkt, size_t plen)
{
	size_t tcp_hlen;

	if (h->gso_type != VIRTIO_NET_HDR_GSO_TCPV6)
		return GSO_ERR_TYPE;
	if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || h->csum_start != 40 || h->csum_offset != 16 ||
	    !h->gso_size || h->hdr_len > plen)
		return GSO_ERR_HEADER;
	if (plen < 60 || (pkt[0] >> 4) != 6 || pkt[6] != IPPROTO_TCP ||
	    40 + ((size_t)pkt[4] << 8 | pkt[5]) != plen)
		return GSO_ERR_LENGTH;
	tcp_hlen = (size_t)(pkt[40 + 12] >> 4) * 4;
	if (tcp_hlen < 20 || 40 + tcp_hlen > plen)
		return GSO_ERR_LENGTH;
	return (int)(40 + tcp_hlen);
}

const char *gso_strerror(int rc)
{
	switch (rc) {
	case GSO_ERR_TYPE:
		return "a GSO type other than TCPV6";
	case GSO_ERR_HEADER:
		return "a virtio-net header that does not fit the packet";
	case GSO_ERR_LENGTH:
		return "lengths that do not add up";
	case GSO_ERR_EMIT:
		return "stopped by the receiver";
	default:
		return "ok";
	}
}

int gso_split(uint8_t *buf, size_t len, size_t mtu, gso_emit_fn emit, void *arg)
{
	struct virtio_net_hdr h;
	uint8_t *pkt = buf + VNET_HDR_LEN, seg[40 + 60 + 65535];
	size_t plen, hlen, tcp_hlen, payload, mss, off;
	uint32_t seq;
	int n = 0, rc;

	if (len < VNET_HDR_LEN + 40)
		return GSO_ERR_LENGTH;
	memcpy(&h, buf, sizeof(h));
	plen = len - VNET_HDR_LEN;
	if (h.gso_type == VIRTIO_NET_HDR_GSO_NONE) {
		if ((h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
		    complete_csum(pkt, plen, h.csum_start, h.csum_offset) < 0)
			return GSO_ERR_HEADER;
		return emit(arg, pkt, plen) ? GSO_ERR_EMIT : 1;
	}
	if ((rc = check_super(&h, pkt, plen)) < 0)
		return rc;
	hlen = (size_t)rc;
	tcp_hlen = hlen - 40;
	/* Cut to the link's size even if the kernel's MSS is larger. */
	mss = h.gso_size;
	if (mtu <= hlen)
		return GSO_ERR_LENGTH;
	if (mss > mtu - hlen)
		mss = mtu - hlen;
	payload = plen - hlen;
	seq = (uint32_t)pkt[44] << 24 | (uint32_t)pkt[45] << 16 | (uint32_t)pkt[46] << 8 | pkt[47];
	for (off = 0; off < payload || (payload == 0 && off == 0); off += mss) {
		size_t chunk = payload - off < mss ? payload - off : mss;
		uint32_t s = seq + (uint32_t)off;
		uint8_t flags = pkt[40 + 13];

		memcpy(seg, pkt, hlen);
		memcpy(seg + hlen, pkt + hlen + off, chunk);
		seg[4] = (uint8_t)((tcp_hlen + chunk) >> 8);
		seg[5] = (uint8_t)(tcp_hlen + chunk);
		seg[44] = (uint8_t)(s >> 24);
		seg[45] = (uint8_t)(s >> 16);
		seg[46] = (uint8_t)(s >> 8);
		seg[47] = (uint8_t)s;
		if (off + chunk < payload)
			flags &= (uint8_t)~0x09;       /* FIN and PSH only on the last */
		if (off)
			flags &= (uint8_t)~0x80;       /* CWR only on the first */
		seg[40 + 13] = flags;
		tcp6_checksum(seg, hlen + chunk);
		if (emit(arg, seg, hlen + chunk))
			return GSO_ERR_EMIT;
		n++;
		if (payload == 0)
			break;
	}
	return n;
}
