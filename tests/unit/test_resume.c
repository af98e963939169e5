/* Session resumption on the server (src/tls/resume.c): real handshakes over
 * socketpairs between tls_server_ctx and tls_client_ctx contexts, with
 * certificates from the PKI in a temporary directory and the clock the
 * ticket keys follow set by the test.
 * - TLS 1.3 and 1.2 tickets resume; --tls-resumption off sends none;
 * - the keys rotate: a ticket of the previous hour resumes (and a new
 *   ticket under the current key comes back), one of two hours ago does not;
 * - contexts made from the same files derive the same keys, also in a
 *   forked process (the workers); another CA, CRL or mode other keys and
 *   a session that does not resume across them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tls/pki.h"
#include "tls/resume.h"
#include "tls/tls.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

static char tmpdir[64];
static struct pki_paths A, B;
static char cert[700], key[700];        /* client1 of A */
static time_t fake_now;

static time_t fake_clock(void)
{
	return fake_now;
}

static int group_setup(void **state)
{
	const char *names[] = { "vpn.example.test" };
	char err[ERRLEN], d[128];
	int created;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/iph-resume-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(d, sizeof(d), "%s/a", tmpdir);
	pki_paths_init(&A, d);
	snprintf(d, sizeof(d), "%s/b", tmpdir);
	pki_paths_init(&B, d);
	if (pki_ensure_server(&A, names, 1, &created, err) < 0 || pki_ensure_server(&B, names, 1, &created, err) < 0 ||
	    pki_issue_client(&A, "client1", cert, key, sizeof(cert), err) < 0) {
		fprintf(stderr, "pki: %s\n", err);
		return -1;
	}
	tls_resume_set_clock(fake_clock);
	fake_now = 1800000000 / RESUME_PERIOD * RESUME_PERIOD + 10;
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[128];

	tls_resume_set_clock(NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A server context of A (mode Certificates unless client_ca is NULL). */
static SSL_CTX *server_ctx(const char *client_ca, int resumption)
{
	struct tls_server_opts o = {
		.cert_file = A.server_cert, .key_file = A.server_key, .client_ca_file = client_ca,
		.resumption = resumption,
	};
	char err[ERRLEN];
	SSL_CTX *c = tls_server_ctx(&o, err);

	if (!c)
		fail_msg("tls_server_ctx: %s", err);
	return c;
}

static SSL_CTX *client_ctx(int version)
{
	struct tls_client_opts o = { .ca_file = A.ca_cert, .cert_file = cert, .key_file = key };
	char err[ERRLEN];
	SSL_CTX *c = tls_client_ctx(&o, err);

	if (!c)
		fail_msg("tls_client_ctx: %s", err);
	SSL_CTX_set_max_proto_version(c, version);
	return c;
}

/* A handshake offering sess (may be NULL), then one byte each way so that
 * the client reads its TLS 1.3 tickets.  Returns 1 when the server
 * resumed, 0 when it made a full handshake; *out the client's session. */
static int connect_once(SSL_CTX *sctx, SSL_CTX *cctx, SSL_SESSION *sess, SSL_SESSION **out)
{
	int fd[2], sdone = 0, cdone = 0, reused, rc;
	SSL *s, *c;
	char b;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fd), 0);
	fcntl(fd[0], F_SETFL, O_NONBLOCK);
	fcntl(fd[1], F_SETFL, O_NONBLOCK);
	s = SSL_new(sctx);
	c = tls_client_ssl(cctx, fd[1], "vpn.example.test", (char[ERRLEN]){ 0 });
	assert_non_null(s);
	assert_non_null(c);
	SSL_set_fd(s, fd[0]);
	if (sess)
		assert_int_equal(SSL_set_session(c, sess), 1);
	for (int i = 0; i < 1000 && (!sdone || !cdone); i++) {
		if (!cdone && (rc = SSL_connect(c)) == 1)
			cdone = 1;
		else if (!cdone && SSL_get_error(c, rc) != SSL_ERROR_WANT_READ)
			fail_msg("client handshake failed");
		if (!sdone && (rc = SSL_accept(s)) == 1)
			sdone = 1;
		else if (!sdone && SSL_get_error(s, rc) != SSL_ERROR_WANT_READ)
			fail_msg("server handshake failed");
	}
	assert_true(sdone && cdone);
	assert_int_equal(SSL_write(s, "x", 1), 1);
	assert_int_equal(SSL_read(c, &b, 1), 1);
	reused = SSL_session_reused(s);
	assert_int_equal(reused, SSL_session_reused(c));
	if (out)
		*out = SSL_get1_session(c);
	/* closed cleanly: OpenSSL marks the session of an SSL freed without
	 * close_notify as not resumable */
	SSL_shutdown(c);
	SSL_shutdown(s);
	SSL_free(s);
	SSL_free(c);
	close(fd[0]);
	close(fd[1]);
	ERR_clear_error();
	return reused;
}

static void versions_resume(int version)
{
	SSL_CTX *s = server_ctx(A.ca_cert, 1), *c = client_ctx(version);
	SSL_SESSION *sess, *next;

	assert_int_equal(connect_once(s, c, NULL, &sess), 0);
	assert_true(SSL_SESSION_is_resumable(sess));
	assert_int_equal(connect_once(s, c, sess, &next), 1);
	SSL_SESSION_free(next);
	SSL_SESSION_free(sess);
	SSL_CTX_free(s);
	SSL_CTX_free(c);
}

