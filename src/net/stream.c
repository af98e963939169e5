/* One IP-HTTPS byte stream: see stream.h. */
#include "net/stream.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <openssl/err.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/evloop.h"
#include "net/tcp.h"

/* The taken-over records: the layer, the bytes read and not yet opened,
 * the plaintext not yet handed out, the sealed bytes not yet sent.  The
 * buffers exist only while they hold something. */
struct stream_rec {
	struct rec r;
	uint8_t *in;
	uint32_t in_off, in_len;
	struct rec_span plain;          /* in in or in r.part (record.h) */
	uint8_t *out;
	size_t out_off, out_len;
	uint8_t drained;                /* the last recv emptied the socket */
};

#define REC_IN_CAP  65536u              /* read from the socket at once */
#define REC_OUT_MAX (4 * REC_MAX_PLAIN) /* plaintext sealed by one write */

static int rec_read(struct stream *s, uint8_t *buf, size_t len);
static int rec_write(struct stream *s, const uint8_t *buf, size_t len);
static int rec_send(struct stream *s);
static void rec_close(struct stream *s, int notify);

void stream_init(struct stream *s, int fd, SSL *ssl, size_t max_packet)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->ssl = ssl;
	v6df_init(&s->df, max_packet);
}

void stream_close(struct stream *s, int notify)
{
	if (s->rec)
		rec_close(s, notify);
	if (s->ssl) {
		if (notify)
			SSL_shutdown(s->ssl);   /* best effort close_notify, never waits */
		SSL_free(s->ssl);
		s->ssl = NULL;
	}
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	v6df_free(&s->df);
	bufq_free(&s->out);
}

void stream_shrink(struct stream *s)
{
	if (!bufq_pending(&s->out) && s->out.cap)
		bufq_free(&s->out);
	v6df_shrink(&s->df);
	if (s->rec && !s->rec->plain.n && s->rec->in_off == s->rec->in_len) {
		free(s->rec->in);
		s->rec->in = NULL;
		s->rec->in_off = s->rec->in_len = 0;
		rec_idle(&s->rec->r);
	}
}

/* Record a failure; returns rc. */
static int failed(struct stream *s, int rc, int ssl_err, int sys_errno)
{
	s->ssl_err = ssl_err;
	s->sys_errno = sys_errno;
	s->lib_err = ERR_peek_last_error();
	return rc;
}

/* What SSL_read/SSL_write's result n means. */
static int tls_result(struct stream *s, int n)
{
	int e = SSL_get_error(s->ssl, n), sys = errno;

	s->ssl_ret = n;
	switch (e) {
	case SSL_ERROR_WANT_READ:
		return STREAM_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return STREAM_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		return failed(s, STREAM_EOF, e, 0);
	case SSL_ERROR_SYSCALL:
		/* No close_notify: a bare FIN is an end, anything else an error. */
		if (!sys && !ERR_peek_error())
			return failed(s, STREAM_EOF, e, 0);
		return failed(s, STREAM_ERROR, e, sys);
	default:
		return failed(s, STREAM_ERROR, e, sys);
	}
}

int stream_read(struct stream *s, void *buf, size_t len)
{
	ssize_t n;

	if (len > INT_MAX)
		len = INT_MAX;
	if (s->rec)
		return rec_read(s, buf, len);
	if (s->ssl) {
		errno = 0;
		n = SSL_read(s->ssl, buf, (int)len);
		return n > 0 ? (int)n : tls_result(s, (int)n);
	}
	n = recv(s->fd, buf, len, 0);
	if (n > 0)
		return (int)n;
	if (n == 0)
		return failed(s, STREAM_EOF, SSL_ERROR_ZERO_RETURN, 0);
	if (errno == EAGAIN || errno == EINTR)
		return STREAM_WANT_READ;
	return failed(s, STREAM_ERROR, SSL_ERROR_SYSCALL, errno);
}

int stream_write(struct stream *s, const void *buf, size_t len)
{
	ssize_t n;

	if (len > INT_MAX)
		len = INT_MAX;
	if (s->rec)
		return rec_write(s, buf, len);
	if (s->ssl) {
		errno = 0;
		n = SSL_write(s->ssl, buf, (int)len);
		return n > 0 ? (int)n : tls_result(s, (int)n);
	}
	n = send(s->fd, buf, len, MSG_NOSIGNAL);
	if (n >= 0)
		return (int)n;
	if (errno == EAGAIN || errno == EINTR)
		return STREAM_WANT_WRITE;
	return failed(s, STREAM_ERROR, SSL_ERROR_SYSCALL, errno);
}

