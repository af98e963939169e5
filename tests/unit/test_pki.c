/* Unit tests of the embedded-defaults PKI (src/tls/pki.c) and of
 * `iphttps issue-client` (src/cli/cmd_issue_client.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "cli/commands.h"
#include "tls/certcheck.h"
#include "tls/pki.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

static char tmpdir[64];
static struct pki_paths P;      /* one generated state dir shared by the tests */
static const char *const NAMES[] = { "vpn.example.test", "alt.example.test", "192.0.2.7", "2001:db8::7" };

/* Read a whole file into a malloc'd buffer; *len its size. NULL if missing. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* The permission bits of path. */
static int mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

/* All certificates of a PEM file, in order. */
static STACK_OF(X509) *read_certs(const char *path)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	FILE *f = fopen(path, "r");
	X509 *x;

	assert_non_null(f);
	while ((x = PEM_read_X509(f, NULL, NULL, NULL)))
		sk_X509_push(sk, x);
	fclose(f);
	return sk;
}

static EVP_PKEY *read_key(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k;

	assert_non_null(f);
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(k);
	return k;
}

/* Verify chain[0] (with chain[1..] as untrusted) against the CA file for the
 * purpose; returns the X509_V_ result. */
static int verify_chain(STACK_OF(X509) *chain, const char *ca_file, int purpose)
{
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int r;

	assert_int_equal(X509_STORE_load_file(st, ca_file), 1);
	assert_int_equal(X509_STORE_CTX_init(ctx, st, sk_X509_value(chain, 0), chain), 1);
	X509_STORE_CTX_set_purpose(ctx, purpose);
	r = X509_verify_cert(ctx) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	return r;
}

/* The subject CN of x into out. */
static void cn_of(X509 *x, char *out, size_t len)
{
	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, out, (int)len) > 0);
}

static void check_rsa2048(const char *key_path)
{
	EVP_PKEY *k = read_key(key_path);

	assert_int_equal(EVP_PKEY_get_base_id(k), EVP_PKEY_RSA);
	assert_int_equal(EVP_PKEY_get_bits(k), 2048);
	EVP_PKEY_free(k);
}

