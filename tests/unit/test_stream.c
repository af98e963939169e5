/* The stream object (net/stream.c) over a socketpair, plain and with TLS
 * (a throwaway P-256 certificate made here): bytes both ways, the end of
 * the stream (close_notify, FIN, a peer gone), the results of an empty
 * socket and a full one, the capped queue and its flush, packets counted
 * through the deframer, the deadline of the waiting forms; the same with
 * the records taken over from OpenSSL (tls/record.h) on one side or both:
 * bytes both ways past a full socket, close_notify, a KeyUpdate from
 * OpenSSL, a forged record and a bare FIN, in OpenSSL's words. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/evloop.h"
#include "net/stream.h"

static void pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
}

/* An IPv6 packet of 40 + payload bytes. */
static size_t packet(uint8_t *p, size_t payload, uint8_t fill)
{
	memset(p, fill, 40 + payload);
	p[0] = 0x60;
	p[4] = (uint8_t)(payload >> 8);
	p[5] = (uint8_t)payload;
	return 40 + payload;
}

static void test_plain_both_ways_and_eof(void **state)
{
	struct stream a, b;
	uint8_t buf[64];
	int sv[2];

	pair(sv);
	stream_init(&a, sv[0], NULL, 0);
	stream_init(&b, sv[1], NULL, 0);
	assert_int_equal(stream_read(&b, buf, sizeof(buf)), STREAM_WANT_READ);
	assert_int_equal(stream_write(&a, "hello", 5), 5);
	assert_int_equal(stream_read(&b, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);
	shutdown(sv[0], SHUT_WR);
	assert_int_equal(stream_read(&b, buf, sizeof(buf)), STREAM_EOF);
	assert_int_equal(b.ssl_err, SSL_ERROR_ZERO_RETURN);
	assert_string_equal(stream_why(&b, (char *)buf, sizeof(buf)), "closed by peer");
	/* Writing to a peer that is gone: an error with the system's words. */
	stream_close(&b, 0);
	assert_int_equal(stream_write(&a, "x", 1), STREAM_ERROR);
	assert_int_equal(a.sys_errno, EPIPE);
	assert_non_null(strstr(stream_why(&a, (char *)buf, sizeof(buf)), "pipe"));
	stream_close(&a, 0);
	assert_int_equal(a.fd, -1);
}

/* The queue: capped, flushed as far as the socket takes, the rest kept;
 * the counters count queued packets. */
static void test_queue_flush(void **state)
{
	static uint8_t pkt[1400], sink[1 << 16];
	struct stream a, b;
	size_t queued = 0, got = 0;
	int sv[2], rc, n;

	pair(sv);
	stream_init(&a, sv[0], NULL, 0);
	stream_init(&b, sv[1], NULL, 0);
	packet(pkt, 1360, 7);
	/* Far more than a socket buffer, within a 4 MiB cap. */
	while (queued < (2u << 20)) {
		assert_int_equal(stream_queue_packet(&a, pkt, sizeof(pkt), 4u << 20, 4096), 0);
		queued += sizeof(pkt);
	}
	assert_int_equal(a.tx_packets, queued / sizeof(pkt));
	assert_int_equal(a.tx_bytes, queued);
	/* The cap: nothing past it, and nothing counted. */
	assert_int_equal(stream_queue_packet(&a, pkt, sizeof(pkt), queued, 4096), -1);
	assert_int_equal(a.tx_bytes, queued);
	rc = stream_flush(&a);
	assert_int_equal(rc, STREAM_WANT_WRITE);
	assert_true(stream_pending(&a) > 0 && stream_pending(&a) < queued);
	while ((rc = stream_flush(&a)) != 1 || got < queued) {
		assert_true(rc == 1 || rc == STREAM_WANT_WRITE);
		while ((n = stream_read(&b, sink, sizeof(sink))) > 0)
			got += (size_t)n;
		assert_int_equal(n, STREAM_WANT_READ);
	}
	assert_int_equal(got, queued);
	assert_int_equal(stream_pending(&a), 0);
	assert_true(a.out.cap > 0);
	stream_shrink(&a);
	assert_int_equal(a.out.cap, 0);             /* an idle queue gives its memory back */
	stream_close(&a, 0);
	stream_close(&b, 0);
}

struct seen {
	int n;
	size_t len[8];
};

static int on_packet(void *arg, const uint8_t *pkt, size_t len)
{
	struct seen *s = arg;
	if (s->n < 8)
		s->len[s->n] = len;
	s->n++;
	return 0;
}

/* Packets through the deframer, split anywhere, counted; a byte that is
 * not IPv6 ends the stream. */
static void test_feed(void **state)
{
	uint8_t buf[400];
	struct stream s;
	struct seen seen = { 0 };
	size_t a = packet(buf, 100, 1), b = packet(buf + a, 60, 2);

	stream_init(&s, -1, NULL, 0);
	assert_int_equal(stream_feed(&s, buf, 7, on_packet, &seen), 0);
	assert_int_equal(stream_feed(&s, buf + 7, a + b - 7 - 10, on_packet, &seen), 0);
	assert_int_equal(seen.n, 1);
	assert_int_equal(stream_feed(&s, buf + a + b - 10, 10, on_packet, &seen), 0);
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.len[0], a);
	assert_int_equal(seen.len[1], b);
	assert_int_equal(s.rx_packets, 2);
	assert_int_equal(s.rx_bytes, a + b);
	buf[0] = 0x45;                              /* IPv4 */
	assert_int_equal(stream_feed(&s, buf, a, on_packet, &seen), -1);
	assert_int_equal(s.df.error, V6DF_ERR_VERSION);
	assert_int_equal(s.rx_packets, 2);
	stream_close(&s, 0);
}

