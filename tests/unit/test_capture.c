/* Unit tests of the capture reader (src/diag/capture.h): captures written
 * here with libpcap (pcap_open_dead + pcap_dump) for each link type; TCP
 * reassembly with segments out of order, overlapping, retransmitted or
 * missing; SYN/RST/FIN; port reuse; thousands of connections; truncated and
 * garbage files. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "diag/capture.h"

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10

/* ---- writing captures ---- */

struct writer {
	pcap_t *p;
	pcap_dumper_t *d;
	int dlt;
	int vlan;                       /* Ethernet: add an 802.1Q tag */
	long usec;
	char path[64];
};

static void w_open(struct writer *w, int dlt)
{
	int fd;

	memset(w, 0, sizeof(*w));
	snprintf(w->path, sizeof(w->path), "/tmp/test_capture.XXXXXX");
	fd = mkstemp(w->path);
	assert_true(fd >= 0);
	close(fd);
	w->dlt = dlt;
	w->p = pcap_open_dead(dlt, 65535);
	assert_non_null(w->p);
	w->d = pcap_dump_open(w->p, w->path);
	assert_non_null(w->d);
}

static void w_close(struct writer *w)
{
	pcap_dump_close(w->d);
	pcap_close(w->p);
}

struct seg {
	int v6;
	const char *src, *dst;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	const void *data;
	size_t len;
};

static size_t put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return 2;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

/* Writes the link header for ethertype; returns its length. */
static size_t link_hdr(const struct writer *w, uint8_t *o, unsigned type)
{
	switch (w->dlt) {
	case DLT_EN10MB:
		memset(o, 0x02, 12);
		if (w->vlan) {
			put16(o + 12, 0x8100);
			put16(o + 14, 42);
			put16(o + 16, type);
			return 18;
		}
		put16(o + 12, type);
		return 14;
	case DLT_LINUX_SLL:
		memset(o, 0, 16);
		put16(o + 14, type);
		return 16;
	case DLT_LINUX_SLL2:
		memset(o, 0, 20);
		put16(o, type);
		return 20;
	default:
		return 0;
	}
}

/* Builds the frame of s into o; returns its length. */
static size_t frame(const struct writer *w, const struct seg *s, uint8_t *o)
{
	size_t l = link_hdr(w, o, s->v6 ? 0x86dd : 0x0800), ip = l, tcp;

	if (s->v6) {
		memset(o + ip, 0, 40);
		o[ip] = 0x60;
		put16(o + ip + 4, (unsigned)(20 + s->len));
		o[ip + 6] = 6;
		o[ip + 7] = 64;
		assert_int_equal(inet_pton(AF_INET6, s->src, o + ip + 8), 1);
		assert_int_equal(inet_pton(AF_INET6, s->dst, o + ip + 24), 1);
		tcp = ip + 40;
	} else {
		memset(o + ip, 0, 20);
		o[ip] = 0x45;
		put16(o + ip + 2, (unsigned)(40 + s->len));
		o[ip + 6] = 0x40;
		o[ip + 8] = 64;
		o[ip + 9] = 6;
		assert_int_equal(inet_pton(AF_INET, s->src, o + ip + 12), 1);
		assert_int_equal(inet_pton(AF_INET, s->dst, o + ip + 16), 1);
		tcp = ip + 20;
	}
	memset(o + tcp, 0, 20);
	put16(o + tcp, s->sport);
	put16(o + tcp + 2, s->dport);
	put32(o + tcp + 4, s->seq);
	put32(o + tcp + 8, s->ack);
	o[tcp + 12] = 5 << 4;
	o[tcp + 13] = s->flags;
	put16(o + tcp + 14, 65535);
	if (s->len)
		memcpy(o + tcp + 20, s->data, s->len);
	return tcp + 20 + s->len;
}

/* Writes raw bytes as one packet (caplen bytes captured of wirelen). */
static void w_raw(struct writer *w, const uint8_t *b, size_t caplen, size_t wirelen)
{
	struct pcap_pkthdr h;

	w->usec += 1000;
	h.ts.tv_sec = 1700000000 + w->usec / 1000000;
	h.ts.tv_usec = w->usec % 1000000;
	h.caplen = (bpf_u_int32)caplen;
	h.len = (bpf_u_int32)wirelen;
	pcap_dump((u_char *)w->d, &h, b);
}

