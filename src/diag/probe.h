/* The live troubleshooter behind `iphttps probe URL`: it runs, against a
 * server, the steps a client runs (name resolution, TCP to every address,
 * the proxy's CONNECT, the TLS handshake of a chosen client profile, the
 * certificate chain, the HTTP POST, and the link up to the Router
 * Advertisement, without a TUN device) and records what each showed.  It is
 * built from the client's own layers (dial/connect.h for the URL,
 * dial/proxy.h, tls/tls.h and tls/verify.h, wire/http.h, wire/nd.h,
 * wire/ipv6_stream.h), and it watches its own TLS bytes with the capture
 * side's parser (diag/tlsparse.h) so that its facts are those a capture of
 * the same connection gives: the verdict is decided by diag/verdict.h, as
 * for `iphttps trace`, and refined with what only a live client can see
 * (the verification result, name match, the suites checks).
 *
 * Files: probe.c (the steps in order, resolution, TCP, proxy), probe_tls.c
 * (profiles, handshakes, the suites checks, the chain), probe_http.c (POST,
 * response, RS/RA), probe_verdict.c (facts to the verdict), probe_report.c
 * (the steps a person reads, JSON).
 *
 * Error convention: probe_run() returns 0 with r filled whatever the server
 * did (faults of the server are in r, its verdict in r->v), or -1 with a
 * message in err (ERRLEN) for faults of the invocation (an unreadable
 * --ca, a certificate that does not load): the caller exits 2 then. */
#ifndef IPHTTPS_PROBE_H
#define IPHTTPS_PROBE_H

#include "common/errbuf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>

#include "dial/connect.h"
#include "dial/proxy.h"
#include "diag/verdict.h"
#include "wire/nd.h"

#define PROBE_MAX_ADDRS   16
#define PROBE_MAX_CHAIN   8
#define PROBE_MSGS_LEN    512
#define PROBE_RS_SOURCE   "fe80::1:2:3:4"

/* windows10: Windows 8/10/11, the null suites alone first and Schannel's
 * TLS 1.2 list at once after a reset or 0x80090331 (iphlpsvc.dll).
 * windows7: a stock Windows 7, TLS 1.0 only, revocation checked.
 * windows7-tls12: Windows 7 with TLS 1.1/1.2 enabled by hand.
 * linux: our client's own TLS. */
enum probe_profile { PROBE_WINDOWS10 = 0, PROBE_WINDOWS7, PROBE_LINUX, PROBE_WINDOWS7_TLS12 };
#define PROBE_N_PROFILES 4
/* What made the probe make a second handshake for the profile. */
enum probe_retry {
	PR_NONE = 0,
	PR_NULL_FALLBACK,       /* windows10: the null-only attempt reset or mismatched, encrypted at once */
	PR_WIN7_TLS12,          /* windows7: TLS 1.0 refused; the same with TLS 1.2 enabled, for the notes */
};

struct probe_opts {
	const char *url;
	const char *ca_file;            /* NULL: the system store */
	const char *cert_file, *key_file;
	const struct proxy_cfg *proxy;  /* NULL: direct */
	enum probe_profile profile;
	const char *expect_issuer;      /* text the chain's issuer must contain, or NULL */
	const char *expect_chain;       /* PEM: the chain the server presents from inside, or NULL */
	int timeout_ms;                 /* per step */
	int no_link;                    /* stop after the HTTP answer */
};

/* What connecting to one address showed. */
enum probe_tcp { PT_NOT_TRIED = 0, PT_OK, PT_REFUSED, PT_TIMEOUT, PT_UNREACH, PT_ERROR };

struct probe_addr {
	struct sockaddr_storage sa;
	socklen_t salen;
	char ip[48];                    /* "203.0.113.2", "2001:db8::1" */
	char text[64];                  /* "203.0.113.2:443", "[2001:db8::1]:443" */
	enum probe_tcp tcp;
	int err;                        /* errno of a failure */
	double ms;
	unsigned syns;                  /* SYNs sent (1 + retransmissions) */
};

/* One TLS connection: the facts a capture of it would show, the client's
 * own view (code, why), and the messages for the steps. */
struct probe_hs {
	int tried;                      /* a connection was attempted */
	int tcp_ok;                     /* TCP (or the proxy tunnel) was up */
	int verify;                     /* the certificate was verified */
	int ok;                         /* the handshake completed */
	double ms;                      /* TLS handshake time */
	uint32_t code;                  /* tls_classify_failure(), IPH_OK */
	char why[768];
	char peer[64];
	char desc[96];                  /* "TLSv1.2 ECDHE-RSA-AES256-GCM-SHA384" */
	long verify_result;             /* SSL_get_verify_result() when verify */
	char msgs[PROBE_MSGS_LEN];      /* "C: ClientHello | S: ServerHello, ..." */
	struct diag_facts f;
};

