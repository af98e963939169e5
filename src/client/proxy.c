/* INTERIM: replaced by the proxy implementation being written. */
#include "client/proxy.h"

#include <stdio.h>
#include <string.h>

#include "errors.h"

int proxy_parse_url(const char *url, struct proxy_cfg *p, char *err)
{
	snprintf(err, 256, "proxies are not supported yet");
	return -1;
}

int proxy_from_env(struct proxy_cfg *p, const char *target_host, char *err)
{
	return 0;
}

int proxy_open(const struct proxy_cfg *p, const char *host, const char *port, int timeout_ms,
	       struct connect_result *r)
{
	r->code = IPH_E_PROXY;
	r->step = "proxy";
	snprintf(r->why, sizeof(r->why), "proxies are not supported yet");
	return -1;
}
