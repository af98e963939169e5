/* Names of TLS cipher suites, alerts, versions and handshake messages, for
 * the troubleshooter's evidence.  See tlsparse.h. */
#include "diag/tlsparse.h"
#include "tls/names.h"

#include <stdio.h>

struct suite_name {
	uint16_t id;
	uint8_t null_mac;       /* MAC length when the suite has no encryption */
	const char *name;
};

static const struct suite_name suites[] = {
	{ 0x0000, 0,  "TLS_NULL_WITH_NULL_NULL" },
	{ 0x0001, 16, "TLS_RSA_WITH_NULL_MD5" },
	{ 0x0002, 20, "TLS_RSA_WITH_NULL_SHA" },
	{ 0x0004, 0,  "TLS_RSA_WITH_RC4_128_MD5" },
	{ 0x0005, 0,  "TLS_RSA_WITH_RC4_128_SHA" },
	{ 0x000A, 0,  "TLS_RSA_WITH_3DES_EDE_CBC_SHA" },
	{ 0x0013, 0,  "TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA" },
	{ 0x0016, 0,  "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA" },
	{ 0x002C, 20, "TLS_PSK_WITH_NULL_SHA" },
	{ 0x002F, 0,  "TLS_RSA_WITH_AES_128_CBC_SHA" },
	{ 0x0032, 0,  "TLS_DHE_DSS_WITH_AES_128_CBC_SHA" },
	{ 0x0033, 0,  "TLS_DHE_RSA_WITH_AES_128_CBC_SHA" },
	{ 0x0035, 0,  "TLS_RSA_WITH_AES_256_CBC_SHA" },
	{ 0x0038, 0,  "TLS_DHE_DSS_WITH_AES_256_CBC_SHA" },
	{ 0x0039, 0,  "TLS_DHE_RSA_WITH_AES_256_CBC_SHA" },
	{ 0x003B, 32, "TLS_RSA_WITH_NULL_SHA256" },
	{ 0x003C, 0,  "TLS_RSA_WITH_AES_128_CBC_SHA256" },
	{ 0x003D, 0,  "TLS_RSA_WITH_AES_256_CBC_SHA256" },
	{ 0x0040, 0,  "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256" },
	{ 0x0041, 0,  "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA" },
	{ 0x0067, 0,  "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256" },
	{ 0x006A, 0,  "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256" },
	{ 0x006B, 0,  "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256" },
	{ 0x0084, 0,  "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA" },
	{ 0x008C, 0,  "TLS_PSK_WITH_AES_128_CBC_SHA" },
	{ 0x008D, 0,  "TLS_PSK_WITH_AES_256_CBC_SHA" },
	{ 0x009C, 0,  "TLS_RSA_WITH_AES_128_GCM_SHA256" },
	{ 0x009D, 0,  "TLS_RSA_WITH_AES_256_GCM_SHA384" },
	{ 0x009E, 0,  "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256" },
	{ 0x009F, 0,  "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384" },
	{ 0x00A2, 0,  "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256" },
	{ 0x00A3, 0,  "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384" },
	{ 0x00A8, 0,  "TLS_PSK_WITH_AES_128_GCM_SHA256" },
	{ 0x00A9, 0,  "TLS_PSK_WITH_AES_256_GCM_SHA384" },
	{ 0x00AE, 0,  "TLS_PSK_WITH_AES_128_CBC_SHA256" },
	{ 0x00AF, 0,  "TLS_PSK_WITH_AES_256_CBC_SHA384" },
	{ 0x00B0, 32, "TLS_PSK_WITH_NULL_SHA256" },
	{ 0x00B1, 48, "TLS_PSK_WITH_NULL_SHA384" },
	{ 0x00FF, 0,  "TLS_EMPTY_RENEGOTIATION_INFO_SCSV" },
	{ 0x1301, 0,  "TLS_AES_128_GCM_SHA256" },
	{ 0x1302, 0,  "TLS_AES_256_GCM_SHA384" },
	{ 0x1303, 0,  "TLS_CHACHA20_POLY1305_SHA256" },
	{ 0x1304, 0,  "TLS_AES_128_CCM_SHA256" },
	{ 0x1305, 0,  "TLS_AES_128_CCM_8_SHA256" },
	{ 0x5600, 0,  "TLS_FALLBACK_SCSV" },
	{ 0xC001, 20, "TLS_ECDH_ECDSA_WITH_NULL_SHA" },
	{ 0xC006, 20, "TLS_ECDHE_ECDSA_WITH_NULL_SHA" },
	{ 0xC007, 0,  "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA" },
	{ 0xC008, 0,  "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA" },
	{ 0xC009, 0,  "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA" },
	{ 0xC00A, 0,  "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA" },
	{ 0xC00B, 20, "TLS_ECDH_RSA_WITH_NULL_SHA" },
	{ 0xC010, 20, "TLS_ECDHE_RSA_WITH_NULL_SHA" },
	{ 0xC011, 0,  "TLS_ECDHE_RSA_WITH_RC4_128_SHA" },
	{ 0xC012, 0,  "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA" },
	{ 0xC013, 0,  "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA" },
	{ 0xC014, 0,  "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA" },
	{ 0xC015, 20, "TLS_ECDH_anon_WITH_NULL_SHA" },
	{ 0xC023, 0,  "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256" },
	{ 0xC024, 0,  "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384" },
	{ 0xC027, 0,  "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256" },
	{ 0xC028, 0,  "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384" },
	{ 0xC02B, 0,  "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" },
	{ 0xC02C, 0,  "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" },
	{ 0xC02F, 0,  "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" },
	{ 0xC030, 0,  "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" },
	{ 0xC039, 20, "TLS_ECDHE_PSK_WITH_NULL_SHA" },
	{ 0xC03A, 32, "TLS_ECDHE_PSK_WITH_NULL_SHA256" },
	{ 0xC03B, 48, "TLS_ECDHE_PSK_WITH_NULL_SHA384" },
	{ 0xC09C, 0,  "TLS_RSA_WITH_AES_128_CCM" },
	{ 0xC09D, 0,  "TLS_RSA_WITH_AES_256_CCM" },
	{ 0xC0AC, 0,  "TLS_ECDHE_ECDSA_WITH_AES_128_CCM" },
	{ 0xC0AD, 0,  "TLS_ECDHE_ECDSA_WITH_AES_256_CCM" },
	{ 0xC0B4, 0,  "TLS_SHA256_SHA256" },
	{ 0xC0B5, 0,  "TLS_SHA384_SHA384" },
	{ 0xCCA8, 0,  "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" },
	{ 0xCCA9, 0,  "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" },
	{ 0xCCAA, 0,  "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256" },
};