/* Wait for what rc wants; 0 when the deadline passed. */
static int wait_for(struct stream *s, int rc, uint64_t deadline_ms)
{
	return net_wait_fd(s->fd, rc == STREAM_WANT_READ ? POLLIN : POLLOUT, deadline_ms);
}

int stream_read_wait(struct stream *s, void *buf, size_t len, uint64_t deadline_ms)
{
	for (;;) {
		int n = stream_read(s, buf, len);
		if (n != STREAM_WANT_READ && n != STREAM_WANT_WRITE)
			return n;
		if (!wait_for(s, n, deadline_ms))
			return STREAM_TIMEOUT;
	}
}

int stream_write_wait(struct stream *s, const void *buf, size_t len, uint64_t deadline_ms)
{
	size_t off = 0;

	while (off < len) {
		int n = stream_write(s, (const uint8_t *)buf + off, len - off);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n != STREAM_WANT_READ && n != STREAM_WANT_WRITE)
			return n;
		if (!wait_for(s, n, deadline_ms))
			return STREAM_TIMEOUT;
	}
	while (s->rec && s->rec->out_len) {     /* sealed bytes the socket has not taken yet */
		int n = rec_send(s);
		if (n == 1)
			break;
		if (n != STREAM_WANT_WRITE)
			return n;
		if (!wait_for(s, n, deadline_ms))
			return STREAM_TIMEOUT;
	}
	return (int)len;
}

int stream_queue(struct stream *s, const void *data, size_t len, size_t cap, size_t min_cap)
{
	return bufq_append(&s->out, data, len, cap, min_cap);
}

int stream_queue_packet(struct stream *s, const uint8_t *pkt, size_t len, size_t cap, size_t min_cap)
{
	if (stream_queue(s, pkt, len, cap, min_cap) < 0)
		return -1;
	s->tx_packets++;
	s->tx_bytes += len;
	return 0;
}

int stream_flush(struct stream *s)
{
	while (bufq_pending(&s->out)) {
		int n = stream_write(s, bufq_head(&s->out), bufq_head_len(&s->out));
		if (n <= 0)
			return n;
		bufq_consume(&s->out, (size_t)n);
	}
	return s->rec ? rec_send(s) : 1;
}

struct feed_ctx {
	struct stream *s;
	v6df_packet_cb cb;
	void *arg;
};

static int counted(void *arg, const uint8_t *pkt, size_t len)
{
	struct feed_ctx *f = arg;

	f->s->rx_packets++;
	f->s->rx_bytes += len;
	return f->cb(f->arg, pkt, len);
}

int stream_feed(struct stream *s, const uint8_t *data, size_t len, v6df_packet_cb cb, void *arg)
{
	struct feed_ctx f = { s, cb, arg };

	return v6df_feed(&s->df, data, len, counted, &f);
}

const char *stream_why(const struct stream *s, char *buf, size_t len)
{
	if (s->lib_err)
		ERR_error_string_n(s->lib_err, buf, len);
	else if (s->sys_errno)
		snprintf(buf, len, "%s", strerror(s->sys_errno));
	else
		snprintf(buf, len, "closed by peer");
	return buf;
}

/* ---- the records taken over (tls/record.h) ---- */

int stream_take_records(struct stream *s, enum rec_role role, char *err)
{
	struct stream_rec *t;

	if (!s->ssl || s->rec) {
		snprintf(err, ERRLEN, "no OpenSSL records to take over");
		return -1;
	}
	if (!(t = calloc(1, sizeof(*t)))) {
		snprintf(err, ERRLEN, "out of memory");
		return -1;
	}
	if (rec_take(s->ssl, role, &t->r, err) < 0) {
		free(t);
		return -1;
	}
	SSL_free(s->ssl);
	s->ssl = NULL;
	s->rec = t;
	return 0;
}

const struct rec *stream_records(const struct stream *s)
{
	return s->rec ? &s->rec->r : NULL;
}

