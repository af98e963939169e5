/* One client connection of the server: TLS handshake (or plain HTTP behind a
 * balancer), the HTTP request, then the IPv6 stream both ways.  A bad peer
 * ends only its own connection: every exit goes through conn_close(), which
 * releases everything at once and leaves the struct for the end of the loop
 * turn (the event loop may still hold a pointer to it). */
#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "server/conn.h"
#include "server/workers.h"
#include "server/ident.h"
#include "server/metrics.h"
#include "server/scripts.h"
#include "tls/tls.h"
#include "server/link.h"
#include "server/server.h"

#define READ_BUDGET (1u << 20)     /* bytes read from one connection per turn */
#define OUT_MIN_CAP 4096
#define CLOSING_MS 5000            /* an error answer must be taken within */

const char *const refuse_reason_names[REFUSE__COUNT] = {
	[REFUSE_MAX_CLIENTS] = "max_clients",
	[REFUSE_PER_SOURCE] = "handshakes_per_source",
	[REFUSE_HANDSHAKE_EVICTED] = "handshake_slots",
	[REFUSE_CLOSING_TIMEOUT] = "closing_timeout",
};

static void do_read(struct conn *c);
static void start_request(struct conn *c);

/* Last words of a failing read or write, for the log. */
static const char *io_why(struct conn *c, char *buf, size_t len)
{
	return stream_why(&c->io, buf, len);
}

/* While a read waits for the socket to take bytes, readable means nothing:
 * only writable is watched (see stream_read_needs_write). */
static void set_mask(struct conn *c, uint32_t mask)
{
	if (c->read_on_write && (mask & EPOLLIN))
		mask = (mask & ~EPOLLIN) | EPOLLOUT;
	if (c->ev_mask == mask)
		return;
	c->ev_mask = mask;
	ev_mod(&c->srv->ev, &c->h, mask);
}

/* Who a connection counts against for --max-handshakes-per-source: its
 * IPv4 address, or its IPv6 /64 (one subscriber's share). */
struct in6_addr conn_source_key(const struct sockaddr_storage *peer)
{
	struct in6_addr k;

	memset(&k, 0, sizeof(k));
	if (peer->ss_family == AF_INET6) {
		k = ((const struct sockaddr_in6 *)peer)->sin6_addr;
		if (!IN6_IS_ADDR_V4MAPPED(&k))
			memset(&k.s6_addr[8], 0, 8);
	} else if (peer->ss_family == AF_INET) {
		k.s6_addr[10] = k.s6_addr[11] = 0xff;
		memcpy(&k.s6_addr[12], &((const struct sockaddr_in *)peer)->sin_addr, 4);
	}
	return k;
}

static void source_count(struct server *s, const struct sockaddr_storage *peer, int delta)
{
	struct in6_addr k = conn_source_key(peer);
	uintptr_t n = (uintptr_t)addrtab_get(&s->per_source, &k) & ~CONN_SOURCE_LOGGED;
	uintptr_t logged = (uintptr_t)addrtab_get(&s->per_source, &k) & CONN_SOURCE_LOGGED;

	n += (uintptr_t)delta;
	if (n)
		addrtab_put(&s->per_source, &k, (void *)(n | logged));
	else
		addrtab_del(&s->per_source, &k);
}

/* A new connection starts its handshake: newest of the handshake list. */
static void handshake_enter(struct conn *c)
{
	struct server *s = c->srv;

	c->in_handshake = 1;
	c->hs_next = s->hs_new;
	if (s->hs_new)
		s->hs_new->hs_prev = c;
	s->hs_new = c;
	if (!s->hs_old)
		s->hs_old = c;
	s->n_handshakes++;
	source_count(s, &c->peer, 1);
}

/* Linked up, refused or closed: no longer a handshake. */
static void handshake_leave(struct conn *c)
{
	struct server *s = c->srv;

	if (!c->in_handshake)
		return;
	c->in_handshake = 0;
	if (c->hs_prev)
		c->hs_prev->hs_next = c->hs_next;
	else
		s->hs_new = c->hs_next;
	if (c->hs_next)
		c->hs_next->hs_prev = c->hs_prev;
	else
		s->hs_old = c->hs_prev;
	c->hs_prev = c->hs_next = NULL;
	s->n_handshakes--;
	source_count(s, &c->peer, -1);
}

