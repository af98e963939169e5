/* libFuzzer harness for the server's connection state machine
 * (src/server/conn.c, with the link behind it): one connection over a
 * socketpair with the plain-HTTP transport, fed the peer's bytes in pieces
 * (the request, then the stream), its end of stream, and the passing of
 * time (the request deadline, the deadline of an error answer).  Checks
 * after every step that the state only moves forward (HTTPRequest ->
 * LinkUp or Closing -> Closed), that the handshake count, the LinkUp
 * count and the server-wide queued bytes agree with the connection, and
 * that the queue stays within --queue-limit.
 *
 * Input: steps [op][len][bytes...]: op 0 bytes from the peer, 1 time
 * passes (len seconds), 2 the peer stops sending, 3 the peer reads what
 * was sent to it. */
#include <arpa/inet.h>
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "server/conn.h"
#include "server/link.h"
#include "server/server.h"

static struct server *srv;
static struct server_cfg cfg;

static void tun_sink(struct server *s, const uint8_t *pkt, size_t len)
{
}

static void setup(void)
{
	char err[ERRLEN];
	char *argv[] = { "server", "--transport", "http", "--auth", "none", "--prefix", "fd00:1:2:3::/64",
			 "--queue-limit", "65536", NULL };

	log_init("fuzz", -1);
	if (server_cfg_parse(&cfg, 9, argv, err) != 0)
		abort();
	srv = calloc(1, sizeof(*srv));
	srv->cfg = srv->orig_cfg = &cfg;
	srv->tun_sink = tun_sink;
	for (size_t i = 0; i < cfg.paths.n && i < HTTP_MAX_PATHS - 1; i++)
		srv->paths[i] = cfg.paths.v[i];
	inet_pton(AF_INET6, "fe80::1", &srv->router_ll);
	inet_pton(AF_INET6, "fd00:1:2:3::", &srv->prefix);
	inet_pton(AF_INET6, "fd00:1:2:3::1", &srv->router_addr);
	if (ev_init(&srv->ev) < 0 || addrtab_init(&srv->addrs, 64) < 0 || addrtab_init(&srv->reserved, 64) < 0 ||
	    addrtab_init(&srv->per_source, 64) < 0 || link_setup(srv, err) < 0)
		abort();
}

/* What end_of_turn does: flush, then free the closed. */
static void turn(void)
{
	while (srv->dirty) {
		struct conn *c = srv->dirty;
		srv->dirty = c->dirty_next;
		c->dirty = 0;
		c->dirty_next = NULL;
		if (c->state != CONN_CLOSED)
			conn_flush(c);
	}
	while (srv->resume) {
		struct conn *c = srv->resume;
		srv->resume = c->resume_next;
		c->resume_next = NULL;
		conn_resume_read(c);
	}
}

static void check(struct conn *c, enum conn_state *last)
{
	enum conn_state st = c->state;

	assert(st >= *last || (*last == CONN_TLS_HANDSHAKE && st == CONN_HTTP_REQUEST));
	assert(!(*last == CONN_LINKUP && st == CONN_CLOSING));
	*last = st;
	assert(srv->n_handshakes == (st == CONN_HTTP_REQUEST ? 1u : 0u));
	assert(srv->n_linkup == (st == CONN_LINKUP ? 1u : 0u));
	if (st != CONN_CLOSED) {
		assert(srv->queued == bufq_pending(&c->io.out));
		assert(bufq_pending(&c->io.out) <= (size_t)cfg.queue_limit);
	} else {
		assert(srv->queued == 0 && srv->n_conns == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *peer4 = (struct sockaddr_in *)&ss;
	enum conn_state last = CONN_TLS_HANDSHAKE;
	static uint8_t sink[1 << 16];
	uint64_t now;
	struct conn *c;
	int sv[2];
	size_t off = 0;

	if (!srv)
		setup();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	peer4->sin_family = AF_INET;
	peer4->sin_port = htons(40000);
	peer4->sin_addr.s_addr = htonl(0xc6336402);
	conn_accepted(srv, sv[0], &ss);
	c = srv->conns;
	assert(c && c->state == CONN_HTTP_REQUEST);
	now = ev_now_ms();
	while (off + 3 <= size && c->state != CONN_CLOSED) {
		uint8_t op = data[off];
		size_t len = (size_t)data[off + 1] << 8 | data[off + 2];

		off += 3;
		if (len > size - off)
			len = size - off;
		switch (op % 4) {
		case 0:
			if (send(sv[1], data + off, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
				break;
			conn_event(&srv->ev, &c->h, EPOLLIN);
			off += len;
			break;
		case 1:
			now += (uint64_t)len * 1000;
			conn_tick(c, now);
			break;
		case 2:
			shutdown(sv[1], SHUT_WR);
			conn_event(&srv->ev, &c->h, EPOLLIN);
			break;
		default:
			while (recv(sv[1], sink, sizeof(sink), MSG_DONTWAIT) > 0)
				;
			conn_event(&srv->ev, &c->h, EPOLLOUT);
			break;
		}
		turn();
		check(c, &last);
	}
	if (c->state != CONN_CLOSED)
		conn_close(c, NULL);
	turn();
	check(c, &last);
	while (srv->graveyard) {
		struct conn *g = srv->graveyard;
		srv->graveyard = g->next;
		conn_free(g);
	}
	close(sv[1]);
	return 0;
}