static void w_seg(struct writer *w, const struct seg *s)
{
	uint8_t b[70000];
	size_t n = frame(w, s, b);

	w_raw(w, b, n, n);
}

/* ---- a simple TCP conversation ---- */

struct conv {
	struct writer *w;
	int v6;
	const char *cli, *srv;
	uint16_t cport, sport;
	uint32_t cseq, sseq;            /* next sequence numbers */
};

static void c_send(struct conv *c, int from_client, uint8_t flags, const void *data, size_t len)
{
	struct seg s = {
		.v6 = c->v6, .src = from_client ? c->cli : c->srv, .dst = from_client ? c->srv : c->cli,
		.sport = from_client ? c->cport : c->sport, .dport = from_client ? c->sport : c->cport,
		.seq = from_client ? c->cseq : c->sseq, .ack = from_client ? c->sseq : c->cseq,
		.flags = flags, .data = data, .len = len,
	};
	uint32_t *seq = from_client ? &c->cseq : &c->sseq;

	w_seg(c->w, &s);
	*seq += (uint32_t)len + ((flags & (TH_SYN | TH_FIN)) ? 1 : 0);
}

static void c_open(struct conv *c)
{
	c_send(c, 1, TH_SYN, NULL, 0);
	c_send(c, 0, TH_SYN | TH_ACK, NULL, 0);
	c_send(c, 1, TH_ACK, NULL, 0);
}

/* ---- reading: a recorder of events ---- */

struct crec {
	unsigned conns, ended;
	uint8_t data[2][300000];
	size_t len[2];
	uint64_t gaps[2];
	unsigned ngaps[2];
	unsigned syn, synack, fin, rst;
	int rst_dir;
	unsigned last_id;
};

static void r_start(void *arg, struct cap_conn *c)
{
	struct crec *r = arg;

	r->conns++;
	r->last_id = c->id;
}

static void r_tcp(void *arg, struct cap_conn *c, enum cap_dir d, enum cap_tcp_event ev,
		  const struct timeval *ts)
{
	struct crec *r = arg;

	(void)c;
	(void)ts;
	switch (ev) {
	case CAP_EV_SYN: r->syn++; break;
	case CAP_EV_SYNACK: r->synack++; break;
	case CAP_EV_FIN: r->fin++; break;
	case CAP_EV_RST: r->rst++; r->rst_dir = d; break;
	}
}

static void r_data(void *arg, struct cap_conn *c, enum cap_dir d, const uint8_t *p, size_t len,
		   const struct timeval *ts)
{
	struct crec *r = arg;

	(void)c;
	(void)ts;
	if (r->len[d] + len <= sizeof(r->data[0]))
		memcpy(r->data[d] + r->len[d], p, len);
	r->len[d] += len;
}

static void r_gap(void *arg, struct cap_conn *c, enum cap_dir d, uint64_t missing,
		  const struct timeval *ts)
{
	struct crec *r = arg;

	(void)c;
	(void)ts;
	r->gaps[d] += missing;
	r->ngaps[d]++;
}

static void r_end(void *arg, struct cap_conn *c)
{
	struct crec *r = arg;

	assert_true(c->ended);
	r->ended++;
}

static const struct cap_handler handler = {
	.conn_start = r_start, .tcp = r_tcp, .data = r_data, .gap = r_gap, .conn_end = r_end,
};

/* Reads the capture at path for port; returns the capture (to inspect) and fills r. */
static struct capture *read_cap(const char *path, uint16_t port, struct crec *r, int want_rc)
{
	char err[ERRLEN];
	struct capture *cap = capture_open(path, port, err);

	assert_non_null(cap);
	memset(r, 0, sizeof(*r));
	assert_int_equal(capture_run(cap, &handler, r), want_rc);
	assert_int_equal(r->conns, r->ended);
	return cap;
}

static struct crec *new_rec(void)
{
	struct crec *r = malloc(sizeof(*r));

	assert_non_null(r);
	return r;
}

/* ---- tests ---- */