static int group_setup(void **state)
{
	char dir[128];
	int created = -1;
	char err[ERRLEN];

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/iphttps-test-pki-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(dir, sizeof(dir), "%s/state/", tmpdir);   /* trailing slash on purpose */
	pki_paths_init(&P, dir);
	if (pki_ensure_server(&P, NAMES, 4, &created, err) < 0 || created != 1) {
		fprintf(stderr, "pki_ensure_server: %s\n", err);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_paths(void **state)
{
	char want[256];

	snprintf(want, sizeof(want), "%s/state", tmpdir);
	assert_string_equal(P.dir, want);
	snprintf(want, sizeof(want), "%s/state/server.key", tmpdir);
	assert_string_equal(P.server_key, want);
	snprintf(want, sizeof(want), "%s/state/prefix", tmpdir);
	assert_string_equal(P.prefix_file, want);
}

static void test_server_chain_verifies(void **state)
{
	STACK_OF(X509) *chain = read_certs(P.server_cert);
	X509 *leaf;

	assert_int_equal(sk_X509_num(chain), 2);        /* leaf + CA */
	leaf = sk_X509_value(chain, 0);
	assert_int_equal(verify_chain(chain, P.ca_cert, X509_PURPOSE_SSL_SERVER), X509_V_OK);
	/* a server certificate is not a client certificate nor a CA */
	assert_int_not_equal(verify_chain(chain, P.ca_cert, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
	assert_int_equal(X509_check_ca(leaf), 0);
	assert_int_equal(X509_check_ca(sk_X509_value(chain, 1)), 1);
	assert_int_equal(X509_get_signature_nid(leaf), NID_sha256WithRSAEncryption);
	assert_true(X509_get_key_usage(leaf) & KU_KEY_ENCIPHERMENT);
	assert_true(X509_get_key_usage(leaf) & KU_DIGITAL_SIGNATURE);
	assert_non_null(X509_get0_authority_key_id(leaf));
	assert_non_null(X509_get0_subject_key_id(leaf));
	sk_X509_pop_free(chain, X509_free);
}

static void test_server_names(void **state)
{
	STACK_OF(X509) *chain = read_certs(P.server_cert);
	X509 *leaf = sk_X509_value(chain, 0);
	char cn[128];

	assert_int_equal(X509_check_host(leaf, "vpn.example.test", 0, 0, NULL), 1);
	assert_int_equal(X509_check_host(leaf, "alt.example.test", 0, 0, NULL), 1);
	assert_int_equal(X509_check_ip_asc(leaf, "192.0.2.7", 0), 1);
	assert_int_equal(X509_check_ip_asc(leaf, "2001:db8::7", 0), 1);
	assert_int_not_equal(X509_check_host(leaf, "other.example.test", 0, 0, NULL), 1);
	assert_int_not_equal(X509_check_ip_asc(leaf, "192.0.2.8", 0), 1);
	/* IP literals are IP entries, not DNS names */
	assert_int_not_equal(X509_check_host(leaf, "192.0.2.7", 0, 0, NULL), 1);
	cn_of(leaf, cn, sizeof(cn));
	assert_string_equal(cn, "vpn.example.test");
	sk_X509_pop_free(chain, X509_free);
}

static void test_ca_properties(void **state)
{
	STACK_OF(X509) *chain = read_certs(P.ca_cert);
	X509 *ca = sk_X509_value(chain, 0);
	BASIC_CONSTRAINTS *bc;
	int crit = 0;
	char cn[128];
	const char *hex;
	BIGNUM *serial;

	assert_int_equal(sk_X509_num(chain), 1);
	bc = X509_get_ext_d2i(ca, NID_basic_constraints, &crit, NULL);
	assert_non_null(bc);
	assert_true(bc->ca);
	assert_int_equal(crit, 1);
	BASIC_CONSTRAINTS_free(bc);
	assert_true(X509_get_key_usage(ca) & KU_KEY_CERT_SIGN);
	assert_true(X509_get_key_usage(ca) & KU_CRL_SIGN);
	assert_non_null(X509_get0_subject_key_id(ca));
	cn_of(ca, cn, sizeof(cn));
	assert_int_equal(strncmp(cn, "iphttps generated CA ", 21), 0);
	hex = cn + 21;
	assert_int_equal(strlen(hex), 8);
	for (int i = 0; i < 8; i++)
		assert_true(isxdigit((unsigned char)hex[i]));
	/* random 128-bit serial (first byte forced odd, so > 120 bits) */
	serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(ca), NULL);
	assert_true(BN_num_bits(serial) > 120 && BN_num_bits(serial) <= 128);
	BN_free(serial);
	/* ten years */
	{
		int days, secs;

		assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(ca),
						X509_get0_notAfter(ca)), 1);
		assert_true(days >= 3649 && days <= 3651);
	}
	sk_X509_pop_free(chain, X509_free);
}

static void test_keys_and_modes(void **state)
{
	check_rsa2048(P.ca_key);
	check_rsa2048(P.server_key);
	assert_int_equal(mode_of(P.dir), 0700);
	assert_int_equal(mode_of(P.ca_key), 0600);
	assert_int_equal(mode_of(P.server_key), 0600);
	assert_int_equal(mode_of(P.ca_cert), 0644);
	/* no temporary files left behind */
	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "ls '%s' | grep -q tmp", P.dir);
		assert_int_not_equal(system(cmd), 0);
	}
}

static void test_reused_not_regenerated(void **state)
{
	const char *files[] = { P.ca_cert, P.ca_key, P.server_cert, P.server_key };
	char *before[4], *after;
	size_t len[4], alen;
	int created = -1, i;
	char err[ERRLEN];
	const char *other[] = { "not-covered.example.test" };

	for (i = 0; i < 4; i++)
		assert_non_null(before[i] = slurp(files[i], &len[i]));
	assert_int_equal(pki_ensure_server(&P, NAMES, 4, &created, err), 0);
	assert_int_equal(created, 0);
	/* a name the certificate misses: warned about, still not replaced */
	assert_int_equal(pki_ensure_server(&P, other, 1, &created, err), 0);
	assert_int_equal(created, 0);
	for (i = 0; i < 4; i++) {
		assert_non_null(after = slurp(files[i], &alen));
		assert_int_equal(alen, len[i]);
		assert_memory_equal(after, before[i], alen);
		free(after);
		free(before[i]);
	}
}

