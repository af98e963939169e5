/* The embedded defaults: generated CA, server and client certificates and
 * the link's ULA prefix, kept in the state directory.  See pki.h. */
#include "tls/pki.h"

#include "common/log.h"
#include "tls/certcheck.h"
#include "tls/tls.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#define KEY_BITS 2048
#define CA_DAYS 3650
#define LEAF_DAYS 730
#define BACKDATE_SECS 3600      /* tolerate a peer clock an hour behind */

enum leaf_kind { LEAF_SERVER, LEAF_CLIENT };

/* printf into err (ERRLEN); returns -1. */
static int __attribute__((format(printf, 2, 3)))
fail(char *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, ERRLEN, fmt, ap);
	va_end(ap);
	return -1;
}

/* As fail(), followed by the OpenSSL error text (drains the queue). */
static int __attribute__((format(printf, 2, 3)))
fail_ossl(char *err, const char *fmt, ...)
{
	char what[ERRLEN], why[ERRLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	tls_errstr(why, sizeof(why));
	return fail(err, "%s: %s", what, why);
}

void pki_paths_init(struct pki_paths *p, const char *state_dir)
{
	size_t n;

	memset(p, 0, sizeof(*p));
	snprintf(p->dir, sizeof(p->dir), "%s", state_dir);
	n = strlen(p->dir);
	while (n > 1 && p->dir[n - 1] == '/')
		p->dir[--n] = '\0';
	snprintf(p->ca_cert, sizeof(p->ca_cert), "%s/ca.pem", p->dir);
	snprintf(p->ca_key, sizeof(p->ca_key), "%s/ca.key", p->dir);
	snprintf(p->server_cert, sizeof(p->server_cert), "%s/server.pem", p->dir);
	snprintf(p->server_key, sizeof(p->server_key), "%s/server.key", p->dir);
	snprintf(p->prefix_file, sizeof(p->prefix_file), "%s/prefix", p->dir);
	snprintf(p->crl, sizeof(p->crl), "%s/crl.pem", p->dir);
}

/* ---- files ---- */

/* 1 if path exists (whatever it is), else 0. */
static int exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* Create dir with mode 0700 unless it exists as a directory. 0 or -1. */
static int ensure_dir(const char *dir, char *err)
{
	struct stat st;

	if (mkdir(dir, 0700) == 0) {
		if (chmod(dir, 0700) < 0)       /* the umask must not widen it */
			return fail(err, "cannot set the mode of %s: %s", dir, strerror(errno));
		return 0;
	}
	if (errno != EEXIST)
		return fail(err, "cannot create directory %s: %s", dir, strerror(errno));
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return fail(err, "%s exists and is not a directory", dir);
	return 0;
}

/* fsync the directory that holds path so that a rename survives a crash
 * (best effort: errors are ignored). */
static void sync_parent(const char *path)
{
	char dir[700];
	char *slash;
	int fd;

	snprintf(dir, sizeof(dir), "%s", path);
	if (!(slash = strrchr(dir, '/')))
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* Write len bytes of data to path atomically: a temporary file in the same
 * directory with the final mode, synced, then renamed over path.
 * Returns 0 or -1 with err set; the temporary file is removed on failure. */
static int write_atomic(const char *path, mode_t mode, const void *data, size_t len, char *err)
{
	char tmp[700];
	const char *p = data;
	ssize_t n;
	int fd;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) >= sizeof(tmp))
		return fail(err, "path too long: %s", path);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0)
		return fail(err, "cannot create %s: %s", tmp, strerror(errno));
	if (fchmod(fd, mode) < 0)
		goto syserr;
	while (len > 0) {
		if ((n = write(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			goto syserr;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) < 0)
		goto syserr;
	if (close(fd) < 0) {
		fd = -1;
		goto syserr;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto syserr;
	sync_parent(path);
	return 0;
syserr:
	fail(err, "cannot write %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}

/* Write what a memory BIO holds to path (see write_atomic); frees nothing. */
static int write_bio(const char *path, mode_t mode, BIO *b, char *err)
{
	char *data;
	long len = BIO_get_mem_data(b, &data);

	if (len <= 0)
		return fail(err, "nothing to write to %s", path);
	return write_atomic(path, mode, data, (size_t)len, err);
}

/* Write key (PEM, PKCS#8, mode 0600) to path. 0 or -1. */
static int write_key(const char *path, EVP_PKEY *key, char *err)
{
	BIO *b = BIO_new(BIO_s_mem());
	int r;

	if (!b || !PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL)) {
		BIO_free(b);
		return fail_ossl(err, "cannot encode the key for %s", path);
	}
	r = write_bio(path, 0600, b, err);
	BIO_free(b);
	return r;
}

/* Write leaf, then ca if not NULL, as a PEM chain to path (mode 0644). */
static int write_certs(const char *path, X509 *leaf, X509 *ca, char *err)
{
	BIO *b = BIO_new(BIO_s_mem());
	int r;

	if (!b || !PEM_write_bio_X509(b, leaf) || (ca && !PEM_write_bio_X509(b, ca))) {
		BIO_free(b);
		return fail_ossl(err, "cannot encode the certificate for %s", path);
	}
	r = write_bio(path, 0644, b, err);
	BIO_free(b);
	return r;
}

/* Load the first certificate of cert_path and the key of key_path and check
 * that they match. On success *x and *k are the caller's to free. */
static int load_pair(const char *cert_path, const char *key_path, X509 **x, EVP_PKEY **k,
		     char *err)
{
	FILE *f;

	*x = NULL;
	*k = NULL;
	if (!(f = fopen(cert_path, "re")))
		return fail(err, "cannot open %s: %s", cert_path, strerror(errno));
	*x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!*x)
		return fail_ossl(err, "cannot read a certificate from %s", cert_path);
	if (!(f = fopen(key_path, "re"))) {
		fail(err, "cannot open %s: %s", key_path, strerror(errno));
		goto bad;
	}
	*k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!*k) {
		fail_ossl(err, "cannot read a private key from %s", key_path);
		goto bad;
	}
	if (X509_check_private_key(*x, *k) != 1) {
		fail_ossl(err, "the key %s does not match the certificate %s", key_path, cert_path);
		goto bad;
	}
	return 0;
bad:
	X509_free(*x);
	EVP_PKEY_free(*k);
	*x = NULL;
	*k = NULL;
	return -1;
}

/* ---- certificates ---- */

/* Add extension nid with the configuration-syntax value to x. 0 or -1. */
static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	int ok;

	if (!e)
		return -1;
	ok = X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok ? 0 : -1;
}