/* OpenSSL's reason for what the layer saw, in OpenSSL's own words. */
static unsigned long rec_reason(const struct rec *r)
{
	int reason;

	if (r->peer_end == REC_ALERT)
		reason = SSL_AD_REASON_OFFSET + r->peer_alert;  /* "sslv3 alert ...", "tlsv1 alert ..." */
	else
		switch (r->alert) {
		case REC_AD_BAD_RECORD_MAC: reason = SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC; break;
		case REC_AD_RECORD_OVERFLOW: reason = SSL_R_PACKET_LENGTH_TOO_LONG; break;
		case REC_AD_PROTOCOL_VERSION: reason = SSL_R_WRONG_VERSION_NUMBER; break;
		case REC_AD_NO_RENEGOTIATION: reason = SSL_R_NO_RENEGOTIATION; break;
		case REC_AD_ILLEGAL_PARAMETER: reason = SSL_R_BAD_KEY_UPDATE; break;
		case REC_AD_DECODE_ERROR: reason = SSL_R_BAD_LENGTH; break;
		case REC_AD_UNEXPECTED_MESSAGE: reason = SSL_R_UNEXPECTED_MESSAGE; break;
		default: reason = ERR_R_INTERNAL_ERROR; break;
		}
	return ERR_PACK(ERR_LIB_SSL, 0, reason);
}

/* The layer failed (our alert or the peer's): STREAM_ERROR with its words. */
static int rec_failed(struct stream *s)
{
	failed(s, STREAM_ERROR, SSL_ERROR_SSL, 0);
	s->lib_err = rec_reason(&s->rec->r);
	return STREAM_ERROR;
}

/* Room for n more bytes in the output; 0 or -1. */
static int out_room(struct stream_rec *t, size_t n)
{
	uint8_t *p;

	if (t->out_off && t->out_off == t->out_len)
		t->out_off = t->out_len = 0;
	if (!n)
		return 0;
	p = realloc(t->out, t->out_len + n);
	if (!p)
		return -1;
	t->out = p;
	return 0;
}

/* Control records the layer wants sent (a KeyUpdate answer, our alert)
 * into the output, before anything sealed later; 0 or -1. */
static int take_control(struct stream_rec *t)
{
	size_t n;
	const uint8_t *p = rec_output(&t->r, &n);

	if (!p)
		return 0;
	if (out_room(t, n) < 0)
		return -1;
	memcpy(t->out + t->out_len, p, n);
	t->out_len += n;
	rec_output_done(&t->r);
	return 0;
}

/* Sends the output as far as the socket takes it: 1 when all is sent,
 * STREAM_WANT_WRITE, or STREAM_ERROR. */
