/* libFuzzer harness for the record opener (src/tls/record.c) after real
 * handshakes.
 *
 * At start: real OpenSSL handshakes over socketpairs (TLS 1.3 AES-128-GCM
 * and AES-256-GCM, TLS 1.2 ECDHE-RSA-AES128-GCM and NULL-SHA256), both
 * ends taken over; their layers are the templates.  Input: a byte choosing
 * a template, a byte choosing how to cut the rest, then arbitrary bytes fed
 * to rec_open in those pieces.  The keys were never seen by the fuzzer, so
 * every record is a forgery: the opener may only ask for more or fail with
 * an alert queued for the peer; it must never hand over data, a close or a
 * peer alert, never crash, never leak (ASan). */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "tls/record.h"

#define NT 8
static struct rec templates[NT];
static int ready;

static X509 *self_signed(EVP_PKEY *k)
{
	X509 *c = X509_new();

	ASN1_INTEGER_set(X509_get_serialNumber(c), 1);
	X509_gmtime_adj(X509_getm_notBefore(c), -3600);
	X509_gmtime_adj(X509_getm_notAfter(c), 3600);
	X509_set_pubkey(c, k);
	X509_set_issuer_name(c, X509_get_subject_name(c));
	X509_sign(c, k, EVP_sha256());
	return c;
}

static SSL_CTX *ctx_for(int server, int v13, const char *suites, X509 *c, EVP_PKEY *k)
{
	SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	char err[ERRLEN];

	SSL_CTX_set_min_proto_version(ctx, v13 ? TLS1_3_VERSION : TLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(ctx, v13 ? TLS1_3_VERSION : TLS1_2_VERSION);
	if (v13)
		SSL_CTX_set_ciphersuites(ctx, suites);
	else
		SSL_CTX_set_cipher_list(ctx, suites);
	if (server) {
		SSL_CTX_use_certificate(ctx, c);
		SSL_CTX_use_PrivateKey(ctx, k);
		SSL_CTX_set_num_tickets(ctx, 0);
	}
	if (rec_ctx_prepare(ctx, err) < 0)
		abort();
	return ctx;
}

/* One handshake; both ends taken over into t[0] (server) and t[1]. */
static void take_pair(int v13, const char *suites, X509 *c, EVP_PKEY *k, struct rec *t)
{
	SSL_CTX *sc = ctx_for(1, v13, suites, c, k), *cc = ctx_for(0, v13, suites, c, k);
	SSL *s = SSL_new(sc), *cl = SSL_new(cc);
	char err[ERRLEN];
	int fd[2], sd = 0, cd = 0;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fd) < 0)
		abort();
	SSL_set_fd(s, fd[0]);
	SSL_set_fd(cl, fd[1]);
	for (int i = 0; i < 1000 && (!sd || !cd); i++) {
		cd = cd || SSL_connect(cl) == 1;
		sd = sd || SSL_accept(s) == 1;
	}
	if (!sd || !cd || rec_take(s, REC_SERVER, &t[0], err) < 0 || rec_take(cl, REC_CLIENT, &t[1], err) < 0) {
		fprintf(stderr, "fuzz_record_open: handshake (%s): %s\n", suites, err);
		abort();
	}
	SSL_free(s);
	SSL_free(cl);
	SSL_CTX_free(sc);
	SSL_CTX_free(cc);
	close(fd[0]);
	close(fd[1]);
}

static void setup(void)
{
	EVP_PKEY *k = EVP_RSA_gen(2048);
	X509 *c = self_signed(k);

	take_pair(1, "TLS_AES_128_GCM_SHA256", c, k, &templates[0]);
	take_pair(1, "TLS_AES_256_GCM_SHA384", c, k, &templates[2]);
	take_pair(0, "ECDHE-RSA-AES128-GCM-SHA256", c, k, &templates[4]);
	take_pair(0, "NULL-SHA256:@SECLEVEL=0", c, k, &templates[6]);
	X509_free(c);
	EVP_PKEY_free(k);
	ready = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rec r;
	struct rec_span sp;
	enum rec_result rc = REC_NEED_MORE;
	uint8_t *buf;
	size_t pos = 2, used, piece, len;

	if (!ready)
		setup();
	if (size < 2)
		return 0;
	r = templates[data[0] % NT];            /* keys only: no pointer is shared */
	len = size - 2;
	buf = malloc(len + 1);
	memcpy(buf, data + 2, len);
	pos = 0;
	while (pos < len && rc == REC_NEED_MORE) {
		piece = 1 + (data[1] * (pos + 1)) % (len - pos);
		rc = rec_open(&r, buf + pos, piece, &used, &sp);
		assert(used <= piece);
		pos += used;
		if (data[1] & 1)
			rec_idle(&r);
	}
	assert(rc == REC_NEED_MORE || rc == REC_FATAL);        /* nothing forged gets through */
	if (rc == REC_FATAL) {
		size_t n;
		assert(r.state == REC_FAILED && rec_output(&r, &n) != NULL && n > 0);
		assert(rec_open(&r, buf, len, &used, &sp) == REC_FATAL);   /* and stays failed */
	}
	rec_free(&r);
	free(buf);
	return 0;
}
