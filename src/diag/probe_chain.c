/* The probe's certificate chain (explicit verification, name match,
 * --expect-issuer) and the suites checks (null only, encrypted only, each in
 * a handshake of its own).  See probe.h, probe_int.h. */
#include "diag/probe_int.h"
#include "errors.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

/* ---- the chain ---- */

/* Takes the verification context after X509_verify_cert; keeps the path
 * it built (leaf to root) and the issuer of its last certificate. */
/* --expect-chain: is the leaf the client got the one the server presents
 * from inside (same SHA-256)?  Anything else is TLS inspection or another
 * server.  A file without a certificate leaves the check undone. */
static void compare_inside(const char *file, X509 *got, struct probe_chain *ch)
{
	unsigned char a[EVP_MAX_MD_SIZE], b[EVP_MAX_MD_SIZE];
	unsigned alen = 0, blen = 0;
	FILE *f = fopen(file, "r");
	X509 *want = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	char subj[TLSP_NAME_LEN], iss[TLSP_NAME_LEN];

	if (f)
		fclose(f);
	if (!want || !got)
		goto out;
	tls_name_str(X509_get_subject_name(want), subj, sizeof(subj));
	tls_name_str(X509_get_issuer_name(want), iss, sizeof(iss));
	snprintf(ch->inside_leaf, sizeof(ch->inside_leaf), "\"%s\" issued by \"%s\"", subj, iss);
	if (X509_digest(want, EVP_sha256(), a, &alen) && X509_digest(got, EVP_sha256(), b, &blen)) {
		ch->inside_checked = 1;
		ch->inside_ok = alen == blen && !memcmp(a, b, alen);
	}
out:
	X509_free(want);
}

static void built_path(X509_STORE_CTX *sx, struct probe_chain *ch)
{
	STACK_OF(X509) *path = X509_STORE_CTX_get0_chain(sx);
	int n = path ? sk_X509_num(path) : 0;

	for (int i = 0; i < n && ch->n_built < PROBE_MAX_CHAIN; i++)
		tls_name_str(X509_get_subject_name(sk_X509_value(path, i)), ch->built[ch->n_built++],
			     TLSP_NAME_LEN);
	if (n > 0)
		tls_name_str(X509_get_issuer_name(sk_X509_value(path, n - 1)), ch->root_issuer,
			     sizeof(ch->root_issuer));
}

/* Verify the server's chain (leaf first in sk) against the context's trust
 * store, without the host name (checked apart).  Fills ch. */
static void verify_chain(SSL_CTX *ctx, STACK_OF(X509) *sk, struct probe_chain *ch)
{
	X509_STORE_CTX *sx = X509_STORE_CTX_new();

	ch->verify_err = X509_V_ERR_UNSPECIFIED;
	if (!sx || X509_STORE_CTX_init(sx, SSL_CTX_get_cert_store(ctx), sk_X509_value(sk, 0), sk) != 1) {
		snprintf(ch->verify_text, sizeof(ch->verify_text), "cannot set up the verification");
		X509_STORE_CTX_free(sx);
		return;
	}
	X509_STORE_CTX_set_default(sx, "ssl_server");
	ch->trusted = X509_verify_cert(sx) == 1;
	ch->verify_err = X509_STORE_CTX_get_error(sx);
	ch->err_depth = X509_STORE_CTX_get_error_depth(sx);
	snprintf(ch->verify_text, sizeof(ch->verify_text), "%s",
		 X509_verify_cert_error_string(ch->verify_err));
	built_path(sx, ch);
	X509_STORE_CTX_free(sx);
}

/* Takes the leaf and the URL host; returns 1 when the certificate covers
 * it (as the client checks: no partial wildcards; IP literals by IP). */
