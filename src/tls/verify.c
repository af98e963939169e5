/* Handshake trace, failure classification and key pinning: see verify.h. */
#include "tls/verify.h"
#include "tls/names.h"

#include "errors.h"
#include "tls/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#define PIN_PREFIX "sha256//"

static pthread_once_t idx_once = PTHREAD_ONCE_INIT;
static int trace_idx = -1;      /* SSL ex_data: struct tls_trace * */
static int pin_idx = -1;        /* SSL_CTX ex_data: char * (owned) */

/* ex_data free function for the pin copy kept in an SSL_CTX. */
static void pin_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	free(ptr);
}

/* Register our ex_data indexes once per process. */
static void idx_init(void)
{
	trace_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	pin_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, pin_free);
}

/* ---- names ---- */

void tls_name_str(const X509_NAME *n, char *out, size_t outlen)
{
	BIO *b;
	char *p;
	long len;

	if (!outlen)
		return;
	out[0] = '\0';
	if (!n || !(b = BIO_new(BIO_s_mem())))
		return;
	if (X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
		len = BIO_get_mem_data(b, &p);
		if (len > 0)
			snprintf(out, outlen, "%.*s", (int)len, p);
	}
	BIO_free(b);
}

/* ---- trace ---- */

/* 1 if the Certificate message in p (len bytes, with its 4-byte header)
 * carries at least one certificate, 0 if its list is empty. version says
 * whether the TLS 1.3 layout (a request context first) applies. */
static int cert_msg_nonempty(int version, const unsigned char *p, size_t len)
{
	size_t off = 4;

	if (version == TLS1_3_VERSION) {
		if (len < off + 1)
			return 0;
		off += 1 + p[off];
	}
	if (len < off + 3)
		return 0;
	return (p[off] | p[off + 1] | p[off + 2]) != 0;
}

/* SSL message callback: record handshake messages and alerts into arg. */
static void trace_cb(int write_p, int version, int content_type, const void *buf,
		     size_t len, SSL *ssl, void *arg)
{
	struct tls_trace *t = arg;
	const unsigned char *p = buf;

	if (!t || !p)
		return;
	if (content_type == SSL3_RT_HANDSHAKE && len >= 1) {
		if (write_p) {
			t->last_sent = p[0];
			if (p[0] == SSL3_MT_CERTIFICATE)
				t->cert_sent = cert_msg_nonempty(version, p, len);
		} else {
			t->last_received = p[0];
			if (p[0] == SSL3_MT_CERTIFICATE_REQUEST)
				t->cert_request = 1;
		}
		t->last_msg = p[0];
		t->last_msg_sent = write_p;
	} else if (content_type == SSL3_RT_ALERT && len >= 2) {
		if (write_p) {
			t->alert_sent_level = p[0];
			t->alert_sent_desc = p[1];
		} else {
			t->alert_recv_level = p[0];
			t->alert_recv_desc = p[1];
			t->alert_recv_after = t->last_msg;
			t->alert_recv_after_sent = t->last_msg_sent;
		}
	}
}

void tls_trace_attach(SSL *ssl, struct tls_trace *t)
{
	pthread_once(&idx_once, idx_init);
	if (t) {
		memset(t, 0, sizeof(*t));
		t->last_sent = t->last_received = t->last_msg = -1;
		t->cert_sent = -1;
		t->alert_recv_level = t->alert_recv_desc = t->alert_recv_after = -1;
		t->alert_sent_level = t->alert_sent_desc = -1;
	}
	SSL_set_ex_data(ssl, trace_idx, t);
	SSL_set_msg_callback(ssl, t ? trace_cb : NULL);
	SSL_set_msg_callback_arg(ssl, t);
}

struct tls_trace *tls_trace_get(SSL *ssl)
{
	pthread_once(&idx_once, idx_init);
	return SSL_get_ex_data(ssl, trace_idx);
}

/* ---- pins ---- */

/* 1 if cert's public key matches pin, else 0. */
static int pin_matches(X509 *cert, const char *pin)
{
	char have[128];

	if (!cert || tls_spki_pin(cert, have, sizeof(have)) < 0)
		return 0;
	return strcmp(have, pin) == 0;
}

