/* Write-side coalescing (net/gro.c): which segments join a super-packet and
 * which are written alone, the virtio-net header and the IPv6/TCP header of
 * a super-packet, the limits, a refused super-packet sent packet by packet.
 * Every super-packet is cut again with gso_split and must give back exactly
 * the packets that went in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <linux/virtio_net.h>
#include <stdlib.h>
#include <string.h>

#include "net/gro.h"
#include "net/gso.h"

/* ---- packets ---- */

struct seg {
	uint8_t flags;
	uint32_t seq, ack;
	uint16_t win;
	uint8_t hlim, tc;
	int opts;                       /* 12 bytes of options (timestamps) */
	uint32_t tsval;
	size_t payload;
	uint16_t sport;
};

static size_t build(uint8_t *p, const struct seg *s)
{
	size_t thl = s->opts ? 32 : 20, len = 40 + thl + s->payload;
	uint32_t sum = 0;
	uint16_t c;

	memset(p, 0, len);
	p[0] = (uint8_t)(0x60 | s->tc >> 4);
	p[1] = (uint8_t)(s->tc << 4);
	p[4] = (uint8_t)((thl + s->payload) >> 8);
	p[5] = (uint8_t)(thl + s->payload);
	p[6] = 6;
	p[7] = s->hlim ? s->hlim : 64;
	p[8] = 0xfd; p[23] = 1;
	p[24] = 0xfd; p[39] = 2;
	p[40] = (uint8_t)(s->sport >> 8); p[41] = (uint8_t)s->sport;
	p[42] = 0x14; p[43] = 0x51;
	for (int i = 0; i < 4; i++) {
		p[44 + i] = (uint8_t)(s->seq >> (24 - 8 * i));
		p[48 + i] = (uint8_t)(s->ack >> (24 - 8 * i));
	}
	p[52] = (uint8_t)((thl / 4) << 4);
	p[53] = s->flags;
	p[54] = (uint8_t)(s->win >> 8); p[55] = (uint8_t)s->win;
	if (s->opts) {
		p[60] = 1; p[61] = 1; p[62] = 8; p[63] = 10;
		for (int i = 0; i < 4; i++)
			p[64 + i] = (uint8_t)(s->tsval >> (24 - 8 * i));
	}
	for (size_t i = 0; i < s->payload; i++)
		p[40 + thl + i] = (uint8_t)((s->seq + i) * 13 + 1);
	/* Reference checksum, byte by byte. */
	for (int i = 8; i < 40; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	sum += (uint32_t)(len - 40) + 6;
	for (size_t i = 40; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if ((len - 40) & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	c = (uint16_t)~sum;
	p[56] = (uint8_t)(c >> 8);
	p[57] = (uint8_t)c;
	return len;
}

/* ---- what the coalescer writes ---- */

#define MAXW 256
struct written {
	int n;
	struct virtio_net_hdr vh[MAXW];
	uint8_t *pkt[MAXW];
	size_t len[MAXW];
	void *owner[MAXW];
	unsigned npkts[MAXW];
	int fail_super, fail_all;
};
static struct written W;

static int out(void *arg, const struct iovec *iov, int iovcnt, void *owner, unsigned npkts,
	       int is_super)
{
	size_t len = 0;

	assert_ptr_equal(arg, &W);
	assert_int_equal(iov[0].iov_len, VNET_HDR_LEN);
	if ((is_super && W.fail_super) || W.fail_all) {
		errno = EINVAL;
		return -1;
	}
	assert_true(W.n < MAXW);
	memcpy(&W.vh[W.n], iov[0].iov_base, VNET_HDR_LEN);
	W.pkt[W.n] = malloc(65600);
	for (int i = 1; i < iovcnt; i++) {
		memcpy(W.pkt[W.n] + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	W.len[W.n] = len;
	W.owner[W.n] = owner;
	W.npkts[W.n] = npkts;
	W.n++;
	return 0;
}

static void reset(void)
{
	for (int i = 0; i < W.n; i++)
		free(W.pkt[i]);
	memset(&W, 0, sizeof(W));
}

/* Cut written packet i again; the packets go to got[] from *ng on. */
static uint8_t got[GRO_MAX_PKTS + 8][1600];
static size_t got_len[GRO_MAX_PKTS + 8];
static int ng;

static int collect(void *arg, const uint8_t *pkt, size_t len)
{
	assert_true(ng < GRO_MAX_PKTS + 8 && len <= sizeof(got[0]));
	memcpy(got[ng], pkt, len);
	got_len[ng++] = len;
	return 0;
}

static int resplit(int i)
{
	static uint8_t buf[GSO_MAX_READ];
	memcpy(buf, &W.vh[i], VNET_HDR_LEN);
	memcpy(buf + VNET_HDR_LEN, W.pkt[i], W.len[i]);
	return gso_split(buf, VNET_HDR_LEN + W.len[i], 65535, collect, NULL);
}

static struct gro G;
static uint8_t in[GRO_MAX_PKTS + 8][1600];
static size_t in_len[GRO_MAX_PKTS + 8];

static int setup(void **state)
{
	reset();
	ng = 0;
	return gro_init(&G, out, &W);
}

static int teardown(void **state)
{
	gro_free(&G);
	reset();
	return 0;
}

static struct seg bulk(uint32_t seq, size_t payload)
{
	return (struct seg){ .flags = 0x10, .seq = seq, .ack = 777, .win = 500, .opts = 1,
			     .tsval = 42, .payload = payload, .sport = 40000 };
}

/* ---- tests ---- */

static void test_one_flow(void **state)
{
	int owner;
	uint32_t seq = 0xfffff000u;     /* across the sequence wrap */

	for (int i = 0; i < 10; i++) {
		struct seg s = bulk(seq, 1208);
		if (i == 9) {
			s.payload = 300;
			s.flags |= 0x08;       /* PSH on the last */
		}
		in_len[i] = build(in[i], &s);
		gro_add(&G, in[i], in_len[i], &owner);
		seq += (uint32_t)s.payload;
	}
	assert_int_equal(W.n, 0);                     /* nothing before the flush */
	gro_flush(&G);
	assert_int_equal(W.n, 1);
	assert_int_equal(W.vh[0].gso_type, VIRTIO_NET_HDR_GSO_TCPV6);
	assert_int_equal(W.vh[0].flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(W.vh[0].gso_size, 1208);
	assert_int_equal(W.vh[0].hdr_len, 72);
	assert_int_equal(W.vh[0].csum_start, 40);
	assert_int_equal(W.vh[0].csum_offset, 16);
	assert_ptr_equal(W.owner[0], &owner);
	assert_int_equal(W.npkts[0], 10);
	assert_int_equal(W.len[0], 72 + 9 * 1208 + 300);
	assert_int_equal(W.pkt[0][4] << 8 | W.pkt[0][5], 32 + 9 * 1208 + 300);
	assert_int_equal(W.pkt[0][53], 0x18);         /* PSH of the last segment */
	/* The checksum field holds the pseudo-header sum (not inverted) of
	 * the whole segment, for the kernel to complete (NEEDS_CSUM). */
	{
		uint32_t tl = (uint32_t)W.len[0] - 40, sum = 0;
		for (int i = 8; i < 40; i += 2)
			sum += (uint32_t)(W.pkt[0][i] << 8 | W.pkt[0][i + 1]);
		sum += (tl >> 16) + (tl & 0xffff) + 6;
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		assert_int_equal(W.pkt[0][56] << 8 | W.pkt[0][57], sum);
	}
	assert_int_equal(resplit(0), 10);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(got_len[i], in_len[i]);
		assert_memory_equal(got[i], in[i], in_len[i]);
	}
	assert_int_equal(G.coalesced_pkts, 9);
	assert_int_equal(G.out_super, 1);
}

/* Two flows interleaved: one super-packet each, each flow in order. */
static void test_two_flows(void **state)
{
	uint32_t sa = 1000, sb = 5000;
	int n = 0;

	for (int i = 0; i < 6; i++) {
		struct seg a = bulk(sa, 1000), b = bulk(sb, 1000);
		b.sport = 40001;
		in_len[n] = build(in[n], &a);
		gro_add(&G, in[n], in_len[n], NULL);
		n++;
		in_len[n] = build(in[n], &b);
		gro_add(&G, in[n], in_len[n], NULL);
		n++;
		sa += 1000;
		sb += 1000;
	}
	gro_flush(&G);
	assert_int_equal(W.n, 2);
	assert_int_equal(resplit(0), 6);
	assert_int_equal(resplit(1), 6);
	for (int i = 0; i < 6; i++) {
		assert_memory_equal(got[i], in[2 * i], in_len[2 * i]);
		assert_memory_equal(got[6 + i], in[2 * i + 1], in_len[2 * i + 1]);
	}
}

/* A segment that follows the first in sequence but differs from it in any
 * of these is not joined: both are written as they came. */
static void test_not_joined(void **state)
{
	struct seg v[16];
	int n = 0;

	v[n] = bulk(1100, 1000); v[n].ack = 778;           /* another ack */
	v[++n] = bulk(1100, 1000); v[n].win = 501;         /* another window */
	v[++n] = bulk(1100, 1000); v[n].hlim = 63;         /* another hop limit */
	v[++n] = bulk(1100, 1000); v[n].tc = 0x01;         /* ECN bits */
	v[++n] = bulk(1100, 1000); v[n].tsval = 43;        /* other options */
	v[++n] = bulk(1100, 1000); v[n].opts = 0;          /* no options */
	v[++n] = bulk(1100, 1000); v[n].flags = 0x11;      /* FIN */
	v[++n] = bulk(1100, 1000); v[n].flags = 0x12;      /* SYN */
	v[++n] = bulk(1100, 1000); v[n].flags = 0x14;      /* RST */
	v[++n] = bulk(1100, 1000); v[n].flags = 0x30;      /* URG */
	v[++n] = bulk(1100, 1000); v[n].flags = 0x50;      /* ECE */
	v[++n] = bulk(1100, 1000); v[n].flags = 0x90;      /* CWR */
	v[++n] = bulk(1101, 1000);                         /* a gap */
	v[++n] = bulk(1100, 1001);                         /* larger than the first */
	v[++n] = bulk(1100, 0);                            /* a pure ACK */
	n++;
	for (int i = 0; i < n; i++) {
		struct seg head = bulk(100, 1000);
		reset();
		in_len[0] = build(in[0], &head);
		in_len[1] = build(in[1], &v[i]);
		gro_add(&G, in[0], in_len[0], NULL);
		gro_add(&G, in[1], in_len[1], NULL);
		gro_flush(&G);
		assert_int_equal(W.n, 2);
		for (int k = 0; k < 2; k++) {
			assert_int_equal(W.vh[k].gso_type, VIRTIO_NET_HDR_GSO_NONE);
			assert_int_equal(W.vh[k].flags, 0);
			assert_int_equal(W.len[k], in_len[k]);
			assert_memory_equal(W.pkt[k], in[k], in_len[k]);
		}
	}
	assert_int_equal(G.coalesced_pkts, 0);
	/* The same pair with nothing different is joined (the cases above
	 * fail for their difference alone). */
	{
		struct seg head = bulk(100, 1000), next = bulk(1100, 1000);
		reset();
		in_len[0] = build(in[0], &head);
		in_len[1] = build(in[1], &next);
		gro_add(&G, in[0], in_len[0], NULL);
		gro_add(&G, in[1], in_len[1], NULL);
		gro_flush(&G);
		assert_int_equal(W.n, 1);
		assert_int_equal(W.npkts[0], 2);
	}
}

/* A wrong checksum, another protocol, an extension header, a payload
 * length that does not match: written alone, unchanged. */
static void test_not_candidates(void **state)
{
	struct seg s = bulk(100, 1000), t = bulk(1100, 1000);
	int n = 0;

	in_len[n] = build(in[n], &s);
	gro_add(&G, in[n], in_len[n], NULL);
	n++;
	in_len[n] = build(in[n], &t);
	in[n][200] ^= 0x40;                                 /* corrupt payload */
	gro_add(&G, in[n], in_len[n], NULL);
	n++;
	in_len[n] = build(in[n], &t);
	in[n][6] = 17;                                      /* UDP */
	gro_add(&G, in[n], in_len[n], NULL);
	n++;
	in_len[n] = build(in[n], &t);
	in[n][6] = 0;                                       /* hop-by-hop header */
	gro_add(&G, in[n], in_len[n], NULL);
	n++;
	in_len[n] = build(in[n], &t);
	in[n][5] ^= 1;                                      /* payload length off by one */
	gro_add(&G, in[n], in_len[n], NULL);
	n++;
	in_len[n] = 30;                                     /* shorter than a header */
	memcpy(in[n], in[0], 30);
	gro_add(&G, in[n], in_len[n], NULL);
	n++;
	gro_flush(&G);
	assert_int_equal(W.n, n);
	for (int i = 0; i < n; i++)
		assert_memory_equal(W.pkt[i], in[i], in_len[i]);
	assert_int_equal(G.bad_csum, 1);
	/* None of them joined the head, which each would have followed. */
	assert_int_equal(G.coalesced_pkts, 0);
}

/* A short segment or one with PSH is the last one taken. */
static void test_closers(void **state)
{
	struct seg v[4] = { bulk(0, 1000), bulk(1000, 500), bulk(1500, 500), bulk(2000, 500) };

	v[2].flags |= 0x08;
	for (int i = 0; i < 4; i++) {
		in_len[i] = build(in[i], &v[i]);
		gro_add(&G, in[i], in_len[i], NULL);
	}
	gro_flush(&G);
	/* 0+1 (1 is short: closes), 2 alone would be a new head with PSH:
	 * closed at once, 3 starts a new one. */
	assert_int_equal(W.n, 3);
	assert_int_equal(W.npkts[0], 2);
	assert_int_equal(W.npkts[1], 1);
	assert_int_equal(W.npkts[2], 1);
}

/* A packet of the flow that is not joined (here a pure ACK, then one with
 * an extension header whose ports are unknown) bars the flow's older
 * super-packet: the next segment in sequence does not overtake it. */
static void test_barriers(void **state)
{
	struct seg v[6] = { bulk(0, 1000), bulk(1000, 1000), bulk(2000, 0), bulk(2000, 1000),
			    bulk(3000, 0), bulk(3000, 1000) };

	for (int i = 0; i < 6; i++)
		in_len[i] = build(in[i], &v[i]);
	in[4][6] = 0;                                       /* hop-by-hop: not TCP to us */
	for (int i = 0; i < 6; i++)
		gro_add(&G, in[i], in_len[i], NULL);
	gro_flush(&G);
	assert_int_equal(W.n, 5);
	assert_int_equal(W.npkts[0], 2);                    /* 0 and 1 */
	assert_memory_equal(W.pkt[1], in[2], in_len[2]);    /* the pure ACK */
	assert_memory_equal(W.pkt[2], in[3], in_len[3]);
	assert_memory_equal(W.pkt[3], in[4], in_len[4]);    /* the odd one */
	assert_memory_equal(W.pkt[4], in[5], in_len[5]);
}

/* At most 65,535 bytes of IPv6 payload per super-packet. */
static void test_size_limit(void **state)
{
	uint32_t seq = 0;
	int total = 0;

	for (int i = 0; i < 60; i++) {
		struct seg s = bulk(seq, 1208);
		in_len[i] = build(in[i], &s);
		gro_add(&G, in[i], in_len[i], NULL);
		seq += 1208;
	}
	gro_flush(&G);
	assert_int_equal(W.n, 2);
	for (int i = 0; i < W.n; i++) {
		assert_true(W.len[i] - 40 <= 65535);
		total += resplit(i);
	}
	assert_int_equal(W.npkts[0], (65535 - 32) / 1208);
	assert_int_equal(total, 60);
	for (int i = 0; i < 60; i++)
		assert_memory_equal(got[i], in[i], in_len[i]);
}

/* More packets than a batch holds: flushed on the way, nothing lost or
 * reordered. */
static void test_batch_full(void **state)
{
	int n = GRO_MAX_ITEMS + 10;

	for (int i = 0; i < n; i++) {
		struct seg s = bulk(0, 100);
		s.sport = (uint16_t)(1000 + i);       /* a flow each */
		in_len[i] = build(in[i], &s);
		gro_add(&G, in[i], in_len[i], NULL);
	}
	assert_int_equal(W.n, GRO_MAX_ITEMS);
	gro_flush(&G);
	assert_int_equal(W.n, n);
	for (int i = 0; i < n; i++)
		assert_memory_equal(W.pkt[i], in[i], in_len[i]);
}

/* The output refuses super-packets: the packets go one by one, as they
 * came; a failing plain write is counted. */
static void test_refused(void **state)
{
	uint32_t seq = 0;

	W.fail_super = 1;
	for (int i = 0; i < 5; i++) {
		struct seg s = bulk(seq, 1000);
		in_len[i] = build(in[i], &s);
		gro_add(&G, in[i], in_len[i], NULL);
		seq += 1000;
	}
	gro_flush(&G);
	assert_int_equal(G.refused, 1);
	assert_int_equal(W.n, 5);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(W.vh[i].gso_type, VIRTIO_NET_HDR_GSO_NONE);
		assert_memory_equal(W.pkt[i], in[i], in_len[i]);
	}
	W.fail_all = 1;
	gro_add(&G, in[0], in_len[0], NULL);
	gro_flush(&G);
	assert_int_equal(G.failed_pkts, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_one_flow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_flows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_joined, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_candidates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_closers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_barriers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_size_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
