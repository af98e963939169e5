/* Tests of the record-layer takeover (src/tls/record.c):
 * - RFC 8448 section 3 (TLS 1.3 example handshake): the application traffic
 *   keys from the secrets, and its two application-data records byte for
 *   byte, both ways;
 * - interop over socketpairs with real OpenSSL on the other end, for every
 *   suite and version taken over, our layer as server and as client:
 *   records of many sizes and chunkings each way, fed in random splits,
 *   SSL_key_update from OpenSSL with and without update_requested, our own
 *   KeyUpdate at the limit, close_notify both ways;
 * - what is not taken over (ChaCha20, tickets, bytes buffered in OpenSSL),
 *   and the SSL then goes on working;
 * - hostile records, made here with EVP independently of record.c: every
 *   fatal case with its alert, records too long refused from the header;
 * - the memory an idle taken-over connection keeps, against the SSL's;
 * - a real `openssl s_client` sending KeyUpdate on its k and K commands. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "tls/record.h"

static EVP_PKEY *key;
static X509 *cert;

/* ---- helpers ---- */

static size_t unhex(const char *s, uint8_t *out)
{
	size_t n = 0;

	for (; *s; s++) {
		if (*s == ' ' || *s == '\n')
			continue;
		unsigned v;
		sscanf(s, "%2x", &v);
		out[n++] = (uint8_t)v;
		s++;
	}
	return n;
}

static uint64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* A self-signed RSA-2048 certificate (the null suites need RSA key exchange). */
static int make_cert(void **state)
{
	X509_NAME *n;

	key = EVP_RSA_gen(2048);
	cert = X509_new();
	if (!key || !cert)
		return -1;
	ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
	X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
	X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
	X509_set_pubkey(cert, key);
	n = X509_get_subject_name(cert);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"record.test", -1, -1, 0);
	X509_set_issuer_name(cert, n);
	return X509_sign(cert, key, EVP_sha256()) > 0 ? 0 : -1;
}

static int free_cert(void **state)
{
	X509_free(cert);
	EVP_PKEY_free(key);
	return 0;
}

/* What a test asks of the handshake. */
struct want {
	int version;            /* TLS1_3_VERSION, TLS1_2_VERSION, TLS1_VERSION */
	const char *suites;     /* TLS 1.3 ciphersuites or the TLS 1.2 cipher list */
	uint16_t id;            /* the suite expected */
	int tickets;            /* server's TLS 1.3 tickets */
};

static SSL_CTX *make_ctx(const struct want *w, int server)
{
	SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	char err[ERRLEN];

	assert_non_null(ctx);
	SSL_CTX_set_min_proto_version(ctx, w->version);
	SSL_CTX_set_max_proto_version(ctx, w->version);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (w->version == TLS1_3_VERSION)
		assert_int_equal(SSL_CTX_set_ciphersuites(ctx, w->suites), 1);
	else
		assert_int_equal(SSL_CTX_set_cipher_list(ctx, w->suites), 1);
	if (server) {
		assert_int_equal(SSL_CTX_use_certificate(ctx, cert), 1);
		assert_int_equal(SSL_CTX_use_PrivateKey(ctx, key), 1);
		SSL_CTX_set_num_tickets(ctx, (size_t)w->tickets);
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);        /* as src/tls/tls.c */
	}
	assert_int_equal(rec_ctx_prepare(ctx, err), 0);
	return ctx;
}

/* Two ends of a handshake over a socketpair (fd[0] server, fd[1] client). */
struct pair {
	SSL_CTX *sctx, *cctx;
	SSL *s, *c;
	int fd[2];
};

static void set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);

	fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

/* The client's first data, written as soon as its side of the handshake is
 * done (an IP-HTTPS client's POST comes right behind its Finished). */
static const char *early_write;
/* A session the next handshake's client resumes (NULL: a full handshake). */
static SSL_SESSION *resume_with;

static void handshake(struct pair *p, const struct want *w)
{
	int sdone = 0, cdone = 0, rc;
	uint64_t end = now_ms() + 20000;

	if (!p->sctx) {
		p->sctx = make_ctx(w, 1);
		p->cctx = make_ctx(w, 0);
	}
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p->fd), 0);
	set_nonblock(p->fd[0], 1);
	set_nonblock(p->fd[1], 1);
	p->s = SSL_new(p->sctx);
	p->c = SSL_new(p->cctx);
	SSL_set_fd(p->s, p->fd[0]);
	SSL_set_fd(p->c, p->fd[1]);
	if (resume_with)
		assert_int_equal(SSL_set_session(p->c, resume_with), 1);
	while ((!sdone || !cdone) && now_ms() < end) {
		if (!cdone && (rc = SSL_connect(p->c)) == 1) {
			cdone = 1;
			if (early_write)
				assert_int_equal(SSL_write(p->c, early_write, (int)strlen(early_write)),
						 (int)strlen(early_write));
		}
		else if (!cdone && SSL_get_error(p->c, rc) != SSL_ERROR_WANT_READ)
			fail_msg("client handshake: %s", ERR_error_string(ERR_get_error(), NULL));
		if (!sdone && (rc = SSL_accept(p->s)) == 1)
			sdone = 1;
		else if (!sdone && SSL_get_error(p->s, rc) != SSL_ERROR_WANT_READ)
			fail_msg("server handshake: %s", ERR_error_string(ERR_get_error(), NULL));
	}
	assert_true(sdone && cdone);
	assert_int_equal(SSL_CIPHER_get_protocol_id(SSL_get_current_cipher(p->s)), w->id);
	set_nonblock(p->fd[0], 0);
	set_nonblock(p->fd[1], 0);
}

static void pair_free(struct pair *p)
{
	SSL_free(p->s);
	SSL_free(p->c);
	SSL_CTX_free(p->sctx);
	SSL_CTX_free(p->cctx);
	close(p->fd[0]);
	close(p->fd[1]);
}

/* Our end of a connection: the record layer on a socket. */
struct end {
	struct rec r;
	int fd;
	uint8_t in[70000];
	size_t have;            /* bytes read and not yet fed */
	unsigned seed;
};

/* Sends whatever control records wait. */
static void flush_output(struct end *e)
{
	size_t n;
	const uint8_t *p = rec_output(&e->r, &n);

	if (p) {
		assert_int_equal(write(e->fd, p, n), (ssize_t)n);
		rec_output_done(&e->r);
		rec_output_sent(&e->r);
	}
}

/* Reads from the socket and feeds the layer in random splits until want
 * plaintext bytes came (compared with expect) or the layer says something
 * else; returns the last result. */
static enum rec_result receive(struct end *e, const uint8_t *expect, size_t want)
{
	size_t got = 0, used, k;
	uint64_t end = now_ms() + 10000;
	struct rec_span sp;
	enum rec_result rc = REC_NEED_MORE;

