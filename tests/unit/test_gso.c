/* TCP segmentation of TUN super-packets (net/gso.c): segment sizes,
 * sequence numbers, flags, payload and checksums checked against a
 * reference checksum written here; partial checksums completed; malformed
 * reads refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <linux/virtio_net.h>
#include <string.h>

#include "net/gso.h"

#define MAXSEG 64
struct got {
	int n;
	size_t len[MAXSEG];
	uint8_t pkt[MAXSEG][1400];
};

static int collect(void *arg, const uint8_t *pkt, size_t len)
{
	struct got *g = arg;
	if (g->n >= MAXSEG || len > sizeof(g->pkt[0]))
		return 1;
	memcpy(g->pkt[g->n], pkt, len);
	g->len[g->n++] = len;
	return 0;
}

/* Reference: the upper-layer checksum over an IPv6 packet (nh at 6). */
static uint16_t ref_csum(const uint8_t *pkt, size_t len)
{
	uint32_t s = 0;
	size_t ul = len - 40;
	for (int i = 8; i < 40; i += 2)
		s += (uint32_t)(pkt[i] << 8 | pkt[i + 1]);
	s += (uint32_t)(ul >> 16) + (uint32_t)(ul & 0xffff) + pkt[6];
	for (size_t i = 40; i + 1 < len; i += 2)
		s += (uint32_t)(pkt[i] << 8 | pkt[i + 1]);
	if (ul & 1)
		s += (uint32_t)(pkt[len - 1] << 8);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s; /* 0xffff when the stored checksum is right */
}

static size_t build_tcp(uint8_t *buf, size_t payload, uint16_t mss, uint8_t flags, int gso)
{
	struct virtio_net_hdr h = { 0 };
	uint8_t *p = buf + VNET_HDR_LEN;

	memset(buf, 0, VNET_HDR_LEN + 60 + payload);
	p[0] = 0x60;
	p[4] = (uint8_t)((20 + payload) >> 8);
	p[5] = (uint8_t)(20 + payload);
	p[6] = 6;
	p[7] = 64;
	p[8] = 0xfd; p[23] = 1;      /* fd00::1 */
	p[24] = 0xfd; p[39] = 2;     /* fd00::2 */
	p[40] = 0x12; p[41] = 0x34; p[42] = 0x00; p[43] = 0x50;
	p[44] = 0xff; p[45] = 0xff; p[46] = 0xff; p[47] = 0x00;   /* seq near the wrap */
	p[52] = 0x50;                /* data offset 5 words */
	p[53] = flags;
	for (size_t i = 0; i < payload; i++)
		p[60 + i] = (uint8_t)(i * 7 + 3);
	if (gso) {
		h.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
		h.gso_size = mss;
		h.hdr_len = 60;
		h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h.csum_start = 40;
		h.csum_offset = 16;
	}
	memcpy(buf, &h, sizeof(h));
	return VNET_HDR_LEN + 60 + payload;
}

static void test_split(void **state)
{
	static uint8_t buf[GSO_MAX_READ];
	static struct got g;
	size_t len = build_tcp(buf, 5000, 1220, 0x18 | 0x01 | 0x80, 1); /* PSH ACK FIN CWR */
	size_t off = 0;

	memset(&g, 0, sizeof(g));
	assert_int_equal(gso_split(buf, len, 1280, collect, &g), 5);
	for (int i = 0; i < g.n; i++) {
		const uint8_t *s = g.pkt[i];
		size_t pl = (size_t)(s[4] << 8 | s[5]);
		uint32_t seq = (uint32_t)s[44] << 24 | (uint32_t)s[45] << 16 | (uint32_t)s[46] << 8 | s[47];
		size_t chunk = i < 4 ? 1220 : 5000 - 4 * 1220;

		assert_int_equal(g.len[i], 60 + chunk);
		assert_int_equal(pl, 20 + chunk);
		assert_int_equal(seq, (uint32_t)(0xffffff00u + off));
		assert_int_equal(ref_csum(s, g.len[i]), 0xffff);
		for (size_t k = 0; k < chunk; k++)
			assert_int_equal(s[60 + k], (uint8_t)((off + k) * 7 + 3));
		if (i < 4)
			assert_int_equal(s[53] & 0x09, 0);      /* no FIN, no PSH before the last */
		else
			assert_int_equal(s[53] & 0x09, 0x09);
		assert_int_equal(s[53] & 0x80, i == 0 ? 0x80 : 0);
		off += chunk;
	}
	assert_int_equal(off, 5000);
}

