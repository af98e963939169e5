/* The capture analysis behind `iphttps trace`: reads a capture (capture.h),
 * parses each connection's TLS (tlsparse.h), and when the data is readable
 * (a null suite, or plain HTTP behind a TLS-terminating device) the HTTP
 * exchange and the IPv6 packets inside (wire/http.h, wire/ipv6_stream.h,
 * wire/nd.h); writes the steps a person reads and the facts for a verdict
 * (verdict.h).
 *
 * Error convention: trace_file()/trace_fp() return 0 with t filled (also for
 * a truncated file: t->truncated and t->error say so), or -1 with a message
 * in err (ERRLEN) when the file cannot be read as a capture. */
#ifndef IPHTTPS_TRACE_H
#define IPHTTPS_TRACE_H

#include "common/errbuf.h"

#include <stdint.h>
#include <stdio.h>
#include <sys/time.h>

#include "diag/capture.h"
#include "diag/verdict.h"

#define TRACE_MAX_STEPS 64      /* steps kept per connection; more are counted */
#define TRACE_KEEP_FACTS 1      /* flag: keep every connection's facts (for JSON) */
#define TRACE_STEP_LEN  200
#define TRACE_MAX_CONNS 200000  /* connections analysed; more are counted */

struct trace_step {
	double t;                       /* seconds since the connection's first packet */
	int dir;                        /* CAP_C2S or CAP_S2C */
	char *text;                     /* allocated, at most TRACE_STEP_LEN - 1 characters */
};

struct trace_state;
struct trace_pool;

/* A connection's verdict, kept compact: the texts are shared by every
 * connection with the same (trace_verdict_full gives the whole struct). */
struct trace_verdict {
	enum diag_result result;
	uint32_t code;
	const char *summary, *cause, *evidence, *fix, *notes;
};

/* What is kept of a connection once it is over: a compact summary (its
 * addresses, times, steps and verdict, the texts shared), about 200 bytes
 * and its steps; its facts (5 KiB) only with TRACE_KEEP_FACTS. */
struct trace_conn {
	unsigned id;
	char client[64], server[64];
	struct timeval start;
	double duration;
	struct diag_facts *f;            /* while analysed; then NULL unless TRACE_KEEP_FACTS */
	struct trace_verdict v;
	struct trace_step *steps;
	size_t n_steps, cap_steps;
	unsigned steps_dropped;
	int open_at_end;                /* still open when the capture ended */
	struct trace_state *st;         /* analysis state, freed at the connection's end */
	struct trace_conn *next;
};

struct trace {
	struct trace_conn *first, *last;
	size_t n_conns;
	unsigned n_ok, n_fail, n_unknown;
	uint64_t conns_skipped;         /* beyond TRACE_MAX_CONNS */
	struct cap_stats stats;
	struct tlsp_cert_cache *certs;  /* shared by the connections' parsers */
	struct trace_pool *pool;        /* the texts of steps and verdicts, each once */
	int keep_facts;
	int truncated;                  /* the file stopped early */
	char error[ERRLEN];         /* why */
};

/* Analyse the capture at path for connections to port (0 = 443); flags 0
 * or TRACE_KEEP_FACTS.  Memory follows the connections open at once
 * (capture_forget_ended: at most CAP_MAX_LIVE, about 7 KiB each), plus the
 * compact record of each analysed one (at most TRACE_MAX_CONNS). */
int trace_file(const char *path, uint16_t port, int flags, struct trace *t, char *err);
/* The same from a stream (closed here). */
int trace_fp(FILE *fp, uint16_t port, int flags, struct trace *t, char *err);
/* The whole verdict of tc (its shared texts copied in). */
void trace_verdict_full(const struct trace_conn *tc, struct diag_verdict *out);
/* Free what t holds. */
void trace_free(struct trace *t);

#endif
