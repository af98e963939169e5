/* One IP-HTTPS byte stream, the same object for the server's connections,
 * the client's link and the probe: the socket, TLS over it or not (plain
 * HTTP behind a balancer, an http:// entry point), the deframer of the IPv6
 * packets that come in (wire/ipv6_stream.h), the capped queue of what goes
 * out (common/bufq.h) and the counters.  One read and one write operation
 * with one set of results, for non-blocking use from an event loop and,
 * with a deadline, for the blocking layers of a connection attempt.
 *
 * Error convention: stream_read, stream_write and their _wait forms return
 * the bytes moved (> 0) or a stream_rc (<= 0).  After STREAM_EOF or
 * STREAM_ERROR the stream is finished: s->ssl_err (SSL_get_error(), or for
 * a plain socket SSL_ERROR_ZERO_RETURN / SSL_ERROR_SYSCALL), s->sys_errno
 * and s->lib_err (OpenSSL's error queue) keep what was said, for callers
 * that name the failure in the terms of errors.h, and stream_why() puts it
 * in words.  stream_flush returns 1 when the queue is empty, a stream_rc
 * otherwise; stream_queue 0, or -1 when the cap would be passed.
 * OpenSSL's error queue is left for the caller to read (tls_classify_failure)
 * and clear.
 *
 * After the handshake the records may be taken over (stream_take_records,
 * tls/record.h): the SSL is freed and the stream seals and opens the
 * records itself, with the same results and the same words (s->lib_err
 * then holds the reason OpenSSL would have given, e.g. "decryption failed
 * or bad record mac", "sslv3 alert bad record mac", "unexpected eof while
 * reading").  Bytes sealed but not yet taken by the socket wait in the
 * stream: stream_flush sends them before it returns 1, and a read that
 * finds nothing returns STREAM_WANT_WRITE while some wait.  The process ignores SIGPIPE (OpenSSL writes alerts with
 * write(); ev_add_signals does it for the daemons). */
#ifndef IPHTTPS_STREAM_H
#define IPHTTPS_STREAM_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>

#include "common/bufq.h"
#include "tls/record.h"
#include "wire/ipv6_stream.h"

enum stream_rc {
	STREAM_EOF = 0,         /* the peer closed (close_notify, or FIN where that is all there is) */
	STREAM_WANT_READ = -1,  /* nothing now: wait until readable */
	STREAM_WANT_WRITE = -2, /* wait until writable (TLS may write to read) */
	STREAM_ERROR = -3,      /* reset, TLS alert, protocol error */
	STREAM_TIMEOUT = -4,    /* the _wait forms: the deadline passed */
};

struct stream_rec;              /* the taken-over record layer and its buffers (stream.c) */

struct stream {
	int fd;
	SSL *ssl;               /* NULL: plain TCP, or the records taken over */
	struct stream_rec *rec; /* the records taken over from OpenSSL, or NULL */
	struct v6_deframer df;  /* packets that come in */
	struct bufq out;        /* bytes that wait to go out */
	int ssl_ret;            /* the failing SSL_read/SSL_write's return value */
	int ssl_err;            /* of the last EOF or error (see above) */
	int sys_errno;
	unsigned long lib_err;
	uint64_t rx_bytes, tx_bytes, rx_packets, tx_packets; /* IPv6 packets both ways */
};

/* Take fd and ssl (may be NULL); packets up to max_packet (0: default). */
void stream_init(struct stream *s, int fd, SSL *ssl, size_t max_packet);
/* After the handshake (SSL_accept or SSL_connect returned 1): the records
 * taken over and the SSL freed (copy what is needed from it first).  0 when
 * taken over; -1 with why in err when the SSL stays (a suite not taken
 * over, bytes OpenSSL still holds: tls/record.h), nothing changed. */
int stream_take_records(struct stream *s, enum rec_role role, char *err);
/* TLS (OpenSSL's records or ours), not plain TCP. */
static inline int stream_is_tls(const struct stream *s) { return s->ssl || s->rec; }
/* With the records taken over, their state (NULL otherwise). */
const struct rec *stream_records(const struct stream *s);

/* Release everything; with notify a close_notify first (never waits). */
void stream_close(struct stream *s, int notify);
/* Give idle buffers back: an empty queue, an empty deframer. */
void stream_shrink(struct stream *s);

int stream_read(struct stream *s, void *buf, size_t len);
int stream_write(struct stream *s, const void *buf, size_t len);
/* The same, waiting with poll() until deadline_ms (ev_now_ms() clock);
 * stream_write_wait writes all of buf or fails. */
int stream_read_wait(struct stream *s, void *buf, size_t len, uint64_t deadline_ms);
int stream_write_wait(struct stream *s, const void *buf, size_t len, uint64_t deadline_ms);

/* After stream_read said STREAM_WANT_WRITE: 1 when the read itself cannot
 * go on before the socket takes bytes (OpenSSL writing to read: a
 * KeyUpdate answer or its alert held back by a full socket), so that
 * waiting for readable as well would wake the caller for nothing for as
 * long as the peer sends; 0 when the read only found nothing while sealed
 * bytes wait (the records taken over), which readable may well change. */
static inline int stream_read_needs_write(const struct stream *s) { return s->ssl != NULL; }

/* Queue bytes for stream_flush (the queue grows to cap at most). */
int stream_queue(struct stream *s, const void *data, size_t len, size_t cap, size_t min_cap);
/* Queue one IPv6 packet and count it. */
int stream_queue_packet(struct stream *s, const uint8_t *pkt, size_t len, size_t cap, size_t min_cap);
int stream_flush(struct stream *s);
static inline size_t stream_pending(const struct stream *s) { return bufq_pending(&s->out); }

/* Bytes read from the stream: each whole packet to cb (counted).  0, or
 * -1 on a stream error (s->df.error; the stream is finished). */
int stream_feed(struct stream *s, const uint8_t *data, size_t len, v6df_packet_cb cb, void *arg);

/* The last failure in words ("closed by peer", a reason from OpenSSL, the
 * system's). */
const char *stream_why(const struct stream *s, char *buf, size_t len);

#endif