/* A random positive 128-bit serial number for x. 0 or -1. */
static int set_serial(X509 *x)
{
	unsigned char r[16];
	BIGNUM *bn;
	int ok;

	if (RAND_bytes(r, sizeof(r)) != 1)
		return -1;
	r[0] |= 0x01;   /* never a short or zero serial */
	if (!(bn = BN_bin2bn(r, sizeof(r), NULL)))
		return -1;
	ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok ? 0 : -1;
}

/* A new v3 certificate for key with subject CN=cn, issued by issuer (NULL:
 * self-issued), valid from an hour ago for days. Unsigned, no extensions.
 * Returns it (the caller's to free) or NULL. */
static X509 *new_cert(EVP_PKEY *key, const char *cn, X509 *issuer, int days)
{
	X509 *x = X509_new();
	X509_NAME *name;

	if (!x || !X509_set_version(x, X509_VERSION_3) || set_serial(x) < 0)
		goto bad;
	name = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0))
		goto bad;
	if (!X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name))
		goto bad;
	if (!X509_gmtime_adj(X509_getm_notBefore(x), -BACKDATE_SECS) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), days, 0, NULL) ||
	    !X509_set_pubkey(x, key))
		goto bad;
	return x;
bad:
	X509_free(x);
	return NULL;
}

/* Generate an RSA key. Returns it or NULL with err set. */
static EVP_PKEY *gen_key(char *err)
{
	EVP_PKEY *k = EVP_RSA_gen(KEY_BITS);

	if (!k)
		fail_ossl(err, "cannot generate an RSA %d key", KEY_BITS);
	return k;
}

/* A self-signed CA certificate for key, "CN=iphttps generated CA <8 hex>".
 * Returns it or NULL with err set. */