void conn_accepted(struct server *s, int fd, const struct sockaddr_storage *peer)
{
	struct conn *c = calloc(1, sizeof(*c));
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (!c || !(c->addrs = calloc((size_t)s->cfg->max_addrs, sizeof(struct in6_addr))) ||
	    !(c->addr_used = calloc((size_t)s->cfg->max_addrs, sizeof(uint64_t)))) {
		log_warnx("accept: out of memory");
		if (c)
			free(c->addrs);
		free(c);
		close(fd);
		return;
	}
	c->srv = s;
	c->max_addrs = (uint8_t)s->cfg->max_addrs;
	c->h.fd = fd;
	c->h.cb = conn_event;
	c->id = s->next_id += (uint64_t)workers_count(s);   /* workers: interleaved, unique */
	c->peer = *peer;
	c->start_ms = ev_now_ms();
	if (peer->ss_family == AF_INET6) {
		const struct sockaddr_in6 *p6 = (const void *)peer;
		if (IN6_IS_ADDR_V4MAPPED(&p6->sin6_addr))
			inet_ntop(AF_INET, &p6->sin6_addr.s6_addr[12], host, sizeof(host));
		else
			inet_ntop(AF_INET6, &p6->sin6_addr, host, sizeof(host));
		port = ntohs(p6->sin6_port);
		snprintf(c->peer_str, sizeof(c->peer_str),
			 IN6_IS_ADDR_V4MAPPED(&p6->sin6_addr) ? "%s:%u" : "[%s]:%u", host, port);
	} else if (peer->ss_family == AF_INET) {
		const struct sockaddr_in *p4 = (const void *)peer;
		inet_ntop(AF_INET, &p4->sin_addr, host, sizeof(host));
		snprintf(c->peer_str, sizeof(c->peer_str), "%s:%u", host, ntohs(p4->sin_port));
	}
	stream_init(&c->io, fd, NULL, (size_t)s->cfg->max_packet);
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->n_conns++;
	s->st.accepted++;
	handshake_enter(c);

	if (s->ssl_ctx) {
		if (!(c->io.ssl = SSL_new(s->ssl_ctx)) || !SSL_set_fd(c->io.ssl, fd)) {
			conn_close(c, "TLS: out of memory");
			return;
		}
		SSL_set_accept_state(c->io.ssl);
		c->state = CONN_TLS_HANDSHAKE;
	} else {
		start_request(c);
		if (c->state == CONN_CLOSED)
			return;
	}
	c->ev_mask = EPOLLIN;
	if (ev_add(&s->ev, &c->h, EPOLLIN) < 0) {
		conn_close(c, "epoll_ctl failed");
		return;
	}
	log_debug("client #%llu %s: accepted", (unsigned long long)c->id, c->peer_str);
}

static void start_request(struct conn *c)
{
	c->hp = malloc(sizeof(*c->hp));
	if (!c->hp) {
		conn_close(c, "out of memory");
		return;
	}
	http_req_init(c->hp, c->srv->paths, 0);
	c->state = CONN_HTTP_REQUEST;
}

/* A ClientHello that offered only the null suites, which the policy
 * refuses: reset the connection without an alert, so that a Windows 8+
 * client retries at once with its encrypted suites (docs/windows.md). */
static void reset_null_only(struct conn *c)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	c->srv->st.tls_failed++;
	c->srv->st.null_only_reset++;
	setsockopt(c->h.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	conn_close(c, "the ClientHello offered only the null suites, which --null-encryption off "
		   "refuses: reset, so that a Windows 8/10/11 client retries at once with encrypted suites");
}

/* The words of a failed handshake: OpenSSL's reason, or the system's. */
static void handshake_why(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();

	if (e)
		ERR_error_string_n(e, buf, len);
	else
		snprintf(buf, len, "%s", errno ? strerror(errno) : "closed by peer");
}