	while (got < want || want == 0) {
		if (!e->have) {
			struct pollfd pfd = { e->fd, POLLIN, 0 };
			ssize_t n;
			if (now_ms() >= end)
				fail_msg("receive: %zu of %zu bytes after 10 s (suite %s, state %d, in %llu records)", got, want,
					 rec_suite_name(&e->r), e->r.state, (unsigned long long)e->r.records_in);
			if (poll(&pfd, 1, 100) <= 0)
				continue;
			n = read(e->fd, e->in, 1 + rand_r(&e->seed) % sizeof(e->in));
			if (n <= 0)
				return rc;
			e->have = (size_t)n;
		}
		k = 1 + rand_r(&e->seed) % e->have;     /* any split */
		rc = rec_open(&e->r, e->in, k, &used, &sp);
		flush_output(e);
		if (rc == REC_DATA) {   /* the span may lie in e->in: look before moving it */
			assert_true(got + sp.n <= want);
			assert_memory_equal(sp.p, expect + got, sp.n);
			got += sp.n;
		}
		memmove(e->in, e->in + used, e->have - used);
		e->have -= used;
		if (rc == REC_DATA)
			continue;
		if (rc == REC_FATAL)
			printf("receive: fatal, alert %u after %llu records (%s)\n", e->r.alert,
			       (unsigned long long)e->r.records_in, rec_suite_name(&e->r));
		if (rc != REC_NEED_MORE)
			return rc;
		if (want == 0 && !e->have)
			return rc;
	}
	return REC_DATA;
}

/* Seals msg in chunks (several iovecs) with records of at most max_plain
 * and writes them. */
static void send_sealed(struct end *e, const uint8_t *msg, size_t n, size_t max_plain)
{
	struct iovec iov[3] = { { (void *)msg, n / 3 }, { (void *)(msg + n / 3), n / 3 },
				{ (void *)(msg + 2 * (n / 3)), n - 2 * (n / 3) } };
	size_t need = rec_seal_size(&e->r, n, max_plain);
	uint8_t *out = malloc(need + 1);
	ssize_t w;

	assert_non_null(out);
	assert_int_equal(rec_seal(&e->r, iov, 3, max_plain, out, need - 1), -1);      /* too small: nothing */
	assert_int_equal(errno, ENOBUFS);
	w = rec_seal(&e->r, iov, 3, max_plain, out, need);
	assert_int_equal(w, (ssize_t)need);
	for (ssize_t off = 0; off < w;) {
		ssize_t k = write(e->fd, out + off, (size_t)(w - off));
		assert_true(k > 0);
		off += k;
	}
	free(out);
}

/* OpenSSL reads exactly n bytes and they are msg. */
static void ssl_expect(SSL *ssl, const uint8_t *msg, size_t n)
{
	uint8_t *buf = malloc(n + 1);
	size_t got = 0;

	while (got < n) {
		int k = SSL_read(ssl, buf + got, (int)(n - got));
		if (k <= 0)
			fail_msg("SSL_read: %d %s", SSL_get_error(ssl, k), ERR_error_string(ERR_get_error(), NULL));
		got += (size_t)k;
	}
	assert_memory_equal(buf, msg, n);
	free(buf);
}

static uint8_t *pattern(size_t n, unsigned salt)
{
	uint8_t *p = malloc(n);

	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + salt);
	return p;
}

/* ---- RFC 8448 ---- */

/* RFC 8448 section 3: the application traffic secrets, the keys and IVs
 * they give, the 50-byte payload 00..31 and the two records. */
static const char c_ap[] = "9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5";
static const char s_ap[] = "a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643";
static const char c_key[] = "17422dda596ed5d9acd890e3c63f5051", c_iv[] = "5b78923dee08579033e523d9";
static const char s_key[] = "9f02283b6c9c07efc26bb9f2ac92e356", s_iv[] = "cf782b88dd83549aadf1e984";
static const char c_rec[] = "17 03 03 00 43 a2 3f 70 54 b6 2c 94 d0 af fa fe 82 28 ba 55 cb ef ac ea 42 f9 14 aa"
			    "66 bc ab 3f 2b 98 19 a8 a5 b4 6b 39 5b d5 4a 9a 20 44 1e 2b 62 97 4e 1f 5a 62 92 a2"
			    "97 70 14 bd 1e 3d ea e6 3a ee bb 21 69 49 15 e4";
static const char s_rec[] = "17 03 03 00 43 2e 93 7e 11 ef 4a c7 40 e5 38 ad 36 00 5f c4 a4 69 32 fc 32 25 d0 5f"
			    "82 aa 1b 36 e3 0e fa f9 7d 90 e6 df fc 60 2d cb 50 1a 59 a8 fc c4 9c 4b f2 e5 f0 a2"
			    "1c 00 47 c2 ab f3 32 54 0d d0 32 e1 67 c2 95 5d";

static void rfc8448_rec(struct rec *r, enum rec_role role)
{
	uint8_t cs[32], ss[32];
	char err[ERRLEN];

	unhex(c_ap, cs);
	unhex(s_ap, ss);
	assert_int_equal(rec_init_tls13(r, role, 0x1301, cs, ss, 32, err), 0);
}

static void test_rfc8448_vectors(void **state)
{
	uint8_t k[32], iv[12], rec[100], payload[50], out[100];
	struct iovec v = { payload, 50 };
	struct rec_span sp;
	struct rec c, s;
	size_t used;

	for (int i = 0; i < 50; i++)
		payload[i] = (uint8_t)i;
	rfc8448_rec(&c, REC_CLIENT);
	rfc8448_rec(&s, REC_SERVER);
	assert_int_equal(unhex(c_key, k), 16);
	assert_memory_equal(c.wr.key, k, 16);
	assert_memory_equal(s.rd.key, k, 16);
	unhex(c_iv, iv);
	assert_memory_equal(c.wr.iv, iv, 12);
	unhex(s_key, k);
	assert_memory_equal(s.wr.key, k, 16);
	unhex(s_iv, iv);
	assert_memory_equal(s.wr.iv, iv, 12);

	/* The client's record (its sequence 0), sealed and opened. */
	assert_int_equal(unhex(c_rec, rec), 72);
	assert_int_equal(rec_seal(&c, &v, 1, 0, out, sizeof(out)), 72);
	assert_memory_equal(out, rec, 72);
	assert_int_equal(rec_open(&s, rec, 72, &used, &sp), REC_DATA);
	assert_int_equal(used, 72);
	assert_int_equal(sp.n, 50);
	assert_memory_equal(sp.p, payload, 50);

	/* The server's (sequence 1: its NewSessionTicket was 0). */
	s.wr.seq = 1;
	c.rd.seq = 1;
	assert_int_equal(unhex(s_rec, rec), 72);
	assert_int_equal(rec_seal(&s, &v, 1, 0, out, sizeof(out)), 72);
	assert_memory_equal(out, rec, 72);
	assert_int_equal(rec_open(&c, rec, 72, &used, &sp), REC_DATA);
	assert_memory_equal(sp.p, payload, 50);
	assert_string_equal(rec_suite_name(&c), "TLS_AES_128_GCM_SHA256");
	rec_free(&c);
	rec_free(&s);
}