static X509 *make_ca(EVP_PKEY *key, char *err)
{
	unsigned char r[4];
	char cn[64];
	X509V3_CTX ctx;
	X509 *x;

	if (RAND_bytes(r, sizeof(r)) != 1) {
		fail_ossl(err, "no random bytes");
		return NULL;
	}
	snprintf(cn, sizeof(cn), "iphttps generated CA %02x%02x%02x%02x", r[0], r[1], r[2], r[3]);
	if (!(x = new_cert(key, cn, NULL, CA_DAYS)))
		goto bad;
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if (add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE") < 0 ||
	    add_ext(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign") < 0 ||
	    add_ext(x, &ctx, NID_subject_key_identifier, "hash") < 0 ||
	    !X509_sign(x, key, EVP_sha256()))
		goto bad;
	return x;
bad:
	fail_ossl(err, "cannot make the CA certificate");
	X509_free(x);
	return NULL;
}

/* 1 if name is an IPv4 or IPv6 literal. */
static int is_ip(const char *name)
{
	unsigned char a[16];

	return inet_pton(AF_INET, name, a) == 1 || inet_pton(AF_INET6, name, a) == 1;
}

int pki_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (is_ip(name))
		return 1;
	return n > 0 && n <= 253 &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_*") == n;
}

/* Add a subjectAltName with names (DNS names and IP literals) to x. 0 or -1. */
static int add_san(X509 *x, const char *const *names, size_t n)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	GENERAL_NAME *g = NULL;
	size_t i;
	int ok = 0;

	if (!gens)
		return -1;
	for (i = 0; i < n; i++) {
		if (!(g = GENERAL_NAME_new()))
			goto out;
		if (is_ip(names[i])) {
			ASN1_OCTET_STRING *ip = a2i_IPADDRESS(names[i]);

			if (!ip)
				goto out;
			GENERAL_NAME_set0_value(g, GEN_IPADD, ip);
		} else {
			ASN1_IA5STRING *s = ASN1_IA5STRING_new();

			if (!s || !ASN1_STRING_set(s, names[i], -1)) {
				ASN1_IA5STRING_free(s);
				goto out;
			}
			GENERAL_NAME_set0_value(g, GEN_DNS, s);
		}
		if (!sk_GENERAL_NAME_push(gens, g))
			goto out;
		g = NULL;
	}
	ok = X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) == 1;
out:
	GENERAL_NAME_free(g);
	GENERAL_NAMES_free(gens);
	return ok ? 0 : -1;
}

/* A leaf certificate for key issued by ca/cakey: a server certificate for
 * names (the first is the CN when short enough) or a client certificate
 * with CN=names[0]. Returns it or NULL with err set. */
static X509 *make_leaf(enum leaf_kind kind, EVP_PKEY *key, const char *const *names, size_t n,
		       X509 *ca, EVP_PKEY *cakey, char *err)
{
	const char *cn = strlen(names[0]) <= 64 ? names[0] : "iphttps server";
	X509V3_CTX ctx;
	X509 *x;

	if (!(x = new_cert(key, cn, ca, LEAF_DAYS)))
		goto bad;
	X509V3_set_ctx(&ctx, ca, x, NULL, NULL, 0);
	if (add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    add_ext(x, &ctx, NID_subject_key_identifier, "hash") < 0 ||
	    add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always") < 0)
		goto bad;
	if (kind == LEAF_SERVER) {
		if (add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature,keyEncipherment") < 0 ||
		    add_ext(x, &ctx, NID_ext_key_usage, "serverAuth") < 0 ||
		    add_san(x, names, n) < 0)
			goto bad;
	} else {
		if (add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature") < 0 ||
		    add_ext(x, &ctx, NID_ext_key_usage, "clientAuth") < 0)
			goto bad;
	}
	if (!X509_sign(x, cakey, EVP_sha256()))
		goto bad;
	return x;
bad:
	fail_ossl(err, "cannot make the %s certificate", kind == LEAF_SERVER ? "server" : "client");
	X509_free(x);
	return NULL;
}

/* ---- the authority and the server certificate ---- */

/* Load the generated CA, or create it when neither file exists (or only a
 * key left by an interrupted run). *made says whether it was created. */
static int ensure_ca(const struct pki_paths *p, X509 **ca, EVP_PKEY **cakey, int *made,
		     char *err)
{
	*made = 0;
	if (exists(p->ca_cert)) {
		if (!exists(p->ca_key))
			return fail(err, "%s exists without %s: restore the key, or remove both "
				    "to generate a new authority (every client must then be given "
				    "the new one)", p->ca_cert, p->ca_key);
		return load_pair(p->ca_cert, p->ca_key, ca, cakey, err);
	}
	if (!(*cakey = gen_key(err)))
		return -1;
	if (!(*ca = make_ca(*cakey, err)) ||
	    write_key(p->ca_key, *cakey, err) < 0 || write_certs(p->ca_cert, *ca, NULL, err) < 0) {
		X509_free(*ca);
		EVP_PKEY_free(*cakey);
		*ca = NULL;
		*cakey = NULL;
		return -1;
	}
	*made = 1;
	return 0;
}

/* Warn about each of names that the existing server certificate misses. */
static void check_names(const struct pki_paths *p, X509 *x, const char *const *names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		int ok = is_ip(names[i]) ? X509_check_ip_asc(x, names[i], 0) == 1
					 : X509_check_host(x, names[i], 0, 0, NULL) == 1;

		if (!ok)
			log_warnx("%s does not cover the name %s; it is kept (clients that use "
				  "that name will fail with 0x103): remove %s and %s to have "
				  "them issued again", p->server_cert, names[i], p->server_cert,
				  p->server_key);
	}
}

