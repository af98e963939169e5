/* The error catalogue: see errors.h and ../shared/TROUBLESHOOTING.md.  The
 * sources named here are gathered in docs/windows.md. */
#include "errors.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ST_FAIL "Failed to connect to the IPHTTPS server; waiting to reconnect"
#define ST_NO_CERT "No usable certificate found"

/* Where the facts come from (docs/windows.md lists them with addresses). */
#define SRC_SVC "iphlpsvc.dll (decompiled): "
#define SRC_WINERROR "winerror.h (Windows SDK) names the code"
#define SRC_HICKS "R. Hicks, DirectAccess troubleshooting articles: "
#define SRC_OURS "Ours: Windows has no code for this failure in the evidence (docs/windows.md)."

/* One entry; designated so that additions stay readable. */
#define E(c, sym, st, m, ca, fx, src) \
	{ .code = (c), .symbol = (sym), .status = (st), .meaning = (m), .cause = (ca), \
	  .fix = (fx), .source = (src), .ours = 0 }
#define OURS(c, sym, m, ca, fx) \
	{ .code = (c), .symbol = (sym), .status = ST_FAIL, .meaning = (m), .cause = (ca), \
	  .fix = (fx), .source = SRC_OURS, .ours = 1 }

static const struct iph_error table[] = {
	E(IPH_OK, "SUCCESS", "IPHTTPS interface active",
	  "The link is up.", "", "",
	  SRC_SVC "WebReceiveResponseCompletion clears LastErrorCode at LinkUp; Get-NetIPHttpsState shows 0x0 on a working link (seeds 000, 001)."),
	E(IPH_E_HOST_NOT_FOUND, "WSAHOST_NOT_FOUND", ST_FAIL,
	  "The server name in the IP-HTTPS URL does not resolve.",
	  "The public DNS has no record for the name, the name is misspelt, or (on Windows) a machine proxy setting is in the way.",
	  "Publish the name in public DNS or fix the URL; check the resolver the client uses.",
	  SRC_HICKS "Troubleshooting DirectAccess IP-HTTPS Error 0x2af9; Microsoft KB 2980635."),
	E(IPH_E_NO_DATA, "WSANO_DATA", ST_FAIL,
	  "The name exists but has no usable address.",
	  "Split DNS: a name resolution policy sends the public name of the IP-HTTPS server to an inside resolver.",
	  "Exempt the IP-HTTPS server's public name from the inside DNS rule.",
	  "Microsoft KB 3056560 (0x2AFC or 0x274D error when DirectAccess clients try to connect over IP-HTTPS)."),
	E(IPH_E_TIMEDOUT, "WSAETIMEDOUT", ST_FAIL,
	  "TCP connections to the server's port never get an answer.",
	  "A firewall drops the traffic, a NAT rule is missing, or the server is down.",
	  "Fix the path: allow TCP 443 to the server and check the NAT/forwarding rule.",
	  SRC_HICKS "Troubleshooting DirectAccess IP-HTTPS Error 0x2af9 (\"the more common 0x274c IP-HTTPS connection time out error\")."),
	E(IPH_E_CONNREFUSED, "WSAECONNREFUSED", ST_FAIL,
	  "Something refused the TCP connection.",
	  "Nothing listens on the port at that address, or the URL names the wrong host.",
	  "Start the server or fix the address/port in the URL.",
	  "Microsoft KB 3056560 (Last Error Code 0x274D)."),
	E(IPH_E_CONNECTION_REFUSED, "ERROR_CONNECTION_REFUSED", ST_FAIL,
	  "The remote computer refused the network connection (Windows' HTTP layer).",
	  "Windows' client treats it like a reset of its first, null-cipher attempt: it retries at once with its default cipher suites. Our client reports a refused TCP connection as 0x274d, as the field reports show Windows doing, and never this code.",
	  "As for 0x274d: start the server or fix the address/port in the URL.",
	  SRC_SVC "WebSendRequestCompletion (1225 in its list of errors that switch to the default cipher suites); " SRC_WINERROR "."),
	E(IPH_E_CONNRESET, "WSAECONNRESET", ST_FAIL,
	  "The connection was reset after it was accepted.",
	  "A middlebox (IPS, inspecting proxy, a balancer's idle timeout) or the server itself reset it. A reset of the first attempt, which offers only the null suites, makes Windows' client (and ours with --null-encryption on) retry at once with encrypted suites.",
	  "Find the device that resets: compare a capture on both sides of it.",
	  SRC_SVC "WebSendRequestCompletion (10054 switches to the default cipher suites and retries at once)."),
	E(IPH_E_ILLEGAL_MESSAGE, "SEC_E_ILLEGAL_MESSAGE", ST_FAIL,
	  "A fatal TLS alert ended the handshake.",
	  "Right after the ClientHello: no common cipher suite, typically an ADC without the null suites Windows 8/10/11 offer first (Windows does not retry with other suites after an alert). After the ServerHello: client-certificate authentication misconfigured (wrong or missing CA on the ADC) or the client has no valid certificate. Also a TLS-inspecting device, or the wrong server answering on 443.",
	  "Enable TLS_RSA_WITH_NULL_SHA and TLS_RSA_WITH_NULL_SHA256 on the ADC; fix the client-authentication CA; issue a client certificate; remove the inspection; fix the NAT/forwarding rule.",
	  SRC_HICKS "Troubleshooting DirectAccess IP-HTTPS Error 0x80090326 (seed 000); " SRC_SVC "WebSendRequestCompletion (not in the retry list)."),
	E(IPH_E_ALGORITHM_MISMATCH, "SEC_E_ALGORITHM_MISMATCH", ST_FAIL,
	  "The client and the server have no cipher suite or algorithm in common.",
	  "The client's own TLS stack could not make or accept the handshake: it has no suite to offer (the null suites disabled where they were asked for), or the server chose a suite the client did not offer. On the first, null-cipher attempt Windows' client (and ours) retries at once with encrypted suites.",
	  "Enable the null suites where they are meant to be offered, or fix the server that picks suites the client did not offer.",
	  SRC_SVC "WebSendRequestCompletion (0x80090331 switches to the default cipher suites); " SRC_WINERROR "."),
	E(IPH_E_UNKNOWN_CREDENTIALS, "SEC_E_UNKNOWN_CREDENTIALS", ST_FAIL,
	  "The client certificate cannot be used for this server.",
	  "The server's CertificateRequest rules out the certificate (no signature algorithm in common with its key), or the certificate's key does not work. Windows' client drops that certificate and tries its next one at once; so does ours.",
	  "Issue the client a certificate whose key type the server accepts (RSA or ECDSA as the server asks).",
	  SRC_SVC "WebSendRequestCompletion (drops the current client certificate and restarts with the next); " SRC_WINERROR "."),
	E(IPH_E_NO_CREDENTIALS, "SEC_E_NO_CREDENTIALS", ST_FAIL,
	  "No credentials: the client certificate's private key cannot be had.",
	  "The key file of the client certificate is missing, unreadable or does not match the certificate any more. The certificate is dropped and the next one tried at once.",
	  "Restore the key file (readable by root) or give another certificate with --cert/--key.",
	  SRC_SVC "WebSendRequestCompletion (drops the current client certificate and restarts with the next); " SRC_WINERROR "."),
	E(IPH_E_INCOMPLETE_CREDENTIALS, "SEC_I_INCOMPLETE_CREDENTIALS", ST_FAIL,
	  "The server asked for a client certificate and the client has none it accepts.",
	  "Authentication mode Certificates (or an ADC that requires client certificates) and a client without a certificate from the trusted CA.",
	  "Issue a client certificate from the CA the server trusts (iphttps issue-client NAME) and give it with --cert/--key.",
	  SRC_HICKS "Troubleshooting DirectAccess IP-HTTPS Error Code 0x90320."),
	E(IPH_E_UNTRUSTED_ROOT, "CERT_E_UNTRUSTEDROOT", ST_FAIL,
	  "The server certificate chains to a root the client does not trust.",
	  "The internal PKI root was never installed on the client, or a self-signed IP-HTTPS certificate was renewed or regenerated on reinstall.",
	  "Install the issuing root CA on the client (--ca FILE or the system store), then reconnect (iphttps reconnect).",
	  SRC_HICKS "Troubleshooting DirectAccess IP-HTTPS Error Code 0x800b0109 (seed 001)."),
	E(IPH_E_CHAINING, "CERT_E_CHAINING", ST_FAIL,
	  "A certificate chain could not be built to a trusted root authority.",
	  "The server sends its certificate without the intermediate CA certificates, and the client has neither them nor their root: the chain stops at a certificate whose issuer nobody presented.",
	  "Configure the server with its full chain (leaf, then the intermediates), and install the root on the clients.",
	  SRC_WINERROR " (a chain that cannot be built to a root)."),
	E(IPH_E_CERT_EXPIRED, "CERT_E_EXPIRED", ST_FAIL,
	  "The server certificate has expired (or is not yet valid).",
	  "The IP-HTTPS certificate was not renewed (self-signed ones made by the Windows wizard last 5 years), or a clock is wrong.",
	  "Renew the server certificate; check both clocks.",
	  SRC_HICKS "DirectAccess Expired IP-HTTPS Certificate and Error 0x800b0101."),
	E(IPH_E_WRONG_USAGE, "CERT_E_WRONG_USAGE", ST_FAIL,
	  "A certificate is not valid for the requested usage.",
	  "The client certificate is not for client authentication (its extended key usage lacks clientAuth, or its key usage lacks digitalSignature): Windows' client drops it and tries its next certificate at once, and so does ours. Or the server certificate is not for server authentication (extended key usage without serverAuth).",
	  "Issue certificates with the right extended key usage: clientAuth for clients, serverAuth for the server.",
	  SRC_SVC "WebSendRequestCompletion (drops the current client certificate and restarts with the next); " SRC_WINERROR "."),
	E(IPH_E_REVOKED, "CRYPT_E_REVOKED", ST_FAIL,
	  "The server certificate has been revoked by its issuer.",
	  "The certificate is on its CA's revocation list.",
	  "Install a new server certificate.",
	  SRC_WINERROR "; Windows 7 clients check the server certificate's revocation (" SRC_HICKS "SSL Certificate Considerations for DirectAccess IP-HTTPS)."),
	E(IPH_E_NO_REVOCATION_CHECK, "CRYPT_E_NO_REVOCATION_CHECK", ST_FAIL,
	  "The revocation of the server certificate cannot be checked.",
	  "The certificate names no CRL distribution point (typical of self-signed and hand-made certificates) while the client checks revocation (Windows 7 does).",
	  "Use a certificate from a CA that publishes a CRL reachable from the Internet, or a public CA.",
	  SRC_WINERROR "; Windows 7 clients check the server certificate's revocation (" SRC_HICKS "SSL Certificate Considerations for DirectAccess IP-HTTPS)."),
	E(IPH_E_REVOCATION_OFFLINE, "CRYPT_E_REVOCATION_OFFLINE", ST_FAIL,
	  "The certificate revocation list cannot be reached.",
	  "The CRL distribution point is only reachable from inside (mostly Windows 7 clients, which always check).",
	  "Publish a CRL reachable from the Internet.",
	  SRC_HICKS "SSL Certificate Considerations for DirectAccess IP-HTTPS; ../shared/TROUBLESHOOTING.md."),
	E(IPH_E_NO_MORE_ITEMS, "ERROR_NO_MORE_ITEMS", ST_NO_CERT,
	  "No usable certificate: the server certificate does not match the URL, or no client certificate is left to try.",
	  "The server certificate's subject/SAN names another host, or the URL uses a name the certificate lacks. Also: every client certificate was refused (an HTTP 403, the answer of a Windows server to a refused client certificate) and none is left to try.",
	  "Reissue the server certificate with the URL's host name in its SAN, or fix the URL; or give the client a certificate the server accepts.",
	  "Microsoft KB 2980635 (Last Error Code 0x103, \"No usable certificate found\"); " SRC_SVC "IpTlsRestartClient (0x103 when no client certificate is left)."),
	E(IPH_E_CN_NO_MATCH, "CERT_E_CN_NO_MATCH", ST_FAIL,
	  "The certificate's name does not match the host (generic Windows meaning).",
	  "As for 0x103: a certificate for another name.",
	  "Reissue the certificate with the right name.",
	  SRC_WINERROR "; Windows' IP-HTTPS client reports a name mismatch as 0x103 (KB 2980635)."),
	E(IPH_E_INVALID_URL, "ERROR_INVALID_NETNAME", "Invalid IPHTTPS URL specified",
	  "The IP-HTTPS URL cannot be used.",
	  "The URL holds an IP address instead of a name, has another scheme than https, or does not parse.",
	  "Use https://NAME[:PORT]/IPHTTPS with a resolvable name that the certificate covers.",
	  "Microsoft KB 2980627 (DirectAccess clients unable to connect with error 0x4BE)."),
	OURS(IPH_E_HTTP_RESPONSE, "IPHTTPS_E_HTTP_RESPONSE",
	  "TLS succeeded but the answer to the POST is not an HTTP response.",
	  "Something that is not a web server answers on the port (another protocol behind the same NAT rule), or a broken middlebox.",
	  "Check what answers on the URL with iphttps probe; point the port at the IP-HTTPS server."),
	OURS(IPH_E_PROTOCOL, "IPHTTPS_E_PROTOCOL",
	  "The peer sent bytes that are not IPv6 packets on the IP-HTTPS stream.",
	  "Not an IP-HTTPS server (a web server's 200 with a page, for instance), a broken middlebox, or a corrupted stream.",
	  "Check what answers on the URL with iphttps probe."),
	OURS(IPH_E_PROXY, "IPHTTPS_E_PROXY",
	  "The HTTP proxy did not open the tunnel (CONNECT refused or the proxy closed).",
	  "The proxy forbids CONNECT to this host or port, or cannot reach the server.",
	  "Allow CONNECT to the server's name and port on the proxy, or go without the proxy."),
	OURS(IPH_E_PIN_MISMATCH, "IPHTTPS_E_PIN_MISMATCH",
	  "The server's public key does not match the configured pin.",
	  "The server's key changed, or something intercepts the connection.",
	  "Check the server; update --pin only if the key change is expected."),
	OURS(IPH_E_CLOSED, "IPHTTPS_E_CLOSED",
	  "The server closed the connection.",
	  "The server restarted, refused the client (full, or mode changed), or a middlebox closed an idle connection.",
	  "Usually transient; the client reconnects. If it repeats, read the server's log."),
	OURS(IPH_E_LOCAL, "IPHTTPS_E_LOCAL",
	  "A local fault stopped the client.",
	  "The TUN device, a file or memory could not be had.",
	  "Read the client's log for the step that failed."),
};

