/* One IP-HTTPS byte stream: see stream.h. */
#include "net/stream.h"

#include <errno.h>
#include <limits.h>
#include <openssl/err.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/evloop.h"
#include "net/tcp.h"

void stream_init(struct stream *s, int fd, SSL *ssl, size_t max_packet)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->ssl = ssl;
	v6df_init(&s->df, max_packet);
}

void stream_close(struct stream *s, int notify)
{
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
	return 1;
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