int tls_check_pin(SSL *ssl, const char *pin)
{
	X509 *cert = SSL_get0_peer_certificate(ssl);
	STACK_OF(X509) *chain;

	if (!cert && (chain = SSL_get_peer_cert_chain(ssl)) && sk_X509_num(chain) > 0)
		cert = sk_X509_value(chain, 0);
	if (!pin || !cert)
		return -1;
	return pin_matches(cert, pin) ? 0 : -1;
}

/* Verify callback of a pinned ctx: keep OpenSSL's verdict, and at the leaf
 * (depth 0, reached last) fail when its key does not match the pin. */
static int pin_verify_cb(int ok, X509_STORE_CTX *sctx)
{
	SSL *ssl;
	const char *pin;

	if (!ok || X509_STORE_CTX_get_error_depth(sctx) != 0)
		return ok;
	ssl = X509_STORE_CTX_get_ex_data(sctx, SSL_get_ex_data_X509_STORE_CTX_idx());
	if (!ssl || !(pin = tls_ctx_get_pin(SSL_get_SSL_CTX(ssl))))
		return ok;
	if (pin_matches(X509_STORE_CTX_get_current_cert(sctx), pin))
		return 1;
	X509_STORE_CTX_set_error(sctx, X509_V_ERR_APPLICATION_VERIFICATION);
	return 0;
}

