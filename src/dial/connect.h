/* Dialing out (src/dial/): the connection layers of a client, stacked: the
 * URL, name resolution, TCP (net/tcp.h), an HTTP proxy (dial/proxy.h), TLS,
 * the HTTP POST and its response, over one stream (net/stream.h).  Used by
 * the client for every attempt and, layer by layer, by the probe, so that
 * the probe reports what a client would meet.
 *
 * Error convention: iph_connect() returns 0 with the link ready (LinkUp), or
 * -1 with res->code an IPH_E_* code of errors.h, res->step the layer that
 * failed and res->why plain words with the evidence. */
#ifndef IPHTTPS_CONNECT_H
#define IPHTTPS_CONNECT_H

#include "common/errbuf.h"

#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "net/stream.h"
#include "wire/http.h"

struct iph_url {
	char scheme[8];         /* "https" or "http" */
	char host[256];         /* without brackets */
	char port[8];
	char path[256];
	int host_is_ip;
	char text[600];         /* the URL as given */
};

/* Parse https://HOST[:PORT][/PATH] (path defaults to /IPHTTPS); http:// only
 * if allow_http.  0, or -1 with a message in err[ERRLEN]. */
int iph_url_parse(const char *s, struct iph_url *u, int allow_http, char *err);

struct proxy_cfg;

struct tls_cred;

struct connect_opts {
	SSL_CTX *ssl_ctx;       /* NULL for http:// */
	int timeout_ms;         /* per step: TCP, TLS, HTTP response */
	const struct proxy_cfg *proxy; /* NULL: direct */
	const struct tls_cred *cred;   /* client certificate of this try, or NULL */
	int null_only;          /* offer only the null suites (Windows' first attempt) */
};

struct connect_result {
	uint32_t code;          /* IPH_OK or IPH_E_* */
	const char *step;       /* "resolve", "tcp", "tls", "http" */
	char why[768];
	char peer[64];          /* address:port connected to */
	char tls_desc[96];      /* "TLSv1.3 TLS_AES_256_GCM_SHA384" */
	char server_cert[512];  /* subject, issuer, expiry */
	int http_status;
	char http_server[128];
	char http_note[200];    /* a 200 that announced a body of its own, or "" */
	int receiving;          /* the POST was sent: the failure came with or instead of its answer */
	int cred_fault;         /* the code concerns our client certificate (tls.h tls_cred_use) */
};

/* An established link: the stream (socket, TLS session, deframer, queue,
 * counters: net/stream.h) and the bytes of the stream that came with the
 * response header. */
struct link_conn {
	struct stream io;
	uint8_t rest[HTTP_MAX_HEADER];
	size_t rest_len;
};

int iph_connect(const struct iph_url *u, const struct connect_opts *o, struct link_conn *lc,
		struct connect_result *res);
void link_conn_close(struct link_conn *lc);

#endif