static void test_basic(void **state)
{
	struct writer w;
	struct conv c = { &w, 0, "192.0.2.2", "192.0.2.1", 50000, 443, 1000, 9000 };
	struct crec *r = new_rec();
	struct capture *cap;
	struct cap_conn *cc;
	char a[64];

	(void)state;
	w_open(&w, DLT_EN10MB);
	c_open(&c);
	c_send(&c, 1, TH_ACK | TH_PSH, "hello", 5);
	c_send(&c, 0, TH_ACK | TH_PSH, "world!", 6);
	c_send(&c, 1, TH_ACK | TH_FIN, NULL, 0);
	c_send(&c, 0, TH_ACK | TH_FIN, NULL, 0);
	c_send(&c, 1, TH_ACK, NULL, 0);
	w_close(&w);
	cap = read_cap(w.path, 0, r, 0);
	assert_int_equal(r->conns, 1);
	assert_int_equal(r->len[0], 5);
	assert_memory_equal(r->data[0], "hello", 5);
	assert_int_equal(r->len[1], 6);
	assert_memory_equal(r->data[1], "world!", 6);
	assert_int_equal(r->syn, 1);
	assert_int_equal(r->synack, 1);
	assert_int_equal(r->fin, 2);
	assert_int_equal(r->ngaps[0] + r->ngaps[1], 0);
	cc = capture_conns(cap);
	assert_non_null(cc);
	assert_null(cc->next);
	assert_true(cc->saw_syn && cc->saw_synack && cc->closed);
	assert_false(cc->rst_to_syn);
	assert_string_equal(cap_addr_str(&cc->cli, a, sizeof(a)), "192.0.2.2:50000");
	assert_string_equal(cap_addr_str(&cc->srv, a, sizeof(a)), "192.0.2.1:443");
	assert_int_equal(cc->side[0].bytes, 5);
	assert_int_equal(capture_stats(cap)->packets, 8);
	assert_string_equal(capture_stats(cap)->linkname, "EN10MB");
	capture_close(cap);
	unlink(w.path);
	free(r);
}

/* Segments written 3,1,2 with a retransmission of 1 and an overlap that
 * disagrees: the stream comes out in order, first copy wins. */
static void test_reorder_overlap(void **state)
{
	struct writer w;
	struct conv c = { &w, 0, "192.0.2.2", "192.0.2.1", 50001, 443, 0xfffffff0u, 5 };
	struct crec *r = new_rec();
	struct capture *cap;
	uint32_t base;
	struct seg s;

	(void)state;
	w_open(&w, DLT_EN10MB);
	c_open(&c);
	base = c.cseq;                  /* the stream wraps around 2^32 */
	s = (struct seg){ 0, c.cli, c.srv, c.cport, 443, base + 20, c.sseq, TH_ACK, "CCCCCCCCCC", 10 };
	w_seg(&w, &s);
	s.seq = base;
	s.data = "AAAAAAAAAA";
	w_seg(&w, &s);
	w_seg(&w, &s);                  /* retransmission */
	s.seq = base + 5;
	s.data = "xxxxxBBBBBBBBBB";      /* overlaps A's last 5 bytes with other bytes */
	s.len = 15;
	w_seg(&w, &s);
	s.seq = base + 15;
	s.data = "yyyyyzzzzz";          /* within B and C: nothing new */
	s.len = 10;
	w_seg(&w, &s);
	w_close(&w);
	cap = read_cap(w.path, 443, r, 0);
	assert_int_equal(r->len[0], 30);
	assert_memory_equal(r->data[0], "AAAAAAAAAABBBBBBBBBBCCCCCCCCCC", 30);
	assert_int_equal(r->ngaps[0], 0);
	capture_close(cap);
	unlink(w.path);
	free(r);
}

/* A segment the capture missed: the peer's ACK past it reveals the hole. */
static void test_gap_by_ack(void **state)
{
	struct writer w;
	struct conv c = { &w, 0, "192.0.2.2", "192.0.2.1", 50002, 443, 100, 200 };
	struct crec *r = new_rec();
	struct capture *cap;
	struct seg s;

	(void)state;
	w_open(&w, DLT_EN10MB);
	c_open(&c);
	s = (struct seg){ 0, c.cli, c.srv, c.cport, 443, c.cseq + 100, c.sseq, TH_ACK, "second", 6 };
	w_seg(&w, &s);                  /* the first 100 bytes never made it into the capture */
	s = (struct seg){ 0, c.srv, c.cli, 443, c.cport, c.sseq, c.cseq + 106, TH_ACK, NULL, 0 };
	w_seg(&w, &s);
	s = (struct seg){ 0, c.cli, c.srv, c.cport, 443, c.cseq + 106, c.sseq, TH_ACK, "third", 5 };
	w_seg(&w, &s);
	w_close(&w);
	cap = read_cap(w.path, 443, r, 0);
	assert_int_equal(r->ngaps[0], 1);
	assert_int_equal(r->gaps[0], 100);
	assert_int_equal(r->len[0], 11);
	assert_memory_equal(r->data[0], "secondthird", 11);
	assert_int_equal(capture_conns(cap)->side[0].gap_bytes, 100);
	capture_close(cap);
	unlink(w.path);
	free(r);
}

