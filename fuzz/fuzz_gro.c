/* libFuzzer harness: the write-side coalescer (net/gro.c).  The input
 * drives a generator of packets: four TCP flows whose segments come in
 * sequence or not, with any flags, sizes, windows, acknowledgments,
 * options, hop limits, traffic classes and now and then a bad checksum,
 * mixed with raw bytes; flushes at points the input picks.  Checked:
 *   - every super-packet's virtio-net header and IPv6/TCP header agree
 *     (GSO TCPV6, NEEDS_CSUM at the TCP checksum, lengths, <= 64 KiB);
 *   - cut again at its GSO size (gso_split), the super-packets and the
 *     packets written alone give back exactly the packets that went in,
 *     byte for byte, each flow in its order. */
#include <linux/virtio_net.h>
#include <stdlib.h>
#include <string.h>

#include "net/gro.h"
#include "net/gso.h"

/* The generator's own loops stay out of the coverage feedback (they are
 * not the code under test, and their counters cost most of the time). */
#define NOCOV __attribute__((no_sanitize("coverage")))

#define MAXIN 400
#define NCLASS 5                      /* four flows and the rest */
#define PKTMAX 1600

struct fdp {
	const uint8_t *p;
	size_t n;
};

static unsigned take(struct fdp *d)
{
	if (!d->n)
		return 0;
	d->n--;
	return *d->p++;
}

/* n bytes of take(), zeros past the end of the input. */
static void takes(struct fdp *d, uint8_t *out, size_t n)
{
	size_t k = n < d->n ? n : d->n;

	memcpy(out, d->p, k);
	memset(out + k, 0, n - k);
	d->p += k;
	d->n -= k;
}

static uint8_t in[MAXIN][PKTMAX];
static size_t in_len[MAXIN];
static int in_class[MAXIN];
static int queue[NCLASS][MAXIN], qhead[NCLASS], qtail[NCLASS];

struct flow {
	uint32_t seq, ack, tsval;
	uint16_t win, mss;
	uint8_t hlim, tc, opts;
};

static const uint8_t addrs[32] = { 0xfd, [15] = 1, [16] = 0xfd, [31] = 2 };

/* The class of a packet: the generator's flows by source port
 * 40000..40003 (fd00::1 to fd00::2, TCP), 4 the rest. */
static int classify(const uint8_t *p, size_t len)
{
	unsigned port;

	if (len < 44 || (p[0] >> 4) != 6 || p[6] != 6 || memcmp(p + 8, addrs, 32))
		return 4;
	port = (unsigned)p[40] << 8 | p[41];
	return port >= 40000 && port < 40004 ? (int)(port - 40000) : 4;
}

/* The ones'-complement sum of len bytes from an even offset, written here
 * rather than taken from gso.h so that the packets are not checked with the
 * checksum code under test. */
NOCOV static uint32_t sum16(uint32_t s, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (i < len)
		s += (uint32_t)p[i] << 8;
	return s;
}

/* Payloads are runs of a pattern: pattern[j] == (uint8_t)j, and a payload
 * byte i of a segment at seq is pattern[(seq & 0xff) + i], copied rather
 * than written byte by byte.  psum[j + 2] = psum[j] + the 16-bit word at
 * pattern[j]: the sum of a payload's words is a difference of two. */
static uint8_t pattern[PKTMAX + 256];
static uint32_t psum[PKTMAX + 256];

static void pattern_init(void)
{
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)i;
	for (size_t j = 0; j + 2 < sizeof(pattern); j++)
		psum[j + 2] = psum[j] + ((uint32_t)pattern[j] << 8 | pattern[j + 1]);
}

/* The sum of pattern[o .. o + n) as the words of a payload. */
static uint32_t pattern_sum(size_t o, size_t n)
{
	uint32_t s = psum[o + (n & ~(size_t)1)] - psum[o];

	return n & 1 ? s + ((uint32_t)pattern[o + n - 1] << 8) : s;
}