static void test_bad_names_refused(void **state)
{
	struct pki_paths q;
	char dir[128], err[ERRLEN];
	const char *bad[] = { "a b.example" };
	const char *bad2[] = { "x.example", "evil,DNS:y" };
	int created;

	snprintf(dir, sizeof(dir), "%s/never", tmpdir);
	pki_paths_init(&q, dir);
	assert_int_equal(pki_ensure_server(&q, bad, 1, &created, err), -1);
	assert_non_null(strstr(err, "a b.example"));
	assert_int_equal(pki_ensure_server(&q, bad2, 2, &created, err), -1);
	assert_int_equal(pki_ensure_server(&q, bad, 0, &created, err), -1);
	assert_int_equal(access(dir, F_OK), -1);        /* nothing created */
}

static void test_two_installs_differ(void **state)
{
	struct pki_paths q;
	STACK_OF(X509) *a, *b;
	char dir[128], err[ERRLEN], cn1[128], cn2[128];
	const char *names[] = { "vpn.example.test" };
	int created;

	snprintf(dir, sizeof(dir), "%s/second", tmpdir);
	pki_paths_init(&q, dir);
	assert_int_equal(pki_ensure_server(&q, names, 1, &created, err), 0);
	assert_int_equal(created, 1);
	a = read_certs(P.ca_cert);
	b = read_certs(q.ca_cert);
	cn_of(sk_X509_value(a, 0), cn1, sizeof(cn1));
	cn_of(sk_X509_value(b, 0), cn2, sizeof(cn2));
	assert_string_not_equal(cn1, cn2);
	assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(sk_X509_value(a, 0)),
					      X509_get0_serialNumber(sk_X509_value(b, 0))), 0);
	/* the other install's server certificate does not verify against ours */
	sk_X509_pop_free(b, X509_free);
	b = read_certs(q.server_cert);
	assert_int_not_equal(verify_chain(b, P.ca_cert, X509_PURPOSE_SSL_SERVER), X509_V_OK);
	sk_X509_pop_free(a, X509_free);
	sk_X509_pop_free(b, X509_free);
}