/* Keep the existing server certificate (checking its names) or issue one.
 * force: issue even if one exists (the CA is new). */
static int ensure_server_cert(const struct pki_paths *p, X509 *ca, EVP_PKEY *cakey,
			      const char *const *names, size_t n, int force, int *made, char *err)
{
	EVP_PKEY *key;
	X509 *x;
	int r;

	*made = 0;
	if (!force && exists(p->server_cert)) {
		if (!exists(p->server_key))
			return fail(err, "%s exists without %s: restore the key or remove the "
				    "certificate to have both issued again", p->server_cert,
				    p->server_key);
		if (load_pair(p->server_cert, p->server_key, &x, &key, err) < 0)
			return -1;
		check_names(p, x, names, n);
		X509_free(x);
		EVP_PKEY_free(key);
		return 0;
	}
	if (!(key = gen_key(err)))
		return -1;
	if (!(x = make_leaf(LEAF_SERVER, key, names, n, ca, cakey, err))) {
		EVP_PKEY_free(key);
		return -1;
	}
	r = write_key(p->server_key, key, err);
	if (r == 0)
		r = write_certs(p->server_cert, x, ca, err);
	X509_free(x);
	EVP_PKEY_free(key);
	*made = r == 0;
	return r;
}

int pki_ensure_server(const struct pki_paths *p, const char *const *names, size_t n_names,
		      int *created, char *err)
{
	X509 *ca = NULL;
	EVP_PKEY *cakey = NULL;
	int made_ca = 0, made_srv = 0, r = -1;
	size_t i;

	*created = 0;
	if (n_names == 0)
		return fail(err, "the server certificate needs at least one name");
	for (i = 0; i < n_names; i++)
		if (!names[i] || !pki_name_ok(names[i]))
			return fail(err, "\"%s\" is neither a DNS name nor an IP address",
				    names[i] ? names[i] : "(null)");
	if (ensure_dir(p->dir, err) < 0)
		return -1;
	if (ensure_ca(p, &ca, &cakey, &made_ca, err) < 0)
		return -1;
	r = ensure_server_cert(p, ca, cakey, names, n_names, made_ca, &made_srv, err);
	*created = made_ca || made_srv;
	X509_free(ca);
	EVP_PKEY_free(cakey);
	return r;
}

/* ---- client certificates ---- */