static void test_plain_and_partial_checksum(void **state)
{
	static uint8_t buf[GSO_MAX_READ];
	static struct got g;
	struct virtio_net_hdr h = { 0 };
	size_t len = build_tcp(buf, 100, 0, 0x10, 0);
	uint8_t *p = buf + VNET_HDR_LEN;
	uint32_t s = 0;

	/* No header flags: passed through as is. */
	memset(&g, 0, sizeof(g));
	assert_int_equal(gso_split(buf, len, 1280, collect, &g), 1);
	assert_int_equal(g.len[0], 160);
	assert_memory_equal(g.pkt[0], p, 160);
	/* CHECKSUM_PARTIAL: the field holds the pseudo-header sum. */
	for (int i = 8; i < 40; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	s += 120 + 6;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	p[56] = (uint8_t)(s >> 8);
	p[57] = (uint8_t)s;
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.csum_start = 40;
	h.csum_offset = 16;
	memcpy(buf, &h, sizeof(h));
	memset(&g, 0, sizeof(g));
	assert_int_equal(gso_split(buf, len, 1280, collect, &g), 1);
	assert_int_equal(ref_csum(g.pkt[0], g.len[0]), 0xffff);
}

/* Refused whole, nothing emitted, with the reason: a GSO type we did not
 * ask for, a header that does not fit the packet, lengths that do not add
 * up. */
static void test_refused(void **state)
{
	static uint8_t buf[GSO_MAX_READ];
	static struct got g;
	struct virtio_net_hdr h;
	size_t len;

#define REFUSED(expr, code) do { memset(&g, 0, sizeof(g)); \
		assert_int_equal((expr), (code)); assert_int_equal(g.n, 0); } while (0)
	REFUSED(gso_split(buf, 20, 1280, collect, &g), GSO_ERR_LENGTH);  /* shorter than a header */
	/* Types: ECN flavour (TUN_F_TSO_ECN was not asked for), TCPV4, UDP. */
	static const uint8_t types[] = { VIRTIO_NET_HDR_GSO_TCPV6 | VIRTIO_NET_HDR_GSO_ECN,
					 VIRTIO_NET_HDR_GSO_TCPV4, VIRTIO_NET_HDR_GSO_UDP, 5 };
	for (size_t i = 0; i < sizeof(types); i++) {
		len = build_tcp(buf, 3000, 1220, 0x10, 1);
		buf[1] = types[i];
		REFUSED(gso_split(buf, len, 1280, collect, &g), GSO_ERR_TYPE);
	}
	/* Headers: no NEEDS_CSUM, checksum elsewhere than TCP's field, no
	 * GSO size, hdr_len past the packet; a plain packet whose partial
	 * checksum lies beyond it. */
	len = build_tcp(buf, 3000, 1220, 0x10, 1);
	buf[0] = 0;
	REFUSED(gso_split(buf, len, 1280, collect, &g), GSO_ERR_HEADER);
	len = build_tcp(buf, 3000, 1220, 0x10, 1);
	memcpy(&h, buf, sizeof(h));
	h.csum_offset = 6;                                               /* UDP's field */
	memcpy(buf, &h, sizeof(h));
	REFUSED(gso_split(buf, len, 1280, collect, &g), GSO_ERR_HEADER);
	len = build_tcp(buf, 3000, 0, 0x10, 1);                           /* gso_size 0 */
	REFUSED(gso_split(buf, len, 1280, collect, &g), GSO_ERR_HEADER);
	len = build_tcp(buf, 3000, 1220, 0x10, 1);
	memcpy(&h, buf, sizeof(h));
	h.hdr_len = 4000;
	memcpy(buf, &h, sizeof(h));
	REFUSED(gso_split(buf, len, 1280, collect, &g), GSO_ERR_HEADER);
	len = build_tcp(buf, 10, 0, 0x10, 0);
	memset(&h, 0, sizeof(h));
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.csum_start = 200;                                               /* beyond the packet */
	memcpy(buf, &h, sizeof(h));
	REFUSED(gso_split(buf, len, 1280, collect, &g), GSO_ERR_HEADER);
	/* Lengths: UDP inside a TCP super-packet, IPv6 payload length not the
	 * read's, the TCP header past the end, a read cut short. */
	len = build_tcp(buf, 3000, 1220, 0x10, 1);
	buf[VNET_HDR_LEN + 6] = 17;
	REFUSED(gso_split(buf, len, 1280, collect, &g), GSO_ERR_LENGTH);
	len = build_tcp(buf, 3000, 1220, 0x10, 1);
	buf[VNET_HDR_LEN + 5] ^= 4;
	REFUSED(gso_split(buf, len, 1280, collect, &g), GSO_ERR_LENGTH);
	len = build_tcp(buf, 3000, 1220, 0x10, 1);
	buf[VNET_HDR_LEN + 52] = 0xf0;                                    /* 60-byte TCP header */
	buf[VNET_HDR_LEN + 4] = 0;
	buf[VNET_HDR_LEN + 5] = 30;
	REFUSED(gso_split(buf, VNET_HDR_LEN + 70, 1280, collect, &g), GSO_ERR_LENGTH);
	len = build_tcp(buf, 3000, 1220, 0x10, 1);
	REFUSED(gso_split(buf, len - 100, 1280, collect, &g), GSO_ERR_LENGTH);
	/* A link too small for even the headers. */
	len = build_tcp(buf, 3000, 1220, 0x10, 1);
	REFUSED(gso_split(buf, len, 60, collect, &g), GSO_ERR_LENGTH);
#undef REFUSED
	assert_string_equal(gso_strerror(GSO_ERR_TYPE), "a GSO type other than TCPV6");
}

/* A GSO size larger than the link takes: cut to the link's size. */
static void test_cut_to_link(void **state)
{
	static uint8_t buf[GSO_MAX_READ];
	static struct got g;
	size_t len = build_tcp(buf, 4000, 1400, 0x18, 1), off = 0;

	memset(&g, 0, sizeof(g));
	assert_int_equal(gso_split(buf, len, 1280, collect, &g), 4);     /* 1220 * 3 + 340 */
	for (int i = 0; i < g.n; i++) {
		assert_true(g.len[i] <= 1280);
		assert_int_equal(ref_csum(g.pkt[i], g.len[i]), 0xffff);
		for (size_t k = 0; k < g.len[i] - 60; k++)
			assert_int_equal(g.pkt[i][60 + k], (uint8_t)((off + k) * 7 + 3));
		off += g.len[i] - 60;
	}
	assert_int_equal(off, 4000);
	assert_int_equal(g.len[0], 1280);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_plain_and_partial_checksum),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_cut_to_link),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