static void test_missing_key_is_an_error(void **state)
{
	struct pki_paths q;
	char dir[128], err[ERRLEN], cmd[300];
	const char *names[] = { "vpn.example.test" };
	int created;

	snprintf(dir, sizeof(dir), "%s/third", tmpdir);
	pki_paths_init(&q, dir);
	assert_int_equal(pki_ensure_server(&q, names, 1, &created, err), 0);
	/* server.key lost: refuse rather than silently reissue */
	assert_int_equal(unlink(q.server_key), 0);
	assert_int_equal(pki_ensure_server(&q, names, 1, &created, err), -1);
	assert_non_null(strstr(err, "server.key"));
	/* ca.key lost: refuse (clients trust that CA) */
	assert_int_equal(unlink(q.ca_key), 0);
	assert_int_equal(pki_ensure_server(&q, names, 1, &created, err), -1);
	assert_non_null(strstr(err, "ca.key"));
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_client_issue(void **state)
{
	char cert[700], key[700], err[ERRLEN], cn[128], clients[700];
	STACK_OF(X509) *chain;

	assert_int_equal(pki_issue_client(&P, "alice", cert, key, sizeof(cert), err), 0);
	assert_non_null(strstr(cert, "/clients/alice.pem"));
	assert_non_null(strstr(key, "/clients/alice.key"));
	assert_int_equal(mode_of(key), 0600);
	snprintf(clients, sizeof(clients), "%s/clients", P.dir);
	assert_int_equal(mode_of(clients), 0700);
	check_rsa2048(key);
	chain = read_certs(cert);
	assert_int_equal(sk_X509_num(chain), 2);
	assert_int_equal(verify_chain(chain, P.ca_cert, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
	assert_int_not_equal(verify_chain(chain, P.ca_cert, X509_PURPOSE_SSL_SERVER), X509_V_OK);
	cn_of(sk_X509_value(chain, 0), cn, sizeof(cn));
	assert_string_equal(cn, "alice");
	{
		EVP_PKEY *k = read_key(key);

		assert_int_equal(X509_check_private_key(sk_X509_value(chain, 0), k), 1);
		EVP_PKEY_free(k);
	}
	sk_X509_pop_free(chain, X509_free);

	/* paths of an existing one; none for an unknown one */
	cert[0] = key[0] = '\0';
	assert_int_equal(pki_client_paths(&P, "alice", cert, key, sizeof(cert)), 0);
	assert_non_null(strstr(cert, "alice.pem"));
	assert_int_not_equal(pki_client_paths(&P, "bob", cert, key, sizeof(cert)), 0);
	/* the same name twice is refused */
	assert_int_equal(pki_issue_client(&P, "alice", cert, key, sizeof(cert), err), -1);
	assert_non_null(strstr(err, "exists"));
}

/* revoke-client: the CRL lists the serial, is signed by the CA, counts
 * right (none, then one), and the certificate is kept aside. */
static void test_revoke_and_crl(void **state)
{
	char cert[700], key[700], err[ERRLEN], serial[64], kept[720];
	struct crl_facts f;
	STACK_OF(X509_CRL) *crls = NULL;
	STACK_OF(X509) *chain;
	int created;

	assert_int_equal(pki_ensure_crl(&P, &created, err), 0);
	assert_int_equal(created, 1);
	assert_int_equal(certcheck_crl(P.crl, P.ca_cert, NULL, &f, err), 0);
	assert_int_equal(f.n_crls, 1);
	assert_int_equal(f.n_revoked, 0);
	assert_true(f.next_update > time(NULL) + 365 * 86400);
	assert_int_equal(pki_issue_client(&P, "dave", cert, key, sizeof(cert), err), 0);
	chain = read_certs(cert);
	assert_int_equal(pki_revoke_client(&P, "dave", serial, sizeof(serial), err), 0);
	assert_int_equal(certcheck_crl(P.crl, P.ca_cert, &crls, &f, err), 0);
	assert_int_equal(f.n_revoked, 1);
	assert_int_equal(certcheck_revoked(crls, sk_X509_value(chain, 0)), 1);
	assert_int_equal(certcheck_revoked(crls, sk_X509_value(chain, 1)), 0);
	/* The same from the issuer's name and the serial alone (what the
	 * server keeps once the SSL and the certificate are gone). */
	for (int i = 0; i < 2; i++) {
		X509 *x = sk_X509_value(chain, i);
		uint8_t *iss = NULL, *sn = NULL;
		int il = i2d_X509_NAME(X509_get_issuer_name(x), &iss);
		int sl = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), &sn);
		assert_true(il > 0 && sl > 0);
		assert_int_equal(certcheck_revoked_der(crls, iss, (size_t)il, sn, (size_t)sl), i == 0);
		assert_int_equal(certcheck_revoked_der(crls, iss, (size_t)il - 1, sn, (size_t)sl), 0);
		OPENSSL_free(iss);
		OPENSSL_free(sn);
	}
	snprintf(kept, sizeof(kept), "%s.revoked", cert);
	assert_int_equal(access(kept, F_OK), 0);
	assert_int_equal(access(key, F_OK), -1);
	/* the name can be issued again; revoking an unknown one fails */
	assert_int_equal(pki_issue_client(&P, "dave", cert, key, sizeof(cert), err), 0);
	assert_int_equal(pki_revoke_client(&P, "nobody", serial, sizeof(serial), err), -1);
	assert_non_null(strstr(err, "no client certificate named nobody"));
	/* a CRL that no CA of the file signed does not pass */
	{
		char leaf[760];
		FILE *fp;
		snprintf(leaf, sizeof(leaf), "%s/leaf-only.pem", tmpdir);
		assert_non_null(fp = fopen(leaf, "w"));
		PEM_write_X509(fp, sk_X509_value(chain, 0));
		fclose(fp);
		assert_int_equal(certcheck_crl(P.crl, leaf, NULL, &f, err), -1);
		assert_non_null(strstr(err, "not signed by a CA of the client CAs"));
	}
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	sk_X509_pop_free(chain, X509_free);
}

/* renew-server-cert: same CA, same key, same names, a new serial. */
static void test_renew_server(void **state)
{
	STACK_OF(X509) *before = read_certs(P.server_cert), *after;
	EVP_PKEY *k1 = read_key(P.server_key), *k2;
	time_t until = 0;
	char err[ERRLEN];

	assert_int_equal(pki_renew_server(&P, NULL, 0, 0, &until, err), 0);
	after = read_certs(P.server_cert);
	k2 = read_key(P.server_key);
	assert_int_equal(EVP_PKEY_eq(k1, k2), 1);
	assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(sk_X509_value(before, 0)),
					      X509_get0_serialNumber(sk_X509_value(after, 0))), 0);
	assert_int_equal(verify_chain(after, P.ca_cert, X509_PURPOSE_SSL_SERVER), X509_V_OK);
	assert_int_equal(X509_check_host(sk_X509_value(after, 0), "alt.example.test", 0, 0, NULL), 1);
	assert_int_equal(X509_check_ip_asc(sk_X509_value(after, 0), "2001:db8::7", 0), 1);
	assert_true(until > time(NULL) + 700 * 86400);
	EVP_PKEY_free(k2);
	/* --new-key */
	assert_int_equal(pki_renew_server(&P, NULL, 0, 1, &until, err), 0);
	k2 = read_key(P.server_key);
	assert_int_not_equal(EVP_PKEY_eq(k1, k2), 1);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	sk_X509_pop_free(before, X509_free);
	sk_X509_pop_free(after, X509_free);
}

