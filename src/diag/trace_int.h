/* Internals of the capture analysis shared by trace.c (connections, steps),
 * trace_tls.c (TLS events) and trace_http.c (readable HTTP and IPv6). */
#ifndef IPHTTPS_TRACE_INT_H
#define IPHTTPS_TRACE_INT_H

#include "diag/trace.h"
#include "diag/tlsparse.h"
#include "wire/http.h"
#include "wire/ipv6_stream.h"

#define TRACE_REQ_MAX 8192      /* request header gathered (readable data) */

enum { PH_HEADER = 0, PH_IPV6, PH_STOP };

struct trace_state;

struct v6ctx {
	struct trace_state *st;
	int dir;
};

struct trace_state {
	struct trace_conn *tc;
	struct timeval now;             /* time of the packet being processed */
	struct timeval first;           /* the connection's first packet */
	struct tlsp_parser tp;
	int client_data_seen;
	int syn_step;                   /* index of the SYN step, -1 */
	int small_step[2];              /* step collecting small messages, -1 */
	int appdata_step[2];            /* encrypted application data summary, -1 */
	/* TLS 1.3 encrypted records */
	unsigned enc_records[2];
	size_t c_first_enc_len;
	unsigned s_enc_after;           /* server records after the client's first */
	size_t s_first_after_len;
	int flight_step;                /* the server's encrypted flight */
	/* readable data */
	int phase[2];
	char *req;
	size_t req_len;
	struct http_resp_parser *resp;
	int interim;                    /* interim 1xx answers skipped */
	struct v6_deframer df[2];
	int df_init[2];
	struct v6ctx v6c[2];
	int v6_step[2];
};

/* Add a step (dir CAP_C2S/CAP_S2C) at the current time; returns its index,
 * or -1 when the connection has TRACE_MAX_STEPS already (counted). */
int step_add(struct trace_state *st, int dir, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Rewrite step idx (ignored when idx < 0). */
void step_set(struct trace_state *st, int idx, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Add a small message ("ServerHelloDone") to the running list of dir, or
 * start one. */
void step_small(struct trace_state *st, int dir, const char *name);
/* A step that is not small ends the running list of both directions. */
void step_break(struct trace_state *st);

/* The TLS parser's callback (arg: the trace_state). */
void trace_tls_event(void *arg, const struct tlsp_event *ev);
/* Readable application data (plaintext) of one direction. */
void trace_readable(struct trace_state *st, int dir, const uint8_t *p, size_t len);
/* The capture lacks bytes of dir: stop reading its HTTP/IPv6. */
void trace_readable_gap(struct trace_state *st, int dir);
/* Final texts of the readable steps; free the buffers. */
void trace_readable_end(struct trace_state *st);

/* Quote bytes as printable text ("HTTP/1.1 400 Bad Request\r\n..."). */
void quote_bytes(char *out, size_t outlen, const uint8_t *p, size_t n);

#endif
