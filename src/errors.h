/* The catalogue of IP-HTTPS error codes: the Windows LastErrorCode values that
 * DirectAccess administrators already know (Get-NetIPHttpsState), with their
 * symbol, the InterfaceStatus Windows shows, the usual cause and the fix.
 * Used by the client's status, the probe, the trace and `iphttps explain`. */
#ifndef IPHTTPS_ERRORS_H
#define IPHTTPS_ERRORS_H

#include <stddef.h>
#include <stdint.h>

#define IPH_OK                          0x0u
#define IPH_E_IO_PENDING                0x3e5u  /* in progress (not an error) */
#define IPH_E_NO_MORE_ITEMS             0x103u  /* name mismatch: "No usable certificate found" */
#define IPH_E_INVALID_URL               0x4beu
#define IPH_E_HOST_NOT_FOUND            0x2af9u /* WSAHOST_NOT_FOUND */
#define IPH_E_NO_DATA                   0x2afcu /* WSANO_DATA */
#define IPH_E_CONNRESET                 0x2746u /* WSAECONNRESET */
#define IPH_E_TIMEDOUT                  0x274cu /* WSAETIMEDOUT */
#define IPH_E_CONNREFUSED               0x274du /* WSAECONNREFUSED */
#define IPH_E_ILLEGAL_MESSAGE           0x80090326u /* SEC_E_ILLEGAL_MESSAGE */
#define IPH_E_INCOMPLETE_CREDENTIALS    0x00090320u /* SEC_I_INCOMPLETE_CREDENTIALS */
#define IPH_E_UNTRUSTED_ROOT            0x800b0109u /* CERT_E_UNTRUSTEDROOT */
#define IPH_E_CERT_EXPIRED              0x800b0101u /* CERT_E_EXPIRED */
#define IPH_E_REVOCATION_OFFLINE        0x80092013u /* CRYPT_E_REVOCATION_OFFLINE */
#define IPH_E_CN_NO_MATCH               0x800b010fu /* CERT_E_CN_NO_MATCH */
/* Codes of our own for failures Windows folds into others; still hex, in the
 * customer range (bit 29 set) so that they never collide with Windows codes. */
#define IPH_E_HTTP_STATUS               0xa0000001u /* the POST got a status other than 2xx */
#define IPH_E_PROTOCOL                  0xa0000002u /* the peer broke the IP-HTTPS stream */
#define IPH_E_PROXY                     0xa0000003u /* the HTTP proxy refused CONNECT */
#define IPH_E_PROXY_AUTH                0xa0000004u /* the proxy wants credentials we lack or rejected ours */
#define IPH_E_PIN_MISMATCH              0xa0000005u /* the server key does not match --pin */
#define IPH_E_CLOSED                    0xa0000006u /* the server closed the connection */
#define IPH_E_LOCAL                     0xa0000007u /* a local fault: TUN, memory, files */

struct iph_error {
	uint32_t code;
	const char *symbol;     /* "SEC_E_ILLEGAL_MESSAGE" */
	const char *status;     /* the InterfaceStatus line */
	const char *meaning;    /* one sentence */
	const char *cause;      /* usual causes in IP-HTTPS */
	const char *fix;        /* usual fix */
};

/* The entry for code, or NULL if the catalogue does not know it. */
const struct iph_error *iph_error_lookup(uint32_t code);
/* The whole table (n entries). */
const struct iph_error *iph_error_table(size_t *n);
/* Parse "0x80090326", "80090326" (hex) or "2148074278" (decimal, only when it
 * has no hex letters and no 0x and is not itself a known hex code...). The
 * rule: "0x" prefix or any a-f letter means hex; otherwise if the digits read
 * as hex name a catalogue code, hex; else decimal. Returns 0 or -1. */
int iph_error_parse(const char *s, uint32_t *out);
/* "SEC_E_ILLEGAL_MESSAGE" or "UNKNOWN" */
const char *iph_error_symbol(uint32_t code);

#endif