int tls_ctx_set_pin(SSL_CTX *ctx, const char *pin)
{
	char *copy;

	pthread_once(&idx_once, idx_init);
	if (!pin)
		return 0;
	/* sha256 is 32 bytes: 44 base64 characters with one '=' of padding. */
	if (strncmp(pin, PIN_PREFIX, strlen(PIN_PREFIX)) != 0 ||
	    strlen(pin) != strlen(PIN_PREFIX) + 44 ||
	    strspn(pin + strlen(PIN_PREFIX),
		   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") != 44)
		return -1;
	if (!(copy = strdup(pin)))
		return -1;
	free(SSL_CTX_get_ex_data(ctx, pin_idx));
	if (!SSL_CTX_set_ex_data(ctx, pin_idx, copy)) {
		free(copy);
		return -1;
	}
	SSL_CTX_set_verify(ctx, SSL_CTX_get_verify_mode(ctx), pin_verify_cb);
	return 0;
}

const char *tls_ctx_get_pin(const SSL_CTX *ctx)
{
	pthread_once(&idx_once, idx_init);
	return SSL_CTX_get_ex_data(ctx, pin_idx);
}

/* ---- classification ---- */

/* What the OpenSSL error queue said; filled by drain_errors(). */
struct errq {
	int alert;              /* fatal alert received (from the reason code), -1 none */
	int sys;                /* errno recorded by the system library, 0 none */
	int eof;                /* unexpected EOF */
	int reason;             /* first SSL-library reason, 0 none */
	char text[200];         /* first error's reason text */
};

/* Drain the thread's OpenSSL error queue into q. */
static void drain_errors(struct errq *q)
{
	unsigned long e;
	const char *data, *r;
	int flags;

	memset(q, 0, sizeof(*q));
	q->alert = -1;
	while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
		int lib = ERR_GET_LIB(e), reason = ERR_GET_REASON(e);

		if (lib == ERR_LIB_SYS && !q->sys)
			q->sys = reason;
		if (lib == ERR_LIB_SSL) {
			if (reason >= SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256)
				q->alert = reason - SSL_AD_REASON_OFFSET;
			if (reason == SSL_R_UNEXPECTED_EOF_WHILE_READING)
				q->eof = 1;
			if (!q->reason)
				q->reason = reason;
		}
		if (!q->text[0]) {
			r = ERR_reason_error_string(e);
			snprintf(q->text, sizeof(q->text), "%s%s%s", r ? r : "unknown error",
				 (flags & ERR_TXT_STRING) && data && *data ? ": " : "",
				 (flags & ERR_TXT_STRING) && data ? data : "");
		}
	}
}

/* Append printf-style text to the NUL-terminated why (whylen bytes). */
static void __attribute__((format(printf, 3, 4)))
add(char *why, size_t whylen, const char *fmt, ...)
{
	size_t used = strnlen(why, whylen);
	va_list ap;

	if (used + 1 >= whylen)
		return;
	va_start(ap, fmt);
	vsnprintf(why + used, whylen - used, fmt, ap);
	va_end(ap);
}

/* The server's leaf certificate, also after a failed verification (when
 * only the received chain is kept). */
static X509 *peer_leaf(SSL *ssl)
{
	X509 *x = SSL_get0_peer_certificate(ssl);
	STACK_OF(X509) *chain;

	if (!x && (chain = SSL_get_peer_cert_chain(ssl)) && sk_X509_num(chain) > 0)
		x = sk_X509_value(chain, 0);
	return x;
}

/* Append "certificate SUBJECT issued by ISSUER" of the peer leaf. */
static void add_cert(char *why, size_t whylen, SSL *ssl)
{
	X509 *x = peer_leaf(ssl);
	char subj[256], iss[256];

	if (!x)
		return;
	tls_name_str(X509_get_subject_name(x), subj, sizeof(subj));
	tls_name_str(X509_get_issuer_name(x), iss, sizeof(iss));
	add(why, whylen, "; server certificate \"%s\" issued by \"%s\"", subj, iss);
}

/* Append the validity dates of the peer leaf. */
static void add_dates(char *why, size_t whylen, SSL *ssl)
{
	X509 *x = peer_leaf(ssl);
	struct tm a, b;
	char s1[32], s2[32];

	if (!x || !ASN1_TIME_to_tm(X509_get0_notBefore(x), &a) ||
	    !ASN1_TIME_to_tm(X509_get0_notAfter(x), &b))
		return;
	strftime(s1, sizeof(s1), "%Y-%m-%d %H:%M:%S UTC", &a);
	strftime(s2, sizeof(s2), "%Y-%m-%d %H:%M:%S UTC", &b);
	add(why, whylen, ", valid from %s until %s", s1, s2);
}

/* Append the DNS and IP names of the peer leaf's subjectAltName. */
static void add_names(char *why, size_t whylen, SSL *ssl)
{
	X509 *x = peer_leaf(ssl);
	GENERAL_NAMES *gens;
	char ip[INET6_ADDRSTRLEN];
	int i, n = 0;

	if (!x || !(gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL))) {
		add(why, whylen, "; it has no subjectAltName");
		return;
	}
	add(why, whylen, "; it names");
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const unsigned char *d;
		int len;

		if (g->type == GEN_DNS) {
			d = ASN1_STRING_get0_data(g->d.dNSName);
			len = ASN1_STRING_length(g->d.dNSName);
			add(why, whylen, "%s DNS:%.*s", n++ ? "," : "", len, (const char *)d);
		} else if (g->type == GEN_IPADD) {
			d = ASN1_STRING_get0_data(g->d.iPAddress);
			len = ASN1_STRING_length(g->d.iPAddress);
			if ((len == 4 && inet_ntop(AF_INET, d, ip, sizeof(ip))) ||
			    (len == 16 && inet_ntop(AF_INET6, d, ip, sizeof(ip))))
				add(why, whylen, "%s IP:%s", n++ ? "," : "", ip);
		}
	}
	if (!n)
		add(why, whylen, " no DNS or IP name");
	GENERAL_NAMES_free(gens);
}

/* 1 when the server presented intermediates and the last one is not
 * self-signed: the chain stops at a CA certificate whose issuer nobody
 * presented (a partial chain: Windows' CERT_E_CHAINING); its subject and
 * issuer go to sub/iss. */
static int partial_chain(SSL *ssl, char *sub, char *iss, size_t len)
{
	STACK_OF(X509) *ch = SSL_get_peer_cert_chain(ssl);
	X509 *last;
	int n = ch ? sk_X509_num(ch) : 0;

	if (n < 2)
		return 0;
	last = sk_X509_value(ch, n - 1);
	if (X509_check_issued(last, last) == X509_V_OK)
		return 0;
	tls_name_str(X509_get_subject_name(last), sub, len);
	tls_name_str(X509_get_issuer_name(last), iss, len);
	return 1;
}

