/* HTTP proxies for the client and the probe (MS-IPHTTPS 3.1.5.1): TCP to
 * the proxy, CONNECT host:port, proxy authentication (Basic and Digest,
 * answered on 407, reconnecting when the proxy closes after its 407), then
 * the socket is a tunnel to the server for TLS.
 *
 * Error convention: proxy_parse_url/proxy_from_env return 0 or -1 with a
 * message in err[ERRLEN]; proxy_open returns the tunnel's fd or -1 with r->code
 * (errors.h: IPH_E_HOST_NOT_FOUND / TIMEDOUT / CONNREFUSED for the proxy
 * itself, IPH_E_PROXY for a refused CONNECT or a proxy that closes,
 * IPH_E_PROXY_AUTH for 407 without usable credentials or with wrong ones),
 * r->step "proxy" and r->why naming the proxy's answer. */
#ifndef IPHTTPS_PROXY_H
#define IPHTTPS_PROXY_H

#include "common/errbuf.h"

#include "dial/connect.h"

struct proxy_cfg {
	char host[256];
	char port[8];
	char user[128];
	char pass[128];
	int has_auth;
};

/* http://[USER[:PASS]@]HOST[:PORT][/] (port defaults to 1080 as curl does;
 * user and password percent-decoded). A URL without a host is an error. */
int proxy_parse_url(const char *url, struct proxy_cfg *p, char *err);
/* From https_proxy / HTTPS_PROXY (as curl reads them), honouring no_proxy /
 * NO_PROXY for target_host. Returns 1 when a proxy applies (filled in), 0
 * when none, -1 on a malformed variable. */
int proxy_from_env(struct proxy_cfg *p, const char *target_host, char *err);
/* Connect through the proxy to host:port within timeout_ms per step. */
int proxy_open(const struct proxy_cfg *p, const char *host, const char *port, int timeout_ms,
	       struct connect_result *r);

#endif