/* After the handshake, with --tls-records own: the records taken over and
 * the SSL freed (what is shown later was copied: tls_desc, ident). */
static void take_records(struct conn *c)
{
	char err[ERRLEN];

	if (c->srv->cfg->tls_records != TLS_RECORDS_OWN)
		return;
	if (stream_take_records(&c->io, REC_SERVER, err) < 0) {
		log_debug("client #%llu %s: the TLS records stay with OpenSSL: %s", (unsigned long long)c->id,
			  c->peer_str, err);
		return;
	}
	c->srv->st.records_taken++;
}

/* Drive SSL_accept; 0 while in progress or done, -1 when closed. */
static int do_handshake(struct conn *c)
{
	int r = SSL_accept(c->io.ssl);
	char why[256];

	if (r == 1) {
		tls_describe(c->io.ssl, c->tls_desc, sizeof(c->tls_desc));
		if (SSL_session_reused(c->io.ssl))
			c->srv->st.tls_resumed++;
		ident_take(c);
		log_debug("client #%llu %s: TLS up: %s", (unsigned long long)c->id, c->peer_str,
			  c->tls_desc);
		take_records(c);
		start_request(c);
		return c->state == CONN_CLOSED ? -1 : 0;
	}
	switch (SSL_get_error(c->io.ssl, r)) {
	case SSL_ERROR_WANT_READ:
		set_mask(c, EPOLLIN);
		return 0;
	case SSL_ERROR_WANT_WRITE:
		set_mask(c, EPOLLOUT);  /* nothing goes on before it is written */
		return 0;
	case SSL_ERROR_WANT_CLIENT_HELLO_CB:
		if (tls_server_refused_null_only(c->io.ssl)) {
			reset_null_only(c);
			return -1;
		}
		/* no other callback suspends the handshake */
		__attribute__((fallthrough));
	default:
		c->srv->st.tls_failed++;
		c->srv->st.hs_failures[hs_classify(c->io.ssl)]++;
		snprintf(why, sizeof(why), "TLS handshake failed: ");
		handshake_why(why + strlen(why), sizeof(why) - strlen(why));
		if (SSL_get_verify_result(c->io.ssl) != X509_V_OK)
			snprintf(why + strlen(why), sizeof(why) - strlen(why), " (client certificate: %s)",
				 X509_verify_cert_error_string(SSL_get_verify_result(c->io.ssl)));
		conn_close(c, why);
		return -1;
	}
}

/* Queue raw bytes (response header or a packet). 0, -1 when the client's
 * queue is full, -2 when the server-wide budget is spent. */
static int out_append(struct conn *c, const uint8_t *data, size_t len)
{
	struct server *s = c->srv;

	if (s->queued + len > (uint64_t)s->cfg->queue_budget)
		return -2;
	if (stream_queue(&c->io, data, len, (size_t)s->cfg->queue_limit, OUT_MIN_CAP) < 0)
		return -1;
	s->queued += len;
	server_mark_dirty(c);
	return 0;
}

void conn_send_packet(struct conn *c, const uint8_t *pkt, size_t len)
{
	int r;

	if (c->state != CONN_LINKUP)
		return;
	if ((r = out_append(c, pkt, len)) < 0) {
		link_drop(c, r == -2 ? DROP_SERVER_BUDGET : DROP_QUEUE_FULL);
		return;
	}
	c->io.tx_packets++;
	c->io.tx_bytes += len;
	c->srv->st.tx_packets++;
	c->srv->st.tx_bytes += len;
}

void conn_flush(struct conn *c)
{
	size_t before = stream_pending(&c->io);
	char why[256];
	int rc;

	if (c->state == CONN_CLOSED)
		return;
	rc = stream_flush(&c->io);
	c->srv->queued -= before - stream_pending(&c->io);
	if (rc == STREAM_WANT_WRITE) {
		set_mask(c, EPOLLIN | EPOLLOUT);
		return;
	}
	if (rc == STREAM_WANT_READ) {
		set_mask(c, EPOLLIN);
		return;
	}
	if (rc <= 0) {
		snprintf(why, sizeof(why), "write failed: ");
		io_why(c, why + strlen(why), sizeof(why) - strlen(why));
		conn_close(c, why);
		return;
	}
	if (c->state == CONN_CLOSING) {
		conn_close(c, NULL);
		return;
	}
	set_mask(c, EPOLLIN);
}

