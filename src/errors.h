/* The catalogue of IP-HTTPS error codes: the Windows LastErrorCode values that
 * DirectAccess administrators already know (Get-NetIPHttpsState), with their
 * symbol, the InterfaceStatus Windows shows, the usual cause, the fix and the
 * source that says Windows reports the code (the specification, the Windows
 * service iphlpsvc.dll, an administrator's article, winerror.h).  Used by
 * the client's status, the probe, the trace and `iphttps explain`.
 *
 * Windows' own code is used wherever Windows has one; the few codes of our
 * own (0xa000000x, bit 29 set: the customer range, never a Windows code) are
 * for failures Windows has no code for in the evidence, and their entries
 * say so (ours = 1).
 *
 * Error convention: lookups return NULL for an unknown code; the parser
 * returns 0 or -1. */
#ifndef IPHTTPS_ERRORS_H
#define IPHTTPS_ERRORS_H

#include <stddef.h>
#include <stdint.h>

#define IPH_OK                          0x0u
#define IPH_E_IO_PENDING                0x3e5u  /* in progress (not an error) */
#define IPH_E_NO_MORE_ITEMS             0x103u  /* "No usable certificate found" */
#define IPH_E_INVALID_URL               0x4beu
#define IPH_E_CONNECTION_REFUSED        0x4c9u  /* ERROR_CONNECTION_REFUSED (1225) */
#define IPH_E_HOST_NOT_FOUND            0x2af9u /* WSAHOST_NOT_FOUND */
#define IPH_E_NO_DATA                   0x2afcu /* WSANO_DATA */
#define IPH_E_CONNRESET                 0x2746u /* WSAECONNRESET (10054) */
#define IPH_E_TIMEDOUT                  0x274cu /* WSAETIMEDOUT */
#define IPH_E_CONNREFUSED               0x274du /* WSAECONNREFUSED */
#define IPH_E_UNKNOWN_CREDENTIALS       0x8009030du /* SEC_E_UNKNOWN_CREDENTIALS */
#define IPH_E_NO_CREDENTIALS            0x8009030eu /* SEC_E_NO_CREDENTIALS */
#define IPH_E_ILLEGAL_MESSAGE           0x80090326u /* SEC_E_ILLEGAL_MESSAGE */
#define IPH_E_ALGORITHM_MISMATCH        0x80090331u /* SEC_E_ALGORITHM_MISMATCH */
#define IPH_E_INCOMPLETE_CREDENTIALS    0x00090320u /* SEC_I_INCOMPLETE_CREDENTIALS */
#define IPH_E_UNTRUSTED_ROOT            0x800b0109u /* CERT_E_UNTRUSTEDROOT */
#define IPH_E_CHAINING                  0x800b010au /* CERT_E_CHAINING */
#define IPH_E_CERT_EXPIRED              0x800b0101u /* CERT_E_EXPIRED */
#define IPH_E_CN_NO_MATCH               0x800b010fu /* CERT_E_CN_NO_MATCH */
#define IPH_E_WRONG_USAGE               0x800b0110u /* CERT_E_WRONG_USAGE */
#define IPH_E_REVOKED                   0x80092010u /* CRYPT_E_REVOKED */
#define IPH_E_NO_REVOCATION_CHECK       0x80092012u /* CRYPT_E_NO_REVOCATION_CHECK */
#define IPH_E_REVOCATION_OFFLINE        0x80092013u /* CRYPT_E_REVOCATION_OFFLINE */
/* Any HTTP answer to the POST but 200: 0x80190000 | status, as Windows'
 * WebReceiveResponseCompletion sets it (404 -> 0x80190194); winerror.h
 * names them HTTP_E_STATUS_*.  A 407 is HTTP_E_STATUS_PROXY_AUTH_REQ. */
#define IPH_E_HTTP_BASE                 0x80190000u
#define IPH_E_HTTP(status)              (IPH_E_HTTP_BASE | (uint32_t)(status))
#define IPH_E_PROXY_AUTH                IPH_E_HTTP(407)
/* Codes of our own for failures Windows has no code for in the evidence;
 * still hex, in the customer range (bit 29 set) so that they never collide
 * with Windows codes. */
#define IPH_E_HTTP_RESPONSE             0xa0000001u /* the answer to the POST is not HTTP */
#define IPH_E_PROTOCOL                  0xa0000002u /* the peer broke the IP-HTTPS stream */
#define IPH_E_PROXY                     0xa0000003u /* the HTTP proxy refused CONNECT */
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
	const char *source;     /* why we say Windows reports it (or that it is ours) */
	int ours;               /* 1: a code of this project, not Windows' */
};

/* The entry for code, or NULL if the catalogue does not know it.  Every
 * 0x80190000 | status (100..599) has one; for a status without an entry of
 * its own it is built in a thread-local buffer, valid until the next lookup
 * of such a code in the same thread. */
const struct iph_error *iph_error_lookup(uint32_t code);
/* The whole table (n entries), in the order `explain --list` shows. */
const struct iph_error *iph_error_table(size_t *n);
/* The HTTP status of a 0x8019xxxx code (100..599 but 200), or 0 for
 * another code. */
int iph_error_http_status(uint32_t code);
/* Parse "0x80090326", "80090326" (hex) or "2148074278" (decimal, only when it
 * has no hex letters and no 0x and is not itself a known hex code...). The
 * rule: "0x" prefix or any a-f letter means hex; otherwise if the digits read
 * as hex name a catalogue code, hex; else decimal. Returns 0 or -1. */
int iph_error_parse(const char *s, uint32_t *out);
/* "SEC_E_ILLEGAL_MESSAGE" or "UNKNOWN" */
const char *iph_error_symbol(uint32_t code);

#endif
