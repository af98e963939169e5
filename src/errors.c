/* The error catalogue: see errors.h and ../shared/TROUBLESHOOTING.md. */
#include "errors.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ST_FAIL "Failed to connect to the IPHTTPS server; waiting to reconnect"

static const struct iph_error table[] = {
	{ IPH_OK, "SUCCESS", "IPHTTPS interface active",
	  "The link is up.", "", "" },
	{ IPH_E_HOST_NOT_FOUND, "WSAHOST_NOT_FOUND", ST_FAIL,
	  "The server name in the IP-HTTPS URL does not resolve.",
	  "The public DNS has no record for the name, the name is misspelt, or (on Windows) a machine proxy setting is in the way.",
	  "Publish the name in public DNS or fix the URL; check the resolver the client uses." },
	{ IPH_E_NO_DATA, "WSANO_DATA", ST_FAIL,
	  "The name exists but has no usable address.",
	  "Split DNS: a name resolution policy sends the public name of the IP-HTTPS server to an inside resolver.",
	  "Exempt the IP-HTTPS server's public name from the inside DNS rule." },
	{ IPH_E_TIMEDOUT, "WSAETIMEDOUT", ST_FAIL,
	  "TCP connections to the server's port never get an answer.",
	  "A firewall drops the traffic, a NAT rule is missing, or the server is down.",
	  "Fix the path: allow TCP 443 to the server and check the NAT/forwarding rule." },
	{ IPH_E_CONNREFUSED, "WSAECONNREFUSED", ST_FAIL,
	  "Something refused the TCP connection.",
	  "Nothing listens on the port at that address, or the URL names the wrong host.",
	  "Start the server or fix the address/port in the URL." },
	{ IPH_E_CONNRESET, "WSAECONNRESET", ST_FAIL,
	  "The connection was reset after it was accepted.",
	  "A middlebox (IPS, inspecting proxy, a balancer's idle timeout) or the server itself reset it.",
	  "Find the device that resets: compare a capture on both sides of it." },
	{ IPH_E_ILLEGAL_MESSAGE, "SEC_E_ILLEGAL_MESSAGE", ST_FAIL,
	  "A fatal TLS alert ended the handshake.",
	  "Right after the ClientHello: no common cipher suite, typically an ADC without the null suites Windows 8/10/11 offer. After the ServerHello: client-certificate authentication misconfigured (wrong or missing CA on the ADC) or the client has no valid certificate. Also a TLS-inspecting device, or the wrong server answering on 443.",
	  "Enable TLS_RSA_WITH_NULL_SHA and TLS_RSA_WITH_NULL_SHA256 on the ADC; fix the client-authentication CA; issue a client certificate; remove the inspection; fix the NAT/forwarding rule." },
	{ IPH_E_INCOMPLETE_CREDENTIALS, "SEC_I_INCOMPLETE_CREDENTIALS", ST_FAIL,
	  "The server asked for a client certificate and the client has none it accepts.",
	  "Authentication mode Certificates (or an ADC that requires client certificates) and a client without a certificate from the trusted CA.",
	  "Issue a client certificate from the CA the server trusts (iphttps issue-client NAME) and give it with --cert/--key." },
	{ IPH_E_UNTRUSTED_ROOT, "CERT_E_UNTRUSTEDROOT", ST_FAIL,
	  "The server certificate chains to a root the client does not trust.",
	  "The internal PKI root was never installed on the client, or a self-signed IP-HTTPS certificate was renewed or regenerated on reinstall.",
	  "Install the issuing root CA on the client (--ca FILE or the system store), then reconnect (iphttps reconnect)." },
	{ IPH_E_CERT_EXPIRED, "CERT_E_EXPIRED", ST_FAIL,
	  "The server certificate has expired (or is not yet valid).",
	  "The IP-HTTPS certificate was not renewed (self-signed ones made by the Windows wizard last 5 years), or a clock is wrong.",
	  "Renew the server certificate; check both clocks." },
	{ IPH_E_REVOCATION_OFFLINE, "CRYPT_E_REVOCATION_OFFLINE", ST_FAIL,
	  "The certificate revocation list cannot be reached.",
	  "The CRL distribution point is only reachable from inside (mostly Windows 7 clients, which always check).",
	  "Publish a CRL reachable from the Internet." },
	{ IPH_E_NO_MORE_ITEMS, "ERROR_NO_MORE_ITEMS", "No usable certificate found",
	  "The server certificate does not match the host name in the IP-HTTPS URL.",
	  "The certificate's subject/SAN names another host, or the URL uses a name the certificate lacks.",
	  "Reissue the certificate with the URL's host name in its SAN, or fix the URL." },
	{ IPH_E_CN_NO_MATCH, "CERT_E_CN_NO_MATCH", ST_FAIL,
	  "The certificate's name does not match the host (generic Windows meaning).",
	  "As for 0x103: a certificate for another name.",
	  "Reissue the certificate with the right name." },
	{ IPH_E_INVALID_URL, "ERROR_BAD_DEVICE_PATH", "Invalid IPHTTPS URL specified",
	  "The IP-HTTPS URL cannot be used.",
	  "The URL holds an IP address instead of a name, has another scheme than https, or does not parse.",
	  "Use https://NAME[:PORT]/IPHTTPS with a resolvable name that the certificate covers." },
	{ IPH_E_HTTP_STATUS, "IPHTTPS_E_HTTP_STATUS", ST_FAIL,
	  "TLS succeeded but the POST was not answered with 200.",
	  "Another server answers on 443 (a web server's 404/400, a redirect, a login page): a wrong NAT rule or a wrong binding.",
	  "Point the port at the IP-HTTPS server; check the URL's path (/IPHTTPS)." },
	{ IPH_E_PROTOCOL, "IPHTTPS_E_PROTOCOL", ST_FAIL,
	  "The peer sent bytes that are not IPv6 packets on the IP-HTTPS stream.",
	  "Not an IP-HTTPS server, a broken middlebox, or a corrupted stream.",
	  "Check what answers on the URL with iphttps probe." },
	{ IPH_E_PROXY, "IPHTTPS_E_PROXY", ST_FAIL,
	  "The HTTP proxy did not open the tunnel (CONNECT refused or the proxy closed).",
	  "The proxy forbids CONNECT to this host or port, or cannot reach the server.",
	  "Allow CONNECT to the server's name and port on the proxy, or go without the proxy." },
	{ IPH_E_PROXY_AUTH, "IPHTTPS_E_PROXY_AUTH", ST_FAIL,
	  "The HTTP proxy requires authentication that failed (407).",
	  "No credentials given, or a wrong user or password, or a scheme we do not speak.",
	  "Give --proxy http://USER:PASS@HOST:PORT with the right credentials." },
	{ IPH_E_PIN_MISMATCH, "IPHTTPS_E_PIN_MISMATCH", ST_FAIL,
	  "The server's public key does not match the configured pin.",
	  "The server's key changed, or something intercepts the connection.",
	  "Check the server; update --pin only if the key change is expected." },
	{ IPH_E_CLOSED, "IPHTTPS_E_CLOSED", ST_FAIL,
	  "The server closed the connection.",
	  "The server restarted, refused the client (full, or mode changed), or a middlebox closed an idle connection.",
	  "Usually transient; the client reconnects. If it repeats, read the server's log." },
	{ IPH_E_LOCAL, "IPHTTPS_E_LOCAL", ST_FAIL,
	  "A local fault stopped the client.",
	  "The TUN device, a file or memory could not be had.",
	  "Read the client's log for the step that failed." },
};