/* Answer an HTTP error and close once it is sent. */
static void reject(struct conn *c, int status, const char *reason)
{
	char resp[512];
	int n = http_build_error(resp, sizeof(resp), status, c->srv->cfg->server_header, time(NULL));

	c->srv->st.http_rejected++;
	log_info("client #%llu %s: request rejected with %d: %s", (unsigned long long)c->id,
		 c->peer_str, status, reason);
	handshake_leave(c);
	c->state = CONN_CLOSING;
	c->closing_ms = ev_now_ms();
	if (n > 0 && out_append(c, (const uint8_t *)resp, (size_t)n) == 0)
		conn_flush(c);
	else
		conn_close(c, NULL);
}

static int on_packet(void *arg, const uint8_t *pkt, size_t len)
{
	struct conn *c = arg;

	c->srv->st.rx_packets++;
	c->srv->st.rx_bytes += len;
	return link_from_client(c, pkt, len);
}

/* Feed stream bytes to the deframer; -1 if the connection was closed. */
static int feed_stream(struct conn *c, const uint8_t *data, size_t len)
{
	char why[160];

	if (stream_feed(&c->io, data, len, on_packet, c) == 0)
		return 0;
	if (c->state == CONN_CLOSED)
		return -1;
	c->srv->st.stream_errors++;
	if (c->io.df.error == V6DF_ERR_VERSION)
		snprintf(why, sizeof(why), "stream error: not IPv6 (first byte 0x%02x) after %llu packets",
			 c->io.df.bad_byte, (unsigned long long)c->io.df.packets);
	else
		snprintf(why, sizeof(why), "stream error: %s after %llu packets",
			 v6df_strerror(c->io.df.error), (unsigned long long)c->io.df.packets);
	conn_close(c, why);
	return -1;
}

/* Answer 200 and go LinkUp; rest: stream bytes that came with the request. */
static int linkup_now(struct conn *c, const uint8_t *rest, size_t rest_len)
{
	char resp[512];
	int n = http_build_ok(resp, sizeof(resp), c->srv->cfg->server_header, time(NULL));

	if (n < 0 || out_append(c, (const uint8_t *)resp, (size_t)n) < 0) {
		conn_close(c, "cannot queue the response");
		return -1;
	}
	free(c->hp);
	c->hp = NULL;
	c->srv->freed_since_trim++;
	c->state = CONN_LINKUP;
	c->since = time(NULL);
	c->was_up = 1;
	if (link_conn_up(c) < 0) {
		conn_close(c, "no /64 left in --prefix-pool");
		return -1;
	}
	scripts_connect(c, 0);
	if (rest_len)
		return feed_stream(c, rest, rest_len);
	return 0;
}

/* The request is complete: go LinkUp, or first ask the connect script
 * (--hook-fatal). */
static int go_linkup(struct conn *c, const uint8_t *rest, size_t rest_len)
{
	int r;

	if (c->srv->n_linkup >= (unsigned long)c->srv->max_clients) {
		/* 3.2.5.1: no room in the client table, disconnect. */
		c->srv->st.refused_full++;
		c->srv->st.refused[REFUSE_MAX_CLIENTS]++;
		conn_close(c, "--max-clients LinkUp clients already");
		return -1;
	}
	handshake_leave(c);
	metrics_observe_handshake(c->srv, ev_now_ms() - c->start_ms);
	log_info("client #%llu %s: %s %s accepted%s%s%s%s%s%s", (unsigned long long)c->id,
		 c->peer_str, c->hp->method, c->hp->path, c->tls_desc[0] ? ", " : "", c->tls_desc,
		 c->ident ? ", " : "", ident_subject(c), c->ident ? " serial " : "",
		 c->ident ? c->ident->serial : "");
	r = scripts_connect(c, 1);
	if (r < 0) {
		conn_hook_done(c, 0);
		return -1;
	}
	if (r == 0)
		return linkup_now(c, rest, rest_len);
	/* Wait for the script; what the client sent meanwhile is kept. */
	if (rest_len && !(c->held = malloc(rest_len))) {
		conn_close(c, "out of memory");
		return -1;
	}
	if (rest_len)
		memcpy(c->held, rest, rest_len);
	c->held_len = rest_len;
	c->state = CONN_HOOK;
	set_mask(c, EPOLLRDHUP);
	return 0;
}