/* Holes found at the end: queued data after a hole, and bytes acknowledged
 * beyond the last byte seen. */
static void test_gap_at_end(void **state)
{
	struct writer w;
	struct conv c = { &w, 0, "192.0.2.2", "192.0.2.1", 50003, 443, 100, 200 };
	struct crec *r = new_rec();
	struct capture *cap;
	struct seg s;

	(void)state;
	w_open(&w, DLT_EN10MB);
	c_open(&c);
	s = (struct seg){ 0, c.cli, c.srv, c.cport, 443, c.cseq + 10, c.sseq, TH_ACK, "later", 5 };
	w_seg(&w, &s);
	c_send(&c, 0, TH_ACK, "ok", 2);
	s = (struct seg){ 0, c.cli, c.srv, c.cport, 443, c.cseq + 15, c.sseq + 50, TH_ACK, NULL, 0 };
	w_seg(&w, &s);                  /* the client acknowledges 50 server bytes never seen */
	w_close(&w);
	cap = read_cap(w.path, 443, r, 0);
	assert_int_equal(r->gaps[0], 10);
	assert_memory_equal(r->data[0], "later", 5);
	assert_int_equal(r->gaps[1], 50);
	assert_int_equal(r->len[1], 2);
	capture_close(cap);
	unlink(w.path);
	free(r);
}

/* A hole followed by more out-of-order data than the queue holds: the hole
 * is skipped early and memory stays bounded. */
static void test_ooo_cap(void **state)
{
	struct writer w;
	struct conv c = { &w, 0, "192.0.2.2", "192.0.2.1", 50004, 443, 1, 1 };
	struct crec *r = new_rec();
	struct capture *cap;
	static uint8_t chunk[1400];
	uint32_t seq;
	size_t total = 0;

	(void)state;
	memset(chunk, 'q', sizeof(chunk));
	w_open(&w, DLT_EN10MB);
	c_open(&c);
	seq = c.cseq + 1000;            /* 1000 bytes missing */
	while (total < CAP_MAX_BUFFERED + 20 * sizeof(chunk)) {
		struct seg s = { 0, c.cli, c.srv, c.cport, 443, seq, c.sseq, TH_ACK, chunk, sizeof(chunk) };

		w_seg(&w, &s);
		seq += sizeof(chunk);
		total += sizeof(chunk);
	}
	w_close(&w);
	cap = read_cap(w.path, 443, r, 0);
	assert_int_equal(r->gaps[0], 1000);
	assert_int_equal(r->ngaps[0], 1);
	assert_int_equal(r->len[0], total);
	capture_close(cap);
	unlink(w.path);
	free(r);
}

static void test_rst(void **state)
{
	struct writer w;
	struct conv c1 = { &w, 0, "192.0.2.2", "192.0.2.1", 40000, 443, 1, 1 };
	struct conv c2 = { &w, 0, "192.0.2.2", "192.0.2.1", 40001, 443, 1, 1 };
	struct crec *r = new_rec();
	struct capture *cap;
	struct cap_conn *a, *b;

	(void)state;
	w_open(&w, DLT_EN10MB);
	c_send(&c1, 1, TH_SYN, NULL, 0);
	c_send(&c1, 0, TH_RST | TH_ACK, NULL, 0);        /* refused */
	c_open(&c2);
	c_send(&c2, 1, TH_ACK, "hello", 5);
	c_send(&c2, 0, TH_RST, NULL, 0);                 /* reset after accept */
	w_close(&w);
	cap = read_cap(w.path, 443, r, 0);
	assert_int_equal(r->conns, 2);
	a = capture_conns(cap);
	b = a->next;
	assert_true(a->rst_to_syn);
	assert_true(a->side[CAP_S2C].rst);
	assert_false(a->saw_synack);
	assert_false(b->rst_to_syn);
	assert_true(b->side[CAP_S2C].rst);
	assert_int_equal(b->side[CAP_C2S].bytes, 5);
	assert_int_equal(r->rst, 2);
	assert_int_equal(r->rst_dir, CAP_S2C);
	capture_close(cap);
	unlink(w.path);
	free(r);
}