/* The waiting forms give up at the deadline. */
static void test_wait_deadline(void **state)
{
	struct stream a, b;
	uint8_t buf[16];
	uint64_t t0 = ev_now_ms();
	int sv[2];

	pair(sv);
	stream_init(&a, sv[0], NULL, 0);
	stream_init(&b, sv[1], NULL, 0);
	assert_int_equal(stream_read_wait(&b, buf, sizeof(buf), t0 + 150), STREAM_TIMEOUT);
	assert_true(ev_now_ms() - t0 >= 140);
	assert_int_equal(stream_write_wait(&a, "abc", 3, ev_now_ms() + 1000), 3);
	assert_int_equal(stream_read_wait(&b, buf, sizeof(buf), ev_now_ms() + 1000), 3);
	stream_close(&a, 0);
	stream_close(&b, 0);
}

/* ---- TLS ---- */

static SSL_CTX *sctx, *cctx;

static int tls_setup(void **state)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	char err[ERRLEN];

	assert_non_null(k);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, k);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)"stream.test", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	sctx = SSL_CTX_new(TLS_server_method());
	cctx = SSL_CTX_new(TLS_client_method());
	assert_int_equal(SSL_CTX_use_certificate(sctx, x), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(sctx, k), 1);
	SSL_CTX_set_verify(cctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_num_tickets(sctx, 0);       /* as the server (tls.c) */
	assert_int_equal(rec_ctx_prepare(sctx, err), 0);
	assert_int_equal(rec_ctx_prepare(cctx, err), 0);
	X509_free(x);
	EVP_PKEY_free(k);
	return 0;
}

static int tls_teardown(void **state)
{
	SSL_CTX_free(sctx);
	SSL_CTX_free(cctx);
	return 0;
}