static int covers(X509 *leaf, const char *host)
{
	unsigned char a[16];

	if (inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1)
		return X509_check_ip_asc(leaf, host, 0) == 1;
	return X509_check_host(leaf, host, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1;
}

/* Returns 1 when text (case-insensitive) occurs in an issuer of the chain
 * as sent or in the verified path. */
static int issuer_matches(const struct probe_chain *ch, const char *text)
{
	for (size_t i = 0; i < ch->n && i < PROBE_MAX_CHAIN; i++)
		if (strcasestr(ch->certs[i].issuer, text))
			return 1;
	for (size_t i = 1; i < ch->n_built; i++)
		if (strcasestr(ch->built[i], text))
			return 1;
	return ch->root_issuer[0] && strcasestr(ch->root_issuer, text) != NULL;
}

void probe_chain(const struct probe_opts *o, SSL_CTX *ctx, struct probe_conn *c,
		 struct probe_result *r)
{
	STACK_OF(X509) *sk = SSL_get_peer_cert_chain(c->io.ssl);
	STACK_OF(X509_NAME) *cas = SSL_get_client_CA_list(c->io.ssl);
	struct probe_chain *ch = &r->chain;
	int n = sk ? sk_X509_num(sk) : 0;

	if (c->trace.cert_request && !r->n_client_cas)
		for (int i = 0; cas && i < sk_X509_NAME_num(cas) && i < TLSP_MAX_CAS; i++)
			tls_name_str(sk_X509_NAME_value(cas, i), r->client_cas[r->n_client_cas++], TLSP_NAME_LEN);
	if (n <= 0 || ch->seen)
		return;
	memset(ch, 0, sizeof(*ch));
	ch->seen = 1;
	ch->n = (size_t)n;
	for (int i = 0; i < n && i < PROBE_MAX_CHAIN; i++) {
		tlsp_cert_info_x509(sk_X509_value(sk, i), &ch->certs[i]);
		ch->days_left[i] = (long)((ch->certs[i].not_after - r->when) / 86400);
		if (ch->certs[i].not_after < r->when)
			ch->days_left[i] = -(long)((r->when - ch->certs[i].not_after + 86399) / 86400);
	}
	verify_chain(ctx, sk, ch);
	ch->name_ok = covers(sk_X509_value(sk, 0), r->url.host);
	if (o->profile == PROBE_WINDOWS7 || o->profile == PROBE_WINDOWS7_TLS12)
		probe_revocation(o, ctx, sk, r);
	if (o->expect_issuer && o->expect_issuer[0]) {
		ch->issuer_checked = 1;
		ch->issuer_ok = issuer_matches(ch, o->expect_issuer);
	}
	if (o->expect_chain)
		compare_inside(o->expect_chain, sk_X509_value(sk, 0), ch);
}

/* ---- the suites checks ---- */

/* One handshake with ctx, certificate not checked; fills hs. */
static void check(const struct probe_opts *o, SSL_CTX *ctx, struct probe_result *r,
		  struct probe_hs *hs)
{
	struct probe_conn c = { .io.fd = -1 };

	if (probe_open(o, r, hs, &c) == 0)
		probe_handshake(ctx, &r->url, 0, o->timeout_ms, &c);
	probe_close(&c);
}

/* Takes a check; ACCEPTED when the server chose one of its suites,
 * RESET when it reset the connection after the ClientHello without an
 * alert (Windows retries with other suites then), REFUSED when it ended it
 * otherwise. */
static enum probe_suites outcome(const struct probe_hs *hs)
{
	const struct diag_facts *f = &hs->f;

	if (!hs->tcp_ok)
		return PSU_UNKNOWN;
	if (f->saw_server_hello)
		return PSU_ACCEPTED;
	if (f->saw_client_hello && !f->not_tls[DIAG_SERVER] && !f->alert[DIAG_SERVER].seen &&
	    f->first_close == DIAG_SERVER && f->first_close_rst)
		return PSU_RESET;
	if (f->saw_client_hello && !f->not_tls[DIAG_SERVER] &&
	    (f->alert[DIAG_SERVER].seen || f->first_close == DIAG_SERVER))
		return PSU_REFUSED;
	return PSU_UNKNOWN;
}

/* Takes a refused check; writes "0x80090326 right after the ClientHello". */
static void fails_with(const struct probe_hs *hs, char *out, size_t len)
{
	struct diag_verdict v;

	diag_decide(&hs->f, &v);
	snprintf(out, len, "0x%x%s", v.code,
		 hs->f.last_hs == TLSP_HS_CLIENT_HELLO ? " right after the ClientHello" : "");
}

static void probe_suites_words(struct probe_result *r);

void probe_suites(const struct probe_opts *o, const struct probe_ctxs *x, struct probe_result *r)
{
	check(o, x->null_only, r, &r->null_chk);
	check(o, x->enc_only, r, &r->enc_chk);
	r->null_suites = outcome(&r->null_chk);
	r->enc_suites = outcome(&r->enc_chk);
	if (r->enc_suites == PSU_RESET)
		r->enc_suites = PSU_REFUSED;
	if (r->null_suites == PSU_RESET && r->enc_suites == PSU_ACCEPTED) {
		snprintf(r->left_out, sizeof(r->left_out), "none: the server resets a ClientHello with only the null suites (no alert), so Windows 8/10/11 clients retry at once with their encrypted suites, which it accepts (no null encryption; one more round trip); Windows 7 clients (encrypted suites) connect.");
	} else if (r->null_suites == PSU_RESET) {
		r->null_suites = PSU_REFUSED;
		probe_suites_words(r);
	} else {
		probe_suites_words(r);
	}
}

/* The sentence on the clients left out, from the outcomes. */
static void probe_suites_words(struct probe_result *r)
{
	char how[96];

	if (r->null_suites == PSU_REFUSED && r->enc_suites == PSU_REFUSED) {
		fails_with(&r->null_chk, how, sizeof(how));
		snprintf(r->left_out, sizeof(r->left_out), "the server (or a device in front of it) ends the handshake whether the null suites or the TLS 1.2 encrypted suites Windows offers are offered, so every Windows client fails with %s.", how);
	} else if (r->null_suites == PSU_REFUSED) {
		fails_with(&r->null_chk, how, sizeof(how));
		snprintf(r->left_out, sizeof(r->left_out), "the server or the ADC in front of it refuses the null suites, so Windows 8/10/11 DirectAccess clients, which negotiate null encryption, fail with %s; Windows 7 clients (encrypted suites) can connect.", how);
	} else if (r->enc_suites == PSU_REFUSED) {
		fails_with(&r->enc_chk, how, sizeof(how));
		snprintf(r->left_out, sizeof(r->left_out), "the server accepts only the null suites, so Windows 7 clients, which offer only encrypted suites, fail with %s (as do clients without null encryption, such as iphttps client without --null-encryption on); Windows 8/10/11 DirectAccess clients can connect.", how);
	} else if (r->null_suites == PSU_ACCEPTED && r->enc_suites == PSU_ACCEPTED) {
		snprintf(r->left_out, sizeof(r->left_out), "none: the server accepts both the null suites (Windows 8/10/11 DirectAccess clients) and encrypted suites (Windows 7 and other clients).");
	} else {
		snprintf(r->left_out, sizeof(r->left_out), "cannot tell: a suites check ended before the server chose a suite.");
	}
}