/* The TCP checksum of the segment p (len bytes, its payload from hlen on
 * the pattern from o). */
NOCOV static void tcp_csum(uint8_t *p, size_t len, size_t hlen, size_t o)
{
	uint8_t ph[8] = { 0, 0, (uint8_t)((len - 40) >> 8), (uint8_t)(len - 40), 0, 0, 0, 6 };
	uint64_t s;

	p[56] = p[57] = 0;
	s = (uint64_t)sum16(sum16(sum16(0, p + 8, 32), ph, 8), p + 40, hlen - 40) + pattern_sum(o, len - hlen);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	p[56] = (uint8_t)(~s >> 8);
	p[57] = (uint8_t)~s;
}

NOCOV static size_t make_segment(uint8_t *p, int fl, struct flow *f, uint8_t flags, size_t payload)
{
	size_t thl = f->opts ? 32 : 20, len = 40 + thl + payload;

	memset(p, 0, 40 + thl);
	p[0] = (uint8_t)(0x60 | f->tc >> 4);
	p[1] = (uint8_t)(f->tc << 4);
	p[4] = (uint8_t)((len - 40) >> 8);
	p[5] = (uint8_t)(len - 40);
	p[6] = 6;
	p[7] = f->hlim;
	p[8] = 0xfd; p[23] = 1;
	p[24] = 0xfd; p[39] = 2;
	p[40] = (uint8_t)((40000 + fl) >> 8); p[41] = (uint8_t)(40000 + fl);
	p[43] = 80;
	for (int i = 0; i < 4; i++) {
		p[44 + i] = (uint8_t)(f->seq >> (24 - 8 * i));
		p[48 + i] = (uint8_t)(f->ack >> (24 - 8 * i));
	}
	p[52] = (uint8_t)((thl / 4) << 4);
	p[53] = flags;
	p[54] = (uint8_t)(f->win >> 8); p[55] = (uint8_t)f->win;
	if (f->opts) {
		p[60] = 1; p[61] = 1; p[62] = 8; p[63] = 10;
		for (int i = 0; i < 4; i++)
			p[64 + i] = (uint8_t)(f->tsval >> (24 - 8 * i));
	}
	memcpy(p + 40 + thl, pattern + (f->seq & 0xff), payload);
	tcp_csum(p, len, 40 + thl, f->seq & 0xff);
	return len;
}

/* One packet from the input into in[k]; returns its length. */
static size_t generate(struct fdp *d, struct flow *flows, int k)
{
	unsigned b = take(d), fl = b & 3, kind = (b >> 2) & 7;
	struct flow *f = &flows[fl];
	size_t payload, len;
	uint8_t flags = 0x10;

	switch (kind) {
	case 0: case 1: case 2:             /* a full segment in sequence */
		payload = f->mss;
		break;
	case 3:                             /* any size, maybe PSH */
		payload = take(d) * 5 % (f->mss + 1);
		flags |= (uint8_t)(take(d) & 0x08);
		break;
	case 4:                             /* any flags */
		payload = take(d) * 5 % (f->mss + 1);
		flags = (uint8_t)take(d);
		break;
	case 5: {                           /* the flow changes */
		unsigned c = take(d);
		if (c & 1) f->ack += 1000;
		if (c & 2) f->win++;
		if (c & 4) f->tsval++;
		if (c & 8) f->hlim--;
		if (c & 16) f->tc ^= 1;
		if (c & 32) f->opts ^= 1;
		if (c & 64) f->seq += take(d);  /* a gap or a retransmission */
		if (c & 128) f->mss = (uint16_t)(100 + take(d) * 4);
		payload = f->mss;
		break;
	}
	case 6:                             /* a bad checksum */
		payload = f->mss;
		len = make_segment(in[k], (int)fl, f, flags, payload);
		in[k][len - 1] ^= 0x5a;
		f->seq += (uint32_t)payload;
		return len;
	default:                            /* raw bytes */
		len = take(d) * 6 % PKTMAX;
		takes(d, in[k], len);
		return len;
	}
	len = make_segment(in[k], (int)fl, f, flags, payload);
	f->seq += (uint32_t)payload;
	return len;
}