/* 1 if name matches [A-Za-z0-9._-]{1,64}. */
static int client_name_ok(const char *name)
{
	size_t n = strlen(name);

	return n >= 1 && n <= 64 &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

/* The clients/ directory path of p into out. 0 or -1 if it does not fit. */
static int clients_dir(const struct pki_paths *p, char *out, size_t outlen)
{
	return (size_t)snprintf(out, outlen, "%s/clients", p->dir) < outlen ? 0 : -1;
}

int pki_client_paths(const struct pki_paths *p, const char *name, char *cert_out,
		     char *key_out, size_t outlen)
{
	if (!client_name_ok(name) ||
	    (size_t)snprintf(cert_out, outlen, "%s/clients/%s.pem", p->dir, name) >= outlen ||
	    (size_t)snprintf(key_out, outlen, "%s/clients/%s.key", p->dir, name) >= outlen)
		return -1;
	return exists(cert_out) && exists(key_out) ? 0 : -1;
}

int pki_issue_client(const struct pki_paths *p, const char *name, char *cert_out,
		     char *key_out, size_t outlen, char *err)
{
	const char *names[1] = { name };
	char dir[700];
	X509 *ca = NULL, *x = NULL;
	EVP_PKEY *cakey = NULL, *key = NULL;
	int r = -1;

	if (!client_name_ok(name))
		return fail(err, "bad client name \"%s\": use 1 to 64 of A-Z a-z 0-9 . _ -", name);
	if (clients_dir(p, dir, sizeof(dir)) < 0 ||
	    (size_t)snprintf(cert_out, outlen, "%s/%s.pem", dir, name) >= outlen ||
	    (size_t)snprintf(key_out, outlen, "%s/%s.key", dir, name) >= outlen)
		return fail(err, "path too long under %s", p->dir);
	if (exists(cert_out) || exists(key_out))
		return fail(err, "a client named %s exists already (%s)", name, cert_out);
	if (!exists(p->ca_cert) || !exists(p->ca_key))
		return fail(err, "no generated authority in %s (%s and %s)", p->dir,
			    p->ca_cert, p->ca_key);
	if (load_pair(p->ca_cert, p->ca_key, &ca, &cakey, err) < 0 || ensure_dir(dir, err) < 0)
		goto out;
	if (!(key = gen_key(err)) ||
	    !(x = make_leaf(LEAF_CLIENT, key, names, 1, ca, cakey, err)))
		goto out;
	if (write_key(key_out, key, err) < 0 || write_certs(cert_out, x, ca, err) < 0) {
		unlink(key_out);
		goto out;
	}
	r = 0;
out:
	X509_free(x);
	EVP_PKEY_free(key);
	X509_free(ca);
	EVP_PKEY_free(cakey);
	return r;
}

/* ---- prefix ---- */

/* Parse "ADDR/64" (surrounding white space allowed) into prefix. 0 or -1. */
static int parse_prefix(char *line, struct in6_addr *prefix)
{
	char *s = line, *slash, *e;
	int i;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	if (!(slash = strchr(s, '/')) || strcmp(slash + 1, "64") != 0)
		return -1;
	*slash = '\0';
	if (inet_pton(AF_INET6, s, prefix) != 1)
		return -1;
	for (i = 8; i < 16; i++)
		if (prefix->s6_addr[i])
			return -1;
	return 0;
}

int pki_read_prefix(const char *path, struct in6_addr *prefix, char *err)
{
	char line[128];
	FILE *f = fopen(path, "re");

	if (!f) {
		if (errno == ENOENT)
			return 1;
		return fail(err, "cannot open %s: %s", path, strerror(errno));
	}
	if (!fgets(line, sizeof(line), f)) {
		fclose(f);
		return fail(err, "%s is empty", path);
	}
	fclose(f);
	if (parse_prefix(line, prefix) < 0)
		return fail(err, "%s does not hold a prefix like fd12:3456:789a::/64", path);
	return 0;
}

int pki_ensure_prefix(const struct pki_paths *p, struct in6_addr *prefix, int *created, char *err)
{
	char text[INET6_ADDRSTRLEN + 8], addr[INET6_ADDRSTRLEN];
	int r;

	*created = 0;
	if ((r = pki_read_prefix(p->prefix_file, prefix, err)) <= 0)
		return r;
	/* RFC 4193: fd00::/8, a 40-bit random Global ID, Subnet ID 0. */
	memset(prefix, 0, sizeof(*prefix));
	prefix->s6_addr[0] = 0xfd;
	if (RAND_bytes(prefix->s6_addr + 1, 5) != 1)
		return fail_ossl(err, "no random bytes for the prefix");
	if (!inet_ntop(AF_INET6, prefix, addr, sizeof(addr)))
		return fail(err, "cannot format the prefix");
	snprintf(text, sizeof(text), "%s/64\n", addr);
	if (ensure_dir(p->dir, err) < 0 ||
	    write_atomic(p->prefix_file, 0644, text, strlen(text), err) < 0)
		return -1;
	*created = 1;
	return 0;
}

/* ---- revocation ---- */

/* The CRL kept in p->crl, or NULL when there is none (err set when it
 * exists but cannot be read). */
static X509_CRL *read_crl(const struct pki_paths *p, char *err)
{
	FILE *f = fopen(p->crl, "re");
	X509_CRL *crl;

	if (!f) {
		if (errno != ENOENT)
			fail(err, "cannot open %s: %s", p->crl, strerror(errno));
		else
			err[0] = 0;
		return NULL;
	}
	crl = PEM_read_X509_CRL(f, NULL, NULL, NULL);
	fclose(f);
	if (!crl)
		fail_ossl(err, "cannot read a CRL from %s", p->crl);
	return crl;
}

/* A new CRL from the authority: the entries of old (may be NULL) plus
 * serial (may be NULL), CRL number one more than old's. Writes p->crl. */
static int issue_crl(const struct pki_paths *p, X509 *ca, EVP_PKEY *cakey, X509_CRL *old,
		     const ASN1_INTEGER *serial, char *err)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *now = ASN1_TIME_set(NULL, time(NULL));
	ASN1_INTEGER *num = NULL, *oldnum = old ? X509_CRL_get_ext_d2i(old, NID_crl_number, NULL, NULL) : NULL;
	BIO *b = BIO_new(BIO_s_mem());
	long n = oldnum ? ASN1_INTEGER_get(oldnum) + 1 : 1;
	int r = -1;

	if (!crl || !now || !b || !X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)) ||
	    !X509_CRL_set1_lastUpdate(crl, now) ||
	    !X509_CRL_set1_nextUpdate(crl, X509_get0_notAfter(ca)))
		goto bad;
	for (int i = 0; old && i < sk_X509_REVOKED_num(X509_CRL_get_REVOKED(old)); i++) {
		X509_REVOKED *rv = X509_REVOKED_dup(sk_X509_REVOKED_value(X509_CRL_get_REVOKED(old), i));
		if (!rv || !X509_CRL_add0_revoked(crl, rv)) {
			X509_REVOKED_free(rv);
			goto bad;
		}
	}
	if (serial) {
		X509_REVOKED *rv = X509_REVOKED_new();
		if (!rv || !X509_REVOKED_set_serialNumber(rv, (ASN1_INTEGER *)serial) ||
		    !X509_REVOKED_set_revocationDate(rv, now) || !X509_CRL_add0_revoked(crl, rv)) {
			X509_REVOKED_free(rv);
			goto bad;
		}
	}
	if (!(num = ASN1_INTEGER_new()) || !ASN1_INTEGER_set(num, n) ||
	    !X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) || !X509_CRL_sort(crl) ||
	    !X509_CRL_sign(crl, cakey, EVP_sha256()) || !PEM_write_bio_X509_CRL(b, crl))
		goto bad;
	r = write_bio(p->crl, 0644, b, err);
	goto out;