static void test_client_bad_names(void **state)
{
	char cert[700], key[700], err[ERRLEN], long_name[80];

	memset(long_name, 'a', 65);
	long_name[65] = '\0';
	assert_int_equal(pki_issue_client(&P, "", cert, key, sizeof(cert), err), -1);
	assert_int_equal(pki_issue_client(&P, "../evil", cert, key, sizeof(cert), err), -1);
	assert_int_equal(pki_issue_client(&P, "a b", cert, key, sizeof(cert), err), -1);
	assert_int_equal(pki_issue_client(&P, long_name, cert, key, sizeof(cert), err), -1);
	long_name[64] = '\0';
	assert_int_equal(pki_issue_client(&P, long_name, cert, key, sizeof(cert), err), 0);
}

static void test_client_needs_ca(void **state)
{
	struct pki_paths q;
	char dir[128], cert[700], key[700], err[ERRLEN];

	snprintf(dir, sizeof(dir), "%s/empty", tmpdir);
	pki_paths_init(&q, dir);
	assert_int_equal(pki_issue_client(&q, "bob", cert, key, sizeof(cert), err), -1);
	assert_non_null(strstr(err, "no generated authority"));
}

static void test_prefix(void **state)
{
	struct in6_addr a, b;
	char err[ERRLEN], want[64], txt[INET6_ADDRSTRLEN], *file;
	int created = -1, i;
	size_t len;

	assert_int_equal(pki_ensure_prefix(&P, &a, &created, err), 0);
	assert_int_equal(created, 1);
	assert_int_equal(a.s6_addr[0], 0xfd);
	for (i = 6; i < 16; i++)                /* subnet 0, host part 0 */
		assert_int_equal(a.s6_addr[i], 0);
	/* the file holds exactly "fdxx:xxxx:xxxx::/64\n" and parses back */
	inet_ntop(AF_INET6, &a, txt, sizeof(txt));
	snprintf(want, sizeof(want), "%s/64\n", txt);
	assert_non_null(file = slurp(P.prefix_file, &len));
	assert_string_equal(file, want);
	assert_int_equal(strncmp(file, "fd", 2), 0);
	free(file);
	/* stable */
	assert_int_equal(pki_ensure_prefix(&P, &b, &created, err), 0);
	assert_int_equal(created, 0);
	assert_memory_equal(&a, &b, sizeof(a));
}