static uint8_t consumed[MAXIN];

/* A packet came out: it must be the next one of its flow; one of the rest
 * (raw bytes, which may form flows of their own) any that went in. */
static void check_next(const uint8_t *p, size_t len)
{
	int c = classify(p, len), k;

	if (c == 4) {
		for (int i = qhead[4]; i < qtail[4]; i++) {
			k = queue[4][i];
			if (!consumed[k] && len == in_len[k] && !memcmp(p, in[k], len)) {
				consumed[k] = 1;
				return;
			}
		}
		abort();                       /* not a packet that went in */
	}
	if (qhead[c] == qtail[c])
		abort();                       /* more out than in */
	k = queue[c][qhead[c]++];
	if (len != in_len[k] || memcmp(p, in[k], len))
		abort();                       /* not the packet that went in */
}

static int emit(void *arg, const uint8_t *p, size_t len)
{
	check_next(p, len);
	return 0;
}

static void check_super(const struct virtio_net_hdr *h, const uint8_t *p, size_t len)
{
	size_t hlen;

	if (h->gso_type != VIRTIO_NET_HDR_GSO_TCPV6 || h->flags != VIRTIO_NET_HDR_F_NEEDS_CSUM ||
	    h->csum_start != 40 || h->csum_offset != 16 || len < 60 || len - 40 > 65535 ||
	    p[6] != 6 || (size_t)(p[4] << 8 | p[5]) != len - 40)
		abort();
	hlen = 40 + (size_t)(p[52] >> 4) * 4;
	if (h->hdr_len != hlen || !h->gso_size || hlen + h->gso_size >= len)
		abort();                       /* at least two segments */
}

static int out(void *arg, const struct iovec *iov, int iovcnt, void *owner, unsigned npkts,
	       int is_super)
{
	static uint8_t buf[GSO_MAX_READ];
	struct virtio_net_hdr h;
	size_t len = 0;

	for (int i = 0; i < iovcnt; i++) {
		if (len + iov[i].iov_len > sizeof(buf))
			abort();
		memcpy(buf + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	memcpy(&h, buf, sizeof(h));
	if (!is_super) {
		if (h.gso_type || h.flags || npkts != 1)
			abort();
		check_next(buf + VNET_HDR_LEN, len - VNET_HDR_LEN);
		return 0;
	}
	check_super(&h, buf + VNET_HDR_LEN, len - VNET_HDR_LEN);
	if (gso_split(buf, len, 65535, emit, NULL) != (int)npkts)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gro g;
	struct fdp d = { data, size };
	struct flow flows[4];
	int n = 0;

	if (!g.buf) {
		if (gro_init(&g, out, NULL) < 0)
			abort();
		pattern_init();
	}
	memset(qhead, 0, sizeof(qhead));
	memset(qtail, 0, sizeof(qtail));
	memset(consumed, 0, sizeof(consumed));
	for (int i = 0; i < 4; i++)
		flows[i] = (struct flow){ .seq = 0xfffff000u * (unsigned)i, .ack = 1, .win = 100,
					  .mss = 1208, .hlim = 64, .opts = (uint8_t)(i & 1) };
	while (d.n && n < MAXIN) {
		unsigned ctl = take(&d);
		in_len[n] = generate(&d, flows, n);
		in_class[n] = classify(in[n], in_len[n]);
		queue[in_class[n]][qtail[in_class[n]]++] = n;
		gro_add(&g, in[n], in_len[n], NULL);
		n++;
		if ((ctl & 0x1f) == 0)
			gro_flush(&g);
	}
	gro_flush(&g);
	for (int c = 0; c < 4; c++)
		if (qhead[c] != qtail[c])
			abort();                   /* a packet went missing */
	for (int i = qhead[4]; i < qtail[4]; i++)
		if (!consumed[queue[4][i]])
			abort();
	return 0;
}