/* SYN retransmissions are one connection; a new SYN after the close is another. */
static void test_port_reuse(void **state)
{
	struct writer w;
	struct conv c = { &w, 0, "192.0.2.2", "192.0.2.1", 40002, 443, 1000, 1 };
	struct crec *r = new_rec();
	struct capture *cap;
	struct cap_conn *a;

	(void)state;
	w_open(&w, DLT_EN10MB);
	c_send(&c, 1, TH_SYN, NULL, 0);
	c.cseq = 1000;
	c_send(&c, 1, TH_SYN, NULL, 0);
	c.cseq = 1000;
	c_open(&c);
	c_send(&c, 1, TH_ACK, "one", 3);
	c_send(&c, 1, TH_ACK | TH_FIN, NULL, 0);
	c_send(&c, 0, TH_ACK | TH_FIN, NULL, 0);
	c.cseq = 777777;
	c.sseq = 5;
	c_open(&c);
	c_send(&c, 1, TH_ACK, "two", 3);
	w_close(&w);
	cap = read_cap(w.path, 443, r, 0);
	assert_int_equal(r->conns, 2);
	a = capture_conns(cap);
	assert_int_equal(a->side[CAP_C2S].syns, 3);
	assert_int_equal(a->id, 1);
	assert_int_equal(a->next->id, 2);
	assert_int_equal(a->next->side[CAP_C2S].syns, 1);
	assert_memory_equal(r->data[0], "onetwo", 6);
	capture_close(cap);
	unlink(w.path);
	free(r);
}

/* Thousands of connections, interleaved: each keeps its own stream. */
static void test_many_connections(void **state)
{
	enum { N = 5000 };
	struct writer w;
	static struct conv c[N];
	struct crec *r = new_rec();
	struct capture *cap;
	char cli[N][24];
	unsigned n = 0, ok = 0;

	(void)state;
	w_open(&w, DLT_EN10MB);
	for (int i = 0; i < N; i++) {
		snprintf(cli[i], sizeof(cli[i]), "10.%d.%d.%d", i >> 16 & 255, i >> 8 & 255, i & 255);
		c[i] = (struct conv){ &w, 0, cli[i], "192.0.2.1", (uint16_t)(1024 + i % 60000), 443,
				      (uint32_t)i * 7919u, 1 };
		c_send(&c[i], 1, TH_SYN, NULL, 0);
	}
	for (int i = 0; i < N; i++)
		c_send(&c[i], 0, TH_SYN | TH_ACK, NULL, 0);
	for (int i = N - 1; i >= 0; i--) {
		char msg[16];

		snprintf(msg, sizeof(msg), "m%05d", i);
		c_send(&c[i], 1, TH_ACK, msg, 6);
	}
	w_close(&w);
	cap = read_cap(w.path, 443, r, 0);
	assert_int_equal(r->conns, N);
	for (struct cap_conn *cc = capture_conns(cap); cc; cc = cc->next) {
		n++;
		ok += cc->saw_syn && cc->saw_synack && cc->side[0].bytes == 6;
	}
	assert_int_equal(n, N);
	assert_int_equal(ok, N);
	assert_int_equal(r->len[0], 6 * N);
	assert_memory_equal(r->data[0], "m04999", 6);
	capture_close(cap);
	unlink(w.path);
	free(r);
}

/* Every link type and IPv6, with the same conversation. */
static void one_link(int dlt, int vlan, int v6)
{
	struct writer w;
	struct conv c = { &w, v6, v6 ? "2001:db8::2" : "192.0.2.2", v6 ? "2001:db8::1" : "192.0.2.1",
			  50010, 443, 1, 1 };
	struct crec *r = new_rec();
	struct capture *cap;
	char a[64];

	w_open(&w, dlt);
	w.vlan = vlan;
	c_open(&c);
	c_send(&c, 1, TH_ACK, "hi there", 8);
	c_send(&c, 0, TH_ACK, "yes", 3);
	w_close(&w);
	cap = read_cap(w.path, 443, r, 0);
	assert_int_equal(r->conns, 1);
	assert_memory_equal(r->data[0], "hi there", 8);
	assert_memory_equal(r->data[1], "yes", 3);
	cap_addr_str(&capture_conns(cap)->srv, a, sizeof(a));
	assert_string_equal(a, v6 ? "[2001:db8::1]:443" : "192.0.2.1:443");
	capture_close(cap);
	unlink(w.path);
	free(r);
}