const struct iph_error *iph_error_table(size_t *n)
{
	*n = sizeof(table) / sizeof(table[0]);
	return table;
}

const struct iph_error *iph_error_lookup(uint32_t code)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].code == code)
			return &table[i];
	return NULL;
}

const char *iph_error_symbol(uint32_t code)
{
	const struct iph_error *e = iph_error_lookup(code);
	return e ? e->symbol : "UNKNOWN";
}

int iph_error_parse(const char *s, uint32_t *out)
{
	int hex = 0, has_letter = 0;
	char *end;
	unsigned long long v;
	const char *p;

	while (isspace((unsigned char)*s))
		s++;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		hex = 1;
		s += 2;
	}
	if (!*s)
		return -1;
	for (p = s; *p; p++) {
		if (!isxdigit((unsigned char)*p))
			return -1;
		if (isalpha((unsigned char)*p))
			has_letter = 1;
	}
	if (!hex && !has_letter) {
		/* Digits only: hex if that names a catalogue code, else decimal. */
		errno = 0;
		v = strtoull(s, &end, 16);
		if (!errno && v <= 0xffffffffULL && iph_error_lookup((uint32_t)v))
			hex = 1;
	}
	errno = 0;
	v = strtoull(s, &end, (hex || has_letter) ? 16 : 10);
	if (errno || *end || v > 0xffffffffULL)
		return -1;
	*out = (uint32_t)v;
	return 0;
}