struct probe_chain {
	int seen;                       /* the server sent certificates */
	size_t n;                       /* sent (kept: up to PROBE_MAX_CHAIN) */
	struct tlsp_cert_info certs[PROBE_MAX_CHAIN];
	long days_left[PROBE_MAX_CHAIN];
	int trusted;                    /* chains to --ca or the system store */
	long verify_err;                /* X509_V_* of the explicit verification */
	int err_depth;
	char verify_text[160];
	size_t n_built;                 /* the verified path, leaf to root */
	char built[PROBE_MAX_CHAIN][TLSP_NAME_LEN];
	char root_issuer[TLSP_NAME_LEN];/* issuer of the last certificate of the path */
	int name_ok;                    /* the leaf covers the URL host */
	int issuer_checked, issuer_ok;  /* --expect-issuer */
	int inside_checked, inside_ok;  /* --expect-chain: the same leaf as from inside */
	char inside_leaf[TLSP_NAME_LEN];/* the leaf given, subject and issuer */
};

struct probe_http {
	int tried, answered;
	int not_sent;                   /* the server ended the connection before the POST */
	double ms;
	int status;
	char reason[64], server[128], location[256], content_type[128];
	int looks_iphttps;              /* 2xx that carried IPv6 (or nothing yet) */
	char looks[160];                /* "an IP-HTTPS server", "a web server (nginx)" */
	uint32_t code;                  /* IPH_OK or why it failed */
	char why[256];
};

struct probe_link {
	int tried;
	int rs_sent, ra;
	int early;                      /* the RA came with the HTTP answer */
	double ms;                      /* from the RS to the RA */
	char ra_src[64];
	struct ra_info info;
	uint64_t packets;               /* IPv6 packets received */
	int stream_error;
	char why[160];
};

enum probe_suites { PSU_UNKNOWN = 0, PSU_ACCEPTED, PSU_REFUSED, PSU_RESET };

/* The server certificate's revocation, checked as Windows 7 checks it (the
 * Windows 7 profiles only: "CRL checking is enforced in Windows 7 and cannot
 * be disabled", Windows 8 and later do not check; Microsoft, Planning the
 * Placement of CRL Distribution Points).  The first http:// CRL
 * distribution point of the leaf is fetched and checked. */
struct probe_crl {
	int checked;            /* the profile checks revocation */
	char url[256];          /* the distribution point tried, "" when the certificate names none */
	uint32_t code;          /* IPH_OK, IPH_E_REVOCATION_OFFLINE, IPH_E_NO_REVOCATION_CHECK, IPH_E_REVOKED */
	char why[512];
	double ms;
};

struct probe_result {
	struct iph_url url;
	enum probe_profile profile;
	time_t when;

	/* name resolution (not with a proxy: the proxy resolves) */
	int resolve_tried, resolved;
	double resolve_ms;
	uint32_t resolve_code;
	char resolve_why[256];
	size_t n_addrs;
	struct probe_addr addrs[PROBE_MAX_ADDRS];
	int use_addr;                   /* index of the address the TLS steps use, -1 */
	struct diag_facts tcp_facts;    /* the last failed address, when none connected */

	/* proxy CONNECT */
	int proxy_tried, proxy_ok;
	double proxy_ms;
	uint32_t proxy_code;
	char proxy_why[768];

	/* TLS */
	struct probe_hs first;          /* the profile's first handshake, when retried */
	enum probe_retry retried;
	struct probe_hs main;           /* the profile, certificate verified */
	struct probe_hs again;          /* verification off, when main failed on the certificate */
	struct probe_hs null_chk, enc_chk;
	enum probe_suites null_suites, enc_suites;
	char left_out[DIAG_TEXT];       /* which clients the suites leave out */
	struct probe_chain chain;
	struct probe_crl crl;
	char client_cas[TLSP_MAX_CAS][TLSP_NAME_LEN];
	size_t n_client_cas;            /* CA names of a CertificateRequest */

	/* HTTP and the link, on main, or on again when main failed on the certificate */
	struct probe_http http;
	struct probe_link link;
	int continued;                  /* http/link ran on `again` */

	struct diag_verdict v;
};

/* Run every step against o->url.  r is allocated by the caller (it is
 * large: calloc it) and needs no freeing.  SIGPIPE is ignored from then on
 * (a server that closes must not end the process). */
int probe_run(const struct probe_opts *o, struct probe_result *r, char *err);

/* "windows10", "windows7", "linux", "windows7-tls12"; parse returns 0 or -1. */
const char *probe_profile_name(enum probe_profile p);
int probe_profile_parse(const char *s, enum probe_profile *out);

/* The verdict of r (called by probe_run; exposed for tests). */
void probe_decide(const struct probe_opts *o, struct probe_result *r);

/* The steps, aligned, and the verdict last (colour per report.h). */
void probe_print(FILE *f, const struct probe_opts *o, const struct probe_result *r);
struct json_object;
/* The same as one JSON document; NULL on no memory. */
struct json_object *probe_json(const struct probe_opts *o, const struct probe_result *r);

#endif