static void test_link_types(void **state)
{
	(void)state;
	one_link(DLT_EN10MB, 1, 0);
	one_link(DLT_EN10MB, 0, 1);
	one_link(DLT_LINUX_SLL, 0, 0);
	one_link(DLT_LINUX_SLL, 0, 1);
	one_link(DLT_LINUX_SLL2, 0, 0);
	one_link(DLT_LINUX_SLL2, 0, 1);
	one_link(DLT_RAW, 0, 0);
	one_link(DLT_RAW, 0, 1);
}

/* A capture that starts in the middle of a connection. */
static void test_midstream(void **state)
{
	struct writer w;
	struct conv c = { &w, 0, "192.0.2.2", "192.0.2.1", 50011, 443, 123456, 654321 };
	struct crec *r = new_rec();
	struct capture *cap;

	(void)state;
	w_open(&w, DLT_EN10MB);
	c_send(&c, 0, TH_ACK, "server first", 12);
	c_send(&c, 1, TH_ACK, "client", 6);
	w_close(&w);
	cap = read_cap(w.path, 443, r, 0);
	assert_int_equal(r->conns, 1);
	assert_false(capture_conns(cap)->saw_syn);
	assert_memory_equal(r->data[1], "server first", 12);
	assert_memory_equal(r->data[0], "client", 6);
	capture_close(cap);
	unlink(w.path);
	free(r);
}

static void test_other_port(void **state)
{
	struct writer w;
	struct conv c = { &w, 0, "192.0.2.2", "192.0.2.1", 50012, 8443, 1, 1 };
	struct crec *r = new_rec();
	struct capture *cap;

	(void)state;
	w_open(&w, DLT_EN10MB);
	c_open(&c);
	c_send(&c, 1, TH_ACK, "x", 1);
	w_close(&w);
	cap = read_cap(w.path, 0, r, 0);
	assert_int_equal(r->conns, 0);
	assert_int_equal(capture_stats(cap)->other_port, 4);
	capture_close(cap);
	cap = read_cap(w.path, 8443, r, 0);
	assert_int_equal(r->conns, 1);
	capture_close(cap);
	unlink(w.path);
	free(r);
}

/* Frames that lie: lengths beyond the capture, bad headers, fragments. */
static void test_malformed(void **state)
{
	struct writer w;
	struct crec *r = new_rec();
	struct capture *cap;
	uint8_t b[200];
	struct seg s = { 0, "192.0.2.2", "192.0.2.1", 1234, 443, 1, 0, TH_SYN, NULL, 0 };
	size_t n;

	(void)state;
	w_open(&w, DLT_EN10MB);
	n = frame(&w, &s, b);
	w_raw(&w, b, 10, 10);                   /* shorter than Ethernet */
	w_raw(&w, b, 20, 20);                   /* IP cut */
	b[14] = 0x4f;                           /* IHL 60 > what is there */
	w_raw(&w, b, n, n);
	b[14] = 0x45;
	b[14 + 20 + 12] = 0xf0;                 /* TCP offset 60 > what is there */
	w_raw(&w, b, n, n);
	b[14 + 20 + 12] = 0x50;
	b[14 + 6] = 0x20;                       /* more fragments */
	w_raw(&w, b, n, n);
	b[14 + 6] = 0;
	b[12] = 0x88;                           /* not IP */
	w_raw(&w, b, n, n);
	w_close(&w);
	cap = read_cap(w.path, 443, r, 0);
	assert_int_equal(r->conns, 0);
	assert_int_equal(capture_stats(cap)->malformed, 3);
	assert_int_equal(capture_stats(cap)->fragments, 1);
	assert_int_equal(capture_stats(cap)->not_ip, 2);
	capture_close(cap);
	unlink(w.path);
	free(r);
}

/* A packet cut by the snap length: what was captured is delivered, the
 * rest is a hole. */