/* ---- HTTP statuses: 0x80190000 | status ---- */

#define SRC_HTTP SRC_SVC "WebReceiveResponseCompletion (any status but 200 sets LastErrorCode 0x80190000 | status)"
#define WRONG_SERVER "Another server answers on 443 (a web server, a balancer or a portal): a wrong NAT rule or binding, or a wrong path in the URL."
#define FIX_PORT "Point the port at the IP-HTTPS server; check the URL's path (/IPHTTPS)."

struct http_entry {
	int status;
	const char *symbol;
	const char *cause;
	const char *fix;
};

static const struct http_entry http_table[] = {
	{ 301, "HTTP_E_STATUS_MOVED", "A redirect, as from a web server or a login portal: the client does not follow it.", FIX_PORT },
	{ 302, "HTTP_E_STATUS_REDIRECT", "A redirect, as from a web server or a login portal (captive portal, single sign-on): the client does not follow it.", FIX_PORT },
	{ 303, "HTTP_E_STATUS_REDIRECT_METHOD", "A redirect, as from a web server or a login portal: the client does not follow it.", FIX_PORT },
	{ 307, "HTTP_E_STATUS_REDIRECT_KEEP_VERB", "A redirect, as from a web server or a balancer: the client does not follow it.", FIX_PORT },
	{ 400, "HTTP_E_STATUS_BAD_REQUEST", "A web server rejects the IP-HTTPS POST (nginx does, for its 2^64-1 Content-Length). " WRONG_SERVER, FIX_PORT },
	{ 401, "HTTP_E_STATUS_DENIED", "A web server or portal asks for a login. " WRONG_SERVER, FIX_PORT },
	{ 403, "HTTP_E_STATUS_FORBIDDEN", "A Windows IP-HTTPS server answers 403 to a client certificate it refuses; the client then tries its next certificate. Else a web server forbids the path.", "Give the client a certificate the server accepts; or point the port at the IP-HTTPS server." },
	{ 404, "HTTP_E_STATUS_NOT_FOUND", "The server does not know the URL's path: a wrong path (an iphttps server accepts /IPHTTPS and /IPTLS by default, in any case, with or without a trailing slash), or another server (a web server) answers on 443 through a wrong NAT rule or binding.", "Use the path the server serves (iphttps server --path), or point the port at the IP-HTTPS server." },
	{ 405, "HTTP_E_STATUS_BAD_METHOD", "The server does not accept POST on the path. " WRONG_SERVER, FIX_PORT },
	{ 407, "HTTP_E_STATUS_PROXY_AUTH_REQ", "An HTTP proxy requires authentication: no credentials given, wrong ones, or a scheme the client does not speak.", "Give --proxy http://USER:PASS@HOST:PORT with the right credentials (Basic or Digest)." },
	{ 408, "HTTP_E_STATUS_REQUEST_TIMEOUT", "The server gave up waiting for the request. " WRONG_SERVER, FIX_PORT },
	{ 500, "HTTP_E_STATUS_SERVER_ERROR", "The server failed. " WRONG_SERVER, FIX_PORT },
	{ 501, "HTTP_E_STATUS_NOT_SUPPORTED", "The server does not implement the request. " WRONG_SERVER, FIX_PORT },
	{ 502, "HTTP_E_STATUS_BAD_GATEWAY", "A balancer or reverse proxy in front cannot reach the IP-HTTPS server behind it.", "Check the balancer's backends (the IP-HTTPS servers) and their health checks." },
	{ 503, "HTTP_E_STATUS_SERVICE_UNAVAIL", "A balancer or reverse proxy has no healthy server behind it, or the server is overloaded or in maintenance.", "Check the balancer's backends (the IP-HTTPS servers) and their health checks." },
	{ 504, "HTTP_E_STATUS_GATEWAY_TIMEOUT", "A balancer or reverse proxy in front got no answer from the server behind it.", "Check the balancer's backends (the IP-HTTPS servers) and the path to them." },
	{ 505, "HTTP_E_STATUS_VERSION_NOT_SUP", "The server refuses HTTP/1.1. " WRONG_SERVER, FIX_PORT },
};

