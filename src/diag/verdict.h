/* Verdicts: from what a connection showed (TCP, TLS, HTTP, the IPv6 packets
 * inside) to the error code a Windows IP-HTTPS client would report, the
 * cause in plain words, the evidence quoted and the fix, in the terms of the
 * troubleshooting catalogue (../shared/TROUBLESHOOTING.md, errors.h).
 *
 * The facts are filled by the capture analysis (trace.c) and can be filled
 * by a live probe as well; the decision (verdict.c) only reads them.
 *
 * Error convention: diag_decide() always produces a verdict. */
#ifndef IPHTTPS_VERDICT_H
#define IPHTTPS_VERDICT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "diag/tlsparse.h"

#define DIAG_TEXT 640

enum diag_result { DIAG_OK = 0, DIAG_FAIL, DIAG_UNKNOWN };
enum diag_side { DIAG_NONE = -1, DIAG_CLIENT = 0, DIAG_SERVER = 1 };

/* The first alert a side sent (the first fatal one when a warning came first). */
struct diag_alert {
	int seen;
	int encrypted;          /* only its existence is known */
	int guessed;            /* TLS 1.3: an encrypted record of an alert's size */
	uint8_t level, desc;
	int after_hs;           /* last handshake message before it (TLSP_HS_*), -1 none */
	int after_side;         /* who sent that message */
};

struct diag_facts {
	char client[64], server[64];    /* "addr:port" */
	time_t when;                    /* time of the connection (certificate validity) */
	double duration;                /* seconds from the first to the last packet */
	int truncated_file;

	/* TCP */
	int saw_syn, saw_synack, midstream;
	unsigned syns;
	double syn_span;                /* seconds from the first to the last SYN */
	int rst_to_syn;
	int rst[2], fin[2];             /* [DIAG_CLIENT], [DIAG_SERVER] */
	int first_close;                /* side that closed first (FIN or RST), DIAG_NONE */
	int first_close_rst;
	uint64_t bytes[2];
	uint64_t gap_bytes[2];          /* payload the capture lacks */

	/* TLS */
	int not_tls[2];
	char not_tls_head[2][112];      /* printable quote of the first bytes */
	int tls_error[2];
	char tls_error_text[2][96];
	int plain_http;                 /* the client spoke HTTP without TLS */
	int saw_client_hello;
	struct tlsp_client_hello ch;
	int saw_server_hello;
	struct tlsp_server_hello sh;
	int hrr;
	int saw_server_cert;
	size_t n_server_certs;
	struct tlsp_cert_info leaf;     /* the server's first certificate */
	int leaf_ok;                    /* leaf decoded */
	int saw_cert_request;
	struct tlsp_cert_request cr;
	int client_cert;                /* -1 none sent, 0 an empty Certificate, 1 with a certificate */
	struct tlsp_cert_info client_leaf;      /* the client's first certificate */
	int client_leaf_ok;
	int ccs[2], finished[2];
	struct diag_alert alert[2];
	int handshake_done;
	int last_hs, last_hs_side;      /* the last handshake message seen */
	uint64_t appdata_records[2], appdata_bytes[2];
	int app_readable;               /* null suite (or plain HTTP): the data is plaintext */

	/* HTTP (readable only) */
	int saw_request;
	char method[16], path[128], host[128];
	int saw_response;
	int status;
	char reason[64], http_server[128], location[128];
	int http_error;                 /* the response is not HTTP */
	char http_error_text[96];

	/* IPv6 inside (readable only) */
	uint64_t v6_packets[2];
	int v6_error[2];                /* bytes that are not IPv6 packets */
	char v6_error_text[96];
	int saw_rs, saw_ra;
	int ra_has_prefix;
	char ra_prefix[64];             /* "2001:db8:1:2::/64" */
	uint32_t ra_mtu;
	uint16_t ra_router_lifetime;
	size_t ra_routes;
};

struct diag_verdict {
	enum diag_result result;
	uint32_t code;                  /* IPH_OK or IPH_E_* */
	char summary[128];              /* a few words: "no common cipher suite" */
	char cause[DIAG_TEXT];
	char evidence[DIAG_TEXT];
	char fix[DIAG_TEXT];
	char notes[DIAG_TEXT];          /* other findings (certificate, capture), may be "" */
};

/* Clear facts: no sides, no messages. */
void diag_facts_init(struct diag_facts *f);
/* Decide the verdict for f. */
void diag_decide(const struct diag_facts *f, struct diag_verdict *v);
/* "OK", "FAIL", "UNKNOWN" */
const char *diag_result_name(enum diag_result r);

#endif