static void test_tls13_and_tls12_resume(void **state)
{
	versions_resume(TLS1_3_VERSION);
	versions_resume(TLS1_2_VERSION);
}

static void test_off_sends_no_ticket(void **state)
{
	SSL_CTX *on = server_ctx(A.ca_cert, 1), *off = server_ctx(A.ca_cert, 0), *c = client_ctx(TLS1_3_VERSION);
	SSL_SESSION *sess, *none;
	uint8_t name[16];

	assert_int_equal(connect_once(off, c, NULL, &none), 0);
	assert_false(SSL_SESSION_is_resumable(none));
	assert_int_equal(tls_resume_key_name(off, fake_now, name), -1);
	/* a ticket of the same certificate, CA and mode does not resume on off */
	assert_int_equal(connect_once(on, c, NULL, &sess), 0);
	assert_int_equal(connect_once(off, c, sess, NULL), 0);
	SSL_SESSION_free(sess);
	SSL_SESSION_free(none);
	SSL_CTX_free(on);
	SSL_CTX_free(off);
	SSL_CTX_free(c);
}

/* The ticket's key name: its first 16 bytes (RFC 5077 4's layout, OpenSSL's). */
static int ticket_named(SSL_SESSION *sess, const uint8_t name[16])
{
	const unsigned char *t;
	size_t len;

	SSL_SESSION_get0_ticket(sess, &t, &len);
	return len > 16 && !memcmp(t, name, 16);
}

static void test_keys_rotate(void **state)
{
	SSL_CTX *s = server_ctx(A.ca_cert, 1), *c = client_ctx(TLS1_3_VERSION);
	SSL_SESSION *old, *renewed;
	uint8_t n0[16], n1[16];
	time_t t0 = fake_now;

	assert_int_equal(tls_resume_key_name(s, t0, n0), 0);
	assert_int_equal(tls_resume_key_name(s, t0 + RESUME_PERIOD, n1), 0);
	assert_memory_not_equal(n0, n1, 16);
	assert_int_equal(connect_once(s, c, NULL, &old), 0);
	assert_true(ticket_named(old, n0));
	/* the next hour: the previous key still opens it, a new ticket comes */
	fake_now = t0 + RESUME_PERIOD;
	assert_int_equal(connect_once(s, c, old, &renewed), 1);
	assert_true(ticket_named(renewed, n1));
	/* two hours on: that key is gone */
	fake_now = t0 + 2 * RESUME_PERIOD;
	assert_int_equal(connect_once(s, c, old, NULL), 0);
	assert_int_equal(connect_once(s, c, renewed, NULL), 1);
	fake_now = t0;
	SSL_SESSION_free(old);
	SSL_SESSION_free(renewed);
	SSL_CTX_free(s);
	SSL_CTX_free(c);
}

/* The key name a forked child's context of the same files derives. */
static void child_key_name(uint8_t name[16])
{
	int p[2], st;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		SSL_CTX *s = server_ctx(A.ca_cert, 1);
		uint8_t n[16];
		_exit(tls_resume_key_name(s, fake_now, n) == 0 && write(p[1], n, 16) == 16 ? 0 : 1);
	}
	assert_int_equal(read(p[0], name, 16), 16);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(p[0]);
	close(p[1]);
}

static void test_same_files_same_keys(void **state)
{
	SSL_CTX *s1 = server_ctx(A.ca_cert, 1), *s2 = server_ctx(A.ca_cert, 1);
	SSL_CTX *other_ca = server_ctx(B.ca_cert, 1), *none = server_ctx(NULL, 1);
	SSL_CTX *c = client_ctx(TLS1_3_VERSION);
	uint8_t a[16], b[16], k[16], x[16], y[16];
	SSL_SESSION *sess;

	assert_int_equal(tls_resume_key_name(s1, fake_now, a), 0);
	assert_int_equal(tls_resume_key_name(s2, fake_now, b), 0);
	assert_memory_equal(a, b, 16);
	child_key_name(k);
	assert_memory_equal(a, k, 16);
	assert_int_equal(tls_resume_key_name(other_ca, fake_now, x), 0);
	assert_int_equal(tls_resume_key_name(none, fake_now, y), 0);
	assert_memory_not_equal(a, x, 16);
	assert_memory_not_equal(a, y, 16);
	/* a ticket of s1 resumes on s2 (another worker, a reload that changed
	 * nothing), not in mode None and not with another CA */
	assert_int_equal(connect_once(s1, c, NULL, &sess), 0);
	assert_int_equal(connect_once(s2, c, sess, NULL), 1);
	assert_int_equal(connect_once(none, c, sess, NULL), 0);
	SSL_SESSION_free(sess);
	SSL_CTX_free(s1);
	SSL_CTX_free(s2);
	SSL_CTX_free(other_ca);
	SSL_CTX_free(none);
	SSL_CTX_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tls13_and_tls12_resume),
		cmocka_unit_test(test_off_sends_no_ticket),
		cmocka_unit_test(test_keys_rotate),
		cmocka_unit_test(test_same_files_same_keys),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