void conn_hook_done(struct conn *c, int ok)
{
	uint8_t *held = c->held;

	if (!ok) {
		c->srv->st.hook_refused++;
		reject(c, 403, "the connect script refused it");
		return;
	}
	c->held = NULL;
	linkup_now(c, held, c->held_len);
	free(held);
	if (c->state == CONN_LINKUP)
		set_mask(c, EPOLLIN);
}

static int on_request_bytes(struct conn *c, const uint8_t *data, size_t len)
{
	size_t used = 0;
	int r = http_req_feed(c->hp, data, len, &used);

	if (r == HTTP_MORE)
		return 0;
	if (r == HTTP_ERROR) {
		reject(c, c->hp->status, c->hp->reason ? c->hp->reason : "bad request");
		return -1;
	}
	return go_linkup(c, data + used, len - used);
}

void conn_resume_read(struct conn *c)
{
	int go = c->pending_read && c->state != CONN_CLOSED;

	c->pending_read = 0;
	if (go)
		do_read(c);
}

static void do_read(struct conn *c)
{
	size_t budget = READ_BUDGET;
	char why[256];

	c->pending_read = 0;
	while (c->state == CONN_HTTP_REQUEST || c->state == CONN_LINKUP) {
		int n = stream_read(&c->io, c->srv->rbuf, sizeof(c->srv->rbuf) - 64);
		if (n > 0) {
			int r = c->state == CONN_HTTP_REQUEST
				? on_request_bytes(c, c->srv->rbuf, (size_t)n)
				: feed_stream(c, c->srv->rbuf, (size_t)n);
			if (r < 0)
				return;
			if ((size_t)n >= budget) {
				/* Fair share used; TLS may hold more than epoll shows. */
				server_mark_resume(c);
				return;
			}
			budget -= (size_t)n;
			continue;
		}
		if (n == STREAM_WANT_READ)
			return;
		if (n == STREAM_WANT_WRITE) {
			c->read_on_write = (uint8_t)stream_read_needs_write(&c->io);
			set_mask(c, EPOLLIN | EPOLLOUT);
			return;
		}
		if (n == STREAM_EOF) {
			conn_close(c, c->state == CONN_LINKUP ? "closed by peer" : "closed by peer before the request was complete");
			return;
		}
		if (c->io.ssl_err == SSL_ERROR_SSL &&
		    ERR_GET_REASON(c->io.lib_err) != SSL_R_UNEXPECTED_EOF_WHILE_READING)
			c->srv->st.record_errors++;
		snprintf(why, sizeof(why), "read failed: ");
		io_why(c, why + strlen(why), sizeof(why) - strlen(why));
		conn_close(c, why);
		return;
	}
}

void conn_event(struct evloop *ev, struct ev_handler *h, uint32_t events)
{
	struct conn *c = (struct conn *)h;

	if (c->state == CONN_CLOSED)
		return;
	if ((events & (EPOLLERR | EPOLLHUP)) && !(events & EPOLLIN)) {
		conn_close(c, (events & EPOLLERR) ? "socket error" : "hang-up");
		return;
	}
	if (c->state == CONN_HOOK) {
		if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			conn_close(c, "closed by peer while its connect script ran");
		return;
	}
	if (c->state == CONN_TLS_HANDSHAKE) {
		if (do_handshake(c) < 0 || c->state == CONN_TLS_HANDSHAKE)
			return;
	}
	if (events & EPOLLOUT) {
		c->read_on_write = 0;   /* do_read below tries again */
		conn_flush(c);
		if (c->state == CONN_CLOSED)
			return;
	}
	if (c->state == CONN_CLOSING) {
		/* Discard whatever the peer still sends while our answer drains:
		 * a few reads, to the one that finds nothing (after a recv that
		 * emptied the socket the stream asks again only then). */
		for (int i = 0; i < 4 && stream_read(&c->io, c->srv->rbuf, sizeof(c->srv->rbuf)) > 0; i++)
			;
		return;
	}
	do_read(c);
}