/* Map a failed certificate verification (v != X509_V_OK) to a code. */
static uint32_t classify_verify(SSL *ssl, long v, char *why, size_t whylen)
{
	const char *vs = X509_verify_cert_error_string(v);
	X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
	const char *host;
	char *ip, sub[256], iss[256];
	uint32_t code;

	switch (v) {
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
		if (partial_chain(ssl, sub, iss, sizeof(sub))) {
			add(why, whylen, "the certificate chain cannot be built to a root: the server presents a chain that stops at \"%s\", whose issuer \"%s\" it does not send and we do not have: %s (%ld)",
			    sub, iss, vs, v);
			add_cert(why, whylen, ssl);
			return IPH_E_CHAINING;
		}
		/* fall through */
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		add(why, whylen, "the server certificate does not chain to a root we trust: %s (%ld)", vs, v);
		add_cert(why, whylen, ssl);
		return IPH_E_UNTRUSTED_ROOT;
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
		add(why, whylen, "the server certificate is outside its validity period: %s (%ld)",
		    vs, v);
		add_cert(why, whylen, ssl);
		add_dates(why, whylen, ssl);
		add(why, whylen, "; renew it, and check both clocks");
		return IPH_E_CERT_EXPIRED;
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		/* An address in the URL: Windows refuses such a URL outright
		 * (0x4be, KB 2980627); we accept one only when the certificate
		 * names that address, and otherwise report what Windows does. */
		ip = X509_VERIFY_PARAM_get1_ip_asc(param);
		add(why, whylen, "the URL's host %s is an IP address, which the server certificate does not "
		    "name (Windows clients refuse any IP address in the URL): use the name the certificate "
		    "was issued for", ip ? ip : "?");
		OPENSSL_free(ip);
		add_cert(why, whylen, ssl);
		add_names(why, whylen, ssl);
		return IPH_E_INVALID_URL;
	case X509_V_ERR_HOSTNAME_MISMATCH:
		host = X509_VERIFY_PARAM_get0_host(param, 0);
		add(why, whylen, "the server certificate does not cover the host %s: %s (%ld)",
		    host ? host : "?", vs, v);
		add_cert(why, whylen, ssl);
		add_names(why, whylen, ssl);
		return IPH_E_NO_MORE_ITEMS;
	case X509_V_ERR_APPLICATION_VERIFICATION:
		if (tls_ctx_get_pin(SSL_get_SSL_CTX(ssl))) {
			char have[128] = "?";

			if (peer_leaf(ssl))
				tls_spki_pin(peer_leaf(ssl), have, sizeof(have));
			add(why, whylen, "the server's public key %s does not match the pin %s",
			    have, tls_ctx_get_pin(SSL_get_SSL_CTX(ssl)));
			add_cert(why, whylen, ssl);
			return IPH_E_PIN_MISMATCH;
		}
		break;
	case X509_V_ERR_INVALID_PURPOSE:
		add(why, whylen, "the server certificate is not for server authentication (its extendedKeyUsage lacks serverAuth): %s (%ld)",
		    vs, v);
		add_cert(why, whylen, ssl);
		return IPH_E_WRONG_USAGE;
	case X509_V_ERR_UNABLE_TO_GET_CRL:
		add(why, whylen, "the certificate revocation list cannot be had: %s (%ld)", vs, v);
		add_cert(why, whylen, ssl);
		return IPH_E_REVOCATION_OFFLINE;
	}
	code = IPH_E_UNTRUSTED_ROOT;
	add(why, whylen, "the server certificate is not acceptable: %s (%ld)", vs, v);
	add_cert(why, whylen, ssl);
	return code;
}

/* " after ClientHello" / " after our Finished" from the trace, or "". */
static void add_after(char *why, size_t whylen, const struct tls_trace *t)
{
	if (!t || t->alert_recv_after < 0)
		return;
	add(why, whylen, " after %s%s", t->alert_recv_after_sent ? "our " : "the server's ",
	    tls_hs_name(t->alert_recv_after) ?: "an unknown message");
}