static void test_snapped(void **state)
{
	struct writer w;
	struct conv c = { &w, 0, "192.0.2.2", "192.0.2.1", 50013, 443, 1, 1 };
	struct crec *r = new_rec();
	struct capture *cap;
	uint8_t b[400];
	struct seg s;
	size_t n;

	(void)state;
	w_open(&w, DLT_EN10MB);
	c_open(&c);
	s = (struct seg){ 0, c.cli, c.srv, c.cport, 443, c.cseq, c.sseq, TH_ACK,
			  "0123456789abcdefghij", 20 };
	n = frame(&w, &s, b);
	w_raw(&w, b, n - 15, n);
	s = (struct seg){ 0, c.cli, c.srv, c.cport, 443, c.cseq + 20, c.sseq, TH_ACK, "next", 4 };
	w_seg(&w, &s);
	w_close(&w);
	cap = read_cap(w.path, 443, r, 0);
	assert_int_equal(capture_stats(cap)->snapped, 1);
	assert_memory_equal(r->data[0], "01234next", 9);
	assert_int_equal(r->gaps[0], 15);
	capture_close(cap);
	unlink(w.path);
	free(r);
}

/* A file cut in the middle of a packet: libpcap's error is reported and
 * what was read is delivered. */
static void test_truncated_file(void **state)
{
	struct writer w;
	struct conv c = { &w, 0, "192.0.2.2", "192.0.2.1", 50014, 443, 1, 1 };
	struct crec *r = new_rec();
	struct capture *cap;
	FILE *f;
	long size;

	(void)state;
	w_open(&w, DLT_EN10MB);
	c_open(&c);
	c_send(&c, 1, TH_ACK, "first", 5);
	c_send(&c, 1, TH_ACK, "second part", 11);
	w_close(&w);
	f = fopen(w.path, "r+");
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fclose(f);
	assert_int_equal(truncate(w.path, size - 6), 0);
	cap = read_cap(w.path, 443, r, 1);
	assert_true(capture_stats(cap)->truncated);
	assert_true(strlen(capture_stats(cap)->error) > 0);
	assert_int_equal(capture_stats(cap)->packets, 4);
	assert_int_equal(r->conns, 1);
	assert_memory_equal(r->data[0], "first", 5);
	capture_close(cap);
	unlink(w.path);
	free(r);
}

static void test_not_a_capture(void **state)
{
	char path[] = "/tmp/test_capture.XXXXXX", err[ERRLEN] = "";
	int fd = mkstemp(path);
	static const char text[] = "this is not a capture at all, just some text\n";

	(void)state;
	assert_true(write(fd, text, sizeof(text)) > 0);
	close(fd);
	assert_null(capture_open(path, 443, err));
	assert_true(strlen(err) > 0);
	assert_null(capture_open("/nonexistent/x.pcap", 443, err));
	assert_non_null(strstr(err, "No such file"));
	unlink(path);
}

/* The same reader over a memory stream (as the fuzzer uses it). */
static void test_fopen_memory(void **state)
{
	struct writer w;
	struct conv c = { &w, 0, "192.0.2.2", "192.0.2.1", 50015, 443, 1, 1 };
	struct crec *r = new_rec();
	char err[ERRLEN];
	static uint8_t bytes[4096];
	struct capture *cap;
	size_t n;
	FILE *f;

	(void)state;
	w_open(&w, DLT_EN10MB);
	c_open(&c);
	c_send(&c, 1, TH_ACK, "mem", 3);
	w_close(&w);
	f = fopen(w.path, "rb");
	n = fread(bytes, 1, sizeof(bytes), f);
	fclose(f);
	unlink(w.path);
	f = fmemopen(bytes, n, "rb");
	assert_non_null(f);
	cap = capture_fopen(f, 443, err);
	assert_non_null(cap);
	memset(r, 0, sizeof(*r));
	assert_int_equal(capture_run(cap, &handler, r), 0);
	assert_memory_equal(r->data[0], "mem", 3);
	capture_close(cap);
	f = fmemopen(bytes, 10, "rb");
	assert_null(capture_fopen(f, 443, err));        /* closes f */
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_reorder_overlap),
		cmocka_unit_test(test_gap_by_ack),
		cmocka_unit_test(test_gap_at_end),
		cmocka_unit_test(test_ooo_cap),
		cmocka_unit_test(test_rst),
		cmocka_unit_test(test_port_reuse),
		cmocka_unit_test(test_many_connections),
		cmocka_unit_test(test_link_types),
		cmocka_unit_test(test_midstream),
		cmocka_unit_test(test_other_port),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_snapped),
		cmocka_unit_test(test_truncated_file),
		cmocka_unit_test(test_not_a_capture),
		cmocka_unit_test(test_fopen_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
