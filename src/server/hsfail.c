/* Handshake failures seen from the server: see hsfail.h. */
#include "server/hsfail.h"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

const char *const hs_fail_names[HSF__COUNT] = {
	[HSF_NO_CLIENT_CERT] = "no_client_certificate",
	[HSF_CERT_UNTRUSTED] = "client_certificate_untrusted",
	[HSF_CERT_REVOKED] = "client_certificate_revoked",
	[HSF_CERT_EXPIRED] = "client_certificate_expired",
	[HSF_CERT_OTHER] = "client_certificate_refused",
	[HSF_NO_SHARED_CIPHER] = "no_shared_cipher",
	[HSF_VERSION] = "no_shared_version",
	[HSF_CLIENT_UNKNOWN_CA] = "client_refused_chain_unknown_ca",
	[HSF_CLIENT_CERT_EXPIRED] = "client_refused_chain_expired",
	[HSF_CLIENT_ALERT] = "client_alert",
	[HSF_NOT_TLS] = "not_tls",
	[HSF_CLOSED] = "closed_by_client",
	[HSF_TIMEOUT] = "timeout",
	[HSF_OTHER] = "other",
};

const char *const hs_fail_codes[HSF__COUNT] = {
	[HSF_NO_CLIENT_CERT] = "0x90320",
	[HSF_CERT_UNTRUSTED] = "0x80090326",
	[HSF_CERT_REVOKED] = "0x80090326",
	[HSF_CERT_EXPIRED] = "0x80090326",
	[HSF_CERT_OTHER] = "0x80090326",
	[HSF_NO_SHARED_CIPHER] = "0x80090326",
	[HSF_VERSION] = "0x80090326",
	[HSF_CLIENT_UNKNOWN_CA] = "0x800b0109",
	[HSF_CLIENT_CERT_EXPIRED] = "0x800b0101",
	[HSF_CLIENT_ALERT] = "none",
	[HSF_NOT_TLS] = "none",
	[HSF_CLOSED] = "none",
	[HSF_TIMEOUT] = "0x274c",
	[HSF_OTHER] = "none",
};

static enum hs_fail by_verify_result(long v)
{
	switch (v) {
	case X509_V_ERR_CERT_REVOKED:
		return HSF_CERT_REVOKED;
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return HSF_CERT_EXPIRED;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
		return HSF_CERT_UNTRUSTED;
	default:
		return HSF_CERT_OTHER;
	}
}

static enum hs_fail by_reason(int r)
{
	switch (r) {
	case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
		return HSF_NO_CLIENT_CERT;
	case SSL_R_NO_SHARED_CIPHER:
		return HSF_NO_SHARED_CIPHER;
	case SSL_R_UNSUPPORTED_PROTOCOL:
	case SSL_R_VERSION_TOO_LOW:
	case SSL_R_VERSION_TOO_HIGH:
		return HSF_VERSION;
	case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
		return HSF_CLIENT_UNKNOWN_CA;
	case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
		return HSF_CLIENT_CERT_EXPIRED;
	case SSL_R_WRONG_VERSION_NUMBER:
	case SSL_R_HTTP_REQUEST:
	case SSL_R_HTTPS_PROXY_REQUEST:
	case SSL_R_PACKET_LENGTH_TOO_LONG:
		return HSF_NOT_TLS;
	case SSL_R_UNEXPECTED_EOF_WHILE_READING:
		return HSF_CLOSED;
	default:
		/* SSL_R_SSLV3_ALERT_* and SSL_R_TLSV1_ALERT_*: an alert received */
		return r >= SSL_AD_REASON_OFFSET ? HSF_CLIENT_ALERT : HSF_OTHER;
	}
}

enum hs_fail hs_classify(SSL *ssl)
{
	unsigned long e = ERR_peek_last_error();
	long v = SSL_get_verify_result(ssl);

	if (v != X509_V_OK)
		return by_verify_result(v);
	if (!e)
		return HSF_CLOSED;      /* EOF or a reset, nothing from TLS */
	return by_reason(ERR_GET_REASON(e));
}