bad:
	fail_ossl(err, "cannot issue the CRL %s", p->crl);
out:
	ASN1_INTEGER_free(num);
	ASN1_INTEGER_free(oldnum);
	ASN1_TIME_free(now);
	BIO_free(b);
	X509_CRL_free(crl);
	return r;
}

int pki_ensure_crl(const struct pki_paths *p, int *created, char *err)
{
	X509 *ca = NULL;
	EVP_PKEY *cakey = NULL;
	int r;

	*created = 0;
	if (exists(p->crl))
		return 0;
	if (load_pair(p->ca_cert, p->ca_key, &ca, &cakey, err) < 0)
		return -1;
	r = issue_crl(p, ca, cakey, NULL, NULL, err);
	*created = r == 0;
	X509_free(ca);
	EVP_PKEY_free(cakey);
	return r;
}

int pki_revoke_client(const struct pki_paths *p, const char *name, char *serial_out,
		      size_t serial_len, char *err)
{
	char cert[700], key[700], kept[720];
	X509 *ca = NULL, *x = NULL;
	EVP_PKEY *cakey = NULL;
	X509_CRL *old = NULL;
	FILE *f;
	int r = -1;

	if (pki_client_paths(p, name, cert, key, sizeof(cert)) < 0 && !exists(cert))
		return fail(err, "no client certificate named %s in %s/clients", name, p->dir);
	if (!(f = fopen(cert, "re")))
		return fail(err, "cannot open %s: %s", cert, strerror(errno));
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!x)
		return fail_ossl(err, "cannot read a certificate from %s", cert);
	if (load_pair(p->ca_cert, p->ca_key, &ca, &cakey, err) < 0)
		goto out;
	if (X509_check_issued(ca, x) != X509_V_OK) {
		fail(err, "%s was not issued by the authority %s", cert, p->ca_cert);
		goto out;
	}
	old = read_crl(p, err);
	if (!old && err[0])
		goto out;
	if (issue_crl(p, ca, cakey, old, X509_get0_serialNumber(x), err) < 0)
		goto out;
	if (serial_out) {
		struct cert_facts cf;
		cert_facts_of(x, &cf);
		snprintf(serial_out, serial_len, "%s", cf.serial);
	}
	snprintf(kept, sizeof(kept), "%s.revoked", cert);
	if (rename(cert, kept) < 0 || (unlink(key) < 0 && errno != ENOENT)) {
		fail(err, "revoked, but cannot move %s aside: %s", cert, strerror(errno));
		goto out;
	}
	r = 0;