/* ---- interop with OpenSSL ---- */

static const struct want suites[] = {
	{ TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256", 0x1301, 0 },
	{ TLS1_3_VERSION, "TLS_AES_256_GCM_SHA384", 0x1302, 0 },
	{ TLS1_2_VERSION, "ECDHE-RSA-AES128-GCM-SHA256", 0xC02F, 0 },
	{ TLS1_2_VERSION, "ECDHE-RSA-AES256-GCM-SHA384", 0xC030, 0 },
	{ TLS1_2_VERSION, "AES128-GCM-SHA256", 0x009C, 0 },
	{ TLS1_2_VERSION, "NULL-SHA256:@SECLEVEL=0", 0x003B, 0 },
	{ TLS1_2_VERSION, "NULL-SHA:@SECLEVEL=0", 0x0002, 0 },
	{ TLS1_VERSION, "NULL-SHA:@SECLEVEL=0", 0x0002, 0 },
};

/* Takes over one side of a fresh handshake: ours (e) and OpenSSL's (*peer). */
static void take_side(struct pair *p, const struct want *w, enum rec_role role, struct end *e, SSL **peer)
{
	char err[ERRLEN];
	SSL **mine = role == REC_SERVER ? &p->s : &p->c;

	memset(p, 0, sizeof(*p));
	handshake(p, w);
	memset(e, 0, sizeof(*e));
	e->seed = (unsigned)w->id * 31u + role;
	if (rec_take(*mine, role, &e->r, err) != 0)
		fail_msg("rec_take: %s", err);
	e->fd = p->fd[role == REC_SERVER ? 0 : 1];
	SSL_free(*mine);
	*mine = NULL;
	*peer = role == REC_SERVER ? p->c : p->s;
}

/* Data both ways in many sizes: OpenSSL writes, we read; we write, OpenSSL reads. */
static void exchange(struct end *e, SSL *peer)
{
	static const size_t sizes[] = { 1, 1280, 16384, 16385, 40000 };
	static const size_t maxes[] = { 0, 1280, 16384, 100 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint8_t *m = pattern(sizes[i], (unsigned)i);
		assert_int_equal(SSL_write(peer, m, (int)sizes[i]), (int)sizes[i]);
		assert_int_equal(receive(e, m, sizes[i]), REC_DATA);
		send_sealed(e, m, sizes[i], maxes[i % 4]);
		ssl_expect(peer, m, sizes[i]);
		free(m);
	}
}

/* TLS 1.3 key updates: OpenSSL's with and without update_requested, ours at
 * the limit. */
static void key_updates(struct end *e, SSL *peer)
{
	uint8_t *m = pattern(3000, 9);
	uint64_t in = e->r.key_updates_in, out = e->r.key_updates_out;

	assert_int_equal(SSL_key_update(peer, SSL_KEY_UPDATE_NOT_REQUESTED), 1);
	assert_int_equal(SSL_write(peer, m, 3000), 3000);
	assert_int_equal(receive(e, m, 3000), REC_DATA);
	assert_int_equal(e->r.key_updates_in, in + 1);
	assert_int_equal(e->r.key_updates_out, out);
	send_sealed(e, m, 3000, 0);
	ssl_expect(peer, m, 3000);

	assert_int_equal(SSL_key_update(peer, SSL_KEY_UPDATE_REQUESTED), 1);
	assert_int_equal(SSL_write(peer, m, 100), 100);
	assert_int_equal(receive(e, m, 100), REC_DATA);      /* our answer went out */
	assert_int_equal(e->r.key_updates_in, in + 2);
	assert_int_equal(e->r.key_updates_out, out + 1);
	send_sealed(e, m, 3000, 1000);                        /* under our new keys */
	ssl_expect(peer, m, 3000);

	/* Two requests arrive together: one answer covers both (4.6.3). */
	{
		uint8_t raw[4096];
		size_t have = 0, used;
		struct rec_span sp;
		assert_int_equal(SSL_key_update(peer, SSL_KEY_UPDATE_REQUESTED), 1);
		assert_int_equal(SSL_do_handshake(peer), 1);
		assert_int_equal(SSL_key_update(peer, SSL_KEY_UPDATE_REQUESTED), 1);
		assert_int_equal(SSL_do_handshake(peer), 1);
		while (have < 2 * (5 + 5 + 1 + 16)) {
			ssize_t k = read(e->fd, raw + have, sizeof(raw) - have);
			assert_true(k > 0);
			have += (size_t)k;
		}
		assert_int_equal(rec_open(&e->r, raw, have, &used, &sp), REC_NEED_MORE);
		assert_int_equal(used, have);
		assert_int_equal(e->r.key_updates_in, in + 4);
		assert_int_equal(e->r.key_updates_out, out + 2);
		flush_output(e);
		send_sealed(e, m, 3000, 0);
		ssl_expect(peer, m, 3000);
		out++;
	}

	e->r.ku_after = (uint32_t)e->r.wr.seq + 4;              /* the limit, close by */
	send_sealed(e, m, 3000, 500);                         /* 6 records: our KeyUpdate after 4 */
	ssl_expect(peer, m, 3000);
	assert_int_equal(e->r.key_updates_out, out + 2);
	assert_int_equal(e->r.wr.seq, 2);                     /* 2 records under the new key */
	e->r.ku_after = REC_KEYUPDATE_AFTER;
	free(m);
}

static void close_both_ways(struct end *e, SSL *peer)
{
	uint8_t out[64], buf[16];
	ssize_t n = rec_seal_close(&e->r, out, sizeof(out));

	assert_true(n > 0);
	assert_int_equal(write(e->fd, out, (size_t)n), n);
	assert_int_equal(SSL_read(peer, buf, sizeof(buf)), 0);
	assert_int_equal(SSL_get_error(peer, 0), SSL_ERROR_ZERO_RETURN);
	assert_int_equal(rec_seal(&e->r, &(struct iovec){ buf, 1 }, 1, 0, out, sizeof(out)), -1);
	assert_true(SSL_shutdown(peer) >= 0);
	assert_int_equal(receive(e, NULL, 0), REC_CLOSE);
	{
		struct rec_span sp;
		size_t used;
		assert_int_equal(rec_open(&e->r, buf, 0, &used, &sp), REC_CLOSE);   /* and stays so */
	}
}

static void interop(const struct want *w, enum rec_role role)
{
	struct pair p;
	struct end *e = calloc(1, sizeof(*e));
	SSL *peer;

	take_side(&p, w, role, e, &peer);
	exchange(e, peer);
	if (w->version == TLS1_3_VERSION)
		key_updates(e, peer);
	exchange(e, peer);
	rec_idle(&e->r);                                      /* contexts dropped, then made again */
	assert_null(e->r.rd.ctx);
	exchange(e, peer);
	close_both_ways(e, peer);
	rec_free(&e->r);
	free(e);
	pair_free(&p);
}

static void test_interop_server(void **state)
{
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		interop(&suites[i], REC_SERVER);
}

static void test_interop_client(void **state)
{
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		interop(&suites[i], REC_CLIENT);
}

/* A client takes over although the server sends tickets: they are read and
 * dropped. */
static void test_client_ignores_tickets(void **state)
{
	struct want w = { TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256", 0x1301, 2 };
	struct pair p;
	struct end *e = calloc(1, sizeof(*e));
	SSL *peer;

	take_side(&p, &w, REC_CLIENT, e, &peer);
	exchange(e, peer);
	rec_free(&e->r);
	free(e);
	pair_free(&p);
}

/* A TLS 1.3 server that sent tickets under the application key takes over
 * at the sequence number after them: OpenSSL's client reads the tickets,
 * then our records (issue 11: resumption with --tls-records own). */
static void test_server_sent_tickets(void **state)
{
	for (int n = 1; n <= 3; n++) {
		struct want w = { TLS1_3_VERSION, "TLS_AES_256_GCM_SHA384", 0x1302, n };
		struct pair p;
		struct end *e = calloc(1, sizeof(*e));
		SSL *peer;

		take_side(&p, &w, REC_SERVER, e, &peer);
		assert_int_equal(e->r.wr.seq, (uint64_t)n);
		exchange(e, peer);
		key_updates(e, peer);
		exchange(e, peer);
		rec_free(&e->r);
		free(e);
		pair_free(&p);
	}
}

/* A resumed session (a ticket of the first handshake) is taken over too:
 * TLS 1.3 PSK with ECDHE, where the server sends a new ticket, and TLS 1.2's
 * abbreviated handshake with the session's master secret. */
static void resumed(const struct want *w)
{
	struct pair p1, p2;
	struct end *e = calloc(1, sizeof(*e));
	SSL_SESSION *sess;
	SSL *peer;
	char err[ERRLEN];

	take_side(&p1, w, REC_SERVER, e, &peer);
	exchange(e, peer);              /* the client reads its tickets */
	sess = SSL_get1_session(peer);
	assert_non_null(sess);
	assert_true(SSL_SESSION_is_resumable(sess));
	rec_free(&e->r);
	memset(e, 0, sizeof(*e));
	memset(&p2, 0, sizeof(p2));
	p2.sctx = p1.sctx;
	p2.cctx = p1.cctx;
	SSL_CTX_up_ref(p2.sctx);
	SSL_CTX_up_ref(p2.cctx);
	resume_with = sess;
	handshake(&p2, w);
	resume_with = NULL;
	assert_true(SSL_session_reused(p2.s));
	if (rec_take(p2.s, REC_SERVER, &e->r, err) != 0)
		fail_msg("rec_take of a resumed session: %s", err);
	e->fd = p2.fd[0];
	SSL_free(p2.s);
	p2.s = NULL;
	exchange(e, p2.c);
	close_both_ways(e, p2.c);
	rec_free(&e->r);
	free(e);
	SSL_SESSION_free(sess);
	pair_free(&p1);
	pair_free(&p2);
}

static void test_resumed_taken_over(void **state)
{
	resumed(&(struct want){ TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256", 0x1301, 1 });
	resumed(&(struct want){ TLS1_3_VERSION, "TLS_AES_256_GCM_SHA384", 0x1302, 2 });
	resumed(&(struct want){ TLS1_2_VERSION, "ECDHE-RSA-AES128-GCM-SHA256", 0xC02F, 0 });
	resumed(&(struct want){ TLS1_2_VERSION, "NULL-SHA256:@SECLEVEL=0", 0x003B, 0 });
}

/* The client's data right behind its Finished stays in the socket, not in
 * OpenSSL: the server takes over and reads it itself. */
static void test_data_right_behind_finished(void **state)
{
	static const char post[] = "POST /IPHTTPS HTTP/1.1\r\nHost: x\r\nContent-Length: 18446744073709551615\r\n\r\n";
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
		struct pair p;
		struct end *e = calloc(1, sizeof(*e));
		SSL *peer;
		early_write = post;
		take_side(&p, &suites[i], REC_SERVER, e, &peer);
		early_write = NULL;
		assert_int_equal(receive(e, (const uint8_t *)post, strlen(post)), REC_DATA);
		rec_free(&e->r);
		free(e);
		pair_free(&p);
	}
}

/* ---- what stays with OpenSSL ---- */

static void refused(const struct want *w, const char *why, int buffered)
{
	struct pair p;
	struct rec r;
	char err[ERRLEN], buf[8];

	memset(&p, 0, sizeof(p));
	handshake(&p, w);
	if (buffered) {
		assert_int_equal(SSL_write(p.c, "abcdef", 6), 6);
		assert_int_equal(SSL_read(p.s, buf, 1), 1);   /* five bytes left inside OpenSSL */
	}
	assert_int_equal(rec_take(p.s, REC_SERVER, &r, err), -1);
	assert_non_null(strstr(err, why));
	/* and OpenSSL carries on */
	assert_int_equal(SSL_write(p.c, "xyz", 3), 3);
	assert_int_equal(SSL_read(p.s, buf, sizeof(buf)), buffered ? 5 : 3);
	assert_int_equal(SSL_write(p.s, "pong", 4), 4);
	assert_int_equal(SSL_read(p.c, buf, sizeof(buf)), 4);
	pair_free(&p);
}

static void test_not_taken_over(void **state)
{
	refused(&(struct want){ TLS1_3_VERSION, "TLS_CHACHA20_POLY1305_SHA256", 0x1303, 0 }, "not taken over", 0);
	refused(&(struct want){ TLS1_2_VERSION, "ECDHE-RSA-CHACHA20-POLY1305", 0xCCA8, 0 }, "not taken over", 0);
	refused(&(struct want){ TLS1_2_VERSION, "ECDHE-RSA-AES128-SHA", 0xC013, 0 }, "not taken over", 0);
	refused(&(struct want){ TLS1_2_VERSION, "AES128-GCM-SHA256", 0x009C, 0 }, "not yet read", 1);
}

/* ---- hostile records, made with EVP here ---- */

/* A TLS 1.3 record with the client's RFC 8448 keys at sequence seq: inner
 * plaintext content || type || zeros, into out; its length. */
static size_t craft13k(const char *key_hex, const char *iv_hex, uint64_t seq, const uint8_t *content, size_t n,
		       uint8_t type, size_t zeros, uint8_t *out)
{
	uint8_t k[16], iv[12], *inner = calloc(1, n + 1 + zeros);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	size_t len = n + 1 + zeros + 16;
	int l;

	unhex(key_hex, k);
	unhex(iv_hex, iv);
	for (int i = 0; i < 8; i++)
		iv[4 + i] ^= (uint8_t)(seq >> (56 - 8 * i));
	if (n)
		memcpy(inner, content, n);
	inner[n] = type;
	out[0] = 23;
	out[1] = 3;
	out[2] = 3;
	out[3] = (uint8_t)(len >> 8);
	out[4] = (uint8_t)len;
	assert_true(EVP_EncryptInit_ex2(ctx, EVP_aes_128_gcm(), k, iv, NULL));
	assert_true(EVP_EncryptUpdate(ctx, NULL, &l, out, 5));
	assert_true(EVP_EncryptUpdate(ctx, out + 5, &l, inner, (int)(n + 1 + zeros)));
	assert_true(EVP_EncryptFinal_ex(ctx, out + 5 + l, &l));
	assert_true(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, out + 5 + len - 16));
	EVP_CIPHER_CTX_free(ctx);
	free(inner);
	return 5 + len;
}

static size_t craft13(uint64_t seq, const uint8_t *content, size_t n, uint8_t type, size_t zeros, uint8_t *out)
{
	return craft13k(c_key, c_iv, seq, content, n, type, zeros, out);
}

/* Feeds one record to a fresh server layer; the result and our alert. */
static enum rec_result feed13(const uint8_t *rec, size_t n, uint8_t *alert, struct rec_span *sp)
{
	struct rec s;
	size_t used;
	enum rec_result rc;
	uint8_t *copy = malloc(n);

	memcpy(copy, rec, n);
	rfc8448_rec(&s, REC_SERVER);
	rc = rec_open(&s, copy, n, &used, sp);
	*alert = s.alert;
	if (rc == REC_FATAL) {
		size_t ol;
		assert_non_null(rec_output(&s, &ol));         /* the alert waits for the peer */
		assert_int_equal(s.state, REC_FAILED);
	}
	if (rc == REC_ALERT)
		*alert = s.peer_alert;
	rec_free(&s);
	free(copy);
	return rc;
}

static void test_hostile13(void **state)
{
	uint8_t rec[17000 + 64], a = 0, big[REC_MAX_PLAIN + 2] = { 0 };
	struct rec_span sp;
	size_t n;

	n = craft13(0, (const uint8_t *)"hi", 2, 23, 10, rec);                 /* padding is fine */
	assert_int_equal(feed13(rec, n, &a, &sp), REC_DATA);
	assert_int_equal(sp.n, 2);
	rec[7] ^= 1;
	assert_int_equal(feed13(rec, n, &a, &sp), REC_FATAL);                  /* a flipped bit */
	assert_int_equal(a, REC_AD_BAD_RECORD_MAC);
	n = craft13(1, (const uint8_t *)"hi", 2, 23, 0, rec);                  /* a replayed/skipped sequence */
	assert_int_equal(feed13(rec, n, &a, &sp), REC_FATAL);
	assert_int_equal(a, REC_AD_BAD_RECORD_MAC);
	n = craft13(0, NULL, 0, 0, 5, rec);                                    /* all zeros: no type */
	assert_int_equal(feed13(rec, n, &a, &sp), REC_FATAL);
	assert_int_equal(a, REC_AD_UNEXPECTED_MESSAGE);
	n = craft13(0, (const uint8_t *)"x", 1, 99, 0, rec);                   /* unknown type */
	assert_int_equal(feed13(rec, n, &a, &sp), REC_FATAL);
	assert_int_equal(a, REC_AD_UNEXPECTED_MESSAGE);
	n = craft13(0, (const uint8_t *)"\x01\x00\x00\x00", 4, 22, 0, rec);   /* a ClientHello */
	assert_int_equal(feed13(rec, n, &a, &sp), REC_FATAL);
	assert_int_equal(a, REC_AD_UNEXPECTED_MESSAGE);
	n = craft13(0, (const uint8_t *)"\x04\x00\x00\x00", 4, 22, 0, rec);   /* a ticket, to a server */
	assert_int_equal(feed13(rec, n, &a, &sp), REC_FATAL);
	n = craft13(0, (const uint8_t *)"\x18\x00\x00\x01\x02", 5, 22, 0, rec); /* KeyUpdate 2 */
	assert_int_equal(feed13(rec, n, &a, &sp), REC_FATAL);
	assert_int_equal(a, REC_AD_ILLEGAL_PARAMETER);
	n = craft13(0, (const uint8_t *)"\x18\x00\x00\x02\x00\x00", 6, 22, 0, rec);
	assert_int_equal(feed13(rec, n, &a, &sp), REC_FATAL);
	assert_int_equal(a, REC_AD_DECODE_ERROR);
	n = craft13(0, (const uint8_t *)"\x18\x00\x00\x01\x00\x18\x00", 7, 22, 0, rec); /* not at the end */
	assert_int_equal(feed13(rec, n, &a, &sp), REC_FATAL);
	assert_int_equal(a, REC_AD_UNEXPECTED_MESSAGE);
	n = craft13(0, NULL, 0, 22, 0, rec);                                   /* empty handshake */
	assert_int_equal(feed13(rec, n, &a, &sp), REC_FATAL);
	n = craft13(0, (const uint8_t *)"\x02\x00\x00", 3, 21, 0, rec);         /* alert of 3 bytes */
	assert_int_equal(feed13(rec, n, &a, &sp), REC_FATAL);
	assert_int_equal(a, REC_AD_DECODE_ERROR);
	n = craft13(0, (const uint8_t *)"\x02\x28", 2, 21, 0, rec);             /* the peer's handshake_failure */
	assert_int_equal(feed13(rec, n, &a, &sp), REC_ALERT);
	assert_int_equal(a, 40);
	n = craft13(0, (const uint8_t *)"\x01\x5a", 2, 21, 0, rec);             /* user_canceled: go on */
	assert_int_equal(feed13(rec, n, &a, &sp), REC_NEED_MORE);
	n = craft13(0, (const uint8_t *)"\x01\x00", 2, 21, 0, rec);             /* close_notify */
	assert_int_equal(feed13(rec, n, &a, &sp), REC_CLOSE);
	n = craft13(0, big, REC_MAX_PLAIN + 1, 23, 0, rec);                    /* plaintext 2^14 + 1 */
	assert_int_equal(feed13(rec, n, &a, &sp), REC_FATAL);
	assert_int_equal(a, REC_AD_RECORD_OVERFLOW);
	n = craft13(0, big, 100, 23, 257 - 100 + REC_MAX_PLAIN - 17, rec);      /* inner 2^14 + 241: overflow after decrypt */
	assert_int_equal(feed13(rec, n, &a, &sp), REC_FATAL);
	assert_int_equal(a, REC_AD_RECORD_OVERFLOW);
	n = craft13(0, (const uint8_t *)"hi", 2, 23, 0, rec);
	rec[0] = 20;                                                           /* CCS after the handshake */
	assert_int_equal(feed13(rec, n, &a, &sp), REC_FATAL);
	assert_int_equal(a, REC_AD_UNEXPECTED_MESSAGE);
	memcpy(rec, "\x17\x03\x03\x00\x05zzzzz", 10);                          /* shorter than a tag */
	assert_int_equal(feed13(rec, 10, &a, &sp), REC_FATAL);
	assert_int_equal(a, REC_AD_BAD_RECORD_MAC);
}

/* Post-handshake messages cut across records: a KeyUpdate to the server,
 * a ticket to the client; reassembled, then the buffer is gone. */
static void test_handshake_messages_across_records(void **state)
{
	uint8_t rec[200], ticket[60] = { 4, 0, 0, 56 };
	struct rec s, c;
	struct rec_span sp;
	size_t n, used, ol;

	rfc8448_rec(&s, REC_SERVER);
	n = craft13(0, (const uint8_t *)"\x18\x00", 2, 22, 0, rec);
	n += craft13(1, (const uint8_t *)"\x00\x01\x01", 3, 22, 0, rec + n);   /* update_requested */
	assert_int_equal(rec_open(&s, rec, n, &used, &sp), REC_NEED_MORE);
	assert_int_equal(used, n);
	assert_int_equal(s.key_updates_in, 1);
	assert_int_equal(s.key_updates_out, 1);
	assert_int_equal(s.rd.seq, 0);                      /* new read keys */
	assert_int_equal(s.wr.seq, 0);                      /* and new write keys after our answer */
	assert_non_null(rec_output(&s, &ol));
	assert_int_equal(ol, 5 + 5 + 1 + 16);
	assert_null(s.hs);
	rec_free(&s);

	/* A message interrupted by data is an error. */
	rfc8448_rec(&s, REC_SERVER);
	n = craft13(0, (const uint8_t *)"\x18\x00", 2, 22, 0, rec);
	n += craft13(1, (const uint8_t *)"data", 4, 23, 0, rec + n);
	assert_int_equal(rec_open(&s, rec, n, &used, &sp), REC_FATAL);
	assert_int_equal(s.alert, REC_AD_UNEXPECTED_MESSAGE);
	rec_free(&s);

	/* A ticket in three records, then data: the client drops the ticket. */
	rfc8448_rec(&c, REC_CLIENT);
	n = craft13k(s_key, s_iv, 0, ticket, 3, 22, 0, rec);
	n += craft13k(s_key, s_iv, 1, ticket + 3, 30, 22, 0, rec + n);
	n += craft13k(s_key, s_iv, 2, ticket + 33, 27, 22, 0, rec + n);
	n += craft13k(s_key, s_iv, 3, (const uint8_t *)"after", 5, 23, 0, rec + n);
	assert_int_equal(rec_open(&c, rec, n, &used, &sp), REC_DATA);
	assert_int_equal(sp.n, 5);
	assert_null(c.hs);
	rec_free(&c);
}

/* A record longer than the limit is refused from its header alone. */
static void test_too_long_refused_from_header(void **state)
{
	uint8_t hdr[5] = { 23, 3, 3, (uint8_t)((REC_MAX_CIPHER13 + 1) >> 8), (uint8_t)(REC_MAX_CIPHER13 + 1) };
	struct rec s;
	struct rec_span sp;
	size_t used;

	rfc8448_rec(&s, REC_SERVER);
	assert_int_equal(rec_open(&s, hdr, 3, &used, &sp), REC_NEED_MORE);
	assert_int_equal(rec_open(&s, hdr + 3, 2, &used, &sp), REC_FATAL);
	assert_int_equal(s.alert, REC_AD_RECORD_OVERFLOW);
	assert_null(s.part);                                                   /* nothing was buffered for it */
	rec_free(&s);
}

/* TLS 1.2 NULL-SHA256 between two of our layers, with crafted content. */
static void pair12(struct rec *s, struct rec *c)
{
	uint8_t m[48], cr[32], sr[32];
	char err[ERRLEN];

	memset(m, 1, 48);
	memset(cr, 2, 32);
	memset(sr, 3, 32);
	assert_int_equal(rec_init_tls12(s, REC_SERVER, 0x003B, 0x0303, m, cr, sr, "SHA256", err), 0);
	assert_int_equal(rec_init_tls12(c, REC_CLIENT, 0x003B, 0x0303, m, cr, sr, "SHA256", err), 0);
}

static void test_hostile12(void **state)
{
	struct rec s, c;
	uint8_t buf[256];
	struct rec_span sp;
	size_t used, n;

	/* Renegotiation: the client's ClientHello (sealed by the client's
	 * layer as if data, then its type changed and the MAC redone by
	 * sealing the right type through the alert path is not possible:
	 * so the record is made by hand, MAC and all, with the client's keys). */
	pair12(&s, &c);
	{
		uint8_t aad[13] = { 0, 0, 0, 0, 0, 0, 0, 1, 22, 3, 3, 0, 4 }, mac[32];
		size_t ml = 32;
		EVP_MAC *h = EVP_MAC_fetch(NULL, "HMAC", NULL);
		EVP_MAC_CTX *m = EVP_MAC_CTX_new(h);
		OSSL_PARAM p[] = { OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0), OSSL_PARAM_construct_end() };
		assert_true(EVP_MAC_init(m, c.wr.key, 32, p));
		EVP_MAC_update(m, aad, 13);
		EVP_MAC_update(m, (const uint8_t *)"\x01\x00\x00\x00", 4);
		EVP_MAC_final(m, mac, &ml, 32);
		EVP_MAC_CTX_free(m);
		EVP_MAC_free(h);
		memcpy(buf, "\x16\x03\x03\x00\x24\x01\x00\x00\x00", 9);
		memcpy(buf + 9, mac, 32);
		assert_int_equal(rec_open(&s, buf, 41, &used, &sp), REC_FATAL);
		assert_int_equal(s.alert, REC_AD_NO_RENEGOTIATION);
		const uint8_t *o = rec_output(&s, &n);
		assert_non_null(o);
		assert_int_equal(o[0], 21);
		assert_int_equal(o[5], 1);                                    /* a warning, as RFC 5246 says */
		assert_int_equal(rec_open(&c, (uint8_t *)o, n, &used, &sp), REC_NEED_MORE);   /* the client goes on */
	}
	rec_free(&s);
	rec_free(&c);

	/* Wrong record version, a flipped MAC, a record too long, seq wrap. */
	pair12(&s, &c);
	n = (size_t)rec_seal(&c, &(struct iovec){ "data", 4 }, 1, 0, buf, sizeof(buf));
	buf[2] = 1;
	assert_int_equal(rec_open(&s, buf, n, &used, &sp), REC_FATAL);
	assert_int_equal(s.alert, REC_AD_PROTOCOL_VERSION);
	rec_free(&s);
	rec_free(&c);
	pair12(&s, &c);
	n = (size_t)rec_seal(&c, &(struct iovec){ "data", 4 }, 1, 0, buf, sizeof(buf));
	buf[n - 1] ^= 0x80;
	assert_int_equal(rec_open(&s, buf, n, &used, &sp), REC_FATAL);
	assert_int_equal(s.alert, REC_AD_BAD_RECORD_MAC);
	rec_free(&s);
	rec_free(&c);
	pair12(&s, &c);
	memcpy(buf, "\x17\x03\x03\x40\x21", 5);                               /* 2^14 + 33 */
	assert_int_equal(rec_open(&s, buf, 5, &used, &sp), REC_FATAL);
	assert_int_equal(s.alert, REC_AD_RECORD_OVERFLOW);
	rec_free(&s);
	pair12(&s, &c);
	c.wr.seq = UINT64_MAX;
	assert_int_equal(rec_seal(&c, &(struct iovec){ "data", 4 }, 1, 0, buf, sizeof(buf)), -1);
	assert_int_equal(c.state, REC_FAILED);
	s.rd.seq = UINT64_MAX;
	memcpy(buf, "\x17\x03\x03\x00\x20", 5);
	assert_int_equal(rec_open(&s, buf, 37, &used, &sp), REC_FATAL);
	rec_free(&s);
	rec_free(&c);
}

/* A TLS 1.2 NULL-SHA256 record made by hand with the MAC key (to the
 * peer of whoever holds key); its length. */
static size_t craft12(const uint8_t mkey[32], uint64_t seq, uint8_t type, const uint8_t *p, size_t n, uint8_t *out)
{
	uint8_t aad[13] = { 0 };
	size_t ml = 32;
	EVP_MAC *h = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *m = EVP_MAC_CTX_new(h);
	OSSL_PARAM prm[] = { OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0), OSSL_PARAM_construct_end() };

	for (int i = 0; i < 8; i++)
		aad[i] = (uint8_t)(seq >> (56 - 8 * i));
	aad[8] = type;
	aad[9] = 3;
	aad[10] = 3;
	aad[11] = (uint8_t)(n >> 8);
	aad[12] = (uint8_t)n;
	assert_true(EVP_MAC_init(m, mkey, 32, prm) && EVP_MAC_update(m, aad, 13) && EVP_MAC_update(m, p, n));
	memcpy(out, aad + 8, 3);
	out[3] = (uint8_t)((n + 32) >> 8);
	out[4] = (uint8_t)(n + 32);
	memcpy(out + 5, p, n);
	assert_true(EVP_MAC_final(m, out + 5 + n, &ml, 32));
	EVP_MAC_CTX_free(m);
	EVP_MAC_free(h);
	return 5 + n + 32;
}

