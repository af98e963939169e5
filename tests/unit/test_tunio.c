/* The TUN side of the data path (net/tunio.c) on a SOCK_SEQPACKET
 * socketpair standing for an offload TUN (one read, one message, as a TUN
 * gives them): super-packets cut and counted; a GSO type we did not ask
 * for, a header that does not fit, lengths that do not add up refused and
 * counted per reason, nothing passed on; writes joined into one
 * super-packet with its virtio-net header; a failed write reported for the
 * packets' owner. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <linux/virtio_net.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/tunio.h"

static struct tunio T;
static int peer;

static int got_pkts;
static size_t got_len[64];

static int on_packet(void *arg, const uint8_t *pkt, size_t len)
{
	if (got_pkts < 64)
		got_len[got_pkts] = len;
	got_pkts++;
	return 0;
}

static int failed_owner_calls;
static void *failed_owner;
static unsigned failed_pkts;

static void on_fail(void *arg, void *owner, unsigned npkts)
{
	failed_owner_calls++;
	failed_owner = owner;
	failed_pkts += npkts;
}

static int setup(void **state)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
	assert_int_equal(tunio_attach(&T, sv[0], 1, 1280, on_fail, NULL), 0);
	peer = sv[1];
	got_pkts = 0;
	failed_owner_calls = 0;
	failed_pkts = 0;
	return 0;
}

static int teardown(void **state)
{
	tunio_close(&T);
	if (peer >= 0)
		close(peer);
	return 0;
}

/* An IPv6 TCP segment of payload bytes at seq (checksum valid). */
static size_t segment(uint8_t *p, uint32_t seq, size_t payload)
{
	uint32_t s = 0;
	size_t len = 60 + payload;
	uint16_t c;

	memset(p, 0, len);
	p[0] = 0x60;
	p[4] = (uint8_t)((20 + payload) >> 8);
	p[5] = (uint8_t)(20 + payload);
	p[6] = 6;
	p[7] = 64;
	p[8] = 0xfd; p[23] = 1;
	p[24] = 0xfd; p[39] = 2;
	p[40] = 0x9c; p[41] = 0x40; p[43] = 80;
	p[44] = (uint8_t)(seq >> 24); p[45] = (uint8_t)(seq >> 16); p[46] = (uint8_t)(seq >> 8); p[47] = (uint8_t)seq;
	p[52] = 0x50;
	p[53] = 0x10;
	p[54] = 1;
	for (size_t i = 0; i < payload; i++)
		p[60 + i] = (uint8_t)(seq + i);
	for (int i = 8; i < 40; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	s += (uint32_t)(len - 40) + 6;
	for (size_t i = 40; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if ((len - 40) & 1)
		s += (uint32_t)(p[len - 1] << 8);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	c = (uint16_t)~s;
	p[56] = (uint8_t)(c >> 8);
	p[57] = (uint8_t)c;
	return len;
}

/* What the kernel hands over for a TSO super-packet of payload bytes. */
static size_t super_read(uint8_t *buf, size_t payload, uint8_t gso_type)
{
	struct virtio_net_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = gso_type,
				    .hdr_len = 60, .gso_size = 1220, .csum_start = 40, .csum_offset = 16 };
	size_t len = segment(buf + VNET_HDR_LEN, 1, payload);

	memcpy(buf, &h, sizeof(h));
	return VNET_HDR_LEN + len;
}

static void test_reads_cut_and_refused(void **state)
{
	static uint8_t buf[GSO_MAX_READ];
	size_t n;

	n = super_read(buf, 5000, VIRTIO_NET_HDR_GSO_TCPV6);
	assert_int_equal(write(peer, buf, n), (ssize_t)n);
	assert_int_equal(tunio_read(&T, on_packet, NULL), 1);
	assert_int_equal(got_pkts, 5);                        /* 4 x 1220 + 120 */
	for (int i = 0; i < got_pkts; i++)
		assert_true(got_len[i] <= 1280);
	assert_int_equal(T.st.reads, 1);
	assert_int_equal(T.st.read_pkts, 5);
	assert_int_equal(T.st.super_in, 1);
	/* A GSO type we did not ask for (TSO with ECN). */
	n = super_read(buf, 5000, VIRTIO_NET_HDR_GSO_TCPV6 | VIRTIO_NET_HDR_GSO_ECN);
	assert_int_equal(write(peer, buf, n), (ssize_t)n);
	assert_int_equal(tunio_read(&T, on_packet, NULL), 1);
	/* A header that does not fit: the checksum elsewhere. */
	n = super_read(buf, 5000, VIRTIO_NET_HDR_GSO_TCPV6);
	buf[8] = 6;
	assert_int_equal(write(peer, buf, n), (ssize_t)n);
	assert_int_equal(tunio_read(&T, on_packet, NULL), 1);
	/* Lengths that do not add up: the IPv6 payload length. */
	n = super_read(buf, 5000, VIRTIO_NET_HDR_GSO_TCPV6);
	buf[VNET_HDR_LEN + 5] ^= 0x10;
	assert_int_equal(write(peer, buf, n), (ssize_t)n);
	assert_int_equal(tunio_read(&T, on_packet, NULL), 1);
	assert_int_equal(got_pkts, 5);                        /* nothing more passed on */
	assert_int_equal(T.st.bad_type, 1);
	assert_int_equal(T.st.bad_header, 1);
	assert_int_equal(T.st.bad_length, 1);
	assert_int_equal(tunio_read(&T, on_packet, NULL), 0); /* nothing left */
}

/* Consecutive segments written: one super-packet, after the flush. */
static void test_writes_joined(void **state)
{
	static uint8_t pkt[1400], buf[GSO_MAX_READ];
	struct virtio_net_hdr h;
	int owner;
	uint32_t seq = 1;
	ssize_t n;

	for (int i = 0; i < 8; i++) {
		size_t len = segment(pkt, seq, 1200);
		tunio_write(&T, pkt, len, &owner);
		seq += 1200;
	}
	assert_int_equal(recv(peer, buf, sizeof(buf), MSG_DONTWAIT), -1);   /* not before the flush */
	tunio_flush(&T);
	n = recv(peer, buf, sizeof(buf), MSG_DONTWAIT);
	assert_int_equal(n, VNET_HDR_LEN + 60 + 8 * 1200);
	memcpy(&h, buf, sizeof(h));
	assert_int_equal(h.gso_type, VIRTIO_NET_HDR_GSO_TCPV6);
	assert_int_equal(h.gso_size, 1200);
	assert_int_equal(T.st.writes, 1);
	assert_int_equal(T.st.write_pkts, 8);
	assert_int_equal(T.st.super_out, 1);
	assert_int_equal(recv(peer, buf, sizeof(buf), MSG_DONTWAIT), -1);
}

/* The reader is gone: the packets' owner hears of it, counted. */
static void test_write_failure_reported(void **state)
{
	static uint8_t pkt[1400];
	int owner;
	size_t len = segment(pkt, 1, 1200);

	close(peer);
	peer = -1;
	tunio_write(&T, pkt, len, &owner);
	tunio_write(&T, pkt, 40, &owner);     /* something else of the same owner */
	tunio_flush(&T);
	assert_int_equal(failed_pkts, 2);
	assert_ptr_equal(failed_owner, &owner);
	assert_int_equal(T.st.write_errors, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reads_cut_and_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writes_joined, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_failure_reported, setup, teardown),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