out:
	X509_CRL_free(old);
	X509_free(x);
	X509_free(ca);
	EVP_PKEY_free(cakey);
	return r;
}

/* ---- renewal ---- */

#define MAX_NAMES 32

/* The DNS names and IP addresses of x's subjectAltName into names (strings
 * in store, NAME_LEN each); returns how many. */
#define NAME_LEN 256
static size_t san_names(X509 *x, char store[][NAME_LEN], const char **names)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	size_t n = 0;

	for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens) && n < MAX_NAMES; i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const unsigned char *d;
		int len;
		if (g->type == GEN_DNS) {
			d = ASN1_STRING_get0_data(g->d.dNSName);
			len = ASN1_STRING_length(g->d.dNSName);
			snprintf(store[n], NAME_LEN, "%.*s", len, (const char *)d);
		} else if (g->type == GEN_IPADD) {
			d = ASN1_STRING_get0_data(g->d.iPAddress);
			len = ASN1_STRING_length(g->d.iPAddress);
			if (!inet_ntop(len == 16 ? AF_INET6 : AF_INET, d, store[n], NAME_LEN))
				continue;
		} else {
			continue;
		}
		names[n] = store[n];
		n++;
	}
	GENERAL_NAMES_free(gens);
	return n;
}

int pki_renew_server(const struct pki_paths *p, const char *const *names, size_t n_names,
		     int new_key, time_t *not_after, char *err)
{
	char store[MAX_NAMES][NAME_LEN];
	const char *old_names[MAX_NAMES];
	X509 *ca = NULL, *old = NULL, *x = NULL;
	EVP_PKEY *cakey = NULL, *key = NULL;
	struct tm tm;
	int r = -1;

	if (load_pair(p->ca_cert, p->ca_key, &ca, &cakey, err) < 0)
		return -1;
	if (load_pair(p->server_cert, p->server_key, &old, &key, err) < 0)
		goto out;
	if (X509_check_issued(ca, old) != X509_V_OK) {
		fail(err, "%s was not issued by the authority %s: renew it where it came from",
		     p->server_cert, p->ca_cert);
		goto out;
	}
	if (!n_names) {
		n_names = san_names(old, store, old_names);
		names = old_names;
		if (!n_names) {
			fail(err, "%s names nobody (no subjectAltName): give --hostname", p->server_cert);
			goto out;
		}
	}
	for (size_t i = 0; i < n_names; i++)
		if (!pki_name_ok(names[i])) {
			fail(err, "\"%s\" is neither a DNS name nor an IP address", names[i]);
			goto out;
		}
	if (new_key) {
		EVP_PKEY_free(key);
		if (!(key = gen_key(err)))
			goto out;
	}
	if (!(x = make_leaf(LEAF_SERVER, key, names, n_names, ca, cakey, err)))
		goto out;
	if ((new_key && write_key(p->server_key, key, err) < 0) ||
	    write_certs(p->server_cert, x, ca, err) < 0)
		goto out;
	if (not_after && ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
		*not_after = timegm(&tm);
	r = 0;
out:
	X509_free(x);
	X509_free(old);
	X509_free(ca);
	EVP_PKEY_free(key);
	EVP_PKEY_free(cakey);
	return r;
}