#define N_TABLE (sizeof(table) / sizeof(table[0]))
#define N_HTTP (sizeof(http_table) / sizeof(http_table[0]))

/* Text buffers of an entry built for one HTTP status. */
struct http_text {
	char meaning[64];
	char symbol[24];
};

/* Every entry of the catalogue: the table, then the HTTP statuses with an
 * entry of their own (built once). */
static struct iph_error all[N_TABLE + N_HTTP];
static struct http_text http_texts[N_HTTP];

int iph_error_http_status(uint32_t code)
{
	uint32_t s = code & 0xffffu;

	if ((code & 0xffff0000u) != IPH_E_HTTP_BASE || s < 100 || s > 599 || s == 200)
		return 0;
	return (int)s;
}

/* Fills e for HTTP status s from h (NULL: a status without an entry of its
 * own, named HTTP_STATUS_<s>: winerror.h has no symbol for it); the texts
 * go to t. */
static void http_fill(struct iph_error *e, int s, const struct http_entry *h, struct http_text *t)
{
	snprintf(t->meaning, sizeof(t->meaning), "The POST was answered with HTTP status %d, not 200.", s);
	snprintf(t->symbol, sizeof(t->symbol), "HTTP_STATUS_%d", s);
	e->code = IPH_E_HTTP(s);
	e->symbol = h ? h->symbol : t->symbol;
	e->status = ST_FAIL;
	e->meaning = t->meaning;
	e->cause = h ? h->cause : WRONG_SERVER;
	e->fix = h ? h->fix : FIX_PORT;
	e->source = h ? SRC_HTTP "; winerror.h names it." : SRC_HTTP "; winerror.h has no name for this status.";
	e->ours = 0;
}

/* Builds all[] once (the catalogue is read-only afterwards). */
static void build(void)
{
	memcpy(all, table, sizeof(table));
	for (size_t i = 0; i < N_HTTP; i++)
		http_fill(&all[N_TABLE + i], http_table[i].status, &http_table[i], &http_texts[i]);
}

const struct iph_error *iph_error_table(size_t *n)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, build);
	*n = N_TABLE + N_HTTP;
	return all;
}

const struct iph_error *iph_error_lookup(uint32_t code)
{
	static __thread struct iph_error any;
	static __thread struct http_text text;
	size_t n;
	const struct iph_error *t = iph_error_table(&n);
	int s;

	for (size_t i = 0; i < n; i++)
		if (t[i].code == code)
			return &t[i];
	if (!(s = iph_error_http_status(code)))
		return NULL;
	http_fill(&any, s, NULL, &text);
	return &any;
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