/* Map a fatal alert received from the server to a code. */
static uint32_t classify_alert(SSL *ssl, const struct tls_trace *t, int desc, char *why,
			       size_t whylen)
{
	int no_cert = t ? t->cert_sent <= 0 : SSL_get_certificate(ssl) == NULL;
	int asked = t ? t->cert_request : 0;

	add(why, whylen, "received fatal alert %s (%d)", tls_alert_name(desc) ?: "unknown", desc);
	add_after(why, whylen, t);
	if (desc == SSL3_AD_HANDSHAKE_FAILURE && asked && no_cert) {
		add(why, whylen, ": the server asked for a client certificate (CertificateRequest) "
		    "and we sent none");
		return IPH_E_INCOMPLETE_CREDENTIALS;
	}
	switch (desc) {
	case TLS13_AD_CERTIFICATE_REQUIRED:
		add(why, whylen, ": the server requires a client certificate and we sent none");
		return IPH_E_INCOMPLETE_CREDENTIALS;
	case SSL3_AD_HANDSHAKE_FAILURE:
	case TLS1_AD_PROTOCOL_VERSION:
	case TLS1_AD_INSUFFICIENT_SECURITY:
		if (t && t->alert_recv_after == SSL3_MT_CLIENT_HELLO && t->alert_recv_after_sent)
			add(why, whylen, ": the server accepts none of the offered cipher suites "
			    "or TLS versions (e.g. a server without the null suites, or one "
			    "that needs another TLS version)");
		else
			add(why, whylen, ": the server ended the handshake");
		return IPH_E_ILLEGAL_MESSAGE;
	case SSL3_AD_BAD_CERTIFICATE:
	case SSL3_AD_UNSUPPORTED_CERTIFICATE:
	case SSL3_AD_CERTIFICATE_REVOKED:
	case SSL3_AD_CERTIFICATE_EXPIRED:
	case SSL3_AD_CERTIFICATE_UNKNOWN:
	case TLS1_AD_UNKNOWN_CA:
	case TLS1_AD_ACCESS_DENIED:
		if (!no_cert) {
			add(why, whylen, ": the server refused our client certificate (not from "
			    "a CA it trusts, expired, or not for client authentication)");
			return IPH_E_ILLEGAL_MESSAGE;
		}
		break;
	}
	add(why, whylen, ": the server ended the handshake");
	return IPH_E_ILLEGAL_MESSAGE;
}

/* Where the handshake stood, for messages without an alert. */
static void add_stage(char *why, size_t whylen, SSL *ssl, const struct tls_trace *t)
{
	if (SSL_is_init_finished(ssl))
		add(why, whylen, " after the handshake");
	else if (t && t->last_msg >= 0)
		add(why, whylen, " during the handshake, after %s%s",
		    t->last_msg_sent ? "our " : "the server's ", tls_hs_name(t->last_msg) ?: "unknown message");
	else
		add(why, whylen, " during the handshake");
}

/* Map a socket-level end (reset, EOF, timeout) to a code. */
static uint32_t classify_io(SSL *ssl, const struct tls_trace *t, int err_no, int eof,
			    char *why, size_t whylen)
{
	if (eof || !err_no) {
		add(why, whylen, "the server closed the connection");
		add_stage(why, whylen, ssl, t);
		if (SSL_is_init_finished(ssl))
			return IPH_E_CLOSED;
		add(why, whylen, ": something that is not a working TLS server answers, "
		    "or a device in the path ends the handshake");
		return IPH_E_ILLEGAL_MESSAGE;
	}
	if (err_no == ECONNRESET || err_no == EPIPE || err_no == ECONNABORTED) {
		add(why, whylen, "the connection was reset (%s)", strerror(err_no));
		add_stage(why, whylen, ssl, t);
		return IPH_E_CONNRESET;
	}
	if (err_no == ETIMEDOUT) {
		add(why, whylen, "the connection timed out");
		add_stage(why, whylen, ssl, t);
		return IPH_E_TIMEDOUT;
	}
	add(why, whylen, "socket error: %s", strerror(err_no));
	add_stage(why, whylen, ssl, t);
	return IPH_E_LOCAL;
}