/* Two TLS streams over a socketpair, handshaken. */
static void tls_pair(struct stream *srv, struct stream *cli)
{
	int sv[2], done = 0;
	SSL *s, *c;

	pair(sv);
	s = SSL_new(sctx);
	c = SSL_new(cctx);
	SSL_set_fd(s, sv[0]);
	SSL_set_fd(c, sv[1]);
	SSL_set_accept_state(s);
	SSL_set_connect_state(c);
	for (int i = 0; i < 100 && done != 3; i++) {
		if (!(done & 1) && SSL_do_handshake(s) == 1)
			done |= 1;
		if (!(done & 2) && SSL_do_handshake(c) == 1)
			done |= 2;
	}
	assert_int_equal(done, 3);
	stream_init(srv, sv[0], s, 0);
	stream_init(cli, sv[1], c, 0);
}

/* The same, then the records taken over: take & 1 the server's, & 2 the
 * client's. */
static void own_pair(struct stream *srv, struct stream *cli, int take)
{
	char err[ERRLEN];

	tls_pair(srv, cli);
	if (take & 1) {
		if (stream_take_records(srv, REC_SERVER, err) < 0)
			fail_msg("%s", err);
		assert_null(srv->ssl);
		assert_true(stream_is_tls(srv));
	}
	if (take & 2)
		assert_int_equal(stream_take_records(cli, REC_CLIENT, err), 0);
}

/* Read what the peer sent, turning the crank on both sides. */
static int read_some(struct stream *r, uint8_t *buf, size_t len)
{
	for (int i = 0; i < 100; i++) {
		int n = stream_read(r, buf, len);
		if (n != STREAM_WANT_READ)
			return n;
	}
	return STREAM_WANT_READ;
}