static int rec_send(struct stream *s)
{
	struct stream_rec *t = s->rec;

	while (t->out_off < t->out_len) {
		ssize_t n = send(s->fd, t->out + t->out_off, t->out_len - t->out_off, MSG_NOSIGNAL);
		if (n > 0) {
			t->out_off += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return STREAM_WANT_WRITE;
		return failed(s, STREAM_ERROR, SSL_ERROR_SYSCALL, n < 0 ? errno : EPIPE);
	}
	free(t->out);
	t->out = NULL;
	t->out_off = t->out_len = 0;
	rec_output_sent(&t->r);
	return 1;
}

/* What rec_open said: 1 to go on reading (plaintext, or more to read), a
 * stream_rc to return (STREAM_EOF is 0).  Control records it queued (a
 * KeyUpdate answer) go out now, before the plaintext is handed over. */
static int rec_opened(struct stream *s, enum rec_result res)
{
	struct stream_rec *t = s->rec;

	if (take_control(t) < 0)
		return failed(s, STREAM_ERROR, SSL_ERROR_SYSCALL, ENOMEM);
	switch (res) {
	case REC_DATA:
	case REC_NEED_MORE:
		if (t->out_len && rec_send(s) == STREAM_ERROR)
			return STREAM_ERROR;
		return 1;
	case REC_CLOSE:
		return failed(s, STREAM_EOF, SSL_ERROR_ZERO_RETURN, 0);
	case REC_ALERT:
	case REC_FATAL:
	default:
		rec_send(s);                    /* our alert, best effort */
		return rec_failed(s);
	}
}

/* Nothing more to read now: an idle stream keeps no buffer.
 * STREAM_WANT_WRITE while sealed bytes wait, else STREAM_WANT_READ. */
static int rec_nothing(struct stream *s)
{
	struct stream_rec *t = s->rec;

	free(t->in);
	t->in = NULL;
	t->in_off = t->in_len = 0;
	if (t->out_len && rec_send(s) == STREAM_WANT_WRITE)
		return STREAM_WANT_WRITE;
	return STREAM_WANT_READ;
}

/* One recv into the input: 1 when bytes came, a stream_rc otherwise.
 * A recv that took less than it asked for emptied the socket (TCP hands
 * over all it holds up to the size asked): the next fill says
 * STREAM_WANT_READ without asking the kernel again (one system call
 * fewer each wake-up, on the way of every packet), and the caller's
 * level-triggered readiness tells of what comes after. */
static int rec_fill(struct stream *s)
{
	struct stream_rec *t = s->rec;
	ssize_t n;

	if (t->drained) {
		t->drained = 0;
		return rec_nothing(s);
	}
	if (!t->in && !(t->in = malloc(REC_IN_CAP)))
		return failed(s, STREAM_ERROR, SSL_ERROR_SYSCALL, ENOMEM);
	n = recv(s->fd, t->in, REC_IN_CAP, 0);
	if (n > 0) {
		t->in_off = 0;
		t->in_len = (uint32_t)n;
		t->drained = n < (ssize_t)REC_IN_CAP;
		return 1;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return rec_nothing(s);
	if (n < 0)
		return failed(s, STREAM_ERROR, SSL_ERROR_SYSCALL, errno);
	/* A FIN without close_notify: what OpenSSL 3 says of it. */
	failed(s, STREAM_ERROR, SSL_ERROR_SSL, 0);
	s->lib_err = ERR_PACK(ERR_LIB_SSL, 0, SSL_R_UNEXPECTED_EOF_WHILE_READING);
	return STREAM_ERROR;
}

static int rec_read(struct stream *s, uint8_t *buf, size_t len)
{
	struct stream_rec *t = s->rec;
	enum rec_result res;
	size_t used;
	int rc, fills = 0;

	if (s->ssl_err)
		return s->ssl_err == SSL_ERROR_ZERO_RETURN ? STREAM_EOF : STREAM_ERROR;
	for (;;) {
		if (t->plain.n) {
			size_t n = t->plain.n < len ? t->plain.n : len;
			memcpy(buf, t->plain.p, n);
			t->plain.p += n;
			t->plain.n -= n;
			return (int)n;
		}
		if (t->in_off < t->in_len) {
			used = 0;
			res = rec_open(&t->r, t->in + t->in_off, t->in_len - t->in_off, &used, &t->plain);
			t->in_off += (uint32_t)used;
			if (res != REC_DATA)
				t->plain.n = 0; /* an alert's or a handshake message's bytes */
			if ((rc = rec_opened(s, res)) != 1)
				return rc;
			continue;
		}
		/* One buffer from the socket per call that hands out nothing:
		 * records without plaintext (KeyUpdates, empty records, warning
		 * alerts) streamed at line rate would otherwise keep this call,
		 * and the caller's loop, going for ever; what is left stays in
		 * the socket, which still shows readable (and a fill that
		 * emptied it is no news for the next call). */
		if (fills++) {
			t->drained = 0;
			return STREAM_WANT_READ;
		}
		if ((rc = rec_fill(s)) != 1)
			return rc;
	}
}

static int rec_write(struct stream *s, const uint8_t *buf, size_t len)
{
	struct stream_rec *t = s->rec;
	struct iovec v = { (void *)buf, len < REC_OUT_MAX ? len : REC_OUT_MAX };
	size_t need;
	ssize_t n;
	int rc;

	if (s->ssl_err)
		return s->ssl_err == SSL_ERROR_ZERO_RETURN ? failed(s, STREAM_ERROR, SSL_ERROR_SYSCALL, EPIPE)
							   : STREAM_ERROR;
	if (t->out_len && (rc = rec_send(s)) != 1)
		return rc;
	if (take_control(t) < 0)
		return failed(s, STREAM_ERROR, SSL_ERROR_SYSCALL, ENOMEM);
	need = rec_seal_size(&t->r, v.iov_len, 0);
	if (out_room(t, need) < 0)
		return failed(s, STREAM_ERROR, SSL_ERROR_SYSCALL, ENOMEM);
	n = rec_seal(&t->r, &v, 1, 0, t->out + t->out_len, need);
	if (n < 0) {
		take_control(t);
		rec_send(s);
		return rec_failed(s);
	}
	t->out_len += (size_t)n;
	if (rec_send(s) == STREAM_ERROR)
		return STREAM_ERROR;
	return (int)v.iov_len;
}

/* close_notify when asked and the layer is still open (never waits), then
 * everything freed and the keys wiped. */
static void rec_close(struct stream *s, int notify)
{
	struct stream_rec *t = s->rec;
	ssize_t n;

	if (notify && t->r.state == REC_OPEN && !s->sys_errno && take_control(t) == 0 &&
	    out_room(t, REC_HDR + 64) == 0) {
		n = rec_seal_close(&t->r, t->out + t->out_len, REC_HDR + 64);
		if (n > 0) {
			t->out_len += (size_t)n;
			rec_send(s);
		}
	}
	rec_free(&t->r);
	free(t->in);
	free(t->out);
	OPENSSL_cleanse(t, sizeof(*t));
	free(t);
	s->rec = NULL;
}