static void test_prefix_other_dir_differs_and_bad_file(void **state)
{
	struct pki_paths q;
	struct in6_addr a, b;
	char dir[128], err[ERRLEN];
	int created, fd;

	snprintf(dir, sizeof(dir), "%s/pfx", tmpdir);
	pki_paths_init(&q, dir);
	assert_int_equal(pki_ensure_prefix(&q, &a, &created, err), 0);   /* creates the dir */
	assert_int_equal(mode_of(dir), 0700);
	assert_int_equal(pki_ensure_prefix(&P, &b, &created, err), 0);
	assert_memory_not_equal(&a, &b, sizeof(a));     /* 40 random bits */

	/* an administrator's own /64 is kept */
	fd = open(q.prefix_file, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, " 2001:db8:1:2::/64 \n", 20), 20);
	close(fd);
	assert_int_equal(pki_ensure_prefix(&q, &a, &created, err), 0);
	assert_int_equal(created, 0);
	inet_pton(AF_INET6, "2001:db8:1:2::", &b);
	assert_memory_equal(&a, &b, sizeof(a));

	/* garbage or another length is an error, and the file is not replaced */
	fd = open(q.prefix_file, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, "2001:db8::/48\n", 14), 14);
	close(fd);
	assert_int_equal(pki_ensure_prefix(&q, &a, &created, err), -1);
	assert_non_null(strstr(err, "prefix"));
	fd = open(q.prefix_file, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, "2001:db8::1/64\n", 15), 15);
	close(fd);
	assert_int_equal(pki_ensure_prefix(&q, &a, &created, err), -1);
}

/* ---- iphttps issue-client ---- */

/* Run cmd_issue_client with the given arguments (NULL-terminated), output
 * sent to /dev/null. */
static int run_cmd(const char *a1, ...)
{
	char *argv[8];
	int argc = 0, r, out, err, null;
	va_list ap;
	const char *s;

	argv[argc++] = "issue-client";
	va_start(ap, a1);
	for (s = a1; s && argc < 7; s = va_arg(ap, const char *))
		argv[argc++] = (char *)s;
	va_end(ap);
	argv[argc] = NULL;
	fflush(stdout);
	fflush(stderr);
	out = dup(1);
	err = dup(2);
	null = open("/dev/null", O_WRONLY);
	dup2(null, 1);
	dup2(null, 2);
	r = cmd_issue_client(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(out, 1);
	dup2(err, 2);
	close(out);
	close(err);
	close(null);
	return r;
}

static void test_cmd_issue_client(void **state)
{
	char dir[128], empty[128], cert[700], key[700];

	snprintf(dir, sizeof(dir), "%s/state", tmpdir);
	snprintf(empty, sizeof(empty), "%s/nothing-here", tmpdir);
	assert_int_equal(run_cmd("--help", NULL), 0);
	assert_int_equal(run_cmd(NULL), 2);                         /* no NAME */
	assert_int_equal(run_cmd("a", "b", NULL), 2);               /* two NAMEs */
	assert_int_equal(run_cmd("--bogus", "a", NULL), 2);
	assert_int_equal(run_cmd("--state-dir", NULL), 2);          /* missing DIR */
	assert_int_equal(run_cmd("--state-dir", dir, "bad/name", NULL), 2);
	assert_int_equal(run_cmd("--state-dir", empty, "carol", NULL), 1);   /* no CA */
	assert_int_equal(run_cmd("--state-dir", dir, "carol", NULL), 0);
	assert_int_equal(pki_client_paths(&P, "carol", cert, key, sizeof(cert)), 0);
	assert_int_equal(run_cmd("--state-dir", dir, "carol", NULL), 1);     /* exists */
	assert_int_equal(run_cmd("--state-dir=", NULL), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_server_chain_verifies),
		cmocka_unit_test(test_server_names),
		cmocka_unit_test(test_ca_properties),
		cmocka_unit_test(test_keys_and_modes),
		cmocka_unit_test(test_reused_not_regenerated),
		cmocka_unit_test(test_bad_names_refused),
		cmocka_unit_test(test_two_installs_differ),
		cmocka_unit_test(test_missing_key_is_an_error),
		cmocka_unit_test(test_client_issue),
		cmocka_unit_test(test_revoke_and_crl),
		cmocka_unit_test(test_renew_server),
		cmocka_unit_test(test_client_bad_names),
		cmocka_unit_test(test_client_needs_ca),
		cmocka_unit_test(test_prefix),
		cmocka_unit_test(test_prefix_other_dir_differs_and_bad_file),
		cmocka_unit_test(test_cmd_issue_client),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