static void test_tls_both_ways_and_close_notify(void **state)
{
	struct stream s, c;
	uint8_t buf[64];

	tls_pair(&s, &c);
	assert_int_equal(stream_read(&s, buf, sizeof(buf)), STREAM_WANT_READ);
	assert_int_equal(stream_write(&c, "ping", 4), 4);
	assert_int_equal(read_some(&s, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "ping", 4);
	assert_int_equal(stream_write(&s, "pong!", 5), 5);
	assert_int_equal(read_some(&c, buf, sizeof(buf)), 5);
	stream_close(&s, 1);                        /* close_notify, then the socket */
	assert_int_equal(read_some(&c, buf, sizeof(buf)), STREAM_EOF);
	assert_int_equal(c.ssl_err, SSL_ERROR_ZERO_RETURN);
	stream_close(&c, 0);
	ERR_clear_error();
}

/* A peer that goes without close_notify: OpenSSL 3 calls that an error
 * (an unexpected end), and its words say so. */
static void test_tls_unexpected_eof(void **state)
{
	struct stream s, c;
	uint8_t buf[256];
	int n;

	tls_pair(&s, &c);
	stream_close(&s, 0);
	n = read_some(&c, buf, sizeof(buf));
	assert_true(n == STREAM_ERROR || n == STREAM_EOF);
	if (n == STREAM_ERROR)
		assert_non_null(strstr(stream_why(&c, (char *)buf, sizeof(buf)), "unexpected eof"));
	stream_close(&c, 0);
	ERR_clear_error();
}

/* Garbage where TLS records should be: an error with OpenSSL's reason. */
static void test_tls_garbage(void **state)
{
	struct stream s, c;
	uint8_t buf[256];
	int fd;

	tls_pair(&s, &c);
	fd = s.fd;
	assert_int_equal(write(fd, "GET / HTTP/1.0\r\n\r\n", 18), 18);
	assert_int_equal(read_some(&c, buf, sizeof(buf)), STREAM_ERROR);
	assert_int_equal(c.ssl_err, SSL_ERROR_SSL);
	assert_true(c.lib_err != 0);
	assert_true(strlen(stream_why(&c, (char *)buf, sizeof(buf))) > 0);
	stream_close(&s, 0);
	stream_close(&c, 0);
	ERR_clear_error();
}

/* Everything the writer queued reaches the reader whole, however much the
 * socket takes at a time. */
static void pump(struct stream *w, struct stream *r, size_t total)
{
	static uint8_t chunk[1 << 15], sink[1 << 16];
	size_t got = 0, i;
	int rc, n;

	for (i = 0; i < sizeof(chunk); i++)
		chunk[i] = (uint8_t)(i * 7 + 3);
	for (size_t q = 0; q < total; q += sizeof(chunk))
		assert_int_equal(stream_queue(w, chunk, sizeof(chunk), total, 4096), 0);
	for (int turns = 0; turns < 100000 && got < total; turns++) {
		rc = stream_flush(w);
		assert_true(rc == 1 || rc == STREAM_WANT_WRITE);
		while ((n = stream_read(r, sink, sizeof(sink))) > 0) {
			for (int k = 0; k < n; k++)
				assert_int_equal(sink[k], chunk[(got + (size_t)k) % sizeof(chunk)]);
			got += (size_t)n;
		}
		assert_true(n == STREAM_WANT_READ || n == STREAM_WANT_WRITE);
	}
	assert_int_equal(got, total);
	assert_int_equal(stream_flush(w), 1);
}

/* Taken over on one side (OpenSSL at the other) and on both: bytes both
 * ways through a full socket, then close_notify. */
static void test_own_both_ways_and_close_notify(void **state)
{
	for (int take = 1; take <= 3; take++) {
		struct stream s, c;
		uint8_t buf[64];

		own_pair(&s, &c, take);
		assert_int_equal(stream_read(&s, buf, sizeof(buf)), STREAM_WANT_READ);
		assert_int_equal(stream_write(&c, "ping", 4), 4);
		assert_int_equal(read_some(&s, buf, sizeof(buf)), 4);
		assert_memory_equal(buf, "ping", 4);
		pump(&s, &c, 3u << 20);
		pump(&c, &s, 3u << 20);
		assert_true(stream_records(take & 1 ? &s : &c)->records_in > 0);
		stream_shrink(&s);
		stream_shrink(&c);
		assert_int_equal(stream_write(&s, "pong!", 5), 5);
		assert_int_equal(read_some(&c, buf, sizeof(buf)), 5);
		assert_memory_equal(buf, "pong!", 5);
		stream_close(&s, 1);
		assert_int_equal(read_some(&c, buf, sizeof(buf)), STREAM_EOF);
		assert_int_equal(c.ssl_err, SSL_ERROR_ZERO_RETURN);
		stream_close(&c, 0);
		ERR_clear_error();
	}
}

/* OpenSSL's client asks for a KeyUpdate: the server's layer answers it and
 * the client reads what the server sends under the new keys. */
static void test_own_key_update(void **state)
{
	struct stream s, c;
	uint8_t buf[64];

	own_pair(&s, &c, 1);
	assert_int_equal(SSL_key_update(c.ssl, SSL_KEY_UPDATE_REQUESTED), 1);
	assert_int_equal(stream_write(&c, "new keys", 8), 8);
	assert_int_equal(read_some(&s, buf, sizeof(buf)), 8);
	assert_memory_equal(buf, "new keys", 8);
	assert_int_equal(stream_records(&s)->key_updates_in, 1);
	assert_int_equal(stream_records(&s)->key_updates_out, 1);
	assert_int_equal(stream_write(&s, "answer", 6), 6);
	assert_int_equal(read_some(&c, buf, sizeof(buf)), 6);
	assert_memory_equal(buf, "answer", 6);
	stream_close(&s, 1);
	stream_close(&c, 0);
	ERR_clear_error();
}

/* A record that does not authenticate: the stream fails with OpenSSL's
 * words for it, and the peer gets the alert. */
static void test_own_forged_record(void **state)
{
	static const uint8_t forged[5 + 32] = { 0x17, 0x03, 0x03, 0x00, 0x20, 1, 2, 3 };
	struct stream s, c;
	char why[256];

	own_pair(&s, &c, 1);
	assert_int_equal(write(c.fd, forged, sizeof(forged)), (ssize_t)sizeof(forged));
	assert_int_equal(read_some(&s, (uint8_t *)why, sizeof(why)), STREAM_ERROR);
	assert_int_equal(s.ssl_err, SSL_ERROR_SSL);
	assert_non_null(strstr(stream_why(&s, why, sizeof(why)), "bad record mac"));
	assert_int_equal(read_some(&s, (uint8_t *)why, sizeof(why)), STREAM_ERROR);   /* stays failed */
	assert_int_equal(read_some(&c, (uint8_t *)why, sizeof(why)), STREAM_ERROR);
	assert_non_null(strstr(stream_why(&c, why, sizeof(why)), "alert bad record mac"));
	stream_close(&s, 1);
	stream_close(&c, 0);
	ERR_clear_error();
}

/* A FIN without close_notify: what OpenSSL 3 says of it. */
static void test_own_unexpected_eof(void **state)
{
	struct stream s, c;
	char why[256];

	own_pair(&s, &c, 1);
	stream_close(&c, 0);
	assert_int_equal(read_some(&s, (uint8_t *)why, sizeof(why)), STREAM_ERROR);
	assert_int_equal(s.ssl_err, SSL_ERROR_SSL);
	assert_non_null(strstr(stream_why(&s, why, sizeof(why)), "unexpected eof while reading"));
	stream_close(&s, 0);
	ERR_clear_error();
}

/* A peer that asks for KeyUpdates and never reads (its receive window
 * full): the answer waits behind what the socket would not take, and
 * answers every request read meanwhile (RFC 8446 4.6.3: one update for
 * many while silent).  Before, each request read on its own added an
 * answer to the unsent output, without bound (a memory flood from one
 * client: 2,000 requests, 2,000 answers held).  The layer keeps reading
 * (no deadlock with a peer whose own KeyUpdate waits for us to read);
 * then the peer reads, everything drains and data flows both ways. */
static void test_own_key_update_flood_bounded(void **state)
{
	static uint8_t big[REC_MAX_PLAIN], buf[1 << 16];
	struct stream s, c;
	int n = 0, sent = 0, rc;

	own_pair(&s, &c, 1);
	memset(big, 0x5a, sizeof(big));
	for (int i = 0; i < 10000 && (rc = stream_write(&s, big, sizeof(big))) > 0; i++)
		;
	assert_int_equal(stream_write(&s, big, sizeof(big)), STREAM_WANT_WRITE);
	for (int i = 0; i < 2000; i++) {
		if (SSL_key_update(c.ssl, SSL_KEY_UPDATE_REQUESTED) != 1 || SSL_do_handshake(c.ssl) != 1)
			break;
		sent++;
		rc = stream_read(&s, buf, sizeof(buf));
		assert_true(rc == STREAM_WANT_READ || rc == STREAM_WANT_WRITE);
	}
	assert_true(sent >= 50);
	assert_int_equal(stream_records(&s)->key_updates_in, sent);
	if (stream_records(&s)->key_updates_out > 1)
		fail_msg("%d requests: %llu answers made while none could be sent", sent,
			 (unsigned long long)stream_records(&s)->key_updates_out);
	/* The peer reads: the server's bytes and answers drain, its reading
	 * resumes, every request is taken, data still flows both ways. */
	for (int turns = 0; turns < 100000; turns++) {
		int k = SSL_read(c.ssl, buf, sizeof(buf));
		if (k > 0) {
			n += k;
			continue;
		}
		stream_flush(&s);
		rc = stream_read(&s, buf, sizeof(buf));
		assert_true(rc == STREAM_WANT_READ || rc == STREAM_WANT_WRITE);
		if (stream_records(&s)->key_updates_in == (uint64_t)sent && rc == STREAM_WANT_READ &&
		    stream_flush(&s) == 1 && SSL_read(c.ssl, buf, sizeof(buf)) <= 0)
			break;
	}
	assert_true(n > 0);
	assert_int_equal(stream_records(&s)->key_updates_in, sent);
	assert_int_equal(stream_write(&c, "after", 5), 5);
	assert_int_equal(read_some(&s, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "after", 5);
	stream_close(&s, 1);
	stream_close(&c, 0);
	ERR_clear_error();
}

/* Records that carry no plaintext (KeyUpdates here; empty records and
 * warning alerts alike) must not keep one read going while the peer keeps
 * sending: the server's loop reads a connection until it yields bytes or
 * the socket is empty, and its fair share counts plaintext only, so a
 * client streaming KeyUpdates (an HKDF each) at line rate held the loop
 * forever and starved every other client.  One read now takes at most one
 * buffer from the socket when it hands out nothing: 5,000 KeyUpdates
 * (135 KB, more than one 64 KiB buffer) take several reads, the bytes left
 * stay in the socket (epoll reports them again), and all are taken in the
 * end with data flowing after them. */
static void test_own_control_records_bounded_per_read(void **state)
{
	static uint8_t buf[1 << 16];
	struct stream s, c;
	BIO *mem = BIO_new(BIO_s_mem());
	char *p;
	long len, off = 0;
	int sent = 0, reads = 0, rc;

	own_pair(&s, &c, 1);
	SSL_set0_wbio(c.ssl, mem);              /* the client's records gathered, then written at once */
	for (; sent < 5000; sent++)
		assert_true(SSL_key_update(c.ssl, SSL_KEY_UPDATE_NOT_REQUESTED) == 1 && SSL_do_handshake(c.ssl) == 1);
	assert_int_equal(SSL_write(c.ssl, "after", 5), 5);
	len = BIO_get_mem_data(mem, &p);
	assert_true(len > 2 * 65536);
	while (off < len) {
		ssize_t k = write(c.fd, p + off, (size_t)(len - off));
		if (k > 0) {
			off += k;
			continue;
		}
		assert_int_equal(errno, EAGAIN);
		rc = stream_read(&s, buf, sizeof(buf));         /* room for the rest */
		assert_true(rc == STREAM_WANT_READ);
		reads++;
	}
	rc = stream_read(&s, buf, sizeof(buf));
	reads++;
	if (stream_records(&s)->key_updates_in == (uint64_t)sent)
		fail_msg("%d KeyUpdates (%ld bytes) taken by %d read(s)", sent, len, reads);
	for (int i = 0; i < 100 && rc == STREAM_WANT_READ; i++, reads++)
		rc = stream_read(&s, buf, sizeof(buf));
	assert_int_equal(rc, 5);
	assert_memory_equal(buf, "after", 5);
	assert_int_equal(stream_records(&s)->key_updates_in, sent);
	assert_true(reads >= 3);
	stream_close(&s, 1);
	stream_close(&c, 0);
	ERR_clear_error();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_both_ways_and_eof),
		cmocka_unit_test(test_queue_flush),
		cmocka_unit_test(test_feed),
		cmocka_unit_test(test_wait_deadline),
		cmocka_unit_test(test_tls_both_ways_and_close_notify),
		cmocka_unit_test(test_tls_unexpected_eof),
		cmocka_unit_test(test_tls_garbage),
		cmocka_unit_test(test_own_both_ways_and_close_notify),
		cmocka_unit_test(test_own_key_update),
		cmocka_unit_test(test_own_key_update_flood_bounded),
		cmocka_unit_test(test_own_control_records_bounded_per_read),
		cmocka_unit_test(test_own_forged_record),
		cmocka_unit_test(test_own_unexpected_eof),
	};
	/* As in the daemons (ev_add_signals): OpenSSL writes its alerts with
	 * write(), which would raise SIGPIPE toward a peer that is gone. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("plain and TLS", tests, tls_setup, tls_teardown);
}