/* HelloRequest to a client is ignored, a TLS 1.2 warning alert goes on, a
 * fatal one ends, data still flows in between. */
static void test_tls12_warnings_and_hello_request(void **state)
{
	struct rec s, c;
	uint8_t buf[512];
	struct rec_span sp;
	size_t used, n;

	pair12(&s, &c);
	n = craft12(s.wr.key, 1, 22, (const uint8_t *)"\0\0\0\0\0\0\0\0", 8, buf);  /* two HelloRequests */
	n += craft12(s.wr.key, 2, 21, (const uint8_t *)"\x01\x64", 2, buf + n);      /* warning no_renegotiation */
	n += craft12(s.wr.key, 3, 23, (const uint8_t *)"after", 5, buf + n);
	assert_int_equal(rec_open(&c, buf, n, &used, &sp), REC_DATA);
	assert_int_equal(sp.n, 5);
	assert_memory_equal(sp.p, "after", 5);
	assert_int_equal(used, n);
	n = craft12(s.wr.key, 4, 22, (const uint8_t *)"\x0b\0\0\0", 4, buf);         /* a Certificate */
	assert_int_equal(rec_open(&c, buf, n, &used, &sp), REC_FATAL);
	assert_int_equal(c.alert, REC_AD_UNEXPECTED_MESSAGE);
	rec_free(&c);
	pair12(&s, &c);
	n = craft12(s.wr.key, 1, 21, (const uint8_t *)"\x02\x28", 2, buf);           /* fatal handshake_failure */
	assert_int_equal(rec_open(&c, buf, n, &used, &sp), REC_ALERT);
	assert_int_equal(c.peer_alert, 40);
	n = craft12(s.wr.key, 2, 21, (const uint8_t *)"\x03\x00", 2, buf);
	assert_int_equal(rec_open(&c, buf, n, &used, &sp), REC_ALERT);          /* over: stays so */
	rec_free(&c);
	/* a server does not ignore a HelloRequest */
	pair12(&s, &c);
	n = craft12(c.wr.key, 1, 22, (const uint8_t *)"\0\0\0\0", 4, buf);
	assert_int_equal(rec_open(&s, buf, n, &used, &sp), REC_FATAL);
	assert_int_equal(s.alert, REC_AD_UNEXPECTED_MESSAGE);
	rec_free(&s);
	rec_free(&c);
}