/* Map an error raised by our own TLS stack (no alert received). */
static uint32_t classify_local(SSL *ssl, const struct tls_trace *t, const struct errq *q,
			       char *why, size_t whylen)
{
	switch (q->reason) {
	case SSL_R_WRONG_VERSION_NUMBER:
	case SSL_R_PACKET_LENGTH_TOO_LONG:
	case SSL_R_RECORD_LENGTH_MISMATCH:
	case SSL_R_HTTPS_PROXY_REQUEST:
	case SSL_R_HTTP_REQUEST:
		add(why, whylen, "the reply is not TLS (%s)", q->text);
		add_stage(why, whylen, ssl, t);
		add(why, whylen, ": something other than a TLS server answers on the port");
		return IPH_E_ILLEGAL_MESSAGE;
	case SSL_R_NO_CIPHERS_AVAILABLE:
	case SSL_R_WRONG_CIPHER_RETURNED:
		/* Schannel's SEC_E_ALGORITHM_MISMATCH, on which Windows' client
		 * retries its null-cipher first attempt with its default
		 * suites (WebSendRequestCompletion) */
		add(why, whylen, "no cipher suite in common (%s)", q->text);
		add_stage(why, whylen, ssl, t);
		add(why, whylen, q->reason == SSL_R_WRONG_CIPHER_RETURNED ?
		    ": the server chose a suite we did not offer" : ": we have no suite to offer");
		return IPH_E_ALGORITHM_MISMATCH;
	case SSL_R_UNSUPPORTED_PROTOCOL:
	case SSL_R_NO_PROTOCOLS_AVAILABLE:
		add(why, whylen, "no TLS version in common (%s)", q->text);
		add_stage(why, whylen, ssl, t);
		return IPH_E_ILLEGAL_MESSAGE;
	}
	add(why, whylen, "TLS error: %s", q->text[0] ? q->text : "unknown");
	add_stage(why, whylen, ssl, t);
	if (t && t->alert_sent_desc >= 0)
		add(why, whylen, "; we sent alert %s (%d)", tls_alert_name(t->alert_sent_desc) ?: "unknown",
		    t->alert_sent_desc);
	return IPH_E_ILLEGAL_MESSAGE;
}

uint32_t tls_classify_failure(SSL *ssl, int ssl_ret, int ssl_err, char *why, size_t whylen)
{
	int saved_errno = errno;
	struct tls_trace *t = tls_trace_get(ssl);
	struct errq q;
	char dummy[8];
	long v;
	int alert = -1;

	if (!why || !whylen) {
		why = dummy;
		whylen = sizeof(dummy);
	}
	why[0] = '\0';
	if (ssl_err == SSL_ERROR_NONE)
		return IPH_OK;
	if (ssl_err == SSL_ERROR_WANT_READ || ssl_err == SSL_ERROR_WANT_WRITE) {
		add(why, whylen, "in progress");
		return IPH_E_IO_PENDING;
	}
	drain_errors(&q);

	v = SSL_get_verify_result(ssl);
	if (!SSL_is_server(ssl) && (SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) && v != X509_V_OK)
		return classify_verify(ssl, v, why, whylen);

	if (t && t->alert_recv_level == SSL3_AL_FATAL)
		alert = t->alert_recv_desc;
	else if (!t)
		alert = q.alert;
	if (t && t->alert_recv_desc == SSL_AD_CLOSE_NOTIFY)
		return classify_io(ssl, t, 0, 1, why, whylen);
	if (alert > 0)
		return classify_alert(ssl, t, alert, why, whylen);

	if (ssl_err == SSL_ERROR_ZERO_RETURN || q.eof)
		return classify_io(ssl, t, 0, 1, why, whylen);
	if (ssl_err == SSL_ERROR_SYSCALL)
		return classify_io(ssl, t, q.sys ? q.sys : saved_errno, ssl_ret == 0 && !q.sys,
				   why, whylen);
	return classify_local(ssl, t, &q, why, whylen);
}