/* The table entry for suite, or NULL (binary search: the table is sorted). */
static const struct suite_name *suite_find(uint16_t suite)
{
	size_t lo = 0, hi = sizeof(suites) / sizeof(suites[0]);

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (suites[mid].id == suite)
			return &suites[mid];
		if (suites[mid].id < suite)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Takes a suite; returns its IANA name, "GREASE" for RFC 8701 values, or NULL. */
const char *tlsp_suite_name(uint16_t suite)
{
	const struct suite_name *s = suite_find(suite);

	if (s)
		return s->name;
	if ((suite & 0x0f0f) == 0x0a0a && (suite >> 8) == (suite & 0xff))
		return "GREASE";
	return NULL;
}

/* Takes a suite and a buffer; writes the name or "0xC0FF"; returns buf. */
const char *tlsp_suite_str(uint16_t suite, char *buf, size_t len)
{
	const char *n = tlsp_suite_name(suite);

	if (n)
		snprintf(buf, len, "%s", n);
	else
		snprintf(buf, len, "0x%04X", suite);
	return buf;
}

/* Takes a suite; returns 1 when it has a NULL bulk cipher. */
int tlsp_suite_is_null(uint16_t suite)
{
	return tlsp_suite_null_mac_len(suite) != 0;
}

/* Takes a suite; returns its MAC length when it is a null suite, else 0. */
size_t tlsp_suite_null_mac_len(uint16_t suite)
{
	const struct suite_name *s = suite_find(suite);

	return s ? s->null_mac : 0;
}

/* Takes an alert description; returns its RFC name or NULL (tls/names.c). */
const char *tlsp_alert_name(uint8_t desc)
{
	return tls_alert_name(desc);
}

/* Takes a protocol version; returns "TLS 1.2"-style text or NULL. */
const char *tlsp_version_name(uint16_t v)
{
	switch (v) {
	case TLSP_V_SSL3: return "SSL 3.0";
	case TLSP_V_TLS10: return "TLS 1.0";
	case TLSP_V_TLS11: return "TLS 1.1";
	case TLSP_V_TLS12: return "TLS 1.2";
	case TLSP_V_TLS13: return "TLS 1.3";
	case 0x0002: return "SSL 2.0";
	default: return NULL;
	}
}

/* Takes a version and a buffer; writes the name or "0x7F1C"; returns buf. */
const char *tlsp_version_str(uint16_t v, char *buf, size_t len)
{
	const char *n = tlsp_version_name(v);

	if (n)
		snprintf(buf, len, "%s", n);
	else if ((v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff))
		snprintf(buf, len, "GREASE");
	else
		snprintf(buf, len, "0x%04X", v);
	return buf;
}

/* Takes a handshake type; returns its name (tls/names.c, and the
 * parser's own mark for an encrypted one) or NULL. */
const char *tlsp_hs_name(int type)
{
	return type == TLSP_HS_ENCRYPTED ? "encrypted handshake message" : tls_hs_name(type);
}