void conn_close(struct conn *c, const char *why)
{
	struct server *s = c->srv;

	if (c->state == CONN_CLOSED)
		return;
	if (why) {
		char up[32];
		ident_duration((uint64_t)(time(NULL) - c->since), up, sizeof(up));
		if (c->state == CONN_LINKUP)
			log_info("client #%llu %s%s%s: closed: %s after %s (rx %llu packets %llu bytes, "
				 "tx %llu packets %llu bytes)", (unsigned long long)c->id, c->peer_str,
				 c->ident ? " " : "", ident_subject(c), why, up,
				 (unsigned long long)c->io.rx_packets, (unsigned long long)c->io.rx_bytes,
				 (unsigned long long)c->io.tx_packets, (unsigned long long)c->io.tx_bytes);
		else
			log_info("client #%llu %s%s%s: closed: %s", (unsigned long long)c->id,
				 c->peer_str, c->ident ? " " : "", ident_subject(c), why);
	}
	scripts_disconnect(c, why);
	if (c->state == CONN_LINKUP)
		link_conn_down(c);
	handshake_leave(c);
	if (c->h.fd >= 0)
		ev_del(&s->ev, &c->h);
	s->queued -= stream_pending(&c->io);
	stream_close(&c->io, c->state == CONN_LINKUP || c->state == CONN_CLOSING);
	ERR_clear_error();
	c->h.fd = -1;
	free(c->hp);
	c->hp = NULL;
	free(c->held);
	c->held = NULL;
	c->state = CONN_CLOSED;
	/* Unlink from the list of connections, park in the graveyard. */
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = NULL;
	c->next = s->graveyard;
	s->graveyard = c;
	s->n_conns--;
	s->st.closed++;
}

void conn_free(struct conn *c)
{
	c->srv->freed_since_trim++;
	ident_free(c);
	free(c->addrs);
	free(c->addr_used);
	free(c);
}

/* Once a second: the request deadline, periodic RAs, buffers of idle
 * connections given back. */
void conn_tick(struct conn *c, uint64_t now_ms)
{
	struct server *s = c->srv;

	if (c->state == CONN_HOOK &&
	    now_ms - c->start_ms >= (uint64_t)(s->cfg->header_timeout + s->cfg->hook_timeout) * 1000) {
		conn_close(c, "its connect script did not answer in time");
		return;
	}
	if (c->state == CONN_TLS_HANDSHAKE || c->state == CONN_HTTP_REQUEST) {
		if (now_ms - c->start_ms >= (uint64_t)s->cfg->header_timeout * 1000) {
			s->st.header_timeouts++;
			if (c->state == CONN_HTTP_REQUEST) {
				reject(c, 408, "request header not complete in time");
			} else {
				s->st.hs_failures[HSF_TIMEOUT]++;
				conn_close(c, "TLS handshake not complete in time");
			}
		}
		return;
	}
	if (c->state == CONN_CLOSING && now_ms - c->closing_ms >= CLOSING_MS) {
		s->st.refused[REFUSE_CLOSING_TIMEOUT]++;
		conn_close(c, "error answer not taken in time");
		return;
	}
	if (c->state != CONN_LINKUP)
		return;
	if (s->cfg->ra_interval > 0 && now_ms - c->last_ra_ms >= (uint64_t)s->cfg->ra_interval * 1000)
		link_send_ra(c, NULL);
	stream_shrink(&c->io);
}