/* ---- memory ---- */

static void test_idle_memory(void **state)
{
#if defined(__SANITIZE_ADDRESS__)
	skip();         /* ASan's allocator keeps its own books */
#else
	enum { N = 500 };       /* a fixed residue of the process is spread over N */
	struct want w = { TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256", 0x1301, 0 };
	struct pair *p = calloc(N, sizeof(*p));
	struct rec *r = calloc(N, sizeof(*r));
	char err[ERRLEN];
	size_t h0, h1, h2;
	uint8_t buf[64];

	SSL_CTX *sctx = make_ctx(&w, 1), *cctx = make_ctx(&w, 0);

	malloc_trim(0);
	h0 = mallinfo2().uordblks;
	for (int i = 0; i < N; i++) {
		p[i].sctx = sctx;       /* one context per side, as a server has */
		p[i].cctx = cctx;
		SSL_CTX_up_ref(sctx);
		SSL_CTX_up_ref(cctx);
		handshake(&p[i], &w);
		SSL_free(p[i].c);       /* only the server's side is counted */
		p[i].c = NULL;
	}
	h1 = mallinfo2().uordblks;
	for (int i = 0; i < N; i++) {
		assert_int_equal(rec_take(p[i].s, REC_SERVER, &r[i], err), 0);
		SSL_free(p[i].s);
		p[i].s = NULL;
		/* a burst, then idle */
		assert_true(rec_seal(&r[i], &(struct iovec){ "burst", 5 }, 1, 0, buf, sizeof(buf)) > 0);
		rec_idle(&r[i]);
		assert_true(!r[i].rd.ctx && !r[i].wr.ctx && !r[i].part && !r[i].hs && !r[i].out);
	}
	h2 = mallinfo2().uordblks;
	printf("idle connection, server side: with OpenSSL %zu bytes of heap; taken over %zu bytes "
	       "(struct rec %zu + heap %zd)\n", (h1 - h0) / N, sizeof(struct rec) + (h2 > h0 ? (h2 - h0) / N : 0),
	       sizeof(struct rec), (ssize_t)(h2 - h0) / N);
	/* The contexts' and the SSL_CTX's own memory came in h1 - h0 too: the
	 * comparison is conservative for OpenSSL. */
	assert_true(sizeof(struct rec) + (h2 > h0 ? (h2 - h0) / N : 0) < 1024);
	for (int i = 0; i < N; i++) {
		rec_free(&r[i]);
		pair_free(&p[i]);
	}
	SSL_CTX_free(sctx);
	SSL_CTX_free(cctx);
	free(p);
	free(r);
#endif
}

/* ---- a real openssl s_client ---- */

struct sclient {
	pid_t pid;
	int in, out;            /* its stdin (we write), its stdout (we read) */
	char seen[65536];
	size_t seen_len, mark;  /* text before mark was matched already */
};

static void sclient_start(struct sclient *sc, int port, const char *const *extra)
{
	int i0[2], o0[2];
	char portarg[32];
	const char *argv[16] = { "openssl", "s_client", "-connect", portarg, "-no_ign_eof" };
	int a = 5;

	snprintf(portarg, sizeof(portarg), "127.0.0.1:%d", port);
	for (int i = 0; extra[i]; i++)
		argv[a++] = extra[i];
	assert_int_equal(pipe(i0), 0);
	assert_int_equal(pipe(o0), 0);
	sc->pid = fork();
	assert_true(sc->pid >= 0);
	if (sc->pid == 0) {
		dup2(i0[0], 0);
		dup2(o0[1], 1);
		dup2(o0[1], 2);
		execvp("openssl", (char *const *)argv);
		_exit(127);
	}
	close(i0[0]);
	close(o0[1]);
	sc->in = i0[1];
	sc->out = o0[0];
	sc->seen_len = sc->mark = 0;
}

/* Waits (bounded) for text in s_client's output. */
static int sclient_saw(struct sclient *sc, const char *text)
{
	uint64_t end = now_ms() + 15000;

	while (now_ms() < end) {
		sc->seen[sc->seen_len] = '\0';
		char *at = strstr(sc->seen + sc->mark, text);
		if (at) {
			sc->mark = (size_t)(at - sc->seen) + strlen(text);
			return 1;
		}
		struct pollfd p = { sc->out, POLLIN, 0 };
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t n = read(sc->out, sc->seen + sc->seen_len, sizeof(sc->seen) - 1 - sc->seen_len);
		if (n <= 0)
			return 0;
		sc->seen_len += (size_t)n;
	}
	return 0;
}

static void sclient_say(struct sclient *sc, const char *line)
{
	assert_int_equal(write(sc->in, line, strlen(line)), (ssize_t)strlen(line));
}

static int listen_local(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* Our server takes over after the handshake with s_client; s_client's
 * lines arrive, its k and K commands update keys, our data is printed by
 * it, Q ends with close_notify. */
static void with_sclient(const struct want *w, const char *const *extra, int v13)
{
	struct end *e = calloc(1, sizeof(*e));
	struct sclient sc;
	SSL_CTX *ctx = make_ctx(w, 1);
	char err[ERRLEN];
	int port, lfd = listen_local(&port), st;
	SSL *ssl;

	sclient_start(&sc, port, extra);
	e->fd = accept(lfd, NULL, NULL);
	assert_true(e->fd >= 0);
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, e->fd);
	assert_int_equal(SSL_accept(ssl), 1);
	if (rec_take(ssl, REC_SERVER, &e->r, err) != 0)
		fail_msg("rec_take: %s", err);
	SSL_free(ssl);
	e->seed = 7;

	sclient_say(&sc, "hello one\n");
	assert_int_equal(receive(e, (const uint8_t *)"hello one\n", 10), REC_DATA);
	send_sealed(e, (const uint8_t *)"pong one\n", 9, 0);
	assert_true(sclient_saw(&sc, "pong one"));
	if (v13) {
		sclient_say(&sc, "K\n");                        /* KeyUpdate, update_requested */
		assert_true(sclient_saw(&sc, "KEYUPDATE"));     /* a line read alone is a command */
		sclient_say(&sc, "hello two\n");
		assert_int_equal(receive(e, (const uint8_t *)"hello two\n", 10), REC_DATA);
		assert_int_equal(e->r.key_updates_in, 1);
		assert_int_equal(e->r.key_updates_out, 1);
		send_sealed(e, (const uint8_t *)"pong two\n", 9, 0);
		assert_true(sclient_saw(&sc, "pong two"));
		sclient_say(&sc, "k\n");                        /* KeyUpdate, not requested */
		assert_true(sclient_saw(&sc, "KEYUPDATE"));
		sclient_say(&sc, "hello three\n");
		assert_int_equal(receive(e, (const uint8_t *)"hello three\n", 12), REC_DATA);
		assert_int_equal(e->r.key_updates_in, 2);
		assert_int_equal(e->r.key_updates_out, 1);
		send_sealed(e, (const uint8_t *)"pong three\n", 11, 0);
		assert_true(sclient_saw(&sc, "pong three"));
	}
	sclient_say(&sc, "Q\n");
	assert_int_equal(receive(e, NULL, 0), REC_CLOSE);
	close(sc.in);
	assert_int_equal(waitpid(sc.pid, &st, 0), sc.pid);
	close(sc.out);
	close(e->fd);
	close(lfd);
	rec_free(&e->r);
	free(e);
	SSL_CTX_free(ctx);
}

static void test_openssl_s_client(void **state)
{
	static const char *const t13[] = { "-tls1_3", "-ciphersuites", "TLS_AES_256_GCM_SHA384", NULL };
	static const char *const null[] = { "-tls1_2", "-cipher", "NULL-SHA256:@SECLEVEL=0", NULL };

	if (system("openssl version >/dev/null 2>&1") != 0)
		skip();
	with_sclient(&(struct want){ TLS1_3_VERSION, "TLS_AES_256_GCM_SHA384", 0x1302, 0 }, t13, 1);
	with_sclient(&(struct want){ TLS1_2_VERSION, "NULL-SHA256:@SECLEVEL=0", 0x003B, 0 }, null, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc8448_vectors),
		cmocka_unit_test(test_interop_server),
		cmocka_unit_test(test_interop_client),
		cmocka_unit_test(test_client_ignores_tickets),
		cmocka_unit_test(test_server_sent_tickets),
		cmocka_unit_test(test_resumed_taken_over),
		cmocka_unit_test(test_data_right_behind_finished),
		cmocka_unit_test(test_not_taken_over),
		cmocka_unit_test(test_hostile13),
		cmocka_unit_test(test_too_long_refused_from_header),
		cmocka_unit_test(test_handshake_messages_across_records),
		cmocka_unit_test(test_hostile12),
		cmocka_unit_test(test_tls12_warnings_and_hello_request),
		cmocka_unit_test(test_idle_memory),
		cmocka_unit_test(test_openssl_s_client),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, make_cert, free_cert);
}
